# shellcheck shell=bash disable=SC2034
# scenarios_lib.sh: the SSTP farm of tests/e2e/test_scenarios.sh and
# tests/long/test_idle.sh, and the clients that load it. Source it after
# tests/lib/tap.sh and tests/e2e/lib.sh:
#
#   farm_up "xs$$" 0 || skip_all "$FARM_ERR"   # lab, servers, xlbd, probes up
#   hc_start main 443 1; hc_cmd main "open $LAB_VIP4 90"; hc_cmd main check
#   sstpc_start s4 "$LAB_VIP4" 443; sstpc_ping s4 4
#   pcap_dump "$TMP/client.pcap" | awk ...
#
# The farm: scripts/xlb-lab up --control xlbd --service sstp --ports 443,8443
# (xlbd runs the LB; every backend runs the lab's sstp-server on port 443,
# which sends an Echo Request after 10 idle seconds), plus a second
# sstp-server per backend started here on port 8443 with its own echo
# interval (0: never, so a session there can be truly idle), then
# 'xlbctl syncconf' of the farm's desired state (farm_conf):
#
#   198.18.0.10:443/tcp      -> IPv4 backends   (4-in-4)   sstp probe, port 443
#   [2001:db8::10]:443/tcp   -> IPv6 backends   (6-in-6)   sstp probe, port 443
#   [2001:db8::10]:8443/tcp  -> IPv4 backends   (6-in-4)   sstp probe, port 8443
#   198.18.0.10:8443/tcp     -> IPv6 backends   (4-in-6)   sstp probe, port 8443
#   198.18.0.10:4500/udp, [2001:db8::10]:4500/udp (same family, no probe:
#   nothing listens; the path MTU checks only need the VIP)
#   dataplane.new_flow_limit = 2000 (per second per CPU)
#
# Sessions: tests/tools/sstp_client.py (many, scriptable; its 'hold' mode
# driven through a FIFO per client) and Debian's sstpc without pppd: its
# stdin, which it takes for pppd's pty, is a FIFO; the test stands in for
# pppd's sstp plugin on sstpc's callback socket (see
# tests/e2e/test_sstp_server.sh), and writes HDLC-framed PPP frames (LCP
# Echo-Requests) into the FIFO to make a session carry data: sstpc sends
# them as SSTP data packets, the server answers each with an LCP
# Echo-Reply, sstpc writes the reply back into the pty (the FIFO) and
# reads it again as if pppd had sent it, so the server counts two data
# packets per frame for a whole round trip.
#
# Everything is started by PID (E2E_PIDS) and stopped by PID; farm_cleanup
# (run it from the test's EXIT trap) also removes sstpc's callback sockets.

SC_CLIENT=$E2E_TOOLS/sstp_client.py
SSTP_SERVER=$E2E_BUILD/tests/tools/sstp-server
XLBCTL_BIN=$E2E_BUILD/bin/xlbctl
PORT2=8443		# the second SSTP port: this library's servers
UDP_PORT=4500
FARM_ERR=''
declare -A HC_PID=() HC_FD=()				# sstp_client.py hold, by name
declare -A SC_PID=() SC_HOST=() SC_PORT=() SC_LPORT=() SC_CONN=() SC_BE=()	# sstpc, by name
SRV2_PID=()		# index i: the port-8443 server of be$i
SC_SOCKS=()		# sstpc callback sockets to remove

# ---- the farm ------------------------------------------------------------------------

# farm_requirements: what the farm needs beyond e2e_requirements
farm_requirements() {
	local c
	for c in sstpc tcpdump trafgen ss nstat openssl; do
		if ! command -v "$c" >/dev/null; then
			FARM_ERR="'$c' not found (scripts/install-deps.sh)"
			return 1
		fi
	done
	for c in "$SSTP_SERVER" "$XLBCTL_BIN" "$E2E_BUILD/bin/xlbd" "$SC_CLIENT"; do
		if [[ ! -e $c ]]; then
			FARM_ERR="$c not found (run 'make')"
			return 1
		fi
	done
	if ! "$E2E_ROOT/scripts/xlb-lab" --help 2>/dev/null | grep -q -- '--service sstp'; then
		FARM_ERR="scripts/xlb-lab has no --control xlbd / --service sstp"
		return 1
	fi
}

