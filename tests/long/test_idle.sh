#!/bin/bash
# test_idle.sh: SSTP sessions idle for minutes, then active again. xlb has
# no idle timeout: a flow entry lives until the LRU table needs its room,
# and even then the ring's established-flow slots still name the backend.
# The farm of tests/e2e/scenarios_lib.sh; the idle sessions use its port
# 8443 (servers that never send Echo Requests, so not one packet crosses
# while a session is idle; the lab's port-443 servers send one after 10
# idle seconds, as a Windows server does after 60): 20 sessions of
# tests/tools/sstp_client.py to the IPv4 VIP (IPv6 backends, 4-in-6), 10 to
# the IPv6 VIP (IPv4 backends, 6-in-4), and one sstpc each. Meanwhile other
# users come and go on port 443 and xlbd probes every backend twice a second.
#
# Evidence: a capture of the idle connections: not one packet on the
# sstp_client.py sessions for the whole idle time, and on sstpc's only its
# own Hello (sstpc sends an Echo Request after 60 idle seconds, as [MS-SSTP]
# asks: a real SSTP session is never silent for longer); their flow entries,
# unchanged (same backend, same generation) after it; then an Echo Request
# answered on every session, a PPP round trip through each sstpc, and
# xlbctl flows showing the flows active again. (Connections are told apart
# by their whole address and port tuple: the client's kernel gives the same
# ports to the newcomers on port 443.)
#
#   IDLE_SECONDS=300 (default) tests/long/test_idle.sh     # make test-long runs it
set -u
cd "$(dirname "$0")/../.." || exit 1
source tests/lib/tap.sh
source tests/e2e/lib.sh
source tests/e2e/scenarios_lib.sh

e2e_requirements tcpdump || skip_all "$E2E_MISSING"
farm_requirements || skip_all "$FARM_ERR"
trap farm_cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

PREFIX=xi$$
IDLE=${IDLE_SECONDS:-300}
N46=20 N64=10
START=$SECONDS
e2e_tmp_init
TMP=$E2E_TMP

if ! farm_up "$PREFIX" 0; then
	[[ $FARM_ERR == "the lab could not be built"* ]] && skip_all "$FARM_ERR"
	bail_out "$FARM_ERR"
fi
cond 1 "farm up in $((SECONDS - START)) s: lab $PREFIX, every probed backend up"

# ---- the idle sessions --------------------------------------------------------------------

hc_start idle "$PORT2" 3600	# (no background echoes)
hc_cmd idle "open $LAB_VIP4 $N46"
L46=$HC_LINE
hc_cmd idle "open $LAB_VIP6 $N64"
L64=$HC_LINE
is "$(kv "$L46" ok)/$(kv "$L64" ok)" "$N46/$N64" \
	"$((N46 + N64)) sessions up: $SVC46 (4-in-6: ${L46#open }), $SVC64 (6-in-4: ${L64#open })" ||
	diag_hc idle
declare -A SC_KIND=([s46]=4-in-6 [s64]=6-in-4)
for name in s46 s64; do
	if [[ $name == s46 ]]; then host=$LAB_VIP4; else host=[$LAB_VIP6]; fi
	sstpc_start "$name" "$host" "$PORT2" >"$TMP/sstpc-start.out" 2>&1
	cond "$? == 0" "sstpc $name: $host port $PORT2 (${SC_KIND[$name]}) Call Connected, held by ${SC_BE[$name]:-?}" ||
		{ sed 's/^/#   /' "$TMP/sstpc-start.out"; diag_sstpc "$name"; }
done

read -ra idle_sc <<<"$(hc_conns idle | tr '\n' ' ')"	# sstp_client.py's
idle_sstpc=("${SC_CONN[s46]}" "${SC_CONN[s64]}")
conns=("${idle_sc[@]}" "${idle_sstpc[@]}")
sleep 0.5	# the openings' last ACKs
FLOWS0=$(flows_of "${conns[@]}")
filter=$(conn_filter "${conns[@]}")
cap_start "$TMP/idle.pcap" client eth0 "$filter"
CAP_IDLE=$CAP_PID
HELLO0=$(($(sstpc_hellos s46) + $(sstpc_hellos s64)))
XLBD_LOG_N=$(wc -l <"$LAB_XLBD_LOG")
T0=$SECONDS
diag "idle from now for $IDLE s: ${#conns[@]} connections (CLIENT,PORT,VIP,PORT; the last 2: sstpc): ${conns[*]}"

