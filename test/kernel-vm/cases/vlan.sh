# vlan: our vlan plugin (+ host-local) on the guest's 802.1Q, run as a runtime runs it. VLAN ids 100, 0 and 4094
# read back; the MTU rules (explicit 1400, inherited 9000 from the master, above the master's and negative refused);
# linkInContainer (the master a veth inside the container); two containers pinging across VLAN 100 over a veth
# pair, and not across VLANs 100/200; CHECK (and CHECK catching a wrong id or MTU); a name clash and a failed route
# rolled back (no link, no reservation); DEL, DEL again, DEL with the master gone, with the netns gone, with an
# empty CNI_NETNS; nothing left at the end.
# modules: 8021q

H="/usr/sbin/ip -n $HOSTNS"
IPAM_DIR=$CASE_DIR/ipam
# conf MASTER VLANID [EXTRA_FIELDS] [IPAM_EXTRA]: a vlan network config with host-local on 10.9.0.0/24.
conf() {
  printf '{"cniVersion":"1.0.0","name":"vnet","type":"vlan","master":"%s","vlanId":%s%s,"ipam":{"type":"host-local","subnet":"10.9.0.0/24","dataDir":"%s"%s}}' \
    "$1" "$2" "${3:+,$3}" "$IPAM_DIR" "${4:+,$4}"
}
# reservations: the addresses host-local holds, space-separated ("" when none).
reservations() {
  ls "$IPAM_DIR/vnet" 2>/dev/null | grep -v -e '^lock$' -e '^last_reserved_ip' | tr '\n' ' ' | sed 's/ $//'
}
# links NETNS: the names of every link in NETNS, space-separated.
links() {
  ipj "$1" link show | grep -o '"ifname":"[^"]*"' | sed 's/"ifname":"//; s/"$//' | tr '\n' ' ' | sed 's/ $//'
}
# vlan_state NETNS DEV: "kind protocol id mtu UP|DOWN" of a link, as `ip -d -j` reads it (UP: IFF_UP is set;
# the operstate lags behind, through the kernel's linkwatch).
vlan_state() {
  local j up=DOWN
  j=$(ipj "$1" -d link show "$2")
  echo "$j" | grep -q '"flags":\[[^]]*"UP"' && up=UP
  echo "$(echo "$j" | jget info_kind) $(echo "$j" | jget protocol) $(echo "$j" | jget id) $(echo "$j" | jget mtu) $up"
}
# cid ID VERB PLUGIN NETNS IFNAME CONF: `cni` as container ID.
cid() {
  local CID=$1
  shift
  cni "$@"
}
# rejects CODE TEXT NETNS CONF: ADD (container ID "bad") fails with error code CODE and a msg containing TEXT.
rejects() {
  local out
  if cid bad ADD vlan "$3" eth0 "$4" >/dev/null; then echo "ADD succeeded: $(cat "$CNI_OUT")"; return 1; fi
  out=$(cat "$CNI_OUT")
  eq "$1" "$(echo "$out" | jget code)" || { echo "$out"; return 1; }
  case $(echo "$out" | jget msg) in
    *"$2"*) ;;
    *) echo "msg lacks: $2"; echo "$out"; return 1 ;;
  esac
}

# The masters: a veth pair (VLAN 100 on each end carries frames between the ends), and one with MTU 9000.
$H link add m0 type veth peer name m0p
$H link add m1 mtu 9000 type veth peer name m1p mtu 9000
for l in m0 m0p m1 m1p; do $H link set "$l" up; done
a=$(netns_add a)
b=$(netns_add b)
c=$(netns_add c)

# ---------- two containers on VLAN 100, one on VLAN 200 ----------
t "ADD a: VLAN 100 on m0" cni ADD vlan "$a" eth0 "$(conf m0 100)" || return 0
add_a=$(cat "$CNI_OUT")
t "a: eth0 is an 802.1Q VLAN 100, master's MTU, up" eq "vlan 802.1Q 100 1500 UP" "$(vlan_state "$a" eth0)"
t "a: eth0's lower device is m0 in the host netns" eq "$($H -j link show m0 | jget ifindex)" "$(ipj "$a" link show eth0 | jget link_index)"
t "a: result names eth0 with the VLAN's MAC (the master's) and the sandbox" eq \
  "eth0 $($H -j link show m0 | jget address) /run/netns/$a 0" \
  "$(echo "$add_a" | jget name) $(echo "$add_a" | jget mac) $(echo "$add_a" | jget sandbox) $(echo "$add_a" | jget interface)"
