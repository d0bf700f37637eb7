# bridge-vlan: our bridge + host-local with VLANs on a VLAN-filtering bridge (the build kernel ignores
# vlan_filtering), run as a runtime runs them. Six containers on one bridge `cnivl0`:
#   a, b  vlan 100 + isGateway, dual stack: the first ADD makes a filtering bridge; each port is an access port of
#         VLAN 100 only; the gateways sit on `cnivl0.100`, a veth whose peer is an access port of VLAN 100, listed
#         once in each result; a and b ping each other and the gateway
#   c     vlan 200, same IP subnet as a: its ping to a fails (only the VLAN separates them)
#   d     vlanTrunk ranges + ids (merged, de-duplicated): 200 201 300 tagged, native VLAN 1 untagged; a tagged
#         eth0.200 inside d pings c across the trunk, and d's untagged eth0 pings f on native VLAN 1
#   e     vlan 100 + preserveDefaultVlan true: VLAN 1 stays (egress untagged only), pings a
#   f     vlanTrunk [300] + preserveDefaultVlan true: VLAN 1 PVID untagged, 300 tagged
# Each: ADD, CHECK; then every DEL and DEL again; nothing left but the bridge and the VLAN gateway pair (upstream
# deletes neither: both are shared), and no IPAM reservation.
# modules: bridge veth 8021q

BR=cnivl0
IPAMDIR=$CASE_DIR/ipam
V100='{"cniVersion":"1.1.0","name":"v100","type":"bridge","bridge":"'$BR'","vlan":100,"isGateway":true,"ipam":{"type":"host-local","ranges":[[{"subnet":"10.66.0.0/24","rangeEnd":"10.66.0.99"}],[{"subnet":"fd66::/64"}]],"dataDir":"'$IPAMDIR'"}}'
V200='{"cniVersion":"1.1.0","name":"v200","type":"bridge","bridge":"'$BR'","vlan":200,"ipam":{"type":"host-local","ranges":[[{"subnet":"10.66.0.0/24","rangeStart":"10.66.0.100","rangeEnd":"10.66.0.149"}]],"dataDir":"'$IPAMDIR'"}}'
TRUNK='{"cniVersion":"1.1.0","name":"trunk","type":"bridge","bridge":"'$BR'","vlanTrunk":[{"minID":200,"maxID":201},{"id":300},{"id":201}],"ipam":{"type":"host-local","subnet":"10.67.0.0/24","dataDir":"'$IPAMDIR'"}}'
KEEP100='{"cniVersion":"1.1.0","name":"keep100","type":"bridge","bridge":"'$BR'","vlan":100,"preserveDefaultVlan":true,"isGateway":true,"ipam":{"type":"host-local","ranges":[[{"subnet":"10.66.0.0/24","rangeStart":"10.66.0.150","rangeEnd":"10.66.0.199"}]],"dataDir":"'$IPAMDIR'"}}'
NATIVE='{"cniVersion":"1.1.0","name":"trunk","type":"bridge","bridge":"'$BR'","vlanTrunk":[{"id":300}],"preserveDefaultVlan":true,"ipam":{"type":"host-local","subnet":"10.67.0.0/24","dataDir":"'$IPAMDIR'"}}'

ACCESS100='[{"vlan":100,"flags":["PVID","Egress Untagged"]}]'

