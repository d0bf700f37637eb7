# kinds: the link kinds and bridge features the build machines' kernel lacks exist in the guest kernel, made with
# iproute2 itself; later cases that run our ipvlan/vlan/dummy/vrf/bridge-vlan plugins rely on these probes.
# modules: ipvlan 8021q dummy vrf bridge

ns=$(netns_add kinds)
IP="/usr/sbin/ip -n $ns"
kind_of() { ipj "$ns" -d link show "$1" | jget info_kind; }

t "veth master" $IP link add m0 type veth peer name m0p
$IP link set m0 up
$IP link set m0p up                       # ipvlan slaves inherit the master's carrier

for mode in l2 l3 l3s; do
  t "ipvlan $mode" $IP link add "ipv$mode" link m0 type ipvlan mode "$mode" &&
    t "ipvlan $mode reads back" eq "ipvlan $mode" "$(kind_of "ipv$mode") $(ipj "$ns" -d link show "ipv$mode" | jget mode)"
done

t "vlan id 100" $IP link add link m0 name m0.100 type vlan id 100 &&
  t "vlan reads back" eq "vlan 802.1Q 100" \
    "$(kind_of m0.100) $(ipj "$ns" -d link show m0.100 | jget protocol) $(ipj "$ns" -d link show m0.100 | jget id)"

t "dummy" $IP link add d0 type dummy &&
  t "dummy reads back" eq dummy "$(kind_of d0)"

t "vrf table 10" $IP link add vrf10 type vrf table 10 &&
  t "vrf reads back" eq "vrf 10" "$(kind_of vrf10) $(ipj "$ns" -d link show vrf10 | jget table)"
$IP link set vrf10 up
t "vrf member" $IP link set d0 master vrf10
t "vrf lists its member" eq d0 "$(ipj "$ns" link show master vrf10 | jget ifname)"
$IP link set d0 up
$IP addr add 10.99.0.1/24 dev d0
t "route show vrf" eq "10.99.0.0/24" "$(ipj "$ns" route show vrf vrf10 | jget dst)"

t "bridge vlan_filtering 1" $IP link add br0 type bridge vlan_filtering 1 &&
  t "vlan_filtering reads back" eq "1 1" \
    "$(ipj "$ns" -d link show br0 | jget vlan_filtering) $(in_ns "$ns" cat /sys/class/net/br0/bridge/vlan_filtering)"
$IP link add p0 type veth peer name p0p
t "bridge port" $IP link set p0 master br0
t "bridge vlan add pvid untagged" /usr/sbin/bridge -n "$ns" vlan add dev p0 vid 100 pvid untagged
vlan_100() { /usr/sbin/bridge -n "$ns" -j vlan show dev p0 | grep -o '{"vlan":100,"flags":\[[^]]*\]}'; }
t "bridge vlan reads back" eq '{"vlan":100,"flags":["PVID","Egress Untagged"]}' "$(vlan_100)"
