#!/bin/bash
# How long a change takes to go live: from the xlbctl call to the new ring
# installed (xlbctl returns after xlbd has swapped the ring in). Run by
# tests/bench/run.sh; needs root. Prints one line per case with the median
# and the same run's no-op round trip (xlbctl vip list) as the baseline.
set -euo pipefail
cd "$(dirname "$0")/../.."
BUILD=${BUILD:-build}
ROUNDS=${ROUNDS:-15}
NS=xlbapply$$
TMP=$(mktemp -d)
XLBD_PID=

cleanup() {
	[[ -n $XLBD_PID ]] && kill "$XLBD_PID" 2>/dev/null && wait "$XLBD_PID" 2>/dev/null
	ip netns del "$NS" 2>/dev/null || true
	rm -rf "/sys/fs/bpf/$NS" "$TMP"
}
trap cleanup EXIT

ip netns add "$NS"
ip -n "$NS" link add a0 type veth peer name a1
ip -n "$NS" link set a0 up
ip -n "$NS" link set a1 up
ip -n "$NS" addr add 198.18.200.1/24 dev a0

# backend N (of any VIP): 198.19.N/256.N%256
backend_addr() { echo "198.19.$(( $1 >> 8 )).$(( $1 & 255 ))"; }

write_conf() { # FILE VIPS BACKENDS_PER_VIP [BACKEND_WITH_WEIGHT_2]
	awk -v vips="$2" -v n="$3" -v heavy="${4:--1}" 'BEGIN {
		print "dataplane = { source_v4 = \"198.18.200.1\"; gateway = \"02:00:00:00:00:01\"; };"
		print "vips = ("
		for (v = 0; v < vips; v++) {
			printf "{ service = \"198.18.0.%d:443/tcp\"; backends = (\n", v + 1
			for (b = 0; b < n; b++)
				printf "{ address = \"198.19.%d.%d\"; weight = %d; }%s\n", int(b / 256),
				       b % 256, b == heavy ? 2 : 1, b < n - 1 ? "," : ""
			printf "); }%s\n", v < vips - 1 ? "," : ""
		}
		print ");"
	}' > "$1"
}

start_xlbd() { # RUNTIME-CONF
	cat > "$TMP/xlb.conf" <<CONF
daemon = { interfaces = [ "a0" ]; pin_dir = "/sys/fs/bpf/$NS"; socket = "$TMP/xlbd.sock";
           state_file = "$TMP/state.conf"; log_level = "warning"; };
$(cat "$1")
CONF
	rm -f "$TMP/state.conf"
	nsenter --net=/run/netns/"$NS" "$BUILD"/bin/xlbd -c "$TMP/xlb.conf" -f 2>"$TMP/xlbd.log" &
	XLBD_PID=$!
	for _ in $(seq 200); do
		"$BUILD"/bin/xlbctl -s "$TMP/xlbd.sock" vip list >/dev/null 2>&1 && return 0
		sleep 0.1
	done
	cat "$TMP/xlbd.log" >&2
	return 1
}

stop_xlbd() {
	kill "$XLBD_PID"
	wait "$XLBD_PID" 2>/dev/null || true
	XLBD_PID=
	ip -n "$NS" link set a0 xdp off
	rm -rf "/sys/fs/bpf/$NS"
}

median() { sort -n | awk '{a[NR] = $1} END {printf "%.2f", NR % 2 ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2}'; }

# median in ms of xlbd's own "applied_ms" (request in, maps changed) over
# ROUNDS runs of "$@", which must print xlbctl --json output
applied_ms() {
	local i
	for ((i = 0; i < ROUNDS; i++)); do
		"$@" | python3 -c 'import json,sys; print(json.load(sys.stdin)["applied_ms"])'
	done | median
}

# median in ms of running "$@" ROUNDS times
time_ms() {
	local t0 t1 i
	for ((i = 0; i < ROUNDS; i++)); do
		t0=$(date +%s%N)
		"$@" >/dev/null
		t1=$(date +%s%N)
		echo $(( (t1 - t0) / 1000 ))
	done | sort -n | awk '{a[NR] = $1} END {printf "%.2f", (NR % 2 ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2) / 1000}'
}

ctl() { "$BUILD"/bin/xlbctl -s "$TMP/xlbd.sock" "$@"; }
jctl() { "$BUILD"/bin/xlbctl -s "$TMP/xlbd.sock" --json "$@"; }

# toggle a backend's drain: each call is a new ring for the VIP
toggle=0
drain_toggle() {
	toggle=$((1 - toggle))
	if [[ $toggle -eq 1 ]]; then jctl backend drain "$@"; else jctl backend undrain "$@"; fi
}

# 1 VIP, 1000 backends, M = 65537
write_conf "$TMP/one.conf" 1 1000
start_xlbd "$TMP/one.conf"
noop=$(time_ms ctl vip list)
total=$(time_ms drain_toggle 198.18.0.1:443/tcp "$(backend_addr 7)")
live=$(applied_ms drain_toggle 198.18.0.1:443/tcp "$(backend_addr 7)")
printf 'apply_one_vip n=1000 m=65537 ring_live_ms=%s xlbctl_total_ms=%s noop_roundtrip_ms=%s ratio_total_to_noop=%.1f\n' \
	"$live" "$total" "$noop" "$(echo "$total / $noop" | bc -l)"
stop_xlbd

# 100 VIPs of 500 backends, each VIP's ring rebuilt by one syncconf
write_conf "$TMP/many-a.conf" 100 500
write_conf "$TMP/many-b.conf" 100 500 3
start_xlbd "$TMP/many-a.conf"
noop=$(time_ms ctl vip list)
flip=0
sync_flip() {
	flip=$((1 - flip))
	if [[ $flip -eq 1 ]]; then jctl syncconf "$TMP/many-b.conf"; else jctl syncconf "$TMP/many-a.conf"; fi
}
total=$(time_ms sync_flip)
live=$(applied_ms sync_flip)
printf 'apply_100_vips n=500 m=65537 ring_live_ms=%s xlbctl_total_ms=%s noop_roundtrip_ms=%s ratio_total_to_noop=%.1f\n' \
	"$live" "$total" "$noop" "$(echo "$total / $noop" | bc -l)"
stop_xlbd
