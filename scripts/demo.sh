#!/usr/bin/env bash
# make demo: two container networks built by our plugins and driven by our cnitool exactly as a runtime drives them
# (libcni: the conflist's plugins in order, each fed the previous result, the result cached, DEL in reverse order), in
# throwaway namespaces: a "host" netns standing in for the node, and container netns. The conflists live in a
# temporary NETCONFPATH, the attachment cache in a temporary CNI_CACHE_DIR. Nothing outside those namespaces and one
# temporary directory is touched; both go on exit, even on ^C.
set -euo pipefail
cd "$(dirname "$0")/.."
BIN="$PWD/bin"
run="cnidemo$$"
host="$run-host"
store=$(mktemp -d "/tmp/$run.XXXX")
netconf="$store/net.d"

cleanup() {
  for ns in "$run-a" "$run-b" "$run-c" "$run-d" "$host"; do ip netns delete "$ns" 2>/dev/null || true; done
  rm -rf "$store"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

bold() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
# cnitool VERB NETWORK CONTAINER [VAR=value…]: bin/cnitool inside the throwaway host netns, for container CONTAINER.
cnitool() {
  local verb=$1 net=$2 ctr=$3
  shift 3
  ip netns exec "$host" env NETCONFPATH="$netconf" CNI_PATH="$BIN" CNI_CACHE_DIR="$store/cache" "$@" \
    "$BIN/cnitool" "$verb" "$net" "/run/netns/$run-$ctr"
}

mkdir -p "$netconf"
cat >"$netconf/10-demo.conflist" <<EOF
{
  "cniVersion": "1.1.0", "name": "demo",
  "plugins": [
    { "type": "ptp", "ipMasq": true, "mtu": 1400,
      "ipam": { "type": "host-local", "dataDir": "$store", "subnet": "10.99.0.0/24", "routes": [ { "dst": "0.0.0.0/0" } ] } }
  ]
}
EOF
cat >"$netconf/20-demo-br.conflist" <<EOF
{
  "cniVersion": "1.1.0", "name": "demo-br",
  "plugins": [
    { "type": "bridge", "bridge": "cnidemo0", "isGateway": true, "ipMasq": true,
      "ipam": { "type": "host-local", "dataDir": "$store", "subnet": "10.88.0.0/24", "routes": [ { "dst": "0.0.0.0/0" } ] } },
    { "type": "tuning", "capabilities": { "mac": true }, "sysctl": { "net.ipv4.conf.IFNAME.log_martians": "1" }, "dataDir": "$store/tuning" }
  ]
}
EOF
cat >"$netconf/00-demo-lo.conflist" <<EOF
{ "cniVersion": "1.1.0", "name": "demo-lo", "plugins": [ { "type": "loopback" } ] }
EOF

ip netns add "$host"
ip netns exec "$host" ip link set lo up
bold "Our executable serves these plugins and cnitool; VERSION answers before any plugin code loads"
"$BIN/cni-plugins"
CNI_COMMAND=VERSION "$BIN/ptp" </dev/null
bold "The networks are conflists in a temporary NETCONFPATH; cnitool asks each plugin of one for its VERSION"
ls "$netconf"
NETCONFPATH="$netconf" CNI_PATH="$BIN" "$BIN/cnitool" version demo-br

for c in a b; do
  ip netns add "$run-$c"
  bold "container $c: cnitool add demo-lo (loopback), then cnitool add demo (ptp; host-local hands out the address)"
  cnitool add demo-lo "$c" CNI_IFNAME=lo >/dev/null
  cnitool add demo "$c"
  echo
  echo "-- addresses and routes inside container $c:"
  ip -n "$run-$c" -br addr show eth0
  ip -n "$run-$c" route show
done

ipb=$(ip -n "$run-b" -4 -br addr show eth0 | awk '{print $3}' | cut -d/ -f1)
bold "the host side: one veth per container, each carrying the gateway address, a /32 route to each container"
ip -n "$host" -br addr show type veth
ip -n "$host" route show
bold "masquerade rules written in one iptables-restore batch per ADD"
ip netns exec "$host" iptables-save -t nat | grep -E '^(:CNI-|-A)' || true

bold "ping: container a -> its gateway on the host, then container a -> container b ($ipb)"
ip netns exec "$run-a" ping -c 2 -W 1 10.99.0.1 | tail -n 2
ip netns exec "$run-a" ping -c 2 -W 1 "$ipb" | tail -n 2
bold "cnitool check (the cached result goes to each plugin as prevResult) and cnitool status"
for c in a b; do cnitool check demo "$c" && echo "container $c: CHECK ok"; done
cnitool status demo a && echo "network demo: STATUS ok (every plugin can serve ADD)"
echo "-- the attachment cache, in libcni's own format and place under CNI_CACHE_DIR:"
ls "$store/cache/results"

bold "cnitool del for both (plugins in reverse order), then del again: DEL is idempotent"
for c in a b; do
  cnitool del demo "$c"
  cnitool del demo-lo "$c" CNI_IFNAME=lo
  cnitool del demo "$c"
done
echo "veths left on the host:      $(ip -n "$host" -br link show type veth | wc -l)"
echo "CNI chains left:             $(ip netns exec "$host" iptables-save -t nat | grep -c '^:CNI-' || true)"
echo "reservations left:           $(find "$store/demo" -type f ! -name lock ! -name 'last_reserved_ip.*' | wc -l)"
echo "cache entries left:          $(find "$store/cache/results" -type f | wc -l)"

bold "The default container network: bridge + host-local + tuning in one conflist (demo-br)"
# tuning declares the `mac` capability, so the MAC in CAP_ARGS reaches it as runtimeConfig.mac.
for c in c d; do
  ip netns add "$run-$c"
  mac="02:42:0a:58:00:0$([ "$c" = c ] && echo 3 || echo 4)"
  cnitool add demo-lo "$c" CNI_IFNAME=lo >/dev/null
  cnitool add demo-br "$c" CAP_ARGS="{\"mac\":\"$mac\"}" >/dev/null
  echo "container $c: $(ip -n "$run-$c" -4 -br addr show eth0 | awk '{print $3}'), MAC $(ip -n "$run-$c" -br link show eth0 | awk '{print $3}') (CAP_ARGS via tuning), log_martians=$(ip netns exec "$run-$c" cat /proc/sys/net/ipv4/conf/eth0/log_martians) (tuning)"
done
ipd=$(ip -n "$run-d" -4 -br addr show eth0 | awk '{print $3}' | cut -d/ -f1)
echo "-- the bridge and its ports in the host netns:"
ip -n "$host" -br addr show cnidemo0
ip -n "$host" -br link show master cnidemo0
echo "-- ping container c -> gateway 10.88.0.1, and c -> d ($ipd) across the bridge:"
ip netns exec "$run-c" ping -c 1 -W 1 10.88.0.1 | grep -E 'received'
ip netns exec "$run-c" ping -c 1 -W 1 "$ipd" | grep -E 'received'
for c in c d; do cnitool check demo-br "$c" && echo "container $c: CHECK ok"; done
echo "-- cnitool del demo-br c: tuning, then bridge"
cnitool del demo-br c
cnitool del demo-lo c CNI_IFNAME=lo
echo "-- cnitool gc demo-br: every cached attachment of the network is deleted (container d), then each plugin collects"
cnitool gc demo-br d
echo "bridge ports left:           $(ip -n "$host" -br link show master cnidemo0 | wc -l)"
echo "CNI chains left:             $(ip netns exec "$host" iptables-save -t nat | grep -c '^:CNI-' || true)"
echo "reservations left:           $(find "$store/demo-br" -type f ! -name lock ! -name 'last_reserved_ip.*' | wc -l)"
echo "tuning backups left:         $(find "$store/tuning" -type f | wc -l)"
echo "(the bridge itself stays, as with the Go plugin: other containers may share it)"

bold "a bad config gets the plugin's error through cnitool, exit status 1, and leaves nothing"
cat >"$netconf/30-bad.conflist" <<'EOF'
{ "cniVersion": "1.1.0", "name": "bad", "plugins": [ { "type": "ptp", "mtu": "big", "ipam": { "type": "host-local", "subnet": "10.99.0.0/24" } } ] }
EOF
cnitool add bad a || echo "(exit status $?)"
