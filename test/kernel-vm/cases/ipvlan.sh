# ipvlan: our ipvlan plugin with host-local, run as a runtime runs it, on a kernel that has ipvlan (the build
# machines' lacks it). A veth master m0 in the host netns, both ends up (slaves inherit the master's carrier).
# One spec version per result family (0.2.0, 0.4.0, 1.1.0; the skel's conversions are tested on the host): an l2
# slave, its address, ADD/CHECK (0.4.0 on)/DEL/DEL again. l2, l3, l3s: two containers' slaves ping each other; CHECK
# names a wrong mode. Chained without ipam: prevResult's address and route reused, its
# one interface the master. linkInContainer: the master is the container's own veth (named, or by its default route).
# mtu 1400 set, 9000 refused (code 7) with nothing made. Nothing left behind: links, reservations.
# modules: ipvlan veth

HIP="/usr/sbin/ip -n $HOSTNS"
$HIP link add m0 type veth peer name m0p
$HIP link set m0 up
$HIP link set m0p up
M0_INDEX=$(ipj "$HOSTNS" link show m0 | jget ifindex)
M0_MAC=$(ipj "$HOSTNS" link show m0 | jget address)
IPAM='"ipam":{"type":"host-local","subnet":"10.66.0.0/24","routes":[{"dst":"0.0.0.0/0"}],"dataDir":"'$CASE_DIR'/ipam"}'

# conf VERSION MODE [EXTRA_FIELDS]: an ipvlan network on m0 with host-local.
conf() {
  echo '{"cniVersion":"'$1'","name":"ivnet","type":"ipvlan","master":"m0","mode":"'$2'"'${3:+,$3}','$IPAM'}'
}
# slave NETNS: "kind mode parent mac up" of eth0 in NETNS.
slave() {
  local j
  j=$(ipj "$1" -d link show eth0)
  # An ipvlan reports no operstate (UNKNOWN); its flags say whether it is up with carrier.
  echo "$(echo "$j" | jget info_kind) $(echo "$j" | jget mode) $(echo "$j" | jget link_index)$(echo "$j" | jget link) $(echo "$j" | jget address)" \
    "$(echo "$j" | grep -q '"flags":\[[^]]*"UP","LOWER_UP"' && echo UP || echo DOWN)"
}
# addr_of NETNS: "address/prefixlen" of eth0 in NETNS.
addr_of() {
  echo "$(ipj "$1" addr show dev eth0 scope global | jget local)/$(ipj "$1" addr show dev eth0 scope global | jget prefixlen)"
}
only_lo() { eq "lo" "$(ipj "$1" link show | jget ifname 1)$(ipj "$1" link show | jget ifname 2)"; }
no_reservations() { [ -z "$(ls "$CASE_DIR/ipam/ivnet" 2>/dev/null | grep -v -e '^lock$' -e '^last_reserved_ip')" ]; }

for v in 0.2.0 0.4.0 1.1.0; do
  ctr=$(netns_add "v$(echo "$v" | tr -d .)")
  C=$(conf "$v" l2)
  t "$v ADD" cni ADD ipvlan "$ctr" eth0 "$C" || continue
  add=$(cat "$CNI_OUT")
  addr=$(echo "$add" | jget address)
  [ -n "$addr" ] || addr=$(echo "$add" | jget ip)          # 0.1.0/0.2.0: {"ip4": {"ip": …}}
  t "$v eth0 is an l2 ipvlan of m0 with its MAC, up" eq "ipvlan l2 $M0_INDEX $M0_MAC UP" "$(slave "$ctr")"
  t "$v eth0 holds the result's address" eq "$addr" "$(addr_of "$ctr")"
  t "$v default route via the gateway" eq "10.66.0.1" "$(ipj "$ctr" route show default | jget gateway)"
  t "$v arp_notify" eq 1 "$(in_ns "$ctr" cat /proc/sys/net/ipv4/conf/eth0/arp_notify)"
  case $v in 0.2.0) ;; *) t "$v CHECK" cni CHECK ipvlan "$ctr" eth0 "$(with_prev "$C" "$add")" ;; esac
  t "$v DEL" cni DEL ipvlan "$ctr" eth0 "$(with_prev "$C" "$add")"
  t "$v only lo left" only_lo "$ctr"
  t "$v reservation freed" no_reservations
  t "$v DEL again" cni DEL ipvlan "$ctr" eth0 "$(with_prev "$C" "$add")"
done

