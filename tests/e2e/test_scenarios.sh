#!/bin/bash
# test_scenarios.sh: an SSTP farm behind xlb, as operators would meet it.
# Real SSTP sessions through the VIPs: Debian's sstpc (one per family
# combination) and many of tests/tools/sstp_client.py; the farm is
# tests/e2e/scenarios_lib.sh's (xlb-lab --control xlbd --service sstp, a
# second SSTP port 8443 whose VIPs use the other family's backends, sstp
# probes, two UDP VIPs). Each scenario prints its evidence as diagnostics.
#
#   1  balancing: 90 sessions to the IPv4 VIP spread over 3 backends, each
#      within 15..45 (binomial(90, 1/3) leaves that range in ~1 run of 700)
#   7  IPv6: sessions over the IPv6 VIP (6-in-6) and both mixed
#      encapsulations (6-in-4, 4-in-6), outer families seen on the wire
#   2  DSR: no packet from a VIP on the LB's link (tcpdump on the LB's eth0
#      and on the router's side of it); the LB forwarded as many packets for
#      the VIPs as the client sent them, none of the answers
#   8  MSS: the LB's clamp of the clients' SYNs and the backends' SYN-ACKs,
#      and full-size segments (sstpc carrying 1400-byte PPP frames) that fit
#      the path once encapsulated, with no ICMP too-big
#   9  path MTU: a 1500-byte DF datagram or segment to a VIP is answered with
#      ICMP fragmentation-needed / packet-too-big carrying mtu - outer header
#  10  SYN flood from random sources in 198.19.0.0/16 (trafgen): new sessions
#      still connect, held ones answer, the flow table does not grow, no
#      flow_overload, and no flood packet leaves the lab's veths
#   6  a session idle for 30 s (no packet at all) works again (no idle
#      timeout in the LB); minutes of it in tests/long/test_idle.sh
#   3  drain: every open session keeps working, also after 'flows flush';
#      new sessions avoid the drained backend
#   4  a backend's SSTP server stops: the probe takes it out, new sessions
#      avoid it, other sessions never notice; it comes back when it recovers
#   5  kill -9 of xlbd under load and a restart: no session lost, new
#      sessions work throughout, the restarted xlbd rewrites nothing
set -u
cd "$(dirname "$0")/../.." || exit 1
source tests/lib/tap.sh
source tests/e2e/lib.sh
source tests/e2e/scenarios_lib.sh

e2e_requirements tcpdump || skip_all "$E2E_MISSING"
farm_requirements || skip_all "$FARM_ERR"
trap farm_cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

PREFIX=xs$$
START=$SECONDS
N4=90 N6=24 N64=12 N46=12	# held sessions per service
SPREAD_MIN=15 SPREAD_MAX=45
IDLE=30				# seconds
FLOOD_RATE=4000 FLOOD_N=60000	# SYNs per second, SYNs
e2e_tmp_init
TMP=$E2E_TMP

if ! farm_up "$PREFIX" 0; then
	[[ $FARM_ERR == "the lab could not be built"* ]] && skip_all "$FARM_ERR"
	bail_out "$FARM_ERR"
fi
cond 1 "farm up in $((SECONDS - START)) s: lab $PREFIX (xlb-lab --control xlbd --service sstp), servers on ports 443 and $PORT2, 6 VIPs, every probed backend up"
diag "VIPs: ${TCP_SVCS[*]} $LAB_VIP4:$UDP_PORT/udp [$LAB_VIP6]:$UDP_PORT/udp"

t_scenario() {	# NAME: how long since the last call
	diag "$1: $((SECONDS - T_LAST)) s"
	T_LAST=$SECONDS
}
T_LAST=$SECONDS

# ==== 1, 7: sessions, spread, families; captures for 2 and 8 ==================================

cap_start "$TMP/client.pcap" client eth0 "host $LAB_VIP4 or host $LAB_VIP6"
CAP_CLIENT=$CAP_PID
cap_start "$TMP/lb.pcap" lb eth0 "src host $LAB_VIP4 or src host $LAB_VIP6"
CAP_LB=$CAP_PID
cap_start "$TMP/rlb.pcap" router lb "src host $LAB_VIP4 or src host $LAB_VIP6"
CAP_RLB=$CAP_PID
CAP_BE=()
for i in 1 2 3; do
	cap_start "$TMP/rbe$i.pcap" router "be$i" "ip proto 4 or ip proto 41 or ip6 proto 4 or ip6 proto 41"
	CAP_BE+=("$CAP_PID")
done
PKT0=$(tcp_vip_packets)
R0=$(reasons)
LBRX0=$(ip -n "$PREFIX-lb" -s -j link show dev eth0 | xq 'd[0]["stats64"]["rx"]["packets"]')

hc_start h443 443 1
hc_start h8443 "$PORT2" 1
hc_cmd h443 "open $LAB_VIP4 $N4"
L4=$HC_LINE
hc_cmd h443 "open $LAB_VIP6 $N6"
L6=$HC_LINE
hc_cmd h8443 "open $LAB_VIP6 $N64"
L64=$HC_LINE
hc_cmd h8443 "open $LAB_VIP4 $N46"
L46=$HC_LINE

bad='' got=''
for b in be1 be2 be3; do
	n=$(kv "$L4" "$b")
	got+=" $b=$n"
	((n >= SPREAD_MIN && n <= SPREAD_MAX)) || bad+=" $b=$n"
