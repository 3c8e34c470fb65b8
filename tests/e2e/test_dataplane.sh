#!/bin/bash
# test_dataplane.sh: the XDP data plane end to end, in a namespace lab
# (scripts/xlb-lab): real TCP and TLS connections from a client to the VIPs,
# balanced by the LB's XDP program, answered by the backends directly (DSR).
# Runs everything once per way of attaching the program (iplink, libxdp).
# Each backend runs tests/tools/lab_server.py, which answers every line with
# the backend's name; tests/tools/lab_client.py is the client.
set -u
cd "$(dirname "$0")/../.." || exit 1
source tests/lib/tap.sh
source tests/e2e/lib.sh

e2e_requirements tcpdump openssl || skip_all "$E2E_MISSING"
e2e_traps

PREFIX=xlbt$$
BACKENDS=3
SPREAD_N=60		# connections per family for the spread check
SPREAD_MIN=6		# each of 3 backends gets 20 on average: accept 6..36
SPREAD_MAX=36		# (binomial(60, 1/3): a whole run, 12 such counts, falls
			# outside by chance about once in 7000 runs)
HOLD4=20 HOLD6=10	# long-lived connections for the drain check
e2e_tmp_init
TMP=$E2E_TMP

make_certs "$TMP" "$BACKENDS" || bail_out "openssl: could not make the lab certificates"

# once NODE ADDR PORT N [ARGS...]: lab_client.py once, output in $TMP/once.out
once() {
	local node=$1
	shift
	in_ns "$node" python3 "$E2E_TOOLS/lab_client.py" once "$1" "$2" -n "$3" "${@:4}" \
		>"$TMP/once.out" 2>&1
}
once_total() { grep '^total ' "$TMP/once.out" | tail -1; }
field() {	# LINE KEY: the value of KEY=VALUE in LINE (0 if absent)
	local v
	v=$(grep -oE "(^| )$2=[0-9]+" <<<"$1" | tail -1 | cut -d= -f2)
	echo "${v:-0}"
}

start_servers() {
	local i f ready=0
	for ((i = 1; i <= BACKENDS; i++)); do
		bg_start "$TMP/srv-be$i.log" "be$i" python3 "$E2E_TOOLS/lab_server.py" --name "be$i" \
			--listen "$LAB_VIP4,80" --listen "$LAB_VIP6,80" \
			--listen "$LAB_VIP4,443,tls" --listen "$LAB_VIP6,443,tls" \
			--cert "$TMP/be$i.pem" --key "$TMP/be$i.key"
	done
	# the LB host's own services: a non-VIP port, and a VIP port on the
	# LB's own address (not a VIP)
	bg_start "$TMP/srv-lb.log" lb python3 "$E2E_TOOLS/lab_server.py" --name lb \
		--listen "$LAB_LB4,8080" --listen "$LAB_LB6,8080" --listen "$LAB_LB4,80"
	for ((i = 1; i <= BACKENDS + 1; i++)); do
		f=$TMP/srv-be$i.log
		((i <= BACKENDS)) || f=$TMP/srv-lb.log
		if wait_for "$f" '^ready$' 10; then
			ready=$((ready + 1))
		else
			echo "not ready: $f:"
			cat "$f"
		fi
	done
	[[ $ready -eq $((BACKENDS + 1)) ]]
}

# answers M FAMILY ADDR: (a) and (c) for one family
answers_and_spread() {
	local m=$1 fam=$2 addr=$3 t i n bad='' got=''
	once client "$addr" 80 "$SPREAD_N"
	t=$(once_total)
	is "$(field "$t" ok)/$(field "$t" fail)" "$SPREAD_N/0" \
		"$m: $fam TCP: all $SPREAD_N connections to $addr:80 answered by a backend" ||
		{ diag "$t"; grep -m5 '^fail' "$TMP/once.out" | sed 's/^/#   /'; diag_lb; }
	for ((i = 1; i <= BACKENDS; i++)); do
		n=$(field "$t" "be$i")
		got+=" be$i=$n"
		((n >= SPREAD_MIN && n <= SPREAD_MAX)) || bad+=" be$i=$n"
	done
	is "${bad:-none}" none \
		"$m: $fam spread: each of $BACKENDS backends got $SPREAD_MIN..$SPREAD_MAX of $SPREAD_N connections (${got# })" ||
		diag "$t"
}

tls_check() {
	local m=$1 fam=$2 addr=$3 t mism
	once client "$addr" 443 9 --tls --ca "$TMP/ca.pem"
	t=$(once_total)
	# the certificate's CN must name the backend that answered
	mism=$(awk '$1 == "ok" && $2 != $4' "$TMP/once.out" | wc -l)
	is "$(field "$t" ok)/$(field "$t" fail)/$mism" "9/0/0" \
		"$m: $fam TLS: 9 handshakes through $addr:443 verified against the lab CA, certificate of the answering backend" ||
		{ diag "$t"; grep -m5 -v '^ok' "$TMP/once.out" | sed 's/^/#   /'; }
}