# farm_up PREFIX ECHO2: the farm (see the top), ECHO2 the echo interval of
# the port-8443 servers; FARM_ERR says why on failure
farm_up() {
	local prefix=$1 echo2=$2 i
	e2e_tmp_init
	sc_tools_init
	if ! lab_up --prefix "$prefix" --backends 3 --control xlbd --service sstp \
		--ports "443,$PORT2" >"$E2E_TMP/lab-up.out" 2>&1; then
		FARM_ERR="the lab could not be built: $(grep -v 'up failed' "$E2E_TMP/lab-up.out" | tail -1)"
		return 1
	fi
	read -ra BE4 <<<"$LAB_BE4"
	read -ra BE6 <<<"$LAB_BE6"
	SVC4=$LAB_VIP4:443/tcp SVC6=[$LAB_VIP6]:443/tcp
	SVC64=[$LAB_VIP6]:$PORT2/tcp SVC46=$LAB_VIP4:$PORT2/tcp
	TCP_SVCS=("$SVC4" "$SVC6" "$SVC64" "$SVC46")
	FARM_ECHO2=$echo2
	for ((i = 1; i <= LAB_BACKENDS; i++)); do
		if ! srv2_start "$i"; then
			FARM_ERR="be$i: sstp-server on port $PORT2 did not start: $(tail -2 "$E2E_TMP/srv2-be$i.log")"
			return 1
		fi
	done
	farm_conf >"$E2E_TMP/farm.conf"
	if ! xc syncconf "$E2E_TMP/farm.conf" >"$E2E_TMP/sync.out" 2>&1; then
		FARM_ERR="xlbctl syncconf of the farm's config failed: $(tail -1 "$E2E_TMP/sync.out")"
		return 1
	fi
	if ! wait_healthy 30 >"$E2E_TMP/healthy.out"; then
		FARM_ERR="backends not up after 30 s: $(tr '\n' ';' <"$E2E_TMP/healthy.out")"
		return 1
	fi
}

farm_conf() {
	local probe="type = \"sstp\"; interval = 0.5; timeout = 0.4; rise = 2; fall = 2;"
	probe+=" host = \"$LAB_VIP_NAME\"; verify = true; ca_file = \"$LAB_CA\";"
	cat <<EOF
# the farm of tests/e2e/scenarios_lib.sh
dataplane = {
  source_v4 = "$LAB_LB4";
  source_v6 = "$LAB_LB6";
  flow_table_size = 65536;
  new_flow_limit = 2000;
};
vips = (
  { service = "$SVC4"; probe = { $probe port = 443; };
    backends = ( $(farm_bes "${BE4[@]}") ); },
  { service = "$SVC6"; probe = { $probe port = 443; };
    backends = ( $(farm_bes "${BE6[@]}") ); },
  { service = "$SVC64"; probe = { $probe port = $PORT2; };
    backends = ( $(farm_bes "${BE4[@]}") ); },
  { service = "$SVC46"; probe = { $probe port = $PORT2; };
    backends = ( $(farm_bes "${BE6[@]}") ); },
  { service = "$LAB_VIP4:$UDP_PORT/udp";
    backends = ( $(farm_bes "${BE4[@]}") ); },
  { service = "[$LAB_VIP6]:$UDP_PORT/udp";
    backends = ( $(farm_bes "${BE6[@]}") ); }
);
EOF
}

farm_bes() {	# ADDR...: libconfig backend entries
	local b out=''
	for b in "$@"; do out+="{ address = \"$b\"; }, "; done
	echo "${out%, }"
}

# farm_cleanup: e2e_cleanup, and sstpc's callback sockets
farm_cleanup() {
	local s
	e2e_cleanup
	for s in "${SC_SOCKS[@]}"; do
		rm -f "$s"
	done
	SC_SOCKS=()
}

