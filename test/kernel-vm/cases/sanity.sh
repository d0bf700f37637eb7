# sanity: our existing plugins in the guest kernel, run as a runtime runs them; proves the harness end to end.
# loopback ADD/DEL; ptp + host-local ADD, ping container -> gateway, CHECK, DEL, DEL again, nothing left behind.
# modules: veth

ctr=$(netns_add ctr)
LO='{"cniVersion":"1.0.0","name":"lonet","type":"loopback"}'
PTP='{"cniVersion":"1.0.0","name":"ptpnet","type":"ptp","ipam":{"type":"host-local","subnet":"10.77.0.0/24","routes":[{"dst":"0.0.0.0/0"}],"dataDir":"'$CASE_DIR'/ipam"}}'

lo_up() { ipj "$ctr" link show lo | grep -q '"flags":\[[^]]*"UP"'; }
t "loopback ADD" cni ADD loopback "$ctr" lo "$LO"
t "lo is UP after ADD" lo_up
t "loopback DEL" cni DEL loopback "$ctr" lo "$LO"
t "lo is down after DEL" fails lo_up

t "ptp ADD" cni ADD ptp "$ctr" eth0 "$PTP" || return 0
add=$(cat "$CNI_OUT")
t "ADD result has the address" eq "10.77.0.2/24" "$(echo "$add" | jget address)"
t "ADD result has the gateway" eq "10.77.0.1" "$(echo "$add" | jget gateway)"
t "eth0 holds the address" eq "10.77.0.2 24" "$(ipj "$ctr" addr show dev eth0 | jget local) $(ipj "$ctr" addr show dev eth0 | jget prefixlen)"
t "default route via the gateway" eq "10.77.0.1" "$(ipj "$ctr" route show default | jget gateway)"
t "one veth on the host side" eq 1 "$(ipj "$HOSTNS" link show type veth | jcount ifname)"
t "host side holds the gateway" eq "10.77.0.1" "$(ipj "$HOSTNS" addr show type veth | jget local)"
t "host routes 10.77.0.2 to the veth" eq 1 "$(ipj "$HOSTNS" route show 10.77.0.2 | jcount dst)"
t "container pings the gateway" in_ns "$ctr" ping -c 1 -W 5 10.77.0.1
t "ptp CHECK" cni CHECK ptp "$ctr" eth0 "$(with_prev "$PTP" "$add")"
t "ptp DEL" cni DEL ptp "$ctr" eth0 "$(with_prev "$PTP" "$add")"
t "ptp DEL again" cni DEL ptp "$ctr" eth0 "$(with_prev "$PTP" "$add")"

t "no veth left on the host side" eq 0 "$(ipj "$HOSTNS" link show type veth | jcount ifname)"
t "no route left on the host side" eq "[]" "$(ipj "$HOSTNS" route show)"
t "only lo left in the container" eq "lo" "$(ipj "$ctr" link show | jget ifname 1)$(ipj "$ctr" link show | jget ifname 2)"
t "no reservation left in host-local" fails ls "$CASE_DIR/ipam/ptpnet/10.77.0.2"