# vlans_of PORT: the port's VLAN list from `bridge -j vlan show`, compact, e.g. [{"vlan":100,"flags":[…]}].
vlans_of() {
  /usr/sbin/bridge -n "$HOSTNS" -j vlan show dev "$1" | sed -n 's/^\[{"ifname":"[^"]*","vlans":\(\[.*\]\)}\]$/\1/p'
}
# has_addr NETNS DEV ADDR PREFIX: DEV holds ADDR/PREFIX.
has_addr() {
  ipj "$1" addr show dev "$2" | grep -q "\"local\":\"$3\",\"prefixlen\":$4"
}
# up ROLE CONF: ADD (as container ROLE) then CHECK with the ADD's result; saves the result as $CASE_DIR/ROLE.json.
# Fails only when the ADD failed. CHECK follows at once: the bridge's MAC (in the result) is that of its lowest
# port until an address pins it, and here the gateway pins only $BR.100's, so a later ADD may change it.
up() {
  CID=$1
  t "$1: ADD" cni ADD bridge "$CASE-$1" eth0 "$2" || return 1
  cp "$CNI_OUT" "$CASE_DIR/$1.json"
  t "$1: CHECK" cni CHECK bridge "$CASE-$1" eth0 "$(with_prev "$2" "$(cat "$CASE_DIR/$1.json")")"
  return 0
}
# down ROLE CONF: DEL and DEL again (with prevResult, as runtimes send it).
down() {
  CID=$1
  local conf=$2
  [ -f "$CASE_DIR/$1.json" ] && conf=$(with_prev "$2" "$(cat "$CASE_DIR/$1.json")")
  t "$1: DEL" cni DEL bridge "$CASE-$1" eth0 "$conf"
  t "$1: DEL again" cni DEL bridge "$CASE-$1" eth0 "$conf"
}
host_veth() { jget name 2 <"$CASE_DIR/$1.json"; }
ping_ok() { in_ns "$CASE-$1" ping -c 1 -W 5 "$2"; }
ping_fails() { fails in_ns "$CASE-$1" ping -c 1 -W 1 "$2"; }

for role in a b c d e f; do netns_add "$role" >/dev/null; done

# ---------- vlan 100, isGateway: a and b ----------
up a "$V100" || return 0       # the rest needs the bridge
t "a: ADD made a VLAN-filtering bridge" eq "1 1" \
  "$(ipj "$HOSTNS" -d link show "$BR" | jget vlan_filtering) $(in_ns "$HOSTNS" cat /sys/class/net/$BR/bridge/vlan_filtering)"
t "a: port is an access port of VLAN 100 only" eq "$ACCESS100" "$(vlans_of "$(host_veth a)")"
t "a: result lists $BR.100 once, last" eq "4 $BR.100 1" \
  "$(jcount name <"$CASE_DIR/a.json") $(jget name 4 <"$CASE_DIR/a.json") $(grep -c "\"name\": \"$BR.100\"" "$CASE_DIR/a.json")"
t "a: eth0 holds 10.66.0.2/24 and fd66::2/64" eq "10.66.0.2/24 fd66::2/64" \
  "$(jget address 1 <"$CASE_DIR/a.json") $(jget address 2 <"$CASE_DIR/a.json")"
t "$BR.100 holds the IPv4 gateway" has_addr "$HOSTNS" "$BR.100" 10.66.0.1 24
t "$BR.100 holds the IPv6 gateway" has_addr "$HOSTNS" "$BR.100" fd66::1 64
t "$BR holds no global address" eq 0 "$(ipj "$HOSTNS" addr show dev "$BR" scope global | jcount local)"
t "$BR.100 is a veth" eq veth "$(ipj "$HOSTNS" -d link show "$BR.100" | jget info_kind)"
gwpeer=$(ipj "$HOSTNS" link show "$BR.100" | jget link)
t "$BR.100's peer is a port of $BR" eq "$BR" "$(ipj "$HOSTNS" link show "$gwpeer" | jget master)"
t "$BR.100's peer is an access port of VLAN 100 only" eq "$ACCESS100" "$(vlans_of "$gwpeer")"
t "IPv4 forwarding on in the host" eq 1 "$(in_ns "$HOSTNS" cat /proc/sys/net/ipv4/ip_forward)"

up b "$V100"
t "b: port is an access port of VLAN 100 only" eq "$ACCESS100" "$(vlans_of "$(host_veth b)")"
t "b: result lists the existing $BR.100 once" eq "4 $BR.100 1" \
  "$(jcount name <"$CASE_DIR/b.json") $(jget name 4 <"$CASE_DIR/b.json") $(grep -c "\"name\": \"$BR.100\"" "$CASE_DIR/b.json")"
