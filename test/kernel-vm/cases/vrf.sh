# vrf: our vrf plugin on the guest's VRFs, chained (prevResult) after our bridge + host-local and after hand-made
# veths, run as a runtime runs it. A new VRF (first free table 1, up) and an existing one (explicit matching table;
# a different table refused); table selection (first free when 0 beside VRFs by hand, explicit 42); route migration
# into the VRF table (IPv4 and IPv6 routes via gateways) and none left in main; global IPv6 addresses the enslaving
# dropped (keep_addr_on_down=0) re-added, their local route in the VRF table; pings through the VRF container ->
# container, container -> host and host -> container, none without it; CHECK (and its failures); bad input (no
# vrfname, interface enslaved elsewhere, missing interface, a non-VRF vrfname) leaves no VRF; every spec version
# 0.3.1-1.1.0; DEL of one member keeps the VRF, of the last removes it; DEL again, with the netns gone; nothing left.
# modules: vrf bridge veth

BR_DIR=$CASE_DIR/ipam
# brconf NAME BRIDGE SUBNET [ROUTES]: a bridge network (gateway on the bridge) with host-local on SUBNET.
brconf() {
  printf '{"cniVersion":"1.0.0","name":"%s","type":"bridge","bridge":"%s","isGateway":true,"ipam":{"type":"host-local","subnet":"%s","routes":[%s],"dataDir":"%s"}}' \
    "$1" "$2" "$3" "${4:-}" "$BR_DIR"
}
# vconf VRFNAME [TABLE] [VERSION]: a vrf network config.
vconf() {
  printf '{"cniVersion":"%s","name":"vrfnet","type":"vrf","vrfname":"%s"%s}' "${3:-1.0.0}" "$1" "${2:+,\"table\":$2}"
}
# vrf_table NETNS NAME: the table of VRF NAME ("" when there is none).
vrf_table() { ipj "$1" -d link show "$2" 2>/dev/null | jget table; }
# vrf_count NETNS: how many VRFs NETNS holds.
vrf_count() { ipj "$1" -d link show type vrf | jcount ifname; }
# master NETNS DEV: the master of DEV ("" when none).
master() { ipj "$1" link show "$2" | jget master; }
# in_table NETNS TABLE ARGS...: whether `ip route show table TABLE ARGS` lists a route (exit status).
in_table() {
  local ns=$1 table=$2
  shift 2
  [ "$(ipj "$ns" route show table "$table" "$@" | jcount dst)" -ge 1 ]
}
# msg_has TEXT: whether the last plugin output's msg contains TEXT.
msg_has() {
  case $(jget msg <"$CNI_OUT") in
    *"$1"*) return 0 ;;
    *) echo "msg lacks: $1"; cat "$CNI_OUT"; return 1 ;;
  esac
}
# cid ID VERB PLUGIN NETNS IFNAME CONF: `cni` as container ID.
cid() {
  local CID=$1
  shift
  cni "$@"
}
# veth_in NETNS DEV PEER: a veth DEV with its peer PEER, both in NETNS and up.
veth_in() {
  /usr/sbin/ip -n "$1" link add "$2" type veth peer name "$3" && /usr/sbin/ip -n "$1" link set "$2" up && /usr/sbin/ip -n "$1" link set "$3" up
}
# prev VERSION NETNS DEV ADDRESS...: a prevResult of VERSION's shape naming DEV in NETNS with these addresses.
prev() {
  local v=$1 ns=$2 dev=$3 ips="" sep="" a fam
  shift 3
  for a in "$@"; do
    case $a in *:*) fam=6 ;; *) fam=4 ;; esac
    case $v in
      0.*) ips="$ips$sep{\"version\":\"$fam\",\"interface\":0,\"address\":\"$a\"}" ;;
      *) ips="$ips$sep{\"interface\":0,\"address\":\"$a\"}" ;;
    esac
    sep=,
  done
  printf '{"cniVersion":"%s","interfaces":[{"name":"%s","sandbox":"/run/netns/%s"}],"ips":[%s]}' "$v" "$dev" "$ns" "$ips"
}

a=$(netns_add a)
b=$(netns_add b)
BR1=$(brconf brnet cnibr0 10.66.0.0/24 '{"dst":"0.0.0.0/0"}')
BR2=$(brconf brnet2 cnibr1 10.67.0.0/24)

