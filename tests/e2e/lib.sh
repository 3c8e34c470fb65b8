# shellcheck shell=bash disable=SC2034
# lib.sh: what the end-to-end tests share: the lab (scripts/xlb-lab), the
# LB's maps (dpctl), processes started in the lab's namespaces, packet
# captures and a lab CA. Source it after tests/lib/tap.sh:
#
#   source "$E2E_ROOT/tests/lib/tap.sh"; source "$E2E_ROOT/tests/e2e/lib.sh"
#   e2e_requirements tcpdump openssl || skip_all "$E2E_MISSING"
#   e2e_traps
#   step "lab up" lab_up --prefix xlbt$$ --attach libxdp
#   in_ns client python3 "$E2E_TOOLS/lab_client.py" once "$LAB_VIP4" 80
#
# Everything started with bg_start or cap_start is stopped by PID in
# e2e_cleanup, and lab_up's lab is taken down there too, also on failure.

E2E_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
E2E_BUILD=${BUILD:-build}
[[ $E2E_BUILD == /* ]] || E2E_BUILD=$E2E_ROOT/$E2E_BUILD
E2E_TOOLS=$E2E_ROOT/tests/tools
XLB_LAB=$E2E_ROOT/scripts/xlb-lab
DPCTL=$E2E_BUILD/tests/tools/dpctl
export BUILD=$E2E_BUILD DPCTL

E2E_PIDS=()		# background processes (bg_start, cap_start)
E2E_LABS=()		# prefixes of labs brought up by lab_up
E2E_TMP=''		# scratch directory (e2e_tmp)
E2E_MISSING=''		# why e2e_requirements failed

# e2e_requirements [CMD...]: root, bpffs, BTF, the built tools and the
# commands every lab needs plus CMD...; on failure E2E_MISSING says why.
e2e_requirements() {
	local c
	if [[ $EUID -ne 0 ]]; then
		E2E_MISSING="needs root (network namespaces, BPF)"
		return 1
	fi
	if ! grep -q ' /sys/fs/bpf bpf ' /proc/mounts; then
		E2E_MISSING="no BPF filesystem on /sys/fs/bpf (mount -t bpf bpf /sys/fs/bpf)"
		return 1
	fi
	if [[ ! -e /sys/kernel/btf/vmlinux ]]; then
		E2E_MISSING="kernel without BTF (/sys/kernel/btf/vmlinux)"
		return 1
	fi
	if ! ip netns add "xlbchk$$" 2>/dev/null; then
		E2E_MISSING="cannot create network namespaces"
		return 1
	fi
	if ! ip -n "xlbchk$$" link add v0 type veth peer name v1 2>/dev/null; then
		ip netns del "xlbchk$$"
		E2E_MISSING="kernel without veth"
		return 1
	fi
	ip netns del "xlbchk$$"
	for c in ip nsenter ethtool sysctl python3 xdp-loader "$@"; do
		if ! command -v "$c" >/dev/null; then
			E2E_MISSING="'$c' not found (scripts/install-deps.sh)"
			return 1
		fi
	done
	for c in "$DPCTL" "$E2E_BUILD/bin/xlb-backend" "$E2E_BUILD/bpf/xlb.bpf.o"; do
		if [[ ! -e $c ]]; then
			E2E_MISSING="$c not built (run 'make')"
			return 1
		fi
	done
}

# e2e_tmp_init: make the scratch directory E2E_TMP (call it in the test's
# own shell, not in $(...): the cleanup must know it).
e2e_tmp_init() {
	[[ -n $E2E_TMP ]] || E2E_TMP=$(mktemp -d /tmp/xlb-e2e.XXXXXX)
}

# step NAME CMD...: one TAP point, passing when CMD exits 0. Unlike tap.sh's
# ok, CMD runs in this shell, so it may set variables and start processes.
# Its output is shown only on failure.
step() {
	local name=$1 rc
	shift
	e2e_tmp_init
	"$@" >"$E2E_TMP/step.out" 2>&1
	rc=$?
	if ! cond "$rc == 0" "$name"; then
		head -40 "$E2E_TMP/step.out" | sed 's/^/#   /'
	fi
	return $rc
}

# e2e_traps: clean up on exit, also when interrupted or timed out.
e2e_traps() {
	trap e2e_cleanup EXIT
	trap 'exit 130' INT
	trap 'exit 143' TERM
}

# Stop every background process we started, take our labs down, remove
# the scratch directory. Safe to call more than once.
e2e_cleanup() {
	local p
	for p in "${E2E_PIDS[@]}"; do
		kill -TERM "$p" 2>/dev/null
	done
	for p in "${E2E_PIDS[@]}"; do
		wait "$p" 2>/dev/null
	done
	E2E_PIDS=()
	for p in "${E2E_LABS[@]}"; do
		"$XLB_LAB" down --prefix "$p" >/dev/null 2>&1
	done
	E2E_LABS=()
	[[ -n $E2E_TMP ]] && rm -rf "$E2E_TMP"
	E2E_TMP=''
}

# ---- the lab --------------------------------------------------------------------

# lab_up ARGS...: xlb-lab up ARGS, then load its description (LAB_*).
lab_up() {
	local prefix=xlb a prev=''
	for a in "$@"; do
		[[ $prev == --prefix ]] && prefix=$a
		prev=$a
	done
	E2E_LABS+=("$prefix")
	"$XLB_LAB" up "$@" || return 1
	lab_env "$prefix"
}

lab_env() {
	eval "$("$XLB_LAB" env --prefix "$1")"
}

lab_down() {
	local p=${1:-$LAB_PREFIX} keep=() q
	"$XLB_LAB" down --prefix "$p" || return 1
	for q in "${E2E_LABS[@]}"; do
		[[ $q == "$p" ]] || keep+=("$q")
	done
	E2E_LABS=("${keep[@]}")
}

# in_ns NODE CMD...: CMD in the lab node's network namespace, with the
# host's /sys/fs/bpf.
in_ns() {
	local node=$1
	shift
	nsenter --net="/run/netns/$LAB_PREFIX-$node" "$@"
}

lab_dpctl() {
	"$DPCTL" -d "$LAB_PIN_DIR" "$@"
}

# lab_backend_state I STATE: set backend I (be1 = 1) of every lab VIP to
# STATE (active, draining, down) and rebuild the VIPs' rings.
lab_backend_state() {
	local i=$1 state=$2 svc vip port proto id addr
	local -a be4 be6
	read -ra be4 <<<"$LAB_BE4"
	read -ra be6 <<<"$LAB_BE6"
	for svc in $LAB_SERVICES; do
		IFS=, read -r vip port proto id <<<"$svc"
		if [[ $vip == *:* ]]; then addr=${be6[i - 1]}; else addr=${be4[i - 1]}; fi
		lab_dpctl backend set $((100 * id + i)) "$id" "$addr" "$state" 2>/dev/null || return 1
	done
	for svc in $LAB_SERVICES; do
		IFS=, read -r vip port proto id <<<"$svc"
		lab_dpctl ring "$vip" "$port" "$proto" >/dev/null || return 1
	done
}

# lab_stat FIELD: a number from 'dpctl stats': a reason name
# (e.g. mss_clamped) or a field of the total line (forwarded, dropped, ...).
lab_stat() {
	lab_dpctl stats | awk -v f="$1" '
		$1 == "reason" && $2 == f { v = $4 }
		$1 == "total" { for (i = 2; i < NF; i += 2) if ($i == f) t = $(i + 1) }
		END { print (v != "" ? v : (t != "" ? t : 0)) }'
}

# Diagnostics: the LB's counters, as TAP comments.
diag_lb() {
	diag "LB counters (dpctl -d $LAB_PIN_DIR stats):"
	lab_dpctl stats 2>&1 | sed 's/^/#   /'
}

# ---- processes ------------------------------------------------------------------

# bg_start OUT NODE CMD...: CMD in NODE's namespace in the background,
# stdout and stderr to OUT; its PID in BG_PID.
bg_start() {
	local out=$1 node=$2
	shift 2
	nsenter --net="/run/netns/$LAB_PREFIX-$node" "$@" >"$out" 2>&1 &
	BG_PID=$!
	E2E_PIDS+=("$BG_PID")
}

bg_stop() {	# PID: TERM it, wait for it
	kill -TERM "$1" 2>/dev/null
	wait "$1" 2>/dev/null
	return 0
}

# wait_for FILE REGEX [SECONDS]: until a line of FILE matches (default 10 s).
wait_for() {
	local file=$1 re=$2 t=${3:-10} i
	for ((i = 0; i < t * 10; i++)); do
		grep -qE "$re" "$file" 2>/dev/null && return 0
		sleep 0.1
	done
	return 1
}

# ---- captures -------------------------------------------------------------------

# cap_start FILE NODE DEV FILTER: tcpdump on NODE's DEV into FILE (pcap)
# until cap_stop; returns once tcpdump listens. Its PID in CAP_PID.
cap_start() {
	local file=$1 node=$2 dev=$3 filter=$4
	nsenter --net="/run/netns/$LAB_PREFIX-$node" \
		tcpdump -i "$dev" -n -U --immediate-mode -s 128 -w "$file" "$filter" 2>"$file.log" &
	CAP_PID=$!
	E2E_PIDS+=("$CAP_PID")
	wait_for "$file.log" 'listening on' 10
}

cap_stop() {
	sleep 0.2	# let tcpdump write what it has read
	kill -INT "$1" 2>/dev/null
	wait "$1" 2>/dev/null
	return 0
}

# cap_read FILE: the capture as text, one packet a line.
cap_read() {
	tcpdump -n -r "$1" 2>/dev/null
}

# ---- TLS ------------------------------------------------------------------------

# make_certs DIR N: DIR/ca.pem and, for i in 1..N, DIR/be$i.{pem,key}: a
# certificate for CN be$i valid for both lab VIPs, signed by the lab CA.
make_certs() {
	local dir=$1 n=$2 i
	local ec=(-newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes)
	openssl req -x509 "${ec[@]}" -days 2 -subj "/CN=xlb lab CA" \
		-addext "basicConstraints=critical,CA:TRUE" \
		-addext "keyUsage=critical,keyCertSign,cRLSign" \
		-keyout "$dir/ca.key" -out "$dir/ca.pem" 2>/dev/null || return 1
	cat >"$dir/ext.cnf" <<EOF
basicConstraints=critical,CA:FALSE
keyUsage=critical,digitalSignature
extendedKeyUsage=serverAuth
subjectKeyIdentifier=hash
authorityKeyIdentifier=keyid
subjectAltName=IP:198.18.0.10,IP:2001:db8::10,DNS:vip.xlb.test
EOF
	for ((i = 1; i <= n; i++)); do
		openssl req "${ec[@]}" -subj "/CN=be$i" -keyout "$dir/be$i.key" \
			-out "$dir/be$i.csr" 2>/dev/null &&
		openssl x509 -req -in "$dir/be$i.csr" -CA "$dir/ca.pem" -CAkey "$dir/ca.key" \
			-CAcreateserial -days 2 -extfile "$dir/ext.cnf" \
			-out "$dir/be$i.pem" 2>/dev/null || return 1
	done
}

# xq EXPR: evaluate the Python expression EXPR on the JSON document on
# stdin (as d); prints scalars as they are, lists and objects as JSON.
xq() {
	python3 -c '
import json, sys
d = json.load(sys.stdin)
v = eval(sys.argv[1])
print(json.dumps(v) if isinstance(v, (dict, list)) else ("true" if v is True else "false" if v is False else v))
' "$1"
}

# kv LINE KEY: the number of KEY=N in LINE (0 if absent)
kv() {
	local v
	v=$(grep -oE "(^| )$2=[0-9]+" <<<"$1" | tail -1 | cut -d= -f2)
	echo "${v:-0}"
}
