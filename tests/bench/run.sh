#!/bin/bash
# make bench: times the hot paths; figures go to stdout and
# $BUILD/bench/results.txt. Not a test: nothing here passes or fails on time.
# Needs root (a network namespace with a veth pair for live-frames runs).
set -euo pipefail
cd "$(dirname "$0")/../.."
BUILD=${BUILD:-build}
NS=xlbbench$$
OUT=$BUILD/bench/results.txt
mkdir -p "$BUILD/bench"

cleanup() { ip netns del "$NS" 2>/dev/null || true; }
trap cleanup EXIT

{
	echo "# xlb benchmarks, $(date -u +%Y-%m-%dT%H:%MZ)"
	echo "# machine: $(nproc) CPUs, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), kernel $(uname -r)"
	echo
	echo "## Maglev build ($BUILD/tests/bench/bench_maglev)"
	"$BUILD"/tests/bench/bench_maglev
	echo
	echo "## Health probes: sstp probes at 1 s, prober and responder on a core each ($BUILD/tests/bench/bench_probe)"
	"$BUILD"/tests/bench/bench_probe -w 5 -s 10 1000 2000 3000
	echo
	echo "## Control plane: xlbctl call to new ring live (tests/bench/bench_apply.sh)"
	BUILD=$BUILD tests/bench/bench_apply.sh
	echo
	echo "## XDP, live frames through a veth into an XDP drop ($BUILD/tests/bench/bench_xdp)"
	ip netns add "$NS"
	ip -n "$NS" link add xb0 type veth peer name xb1
	ip -n "$NS" link set xb0 up
	ip -n "$NS" link set xb1 up
	nsenter --net=/run/netns/"$NS" "$BUILD"/tests/bench/bench_xdp xb0 xb1 "$@"
} 2>&1 | tee "$OUT"

# The race (tests/bench/race.sh, about 6 minutes): xlb against HAProxy and
# NGINX in a namespace lab; its own figures in $BUILD/bench/race.txt.
# RACE=0 skips it.
if [[ ${RACE:-1} != 0 ]]; then
	echo
	echo "## The race: xlb, HAProxy and NGINX in one lab (tests/bench/race.sh)"
	BUILD=$BUILD tests/bench/race.sh
fi