# ---------- a new VRF behind bridge + host-local; pings through it ----------
t "bridge ADD a eth0" cid a ADD bridge "$a" eth0 "$BR1" || return 0
add_a=$(cat "$CNI_OUT")
t "bridge ADD b eth0 (no VRF)" cid b ADD bridge "$b" eth0 "$BR1" || return 0
t "a: default route via 10.66.0.1 in main before the VRF" in_table "$a" main default
t "vrf ADD a eth0: new VRF red, table 0" cid a ADD vrf "$a" eth0 "$(with_prev "$(vconf red)" "$add_a")" || return 0
vadd_a=$(cat "$CNI_OUT")
t "the result is prevResult, unchanged" eq "$add_a" "$vadd_a"
t "red is a VRF with the first free table, 1" eq "vrf 1" "$(ipj "$a" -d link show red | jget info_kind) $(vrf_table "$a" red)"
red_up() { ipj "$a" link show red | grep -q '"flags":\[[^]]*"UP"'; }
t "red is up" red_up
t "eth0's master is red" eq red "$(master "$a" eth0)"
t "table 1: the default route via 10.66.0.1 moved in" eq "10.66.0.1 eth0" \
  "$(ipj "$a" route show table 1 default | jget gateway) $(ipj "$a" route show table 1 default | jget dev)"
t "table 1: the connected 10.66.0.0/24" in_table "$a" 1 10.66.0.0/24
t "main: nothing left on eth0" eq "[]" "$(ipj "$a" route show dev eth0)"
t "a pings b through red" in_ns "$a" ping -c 1 -W 5 -I red 10.66.0.3
t "b pings a (a answers through red)" in_ns "$b" ping -c 1 -W 5 10.66.0.2
t "the host pings a" in_ns "$HOSTNS" ping -c 1 -W 5 10.66.0.2
t "a cannot reach b outside the VRF (main has no route)" fails in_ns "$a" ping -c 1 -W 1 10.66.0.3
t "CHECK a eth0" cid a CHECK vrf "$a" eth0 "$(with_prev "$(vconf red)" "$add_a")"
check_other_vrf() { fails cid a CHECK vrf "$a" eth0 "$(with_prev "$(vconf blue)" "$add_a")" && msg_has "vrf blue"; }
t "CHECK naming another VRF fails" check_other_vrf
check_not_member() { fails cid b CHECK vrf "$b" eth0 "$(with_prev "$(vconf red)" "$add_a")"; }
t "CHECK where eth0 is in no VRF fails" check_not_member

# ---------- the existing VRF: a second member ----------
t "bridge ADD a net1 (second network, no routes)" cid a ADD bridge "$a" net1 "$BR2" || return 0
add_n=$(cat "$CNI_OUT")
other_table() { fails cid a ADD vrf "$a" net1 "$(with_prev "$(vconf red 5)" "$add_n")" && msg_has "cmdAdd failed: VRF red already exist with different routing table 1"; }
t "red with table 5 is refused: it has table 1" other_table
t "after the refusal net1 has no master" eq "" "$(master "$a" net1)"
t "vrf ADD a net1 into red, table 1 given" cid a ADD vrf "$a" net1 "$(with_prev "$(vconf red 1)" "$add_n")"
t "still one VRF, table 1, net1 a member" eq "1 1 red" "$(vrf_count "$a") $(vrf_table "$a" red) $(master "$a" net1)"
t "table 1: 10.67.0.0/24 beside the first member's routes" eq "1 10.66.0.1" \
  "$(ipj "$a" route show table 1 10.67.0.0/24 | jcount dst) $(ipj "$a" route show table 1 default | jget gateway)"
taken() { fails cid a ADD vrf "$a" net1 "$(with_prev "$(vconf red)" "$add_n")" && msg_has "interface net1 has already a master set: red"; }
t "ADD again: net1 already has a master" taken
t "DEL a eth0: red keeps its other member" cid a DEL vrf "$a" eth0 "$(with_prev "$(vconf red)" "$add_a")"
t "eth0 is out, red and net1 stay" eq "|1|red" "$(master "$a" eth0)|$(vrf_count "$a")|$(master "$a" net1)"
t "DEL a eth0 again" cid a DEL vrf "$a" eth0 "$(with_prev "$(vconf red)" "$add_a")"
t "DEL a net1: the last member, red goes" cid a DEL vrf "$a" net1 "$(with_prev "$(vconf red 1)" "$add_n")"
t "no VRF left in a, net1 released" eq "0|" "$(vrf_count "$a")|$(master "$a" net1)"
t "DEL a net1 again" cid a DEL vrf "$a" net1 "$(with_prev "$(vconf red 1)" "$add_n")"