# hold_cmd CMD: send CMD to the long-lived client, its answer in HOLD_LINE
hold_cmd() {
	HOLD_LINE=''
	echo "$1" >&"${HOLD[1]}" || return 1
	read -r -t 120 HOLD_LINE <&"${HOLD[0]}"
}

# hold_ok NAME: the long-lived connections all still work, none moved
hold_ok() {
	hold_cmd check
	is "$(field "$HOLD_LINE" ok)/$(field "$HOLD_LINE" fail)/$(field "$HOLD_LINE" moved)/$(field "$HOLD_LINE" periodic_fail)" \
		"$((HOLD4 + HOLD6))/0/0/0" "$1" ||
		{ diag "hold client: $HOLD_LINE"; sed 's/^/#   /' "$TMP/hold.err" | tail -5; diag_lb; }
}

# new_conns: 30 IPv4 + 15 IPv6 new connections; sets NEW_OK, NEW_FAIL,
# NEW_BE2 (answered by be2) and NEW_LINE
new_conns() {
	local t4 t6
	once client "$LAB_VIP4" 80 30
	t4=$(once_total)
	once client "$LAB_VIP6" 80 15
	t6=$(once_total)
	NEW_OK=$(($(field "$t4" ok) + $(field "$t6" ok)))
	NEW_FAIL=$(($(field "$t4" fail) + $(field "$t6" fail)))
	NEW_BE2=$(($(field "$t4" be2) + $(field "$t6" be2)))
	NEW_LINE="v4: $t4; v6: $t6"
}

drain_checks() {
	local m=$1 on_be2
	coproc HOLD { exec nsenter --net="/run/netns/$LAB_PREFIX-client" python3 \
		"$E2E_TOOLS/lab_client.py" hold "$LAB_VIP4,80,$HOLD4" "$LAB_VIP6,80,$HOLD6" \
		--interval 0.5 2>"$TMP/hold.err"; }
	E2E_PIDS+=("$HOLD_PID")
	local hold_pid=$HOLD_PID
	HOLD_LINE=''
	read -r -t 60 HOLD_LINE <&"${HOLD[0]}"
	on_be2=$(field "$HOLD_LINE" be2)
	is "$(field "$HOLD_LINE" ok)" "$((HOLD4 + HOLD6))" \
		"$m: drain: $((HOLD4 + HOLD6)) long-lived connections open ($on_be2 on be2)" ||
		{ diag "hold client: $HOLD_LINE"; tail -5 "$TMP/hold.err" | sed 's/^/#   /'; }

	lab_backend_state 2 draining || diag "could not drain be2"
	sleep 1.2	# a couple of background exchanges on every connection
	hold_ok "$m: drain be2: every open connection still works on its backend"
	new_conns
	is "$NEW_OK/$NEW_FAIL/$NEW_BE2" "45/0/0" \
		"$m: drain be2: 45 new connections answered, none by be2" || { diag "$NEW_LINE"; diag_lb; }

	lab_dpctl flows flush >"$TMP/flush.out" 2>&1 || diag "flush: $(cat "$TMP/flush.out")"
	sleep 1.2
	hold_ok "$m: flow table flushed: every open connection still works (be2's too: ring est slots)"
	new_conns
	is "$NEW_OK/$NEW_FAIL/$NEW_BE2" "45/0/0" \
		"$m: flow table flushed: 45 new connections answered, none by be2" || { diag "$NEW_LINE"; diag_lb; }

	lab_backend_state 2 active || diag "could not undrain be2"
	sleep 1.2
	hold_cmd check
	new_conns
	is "$(field "$HOLD_LINE" fail)/$(field "$HOLD_LINE" moved)/$(field "$HOLD_LINE" periodic_fail)/$NEW_FAIL/$((NEW_BE2 > 0))" \
		"0/0/0/0/1" \
		"$m: be2 active again: open connections still work, new ones reach be2 again" ||
		{ diag "hold client: $HOLD_LINE"; diag "$NEW_LINE"; diag_lb; }
	hold_cmd quit
	wait "$hold_pid" 2>/dev/null
}