# ---- meanwhile: others come and go ------------------------------------------------------------

loop_start churn4 443 "$LAB_VIP4" 2
loop_start churn6 443 "$LAB_VIP6" 5
next=60
while ((SECONDS < T0 + IDLE)); do
	sleep 1
	if ((SECONDS - T0 >= next)); then
		diag "idle $((SECONDS - T0)) s: $(pcap_conn_count "$TMP/idle.pcap" "${idle_sc[@]}") packets on the sstp_client.py sessions, $(pcap_conn_count "$TMP/idle.pcap" "${idle_sstpc[@]}") on sstpc's; flow table $(flow_entries) entries; new sessions meanwhile (ok/failed): $(loop_count churn4) and $(loop_count churn6)"
		next=$((next + 60))
	fi
done
IDLE_S=$((SECONDS - T0))
cap_stop "$CAP_IDLE"
loop_stop churn4
loop_stop churn6

# ---- after --------------------------------------------------------------------------------

n=$(pcap_conn_count "$TMP/idle.pcap" "${idle_sc[@]}")
if ! is "$n" 0 "idle $IDLE_S s: not one packet on the ${#idle_sc[@]} sstp_client.py sessions"; then
	pcap_dump "$TMP/idle.pcap" | head -12 | sed 's/^/#   /'
	diag "xlbd meanwhile:"
	tail -n +$((XLBD_LOG_N + 1)) "$LAB_XLBD_LOG" | grep -v ' info: ' | head -20 | sed 's/^/#   /'
fi
# sstpc's Hello timer: an Echo Request after 60 idle seconds, answered (an
# SSTP session is never silent for long; the server's own timer is off here)
hello=$(($(sstpc_hellos s46) + $(sstpc_hellos s64) - HELLO0))
n=$(pcap_conn_count "$TMP/idle.pcap" "${idle_sstpc[@]}")
cond "$n <= 4 * $hello && $hello <= 2 * ($IDLE_S / 60 + 1)" \
	"idle $IDLE_S s: the 2 sstpc sessions carried only their own Hello: $hello Echo Requests (one per 60 idle s each), $n packets"
FLOWS1=$(flows_of "${conns[@]}")
same=0
[[ $FLOWS0 == "$FLOWS1" ]] && same=1
cond "$(grep -c none <<<"$FLOWS1") == 0 && $same == 1" \
	"after $IDLE_S s idle: the LB still holds all ${#conns[@]} flow entries, unchanged (backend id, generation)" ||
	{ diag "before: $(tr '\n' ';' <<<"$FLOWS0")"; diag "after: $(tr '\n' ';' <<<"$FLOWS1")"; }
c4=$(loop_count churn4)
c6=$(loop_count churn6)
cond "${c4#*/} == 0 && ${c6#*/} == 0 && ${c4%/*} > 0 && ${c6%/*} > 0" \
	"meanwhile on port 443: new sessions $c4 (ok/failed, $SVC4) and $c6 ($SVC6)"

hc_cmd idle check
is "$(kv "$HC_LINE" ok)/$(kv "$HC_LINE" fail)/$(kv "$HC_LINE" lost)" "$((N46 + N64))/0/0" \
	"after $IDLE_S s idle: all $((N46 + N64)) sessions answer an Echo Request (${HC_LINE#check })" ||
	diag_hc idle
for name in s46 s64; do
	sstpc_ping "$name" 2
	cond "$? == 0" "after $IDLE_S s idle: sstpc $name (${SC_KIND[$name]}) carries a PPP round trip ($SC_PING)" ||
		diag_sstpc "$name"
done
act=$(flows_active 5000 "${conns[@]}")
is "$act" "${#conns[@]}" "xlbctl flows: the ${#conns[@]} connections are active again (seen within 5 s)"
hc_stop idle
step "lab down" lab_down "$PREFIX"
diag "test_idle: $((SECONDS - START)) s"
done_testing