# ---------- table selection beside hand-made VRFs; IPv6 addresses re-added; routes moved ----------
c=$(netns_add c)
/usr/sbin/ip -n "$c" link add blue type vrf table 1
/usr/sbin/ip -n "$c" link add teal type vrf table 3
# eth0's peer vc0 is on the host side, holding the gateways (a gateway must not be an address of the container).
/usr/sbin/ip -n "$c" link add eth0 type veth peer name vc0 netns "$HOSTNS"
/usr/sbin/ip -n "$HOSTNS" link set vc0 up
/usr/sbin/ip -n "$HOSTNS" addr add 10.77.0.1/24 dev vc0
/usr/sbin/ip -n "$HOSTNS" addr add fd77::1/64 dev vc0 nodad
/usr/sbin/ip -n "$c" link set eth0 up
/usr/sbin/ip -n "$c" addr add 10.77.0.2/24 dev eth0
/usr/sbin/ip -n "$c" addr add fd77::2/64 dev eth0       # with DAD, so the re-added one is tentative a while
/usr/sbin/ip -n "$c" route add 10.88.0.0/16 via 10.77.0.1 dev eth0
no_tentative() { [ -z "$(/usr/sbin/ip -n "$c" -6 addr show dev eth0 tentative)" ]; }
t "c: eth0's fd77::2 settles (DAD)" wait_until 10 no_tentative
/usr/sbin/ip -n "$c" -6 route add fd88::/64 via fd77::1 dev eth0
t "c: keep_addr_on_down is 0, so enslaving drops fd77::2" eq 0 "$(in_ns "$c" cat /proc/sys/net/ipv6/conf/eth0/keep_addr_on_down)"
# The premise, shown on another link: the kernel itself drops the address when such a link joins a VRF.
veth_in "$c" eth3 p3
/usr/sbin/ip -n "$c" addr add fd79::2/64 dev eth3 nodad
/usr/sbin/ip -n "$c" link set eth3 master blue
t "control: enslaving eth3 by hand drops its fd79::2" eq "" "$(ipj "$c" -6 addr show dev eth3 scope global | jget local)"
prev_c=$(prev 1.0.0 "$c" eth0 10.77.0.2/24 fd77::2/64)
t "vrf ADD c eth0: green, table 0 beside blue (1) and teal (3)" cid c ADD vrf "$c" eth0 "$(with_prev "$(vconf green)" "$prev_c")" || return 0
t "green got table 2" eq 2 "$(vrf_table "$c" green)"
t "fd77::2/64 is back on eth0" eq "fd77::2 64" "$(ipj "$c" -6 addr show dev eth0 scope global | jget local) $(ipj "$c" -6 addr show dev eth0 scope global | jget prefixlen)"
t "its local route is in table 2" eq "local" "$(ipj "$c" -6 route show table 2 fd77::2 | jget type)"
t "10.88.0.0/16 via 10.77.0.1 moved into table 2" eq "10.77.0.1 eth0" \
  "$(ipj "$c" route show table 2 10.88.0.0/16 | jget gateway) $(ipj "$c" route show table 2 10.88.0.0/16 | jget dev)"
t "fd88::/64 via fd77::1 moved into table 2" eq "fd77::1" "$(ipj "$c" -6 route show table 2 fd88::/64 | jget gateway)"
t "main: nothing left on eth0" eq "[]|[]" "$(ipj "$c" route show dev eth0)|$(ipj "$c" -6 route show dev eth0)"
t "c pings the host side's 10.77.0.1 through green" in_ns "$c" ping -c 1 -W 5 -I green 10.77.0.1
t "c pings the host side's fd77::1 through green" in_ns "$c" ping -c 1 -W 5 -I green fd77::1
t "CHECK c eth0" cid c CHECK vrf "$c" eth0 "$(with_prev "$(vconf green)" "$prev_c")"

veth_in "$c" eth2 p2
t "vrf ADD c eth2: violet, explicit table 42" cid c ADD vrf "$c" eth2 "$(with_prev "$(vconf violet 42)" "$(prev 1.0.0 "$c" eth2 10.79.0.2/24)")"
t "violet has table 42, eth2 in it" eq "42 violet" "$(vrf_table "$c" violet) $(master "$c" eth2)"
t "DEL c eth2: violet goes" cid c DEL vrf "$c" eth2 "$(vconf violet 42)"
t "DEL c eth0 (no prevResult): green goes" cid c DEL vrf "$c" eth0 "$(vconf green)"
t "the hand-made VRFs stay: blue, teal" eq "2 1 3" "$(vrf_count "$c") $(vrf_table "$c" blue) $(vrf_table "$c" teal)"
t "eth0 and eth2 are released" eq "|" "$(master "$c" eth0)|$(master "$c" eth2)"

