# dummy: our dummy plugin (+ host-local) in the guest kernel, run as a runtime runs it. ADD makes a dummy eth0 in
# the container with IPAM's addresses (IPv4 and IPv6) and routes, the result passing IPAM's routes through; CHECK,
# and CHECK catching the link down; a name clash (eth0 already there: left alone, no reservation), no ipam, and a
# failed route rolled back (no link, no reservation); DEL, DEL again, DEL after the netns is gone; nothing left.
# modules: dummy

IPAM_DIR=$CASE_DIR/ipam
# conf [IPAM_EXTRA]: a dummy network config with host-local on 10.8.0.0/24 and fd00:8::/64.
conf() {
  printf '{"cniVersion":"1.1.0","name":"dnet","type":"dummy","ipam":{"type":"host-local","dataDir":"%s","ranges":[[{"subnet":"10.8.0.0/24"}],[{"subnet":"fd00:8::/64"}]]%s}}' \
    "$IPAM_DIR" "${1:+,$1}"
}
CONF=$(conf '"routes":[{"dst":"192.168.50.0/24"},{"dst":"fd00:50::/64"}]')
# cid ID VERB PLUGIN NETNS IFNAME CONF: `cni` as container ID.
cid() {
  local CID=$1
  shift
  cni "$@"
}
reservations() {
  ls "$IPAM_DIR/dnet" 2>/dev/null | grep -v -e '^lock$' -e '^last_reserved_ip' | tr '\n' ' ' | sed 's/ $//'
}
links() {
  ipj "$1" link show | grep -o '"ifname":"[^"]*"' | sed 's/"ifname":"//; s/"$//' | tr '\n' ' ' | sed 's/ $//'
}
# rejects CODE TEXT NETNS CONF [ID]: ADD fails with error code CODE and a msg containing TEXT.
rejects() {
  local out
  if cid "${5:-ctr1}" ADD dummy "$3" eth0 "$4" >/dev/null; then echo "ADD succeeded: $(cat "$CNI_OUT")"; return 1; fi
  out=$(cat "$CNI_OUT")
  eq "$1" "$(echo "$out" | jget code)" || { echo "$out"; return 1; }
  case $(echo "$out" | jget msg) in
    *"$2"*) ;;
    *) echo "msg lacks: $2"; echo "$out"; return 1 ;;
  esac
}

ctr=$(netns_add ctr)
t "ADD" cni ADD dummy "$ctr" eth0 "$CONF" || return 0
add=$(cat "$CNI_OUT")
dev=$(ipj "$ctr" -d link show eth0)
is_up() { ipj "$ctr" link show eth0 | grep -q '"flags":\[[^]]*"UP"'; }
t "eth0 is a dummy" eq dummy "$(echo "$dev" | jget info_kind)"
t "eth0 is up" is_up
t "result: eth0 with its MAC and sandbox" eq "eth0 $(echo "$dev" | jget address) /run/netns/$ctr" \
  "$(echo "$add" | jget name) $(echo "$add" | jget mac) $(echo "$add" | jget sandbox)"
t "result: both addresses on interface 0" eq "10.8.0.2/24 0 fd00:8::2/64 0" \
  "$(echo "$add" | jget address 1) $(echo "$add" | jget interface 1) $(echo "$add" | jget address 2) $(echo "$add" | jget interface 2)"
t "result: IPAM's routes pass through" eq "192.168.50.0/24 fd00:50::/64" "$(echo "$add" | jget dst 1) $(echo "$add" | jget dst 2)"
t "eth0 holds 10.8.0.2/24" eq "10.8.0.2 24" "$(ipj "$ctr" -4 addr show dev eth0 | jget local) $(ipj "$ctr" -4 addr show dev eth0 | jget prefixlen)"
t "eth0 holds fd00:8::2/64, settled" eq "fd00:8::2 64 0" \
  "$(ipj "$ctr" -6 addr show dev eth0 scope global | jget local) $(ipj "$ctr" -6 addr show dev eth0 scope global | jget prefixlen) $(ipj "$ctr" -6 addr show dev eth0 scope global | jcount tentative)"
t "route 192.168.50.0/24 via the IPv4 gateway" eq "10.8.0.1 eth0" \
  "$(ipj "$ctr" route show 192.168.50.0/24 | jget gateway) $(ipj "$ctr" route show 192.168.50.0/24 | jget dev)"
t "route fd00:50::/64 via the IPv6 gateway" eq "fd00:8::1 eth0" \
  "$(ipj "$ctr" -6 route show fd00:50::/64 | jget gateway) $(ipj "$ctr" -6 route show fd00:50::/64 | jget dev)"

t "CHECK" cni CHECK dummy "$ctr" eth0 "$(with_prev "$CONF" "$add")"
down_fails() {
  /usr/sbin/ip -n "$ctr" link set eth0 down
  fails cni CHECK dummy "$ctr" eth0 "$(with_prev "$CONF" "$add")" && grep -q "Interface eth0 is down" "$CNI_OUT"
  local rc=$?
  /usr/sbin/ip -n "$ctr" link set eth0 up
  return "$rc"
}
t "CHECK with eth0 down fails: Interface eth0 is down" down_fails

# ---------- bad input and failed ADDs leave nothing ----------
t "a second ADD for eth0 (name clash): fails" rejects 999 'failed to create dummy \"eth0\"' "$ctr" "$CONF" ctr2
t "the clash left the first eth0 alone: still a dummy with its address" eq "dummy 10.8.0.2" \
  "$(ipj "$ctr" -d link show eth0 | jget info_kind) $(ipj "$ctr" -4 addr show dev eth0 | jget local)"
x=$(netns_add bad)
t "no ipam: code 7, naming ipam" rejects 7 'dummy interface requires an IPAM configuration: the config has no \"ipam\"' "$x" \
  '{"cniVersion":"1.1.0","name":"dnet","type":"dummy"}'
t "a route IPAM asks for cannot be added: code 999" rejects 999 "failed to add route" "$x" \
  "$(conf '"routes":[{"dst":"10.50.0.0/16","gw":"10.99.0.1"}]')" ctr3
t "after the bad ADDs: the bad container holds only lo" eq lo "$(links "$x")"
t "after the bad ADDs: only ctr1 holds addresses" eq "10.8.0.2 fd00:8::2" "$(reservations)"

# ---------- DEL, DEL again; DEL after the netns is gone ----------
t "DEL" cni DEL dummy "$ctr" eth0 "$(with_prev "$CONF" "$add")"
t "eth0 is gone" eq lo "$(links "$ctr")"
t "DEL again" cni DEL dummy "$ctr" eth0 "$(with_prev "$CONF" "$add")"

gone=$(netns_add gone)
t "ADD into a netns that is deleted next" cid gone ADD dummy "$gone" eth0 "$CONF"
/usr/sbin/ip netns delete "$gone"
t "DEL after the netns is gone: success" cid gone DEL dummy "/run/netns/$gone" eth0 "$CONF"
t "no reservation left" eq "" "$(reservations)"