suite() {
	local m=$1 start=$SECONDS t syn4 syn6 mss4 mss6 clamp4 clamp6 n

	if [[ $m == iplink && -e /sys/fs/bpf/tc/globals/xlb_config ]]; then
		skip "iplink: xlb maps already pinned in /sys/fs/bpf/tc/globals by someone else (a lab with --attach iplink? see 'scripts/xlb-lab status')"
		return
	fi
	if ! step "$m: lab up (xlb-lab up --attach $m, $BACKENDS backends)" \
		lab_up --prefix "$PREFIX" --backends "$BACKENDS" --attach "$m"; then
		lab_down "$PREFIX" >/dev/null 2>&1
		return
	fi
	step "$m: servers listen on the backends and on the LB host" start_servers

	# the client sees the VIPs' answers; the LB must see none of them
	cap_start "$TMP/client.pcap" client eth0 "src host $LAB_VIP4 or src host $LAB_VIP6"
	local cap_client=$CAP_PID
	cap_start "$TMP/lb.pcap" lb eth0 "src host $LAB_VIP4 or src host $LAB_VIP6"
	local cap_lb=$CAP_PID

	answers_and_spread "$m" IPv4 "$LAB_VIP4"
	answers_and_spread "$m" IPv6 "$LAB_VIP6"
	tls_check "$m" IPv4 "$LAB_VIP4"
	tls_check "$m" IPv6 "$LAB_VIP6"

	cap_stop "$cap_client"
	cap_stop "$cap_lb"
	cap_read "$TMP/client.pcap" >"$TMP/client.txt"
	cap_read "$TMP/lb.pcap" >"$TMP/lb.txt"
	n=$(wc -l <"$TMP/client.txt")
	is "$(wc -l <"$TMP/lb.txt")/$((n > 0))" "0/1" \
		"$m: DSR: the client got $n packets from the VIPs, the LB's eth0 saw none" ||
		{ head -5 "$TMP/lb.txt" | sed 's/^/#   lb: /'; }

	# (e) SYN-ACK MSS: the backends clamp to path MTU - 40 (IPv6 outer,
	# xlb-backend-setup's default) - inner IP header - 20
	clamp4=$((LAB_MTU - 40 - 20 - 20))
	clamp6=$((LAB_MTU - 40 - 40 - 20))
	syn4=$(grep -E "^[0-9:.]+ IP $LAB_VIP4\.[0-9]+ > .*Flags \[S\.\]" "$TMP/client.txt")
	syn6=$(grep -E "^[0-9:.]+ IP6 $LAB_VIP6\.[0-9]+ > .*Flags \[S\.\]" "$TMP/client.txt")
	mss4=$(grep -oE 'mss [0-9]+' <<<"$syn4" | awk '$2 > m { m = $2 } END { print m + 0 }')
	mss6=$(grep -oE 'mss [0-9]+' <<<"$syn6" | awk '$2 > m { m = $2 } END { print m + 0 }')
	t=$(grep -c . <<<"$syn4")/$(grep -c . <<<"$syn6")
	cond "$(grep -c 'mss' <<<"$syn4") >= $SPREAD_N + 9 && $(grep -c 'mss' <<<"$syn6") >= $SPREAD_N + 9 && $mss4 > 0 && $mss4 <= $clamp4 && $mss6 > 0 && $mss6 <= $clamp6" \
		"$m: MSS: SYN-ACKs at the client ($t IPv4/IPv6) offer at most $clamp4 (IPv4, largest $mss4) / $clamp6 (IPv6, largest $mss6)"
	n=$(lab_stat mss_clamped)
	cond "$n >= 2 * $SPREAD_N" "$m: MSS: the LB lowered the MSS of the clients' SYNs ($n mss_clamped)" || diag_lb

	drain_checks "$m"

	# (g) the LB host's own traffic passes untouched
	t=$( (in_ns client python3 "$E2E_TOOLS/lab_client.py" ping "$LAB_LB4" -n 2;
	      in_ns client python3 "$E2E_TOOLS/lab_client.py" ping "$LAB_LB6" -n 2) 2>&1 |
	    grep -c '^ping ok=2 fail=0$')
	is "$t" 2 "$m: LB host: ping of its IPv4 and IPv6 addresses answered"
	n=0
	for a in "$LAB_LB4 8080" "$LAB_LB6 8080" "$LAB_LB4 80"; do
		# shellcheck disable=SC2086
		once client $a 3
		[[ $(once_total) == "total ok=3 fail=0 lb=3" ]] && n=$((n + 1))
	done
	is "$n" 3 "$m: LB host: TCP to its own addresses (ports 8080, and 80 on a non-VIP address) answered by the LB itself" ||
		diag_lb

	n=$(lab_stat dropped)
	t=$(lab_stat forwarded)
	cond "$n == 0 && $t > 0" "$m: LB counters: $t packets forwarded, $n dropped" || diag_lb

	step "$m: lab down: namespaces and pinned maps gone" lab_down_clean
	diag "$m: $((SECONDS - start)) s"
}

lab_down_clean() {
	local pins=$LAB_PIN_DIR
	lab_down "$PREFIX" || return 1
	if ip netns list | grep -q "^$PREFIX-"; then
		echo "namespaces left: $(ip netns list | grep "^$PREFIX-")"
		return 1
	fi
	if [[ -e $pins/xlb_config || -e /sys/fs/bpf/xlb-lab/$PREFIX ]]; then
		echo "pins left in $pins or /sys/fs/bpf/xlb-lab/$PREFIX"
		return 1
	fi
}

for method in iplink libxdp; do
	suite "$method"
	# servers and captures of this round are gone with its namespaces
	E2E_PIDS=()
done

done_testing