done
cond "$(kv "$L4" ok) == $N4 && $(kv "$L4" fail) == 0 && ${#bad} == 0" \
	"1 spread: $N4 SSTP sessions to $SVC4 all up, each backend took $SPREAD_MIN..$SPREAD_MAX:$got" ||
	diag_hc h443
cond "$(kv "$L6" ok) == $N6 && $(kv "$L6" fail) == 0 && $(kv "$L6" be1) > 0 && $(kv "$L6" be2) > 0 && $(kv "$L6" be3) > 0" \
	"7 IPv6 VIP, IPv6 backends (6-in-6): $N6 sessions to $SVC6 up, on every backend (${L6#open })" ||
	diag_hc h443
is "$(kv "$L64" ok)/$(kv "$L64" fail)" "$N64/0" \
	"7 IPv6 VIP, IPv4 backends (6-in-4): $N64 sessions to $SVC64 up (${L64#open })" || diag_hc h8443
is "$(kv "$L46" ok)/$(kv "$L46" fail)" "$N46/0" \
	"7 IPv4 VIP, IPv6 backends (4-in-6): $N46 sessions to $SVC46 up (${L46#open })" || diag_hc h8443

# a real sstpc per family combination
declare -A SC_KIND=([s4]=4-in-4 [s6]=6-in-6 [s64]=6-in-4 [s46]=4-in-6)
start_sstpcs() {	# NAME...: s4, s6, s64, s46 (a trailing r: a replacement)
	local name host port
	for name in "$@"; do
		case ${name%r} in
		s4) host=$LAB_VIP4 port=443 ;;
		s6) host=[$LAB_VIP6] port=443 ;;
		s64) host=[$LAB_VIP6] port=$PORT2 ;;
		s46) host=$LAB_VIP4 port=$PORT2 ;;
		esac
		sstpc_start "$name" "$host" "$port" >"$TMP/sstpc-start.out" 2>&1
		if cond "$? == 0" "sstpc $name: $host port $port (${SC_KIND[${name%r}]}) Call Connected through the VIP, held by ${SC_BE[$name]:-?} (client port ${SC_LPORT[$name]:-?})"; then
			SSTPCS+=("$name")
		else
			sed 's/^/#   /' "$TMP/sstpc-start.out"
			diag_sstpc "$name"
		fi
	done
}
SSTPCS=()	# the sstpc sessions that started
start_sstpcs s4 s6 s64 s46

# 8: full-size data through each sstpc
for name in "${SSTPCS[@]}"; do
	sstpc_ping "$name" 30
	cond "$? == 0" "sstpc $name carries data: 30 PPP frames of 1400 bytes through the VIP, 30 LCP Echo-Replies back to it ($SC_PING)" ||
		diag_sstpc "$name"
done

hc_cmd h443 check
C443=$HC_LINE
hc_cmd h8443 check
C8443=$HC_LINE
is "$(kv "$C443" ok)/$(kv "$C443" fail)/$(kv "$C8443" ok)/$(kv "$C8443" fail)" \
	"$((N4 + N6))/0/$((N64 + N46))/0" "held sessions all answer an Echo Request" ||
	{ diag_hc h443; diag_hc h8443; }
hc_cmd h443 pause
hc_cmd h8443 pause
sleep 0.5
for p in "$CAP_CLIENT" "$CAP_LB" "$CAP_RLB" "${CAP_BE[@]}"; do
	cap_stop "$p"
done
PKT1=$(tcp_vip_packets)
R1=$(reasons)
LBRX1=$(ip -n "$PREFIX-lb" -s -j link show dev eth0 | xq 'd[0]["stats64"]["rx"]["packets"]')
hc_cmd h443 resume
hc_cmd h8443 resume
t_scenario "sessions, sstpc, data"

# ==== 2: DSR =====================================================================================

pcap_dump "$TMP/client.pcap" >"$TMP/client.txt"
for i in 1 2 3; do pcap_dump "$TMP/rbe$i.pcap"; done >"$TMP/rbe.txt"
from_vip=$(awk -v a="$LAB_VIP4" -v b="$LAB_VIP6" '$1 == "-" && ($4 == a || $4 == b)' "$TMP/client.txt" | wc -l)
to_vip=$(awk -v a="$LAB_VIP4" -v b="$LAB_VIP6" '$1 == "-" && $8 == "tcp" && ($6 == a || $6 == b)' "$TMP/client.txt" | wc -l)
encap=$(wc -l <"$TMP/rbe.txt")
n_lb=$(cap_read "$TMP/lb.pcap" | wc -l)
n_rlb=$(cap_read "$TMP/rlb.pcap" | wc -l)
cond "$from_vip > 1000 && $n_lb == 0 && $n_rlb == 0" \
	"2 DSR: the client got $from_vip packets from the VIPs; tcpdump saw $n_lb on the LB's eth0 and $n_rlb on the router's side of it" ||
	{ cap_read "$TMP/lb.pcap" | head -3 | sed 's/^/#   lb: /'; cap_read "$TMP/rlb.pcap" | head -3 | sed 's/^/#   router: /'; }
fwd=$((PKT1 - PKT0))
slack=$((to_vip / 100 > 10 ? to_vip / 100 : 10))
cond "$fwd >= $to_vip - $slack && $fwd <= $to_vip + $slack && $to_vip > 1000" \
	"2 DSR counters: the LB forwarded $fwd packets for the TCP VIPs, the client sent $to_vip to them (±$slack), answers ($from_vip) not among them; $encap encapsulated on the backends' links" ||
	diag "xlbctl stats before/after: $PKT0 / $PKT1"