# srv2_start I: be$I's port-8443 sstp-server (the lab's certificate);
# SRV2_PID[I]
srv2_start() {
	local i=$1 log=$E2E_TMP/srv2-be$1.log
	nsenter --net="/run/netns/$LAB_PREFIX-be$i" "$SSTP_SERVER" --name "be$i" \
		--listen "$LAB_VIP4:$PORT2" --listen "[$LAB_VIP6]:$PORT2" \
		--listen "${BE4[i - 1]}:$PORT2" --listen "[${BE6[i - 1]}]:$PORT2" \
		--cert "$LAB_SSTP_DIR/tls/vip.pem" --key "$LAB_SSTP_DIR/tls/vip.key" \
		--echo-interval "$FARM_ECHO2" --handshake-delay 20 --log "$log" >/dev/null 2>&1 &
	SRV2_PID[i]=$!
	E2E_PIDS+=("$!")
	# (the log is appended to: wait for this server's own line)
	wait_for "$log" " ready \\(pid ${SRV2_PID[i]}\\)" 10
}

srv2_stop() {	# I
	[[ -n ${SRV2_PID[$1]:-} ]] || return 0
	kill -TERM "${SRV2_PID[$1]}" 2>/dev/null
	wait "${SRV2_PID[$1]}" 2>/dev/null
	pid_forget "${SRV2_PID[$1]}"
	SRV2_PID[$1]=''
}

# pid_forget PID: drop a reaped PID from E2E_PIDS (never signal a recycled one)
pid_forget() {
	local keep=() p
	for p in "${E2E_PIDS[@]}"; do
		[[ $p == "$1" ]] || keep+=("$p")
	done
	E2E_PIDS=("${keep[@]}")
}

# srv_log_pid I PORT: "LOG PID" of the server on be$I's PORT
srv_log_pid() {
	local -a pids
	if [[ $2 == "$PORT2" ]]; then
		echo "$E2E_TMP/srv2-be$1.log ${SRV2_PID[$1]}"
	else
		read -ra pids <<<"$(lab_get LAB_SSTP_PIDS)"
		echo "$LAB_SSTP_DIR/sstp-be$1.log ${pids[$1 - 1]}"
	fi
}

# srv_stat I PORT COUNTER: the counter from a fresh SIGUSR1 stats line
srv_stat() {
	local log pid n i
	read -r log pid <<<"$(srv_log_pid "$1" "$2")"
	[[ $pid =~ ^[0-9]+$ ]] || { echo 0; return 1; }
	n=$(grep -c ' stats ' "$log")
	kill -USR1 "$pid" 2>/dev/null || { echo 0; return 1; }
	for ((i = 0; i < 50; i++)); do
		(($(grep -c ' stats ' "$log") > n)) && break
		sleep 0.1
	done
	grep ' stats ' "$log" | tail -1 | grep -oE " $3=[0-9]+" | cut -d= -f2
}

# lab_get VAR: a variable of 'xlb-lab env' as it is now (daemons' PIDs change)
lab_get() {
	"$XLB_LAB" env --prefix "$LAB_PREFIX" | sed -n "s/^$1=\"\{0,1\}\([^\"]*\)\"\{0,1\}\$/\1/p"
}

# ---- xlbd ---------------------------------------------------------------------------

xc() {
	"$XLBCTL_BIN" -s "$LAB_XLBD_SOCK" "$@"
}

# wait_healthy SECONDS: until every probed backend is up; prints those not
wait_healthy() {
	local i out=''
	for ((i = 0; i < $1 * 4; i++)); do
		out=$(xc --json show 2>/dev/null | xq '"\n".join("%s %s %s" % (v["service"], b["address"], b.get("health")) for v in d["vips"] for b in v["backends"] if "probe" in b and b.get("health") != "up")' 2>&1) &&
			[[ -z $out ]] && return 0
		sleep 0.25
	done
	echo "$out"
	return 1
}

# be_health ADDR4 ADDR6: "health/state" of that backend in each TCP VIP, one word each
be_health() {
	xc --json show | xq "' '.join('%s/%s' % (b.get('health'), b.get('state')) for v in d['vips'] if v['service'].endswith('/tcp') for b in v['backends'] if b['address'] in ('$1', '$2'))"
}

# reasons: the XDP program's reason counters as "name=N ..." (all of them)
reasons() {
	xc --json stats | xq "' '.join('%s=%d' % kv for kv in d['reasons'].items())"
}