t "one gateway pair only" eq 1 "$(ipj "$HOSTNS" link show | grep -o "\"ifname\":\"$BR\.[0-9]*\"" | wc -l)"
t "a pings the gateway on VLAN 100" ping_ok a 10.66.0.1
t "a pings b on VLAN 100" ping_ok a 10.66.0.3
t "b pings a on VLAN 100" ping_ok b 10.66.0.2

# ---------- vlan 200, same subnet ----------
up c "$V200"
t "c: port is an access port of VLAN 200 only" eq '[{"vlan":200,"flags":["PVID","Egress Untagged"]}]' "$(vlans_of "$(host_veth c)")"
t "c: no gateway interface in its result" eq 3 "$(jcount name <"$CASE_DIR/c.json")"
t "c (VLAN 200) cannot ping a (VLAN 100) in the same subnet" ping_fails c 10.66.0.2

# ---------- trunk: ranges and ids, native VLAN 1 ----------
up d "$TRUNK"
t "d: trunk 200 201 300 tagged, native VLAN 1 untagged" \
  eq '[{"vlan":1,"flags":["PVID","Egress Untagged"]},{"vlan":200},{"vlan":201},{"vlan":300}]' "$(vlans_of "$(host_veth d)")"
/usr/sbin/ip -n "$CASE-d" link add link eth0 name eth0.200 type vlan id 200 &&
  /usr/sbin/ip -n "$CASE-d" addr add 10.66.0.250/24 dev eth0.200 &&
  /usr/sbin/ip -n "$CASE-d" link set eth0.200 up
t "d's tagged eth0.200 pings c (access VLAN 200) across the trunk" ping_ok d 10.66.0.100
t "d's tagged eth0.200 cannot ping a (VLAN 100, not in the trunk)" ping_fails d 10.66.0.2

# ---------- preserveDefaultVlan true ----------
up e "$KEEP100"
t "e: VLAN 1 kept (egress untagged), VLAN 100 PVID untagged" \
  eq '[{"vlan":1,"flags":["Egress Untagged"]},{"vlan":100,"flags":["PVID","Egress Untagged"]}]' "$(vlans_of "$(host_veth e)")"
t "e: result lists $BR.100" eq "4 $BR.100" "$(jcount name <"$CASE_DIR/e.json") $(jget name 4 <"$CASE_DIR/e.json")"
t "e pings a on VLAN 100" ping_ok e 10.66.0.2

up f "$NATIVE"
t "f: VLAN 1 PVID untagged kept, 300 tagged" \
  eq '[{"vlan":1,"flags":["PVID","Egress Untagged"]},{"vlan":300}]' "$(vlans_of "$(host_veth f)")"
t "d pings f on native VLAN 1 (untagged)" ping_ok d 10.67.0.3

# ---------- DEL, DEL again, nothing left ----------
down a "$V100"
down b "$V100"
down c "$V200"
down d "$TRUNK"
down e "$KEEP100"
down f "$NATIVE"

only_lo() { eq lo "$(ipj "$1" link show | jget ifname 1)$(ipj "$1" link show | jget ifname 2)"; }
for role in a b c d e f; do t "$role: only lo left in the container" only_lo "$CASE-$role"; done
t "the bridge stays" eq bridge "$(ipj "$HOSTNS" -d link show "$BR" | jget info_kind)"
t "the bridge's only port left is $BR.100's peer" eq "1 $gwpeer" \
  "$(ipj "$HOSTNS" link show master "$BR" | jcount ifname) $(ipj "$HOSTNS" link show master "$BR" | jget ifname)"
t "no veth left but the gateway pair" eq 2 "$(ipj "$HOSTNS" link show type veth | jcount ifname)"
t "$BR.100 keeps its gateway address" has_addr "$HOSTNS" "$BR.100" 10.66.0.1 24
t "no reservation left in host-local" eq "" \
  "$(find "$IPAMDIR" -type f ! -name lock ! -name 'last_reserved_ip.*' 2>&1)"