diag "meanwhile the LB's eth0 received $((LBRX1 - LBRX0)) packets: the $fwd for the VIPs and $((LBRX1 - LBRX0 - fwd)) of its own (xlbd's probes, ARP/ND)"
t_scenario "DSR"

# ==== 8: MSS and segment sizes ======================================================================

# per service: the LB's clamp of the client SYN (seen inside the outer
# header on the backend's link), the SYN-ACK's MSS at the client, the
# largest client segment (inner IP length) and outer packet
mss_check() {
	local svc=$1 fam=$2 port=$3 ofam=$4 olen inner clamp synmss synack maxlen maxouter full ofams same
	olen=$((ofam == 4 ? 20 : 40))
	inner=$((fam == 4 ? 20 : 40))
	clamp=$((LAB_MTU - olen - inner - 20))
	synmss=$(awk -v f="$fam" -v p="$port" '$1 != "-" && $3 == f && $7 == p && $9 == "S" { print $11 }' "$TMP/rbe.txt" | sort -u | tr '\n' ' ')
	ofams=$(awk -v f="$fam" -v p="$port" '$1 != "-" && $3 == f && $7 == p { print $1 }' "$TMP/rbe.txt" | sort -u | tr '\n' ' ')
	maxouter=$(awk -v f="$fam" -v p="$port" '$1 != "-" && $3 == f && $7 == p && $2 > m { m = $2 } END { print m + 0 }' "$TMP/rbe.txt")
	synack=$(awk -v f="$fam" -v p="$port" '$1 == "-" && $3 == f && $5 == p && $9 == "SA" && $11 > m { m = $11 } END { print m + 0 }' "$TMP/client.txt")
	maxlen=$(awk -v f="$fam" -v p="$port" '$1 == "-" && $3 == f && $7 == p && $8 == "tcp" && $10 > m { m = $10 } END { print m + 0 }' "$TMP/client.txt")
	full=$(awk -v f="$fam" -v p="$port" -v l="$((LAB_MTU - olen - 60))" '$1 == "-" && $3 == f && $7 == p && $8 == "tcp" && $10 >= l' "$TMP/client.txt" | wc -l)
	same=0
	[[ ${ofams% } == "$ofam" && ${synmss% } == "$clamp" ]] && same=1
	cond "$same == 1 && $synack > 0 && $synack <= $clamp && $maxlen <= $LAB_MTU - $olen && $full >= 10 && $maxouter <= $LAB_MTU" \
		"8 MSS $svc: outer IPv$ofam; the LB clamped the SYNs to $clamp (= $LAB_MTU-$olen-$inner-20; seen: ${synmss% }), SYN-ACKs offer $synack; client segments up to $maxlen <= $((LAB_MTU - olen)) bytes ($full full-size), outer up to $maxouter <= $LAB_MTU"
}
# The backends' answers take the direct path (no encapsulation, MTU 1500),
# yet their segments are sized by the client's SYN MSS, which the LB lowered
down=$(awk '$1 == "-" && $8 == "tcp" && ($5 == 443 || $5 == '"$PORT2"') { k = $3; if ($10 > m[k]) m[k] = $10 } END { for (k in m) printf "IPv%s %d, ", k, m[k] }' "$TMP/client.txt")
diag "the backends' largest segments to the client (direct path, MTU $LAB_MTU): ${down%, } bytes"
mss_check 4-in-4 4 443 4
mss_check 6-in-6 6 443 6
mss_check 6-in-4 6 "$PORT2" 4
mss_check 4-in-6 4 "$PORT2" 6
d_icmp=$(($(kv "$R1" tx_icmp_too_big) - $(kv "$R0" tx_icmp_too_big)))
d_big=$(($(kv "$R1" drop_too_big) - $(kv "$R0" drop_too_big)))
d_clamp=$(($(kv "$R1" mss_clamped) - $(kv "$R0" mss_clamped)))
cond "$d_icmp == 0 && $d_big == 0 && $d_clamp >= $N4 + $N6 + $N64 + $N46" \
	"8 no segment too big for the path: tx_icmp_too_big +$d_icmp, drop_too_big +$d_big; mss_clamped +$d_clamp"
t_scenario "MSS"

# ==== 6 (start): idle sessions =====================================================================

hc_start idle "$PORT2" 3600		# no background echoes
hc_cmd idle "open $LAB_VIP4 6"
LI4=$HC_LINE
hc_cmd idle "open $LAB_VIP6 4"
LI6=$HC_LINE
is "$(kv "$LI4" ok)/$(kv "$LI6" ok)" 6/4 "6 idle: 10 sessions opened to $SVC46 and $SVC64 (${LI4#open }; ${LI6#open })" ||
	diag_hc idle
read -ra idle_sc <<<"$(hc_conns idle | tr '\n' ' ')"	# sstp_client.py's
# the sstpc sessions on port 8443 are idle too (those servers send no
# echoes), but for sstpc's own Hello: an Echo Request after 60 idle seconds
IDLE_SSTPCS=() idle_sstpc=() HELLO0=0
for name in "${SSTPCS[@]}"; do
	[[ ${SC_PORT[$name]} == "$PORT2" ]] || continue
	IDLE_SSTPCS+=("$name")
	idle_sstpc+=("${SC_CONN[$name]}")
	HELLO0=$((HELLO0 + $(sstpc_hellos "$name")))