# tcp_vip_packets: packets forwarded for the four TCP VIPs, summed
tcp_vip_packets() {
	xc --json stats | xq "sum(v['packets'] for v in d['vips'] if v['service'].endswith('/tcp'))"
}

flow_entries() {
	xc --json show | xq 'd["flow_entries"]'
}

# client_nstat NAME...: the client's kernel counters, without touching nstat's history
client_nstat() {
	local n out=''
	for n in "$@"; do
		out+="$(in_ns client nstat -asz "$n" | awk -v k="$n" '$1 == k { print $2 }') "
	done
	echo "${out% }"
}

# be_nstat NAME: a kernel counter summed over the backends
be_nstat() {
	local i n=0
	for ((i = 1; i <= LAB_BACKENDS; i++)); do
		n=$((n + $(in_ns "be$i" nstat -asz "$1" | awk -v k="$1" '$1 == k { print $2 }')))
	done
	echo "$n"
}

# link_drops NODE DEV rx|tx: the dropped counter of DEV in NODE's namespace
link_drops() {
	ip -n "$LAB_PREFIX-$1" -s -j link show dev "$2" | xq "d[0]['stats64']['$3']['dropped']"
}

# flows_active MS CONN...: how many of the connections 'xlbctl flows' lists
# as seen within the last MS milliseconds
flows_active() {
	local ms=$1
	shift
	xc --json flows --limit 50000 | python3 -c '
import json, sys
want, ms = set(sys.argv[1].split()), int(sys.argv[2])
def split(s):  # "[ADDR]:PORT" or "ADDR:PORT" -> "ADDR,PORT"
    a, _, p = s.rpartition(":")
    return a.strip("[]") + "," + p
print(sum(split(f["client"]) + "," + split(f["service"].rsplit("/", 1)[0]) in want
          and f["idle_ms"] < ms for f in json.load(sys.stdin)["flows"]))
' "$*" "$ms"
}

# ---- sstp_client.py hold, through a FIFO ----------------------------------------------

# hc_start NAME PORT INTERVAL: a hold client in the client's namespace
hc_start() {
	local name=$1 fd
	rm -f "$E2E_TMP/hc-$name.in"
	mkfifo "$E2E_TMP/hc-$name.in" || return 1
	nsenter --net="/run/netns/$LAB_PREFIX-client" python3 "$SC_CLIENT" hold --ca "$LAB_CA" \
		--port "$2" --interval "$3" <"$E2E_TMP/hc-$name.in" >"$E2E_TMP/hc-$name.out" \
		2>"$E2E_TMP/hc-$name.err" &
	HC_PID[$name]=$!
	E2E_PIDS+=("$!")
	exec {fd}>"$E2E_TMP/hc-$name.in"
	HC_FD[$name]=$fd
}

# hc_cmd NAME CMD [SECONDS]: its one-line answer in HC_LINE (fails on timeout)
hc_cmd() {
	local name=$1 out=$E2E_TMP/hc-$1.out n i
	n=$(wc -l <"$out")
	HC_LINE=''
	echo "$2" >&"${HC_FD[$name]}" || return 1
	for ((i = 0; i < ${3:-120} * 10; i++)); do
		if (($(wc -l <"$out") > n)); then
			HC_LINE=$(sed -n "$((n + 1))p" "$out")
			return 0
		fi
		sleep 0.1
	done
	return 1
}

hc_stop() {	# NAME: quit (Call Disconnect on every session), wait
	local name=$1 pid=${HC_PID[$1]:-} fd=${HC_FD[$1]:-} i
	[[ -n $pid ]] || return 0
	{ echo quit >&"$fd"; } 2>/dev/null
	exec {fd}>&-
	for ((i = 0; i < 300; i++)); do
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.1
	done
	kill -TERM "$pid" 2>/dev/null
	wait "$pid" 2>/dev/null
	pid_forget "$pid"
	HC_PID[$name]=''
}

# hc_conns NAME: its established connections, one word each:
# CLIENT,PORT,VIP,VIPPORT (addresses as ss and pcap.py print them)
hc_conns() {
	in_ns client ss -Htnp state established | grep "pid=${HC_PID[$1]}," | conn_words
}

