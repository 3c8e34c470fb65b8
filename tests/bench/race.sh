#!/bin/bash
# race.sh: xlb against HAProxy and NGINX, in one namespace lab, with the same
# client, the same backends and the same run; figures to stdout and
# $BUILD/bench/race.txt (every round's raw figures: race-raw.txt beside it).
# Needs root; run by tests/bench/run.sh (make bench), or alone:
#
#   tests/bench/race.sh                     # ~6 minutes
#   RACE_ROUNDS=3 RACE_BULK_ROUNDS=2 RACE_CPS_SECS=3 tests/bench/race.sh
#
# Settings (environment): RACE_ROUNDS (7) and RACE_BULK_ROUNDS (5) rounds,
# RACE_CPS_SECS (5) and RACE_BULK_SECS (3) seconds a run, RACE_CONC (32)
# connections in flight, RACE_STREAMS (4) iperf3 streams, RACE_CONTESTANTS
# ("direct xlb haproxy nginx"), RACE_KEEP=1 keeps the configurations and
# logs (in /tmp/xlb-race.*).
#
# The lab is scripts/xlb-lab (prefix xr<pid>, 3 backends, XDP attached with
# libxdp). The contestants, all on TCP 443 with TLS passed through to the
# backends, as operators run them in front of an SSTP farm:
#
#   direct   no load balancer: the client talks to the backends' own
#            addresses (the baseline every other figure is read against)
#   xlb      the VIP 198.18.0.10: XDP on the LB, IP-in-IP, direct server return
#   haproxy  198.18.0.20 on the LB: HAProxy, mode tcp (race/haproxy.cfg)
#   nginx    198.18.0.21 on the LB: NGINX stream proxy (race/nginx-stream.conf)
#
# The router routes all three VIPs to the LB. The backends run NGINX as an
# HTTPS server (race/nginx-backend.conf) on every address: the DSR VIP on lo
# and their own address, where the proxies connect; be1 also runs iperf3.
#
# Figures, each the median of RACE_ROUNDS rounds; in every round each
# contestant runs once, in an order that rotates from round to round:
#   (1) new TCP+TLS connections per second (race/tls_churn.c: connect, full
#       handshake, one request, answer, close; RACE_CONC in flight)
#   (2) iperf3 throughput through the VIP, upload and download (RACE_STREAMS
#       streams, all to be1)
#   (3) CPU per 1000 connections and per GB: the LB host's share (the
#       proxy's processes; the XDP program's run time from the kernel's BPF
#       statistics), the whole lab's (every process of it: client, servers,
#       proxies, with the softirq work that ran in their context) and the
#       whole machine's (/proc/stat, other users included)
#   (4) packets per second on one core for the XDP program: live frames of
#       many distinct flows (build/tests/bench/bench_xdp), beside a bare
#       XDP_TX program in the same run
#
# Everything runs on one machine: client, router, LB and backends share its
# CPUs (and with whatever else runs there), so read the ratios measured here,
# not the absolute figures. The summary says what each figure includes.
set -euo pipefail
cd "$(dirname "$0")/../.."
ROOT=$PWD
BUILD=${BUILD:-build}
[[ $BUILD == /* ]] || BUILD=$ROOT/$BUILD
export BUILD

ROUNDS=${RACE_ROUNDS:-7}
BULK_ROUNDS=${RACE_BULK_ROUNDS:-5}
CPS_SECS=${RACE_CPS_SECS:-5}
BULK_SECS=${RACE_BULK_SECS:-3}
CONC=${RACE_CONC:-32}
STREAMS=${RACE_STREAMS:-4}
read -ra CONTESTANTS <<<"${RACE_CONTESTANTS:-direct xlb haproxy nginx}"

P=xr$$				# the lab's prefix (namespaces xr<pid>-*)
NSP=xr$$p			# the packet-rate namespace
RACE=$ROOT/tests/bench/race
OUT=$BUILD/bench/race.txt
RAW=$BUILD/bench/race-raw.txt
CHURN=$BUILD/bench/race/tls_churn
LAB=$ROOT/scripts/xlb-lab
DPCTL=$BUILD/tests/tools/dpctl

VIP_XLB=198.18.0.10
VIP_HAPROXY=198.18.0.20
VIP_NGINX=198.18.0.21
BULK_PORT=5201

TMP=''
PIDS=()
LAB_IS_UP=''

say() { echo "race: $*" >&2; }

cleanup() {
	local p
	for p in "${PIDS[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
	for p in "${PIDS[@]}"; do wait "$p" 2>/dev/null || true; done
	[[ -n $LAB_IS_UP ]] && "$LAB" down --prefix "$P" >/dev/null 2>&1
	ip netns del "$NSP" 2>/dev/null || true
	if [[ -n $TMP && -n ${RACE_KEEP:-} ]]; then
		echo "race: RACE_KEEP: configurations and logs kept in $TMP" >&2
	elif [[ -n $TMP ]]; then
		rm -rf "$TMP"
	fi
	return 0
}

skip() {
	echo "race: skipped: $*" | tee "$OUT"
	exit 0
}

requirements() {
	local c
	[[ $EUID -eq 0 ]] || skip "needs root (network namespaces, XDP)"
	for c in haproxy nginx iperf3 openssl bpftool xdp-loader python3 cc nsenter; do
		command -v "$c" >/dev/null || skip "'$c' not found (scripts/install-deps.sh installs it)"
	done
	[[ -f /usr/lib/nginx/modules/ngx_stream_module.so ]] ||
		skip "NGINX's stream module is missing (Debian: libnginx-mod-stream; scripts/install-deps.sh)"
	for c in "$DPCTL" "$BUILD/bin/xlb-backend" "$BUILD/bpf/xlb.bpf.o" "$BUILD/tests/bench/bench_xdp"; do
		[[ -e $c ]] || skip "$c not built (run 'make')"
	done
	# the client is built here: the Makefile builds tests/bench/*.c only
	if [[ ! -x $CHURN || $RACE/tls_churn.c -nt $CHURN ]]; then
		mkdir -p "$(dirname "$CHURN")"
		cc -O2 -g -Wall -Wextra -std=gnu11 -o "$CHURN" "$RACE/tls_churn.c" -lssl -lcrypto ||
			skip "building $CHURN failed (libssl-dev?)"
	fi
}

# at NODE CMD...: CMD in the lab node's network namespace
at() {
	local node=$1
	shift
	nsenter --net="/run/netns/$P-$node" "$@"
}

# bg OUT NODE CMD...: CMD in NODE's namespace in the background; PID in BG
bg() {
	local out=$1 node=$2
	shift 2
	nsenter --net="/run/netns/$P-$node" "$@" >"$out" 2>&1 &
	BG=$!
	PIDS+=("$BG")
}

fill() {	# TEMPLATE OUT SED-ARGS...: a config from a template of race/
	local tpl=$1 out=$2
	shift 2
	sed -e "s|@TMP@|$TMP|g" "$@" "$RACE/$tpl" >"$out"
}

# ---- the lab ----------------------------------------------------------------------

lab_up() {
	local i svc vip port proto id node
	"$LAB" up --prefix "$P" --backends 3 --attach libxdp --ports "443,$BULK_PORT" >"$TMP/lab.log" 2>&1 ||
		{ cat "$TMP/lab.log" >&2; say "xlb-lab up failed"; exit 1; }
	LAB_IS_UP=1
	eval "$("$LAB" env --prefix "$P")"
	read -ra BE4 <<<"$LAB_BE4"

	# the proxies' VIPs: routed to the LB like xlb's, on its lo
	for vip in "$VIP_HAPROXY" "$VIP_NGINX"; do
		ip -n "$P-router" route add "$vip/32" via "$LAB_LB4"
		ip -n "$P-lb" addr add "$vip/32" dev lo
	done
	# many short connections: ports and queues for them
	for node in client lb be1 be2 be3; do
		at "$node" sysctl -qw net.ipv4.ip_local_port_range="1024 65535" \
			net.core.somaxconn=65535 net.ipv4.tcp_max_syn_backlog=65535 >/dev/null
	done
	# the long transfers go to be1 alone (iperf3's control and data
	# connections must meet on one server): be2 and be3 down in that VIP
	for svc in $LAB_SERVICES; do
		IFS=, read -r vip port proto id <<<"$svc"
		[[ $vip == "$VIP_XLB" && $port == "$BULK_PORT" ]] || continue
		for i in 2 3; do
			"$DPCTL" -d "$LAB_PIN_DIR" backend set $((100 * id + i)) "$id" "${BE4[i - 1]}" down \
				2>>"$TMP/lab.log"
		done
		"$DPCTL" -d "$LAB_PIN_DIR" ring "$vip" "$port" "$proto" >/dev/null
	done
	XDP_ID=$(ip -n "$P-lb" -j link show dev eth0 |
		python3 -c 'import json, sys; print(json.load(sys.stdin)[0]["xdp"]["prog"]["id"])')
}

start_servers() {
	local i name servers_h='' servers_n='' f
	BE_PIDS=()
	for i in 1 2 3; do
		name=be$i
		openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2 \
			-subj "/CN=$name" -addext "subjectAltName=IP:$VIP_XLB,IP:${BE4[i - 1]}" \
			-keyout "$TMP/$name.key" -out "$TMP/$name.pem" 2>/dev/null
		fill nginx-backend.conf "$TMP/nginx-$name.conf" -e "s|@NAME@|$name|g"
		bg "$TMP/nginx-$name.out" "$name" nginx -e "$TMP/nginx-$name.err" -p "$TMP" \
			-c "$TMP/nginx-$name.conf" -g 'daemon off;'
		BE_PIDS+=("$BG")
		servers_h+="	server $name ${BE4[i - 1]}:443 check inter 5s"$'\n'
		servers_n+="		server ${BE4[i - 1]}:443;"$'\n'
	done
	bg "$TMP/iperf3.out" be1 iperf3 -s -p "$BULK_PORT"
	BE_PIDS+=("$BG")

	printf '%s' "$servers_h" >"$TMP/servers_h"
	printf '%s' "$servers_n" >"$TMP/servers_n"
	fill haproxy.cfg "$TMP/haproxy.cfg" -e "s|@VIP@|$VIP_HAPROXY|g" -e "s|@BE1@|${BE4[0]}|g" \
		-e "/@SERVERS443@/{r $TMP/servers_h" -e "d}"
	fill nginx-stream.conf "$TMP/nginx-lb.conf" -e "s|@VIP@|$VIP_NGINX|g" -e "s|@BE1@|${BE4[0]}|g" \
		-e "/@SERVERS443@/{r $TMP/servers_n" -e "d}"
	bg "$TMP/haproxy.out" lb haproxy -db -f "$TMP/haproxy.cfg"
	HAPROXY_PID=$BG
	bg "$TMP/nginx-lb.out" lb nginx -e "$TMP/nginx-lb.err" -p "$TMP" -c "$TMP/nginx-lb.conf" \
		-g 'daemon off;'
	NGINX_PID=$BG

	# every contestant answers before the race starts
	sleep 1
	for who in "${CONTESTANTS[@]}"; do
		f=$(at client "$CHURN" "$(target "$who")" 443 -c 4 -w 1 -t 1 2>&1) || true
		if [[ $(field "$f" ok) -eq 0 || $(field "$f" fail) -ne 0 ]]; then
			say "$who does not answer: $f"
			for f in "$TMP"/*.out "$TMP"/*.err; do
				[[ -s $f ]] && { echo "--- $f"; tail -5 "$f"; } >&2
			done
			exit 1
		fi
	done
}

target() {	# CONTESTANT: the address the client connects to
	case $1 in
	direct) local IFS=,; echo "${BE4[*]}" ;;
	xlb) echo "$VIP_XLB" ;;
	haproxy) echo "$VIP_HAPROXY" ;;
	nginx) echo "$VIP_NGINX" ;;
	*) say "no contestant '$1' (direct, xlb, haproxy, nginx)"; exit 2 ;;
	esac
}

field() {	# LINE KEY: the value of KEY=VALUE in LINE (0 if absent)
	local v
	v=$(grep -oE "(^| )$2=[0-9.]+" <<<"$1" | tail -1 | cut -d= -f2)
	echo "${v:-0}"
}

# ---- CPU accounting -----------------------------------------------------------------

# ticks PID...: user + system CPU of the processes and their children
# (NGINX's workers), in clock ticks; threads are in their process's figure
ticks() {
	local p t=0 f all=()
	local -a a
	for p in "$@"; do
		all+=("$p")
		# shellcheck disable=SC2207 # PIDs, one a word
		all+=($(cat /proc/"$p"/task/*/children 2>/dev/null))
	done
	for p in "${all[@]}"; do
		f=$(cat "/proc/$p/stat" 2>/dev/null) || continue
		read -ra a <<<"${f##*) }"	# a[0] is field 3 (state)
		t=$((t + a[11] + a[12]))
	done
	echo "$t"
}

