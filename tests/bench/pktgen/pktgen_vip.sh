#!/bin/bash
# pktgen_vip.sh: many-flow traffic to a VIP with the kernel's packet
# generator (pktgen), for a hardware lab: a generator host wired to the LB
# host's NIC, one pktgen thread per CPU, each on its own TX queue.
#
#   modprobe pktgen
#   pktgen_vip.sh -i eth2 -m 0c:42:a1:00:00:01 -t 4               # IPv4, 4 threads
#   pktgen_vip.sh -i eth2 -m 0c:42:a1:00:00:01 -d 2001:db8::10 -t 4
#   pktgen_vip.sh -i eth2 -m 0c:42:a1:00:00:01 --dry-run          # print, write nothing
#
# pktgen builds UDP only (the protocol is fixed in net/core/pktgen.c): give
# the LB a UDP VIP on the same address and port for this test
# ('xlbctl vip add 198.18.0.10:443/udp' and its backends), which runs the
# same parse, flow table, Maglev and encapsulation code as TCP, less the
# SYN rules. For TCP SYNs and ACKs use trafgen_vip.sh or TRex (../trex/).
#
# Flows: the IPv4 source address is random in -s's range and the UDP source
# port random in -P's range (IPv6: the port only; pktgen has no IPv6 source
# range), so an IPv4 run covers up to (addresses x ports) flows. With -f N,
# pktgen instead keeps N flows, each sending -L frames in a row.
set -euo pipefail

PGDIR=/proc/net/pktgen

usage() {
	cat <<EOF
usage: pktgen_vip.sh -i DEV -m DST_MAC [options]
  -i DEV        interface toward the LB
  -m MAC        destination MAC: the LB's NIC (or the router in front of it)
  -d VIP        IPv4 or IPv6 VIP (default 198.18.0.10)
  -p PORT       VIP port, UDP (default 443)
  -s MIN-MAX    IPv4 sources, or a CIDR (default 198.18.128.0/17)
  -P MIN-MAX    UDP source ports (default 1024-65535)
  -t THREADS    pktgen threads, one a CPU from -C on, one TX queue each (default 1)
  -C CPU        first CPU (default 0)
  -l SIZE       frame size with FCS, bytes (default 64; IPv6 86)
  -n COUNT      frames per thread; 0: until interrupted (default 10000000)
  -r PPS        rate limit per thread, frames/s (default: none)
  -b BURST      frames per xmit_more burst (default 32)
  -f FLOWS      concurrent flows kept by pktgen (default 0: every frame random)
  -L FLOWLEN    frames per flow before it changes, with -f (default 8)
  --dry-run     print what would be written under $PGDIR, write nothing
EOF
	exit "${1:-2}"
}

DEV='' MAC='' VIP=198.18.0.10 PORT=443 SRC=198.18.128.0/17 SPORTS=1024-65535 THREADS=1
CPU0=0 SIZE='' COUNT=10000000 RATE='' BURST=32 FLOWS=0 FLOWLEN=8 DRY=''
while [[ $# -gt 0 ]]; do
	case $1 in
	-i) DEV=$2; shift ;;
	-m) MAC=$2; shift ;;
	-d) VIP=$2; shift ;;
	-p) PORT=$2; shift ;;
	-s) SRC=$2; shift ;;
	-P) SPORTS=$2; shift ;;
	-t) THREADS=$2; shift ;;
	-C) CPU0=$2; shift ;;
	-l) SIZE=$2; shift ;;
	-n) COUNT=$2; shift ;;
	-r) RATE=$2; shift ;;
	-b) BURST=$2; shift ;;
	-f) FLOWS=$2; shift ;;
	-L) FLOWLEN=$2; shift ;;
	--dry-run) DRY=1 ;;
	-h | --help) usage 0 ;;
	*) echo "pktgen_vip.sh: unknown option '$1'" >&2; usage ;;
	esac
	shift
done
[[ -n $DEV && -n $MAC ]] || usage
if [[ -z $SIZE ]]; then
	[[ $VIP == *:* ]] && SIZE=86 || SIZE=64	# IPv6: room for pktgen's 16-byte header
fi
die() { echo "pktgen_vip.sh: $*" >&2; exit 1; }
for n in PORT THREADS CPU0 SIZE COUNT BURST FLOWS FLOWLEN; do
	[[ ${!n} =~ ^[0-9]+$ ]] || die "$n '${!n}': a number"
done
[[ -z $RATE || $RATE =~ ^[0-9]+$ ]] || die "-r '$RATE': frames per second"
((SIZE >= 64 && SIZE <= 9000)) || die "-l $SIZE: 64..9000"

