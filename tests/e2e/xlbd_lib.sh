# shellcheck shell=bash disable=SC2034
# xlbd_lib.sh: the control plane in a namespace lab. xlbd runs in the LB's
# network namespace of a lab made with 'xlb-lab up --attach none' and owns
# the LB's XDP program; xlbctl talks to it over its socket (a file: no
# namespace needed). Source it after tests/e2e/lib.sh, once the lab is up:
#
#   xlbd_setup "$E2E_TMP/xlbd"          # paths, a config for the lab's VIPs
#   xlbd_start || bail_out "xlbd did not start"
#   xc vip add 198.18.0.11:443/tcp      # xlbctl -s SOCKET ...
#   xc --json show | xq 'd["gateway"]["mac"]'
#
# xlbd is started and stopped by PID; e2e_cleanup stops whatever still runs.

XLBD=$E2E_BUILD/bin/xlbd
XLBCTL=$E2E_BUILD/bin/xlbctl
XLBD_PID=''
XLBD_RC=''		# exit status of the last xlbd that stopped
XLBD_WINDOW=3		# daemon.flow_window of the lab's config: short, so
			# closed connections stop counting as active quickly

# pid_forget PID: drop PID from E2E_PIDS once it has been reaped, so the
# cleanup never signals a recycled PID.
pid_forget() {
	local keep=() p
	for p in "${E2E_PIDS[@]}"; do
		[[ $p == "$1" ]] || keep+=("$p")
	done
	E2E_PIDS=("${keep[@]}")
}

# xlbd_setup DIR: XLBD_DIR, XLBD_CONF, XLBD_SOCK, XLBD_STATE, XLBD_LOG;
# writes XLBD_CONF: one TCP VIP per family on port 80 with the lab's
# backends, as xlb-lab's own configuration would have them.
xlbd_setup() {
	XLBD_DIR=$1
	mkdir -p "$XLBD_DIR/run" "$XLBD_DIR/lib"
	XLBD_CONF=$XLBD_DIR/xlb.conf
	XLBD_SOCK=$XLBD_DIR/run/xlbd.sock
	XLBD_STATE=$XLBD_DIR/lib/state.conf
	XLBD_LOG=$XLBD_DIR/xlbd.log
	XLBD_PIN=/sys/fs/bpf/xlb-lab/$LAB_PREFIX/lb	# 'xlb-lab down' removes it
	XLBD_METRICS=127.0.0.1:9642			# in the LB's namespace
	SVC4=$LAB_VIP4:80/tcp
	SVC6=[$LAB_VIP6]:80/tcp
	read -ra BE4 <<<"$LAB_BE4"
	read -ra BE6 <<<"$LAB_BE6"
	xlbd_conf_text >"$XLBD_CONF"
}

xlbd_conf_text() {
	local b
	cat <<EOF
# xlbd for lab $LAB_PREFIX (tests/e2e/xlbd_lib.sh)
daemon = {
  interfaces = [ "$LAB_LB_DEV" ];
  pin_dir    = "$XLBD_PIN";
  bpf_object = "$E2E_BUILD/bpf/xlb.bpf.o";
  socket     = "$XLBD_SOCK";
  state_file = "$XLBD_STATE";
  metrics    = "$XLBD_METRICS";
  flow_window = $XLBD_WINDOW;
};
dataplane = {
  source_v4 = "$LAB_LB4";
  source_v6 = "$LAB_LB6";
  flow_table_size = 65536;
};
vips = (
  { service = "$SVC4";
    backends = (
EOF
	for b in "${BE4[@]}"; do echo "      { address = \"$b\"; },"; done | sed '$ s/,$//'
	cat <<EOF
    ); },
  { service = "$SVC6";
    backends = (
EOF
	for b in "${BE6[@]}"; do echo "      { address = \"$b\"; },"; done | sed '$ s/,$//'
	cat <<EOF
    ); }
);
EOF
}

# xc ARGS...: xlbctl on the lab's xlbd
xc() {
	"$XLBCTL" -s "$XLBD_SOCK" "$@"
}

# xlbd_start [ARGS...]: xlbd -c XLBD_CONF -f in the LB's namespace, its
# output appended to XLBD_LOG; waits until it answers on its socket (10 s).
# Fails (XLBD_RC set) if it exits first.
xlbd_start() {
	local i
	echo "---- xlbd start $*" >>"$XLBD_LOG"
	nsenter --net="/run/netns/$LAB_PREFIX-lb" "$XLBD" -c "$XLBD_CONF" -f "$@" \
		>>"$XLBD_LOG" 2>&1 &
	XLBD_PID=$!
	E2E_PIDS+=("$XLBD_PID")
	for ((i = 0; i < 100; i++)); do
		if ! kill -0 "$XLBD_PID" 2>/dev/null; then
			wait "$XLBD_PID"
			XLBD_RC=$?
			pid_forget "$XLBD_PID"
			XLBD_PID=''
			return 1
		fi
		xc --json show >/dev/null 2>&1 && return 0
		sleep 0.1
	done
	return 1
}