# ---------- bad input leaves no VRF ----------
/usr/sbin/ip -n "$c" link add br9 type bridge
veth_in "$c" eth1 p1
/usr/sbin/ip -n "$c" link set eth1 master br9
rejects() {   # rejects CODE TEXT IFNAME CONF: ADD fails with CODE and TEXT in msg, and lime does not exist
  fails cid bad ADD vrf "$c" "$3" "$4" >/dev/null || return 1
  eq "$1" "$(jget code <"$CNI_OUT")" || { cat "$CNI_OUT"; return 1; }
  msg_has "$2" || return 1
  eq "" "$(vrf_table "$c" lime)"
}
P1=$(prev 1.0.0 "$c" eth1 10.78.0.2/24)
t "no vrfname: code 7" rejects 7 "configuration is expected to have a valid vrf name" eth1 \
  "$(with_prev '{"cniVersion":"1.0.0","name":"vrfnet","type":"vrf"}' "$P1")"
t "no prevResult: code 7" rejects 7 "missing prevResult from earlier plugin" eth1 "$(vconf lime)"
t "eth1 enslaved to br9: refused before any VRF is made" rejects 999 "cmdAdd failed: interface eth1 has already a master set: br9" eth1 \
  "$(with_prev "$(vconf lime)" "$P1")"
t "eth1 still in br9" eq br9 "$(master "$c" eth1)"
t "a missing interface: refused before any VRF is made" rejects 999 "cmdAdd failed: could not get link by name nope0" nope0 \
  "$(with_prev "$(vconf lime)" "$P1")"
t "vrfname naming a bridge: refused" rejects 999 "cmdAdd failed: Netlink br9 is not a VRF" p1 "$(with_prev "$(vconf br9)" "$P1")"

# ---------- every spec version; DEL with the netns gone ----------
e=$(netns_add e)
veth_in "$e" eth0 p0
/usr/sbin/ip -n "$e" addr add 10.80.0.2/24 dev eth0
versions() {
  local v
  for v in 0.3.1 0.4.0 1.0.0 1.1.0; do
    cid e ADD vrf "$e" eth0 "$(with_prev "$(vconf plum "" "$v")" "$(prev "$v" "$e" eth0 10.80.0.2/24)")" >/dev/null || { echo "ADD $v"; cat "$CNI_OUT"; return 1; }
    grep -q "\"cniVersion\": \"$v\"" "$CNI_OUT" || { echo "ADD $v result"; cat "$CNI_OUT"; return 1; }
    eq "plum 1" "$(master "$e" eth0) $(vrf_table "$e" plum)" || return 1
    if [ "$v" != 0.3.1 ]; then
      cid e CHECK vrf "$e" eth0 "$(with_prev "$(vconf plum "" "$v")" "$(prev "$v" "$e" eth0 10.80.0.2/24)")" >/dev/null || { echo "CHECK $v"; cat "$CNI_OUT"; return 1; }
    fi
    cid e DEL vrf "$e" eth0 "$(vconf plum "" "$v")" >/dev/null || { echo "DEL $v"; cat "$CNI_OUT"; return 1; }
    cid e DEL vrf "$e" eth0 "$(vconf plum "" "$v")" >/dev/null || { echo "DEL again $v"; cat "$CNI_OUT"; return 1; }
    eq "0" "$(vrf_count "$e")" || return 1
  done
}
t "0.3.1, 0.4.0, 1.0.0, 1.1.0: ADD (result in that version), CHECK, DEL, DEL again, no VRF left" versions
t "ADD e again before its netns goes" cid e ADD vrf "$e" eth0 "$(with_prev "$(vconf plum)" "$(prev 1.0.0 "$e" eth0 10.80.0.2/24)")"
/usr/sbin/ip netns delete "$e"
t "DEL e after its netns is gone: success" cid e DEL vrf "/run/netns/$e" eth0 "$(vconf plum)"
t "DEL with an empty CNI_NETNS: success" cid e DEL vrf "" eth0 "$(vconf plum)"

# ---------- nothing left ----------
br_dels() { cid a DEL bridge "$a" eth0 "$BR1" && cid a DEL bridge "$a" net1 "$BR2" && cid b DEL bridge "$b" eth0 "$BR1"; }
t "bridge DEL a eth0, a net1, b eth0" br_dels
t "a and b hold only lo, no VRF" eq "lo|lo|0|0" \
  "$(ipj "$a" link show | jget ifname)$(ipj "$a" link show | jget ifname 2)|$(ipj "$b" link show | jget ifname)$(ipj "$b" link show | jget ifname 2)|$(vrf_count "$a")|$(vrf_count "$b")"
t "no host-local reservation left" eq "" "$(ls "$BR_DIR"/brnet "$BR_DIR"/brnet2 2>/dev/null | grep -E '^10\.' | tr '\n' ' ')"
