#!/bin/bash
# test_demo.sh: scripts/demo.sh, the README's first command, tells its story
# right. Runs 'demo.sh --quick' in a lab of its own and checks the story's
# key numbers from its --summary file:
#
#   - every session opens and answers echoes; each backend gets a fair part;
#     the backends (ss) and the LB's flow table see every one of them
#   - DSR: every packet for the VIP is forwarded once (capture = xlbctl
#     stats), and not one reply passes through the LB
#   - drain: sessions on the drained backend keep answering, no new one
#     goes there, its active flows fall to 0 as they close, none is lost
#   - a dead SSTP server: the probe marks it down, new sessions avoid it,
#     only its own sessions end
#   - xlbd killed with SIGKILL: no session lost, new ones open while it is
#     dead, the restarted xlbd keeps the running program
#
# and that the demo leaves nothing behind, also when interrupted (SIGINT
# while its sessions are up).
set -u
cd "$(dirname "$0")/../.." || exit 1
source tests/lib/tap.sh
source tests/e2e/lib.sh

e2e_requirements tcpdump openssl setsid ss timeout || skip_all "$E2E_MISSING"
for f in "$E2E_BUILD/bin/xlbd" "$E2E_BUILD/bin/xlbctl" "$E2E_BUILD/tests/tools/sstp-server"; do
	[[ -x $f ]] || skip_all "$f not built (run 'make')"
done
e2e_traps
e2e_tmp_init
TMP=$E2E_TMP
PREFIX=xdt$$
E2E_LABS+=("$PREFIX")		# e2e_cleanup takes it down if the demo did not

# leftovers PREFIX: what a lab PREFIX left behind, one word each (empty: nothing)
leftovers() {
	local p=$1 pid
	ip netns list 2>/dev/null | grep -q "^$p-" && echo namespaces
	[[ -e /run/xlb-lab/$p ]] && echo "/run/xlb-lab/$p"
	[[ -e /sys/fs/bpf/xlb-lab/$p ]] && echo "/sys/fs/bpf/xlb-lab/$p"
	for pid in $(pgrep -f "/run/xlb-lab/$p/" 2>/dev/null); do
		echo "process-$pid"
	done
}

# ---- the demo, start to end ------------------------------------------------------------

t0=$SECONDS
timeout --kill-after=10 170 scripts/demo.sh --quick --prefix "$PREFIX" \
	--summary "$TMP/summary" --logs "$TMP/logs" >"$TMP/demo.out" 2>&1