done
idle_all=("${idle_sc[@]}" "${idle_sstpc[@]}")
filter=$(conn_filter "${idle_all[@]}")
sleep 0.5	# the last ACKs of the openings
cap_start "$TMP/idle.pcap" client eth0 "$filter"
CAP_IDLE=$CAP_PID
IDLE_T0=$SECONDS
diag "idle from now: ${#idle_all[@]} connections (${idle_all[*]}; the last ${#idle_sstpc[@]}: sstpc ${IDLE_SSTPCS[*]})"

# ==== 9: path MTU ===================================================================================

cat >"$TMP/pmtu.py" <<'EOF'
"""pmtu.py udp ADDR PORT PAYLOAD | tcp ADDR PORT TOTAL SRC: one DF packet;
udp: then a second, and the kernel's path MTU for ADDR."""
import errno, socket, struct, sys, time

def csum(b):
    if len(b) % 2:
        b += b"\0"
    s = sum(struct.unpack(f"!{len(b) // 2}H", b))
    s = (s >> 16) + (s & 0xffff)
    return ~(s + (s >> 16)) & 0xffff

mode, addr, port, size = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
v6 = ":" in addr
if mode == "udp":
    s = socket.socket(socket.AF_INET6 if v6 else socket.AF_INET, socket.SOCK_DGRAM)
    lvl = socket.IPPROTO_IPV6 if v6 else socket.IPPROTO_IP
    s.setsockopt(lvl, 23 if v6 else 10, 2)   # IP(V6)_MTU_DISCOVER = IP_PMTUDISC_DO
    s.connect((addr, port))
    s.send(b"x" * size)
    time.sleep(0.5)
    try:
        s.send(b"x" * size)
        print("second=sent", end=" ")
    except OSError as e:
        print(f"second={errno.errorcode[e.errno]}", end=" ")
    print(f"sport={s.getsockname()[1]} mtu={s.getsockopt(lvl, 24 if v6 else 14)}")
else:
    src = sys.argv[5]
    payload = b"y" * (size - 40)
    sport = 40999
    tcp = struct.pack("!HHIIBBHHH", sport, port, 1, 1, 5 << 4, 0x18, 64240, 0, 0)
    pseudo = socket.inet_aton(src) + socket.inet_aton(addr) + struct.pack("!BBH", 0, 6, len(tcp) + len(payload))
    c = csum(pseudo + tcp + payload)
    tcp = tcp[:16] + struct.pack("!H", c) + tcp[18:]
    iph = struct.pack("!BBHHHBBH4s4s", 0x45, 0, size, 0x1234, 0x4000, 64, 6, 0,
                      socket.inet_aton(src), socket.inet_aton(addr))
    s = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_RAW)
    s.sendto(iph + tcp + payload, (addr, 0))
    print(f"sport={sport} sent={size}")
EOF
cap_start "$TMP/icmp.pcap" client eth0 "icmp or icmp6"
CAP_ICMP=$CAP_PID
R0=$(reasons)
OUT_T=$(in_ns client python3 "$TMP/pmtu.py" tcp "$LAB_VIP4" 443 1500 "$LAB_CLIENT4" 2>&1)
OUT_U4=$(in_ns client python3 "$TMP/pmtu.py" udp "$LAB_VIP4" "$UDP_PORT" 1472 2>&1)
OUT_U6=$(in_ns client python3 "$TMP/pmtu.py" udp "$LAB_VIP6" "$UDP_PORT" 1452 2>&1)
sleep 0.3
cap_stop "$CAP_ICMP"
R1=$(reasons)
pcap_dump "$TMP/icmp.pcap" >"$TMP/icmp.txt"
# the ICMP that quotes a packet from SPORT to DPORT: "SRC TYPE/CODE/MTU/PROTO"
icmp_for() {
	awk -v sp="$1" -v dp="$2" '{ n = split($12, q, "/") } n == 6 && q[5] == sp && q[6] == dp { print $4, q[1] "/" q[2] "/" q[3] "/" q[4]; exit }' "$TMP/icmp.txt"
}
got=$(icmp_for "$(kv "$OUT_T" sport)" 443)
is "$got" "$LAB_VIP4 3/4/1480/tcp" \
	"9 a 1500-byte DF TCP segment to $SVC4: ICMP fragmentation-needed from the VIP, mtu 1480 (= 1500 - 20, IPv4 backends), quoting the segment" ||
	{ diag "$OUT_T"; sed 's/^/#   /' "$TMP/icmp.txt" | head -5; }
got=$(icmp_for "$(kv "$OUT_U4" sport)" "$UDP_PORT")
is "$got/$(kv "$OUT_U4" mtu)/$(grep -o 'second=[A-Z]*' <<<"$OUT_U4")" "$LAB_VIP4 3/4/1480/udp/1480/second=EMSGSIZE" \
	"9 a 1500-byte DF UDP datagram to $LAB_VIP4:$UDP_PORT/udp: ICMP fragmentation-needed, mtu 1480; the client's kernel took it (path MTU 1480, the resend refused)" ||
	{ diag "$OUT_U4"; sed 's/^/#   /' "$TMP/icmp.txt" | head -5; }
got=$(icmp_for "$(kv "$OUT_U6" sport)" "$UDP_PORT")
is "$got/$(kv "$OUT_U6" mtu)/$(grep -o 'second=[A-Z]*' <<<"$OUT_U6")" "$LAB_VIP6 2/0/1460/udp/1460/second=EMSGSIZE" \
	"9 a 1500-byte UDP datagram to [$LAB_VIP6]:$UDP_PORT/udp: ICMPv6 packet-too-big, mtu 1460 (= 1500 - 40, IPv6 backends); the client's kernel took it" ||
	{ diag "$OUT_U6"; sed 's/^/#   /' "$TMP/icmp.txt" | head -5; }