# -s: MIN-MAX or A.B.C.D/LEN, to MIN and MAX
ip2int() { local a b c d; IFS=. read -r a b c d <<<"$1"; echo $(((a << 24) | (b << 16) | (c << 8) | d)); }
int2ip() { echo "$(($1 >> 24 & 255)).$(($1 >> 16 & 255)).$(($1 >> 8 & 255)).$(($1 & 255))"; }
if [[ $SRC == */* ]]; then
	len=${SRC#*/} base=$(ip2int "${SRC%/*}")
	((len >= 8 && len <= 32)) || die "-s $SRC: a prefix length of 8..32"
	mask=$(((0xffffffff << (32 - len)) & 0xffffffff))
	SRC_MIN=$(int2ip $((base & mask)))
	SRC_MAX=$(int2ip $(((base & mask) | (~mask & 0xffffffff))))
else
	SRC_MIN=${SRC%-*} SRC_MAX=${SRC#*-}
fi
SPORT_MIN=${SPORTS%-*} SPORT_MAX=${SPORTS#*-}

# pg FILE CMD: one pktgen command; pktgen answers in the file's Result line
pg() {
	local file=$PGDIR/$1
	if [[ -n $DRY ]]; then
		echo "echo '$2' > $file"
		return 0
	fi
	echo "$2" >"$file" || die "writing '$2' to $file failed"
	[[ $1 == pgctrl ]] && return 0
	grep -q 'Result: OK' "$file" ||
		die "pktgen refused '$2' in $file: $(grep 'Result:' "$file")"
}

if [[ -z $DRY ]]; then
	[[ $EUID -eq 0 ]] || die "needs root"
	[[ -d $PGDIR ]] || die "no $PGDIR: load the module first ('modprobe pktgen'; CONFIG_NET_PKTGEN)"
	[[ -e /sys/class/net/$DEV ]] || die "no interface '$DEV'"
	queues=("/sys/class/net/$DEV/queues/tx-"*)
	nq=${#queues[@]}
	((THREADS <= nq)) || echo "pktgen_vip.sh: $DEV has $nq TX queues for $THREADS threads: queues are shared" >&2
fi

pg pgctrl reset
for ((t = 0; t < THREADS; t++)); do
	cpu=$((CPU0 + t)) d="$DEV@$t"
	pg "kpktgend_$cpu" rem_device_all
	pg "kpktgend_$cpu" "add_device $d"
	pg "$d" "count $COUNT"
	pg "$d" "clone_skb 0"			# a new skb a frame: the random fields change every frame
	pg "$d" "pkt_size $((SIZE - 4))"	# the NIC adds the FCS
	pg "$d" "burst $BURST"
	pg "$d" "delay 0"
	[[ -n $RATE ]] && pg "$d" "ratep $RATE"
	pg "$d" "queue_map_min $t"
	pg "$d" "queue_map_max $t"
	pg "$d" "dst_mac $MAC"
	if [[ $VIP == *:* ]]; then
		pg "$d" "dst6 $VIP"
	else
		pg "$d" "dst $VIP"
		pg "$d" "src_min $SRC_MIN"
		pg "$d" "src_max $SRC_MAX"
		pg "$d" "flag IPSRC_RND"
	fi
	pg "$d" "udp_dst_min $PORT"
	pg "$d" "udp_dst_max $PORT"
	pg "$d" "udp_src_min $SPORT_MIN"
	pg "$d" "udp_src_max $SPORT_MAX"
	pg "$d" "flag UDPSRC_RND"
	pg "$d" "flag UDPCSUM"
	pg "$d" "flag NO_TIMESTAMP"
	if ((FLOWS > 0)); then
		pg "$d" "flows $FLOWS"
		pg "$d" "flowlen $FLOWLEN"
	fi
done

[[ -n $DRY ]] && { echo "echo start > $PGDIR/pgctrl   # blocks until done"; exit 0; }
trap 'echo stop >"$PGDIR/pgctrl"' INT TERM
echo "pktgen_vip.sh: $THREADS thread(s) on $DEV to $VIP:$PORT/udp (^C stops)"
pg pgctrl start || true
trap - INT TERM
total=0
for ((t = 0; t < THREADS; t++)); do
	d="$DEV@$t"
	line=$(grep -A1 'Result:' "$PGDIR/$d" | tail -1)
	echo "$d: $(grep 'Result:' "$PGDIR/$d" | sed 's/^ *//')"
	echo "$d: $line"
	pps=$(grep -oE '[0-9]+pps' <<<"$line" | grep -oE '[0-9]+' || true)
	total=$((total + ${pps:-0}))
done
echo "total: $total frames/s sent (what the LB forwarded: its own counters, 'xlbctl stats')"
pg pgctrl reset