# xlbd_stop [SIGNAL]: signal xlbd (TERM by default), wait for it; its exit
# status in XLBD_RC. Fails if it takes more than 10 s.
xlbd_stop() {
	# (stderr off: bash would report a killed job as "Killed")
	_xlbd_stop "${1:-TERM}" 2>/dev/null
}

_xlbd_stop() {
	local sig=$1 i
	[[ -n $XLBD_PID ]] || return 0
	kill "-$sig" "$XLBD_PID"
	for ((i = 0; i < 100; i++)); do
		kill -0 "$XLBD_PID" || break
		sleep 0.1
	done
	if kill -0 "$XLBD_PID"; then
		echo "xlbd $XLBD_PID did not stop on SIG$sig"
		return 1
	fi
	wait "$XLBD_PID"
	XLBD_RC=$?
	pid_forget "$XLBD_PID"
	XLBD_PID=''
}

# xlbd_run_once ARGS...: xlbd in the LB's namespace in the foreground (for
# runs that must fail at start), at most 10 s; output in XLBD_OUT, status
# in XLBD_RC.
xlbd_run_once() {
	XLBD_OUT=$(timeout 10 nsenter --net="/run/netns/$LAB_PREFIX-lb" "$XLBD" "$@" 2>&1)
	XLBD_RC=$?
}

# The XDP program's id on the LB's interface, or 0.
lb_prog_id() {
	local id
	id=$(ip -n "$LAB_PREFIX-lb" link show dev "$LAB_LB_DEV" |
	     awk '$1 == "prog/xdp" && $2 == "id" { print $3 }')
	echo "${id:-0}"
}

diag_xlbd() {
	diag "xlbd log (last 15 lines of $XLBD_LOG):"
	tail -15 "$XLBD_LOG" | sed 's/^/#   /'
}

# ---- traffic ----------------------------------------------------------------------

# once ADDR PORT N: N connections from the client; the summary line in
# ONCE_LINE ("total ok=N fail=N be1=..").
once() {
	# (bounded: a broken data plane costs a 3 s timeout per connection)
	ONCE_LINE=$(timeout 30 nsenter --net="/run/netns/$LAB_PREFIX-client" python3 \
		    "$E2E_TOOLS/lab_client.py" once "$1" "$2" -n "$3" 2>&1 | grep '^total ' | tail -1)
}

# new_conns N4 N6: new connections to both VIPs; NEW_OK, NEW_FAIL and
# NEW_BE2 (answered by be2) summed, NEW_LINE for messages
new_conns() {
	local t4 t6
	once "$LAB_VIP4" 80 "$1"
	t4=$ONCE_LINE
	once "$LAB_VIP6" 80 "$2"
	t6=$ONCE_LINE
	NEW_OK=$(($(kv "$t4" ok) + $(kv "$t6" ok)))
	NEW_FAIL=$(($(kv "$t4" fail) + $(kv "$t6" fail)))
	NEW_BE2=$(($(kv "$t4" be2) + $(kv "$t6" be2)))
	NEW_LINE="v4: ${t4:-nothing}; v6: ${t6:-nothing}"
}

# hold_open TARGET... [--interval S]: lab_client.py hold in the client's
# namespace as a coprocess; its first line ("open ok=N ...") in HOLD_LINE.
hold_open() {
	coproc HOLD { exec nsenter --net="/run/netns/$LAB_PREFIX-client" python3 \
		"$E2E_TOOLS/lab_client.py" hold "$@" 2>"$E2E_TMP/hold.err"; }
	HOLD_PID_SAVED=$HOLD_PID
	E2E_PIDS+=("$HOLD_PID")
	HOLD_LINE=''
	read -r -t 60 HOLD_LINE <&"${HOLD[0]}"
}

# hold_cmd CMD: send CMD to the coprocess, its answer in HOLD_LINE
hold_cmd() {
	HOLD_LINE=''
	echo "$1" >&"${HOLD[1]}" || return 1
	read -r -t 120 HOLD_LINE <&"${HOLD[0]}"
}

# "ok/fail/moved/periodic_fail" of the last check
hold_summary() {
	echo "$(kv "$HOLD_LINE" ok)/$(kv "$HOLD_LINE" fail)/$(kv "$HOLD_LINE" moved)/$(kv "$HOLD_LINE" periodic_fail)"
}

hold_close() {
	{ echo quit >&"${HOLD[1]}"; } 2>/dev/null
	wait "$HOLD_PID_SAVED" 2>/dev/null
	pid_forget "$HOLD_PID_SAVED"
}

diag_hold() {
	diag "hold client: $HOLD_LINE"
	tail -5 "$E2E_TMP/hold.err" | sed 's/^/#   /'
}

# nstat_get NAME...: absolute values of the client's kernel counters, one
# per NAME, without touching nstat's history file
nstat_get() {
	local n out=''
	for n in "$@"; do
		out+="$(in_ns client nstat -asz "$n" | awk -v k="$n" '$1 == k { print $2 }') "
	done
	echo "${out% }"
}