t "a: result and eth0 hold 10.9.0.2/24" eq "10.9.0.2/24 10.9.0.2/24" \
  "$(echo "$add_a" | jget address) $(ipj "$a" addr show dev eth0 | jget local)/$(ipj "$a" addr show dev eth0 | jget prefixlen)"
t "a: the temporary name is gone (lo, eth0)" eq "lo eth0" "$(links "$a")"

t "ADD b: VLAN 100 on m0p, mtu 1400" cid b ADD vlan "$b" eth0 "$(conf m0p 100 '"mtu":1400')" || return 0
add_b=$(cat "$CNI_OUT")
t "b: eth0 is VLAN 100 with the explicit MTU" eq "vlan 802.1Q 100 1400 UP" "$(vlan_state "$b" eth0)"
t "ADD c: VLAN 200 on m0p" cid c ADD vlan "$c" eth0 "$(conf m0p 200)" || return 0
add_c=$(cat "$CNI_OUT")
t "c: eth0 is VLAN 200" eq "vlan 802.1Q 200 1500 UP" "$(vlan_state "$c" eth0)"

t "a pings b across VLAN 100" in_ns "$a" ping -c 1 -W 5 10.9.0.3
t "b pings a across VLAN 100" in_ns "$b" ping -c 1 -W 5 10.9.0.2
t "a cannot reach c on VLAN 200" fails in_ns "$a" ping -c 1 -W 1 10.9.0.4

t "CHECK a" cni CHECK vlan "$a" eth0 "$(with_prev "$(conf m0 100)" "$add_a")"
t "CHECK b" cid b CHECK vlan "$b" eth0 "$(with_prev "$(conf m0p 100 '"mtu":1400')" "$add_b")"
wrong_id() {
  fails cni CHECK vlan "$a" eth0 "$(with_prev "$(conf m0 101)" "$add_a")" && grep -q "VLAN ID 101 doesn't match container VLAN ID: 100" "$CNI_OUT"
}
t "CHECK with another vlanId fails, naming both ids" wrong_id
wrong_mtu() {
  fails cid b CHECK vlan "$b" eth0 "$(with_prev "$(conf m0p 100 '"mtu":1300')" "$add_b")" && grep -q "configured MTU of eth0 is 1300, current value is 1400" "$CNI_OUT"
}
t "CHECK with another mtu fails, naming both" wrong_mtu

# ---------- ids 0 and 4094; the inherited MTU ----------
ids() {
  local x
  x=$(netns_add "id$1")
  cid "id$1" ADD vlan "$x" eth0 "$(conf m1 "$1")" >/dev/null || { cat "$CNI_OUT"; return 1; }
  eq "vlan 802.1Q $1 9000 UP" "$(vlan_state "$x" eth0)" || return 1
  cid "id$1" DEL vlan "$x" eth0 "$(conf m1 "$1")" >/dev/null || { cat "$CNI_OUT"; return 1; }
  eq lo "$(links "$x")"
}
t "VLAN id 0 on m1 inherits MTU 9000; DEL" ids 0
t "VLAN id 4094 on m1 inherits MTU 9000; DEL" ids 4094

# ---------- bad input and failed ADDs leave nothing (the config-only errors are tested on the host too) ----------
x=$(netns_add bad)
t "mtu 1501 above master m0's 1500: code 7" rejects 7 "invalid MTU 1501, must be [0, master MTU(1500)]" "$x" "$(conf m0 100 '"mtu":1501')"
t "negative mtu: code 7" rejects 7 "invalid MTU -1, must be [0, master MTU(1500)]" "$x" "$(conf m0 100 '"mtu":-1')"
t "linkInContainer with the master only on the host: code 7" rejects 7 'failed to lookup master \"m0\" in the container netns' "$x" \
  "$(conf m0 100 '"linkInContainer":true')"