# conn_words: ss lines on stdin -> CLIENT,PORT,VIP,VIPPORT words
conn_words() {
	awk '{ l = $3; r = $4; gsub(/[][]/, "", l); gsub(/[][]/, "", r)
	       i = match(l, /:[0-9]+$/); j = match(r, /:[0-9]+$/)
	       print substr(l, 1, i - 1) "," substr(l, i + 1) "," substr(r, 1, j - 1) "," substr(r, j + 1) }' | sort
}

# conn_filter CONN...: a capture filter that lets (at least) their packets through
conn_filter() {
	local c ports=()
	for c in "$@"; do
		IFS=, read -r _ p _ _ <<<"$c"
		ports+=("port $p")
	done
	echo "tcp and ($(printf '%s or ' "${ports[@]}" | sed 's/ or $//'))"
}

# pcap_conn_count FILE CONN...: packets of FILE that belong to one of the
# connections (either direction; a client port alone is not enough: the
# kernel may use it again towards another address or port)
pcap_conn_count() {
	local f=$1
	shift
	pcap_dump "$f" | awk -v conns=" $* " '$8 == "tcp" && (index(conns, " " $4 "," $5 "," $6 "," $7 " ") || index(conns, " " $6 "," $7 "," $4 "," $5 " "))' | wc -l
}

# flows_of CONN...: the LB's flow entry of each connection, a line each:
# "CONN BACKEND_ID GEN" or "CONN none"
flows_of() {
	"$DPCTL" -d "$LAB_PIN_DIR" flows list >"$E2E_TMP/flows.txt"
	awk -v conns="$*" 'BEGIN { n = split(conns, c, " ") }
		$1 == "tcp" && $4 == "->" { e[$2 "," $3 "," $5 "," $6] = $8 " " $10 }
		END { for (i = 1; i <= n; i++) print c[i], (c[i] in e ? e[c[i]] : "none") }' "$E2E_TMP/flows.txt"
}

diag_hc() {	# NAME: its last line and why sessions died
	diag "$1: $HC_LINE"
	tail -5 "$E2E_TMP/hc-$1.err" | sed 's/^/#   /'
}

# sc_once PORT ADDR N: N new sessions (a hold client that opens them and
# quits); the answer ("open ok=N fail=N be1=..") in SC_LINE
sc_once() {
	SC_LINE=$(printf 'open %s %s\nquit\n' "$2" "$3" | timeout 120 nsenter \
		--net="/run/netns/$LAB_PREFIX-client" python3 "$SC_CLIENT" hold --ca "$LAB_CA" \
		--port "$1" --interval 3600 2>>"$E2E_TMP/sc-once.err" | grep -m1 '^open ')
}

# loop_start NAME PORT ADDR [GAP]: new sessions, two at a time, one after
# the other (GAP seconds apart, default 0), until loop_stop; a line each
# ("open ok=2 fail=0 ...") and the marks in $E2E_TMP/loop-NAME.out
declare -A LOOP_PID=()
loop_start() {
	local name=$1 port=$2 addr=$3 gap=${4:-0}
	rm -f "$E2E_TMP/loop-$name.stop"
	: >"$E2E_TMP/loop-$name.out"
	(
		while [[ ! -e $E2E_TMP/loop-$name.stop ]]; do
			sc_once "$port" "$addr" 2
			echo "${SC_LINE:-open ok=0 fail=2 (no answer)}"
			sleep "$gap"
		done
	) >>"$E2E_TMP/loop-$name.out" 2>&1 &
	LOOP_PID[$name]=$!
	E2E_PIDS+=("$!")
}

loop_mark() {	# NAME MARK
	echo "mark $2" >>"$E2E_TMP/loop-$1.out"
}

loop_stop() {
	touch "$E2E_TMP/loop-$1.stop"
	wait "${LOOP_PID[$1]}" 2>/dev/null
	pid_forget "${LOOP_PID[$1]}"
}