is "$(($(kv "$R1" tx_icmp_too_big) - $(kv "$R0" tx_icmp_too_big)))/$(($(kv "$R1" drop_icmp_rate) - $(kv "$R0" drop_icmp_rate)))" \
	"3/0" "9 the LB counted 3 tx_icmp_too_big, none rate-limited"
in_ns client ip route flush cache
in_ns client ip -6 route flush cache
t_scenario "path MTU"

# ==== 10: SYN flood =================================================================================

flood_cfg() {	# trafgen: SYN, random source in 198.19.0.0/16, random port and sequence, MSS 1460
	local dmac smac
	dmac=$(ip -n "$PREFIX-router" -br link show dev client | awk '{print $3}')
	smac=$(ip -n "$PREFIX-client" -br link show dev eth0 | awk '{print $3}')
	cat <<EOF
{
  0x${dmac//:/, 0x}, 0x${smac//:/, 0x}, c16(0x0800),
  0x45, 0x00, c16(44), drnd(2), c16(0x4000), 64, 6, csumip(14, 33),
  198, 19, drnd(2),
  ${LAB_VIP4//./, },
  drnd(2), c16(443), drnd(4), c32(0), 0x60, 0x02, c16(64240), csumtcp(14, 34), c16(0),
  0x02, 0x04, c16(1460)
}
EOF
}
flood_cfg >"$TMP/syn.cfg"
# the host's own interfaces (this namespace): no packet of the flood may show there
tcpdump -i any -n -U --immediate-mode -s 96 -w "$TMP/host.pcap" "net 198.19.0.0/16" 2>"$TMP/host.pcap.log" &
CAP_HOST=$!
E2E_PIDS+=("$CAP_HOST")
wait_for "$TMP/host.pcap.log" 'listening on' 10
FE0=$(flow_entries)
R0=$(reasons)
NOROUTE0=$(in_ns router nstat -asz IpExtInNoRoutes | awk '$1 == "IpExtInNoRoutes" { print $2 }')
RX0=$(ip -n "$PREFIX-router" -s -j link show dev client | xq 'd[0]["stats64"]["rx"]["packets"]')
read -r D1 D2 D3 <<<"$(link_drops router client rx) $(link_drops router lb tx) $(link_drops lb eth0 rx)"
COOK0=$(be_nstat TcpExtSyncookiesSent)
loop_start f4 443 "$LAB_VIP4"
loop_start f6 "$PORT2" "$LAB_VIP6"
in_ns client trafgen --no-sock-mem --notouch-irq -C -P 1 -o eth0 -i "$TMP/syn.cfg" \
	-n "$FLOOD_N" -b "${FLOOD_RATE}pps" >"$TMP/trafgen.out" 2>&1 &
TG=$!
E2E_PIDS+=("$TG")
sleep $((FLOOD_N / FLOOD_RATE / 2))
hc_cmd h443 check
M443=$HC_LINE
hc_cmd h8443 check
M8443=$HC_LINE
wait "$TG"
TG_RC=$?
pid_forget "$TG"
loop_stop f4
loop_stop f6
FE1=$(flow_entries)
R1=$(reasons)
NOROUTE1=$(in_ns router nstat -asz IpExtInNoRoutes | awk '$1 == "IpExtInNoRoutes" { print $2 }')
RX1=$(ip -n "$PREFIX-router" -s -j link show dev client | xq 'd[0]["stats64"]["rx"]["packets"]')
cap_stop "$CAP_HOST"
pid_forget "$CAP_HOST"
read -r d1 d2 d3 <<<"$(link_drops router client rx) $(link_drops router lb tx) $(link_drops lb eth0 rx)"
diag "flood: the backends sent $(($(be_nstat TcpExtSyncookiesSent) - COOK0)) SYN cookies"
diag "flood: packets dropped on the way: +$((d1 - D1)) router from the client, +$((d2 - D2)) router to the LB, +$((d3 - D3)) into the LB's eth0"
sent=$(grep -oE '[0-9]+ packets outgoing' "$TMP/trafgen.out" | awk '{print $1}')
d_clamp=$(($(kv "$R1" mss_clamped) - $(kv "$R0" mss_clamped)))
# (this 2-core machine is shared: a veth queue may overflow now and then)
cond "$TG_RC == 0 && ${sent:-0} == $FLOOD_N && $RX1 - $RX0 >= $FLOOD_N && $d_clamp >= $FLOOD_N * 95 / 100" \
	"10 SYN flood: trafgen sent ${sent:-0} SYNs ($FLOOD_RATE/s, random sources in 198.19.0.0/16) to $SVC4; the router took $((RX1 - RX0)) packets from the client, the LB forwarded $d_clamp SYNs (mss_clamped; at least 95 %)" ||
	sed 's/^/#   trafgen: /' "$TMP/trafgen.out" | tail -5
f4=$(loop_count f4)
f6=$(loop_count f6)
legit=$((${f4%/*} + ${f6%/*}))
d_over=$(($(kv "$R1" flow_overload) - $(kv "$R0" flow_overload)))
d_miss=$(($(kv "$R1" flow_miss) - $(kv "$R0" flow_miss)))
cond "$FE1 - $FE0 <= $legit + 100 && $d_over == 0" \
	"10 the flood wrote no flow entries: the table went $FE0 -> $FE1 with $legit legitimate sessions opened meanwhile (flow_miss +$d_miss); flow_overload +$d_over with new_flow_limit 2000/s per CPU"
cond "${f4#*/} == 0 && ${f6#*/} == 0 && ${f4%/*} > 10 && ${f6%/*} > 5 && $(kv "$M443" fail) == 0 && $(kv "$M8443" fail) == 0 && $(kv "$M443" lost) == 0 && $(kv "$M8443" lost) == 0" \
	"10 during the flood: new sessions $f4 (ok/failed, $SVC4) and $f6 ($SVC64); all $(($(kv "$M443" ok) + $(kv "$M8443" ok))) held sessions answered mid-flood" ||
	{ grep -m3 'fail=[1-9]' "$TMP/loop-f4.out" "$TMP/loop-f6.out" | sed 's/^/#   /'; diag "$M443"; diag "$M8443"; }
host=$(cap_read "$TMP/host.pcap" | wc -l)
cond "$host == 0 && $NOROUTE1 - $NOROUTE0 > 0" \
	"10 the flood stayed in the lab: 0 packets of 198.19.0.0/16 on the host's interfaces; the router dropped $((NOROUTE1 - NOROUTE0)) answers to the spoofed sources (IpExtInNoRoutes: it has no route there)" ||
	cap_read "$TMP/host.pcap" | head -3 | sed 's/^/#   host: /'
t_scenario "SYN flood"

# ==== 6 (end): after the idle time ====================================================================

while ((SECONDS < IDLE_T0 + IDLE)); do sleep 0.5; done
idle_s=$((SECONDS - IDLE_T0))
cap_stop "$CAP_IDLE"
hello=0
for name in "${IDLE_SSTPCS[@]}"; do hello=$((hello + $(sstpc_hellos "$name"))); done
hello=$((hello - HELLO0))
n_sc=$(pcap_conn_count "$TMP/idle.pcap" "${idle_sc[@]}")
n_sstpc=0
((${#idle_sstpc[@]} == 0)) || n_sstpc=$(pcap_conn_count "$TMP/idle.pcap" "${idle_sstpc[@]}")
left=$(flows_of "${idle_all[@]}" | grep -vc ' none$')
cond "$n_sc == 0 && $n_sstpc <= 4 * $hello && $left == ${#idle_all[@]}" \
	"6 idle $idle_s s: not one packet on the ${#idle_sc[@]} sstp_client.py sessions, $n_sstpc on the ${#idle_sstpc[@]} sstpc sessions ($hello Echo Requests of sstpc's own Hello timer); all ${#idle_all[@]} flow entries still in the table" ||
	cap_read "$TMP/idle.pcap" | head -3 | sed 's/^/#   /'
hc_cmd idle check
is "$(kv "$HC_LINE" ok)/$(kv "$HC_LINE" fail)/$(kv "$HC_LINE" lost)" 10/0/0 \
	"6 after $idle_s s idle: all 10 sessions answer an Echo Request (${HC_LINE#check })" || diag_hc idle
for name in "${IDLE_SSTPCS[@]}"; do
	sstpc_ping "$name" 2
	cond "$? == 0" "6 after $idle_s s idle: sstpc $name (${SC_KIND[$name]}) carries a round trip ($SC_PING)" ||
		diag_sstpc "$name"
done
n=$(flows_active 5000 "${idle_all[@]}")
is "$n" "${#idle_all[@]}" "6 xlbctl flows: the ${#idle_all[@]} connections are active again (seen within 5 s)"
hc_stop idle
t_scenario "idle (overlapping 9 and 10)"

# ==== 3: drain ========================================================================================

# be_addr SVC I: backend I's address in SVC (the family of its backends)
be_addr() {
	case $1 in
	"$SVC4" | "$SVC64") echo "${BE4[$2 - 1]}" ;;
	*) echo "${BE6[$2 - 1]}" ;;
	esac
}

# new_sessions: 30 + 15 + 10 + 10 new sessions over the four TCP VIPs;
# NEW_OK, NEW_FAIL, NEW_BE1..3, NEW_LINE
new_sessions() {
	local t4 t6 t64 t46 t
	sc_once 443 "$LAB_VIP4" 30
	t4=$SC_LINE
	sc_once 443 "$LAB_VIP6" 15
	t6=$SC_LINE
	sc_once "$PORT2" "$LAB_VIP6" 10
	t64=$SC_LINE
	sc_once "$PORT2" "$LAB_VIP4" 10
	t46=$SC_LINE
	NEW_OK=0 NEW_FAIL=0 NEW_BE1=0 NEW_BE2=0 NEW_BE3=0
	for t in "$t4" "$t6" "$t64" "$t46"; do
		NEW_OK=$((NEW_OK + $(kv "$t" ok)))
		NEW_FAIL=$((NEW_FAIL + $(kv "$t" fail)))
		NEW_BE1=$((NEW_BE1 + $(kv "$t" be1)))
		NEW_BE2=$((NEW_BE2 + $(kv "$t" be2)))
		NEW_BE3=$((NEW_BE3 + $(kv "$t" be3)))
	done
	NEW_LINE="4-in-4: ${t4#open }; 6-in-6: ${t6#open }; 6-in-4: ${t64#open }; 4-in-6: ${t46#open }"
}

# held: check both hold clients; HELD "alive ok fail lost be1 be2 be3" summed
held() {
	local a b
	hc_cmd h443 check
	a=$HC_LINE
	hc_cmd h8443 check
	b=$HC_LINE
	HELD_LINE="443: ${a#check }; $PORT2: ${b#check }"
	HELD="$(($(kv "$a" alive) + $(kv "$b" alive))) $(($(kv "$a" ok) + $(kv "$b" ok))) $(($(kv "$a" fail) + $(kv "$b" fail))) $(($(kv "$a" lost) + $(kv "$b" lost))) $(($(kv "$a" be1) + $(kv "$b" be1))) $(($(kv "$a" be2) + $(kv "$b" be2))) $(($(kv "$a" be3) + $(kv "$b" be3)))"
}

sstpcs_alive() {	# the live sstpc sessions' names that are alive, and those not
	local name up='' down=''
	for name in "${SSTPCS[@]}"; do
		if sstpc_alive "$name"; then up+=" $name"; else down+=" $name"; fi
	done
	SC_UP=${up# } SC_DOWN=${down# }
}

held
read -r alive0 _ _ lost0 b10 b20 b30 <<<"$HELD"
for svc in "${TCP_SVCS[@]}"; do
	xc backend drain "$svc" "$(be_addr "$svc" 2)"
done
sleep 1.5	# background echoes on every session
held
is "$HELD" "$alive0 $alive0 0 $lost0 $b10 $b20 $b30" \
	"3 drain be2 in the 4 TCP VIPs: all $alive0 held sessions answer, be2's $b20 too ($HELD_LINE)"
new_sessions
is "$NEW_OK/$NEW_FAIL/$NEW_BE2" "65/0/0" "3 drain: 65 new sessions, none on be2 ($NEW_LINE)"
flushed=$(xc flows flush | awk '{print $1}')
sleep 1.5
held
is "$HELD" "$alive0 $alive0 0 $lost0 $b10 $b20 $b30" \
	"3 'xlbctl flows flush' ($flushed entries): all $alive0 held sessions still answer, be2's by the ring's established-flow slots ($HELD_LINE)"
new_sessions
is "$NEW_OK/$NEW_FAIL/$NEW_BE2" "65/0/0" "3 flushed: 65 new sessions, none on be2 ($NEW_LINE)"
sstpcs_alive
is "$SC_DOWN" "" "3 drain and flush: every sstpc session alive ($SC_UP)"
for name in "${SSTPCS[@]}"; do
	[[ ${SC_BE[$name]} == be2 ]] || continue
	sstpc_ping "$name" 2
	cond "$? == 0" "3 sstpc $name on the draining be2 carries a round trip after the flush ($SC_PING)"
done
for svc in "${TCP_SVCS[@]}"; do
	xc backend undrain "$svc" "$(be_addr "$svc" 2)"
done
sleep 1
new_sessions
held
same=0
[[ $HELD == "$alive0 $alive0 0 $lost0 $b10 $b20 $b30" ]] && same=1
cond "$NEW_OK == 65 && $NEW_FAIL == 0 && $NEW_BE2 > 0 && $same == 1" \
	"3 undrain: new sessions reach be2 again ($NEW_BE2 of 65), held sessions untouched" ||
	{ diag "$NEW_LINE"; diag "$HELD_LINE"; }
t_scenario "drain"

# ==== 4: a backend fails ============================================================================

held
read -r alive0 _ _ lost0 b10 b20 b30 <<<"$HELD"
t0=$SECONDS
"$XLB_LAB" sstp-down --prefix "$PREFIX" be3 >/dev/null
srv2_stop 3
t_down=''
for ((i = 0; i < 80; i++)); do
	h=$(be_health "${BE4[2]}" "${BE6[2]}")
	if [[ $(grep -o 'down/down' <<<"$h" | wc -l) == 4 ]]; then
		t_down=$((SECONDS - t0))
		break
	fi
	sleep 0.25
done
cond "${#t_down} > 0" "4 be3's SSTP servers stopped: its probes took it down in all 4 TCP VIPs within ${t_down:-?} s ($h)"
sleep 1
held	# (a session on be3 that no background echo has tried yet fails here)
held
is "$HELD" "$((alive0 - b30)) $((alive0 - b30)) 0 $((lost0 + b30)) $b10 $b20 0" \
	"4 be3 down: its $b30 sessions are gone, the $((alive0 - b30)) on be1 and be2 all answer ($HELD_LINE)"
new_sessions
is "$NEW_OK/$NEW_FAIL/$NEW_BE3" "65/0/0" "4 be3 down: 65 new sessions, none on be3 ($NEW_LINE)"
sleep 1
sstpcs_alive
dead_ok=1
for name in "${SSTPCS[@]}"; do
	if [[ ${SC_BE[$name]} == be3 ]]; then [[ " $SC_DOWN " == *" $name "* ]] || dead_ok=0
	else [[ " $SC_UP " == *" $name "* ]] || dead_ok=0; fi
done
cond "$dead_ok == 1" "4 sstpc sessions: those on be3 ended (${SC_DOWN:-none}), the others are alive (${SC_UP:-none})"
t0=$SECONDS
"$XLB_LAB" sstp-up --prefix "$PREFIX" be3 >/dev/null
srv2_start 3
t_up=''
for ((i = 0; i < 80; i++)); do
	h=$(be_health "${BE4[2]}" "${BE6[2]}")
	if [[ $(grep -o 'up/active' <<<"$h" | wc -l) == 4 ]]; then
		t_up=$((SECONDS - t0))
		break
	fi
	sleep 0.25
done
cond "${#t_up} > 0" "4 be3's servers back: up and active again in all 4 TCP VIPs within ${t_up:-?} s"
new_sessions
held
same=0
[[ $HELD == "$((alive0 - b30)) $((alive0 - b30)) 0 $((lost0 + b30)) $b10 $b20 0" ]] && same=1
cond "$NEW_OK == 65 && $NEW_FAIL == 0 && $NEW_BE3 > 0 && $same == 1" \
	"4 be3 recovered: new sessions reach it ($NEW_BE3 of 65); the held sessions on be1 and be2 never noticed" ||
	{ diag "$NEW_LINE"; diag "$HELD_LINE"; }
# sessions for what comes next: as many again as be3 lost, and new sstpc
# sessions for those that ended
hc_cmd h443 "open $LAB_VIP4 $((b30 / 2 + 1))"
hc_cmd h8443 "open $LAB_VIP4 $((b30 / 2 + 1))"
restart=()
for name in $SC_DOWN; do restart+=("${name}r"); done
read -ra SSTPCS <<<"$SC_UP"
((${#restart[@]} == 0)) || start_sstpcs "${restart[@]}"
t_scenario "backend failure"

# ==== 5: kill -9 xlbd under load =====================================================================

held
read -r alive0 _ _ lost0 b10 b20 b30 <<<"$HELD"
c0=$(client_nstat TcpRetransSegs)
loop_start k4 443 "$LAB_VIP4"
loop_start k64 "$PORT2" "$LAB_VIP6"
sleep 1.5
PROG=$(xc --json show | xq 'd["interfaces"][0]["prog_id"]')
loop_mark k4 kill
loop_mark k64 kill
"$XLB_LAB" xlbd-down --prefix "$PREFIX" --kill >/dev/null
is "$(lab_get LAB_XLBD_PID)/$(ip -n "$PREFIX-lb" link show dev eth0 | grep -c "prog/xdp id $PROG")" "-/1" \
	"5 xlbd killed with SIGKILL under load ($alive0 sessions echoing every second, new sessions in two loops); its XDP program $PROG stays"
sleep 3
held
is "$HELD" "$alive0 $alive0 0 $lost0 $b10 $b20 $b30" "5 xlbd dead 3 s: all $alive0 held sessions answer ($HELD_LINE)"
ok_n=0
for name in "${SSTPCS[@]}"; do sstpc_ping "$name" 2 && ok_n=$((ok_n + 1)); done
is "$ok_n" "${#SSTPCS[@]}" "5 xlbd dead: all ${#SSTPCS[@]} sstpc sessions carry a round trip (${SSTPCS[*]})"
loop_mark k4 start
loop_mark k64 start
n=$(wc -l <"$LAB_XLBD_LOG")
"$XLB_LAB" xlbd-up --prefix "$PREFIX" >"$TMP/xlbd-up.out" 2>&1
rc=$?
loop_mark k4 started
loop_mark k64 started
writes=$(tail -n +$((n + 1)) "$LAB_XLBD_LOG" | grep -cE ': (added|removed|down|active|draining)$|ring of [0-9]+ slots installed')
adopted=$(tail -n +$((n + 1)) "$LAB_XLBD_LOG" | grep -c "adopted XDP program $PROG")
is "$rc/$adopted/$writes" "0/1/0" "5 xlbd started again under load: it adopted program $PROG and wrote no VIP, backend or ring" ||
	{ tail -n +$((n + 1)) "$LAB_XLBD_LOG" | head -8 | sed 's/^/#   /'; sed 's/^/#   /' "$TMP/xlbd-up.out"; }
sleep 2
held
is "$HELD" "$alive0 $alive0 0 $lost0 $b10 $b20 $b30" "5 after the restart: all $alive0 held sessions answer, none lost ($HELD_LINE)"
loop_stop k4
loop_stop k64
loop_mark k4 end
loop_mark k64 end
c1=$(client_nstat TcpRetransSegs)
dead=$(loop_count k4 kill start) dead6=$(loop_count k64 kill start)
alive=$(loop_count k4 start end) alive6=$(loop_count k64 start end)
cond "${dead#*/} + ${dead6#*/} + ${alive#*/} + ${alive6#*/} == 0 && ${dead%/*} > 0 && ${dead6%/*} > 0 && ${alive%/*} > 0 && ${alive6%/*} > 0" \
	"5 new sessions throughout (ok/failed): $SVC4 $dead while xlbd was dead, $alive from its restart on; $SVC64 $dead6 and $alive6"
diag "the client retransmitted $((c1 - c0)) TCP segments across kill -9 and restart (TcpRetransSegs)"
t_scenario "kill -9"

# ==== the end ========================================================================================

echoed=''
for name in "${!SC_PID[@]}"; do
	[[ ${SC_PORT[$name]} == 443 ]] && echoed+=" $name=$(sstpc_echoes "$name")"
done
sstpcs_alive
ok_n=0
for name in "${SSTPCS[@]}"; do sstpc_ping "$name" 2 && ok_n=$((ok_n + 1)); done
cond "${#SC_DOWN} == 0 && $ok_n == ${#SSTPCS[@]}" \
	"every sstpc session up at the end and carrying a round trip (${SC_UP}); Echo Requests of the port-443 servers answered by sstpc (every 10 idle s):${echoed:- none}"
xc stats | sed 's/^/#   /'
hc_stop h443
hc_stop h8443
step "lab down" lab_down "$PREFIX"
diag "test_scenarios: $((SECONDS - START)) s"
done_testing