# snap: the counters one measurement is the difference of, as KEY=VALUE
snap() {
	local u n s irq sirq st xdp
	read -r _ u n s _ _ irq sirq st _ </proc/stat	# cpu user nice system idle iowait ...
	xdp=$(bpftool prog show id "$XDP_ID" -j)
	echo "t=$(date +%s%N) busy=$((u + n + s + irq + sirq + st)) softirq=$sirq" \
	     "haproxy=$(ticks "$HAPROXY_PID") nginx=$(ticks "$NGINX_PID")" \
	     "backends=$(ticks "${BE_PIDS[@]}")" \
	     "xdp_ns=$(grep -oE '"run_time_ns":[0-9]+' <<<"$xdp" | cut -d: -f2)" \
	     "xdp_cnt=$(grep -oE '"run_cnt":[0-9]+' <<<"$xdp" | cut -d: -f2)"
}

# delta BEFORE AFTER: AFTER - BEFORE, key by key
delta() {
	local kv k v out=''
	declare -A b
	for kv in $1; do b[${kv%%=*}]=${kv#*=}; done
	for kv in $2; do
		k=${kv%%=*} v=${kv#*=}
		out+=" d_$k=$((v - ${b[$k]:-0}))"
	done
	echo "${out# }"
}

# ---- the measurements -----------------------------------------------------------------

# rotate ROUND: the contestants, starting at a different one each round
rotate() {
	local r=$1 n=${#CONTESTANTS[@]} i
	for ((i = 0; i < n; i++)); do echo "${CONTESTANTS[(r + i) % n]}"; done
}

# record TEST WHO ROUND CMD...: run CMD in the client's namespace between two
# snapshots; one raw line: the command's own KEY=VALUE output and the deltas
record() {
	local test=$1 who=$2 round=$3 before after out
	shift 3
	before=$(snap)
	out=$(at client "$@" 2>&1) || out="error=1 $(tr '\n' ' ' <<<"$out" | cut -c1-200)"
	after=$(snap)
	echo "test=$test who=$who round=$round $out $(delta "$before" "$after")" >>"$RAW"
}

cps_round() {
	local r=$1 who
	for who in $(rotate "$r"); do
		record cps "$who" "$r" "$CHURN" "$(target "$who")" 443 -c "$CONC" -w 2 -t "$CPS_SECS"
	done
}

# iperf3's JSON, as KEY=VALUE: payload bytes delivered, bits/s, retransmits
iperf_kv() {
	python3 -c '
import json, sys
d = json.load(sys.stdin)
if "error" in d:
    print("error=1 " + d["error"].replace(" ", "_")); sys.exit()
r, s = d["end"]["sum_received"], d["end"]["sum_sent"]
cpu = d["end"]["cpu_utilization_percent"]["host_total"] / 100 * s["seconds"]
print("bytes=%d bps=%.0f retrans=%d cpu_s=%.3f" % (r["bytes"], r["bits_per_second"],
      s.get("retransmits", 0), cpu))'
}

bulk() {	# ADDR [-R]: one iperf3 run from the client
	iperf3 -c "$1" -p "$BULK_PORT" -t "$BULK_SECS" -P "$STREAMS" -J "${@:2}" | iperf_kv
}
export -f bulk iperf_kv
export BULK_PORT BULK_SECS STREAMS

bulk_round() {
	local r=$1 who addr
	for who in $(rotate "$r"); do
		addr=$(target "$who")
		addr=${addr%%,*}	# direct: be1
		# shellcheck disable=SC2016 # expanded by the inner bash
		record up "$who" "$r" bash -c 'bulk "$1"' _ "$addr"
		# shellcheck disable=SC2016
		record down "$who" "$r" bash -c 'bulk "$1" -R' _ "$addr"
	done
}

# (4) the XDP program alone, live frames on one core (bench_xdp)
packet_rate() {
	local c
	ip netns add "$NSP"
	ip -n "$NSP" link add xb0 type veth peer name xb1
	ip -n "$NSP" link set xb0 up
	ip -n "$NSP" link set xb1 up
	for c in flows=10000 flows=1000000 syn-flood; do
		nsenter --net="/run/netns/$NSP" "$BUILD/tests/bench/bench_xdp" xb0 xb1 \
			--case "$c" --cpu 1 --rounds "$ROUNDS" --packets 1000000 |
			grep -v '^#' | sed 's/^/pps /' >>"$RAW"
	done
	ip netns del "$NSP"
}

# ---- main ----------------------------------------------------------------------------

requirements
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
ulimit -n "$(ulimit -Hn)"	# for the proxies and servers (race/*.conf fit 20000)
TMP=$(mktemp -d /tmp/xlb-race.XXXXXX)
chmod 755 "$TMP"	# NGINX's workers run as nobody
mkdir -p "$BUILD/bench"
start=$SECONDS
{
	echo "# xlb race $(date -u +%Y-%m-%dT%H:%M:%SZ)"
	echo "# machine: $(nproc) CPUs, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), kernel $(uname -r)"
	echo "# haproxy $(haproxy -v | head -1 | awk '{print $3}'), nginx $(nginx -v 2>&1 | cut -d/ -f2)," \
	     "$(openssl version | cut -d' ' -f1-2), iperf3 $(iperf3 -v | head -1 | awk '{print $2}')"
	echo "# rounds=$ROUNDS bulk_rounds=$BULK_ROUNDS cps_secs=$CPS_SECS bulk_secs=$BULK_SECS conc=$CONC streams=$STREAMS tck=$(getconf CLK_TCK)"
	echo "# contestants: ${CONTESTANTS[*]}"
} >"$RAW"

say "lab $P up, servers and proxies starting"
lab_up
start_servers
# the XDP program's run time, from here to the end (held by a descriptor:
# off again when it exits; kernel.bpf_stats_enabled is not touched)
: >"$TMP/stats.out"
python3 "$RACE/bpf_stats.py" >"$TMP/stats.out" 2>&1 &
STATS_PID=$!
PIDS+=("$STATS_PID")
for _ in $(seq 50); do grep -q enabled "$TMP/stats.out" && break; sleep 0.1; done
grep -q enabled "$TMP/stats.out" || { cat "$TMP/stats.out" >&2; say "BPF statistics could not be turned on"; exit 1; }

for ((r = 0; r < ROUNDS; r++)); do
	say "(1) connections: round $((r + 1))/$ROUNDS"
	cps_round "$r"
done
for ((r = 0; r < BULK_ROUNDS; r++)); do
	say "(2) throughput: round $((r + 1))/$BULK_ROUNDS"
	bulk_round "$r"
done
# statistics off again: they would slow both programs of (4) by their clock reads
kill -TERM "$STATS_PID" 2>/dev/null || true
wait "$STATS_PID" 2>/dev/null || true
say "(4) packet rate: live frames"
packet_rate
echo "# took $((SECONDS - start)) s" >>"$RAW"

python3 "$RACE/summarize.py" "$RAW" | tee "$OUT"