# loop_count NAME [FROM TO]: "ok/failed" sessions of the loop (between marks)
loop_count() {
	local f=$E2E_TMP/loop-$1.out
	if [[ $# -ge 3 ]]; then
		sed -n "/^mark $2\$/,/^mark $3\$/p" "$f"
	else
		cat "$f"
	fi | awk '$1 == "open" { for (i = 2; i <= NF; i++) { split($i, a, "="); if (a[1] == "ok") o += a[2]; if (a[1] == "fail") f += a[2] } }
		END { print o + 0 "/" f + 0 }'
}

# ---- sstpc -----------------------------------------------------------------------------

# sstpc_start NAME HOST PORT: a real sstpc session (no pppd) to HOST:PORT
# (HOST: an IPv4 address or [IPv6]); up to Call Connected. SC_BE[NAME] is
# the backend that took it, SC_LPORT[NAME] its client port.
sstpc_start() {
	local name=$1 host=$2 port=$3 ipp=xs$$$1 pid target lport
	local fifo=$E2E_TMP/sstpc-$name.ppp log=$E2E_TMP/sstpc-$name.log
	target=$host
	[[ $port == 443 ]] || target=$host:$port
	rm -f "$fifo"
	mkfifo "$fifo" || return 1
	SC_SOCKS+=("/var/run/sstpc/sstpc-$ipp")
	# stdin is pppd's pty for sstpc --nolaunchpppd: a FIFO open read-write
	nsenter --net="/run/netns/$LAB_PREFIX-client" sstpc --log-stderr --log-level 4 \
		--ca-cert "$LAB_CA" --ipparam "$ipp" --nolaunchpppd "$target" \
		<>"$fifo" >"$log" 2>&1 &
	pid=$!
	SC_PID[$name]=$pid SC_HOST[$name]=$host SC_PORT[$name]=$port SC_BE[$name]='' SC_LPORT[$name]='' SC_CONN[$name]=''
	E2E_PIDS+=("$pid")
	# (a plugin report before the Call Connect Ack crashes sstpc 1.0.18)
	if ! wait_for "$log" 'Started PPP Link Negotiation' 15; then
		echo "sstpc $name: no Call Connect Ack: $(grep -av '^ ' "$log" | tail -3 | tr '\n' ' ')"
		return 1
	fi
	# pppd's sstp plugin's report: magic, length, type AUTH, the MPPE keys
	# (zero, as after PAP), host byte order as libsstp-api writes them
	if ! in_ns client python3 - "/var/run/sstpc/sstpc-$ipp" <<'EOF'
import socket, struct, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.settimeout(5)
s.connect(sys.argv[1])
keys = struct.pack("=HH", 1, 16) + bytes(16) + struct.pack("=HH", 2, 16) + bytes(16)
s.sendall(struct.pack("=IHH", 0x73737470, len(keys), 1) + keys)
s.recv(8)
EOF
	then
		echo "sstpc $name: its plugin socket did not take the report"
		return 1
	fi
	if ! wait_for "$log" 'Connection Established' 5; then
		echo "sstpc $name: no Call Connected: $(grep -av '^ ' "$log" | tail -3 | tr '\n' ' ')"
		return 1
	fi
	SC_CONN[$name]=$(in_ns client ss -Htnp state established | grep "pid=$pid," | conn_words | head -1)
	IFS=, read -r _ lport _ _ <<<"${SC_CONN[$name]}"
	SC_LPORT[$name]=$lport
	SC_BE[$name]=$(sstpc_backend "$name")
	[[ -n ${SC_BE[$name]} ]] || { echo "sstpc $name: no backend holds port ${SC_LPORT[$name]}"; return 1; }
}

# sstpc_backend NAME: the backend (be1..) with sstpc's connection established
sstpc_backend() {
	local i fam=-4
	[[ ${SC_HOST[$1]} == \[* ]] && fam=-6
	for ((i = 1; i <= LAB_BACKENDS; i++)); do
		if [[ -n $(in_ns "be$i" ss -Htn "$fam" state established \
			"( sport = :${SC_PORT[$1]} and dport = :${SC_LPORT[$1]} )" 2>/dev/null) ]]; then
			echo "be$i"
			return 0
		fi
	done
}

# sstpc_alive NAME: the process runs and its connection is established
sstpc_alive() {
	kill -0 "${SC_PID[$1]}" 2>/dev/null &&
		in_ns client ss -Htnp state established | grep -q "pid=${SC_PID[$1]},"
}

# sstpc_echoes NAME: Echo Requests of the server that sstpc answered
sstpc_echoes() {
	grep -ac 'Sending Echo-Reply Message' "$E2E_TMP/sstpc-$1.log"
}

# sstpc_hellos NAME: Echo Requests sstpc sent on its own ([MS-SSTP] Hello
# timer: after 60 idle seconds)
sstpc_hellos() {
	grep -ac 'Sending Echo-Request Message' "$E2E_TMP/sstpc-$1.log"
}

# sstpc_ping NAME K [SIZE]: K LCP Echo-Requests of SIZE data bytes (default
# 1400) into sstpc's pty; passes once the server has counted 2K more data
# packets (K frames and K replies that came back through sstpc) and K more
# PPP replies. SC_PING says what was seen.
sstpc_ping() {
	local name=$1 k=$2 size=${3:-1400} be i d0 r0 d r
	be=${SC_BE[$name]#be}
	d0=$(srv_stat "$be" "${SC_PORT[$name]}" data_packets)
	r0=$(srv_stat "$be" "${SC_PORT[$name]}" ppp_replies)
	python3 "$SC_TOOLS/hdlc.py" "$E2E_TMP/sstpc-$name.ppp" "$k" "$size" || return 1
	for ((i = 0; i < 20; i++)); do
		sleep 0.25
		d=$(srv_stat "$be" "${SC_PORT[$name]}" data_packets)
		r=$(srv_stat "$be" "${SC_PORT[$name]}" ppp_replies)
		((d >= d0 + 2 * k && r >= r0 + k)) && break
	done
	SC_PING="be$be: data packets +$((d - d0)), PPP replies +$((r - r0)) for $k frames"
	((d >= d0 + 2 * k && r >= r0 + k))
}

diag_sstpc() {	# NAME
	diag "sstpc $1 (pid ${SC_PID[$1]}, ${SC_HOST[$1]} port ${SC_PORT[$1]}, ${SC_BE[$1]:-?}):"
	grep -av '^ ' "$E2E_TMP/sstpc-$1.log" | grep -a sstpc | tail -4 | sed 's/^/#   /'
}

# ---- tools: HDLC frames and pcap reading ---------------------------------------------------

# sc_tools_init: SC_TOOLS/hdlc.py and SC_TOOLS/pcap.py
sc_tools_init() {
	SC_TOOLS=$E2E_TMP/tools
	mkdir -p "$SC_TOOLS"
	cat >"$SC_TOOLS/hdlc.py" <<'EOF'
"""hdlc.py FIFO K SIZE: K PPP LCP Echo-Requests of SIZE data bytes, framed
as pppd writes them on its pty (RFC 1662: flags, escapes, FCS-16)."""
import os, struct, sys

def fcs16(data):
    fcs = 0xffff
    for b in data:
        fcs ^= b
        for _ in range(8):
            fcs = (fcs >> 1) ^ 0x8408 if fcs & 1 else fcs >> 1
    return fcs ^ 0xffff

def escape(b):
    out = bytearray()
    for x in b:
        if x in (0x7e, 0x7d) or x < 0x20:
            out += bytes((0x7d, x ^ 0x20))
        else:
            out.append(x)
    return bytes(out)

k, size = int(sys.argv[2]), int(sys.argv[3])
out = b""
for i in range(k):
    lcp = struct.pack("!BBH", 9, i & 0xff, 8 + size) + bytes(4) + bytes([0x41 + i % 26]) * size
    ppp = b"\xff\x03\xc0\x21" + lcp
    out += b"\x7e" + escape(ppp + struct.pack("<H", fcs16(ppp))) + b"\x7e"
fd = os.open(sys.argv[1], os.O_WRONLY)
os.write(fd, out)
os.close(fd)
EOF
	cat >"$SC_TOOLS/pcap.py" <<'EOF'
"""pcap.py FILE: one line per Ethernet frame of a pcap file, whitespace-separated:
  OUTER OLEN FAM SRC SPORT DST DPORT PROTO FLAGS LEN MSS ICMP
OUTER: 4/6 for IP-in-IP (OLEN its total length), else '-'; then the (inner)
packet: family, addresses, ports, tcp/udp/icmp/..., TCP flags (FSRPA letters),
IP total length, the SYN's MSS option; ICMP: TYPE/CODE/MTU/QUOTED_PROTO/
QUOTED_SPORT/QUOTED_DPORT for frag-needed and packet-too-big, else '-'."""
import ipaddress, struct, sys

def ip(b):
    return str(ipaddress.ip_address(b))

def l4(proto, b):
    """(proto name, sport, dport, flags, mss)"""
    if proto == 6 and len(b) >= 14:
        sport, dport = struct.unpack("!HH", b[:4])
        fl = "".join(c for c, m in zip("FSRPA", (1, 2, 4, 8, 16)) if b[13] & m) or "."
        mss = "-"
        doff = (b[12] >> 4) * 4
        i = 20
        while i < min(doff, len(b)):
            k = b[i]
            if k == 0:
                break
            if k == 1:
                i += 1
                continue
            if i + 1 >= len(b) or b[i + 1] < 2:
                break
            if k == 2 and i + 4 <= len(b):
                mss = str(struct.unpack("!H", b[i + 2:i + 4])[0])
            i += b[i + 1]
        return "tcp", sport, dport, fl, mss
    if proto == 17 and len(b) >= 4:
        sport, dport = struct.unpack("!HH", b[:4])
        return "udp", sport, dport, "-", "-"
    return {1: "icmp", 58: "icmp6"}.get(proto, str(proto)), 0, 0, "-", "-"

def quoted(fam, b):
    if fam == 4 and len(b) >= 20:
        ihl = (b[0] & 15) * 4
        p, sp, dp, _, _ = l4(b[9], b[ihl:])
    elif fam == 6 and len(b) >= 40:
        p, sp, dp, _, _ = l4(b[6], b[40:])
    else:
        return "?/?/?"
    return f"{p}/{sp}/{dp}"

def packet(fam, b, outer, olen):
    if fam == 4:
        ihl = (b[0] & 15) * 4
        total, proto, src, dst = struct.unpack("!H", b[2:4])[0], b[9], b[12:16], b[16:20]
        body = b[ihl:]
    else:
        total, proto, src, dst = 40 + struct.unpack("!H", b[4:6])[0], b[6], b[8:24], b[24:40]
        body = b[40:]
    if outer == "-" and proto in (4, 41):
        return packet(4 if proto == 4 else 6, body, str(fam), total)
    p, sp, dp, fl, mss = l4(proto, body)
    icmp = "-"
    if proto == 1 and len(body) >= 8 and body[0] == 3 and body[1] == 4:
        icmp = f"3/4/{struct.unpack('!H', body[6:8])[0]}/{quoted(4, body[8:])}"
    elif proto == 58 and len(body) >= 8 and body[0] == 2:
        icmp = f"2/0/{struct.unpack('!I', body[4:8])[0]}/{quoted(6, body[8:])}"
    elif proto in (1, 58) and len(body) >= 2:
        icmp = f"{body[0]}/{body[1]}"
    return f"{outer} {olen} {fam} {ip(src)} {sp} {ip(dst)} {dp} {p} {fl} {total} {mss} {icmp}"

with open(sys.argv[1], "rb") as f:
    data = f.read()
little = data[:4] == b"\xd4\xc3\xb2\xa1"
e = "<" if little else ">"
off = 24
while off + 16 <= len(data):
    _, _, caplen, _ = struct.unpack(e + "IIII", data[off:off + 16])
    frame = data[off + 16:off + 16 + caplen]
    off += 16 + caplen
    if len(frame) < 14:
        continue
    et, b = struct.unpack("!H", frame[12:14])[0], frame[14:]
    if et == 0x8100 and len(b) >= 4:
        et, b = struct.unpack("!H", b[2:4])[0], b[4:]
    try:
        if et == 0x0800 and len(b) >= 20:
            print(packet(4, b, "-", "-"))
        elif et == 0x86DD and len(b) >= 40:
            print(packet(6, b, "-", "-"))
    except (IndexError, struct.error, ValueError):
        print("- - ? ? 0 ? 0 truncated - 0 - -")
EOF
}

# pcap_dump FILE: pcap.py's lines
pcap_dump() {
	python3 "$SC_TOOLS/pcap.py" "$1"
}
