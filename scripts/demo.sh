#!/bin/bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#
# demo.sh: xlb's story in a minute or two, told with numbers, in a namespace
# lab of its own (scripts/xlb-lab up --control xlbd --service sstp: a client,
# a router, the LB run by xlbd, three backends running an SSTP server):
#
#   1. many real SSTP sessions through one VIP, spread over the backends
#   2. direct server return: the LB forwards, the replies never touch it
#   3. a backend drained with sessions open: they go on, new ones avoid it
#   4. a backend's SSTP server dies: the probe takes it out, new sessions
#      avoid it
#   5. xlbd killed with SIGKILL mid-traffic: not one session notices
#   6. the final 'xlbctl show'
#
# The sessions come from tests/tools/sstp_client.py in the client's
# namespace: TLS verified against the lab's CA, SSTP_DUPLEX_POST, Call
# Connect, Call Connected with the crypto binding, then echoes every second.
# Needs root and a build ('make'); 'make demo' does both. The lab goes
# away at the end, also on failure and Ctrl-C, unless --keep.
set -u

PROG=demo.sh
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
LAB=$ROOT/scripts/xlb-lab
BUILD=${BUILD:-$ROOT/build}
[[ $BUILD == /* ]] || BUILD=$PWD/$BUILD
export BUILD	# for xlb-lab
CLIENT_PY=$ROOT/tests/tools/sstp_client.py

usage() {
	cat <<EOF
usage: $PROG [--quick] [--keep] [--prefix P] [--summary FILE]

Builds a lab (scripts/xlb-lab) with xlbd and three SSTP backends and shows,
with numbers: sessions spread over the backends, direct server return, a
drain, a failed backend, and xlbd killed with SIGKILL, all without losing a
session that should live. Needs root and a build ('make'; 'make demo' runs
both).

  --quick         fewer sessions and shorter waits (for tests/e2e/test_demo.sh)
  --keep          leave the lab up at the end ('scripts/xlb-lab down --prefix P')
  --prefix P      the lab's name prefix (default xdemo)
  --summary FILE  also write the key numbers there, as KEY=VALUE lines
  --logs DIR      at the end, copy the logs there (xlbd, the SSTP servers, the
                  clients), before the lab goes

Environment: BUILD, the build directory (default $ROOT/build).
EOF
}

P=xdemo QUICK='' KEEP='' SUMMARY='' LOGS=''
while [[ $# -gt 0 ]]; do
	case $1 in
	--quick) QUICK=1 ;;
	--keep) KEEP=1 ;;
	--prefix) [[ $# -ge 2 ]] || { echo "$PROG: --prefix: missing P" >&2; exit 2; }; P=$2; shift ;;
	--prefix=*) P=${1#*=} ;;
	--summary) [[ $# -ge 2 ]] || { echo "$PROG: --summary: missing FILE" >&2; exit 2; }; SUMMARY=$2; shift ;;
	--summary=*) SUMMARY=${1#*=} ;;
	--logs) [[ $# -ge 2 ]] || { echo "$PROG: --logs: missing DIR" >&2; exit 2; }; LOGS=$2; shift ;;
	--logs=*) LOGS=${1#*=} ;;
	-h | --help) usage; exit 0 ;;
	*) echo "$PROG: unexpected '$1' (see '$PROG --help')" >&2; exit 2 ;;
	esac
	shift
done

if [[ -n $QUICK ]]; then
	N4=60 N6=30 NEW=12 DSR_ROUNDS=2 HANGUP_STEPS=2 DEAD_SECS=2 PAUSE=0
else
	N4=160 N6=80 NEW=30 DSR_ROUNDS=3 HANGUP_STEPS=3 DEAD_SECS=3 PAUSE=2
fi
N=$((N4 + N6))

# ---- output ----------------------------------------------------------------------------

if [[ -t 1 ]]; then B=$'\e[1m' D=$'\e[2m' R=$'\e[31m' Z=$'\e[0m'; else B='' D='' R='' Z=''; fi
heading() {
	[[ $PAUSE == 0 ]] || sleep "$PAUSE"
	printf '\n%s=== %s %s%s\n' "$B" "$1" "$(printf '=%.0s' $(seq $((66 - ${#1}))))" "$Z"
}
say() { printf '  %s\n' "$*"; }
shown() { printf '  %s$ %s%s\n' "$D" "$*" "$Z"; }	# a command, as one would type it
FAILED=()
# expect COND TEXT: a claim of the story, checked; a false one is shown and
# makes the demo fail at the end
expect() {
	if ! (($1)); then
		printf '  %s!! NOT AS EXPECTED: %s%s\n' "$R" "$2" "$Z"
		FAILED+=("$2")
	fi
}
die() {
	printf '%s: %s\n' "$PROG" "$*" >&2
	exit 1
}
declare -A SUM=()
sum() { SUM[$1]=$2; SUM_ORDER+=("$1"); }
SUM_ORDER=()

# ---- the lab, and leaving it ------------------------------------------------------------

TMP=''
CLI_PID=
CAP_PID=''
SSTPC_PID=''
LAB_IS_OURS=''
IPPARAM=xlbdemo$$		# sstpc's connection id; its plugin socket:
PLUGIN_SOCK=/var/run/sstpc/sstpc-$IPPARAM

cleanup() {
	local rc=$?
	trap - EXIT INT TERM
	if [[ -n $CLI_PID ]]; then
		{ echo quit >&"${CLIENT[1]}"; } 2>/dev/null
		for _ in 1 2 3 4 5 6 7 8 9 10; do	# (until it is gone or a zombie)
			[[ $(awk '{print $3}' "/proc/$CLI_PID/stat" 2>/dev/null) =~ ^[^Z]$ ]] || break
			sleep 0.2
		done
		kill -TERM "$CLI_PID" 2>/dev/null
		wait "$CLI_PID" 2>/dev/null
	fi
	if [[ -n $CAP_PID ]]; then
		kill -TERM "$CAP_PID" 2>/dev/null
		wait "$CAP_PID" 2>/dev/null
	fi
	if [[ -n $SSTPC_PID ]]; then
		kill -TERM "$SSTPC_PID" 2>/dev/null
		wait "$SSTPC_PID" 2>/dev/null
	fi
	rm -f "$PLUGIN_SOCK"
	if [[ -n $LOGS ]] && mkdir -p "$LOGS"; then
		[[ -n $LAB_IS_OURS ]] && cp /run/xlb-lab/"$P"/*.log "$LOGS/" 2>/dev/null
		[[ -n $TMP ]] && cp "$TMP"/*.log "$TMP"/*.err "$TMP"/*.out "$LOGS/" 2>/dev/null
	fi
	if [[ -n $LAB_IS_OURS ]]; then
		if [[ -n $KEEP ]]; then
			echo
			echo "The lab is still up (--keep): 'scripts/xlb-lab status --prefix $P', then"
			echo "'scripts/xlb-lab down --prefix $P'."
		else
			"$LAB" down --prefix "$P" >/dev/null 2>&1 ||
				echo "$PROG: 'xlb-lab down --prefix $P' failed; run it again" >&2
		fi
	fi
	[[ -n $TMP ]] && rm -rf "$TMP"
	exit "$rc"
}
trap cleanup EXIT
trap 'echo; echo "$PROG: interrupted; cleaning up" >&2; exit 130' INT
trap 'exit 143' TERM

[[ $EUID -eq 0 ]] || die "needs root (network namespaces, BPF): sudo $0"
for c in python3 tcpdump openssl ip nsenter setsid; do
	command -v "$c" >/dev/null || die "'$c' not found: run scripts/install-deps.sh"
done
for f in "$BUILD/bin/xlbd" "$BUILD/bin/xlbctl" "$BUILD/bin/xlb-backend" "$BUILD/tests/tools/sstp-server" \
	 "$BUILD/tests/tools/dpctl" "$BUILD/bpf/xlb.bpf.o"; do
	[[ -f $f ]] || die "$f not found: run 'make' first (or 'make demo')"
done
if "$LAB" env --prefix "$P" >/dev/null 2>&1 || ip netns list 2>/dev/null | grep -q "^$P-"; then
	die "a lab '$P' exists already (an earlier --keep?): 'scripts/xlb-lab down --prefix $P' first"
fi
TMP=$(mktemp -d /tmp/xlb-demo.XXXXXX)

xc() { "$LAB" ctl --prefix "$P" -- "$@"; }

# be_field FIELD: "be1=V be2=V ..." of 'xlbctl --json show', summed over
# the VIPs (numbers) or joined (words)
be_field() {
	xc --json show | python3 -c '
import json, re, sys
d, field, out = json.load(sys.stdin), sys.argv[1], {}
for v in d.get("vips", []):
    for b in v.get("backends", []):
        m = re.match(r"198\.18\.(\d+)\.2$", b["address"]) or re.match(r"2001:db8:(\d+)::2$", b["address"])
        name = "be%d" % (int(m.group(1)) - 100)
        val = b.get(field, "-")
        if isinstance(val, (int, float)) and not isinstance(val, bool):
            out[name] = out.get(name, 0) + val
        else:
            out.setdefault(name, set()).add(str(val))
print(" ".join("%s=%s" % (k, v if not isinstance(v, set) else "/".join(sorted(v)))
               for k, v in sorted(out.items(), key=lambda kv: int(kv[0][2:]))))
' "$1"
}

# kv LINE KEY: the value of KEY=VALUE in LINE (0 if absent)
kv() {
	local v
	v=$(grep -oE "(^| )$2=[^ ]+" <<<"$1" | tail -1 | cut -d= -f2)
	echo "${v:-0}"
}

# vip_packets: packets the XDP program forwarded for the VIPs, in all
vip_packets() {
	xc --json stats | python3 -c '
import json, sys
print(sum(v.get("packets", 0) for v in json.load(sys.stdin).get("vips", [])))'
}

# backend_tcp BE: established TCP connections on BE from the client's own
# address to the VIP's port (what the backend itself sees)
backend_tcp() {
	"$LAB" exec --prefix "$P" "$1" -- ss -Htn state established "( sport = :$LAB_SSTP_PORT )" |
		grep -cE "(^|[[:space:]])($LAB_CLIENT4|\[$LAB_CLIENT6\]):[0-9]+[[:space:]]*\$"
}

# prog_id: the XDP program on the LB's eth0
prog_id() {
	ip -n "$P-lb" link show dev eth0 | awk '$1 == "prog/xdp" && $2 == "id" { print $3 }'
}

# show_rows BE: BE's lines of 'xlbctl show' (one per VIP, and what follows
# them: the last probe failure)
show_rows() {
	local i=${1#be}
	xc show | awk -v a="${BE4[i - 1]}" -v b="${BE6[i - 1]}" '
		$1 == "BACKEND" && !head { print; head = 1 }
		$1 == a || $1 == b { print; keep = 1; next }
		keep && /^ +(last failure|!!)/ { print }
		{ keep = 0 }' | sed 's/^ */    /'
}

# wait_be FIELD BE VALUE SECONDS: until be_field FIELD says BE=VALUE;
# WAITED is how long it took (s, one decimal)
wait_be() {
	local t0 i
	t0=$(date +%s%N)
	for ((i = 0; i < $4 * 10; i++)); do
		[[ " $(be_field "$1") " == *" $2=$3 "* ]] && break
		sleep 0.1
	done
	WAITED=$(awk -v a="$t0" -v b="$(date +%s%N)" 'BEGIN { printf "%.1f", (b - a) / 1e9 }')
	[[ " $(be_field "$1") " == *" $2=$3 "* ]]
}

# ---- the client ------------------------------------------------------------------------

client_start() {
	coproc CLIENT { exec "$LAB" exec --prefix "$P" client -- python3 "$CLIENT_PY" hold \
		--ca "$LAB_CA" --sni "$LAB_VIP_NAME" --port "$LAB_SSTP_PORT" 2>"$TMP/client.err"; }
	# shellcheck disable=SC2153 # CLIENT_PID: set by coproc
	CLI_PID=$CLIENT_PID
}

# ask CMD: one command to the client; its answer in LINE
ask() {
	LINE=''
	{ echo "$1" >&"${CLIENT[1]}"; } 2>/dev/null ||
		die "the SSTP client is gone ($(tail -1 "$TMP/client.err"))"
	read -r -t 120 LINE <&"${CLIENT[0]}" || die "the SSTP client did not answer '$1'"
	[[ $LINE != error* ]] || die "the SSTP client: $LINE"
}

# open_new N: N new sessions, two thirds to the IPv4 VIP, the rest to the
# IPv6 one; NEW_OK, NEW_FAIL and NEW_BY ("be1=.. be2=..") of them all
open_new() {
	local n4=$(($1 * 2 / 3)) l4 l6 i
	ask "open $LAB_VIP4 $n4"
	l4=$LINE
	ask "open $LAB_VIP6 $(($1 - n4))"
	l6=$LINE
	NEW_OK=$(($(kv "$l4" ok) + $(kv "$l6" ok)))
	NEW_FAIL=$(($(kv "$l4" fail) + $(kv "$l6" fail)))
	NEW_BY=''
	for ((i = 1; i <= LAB_BACKENDS; i++)); do
		NEW_BY+="be$i=$(($(kv "$l4" "be$i") + $(kv "$l6" "be$i"))) "
	done
	NEW_BY=${NEW_BY% }
}

# ---- a real client: sstpc ----------------------------------------------------------------

# sstpc_start: one session of Debian's sstpc through the IPv4 VIP, without
# pppd, as tests/e2e/test_sstp_server.sh drives it: stdin a FIFO that never
# speaks (pppd's pty), and once the Call Connect Ack is in, the report of
# pppd's sstp-pppd-plugin on sstpc's callback socket (zero MPPE keys, as
# after PAP), upon which sstpc sends Call Connected with its crypto binding.
# Sets SSTPC_BE (the backend, found by the correlation id in the servers'
# logs); fails with SSTPC_WHY.
sstpc_start() {
	local uuid i
	uuid=$(python3 -c 'import uuid; print(str(uuid.uuid4()).upper())')
	mkfifo "$TMP/ppp.fifo" || return 1
	"$LAB" exec --prefix "$P" client -- sstpc --log-stderr --log-level 4 --ca-cert "$LAB_CA" \
		--uuid "$uuid" --ipparam "$IPPARAM" --nolaunchpppd "$LAB_VIP4" \
		<>"$TMP/ppp.fifo" >"$TMP/sstpc.log" 2>&1 &
	SSTPC_PID=$!
	# (a plugin report before the Ack crashes sstpc 1.0.18)
	if ! wait_file "$TMP/sstpc.log" 'Started PPP Link Negotiation' 10; then
		SSTPC_WHY="no Call Connect Ack: $(tail -1 "$TMP/sstpc.log")"
		return 1
	fi
	if ! python3 - "$PLUGIN_SOCK" >"$TMP/plugin.out" 2>&1 <<'EOF'
import socket, struct, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.settimeout(5)
s.connect(sys.argv[1])
keys = struct.pack("=HH", 1, 16) + bytes(16) + struct.pack("=HH", 2, 16) + bytes(16)
s.sendall(struct.pack("=IHH", 0x73737470, len(keys), 1) + keys)
s.recv(8)
EOF
	then
		SSTPC_WHY="the plugin report failed: $(tail -1 "$TMP/plugin.out")"
		return 1
	fi
	for ((i = 1; i <= LAB_BACKENDS; i++)); do
		SSTPC_CONN=$(grep -m1 "correlation=$uuid" "$LAB_SSTP_DIR/sstp-be$i.log" 2>/dev/null |
			     grep -oE 'conn [0-9]+')
		[[ -n $SSTPC_CONN ]] && SSTPC_BE=be$i && break
	done
	if [[ -z $SSTPC_BE ]] ||
	   ! wait_file "$LAB_SSTP_DIR/sstp-$SSTPC_BE.log" \
		"$SSTPC_CONN: call connected: hash=sha256 nonce=match cert-hash=match" 5; then
		SSTPC_WHY="no Call Connected with a good crypto binding in the servers' logs"
		return 1
	fi
}

# server_stat BE COUNTER: a counter of BE's sstp-server, from the stats
# line SIGUSR1 makes it log
server_stat() {
	local log=$LAB_SSTP_DIR/sstp-$1.log pids pid n i
	# (xlb-lab env checks the PIDs: the server, in its namespace)
	read -ra pids <<<"$("$LAB" env --prefix "$P" | sed -n 's/^LAB_SSTP_PIDS="\(.*\)"$/\1/p')"
	pid=${pids[${1#be} - 1]:--}
	[[ $pid != - ]] || return 0
	n=$(grep -c ' stats ' "$log")
	kill -USR1 "$pid" 2>/dev/null || return 0
	for ((i = 0; i < 30; i++)); do
		(($(grep -c ' stats ' "$log") > n)) && break
		sleep 0.1
	done
	grep ' stats ' "$log" | tail -1 | grep -oE " $2=[0-9]+" | cut -d= -f2
}

# wait_file FILE REGEX SECONDS: until a line of FILE matches
wait_file() {
	local i
	for ((i = 0; i < $3 * 10; i++)); do
		grep -qE "$2" "$1" 2>/dev/null && return 0
		sleep 0.1
	done
	return 1
}

# ---- 0. the lab ---------------------------------------------------------------------------

printf '%sxlb demo%s: an XDP layer-4 load balancer in front of an SSTP VPN farm%s\n' "$B" "$Z" \
	"${QUICK:+ (--quick)}"
heading "0. The lab"
say "Network namespaces on this machine, named $P-*, one veth each to the router:"
say ""
say "  client ---- router --+-- LB    xlbd runs the XDP program on eth0: Maglev ring,"
say "  198.18.1.2           |         flow table, IP-in-IP, back out to the router"
say "                       +-- be1   sstp-server on the VIP (on lo) and its own"
say "                       +-- be2   address; XDP decapsulation; each answers the"
say "                       +-- be3   client directly, from the VIP"
say ""
say "The router sends the VIPs to the LB, as a BGP announcement would."
shown "scripts/xlb-lab up --prefix $P --ports 443 --control xlbd --service sstp"
LAB_IS_OURS=1
if ! "$LAB" up --prefix "$P" --backends 3 --ports 443 --control xlbd --service sstp \
	>"$TMP/lab-up.out" 2>&1; then
	sed 's/^/    /' "$TMP/lab-up.out"
	die "the lab could not be built (above)"
fi
eval "$("$LAB" env --prefix "$P")"
read -ra BE4 <<<"$LAB_BE4"
read -ra BE6 <<<"$LAB_BE6"
SVC4="$LAB_VIP4:$LAB_SSTP_PORT/tcp"
SVC6="[$LAB_VIP6]:$LAB_SSTP_PORT/tcp"
say "VIPs $SVC4 and $SVC6, certificate for $LAB_VIP_NAME from"
say "a CA made for the lab. xlbd (pid $LAB_XLBD_PID) attached XDP program $(prog_id) to the LB's"
say "eth0; its probes speak SSTP to each backend twice a second (TLS verified,"
say "SSTP_DUPLEX_POST, Call Connect Request and Ack, Call Disconnect):"
wait_be health be3 up 10 >/dev/null
say "  health: $(be_field health)"

# ---- 1. sessions ----------------------------------------------------------------------------

heading "1. $N SSTP sessions through one VIP, spread over the backends"
say "The client (tests/tools/sstp_client.py) opens $N4 sessions to $SVC4"
say "and $N6 to $SVC6. Each is real SSTP: TLS with the certificate"
say "verified, SSTP_DUPLEX_POST, Call Connect Request and Ack, Call Connected with the"
say "crypto binding, then an echo every second; and it stays open."
client_start
ask "open $LAB_VIP4 $N4"
O4=$LINE
ask "open $LAB_VIP6 $N6"
O6=$LINE
OPEN_FAIL=$(($(kv "$O4" fail) + $(kv "$O6" fail)))
sleep 1
ask check
CHECK=$LINE
FLOWS=$(be_field flows_active)
say ""
printf '    %-9s %10s %18s %22s\n' backend "sessions" "TCP at the backend" "active flows on the LB"
declare -A SPREAD=()
tot_s=0 tot_t=0 tot_f=0 min=$N max=0
for ((i = 1; i <= LAB_BACKENDS; i++)); do
	s=$(kv "$CHECK" "be$i") t=$(backend_tcp "be$i") f=$(kv "$FLOWS" "be$i")
	SPREAD[be$i]=$s
	printf '    %-9s %10s %18s %22s\n' "be$i" "$s" "$t" "$f"
	tot_s=$((tot_s + s)) tot_t=$((tot_t + t)) tot_f=$((tot_f + f))
	((s < min)) && min=$s
	((s > max)) && max=$s
done
printf '    %-9s %10s %18s %22s\n' all "$tot_s" "$tot_t" "$tot_f"
say ""
say "-> $(kv "$CHECK" alive) of $N sessions up ($OPEN_FAIL failed to open); $(kv "$CHECK" ok) of $N answered an echo"
say "-> each backend holds $((100 * min / N))%..$((100 * max / N))% (Maglev on the 5-tuple: a third each,"
say "   give or take chance). 'TCP at the backend' is what ss counts there: the"
say "   client's own address, no NAT"
expect "$OPEN_FAIL == 0 && $(kv "$CHECK" ok) == N" "every session opens and answers an echo"
expect "$min * 6 >= N" "each backend gets at least half its fair share of the sessions"
expect "$tot_t == N && $tot_f == N" "the backends and the LB's flow table see every session"
sum sessions "$N"
sum open_fail "$OPEN_FAIL"
sum echo_ok "$(kv "$CHECK" ok)"
sum spread "be1:${SPREAD[be1]},be2:${SPREAD[be2]},be3:${SPREAD[be3]}"
sum spread_min "$min"
sum backend_tcp "$tot_t"
sum lb_active_flows "$tot_f"

SSTPC=none SSTPC_BE='' SSTPC_WHY=''
if command -v sstpc >/dev/null; then
	say ""
	say "One more session, from a real client: Debian's sstpc ($(sstpc --version 2>&1 |
		grep -oE '[0-9]+\.[0-9.]+' | head -1)), without pppd"
	say "(--nolaunchpppd; the demo stands in for pppd's plugin: zero keys)."
	if sstpc_start; then
		SSTPC=ok
		say "-> it lands on $SSTPC_BE: Call Connected, crypto binding verified by the server."
		say "   It stays to the end; the drain and the failure below hit the other backends."
	else
		SSTPC=failed
		say "-> it did not get through: $SSTPC_WHY"
	fi
	expect "$([[ $SSTPC == ok ]] && echo 1 || echo 0)" "a real SSTP client (sstpc) connects through the VIP"
else
	say ""
	say "(Debian's sstpc is not installed: no session from a real client; scripts/install-deps.sh)"
fi
sum sstpc "$SSTPC"
sum sstpc_backend "${SSTPC_BE:--}"
# the drained and the failing backend: two that sstpc is not on
OTHERS=()
for ((i = 1; i <= LAB_BACKENDS; i++)); do
	[[ be$i == "$SSTPC_BE" ]] || OTHERS+=("be$i")
done
[[ -n $SSTPC_BE ]] || OTHERS=(be2 be3)

# ---- 2. DSR ------------------------------------------------------------------------------------

heading "2. Direct server return: the replies never touch the LB"
say "For a moment every session sends $DSR_ROUNDS echoes and $NEW more sessions open,"
say "while tcpdump at the router counts the packets on each link."
ask pause
sleep 0.5	# the last delayed ACKs
# (-Z root: tcpdump's own user could not write into our private TMP)
"$LAB" exec --prefix "$P" router -- tcpdump -i any -n -U --immediate-mode -s 200 -Z root \
	-w "$TMP/dsr.pcap" >/dev/null 2>"$TMP/dsr.log" &
CAP_PID=$!
for ((i = 0; i < 50; i++)); do
	grep -q 'listening on' "$TMP/dsr.log" && break
	sleep 0.1
done
read -r rx0 tx0 < <(ip -n "$P-lb" -s -j link show dev eth0 |
	python3 -c 'import json,sys; s=json.load(sys.stdin)[0]["stats64"]; print(s["rx"]["packets"], s["tx"]["packets"])')
VP0=$(vip_packets)
for ((r = 0; r < DSR_ROUNDS; r++)); do ask check; done
open_new "$NEW"
DSR_NEW_OK=$NEW_OK
sleep 0.5
VP1=$(vip_packets)
read -r rx1 tx1 < <(ip -n "$P-lb" -s -j link show dev eth0 |
	python3 -c 'import json,sys; s=json.load(sys.stdin)[0]["stats64"]; print(s["rx"]["packets"], s["tx"]["packets"])')
sleep 0.3
kill -INT "$CAP_PID" 2>/dev/null
wait "$CAP_PID" 2>/dev/null
CAP_PID=''
ask resume
# each line: "IFACE In|Out IP|IP6 SRC > DST: [inner...]"
# (read in the router's namespace: the capture names interfaces by index)
"$LAB" exec --prefix "$P" router -- tcpdump -r "$TMP/dsr.pcap" -n 2>/dev/null | awk -v v4="$LAB_VIP4" -v v6="$LAB_VIP6" '
	# 198.18.1.2.40000 / 2001:db8::10.443 / 198.18.2.2: the address alone
	function addr(a,   n, parts) {
		sub(/:$/, "", a)
		n = split(a, parts, ".")
		if (n == 5 || (n == 2 && a ~ /:/))
			sub(/\.[0-9]+$/, "", a)
		return a
	}
	{ ifc = $2; dir = $3; src = addr($5); dst = addr($7); inner = ($8 == "IP" || $8 == "IP6") }
	ifc == "lb" && dir == "Out" && (dst == v4 || dst == v6) { to_lb++ }
	ifc == "lb" && dir == "In" && inner { encap++ }
	ifc == "lb" && (src == v4 || src == v6) { via_lb++ }
	ifc == "lb" && !inner && dst != v4 && dst != v6 && src != v4 && src != v6 { other++ }
	ifc == "client" && dir == "Out" && (src == v4 || src == v6) { to_client++ }
	ifc ~ /^be[0-9]+$/ && dir == "In" && (src == v4 || src == v6) { from_be++ }
	END { printf "%d %d %d %d %d %d\n", to_lb, encap, via_lb, to_client, from_be, other }' \
	>"$TMP/dsr.counts"
read -r D_TO_LB D_ENCAP D_VIA_LB D_TO_CLIENT D_FROM_BE D_OTHER <"$TMP/dsr.counts"
D_STATS=$((VP1 - VP0))
say ""
printf '    %-36s %6s packets\n' "client -> VIP, into the LB" "$D_TO_LB"
printf '    %-36s %6s packets  (xlbctl stats: +%s)\n' \
	"LB -> backends, IP-in-IP, XDP_TX" "$D_ENCAP" "$D_STATS"
printf '    %-36s %6s packets\n' "VIP -> client, through the LB" "$D_VIA_LB"
printf '    %-36s %6s packets  (%s reached the client)\n' "VIP -> client, from the backends" \
	"$D_FROM_BE" "$D_TO_CLIENT"
say ""
say "-> the LB forwarded $D_ENCAP packets and saw $D_VIA_LB replies: the backends answer"
say "   the client themselves, from the VIP. The LB's eth0 counters over the same"
say "   moment: received $((rx1 - rx0)), sent $((tx1 - tx0)), the VIPs' packets and the LB's own"
say "   (health probes, neighbour discovery: $D_OTHER packets on its link)"
expect "$D_TO_LB > 0 && $D_ENCAP == $D_TO_LB && $D_STATS == $D_ENCAP" \
	"every packet for the VIP is forwarded once, as xlbctl stats counts"
expect "$D_VIA_LB == 0" "no reply passes through the LB"
expect "$D_FROM_BE > 0 && $D_TO_CLIENT == $D_FROM_BE" "the replies reach the client from the backends"
expect "$DSR_NEW_OK == $NEW" "the new sessions open"
sum dsr_to_lb "$D_TO_LB"
sum dsr_forwarded "$D_ENCAP"
sum dsr_stats_delta "$D_STATS"
sum dsr_replies_via_lb "$D_VIA_LB"
sum dsr_replies_from_backends "$D_FROM_BE"
sum dsr_replies_to_client "$D_TO_CLIENT"

# ---- 3. drain ---------------------------------------------------------------------------------

DR=${OTHERS[0]}
DR_I=${DR#be}
ask check
DR_N=$(kv "$LINE" "$DR")
LOST0=$(kv "$LINE" lost)
ALIVE0=$(kv "$LINE" alive)
heading "3. Drain $DR while $DR_N sessions are on it"
shown "xlbctl backend drain $SVC4 ${BE4[DR_I - 1]}"
xc backend drain "$SVC4" "${BE4[DR_I - 1]}" || die "backend drain failed"
shown "xlbctl backend drain $SVC6 ${BE6[DR_I - 1]}"
xc backend drain "$SVC6" "${BE6[DR_I - 1]}" || die "backend drain failed"
sleep 1
ask check
D_OK=$(kv "$LINE" ok) D_FAIL=$(kv "$LINE" fail) D_DR=$(kv "$LINE" "$DR")
say "echoes on all $ALIVE0 sessions: $D_OK answered, $D_FAIL failed ($D_DR of them on $DR)"
open_new "$NEW"
DRAIN_NEW_ON=$(kv "$NEW_BY" "$DR")
say "$NEW new sessions: $NEW_BY ($NEW_FAIL failed)"
DR_ACTIVE0=$(kv "$(be_field flows_active)" "$DR")
shown "xlbctl show      # $DR's rows"
show_rows "$DR"
say "$DR's users hang up, a few at a time (active = a packet in the last ${LAB_XLBD_FLOW_WINDOW} s):"
left=$D_DR
for ((s = HANGUP_STEPS; s >= 1; s--)); do
	k=$((left / s))
	ask "close $DR $k"
	left=$((left - $(kv "$LINE" closed)))
	wait_be flows_active "$DR" "$left" 10
	printf '    %3d hung up -> %3s active flows on %s (%.1f s later)\n' "$k" \
		"$(kv "$(be_field flows_active)" "$DR")" "$DR" "$WAITED"
done
DR_ACTIVE1=$(kv "$(be_field flows_active)" "$DR")
ask check
DRAIN_LOST=$(($(kv "$LINE" lost) - LOST0))
say "-> $( ((DRAIN_LOST == 0)) && echo "nobody was cut off: " )$(kv "$LINE" alive) sessions up, $(kv "$LINE" ok) answered an echo,"
say "   $DRAIN_LOST lost. $DR is empty and could go ('xlbctl backend del' refuses while"
say "   flows remain)"
expect "$D_FAIL == 0 && $D_OK == $ALIVE0" "sessions on the drained backend keep answering"
expect "$DRAIN_NEW_ON == 0 && $NEW_FAIL == 0" "new sessions avoid the drained backend"
expect "$DR_ACTIVE0 == $D_DR && $DR_ACTIVE1 == 0" "its active flows fall to 0 as its sessions close"
expect "$DRAIN_LOST == 0" "no session lost in the drain"
sum drain_backend "$DR"
sum drain_sessions "$D_DR"
sum drain_echo_fail "$D_FAIL"
sum drain_new "$NEW_OK"
sum drain_new_on_drained "$DRAIN_NEW_ON"
sum drain_active_start "$DR_ACTIVE0"
sum drain_active_end "$DR_ACTIVE1"
sum drain_lost "$DRAIN_LOST"
shown "xlbctl backend undrain $SVC4 ${BE4[DR_I - 1]}   (and $SVC6)"
if ! xc backend undrain "$SVC4" "${BE4[DR_I - 1]}" || ! xc backend undrain "$SVC6" "${BE6[DR_I - 1]}"; then
	die "backend undrain failed"
fi

# ---- 4. a backend fails ------------------------------------------------------------------------

FB=${OTHERS[1]}
ask check
FB_N=$(kv "$LINE" "$FB")
LOST0=$(kv "$LINE" lost)
ALIVE0=$(kv "$LINE" alive)
heading "4. $FB's SSTP server dies ($FB_N sessions on it)"
shown "scripts/xlb-lab sstp-down --prefix $P $FB      # SIGTERM to its sstp-server"
"$LAB" sstp-down --prefix "$P" "$FB" >/dev/null || die "sstp-down $FB failed"
wait_be health "$FB" down 10
FB_DOWN_SECS=$WAITED
FB_HEALTH=$(kv "$(be_field health)" "$FB")
say "the sstp probes mark $FB $FB_HEALTH ${FB_DOWN_SECS} s later (2 failed probes, 0.5 s apart):"
shown "xlbctl show      # $FB's rows"
show_rows "$FB"
ask check
FB_LOST=$(($(kv "$LINE" lost) - LOST0))
say "its $FB_N sessions ended with its server; the other $(kv "$LINE" alive) answered an echo"
say "($(kv "$LINE" ok) of $(kv "$LINE" alive))"
open_new "$NEW"
FB_NEW_ON=$(kv "$NEW_BY" "$FB")
say "$NEW new sessions: $NEW_BY ($NEW_FAIL failed)"
expect "$([[ $FB_HEALTH == down ]] && echo 1 || echo 0)" "the probe marks the dead backend down"
expect "$FB_NEW_ON == 0 && $NEW_FAIL == 0" "new sessions avoid the dead backend"
expect "$FB_LOST == $FB_N && $(kv "$LINE" fail) == 0" "only the dead backend's sessions end"
sum fail_backend "$FB"
sum fail_sessions "$FB_N"
sum fail_down_secs "$FB_DOWN_SECS"
sum fail_health "$FB_HEALTH"
sum fail_lost "$FB_LOST"
sum fail_new "$NEW_OK"
sum fail_new_fail "$NEW_FAIL"
sum fail_new_on_failed "$FB_NEW_ON"
shown "scripts/xlb-lab sstp-up --prefix $P $FB"
"$LAB" sstp-up --prefix "$P" "$FB" >/dev/null || die "sstp-up $FB failed"
wait_be health "$FB" up 10
say "-> $FB is $(kv "$(be_field health)" "$FB") again ${WAITED} s later; new sessions may go there"
sum fail_up_secs "$WAITED"

# ---- 5. xlbd killed --------------------------------------------------------------------------

heading "5. xlbd killed with SIGKILL in the middle of the traffic"
ask check
LOST0=$(kv "$LINE" lost) ALIVE0=$(kv "$LINE" alive) ECHO0=$(kv "$LINE" echoes)
PROG0=$(prog_id)
XPID=$("$LAB" env --prefix "$P" | sed -n 's/^LAB_XLBD_PID=//p')
say "before: $ALIVE0 sessions up, $ECHO0 echoes answered so far (one a second each)"
shown "kill -9 $XPID      # xlbd (scripts/xlb-lab xlbd-down --kill)"
"$LAB" xlbd-down --prefix "$P" --kill >/dev/null || die "xlbd-down failed"
sleep "$DEAD_SECS"
ask check
DEAD_OK=$(kv "$LINE" ok) DEAD_ALIVE=$(kv "$LINE" alive)
open_new "$((NEW / 2))"
DEAD_NEW_OK=$NEW_OK DEAD_NEW_FAIL=$NEW_FAIL
say "no xlbd for ${DEAD_SECS} s: $DEAD_OK of $DEAD_ALIVE sessions answered an echo;"
say "$((NEW / 2)) new sessions: $DEAD_NEW_OK opened ($NEW_BY)"
shown "scripts/xlb-lab xlbd-up --prefix $P"
t0=$(date +%s%N)
"$LAB" xlbd-up --prefix "$P" >/dev/null || die "xlbd did not start again"
UP_SECS=$(awk -v a="$t0" -v b="$(date +%s%N)" 'BEGIN { printf "%.1f", (b - a) / 1e9 }')
PROG1=$(prog_id)
sleep 1
ask check
RESTART_LOST=$(($(kv "$LINE" lost) - LOST0))
ECHO1=$(kv "$LINE" echoes)
say "xlbd answers again after ${UP_SECS} s; it adopted XDP program $PROG1 (before: $PROG0) and its"
say "maps as they were: nothing reloaded, no flow forgotten"
say "-> after: $(kv "$LINE" alive) sessions up, $(kv "$LINE" ok) answered an echo, $RESTART_LOST lost;"
say "   echoes answered $ECHO0 -> $ECHO1"
expect "$DEAD_OK == $DEAD_ALIVE && $DEAD_ALIVE == $ALIVE0" "sessions answer while xlbd is dead"
expect "$DEAD_NEW_FAIL == 0" "new sessions open while xlbd is dead"
expect "$RESTART_LOST == 0 && $(kv "$LINE" fail) == 0" "no session lost across kill -9 of xlbd"
expect "$ECHO1 > $ECHO0" "echoes went on"
expect "${PROG0:-0} == ${PROG1:-1}" "the restarted xlbd keeps the running program"
sum restart_alive_before "$ALIVE0"
sum restart_alive_after "$(kv "$LINE" alive)"
sum restart_lost "$RESTART_LOST"
sum restart_dead_echo_ok "$DEAD_OK"
sum restart_dead_new_ok "$DEAD_NEW_OK"
sum restart_dead_new_fail "$DEAD_NEW_FAIL"
sum restart_echoes_before "$ECHO0"
sum restart_echoes_after "$ECHO1"
sum restart_prog_same "$([[ $PROG0 == "$PROG1" ]] && echo 1 || echo 0)"
sum restart_up_secs "$UP_SECS"

if [[ $SSTPC == ok ]]; then
	# the Echo Responses its server got: sstpc's alone (the other sessions
	# send an echo every second: never idle long enough to be asked)
	SSTPC_ANSWERS=$(server_stat "$SSTPC_BE" echo_responses_received)
	if kill -0 "$SSTPC_PID" 2>/dev/null; then SSTPC_ALIVE=1; else SSTPC_ALIVE=0; fi
	kill -TERM "$SSTPC_PID" 2>/dev/null
	wait "$SSTPC_PID" 2>/dev/null
	SSTPC_PID=''
	wait_file "$LAB_SSTP_DIR/sstp-$SSTPC_BE.log" "$SSTPC_CONN .* closed: " 5
	SSTPC_CLOSED=$(grep -E "$SSTPC_CONN .* closed: " "$LAB_SSTP_DIR/sstp-$SSTPC_BE.log" | tail -1)
	SSTPC_ECHO=$(grep -oE 'echo-tx=[0-9]+' <<<"$SSTPC_CLOSED" | cut -d= -f2)
	SSTPC_AFTER=$(grep -oE 'after [0-9.]+s' <<<"$SSTPC_CLOSED" | grep -oE '[0-9.]+')
	SSTPC_HOW=$(grep -oE 'closed: [a-z-]+' <<<"$SSTPC_CLOSED" | cut -d' ' -f2)
	say ""
	if [[ $SSTPC_ALIVE == 1 ]]; then
		say "sstpc, the real client, is still connected on $SSTPC_BE: one TCP connection and one"
		say "SSTP call all along (it hangs up now; its server logs '$SSTPC_HOW after ${SSTPC_AFTER:-?} s')."
	else
		say "sstpc, the real client, is GONE (its server logs: $SSTPC_HOW after ${SSTPC_AFTER:-?} s)."
	fi
	say "Its server asked it for an echo ${SSTPC_ECHO:-0} times (after ${LAB_SSTP_ECHO_INTERVAL} idle seconds each)"
	say "and got ${SSTPC_ANSWERS:-0} answers."
	expect "$SSTPC_ALIVE == 1 && ${SSTPC_ECHO:-0} >= 1 && ${SSTPC_ANSWERS:-0} >= ${SSTPC_ECHO:-0}" \
		"sstpc's session lives through it all, answering its server"
	sum sstpc_alive_end "$SSTPC_ALIVE"
	sum sstpc_secs "${SSTPC_AFTER:-0}"
	sum sstpc_server_echoes "${SSTPC_ECHO:-0}"
	sum sstpc_echo_answers "${SSTPC_ANSWERS:-0}"
fi

# ---- 6. the end -------------------------------------------------------------------------------

heading "6. The end: xlbctl show"
shown "xlbctl show"
xc show | sed 's/^/    /'

heading "In numbers"
say "spread:   $N sessions: ${SPREAD[be1]} / ${SPREAD[be2]} / ${SPREAD[be3]} on be1 / be2 / be3"
say "DSR:      $D_ENCAP packets forwarded by the LB, $D_VIA_LB replies through it"
say "drain:    $D_DR sessions kept on $DR, $DRAIN_NEW_ON new ones sent there, $DRAIN_LOST lost"
say "failure:  $FB down in $FB_DOWN_SECS s, $FB_NEW_ON new sessions sent there"
say "restart:  xlbd killed with SIGKILL: $RESTART_LOST sessions lost, $DEAD_NEW_OK opened while it was dead"
[[ $SSTPC != ok ]] ||
	say "sstpc:    one real client's call lived ${SSTPC_AFTER:-?} s, through all of it, on $SSTPC_BE"
if [[ ${#FAILED[@]} -eq 0 ]]; then
	sum result ok
	say ""
	say "${B}All as expected.${Z}"
else
	sum result fail
	say ""
	say "${R}Not as expected: ${#FAILED[@]} claim(s):${Z}"
	for f in "${FAILED[@]}"; do say "  - $f"; done
	say "(logs: /run/xlb-lab/$P/, with --keep)"
fi
if [[ -n $SUMMARY ]]; then
	for k in "${SUM_ORDER[@]}"; do echo "$k=${SUM[$k]}"; done >"$SUMMARY"
fi
[[ ${#FAILED[@]} -eq 0 ]]
