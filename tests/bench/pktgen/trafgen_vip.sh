#!/bin/bash
# trafgen_vip.sh: many-flow TCP traffic to a VIP with trafgen (netsniff-ng),
# for a hardware lab: a generator host wired to the LB host's NIC, sending
# frames addressed to the LB's MAC. Every frame is a new flow or an
# established one, as the LB sees them:
#
#   syn   SYNs (with an MSS option) from random sources and ports: a SYN
#         flood, or the first packet of new sessions (ring lookup, MSS clamp)
#   ack   ACKs from random sources and ports: established-looking packets
#         of flows the LB has no entry for (first-ACK path: a flow entry is
#         written, possibly evicting one)
#   seq   ACKs from a source and port that count up: FLOWS distinct flows
#         over and over (established path, flow-table hits once warm)
#
#   trafgen_vip.sh -i eth2 -m 0c:42:a1:00:00:01 -f syn -c 4 -n 0
#   trafgen_vip.sh -i eth2 -m 0c:42:a1:00:00:01 -d 2001:db8::10 -f ack
#   trafgen_vip.sh --print -f seq        # the trafgen configuration only
#
# Kernel pktgen cannot send TCP (it builds UDP only): this is the TCP
# counterpart of pktgen_vip.sh. See README.md for how to read the figures.
set -euo pipefail

usage() {
	cat <<EOF
usage: trafgen_vip.sh -i DEV -m DST_MAC [options]
  -i DEV       interface toward the LB
  -m MAC       destination MAC: the LB's NIC (or the router in front of it)
  -d VIP       IPv4 or IPv6 VIP (default 198.18.0.10)
  -p PORT      VIP port (default 443)
  -s PREFIX    sources: A.B (a /16, IPv4), A.B.C (a /24), or an IPv6 /96
               written as its first 96 bits, e.g. 2001:db8:ff:: (default 198.18
               or 2001:db8:ff::)
  -f KIND      syn | ack | seq (default syn)
  -c CPUS      trafgen processes, one a CPU (default 1)
  -n COUNT     frames in all; 0: until interrupted (default 10000000)
  -r RATE      rate limit, trafgen syntax: 1000000pps, 5Gbit (default: none)
  --print      print the trafgen configuration and exit
EOF
	exit "${1:-2}"
}

DEV='' MAC='' VIP=198.18.0.10 PORT=443 SRC='' KIND=syn CPUS=1 COUNT=10000000 RATE='' PRINT=''
while [[ $# -gt 0 ]]; do
	case $1 in
	-i) DEV=$2; shift ;;
	-m) MAC=$2; shift ;;
	-d) VIP=$2; shift ;;
	-p) PORT=$2; shift ;;
	-s) SRC=$2; shift ;;
	-f) KIND=$2; shift ;;
	-c) CPUS=$2; shift ;;
	-n) COUNT=$2; shift ;;
	-r) RATE=$2; shift ;;
	--print) PRINT=1 ;;
	-h | --help) usage 0 ;;
	*) echo "trafgen_vip.sh: unknown option '$1'" >&2; usage ;;
	esac
	shift
done
[[ $KIND =~ ^(syn|ack|seq)$ ]] || { echo "trafgen_vip.sh: -f: syn, ack or seq" >&2; exit 2; }
[[ $PORT =~ ^[0-9]+$ && $PORT -ge 1 && $PORT -le 65535 ]] || { echo "trafgen_vip.sh: -p: a port" >&2; exit 2; }
[[ -n $PRINT || ( -n $DEV && -n $MAC ) ]] || usage

# The fields that make the flows: source address and port.
if [[ $VIP == *:* ]]; then
	SRC=${SRC:-2001:db8:ff::}
	l3="ipv6(sa=$SRC, da=$VIP, hl=64"
	case $KIND in
	seq) l3+=", sa[15]=dinc()" ;;
	*) l3+=", sa[12:4]=drnd()" ;;
	esac
	l3+=")"
else
	SRC=${SRC:-198.18}
	IFS=. read -r a b c _ <<<"$SRC"
	[[ -n $a && -n $b ]] || { echo "trafgen_vip.sh: -s: A.B or A.B.C" >&2; exit 2; }
	if [[ -n $c ]]; then
		l3="ipv4(sa=$a.$b.$c.0, da=$VIP, ttl=64, df"
		[[ $KIND == seq ]] && l3+=", sa[3]=dinc()" || l3+=", sa[3]=drnd()"
	else
		l3="ipv4(sa=$a.$b.0.0, da=$VIP, ttl=64, df"
		[[ $KIND == seq ]] && l3+=", sa[3]=dinc()" || l3+=", sa[2:2]=drnd()"
	fi
	l3+=")"
fi
case $KIND in
# a SYN as Linux sends it, shortened to the MSS option (kind 2, length 4, 1460)
syn) l4="tcp(sp=drnd(1024, 65535), dp=$PORT, seq=drnd(), syn, win=64240, doff=6), 0x02, 0x04, 0x05, 0xb4" ;;
ack) l4="tcp(sp=drnd(1024, 65535), dp=$PORT, seq=drnd(), aseq=drnd(), ack, win=502)" ;;
# 256 sources (dinc on the last byte) and 257 ports, both counting: 65792 flows
seq) l4="tcp(sp=dinc(1024, 1280), dp=$PORT, seq=1, aseq=1, ack, win=502)" ;;
esac
CONF="{ eth(da=${MAC:-02:00:00:00:00:01}), $l3, $l4 }"

if [[ -n $PRINT ]]; then
	echo "$CONF"
	exit 0
fi
command -v trafgen >/dev/null || { echo "trafgen_vip.sh: trafgen not found (Debian: netsniff-ng)" >&2; exit 1; }
[[ $EUID -eq 0 ]] || { echo "trafgen_vip.sh: needs root" >&2; exit 1; }
args=(--dev "$DEV" --cpus "$CPUS" --num "$COUNT" --no-sock-mem)
[[ -n $RATE ]] && args+=(--rate "$RATE")
echo "trafgen_vip.sh: $KIND to $VIP:$PORT via $DEV ($MAC), $CPUS CPU(s), $COUNT frames (0: until ^C)"
exec trafgen "${args[@]}" "$CONF"