t "a VLAN id already on the master (100 on m0): the kernel refuses" rejects 999 "failed to create vlan" "$x" "$(conf m0 100)"
$H link add m3 type veth peer name m3p
t "master m3 down: the VLAN cannot come up, ADD fails" rejects 999 'failed to set \"eth0\" UP' "$x" "$(conf m3 5)"
$H link set m3 up
t "a route IPAM asks for cannot be added: code 999" rejects 999 "failed to add route" "$x" \
  "$(conf m3 5 '' '"routes":[{"dst":"10.50.0.0/16","gw":"10.99.0.1"}]')"
/usr/sbin/ip -n "$x" link add eth0 type dummy
t "eth0 already in the container: the rename fails" rejects 999 'failed to rename vlan to \"eth0\"' "$x" "$(conf m3 5)"
t "after the bad ADDs: only lo and the clashing dummy in the container" eq "lo eth0" "$(links "$x")"
t "the clashing eth0 is still a dummy" eq dummy "$(ipj "$x" -d link show eth0 | jget info_kind)"
t "after the bad ADDs: only a, b, c hold addresses" eq "10.9.0.2 10.9.0.3 10.9.0.4" "$(reservations)"

# ---------- linkInContainer ----------
d=$(netns_add d)
/usr/sbin/ip -n "$d" link add cm0 type veth peer name cm0p
/usr/sbin/ip -n "$d" link set cm0 up
/usr/sbin/ip -n "$d" link set cm0p up
LIC=$(conf cm0 300 '"linkInContainer":true')
t "ADD d: linkInContainer, VLAN 300 on cm0 inside the container" cid d ADD vlan "$d" eth0 "$LIC"
add_d=$(cat "$CNI_OUT")
t "d: eth0 is VLAN 300 on cm0 in the same netns" eq "vlan 802.1Q 300 1500 UP cm0" "$(vlan_state "$d" eth0) $(ipj "$d" link show eth0 | jget link)"
t "CHECK d" cid d CHECK vlan "$d" eth0 "$(with_prev "$LIC" "$add_d")"
t "DEL d" cid d DEL vlan "$d" eth0 "$LIC"
t "d: the VLAN is gone, its master stays" eq "lo cm0p cm0" "$(links "$d")"

# ---------- DEL when the master, or the netns, is already gone ----------
e=$(netns_add e)
$H link add m2 type veth peer name m2p
$H link set m2 up
t "ADD e: VLAN 7 on m2" cid e ADD vlan "$e" eth0 "$(conf m2 7)"
$H link del m2
e_empty() { eq lo "$(links "$e")"; }
t "deleting the master takes the VLAN with it" wait_until 5 e_empty
t "DEL e with the master gone: success (upstream fails on the master lookup)" cid e DEL vlan "$e" eth0 "$(conf m2 7)"
t "DEL e again" cid e DEL vlan "$e" eth0 "$(conf m2 7)"

g=$(netns_add g)
t "ADD g: VLAN 8 on m1" cid g ADD vlan "$g" eth0 "$(conf m1 8)"
/usr/sbin/ip netns delete "$g"
t "DEL g after its netns is gone: success" cid g DEL vlan "/run/netns/$g" eth0 "$(conf m1 8)"
t "DEL c with an empty CNI_NETNS (IPAM only)" cid c DEL vlan "" eth0 "$(conf m0p 200)"
t "c: the VLAN stays until its netns goes" eq "lo eth0" "$(links "$c")"

# ---------- DEL, DEL again, nothing left ----------
t "DEL a" cni DEL vlan "$a" eth0 "$(with_prev "$(conf m0 100)" "$add_a")"
t "DEL a again" cni DEL vlan "$a" eth0 "$(with_prev "$(conf m0 100)" "$add_a")"
t "DEL b" cid b DEL vlan "$b" eth0 "$(conf m0p 100 '"mtu":1400')"
t "DEL b again" cid b DEL vlan "$b" eth0 "$(conf m0p 100 '"mtu":1400')"
t "DEL c" cid c DEL vlan "$c" eth0 "$(conf m0p 200)"
t "a, b and c hold only lo" eq "lo|lo|lo" "$(links "$a")|$(links "$b")|$(links "$c")"
t "the host keeps its masters and nothing else" eq "lo m0p m0 m1p m1 m3p m3" "$(links "$HOSTNS")"
t "no reservation left" eq "" "$(reservations)"
