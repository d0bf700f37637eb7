#!/usr/bin/env bash
# make demo: run our plugins exactly as a container runtime would, in throwaway namespaces, and show the result.
# Nothing outside the namespaces and a temporary directory is touched, and both are removed on exit, even on ^C.
set -euo pipefail
cd "$(dirname "$0")/.."
BIN="$PWD/bin"
run="cnidemo$$"
host="$run-host"; ctr="$run-ctr"
store=$(mktemp -d /tmp/$run.XXXX)

cleanup() {
  ip netns delete "$ctr" 2>/dev/null || true
  ip netns delete "$host" 2>/dev/null || true
  rm -rf "$store"
}
trap cleanup EXIT INT TERM

say() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
# plugin VERB NAME CONFIG: exec bin/NAME inside the throwaway host netns with the CNI env and CONFIG on stdin.
plugin() {
  local verb=$1 name=$2 conf=$3
  CNI_COMMAND=$verb CNI_CONTAINERID=demo-1 CNI_NETNS=/run/netns/$ctr CNI_IFNAME=eth0 CNI_PATH="$BIN" \
    ip netns exec "$host" "$BIN/$name" <<<"$conf"
}

ip netns add "$host"
ip netns add "$ctr"

say "The executable serves these plugins"
"$BIN/cni-plugins"

say "VERSION (answered before any plugin code loads)"
CNI_COMMAND=VERSION "$BIN/loopback" </dev/null

lo='{"cniVersion":"1.1.0","name":"demo","type":"loopback"}'
say "loopback ADD in the container netns $ctr"
plugin ADD loopback "$lo"; echo
ip -n "$ctr" -br addr show lo

ipam='{"cniVersion":"1.1.0","name":"demo","type":"host-local","ipam":{"type":"host-local","dataDir":"'"$store"'","ranges":[[{"subnet":"10.88.0.0/24"}],[{"subnet":"fd00:88::/64"}]],"routes":[{"dst":"0.0.0.0/0"}]}}'
say "host-local ADD: one IPv4 and one IPv6 address for container demo-1"
plugin ADD host-local "$ipam"; echo
say "host-local's reservations on disk ($store/demo)"
for f in "$store"/demo/*; do printf '%-28s %q\n' "$(basename "$f")" "$(cat "$f")"; done

say "CHECK, then DEL of both"
plugin CHECK host-local "$ipam" && echo "host-local CHECK ok"
plugin CHECK loopback "$lo" && echo "loopback CHECK ok"
plugin DEL host-local "$ipam"
plugin DEL loopback "$lo"
ip -n "$ctr" -br link show lo
echo "reservations left: $(find "$store/demo" -type f ! -name lock ! -name 'last_reserved_ip.*' | wc -l)"

say "A bad config gets a CNI error object and exit status 1"
plugin ADD host-local '{"cniVersion":"1.1.0","name":"demo","ipam":{"type":"host-local","subnet":"10.88.0.1/24"}}' || echo " (exit status $?)"