rc=$?
secs=$((SECONDS - t0))
if ! is "$rc" 0 "demo.sh --quick runs to the end and says all went as expected (${secs}s)"; then
	grep -E '^(===|  !!|[a-z.]+: )' "$TMP/demo.out" | sed 's/^/#   /'
	tail -15 "$TMP/demo.out" | sed 's/^/#   /'
	KEEP_LOGS=$E2E_BUILD/test-logs/demo-$PREFIX
	mkdir -p "$KEEP_LOGS" && cp "$TMP/demo.out" "$TMP"/logs/* "$KEEP_LOGS/" 2>/dev/null
	diag "the demo's output and logs: $KEEP_LOGS"
fi
cond "$secs < 150" "... in less than two and a half minutes (${secs}s)"
[[ -f $TMP/summary ]] || bail_out "no summary written ($TMP/summary)"

declare -A S=()
while IFS='=' read -r k v; do
	S[$k]=$v
done <"$TMP/summary"
v() { echo "${S[$1]:-MISSING}"; }

is "$(v result)" ok "the summary says ok"
is "$(grep -c '^=== [0-6]\. ' "$TMP/demo.out")/$(grep -c '^=== In numbers' "$TMP/demo.out")" 7/1 \
	"the story has its seven parts and the numbers at the end"

# 1. spread
n=$(v sessions)
is "$(v open_fail)/$(v echo_ok)" "0/$n" "all $n sessions open and answer an echo"
IFS=, read -ra parts <<<"$(v spread)"
total=0 fair=1
for p in "${parts[@]}"; do
	c=${p#*:}
	total=$((total + c))
	((c * 6 >= n)) || fair=0
done
cond "${#parts[@]} == 3 && $total == $n && $fair == 1" \
	"spread over the three backends, each at least half its fair part ($(v spread))"
is "$(v backend_tcp)/$(v lb_active_flows)" "$n/$n" \
	"the backends' TCP (ss) and the LB's active flows count every session"

# 2. DSR
cond "$(v dsr_forwarded) > 0 && $(v dsr_forwarded) == $(v dsr_to_lb) && $(v dsr_stats_delta) == $(v dsr_forwarded)" \
	"DSR: every packet to the VIP forwarded once, capture and xlbctl stats agree ($(v dsr_forwarded))"
is "$(v dsr_replies_via_lb)" 0 "DSR: no reply passes through the LB"
cond "$(v dsr_replies_from_backends) > 0 && $(v dsr_replies_to_client) == $(v dsr_replies_from_backends)" \
	"DSR: the replies go from the backends to the client ($(v dsr_replies_from_backends))"

# 3. drain
cond "$(v drain_sessions) > 0 && $(v drain_echo_fail) == 0" \
	"drain: the $(v drain_sessions) sessions on the drained backend keep answering"
cond "$(v drain_new) > 0 && $(v drain_new_on_drained) == 0" "drain: new sessions avoid it"
is "$(v drain_active_start)/$(v drain_active_end)" "$(v drain_sessions)/0" \
	"drain: its active flows fall from $(v drain_sessions) to 0 as they close"
is "$(v drain_lost)" 0 "drain: no session lost"

# 4. a dead backend
is "$(v fail_health)" down "failure: the probe marks the dead backend down ($(v fail_down_secs)s)"
is "$(v fail_new_on_failed)/$(v fail_new_fail)" 0/0 "failure: new sessions avoid it, none fails"
is "$(v fail_lost)" "$(v fail_sessions)" "failure: only its own sessions end"

# 5. xlbd killed
is "$(v restart_lost)" 0 "kill -9 xlbd: no session lost"
is "$(v restart_dead_echo_ok)/$(v restart_dead_new_fail)" "$(v restart_alive_before)/0" \
	"kill -9 xlbd: while it is dead every session answers and new ones open"
cond "$(v restart_echoes_after) > $(v restart_echoes_before) && $(v restart_prog_same) == 1" \
	"kill -9 xlbd: echoes go on, the restarted xlbd keeps the program"

# a real client
if command -v sstpc >/dev/null; then
	is "$(v sstpc)" ok "sstpc, a real SSTP client, connects through the VIP ($(v sstpc_backend))"
	cond "$(v sstpc_alive_end) == 1 && $(v sstpc_server_echoes) >= 1 && $(v sstpc_echo_answers) >= $(v sstpc_server_echoes)" \
		"sstpc's one call lives to the end, answering its server's echoes ($(v sstpc_echo_answers)/$(v sstpc_server_echoes))"
else
	skip "sstpc not installed (Debian sstp-client): no real-client session"
	skip "sstpc not installed"
fi

is "$(leftovers "$PREFIX" | tr '\n' ' ')" "" "nothing left behind: namespaces, state, pins, processes"

# ---- interrupted -------------------------------------------------------------------------

# SIGINT as Ctrl-C sends it (env: a background job would ignore it)
P2=xdi$$
E2E_LABS+=("$P2")
env --default-signal=INT scripts/demo.sh --quick --prefix "$P2" >"$TMP/int.out" 2>&1 &
pid=$!
E2E_PIDS+=("$pid")
wait_for "$TMP/int.out" '^=== 2\. ' 90
kill -INT "$pid" 2>/dev/null
wait "$pid"
rc=$?
E2E_PIDS=()	# (reaped: never signal its PID again)
is "$rc" 130 "interrupted (SIGINT) with its sessions up: the demo stops, status 130" ||
	tail -5 "$TMP/int.out" | sed 's/^/#   /'
is "$(leftovers "$P2" | tr '\n' ' ')" "" "... and leaves nothing behind"

done_testing