for mode in l2 l3 l3s; do
  a=$(netns_add "${mode}a")
  b=$(netns_add "${mode}b")
  C=$(conf 1.1.0 "$mode")
  CID=a t "$mode ADD a" cni ADD ipvlan "$a" eth0 "$C" || continue
  add_a=$(cat "$CNI_OUT")
  CID=b t "$mode ADD b" cni ADD ipvlan "$b" eth0 "$C" || continue
  t "$mode slave of m0" eq "ipvlan $mode $M0_INDEX $M0_MAC UP" "$(slave "$a")"
  ip_b=$(addr_of "$b")
  t "$mode a pings b (${ip_b%/*})" in_ns "$a" ping -c 1 -W 5 "${ip_b%/*}"
  ip_a=$(addr_of "$a")
  t "$mode b pings a (${ip_a%/*})" in_ns "$b" ping -c 1 -W 5 "${ip_a%/*}"
  CID=a t "$mode CHECK" cni CHECK ipvlan "$a" eth0 "$(with_prev "$C" "$add_a")"
  if [ "$mode" = l3s ]; then
    CID=a t "$mode CHECK as l2 fails naming both modes" fails cni CHECK ipvlan "$a" eth0 "$(with_prev "$(conf 1.1.0 l2)" "$add_a")"
    t "$mode CHECK's words" eq "Container IPVlan mode l3s does not match expected value: l2" "$(jget msg <"$CNI_OUT")"
  fi
  CID=a t "$mode DEL a" cni DEL ipvlan "$a" eth0 "$C"
  CID=b t "$mode DEL b" cni DEL ipvlan "$b" eth0 "$C"
  t "$mode nothing left in a" only_lo "$a"
  t "$mode nothing left in b" only_lo "$b"
done
unset CID
t "no reservation left after the modes" no_reservations

# Chained without ipam: the previous plugin's one interface (m0) is the master, its address and route are reused.
ctr=$(netns_add chained)
PREV='{"cniVersion":"1.0.0","interfaces":[{"name":"m0"}],"ips":[{"address":"10.66.1.9/24","gateway":"10.66.1.1","interface":0}],"routes":[{"dst":"10.88.0.0/16","gw":"10.66.1.1"}]}'
CBASE='{"cniVersion":"1.0.0","name":"ivchain","type":"ipvlan"}'
if t "chained ADD" cni ADD ipvlan "$ctr" eth0 "$(with_prev "$CBASE" "$PREV")"; then
  add=$(cat "$CNI_OUT")
  t "chained slave of prevResult's interface" eq "ipvlan l2 $M0_INDEX $M0_MAC UP" "$(slave "$ctr")"
  t "chained reuses prevResult's address" eq "10.66.1.9/24" "$(addr_of "$ctr")"
  t "chained reuses prevResult's route" eq "10.66.1.1" "$(ipj "$ctr" route show 10.88.0.0/16 | jget gateway)"
  t "chained result names only the ipvlan" eq "eth0 1" "$(echo "$add" | jget name) $(echo "$add" | jcount name)"
  t "chained CHECK" cni CHECK ipvlan "$ctr" eth0 "$(with_prev "$CBASE" "$add")"
  t "chained DEL" cni DEL ipvlan "$ctr" eth0 "$(with_prev "$CBASE" "$add")"
  t "chained nothing left" only_lo "$ctr"
fi

# linkInContainer: the master is a veth inside the container, named or found by the container's default route.
ctr=$(netns_add inctr)
CIP="/usr/sbin/ip -n $ctr"
$CIP link add c0 type veth peer name c0p
$CIP link set c0 up
$CIP link set c0p up
$CIP addr add 192.168.77.2/24 dev c0
$CIP route add default via 192.168.77.1 dev c0
C0_MAC=$(ipj "$ctr" link show c0 | jget address)
for master in '"master":"c0",' ''; do
  C='{"cniVersion":"1.0.0","name":"ivin","type":"ipvlan",'$master'"linkInContainer":true,"ipam":{"type":"host-local","subnet":"10.66.2.0/24","dataDir":"'$CASE_DIR'/ipam"}}'
  what=${master:+named}; what=${what:-default route}
  t "linkInContainer ($what) ADD" cni ADD ipvlan "$ctr" eth0 "$C" || continue
  add=$(cat "$CNI_OUT")
  t "linkInContainer ($what) slave of c0" eq "ipvlan l2 c0 $C0_MAC UP" "$(slave "$ctr")"
  [ -n "$master" ] && t "linkInContainer ($what) CHECK" cni CHECK ipvlan "$ctr" eth0 "$(with_prev "$C" "$add")"
  t "linkInContainer ($what) DEL" cni DEL ipvlan "$ctr" eth0 "$C"
  t "linkInContainer ($what) eth0 gone" eq 0 "$(ipj "$ctr" link show eth0 2>/dev/null | jcount ifname)"
done

# mtu: set below the master's, refused above it before anything is made.
ctr=$(netns_add mtu)
C=$(conf 1.1.0 l2 '"mtu":1400')
if t "mtu 1400 ADD" cni ADD ipvlan "$ctr" eth0 "$C"; then
  t "mtu 1400 set" eq 1400 "$(ipj "$ctr" link show eth0 | jget mtu)"
  t "mtu 1400 DEL" cni DEL ipvlan "$ctr" eth0 "$C"
fi
t "mtu 9000 refused" fails cni ADD ipvlan "$ctr" eth0 "$(conf 1.1.0 l2 '"mtu":9000')"
t "mtu 9000 code 7 with the master's MTU" eq "7 invalid MTU 9000, must be [0, master MTU(1500)]" "$(jget code <"$CNI_OUT") $(jget msg <"$CNI_OUT")"
t "mtu nothing left" only_lo "$ctr"

t "host links untouched" eq "lo m0p m0" "$(ipj "$HOSTNS" link show | jget ifname 1) $(ipj "$HOSTNS" link show | jget ifname 2) $(ipj "$HOSTNS" link show | jget ifname 3)"
t "no reservation left" no_reservations
