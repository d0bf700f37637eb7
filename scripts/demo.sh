#!/usr/bin/env bash
# make demo: a container network built by our plugins exactly as a runtime builds it (env + stdin, one exec per
# plugin), in throwaway namespaces: a "host" netns standing in for the node, and two container netns.
# Nothing outside those namespaces and a temporary directory is touched; both go on exit, even on ^C.
set -euo pipefail
cd "$(dirname "$0")/.."
BIN="$PWD/bin"
run="cnidemo$$"
host="$run-host"
store=$(mktemp -d "/tmp/$run.XXXX")

cleanup() {
  for ns in "$run-a" "$run-b" "$run-c" "$run-d" "$host"; do ip netns delete "$ns" 2>/dev/null || true; done
  rm -rf "$store"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

bold() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
# plugin VERB NAME CONTAINER CONFIG: exec bin/NAME inside the throwaway host netns, as kubelet/containerd would.
plugin() {
  local verb=$1 name=$2 ctr=$3 conf=$4
  CNI_COMMAND=$verb CNI_CONTAINERID="demo-$ctr" CNI_NETNS="/run/netns/$run-$ctr" CNI_IFNAME=eth0 CNI_PATH="$BIN" \
    ip netns exec "$host" "$BIN/$name" <<<"$conf"
}

# chain CONF RESULTFILE: CONF with prevResult = the JSON in RESULTFILE (how libcni passes results along a list).
chain() { # chain CONF RESULTFILE: CONF with prevResult = the JSON in RESULTFILE
  node_modules/.bin/bun -e 'const c = JSON.parse(process.argv[1]); c.prevResult = JSON.parse(await Bun.file(process.argv[2]).text()); console.log(JSON.stringify(c))' "$1" "$2"
}

ptp='{
  "cniVersion": "1.0.0", "name": "demo", "type": "ptp", "ipMasq": true, "mtu": 1400,
  "ipam": { "type": "host-local", "dataDir": "'"$store"'", "subnet": "10.99.0.0/24", "routes": [ { "dst": "0.0.0.0/0" } ] }
}'
lo='{"cniVersion":"1.0.0","name":"demo-lo","type":"loopback"}'

ip netns add "$host"
ip netns exec "$host" ip link set lo up
bold "Our executable serves these plugins; VERSION answers before any plugin code loads"
"$BIN/cni-plugins"
CNI_COMMAND=VERSION "$BIN/ptp" </dev/null

for c in a b; do
  ip netns add "$run-$c"
  bold "container $c: loopback ADD, then ptp ADD (host-local hands out the address)"
  plugin ADD loopback "$c" "$lo" >/dev/null
  plugin ADD ptp "$c" "$ptp" | tee "$store/result-$c.json"; echo
  echo "-- addresses and routes inside container $c:"
  ip -n "$run-$c" -br addr show eth0
  ip -n "$run-$c" route show
done

ipa=$(ip -n "$run-a" -4 -br addr show eth0 | awk '{print $3}' | cut -d/ -f1)
ipb=$(ip -n "$run-b" -4 -br addr show eth0 | awk '{print $3}' | cut -d/ -f1)
bold "the host side: one veth per container, each carrying the gateway address, a /32 route to each container"
ip -n "$host" -br addr show type veth
ip -n "$host" route show
bold "masquerade rules written in one iptables-restore batch per ADD"
ip netns exec "$host" iptables-save -t nat | grep -E '^(:CNI-|-A)' || true

bold "ping: container a -> its gateway on the host, then container a -> container b ($ipb)"
ip netns exec "$run-a" ping -c 2 -W 1 10.99.0.1 | tail -n 2
ip netns exec "$run-a" ping -c 2 -W 1 "$ipb" | tail -n 2
bold "CHECK both"
for c in a b; do
  # A runtime passes the ADD result back as prevResult for CHECK.
  plugin CHECK ptp "$c" "$(chain "$ptp" "$store/result-$c.json")" && echo "container $c: CHECK ok"
done

bold "DEL both (in reverse plugin order), then DEL again: DEL is idempotent"
for c in a b; do
  plugin DEL ptp "$c" "$ptp"; plugin DEL loopback "$c" "$lo"
  plugin DEL ptp "$c" "$ptp"
done
echo "veths left on the host:      $(ip -n "$host" -br link show type veth | wc -l)"
echo "CNI chains left:             $(ip netns exec "$host" iptables-save -t nat | grep -c '^:CNI-' || true)"
echo "reservations left:           $(find "$store/demo" -type f ! -name lock ! -name 'last_reserved_ip.*' | wc -l)"
bold "The default container network: bridge + host-local + tuning, chained as a runtime runs a conflist"
# Each plugin gets the previous plugin's result as prevResult, as libcni passes it along the list.
bridge='{
  "cniVersion": "1.0.0", "name": "demo-br", "type": "bridge", "bridge": "'"cnidemo0"'", "isGateway": true, "ipMasq": true,
  "ipam": { "type": "host-local", "dataDir": "'"$store"'", "subnet": "10.88.0.0/24", "routes": [ { "dst": "0.0.0.0/0" } ] }
}'
tuning='{"cniVersion":"1.0.0","name":"demo-br","type":"tuning","sysctl":{"net.ipv4.conf.IFNAME.log_martians":"1"},"dataDir":"'"$store"'/tuning"}'
for c in c d; do
  ip netns add "$run-$c"
  plugin ADD loopback "$c" "$lo" >/dev/null
  plugin ADD bridge "$c" "$bridge" >"$store/br-$c.json"
  plugin ADD tuning "$c" "$(chain "$tuning" "$store/br-$c.json")" >"$store/tu-$c.json"
  echo "container $c: $(ip -n "$run-$c" -4 -br addr show eth0 | awk '{print $3}'), log_martians (set by tuning)=$(ip netns exec "$run-$c" cat /proc/sys/net/ipv4/conf/eth0/log_martians)"
done
ipd=$(ip -n "$run-d" -4 -br addr show eth0 | awk '{print $3}' | cut -d/ -f1)
echo "-- the bridge and its ports in the host netns:"
ip -n "$host" -br addr show cnidemo0
ip -n "$host" -br link show master cnidemo0
echo "-- ping container c -> gateway 10.88.0.1, and c -> d ($ipd) across the bridge:"
ip netns exec "$run-c" ping -c 1 -W 1 10.88.0.1 | grep -E 'received'
ip netns exec "$run-c" ping -c 1 -W 1 "$ipd" | grep -E 'received'
echo "-- DEL in reverse order: tuning, bridge, loopback"
for c in c d; do
  plugin DEL tuning "$c" "$(chain "$tuning" "$store/tu-$c.json")"
  plugin DEL bridge "$c" "$(chain "$bridge" "$store/br-$c.json")"
  plugin DEL loopback "$c" "$lo"
done
echo "bridge ports left:           $(ip -n "$host" -br link show master cnidemo0 | wc -l)"
echo "CNI chains left:             $(ip netns exec "$host" iptables-save -t nat | grep -c '^:CNI-' || true)"
echo "reservations left:           $(find "$store/demo-br" -type f ! -name lock ! -name 'last_reserved_ip.*' | wc -l)"
echo "(the bridge itself stays, as with the Go plugin: other containers may share it)"

bold "a bad config gets a CNI error object and exit status 1, and leaves nothing"
plugin ADD ptp a '{"cniVersion":"1.0.0","name":"demo","type":"ptp","mtu":"big","ipam":{"type":"host-local","subnet":"10.99.0.0/24"}}' || echo " (exit status $?)"
