#!/bin/bash
# test_xlbd.sh: the control plane end to end. A namespace lab without an XDP
# program (xlb-lab up --attach none); xlbd, started by PID in the LB's
# namespace, loads and attaches the program itself and owns the maps;
# xlbctl drives it. Backends run tests/tools/lab_server.py, the client
# tests/tools/lab_client.py, raw socket pokes tests/tools/xlbd_poke.py.
#
#   - every xlbctl verb, plain and --json, against the running xlbd
#   - bad input for each: a clear error naming the object, a non-zero exit,
#     and the running state (showconf, state file) unchanged
#   - state across restarts (SIGTERM and kill -9): showconf, ids, program
#   - kill -9 under steady TCP: no connection lost, no retransmission, new
#     connections work while xlbd is dead
#   - drain, flush, undrain with open connections; active flow counts;
#     backend del refused while flows remain, accepted with --force; so is a
#     syncconf that would remove the backend
#   - the router's MAC changes: picked up, traffic flows
#   - a corrupt state file or a bad config refused at start with file:line,
#     the data plane untouched; setconf of a bad file refused
#   - the control socket: mode 0600, malformed lines, huge lines, stalls
#   - Prometheus metrics that move with traffic
set -u
cd "$(dirname "$0")/../.." || exit 1
source tests/lib/tap.sh
source tests/e2e/lib.sh
source tests/e2e/xlbd_lib.sh

e2e_requirements curl nstat timeout || skip_all "$E2E_MISSING"
for f in "$XLBD" "$XLBCTL"; do
	[[ -x $f ]] || skip_all "$f not built (run 'make')"
done
e2e_traps

PREFIX=xd$$
BACKENDS=3
POKE=$E2E_TOOLS/xlbd_poke.py
e2e_tmp_init
TMP=$E2E_TMP
START=$SECONDS

# no lab, nothing to test: skip, saying why
if ! lab_up --prefix "$PREFIX" --backends "$BACKENDS" --attach none >"$TMP/lab-up.out" 2>&1; then
	skip_all "the lab could not be built: $(grep -v '^xlb-lab: up failed' "$TMP/lab-up.out" |
		tail -1)"
fi
diag "lab $PREFIX up: client, router, lb, be1..be$BACKENDS (xlb-lab up --attach none)"
xlbd_setup "$TMP/xlbd"
EXTRA=198.18.0.11:443/tcp	# a VIP for the verbs (not routed: no traffic)

start_servers() {
	local i ready=0
	for ((i = 1; i <= BACKENDS; i++)); do
		bg_start "$TMP/srv-be$i.log" "be$i" python3 "$E2E_TOOLS/lab_server.py" --name "be$i" \
			--listen "$LAB_VIP4,80" --listen "$LAB_VIP6,80"
	done
	for ((i = 1; i <= BACKENDS; i++)); do
		wait_for "$TMP/srv-be$i.log" '^ready$' 10 && ready=$((ready + 1))
	done
	[[ $ready -eq $BACKENDS ]]
}
step "servers listen on the backends" start_servers

# re TEXT: TEXT as an extended regex that matches it literally
re() {
	# shellcheck disable=SC2001 # a class of characters, not one string
	sed 's/[][\.*^$+?(){}|]/\\&/g' <<<"$1"
}

# vip_add_by_syncconf SVC SETTINGS: when 'xlbctl vip add' fails, add the
# VIP with syncconf instead, so the tests that need it still run
vip_add_by_syncconf() {
	diag "adding $1 with syncconf instead, to go on"
	xc showconf | python3 -c '
import sys
t = sys.stdin.read().rstrip()
assert t.endswith(");")
print(t[:-2].rstrip() + ",\n  { service = \"%s\"; %s }\n);" % (sys.argv[1], sys.argv[2]))
' "$1" "$2" >"$TMP/add-vip.conf" && xc syncconf "$TMP/add-vip.conf"
}

# restore_conf TEXT: put back a running config that a wrongly accepted
# request changed, so the tests after it still mean something
restore_conf() {
	diag "restoring the running config with setconf, to go on"
	echo "$1" >"$TMP/restore.conf"
	xc setconf "$TMP/restore.conf"
}

# (rc, stdout+stderr) of one xlbctl call: XC_RC, XC_OUT
xcr() {
	XC_OUT=$(xc "$@" 2>&1)
	XC_RC=$?
}

json_ok() {	# the JSON on stdin parses
	python3 -c 'import json, sys; json.load(sys.stdin)' 2>/dev/null
}

# ---- start ------------------------------------------------------------------------------

xlbd_run_once -c "$XLBD_CONF" --check
is "$XLBD_RC/$(grep -c 'configuration OK' <<<"$XLBD_OUT")" 0/1 "xlbd --check: the lab's config is OK" ||
	diag "$XLBD_OUT"

if ! step "xlbd starts in $LAB_PREFIX-lb and answers on $XLBD_SOCK" xlbd_start; then
	diag_xlbd
	bail_out "xlbd did not start"
fi
PROG_ID=$(lb_prog_id)
xcr --json show
is "$(xq 'd["interfaces"][0]["name"] + " " + d["interfaces"][0]["mode"] + " " + str(d["interfaces"][0]["prog_id"])' <<<"$XC_OUT")" \
	"$LAB_LB_DEV native $PROG_ID" "xlbd attached its program to $LAB_LB_DEV, native mode (prog $PROG_ID)"
ROUTER_MAC=$(ip -n "$LAB_PREFIX-router" -br link show dev lb | awk '{print $3}')
is "$(xq 'd["gateway"].get("mac")' <<<"$XC_OUT")" "$ROUTER_MAC" \
	"the gateway is the router's MAC ($ROUTER_MAC), resolved from the kernel"
is "$(stat -c '%a %U' "$XLBD_SOCK")" "600 root" "the control socket is mode 0600, owned by root"
is "$(stat -c '%a' "$XLBD_STATE" 2>/dev/null)" 600 "the state file is written at start, mode 0600"

new_conns 30 15
if ! is "$NEW_OK/$NEW_FAIL" "45/0" "traffic: 45 new connections to both VIPs answered"; then
	diag "$NEW_LINE"
	diag_xlbd
	bail_out "no traffic through the VIPs: everything after this would only time out"
fi

# ---- every verb -------------------------------------------------------------------------

verbs() {
	local out n

	xcr show
	cond "$XC_RC == 0 && $(grep -cE "^interfaces: $LAB_LB_DEV \(native, prog $PROG_ID\)" <<<"$XC_OUT") == 1 && $(grep -c "^gateway: $ROUTER_MAC" <<<"$XC_OUT") == 1 && $(grep -cE "^VIP ($LAB_VIP4:80/tcp|\[$LAB_VIP6\]:80/tcp) " <<<"$XC_OUT") == 2" \
		"show: interfaces, gateway, both VIPs" || diag "$XC_OUT"
	xcr show "$SVC4"
	cond "$XC_RC == 0 && $(grep -c '^VIP ' <<<"$XC_OUT") == 1 && $(grep -cE "^ +${BE4[1]} " <<<"$XC_OUT") == 1" \
		"show VIP: that VIP only, with its backends" || diag "$XC_OUT"

	for v in "show" "stats" "vip list" "vip show $SVC6" "backend list $SVC4" "flows" \
		 "flows $SVC4 ${BE4[0]} --limit 2" "show $SVC4" "showconf"; do
		read -ra words <<<"$v"
		xcr --json "${words[@]}"
		out=$XC_OUT
		json_ok <<<"$out"
		is "$XC_RC/$?" 0/0 "--json $v: parses as JSON" || diag "$out"
	done
	xcr flows "$SVC4" "${BE4[0]}" --limit 2 --json
	n=$(xq 'len(d["flows"])' <<<"$XC_OUT")
	cond "${n:-9} <= 2" "flows VIP BACKEND --limit 2 (--json after the command): at most 2 flows ($n)"

	xcr stats
	cond "$XC_RC == 0 && $(grep -c "^$LAB_VIP4:80/tcp " <<<"$XC_OUT") == 1 && $(grep -cE '^  (REASON|\(no drops)' <<<"$XC_OUT") == 1" \
		"stats: traffic per VIP and the reasons" || diag "$XC_OUT"
	out=$(timeout 2.6 "$XLBCTL" -s "$XLBD_SOCK" stats --watch 1 2>&1)
	cond "$(grep -c 'PKTS/S' <<<"$out") >= 1" "stats --watch 1: rates after the first second" ||
		diag "$out"

	xcr vip list
	is "$XC_RC:$(tr '\n' ' ' <<<"$XC_OUT")" "0:$SVC4 $SVC6 " "vip list: both VIPs"

	xcr vip add "$EXTRA" ring-size 1021 mss 1400 hash source
	is "$XC_RC:$XC_OUT" "0:" "vip add VIP ring-size mss hash: silent success" ||
		vip_add_by_syncconf "$EXTRA" 'ring_size = 1021; mss = 1400; hash = "source";'
	xcr --json vip show "$EXTRA"
	is "$(xq '"%s %s %s %d" % (d["ring_size"], d["mss"], d["hash"], len(d["backends"]))' <<<"$XC_OUT")" \
		"1021 1400 source 0" "vip show: ring 1021, mss 1400, hash source, no backends"
	xcr vip show "$EXTRA"
	cond "$XC_RC == 0 && $(grep -c 'no backends' <<<"$XC_OUT") == 1" \
		"vip show (plain): says there are no backends and how to add one" || diag "$XC_OUT"
	xcr vip set "$EXTRA" ring-size 2039 mss 0 hash 5-tuple
	xcr --json vip show "$EXTRA"
	is "$(xq '"%s %s %s" % (d["ring_size"], d["mss"], d["hash"])' <<<"$XC_OUT")" "2039 0 5-tuple" \
		"vip set: ring 2039, mss 0, hash 5-tuple"
	xcr --json vip set "$EXTRA" ring-size 2039
	json_ok <<<"$XC_OUT"
	is "$XC_RC/$?" 0/0 "vip set --json: its answer parses as JSON" || diag "$XC_OUT"

	xcr backend add "$EXTRA" 198.18.104.2 weight 5
	is "$XC_RC:$XC_OUT" "0:" "backend add VIP ADDR weight 5"
	xcr backend add "$EXTRA" 2001:db8:104::2 drain
	is "$XC_RC" 0 "backend add VIP IPv6-ADDR drain (mixed families)"
	xcr backend add "$EXTRA" 198.18.105.2 disabled
	is "$XC_RC" 0 "backend add VIP ADDR disabled"
	xcr --json backend list "$EXTRA"
	is "$(xq '" ".join("%s/%s/%s/%s" % (b["address"], b["weight"], b["admin"], b.get("state")) for b in d)' <<<"$XC_OUT")" \
		"198.18.104.2/5/active/active 2001:db8:104::2/1/draining/draining 198.18.105.2/1/disabled/down" \
		"backend list: weight, admin and state of each"
	xcr backend set "$EXTRA" 198.18.104.2 weight 7
	xcr backend set "$EXTRA" 198.18.105.2 disabled off
	xcr --json backend list "$EXTRA"
	is "$(xq '" ".join("%s/%s" % (b["weight"], b["admin"]) for b in d)' <<<"$XC_OUT")" \
		"7/active 1/draining 1/active" "backend set: weight 7; disabled off"
	xcr backend set "$EXTRA" 198.18.105.2 disabled on
	xcr backend drain "$EXTRA" 198.18.104.2
	xcr --json backend list "$EXTRA"
	is "$(xq '" ".join("%s/%s" % (b["admin"], b.get("state")) for b in d)' <<<"$XC_OUT")" \
		"draining/draining draining/draining disabled/down" "backend drain; backend set disabled on"
	xcr backend undrain "$EXTRA" 198.18.104.2
	xcr backend undrain "$EXTRA" 2001:db8:104::2
	xcr --json backend list "$EXTRA"
	is "$(xq '" ".join("%s/%s" % (b["admin"], b.get("state")) for b in d)' <<<"$XC_OUT")" \
		"active/active active/active disabled/down" "backend undrain"
	xcr backend del "$EXTRA" 198.18.105.2
	is "$XC_RC:$XC_OUT" "0:" "backend del: silent success"
	xcr --json backend list "$EXTRA"
	is "$(xq '" ".join(b["address"] for b in d)' <<<"$XC_OUT")" "198.18.104.2 2001:db8:104::2" \
		"backend del (no flows): gone"
	xcr backend list "$EXTRA"
	cond "$XC_RC == 0 && $(grep -cE '^ +(198\.18\.104\.2|2001:db8:104::2) ' <<<"$XC_OUT") == 2" \
		"backend list (plain): a row per backend" || diag "$XC_OUT"

	xcr vip add 198.18.0.12:8443/tcp
	is "$XC_RC" 0 "vip add VIP (defaults)" || vip_add_by_syncconf 198.18.0.12:8443/tcp ''
	xcr --json vip show 198.18.0.12:8443/tcp
	is "$(xq '"%s %s %s" % (d["ring_size"], d["mss"], d["hash"])' <<<"$XC_OUT")" "65537 0 5-tuple" \
		"vip add: defaults ring 65537, mss 0, hash 5-tuple"
	xcr vip del 198.18.0.12:8443/tcp
	is "$XC_RC:$XC_OUT:$(xc vip list | grep -c 198.18.0.12:8443/tcp)" "0::0" "vip del (no flows): gone"
	xcr vip add 198.18.0.12:8443/tcp
	[[ $XC_RC == 0 ]] || vip_add_by_syncconf 198.18.0.12:8443/tcp ''
	xcr vip del 198.18.0.12:8443/tcp --force
	is "$XC_RC:$(xc vip list | grep -c 198.18.0.12:8443/tcp)" "0:0" "vip del --force"

	xcr flows
	cond "$XC_RC == 0 && $(grep -c '^CLIENT ' <<<"$XC_OUT") == 1 && $(grep -cE '^[0-9]+ active flows' <<<"$XC_OUT") == 1" \
		"flows (plain): a table and a count" || diag "$XC_OUT"
	xcr flows flush "$EXTRA"
	is "$XC_RC:$XC_OUT" "0:0 flow entries removed" "flows flush VIP: nothing to remove for an idle VIP"
	xcr --json flows flush "$SVC6" "${BE6[0]}"
	is "$XC_RC/$(xq 'type(d["flushed"]).__name__' <<<"$XC_OUT")" 0/int "flows flush VIP BACKEND --json: a count"

	xc showconf >"$TMP/show1.conf"
	cond "$(grep -c "service = \"$EXTRA\";" "$TMP/show1.conf") == 1 && $(grep -c 'ring_size = 2039;' "$TMP/show1.conf") == 1 && $(grep -c '^daemon' "$TMP/show1.conf") == 0" \
		"showconf: the running dataplane and VIPs, no daemon section" || sed 's/^/#   /' "$TMP/show1.conf"
	xcr setconf "$TMP/show1.conf"
	xc showconf >"$TMP/show2.conf"
	is "$XC_RC/$(cmp -s "$TMP/show1.conf" "$TMP/show2.conf" && echo same)" 0/same \
		"setconf of showconf's output: showconf unchanged (round trip)"
	xcr setconf - <"$TMP/show1.conf"
	is "$XC_RC" 0 "setconf - (stdin)"
	sed 's/{ address = "198.18.104.2"; weight = 7; }/{ address = "198.18.104.2"; weight = 9; }/' \
		"$TMP/show1.conf" >"$TMP/sync.conf"
	xcr syncconf "$TMP/sync.conf"
	xc showconf >"$TMP/show3.conf"
	is "$XC_RC/$(diff "$TMP/show1.conf" "$TMP/show3.conf" | grep -c '^[<>]')/$(cmp -s "$TMP/sync.conf" "$TMP/show3.conf" && echo same)" \
		"0/2/same" "syncconf FILE: one weight changed, showconf equals the file"

	xcr detach "$LAB_LB_DEV"
	xcr --json show
	is "$(xq 'len(d["interfaces"])' <<<"$XC_OUT")/$(lb_prog_id)" 0/0 \
		"detach $LAB_LB_DEV: no interface in show, no XDP program on the device"
	xcr show
	cond "$(grep -c "^interfaces: none ('xlbctl attach IF')" <<<"$XC_OUT") == 1" \
		"show (plain) after detach: 'interfaces: none' and the fix" || diag "$XC_OUT"
	xcr attach "$LAB_LB_DEV"
	is "$XC_RC/$(lb_prog_id)" "0/$PROG_ID" "attach $LAB_LB_DEV: the same program is back"
	xcr attach "$LAB_LB_DEV"
	is "$XC_RC" 0 "attach again: nothing to do, no error"
	once "$LAB_VIP4" 80 10
	is "$(kv "$ONCE_LINE" ok)/$(kv "$ONCE_LINE" fail)" 10/0 "traffic flows again after detach + attach" ||
		diag "$ONCE_LINE"

	xcr help
	n=0
	for w in "show" "stats" "vip list" "vip show" "vip add" "vip set" "vip del" "backend list" \
		 "backend add" "backend set" "backend drain" "backend undrain" "backend del" \
		 "flows flush" "flows" "showconf" "setconf" "syncconf" "attach" "detach" "help"; do
		grep -qE "^  $w " <<<"$XC_OUT" && n=$((n + 1))
	done
	is "$XC_RC/$n" 0/21 "help: lists all 21 commands"
	xcr help backend
	is "$XC_RC/$(grep -c '^xlbctl backend ' <<<"$XC_OUT")" 0/6 "help backend: the six backend commands"
	xcr help vip add
	is "$XC_RC/$(grep -c '^xlbctl vip add VIP ' <<<"$XC_OUT")" 0/1 "help vip add: its usage"
	"$XLBCTL" -h >/dev/null 2>&1
	is "$?" 0 "xlbctl -h"
}
verbs

# ---- bad input -----------------------------------------------------------------------------

# bad RC REGEX ARGS...: xlbctl ARGS exits RC and prints a line matching REGEX
bad() {
	local want=$1 re=$2 m
	shift 2
	xcr "$@"
	m=$(grep -cE -- "$re" <<<"$XC_OUT")
	is "$XC_RC/$m" "$want/1" "refused: xlbctl $* -> ${XC_OUT:-(nothing)}" ||
		diag "wanted exit $want and a line matching: $re"
}

bad_input() {
	local conf0 sum0 B=${BE4[1]}
	conf0=$(xc showconf)
	sum0=$(md5sum <"$XLBD_STATE")

	# unknown objects: named, with where to look
	bad 1 "VIP 198\.18\.0\.99:80/tcp: no such VIP \(see 'xlbctl vip list'\)" vip show 198.18.0.99:80/tcp
	bad 1 "VIP 198\.18\.0\.99:80/tcp: no such VIP" vip set 198.18.0.99:80/tcp mss 1400
	bad 1 "VIP 198\.18\.0\.99:80/tcp: no such VIP" vip del 198.18.0.99:80/tcp
	bad 1 "VIP 198\.18\.0\.99:80/tcp: no such VIP" backend add 198.18.0.99:80/tcp 198.18.104.2
	bad 1 "VIP 198\.18\.0\.99:80/tcp: no such VIP" backend list 198.18.0.99:80/tcp
	bad 1 "VIP 198\.18\.0\.99:80/tcp: no such VIP" flows 198.18.0.99:80/tcp
	bad 1 "VIP 198\.18\.0\.99:80/tcp: no such VIP" show 198.18.0.99:80/tcp
	bad 1 "backend 198\.18\.109\.2: no such backend of $LAB_VIP4:80/tcp \(see 'xlbctl backend list $LAB_VIP4:80/tcp'\)" \
		backend drain "$SVC4" 198.18.109.2
	bad 1 "backend 198\.18\.109\.2: no such backend of" backend undrain "$SVC4" 198.18.109.2
	bad 1 "backend 198\.18\.109\.2: no such backend of" backend set "$SVC4" 198.18.109.2 weight 2
	bad 1 "backend 198\.18\.109\.2: no such backend of" backend del "$SVC4" 198.18.109.2
	bad 1 "backend 198\.18\.109\.2: no such backend of" flows flush "$SVC4" 198.18.109.2
	bad 1 "VIP $LAB_VIP4:80/tcp already exists" vip add "$SVC4"
	bad 1 "backend $B of $LAB_VIP4:80/tcp already exists" backend add "$SVC4" "$B"
	# bad addresses and services, quoted
	bad 1 '"198\.18\.300\.2" is not an IPv4 or IPv6 address' backend add "$SVC4" 198.18.300.2
	bad 1 '"2001:db8::1::2" is not an IPv4 or IPv6 address' backend drain "$SVC6" 2001:db8::1::2
	bad 1 '"198\.18\.0\.300:80/tcp" is not a service; write ADDRESS:PORT/tcp' vip add 198.18.0.300:80/tcp
	bad 1 '"198\.18\.0\.12:0/tcp" is not a service' vip add 198.18.0.12:0/tcp
	bad 1 '"198\.18\.0\.12:80/sctp" is not a service' vip add 198.18.0.12:80/sctp
	bad 1 '"198\.18\.0\.12" is not a service' vip show 198.18.0.12
	# out of range, with the fix
	bad 1 "VIP 198\.18\.0\.12:80/tcp: ring size 65536 is not a prime; use 65521 or 65537" \
		vip add 198.18.0.12:80/tcp ring-size 65536
	bad 1 "VIP $EXTRA: ring size 1022 is not a prime; use 1021 or 1031" vip set "$EXTRA" ring-size 1022
	# like every other VIP error, range errors name the VIP
	bad 1 'VIP 198\.18\.0\.12:80/tcp: .*"?ring_?size"? .*1000.* 1021 .*1048573' \
		vip add 198.18.0.12:80/tcp ring-size 1000
	bad 1 "VIP $EXTRA: .*\"?ring_?size\"? .*2000000.* 1021 .*1048573" vip set "$EXTRA" ring-size 2000000
	bad 1 "VIP 198\.18\.0\.12:80/tcp: mss 100 is below 536" vip add 198.18.0.12:80/tcp mss 100
	bad 1 "VIP $EXTRA: .*\"?mss\"? .*9001.*9000" vip set "$EXTRA" mss 9001
	bad 1 "VIP 198\.18\.0\.12:80/tcp: hash \"crc\" is unknown; use \"5-tuple\" or \"source\"" \
		vip add 198.18.0.12:80/tcp hash crc
	# the weight's range, and whose weight it is
	bad 1 "backend 198\.18\.106\.2 of $EXTRA: [^:]*\"?weight\"?[^0-9]* 0[^0-9].*1000" \
		backend add "$EXTRA" 198.18.106.2 weight 0
	bad 1 "backend $B of $LAB_VIP4:80/tcp: [^:]*\"?weight\"?[^0-9]* 1001[^0-9].*1000" \
		backend set "$SVC4" "$B" weight 1001
	bad 1 '"limit" is 0; it must be from 1' flows --limit 0
	# the command line itself
	bad 2 'vip add: unknown option "bogus" \(usage: xlbctl vip add VIP' vip add 198.18.0.12:80/tcp bogus 1
	bad 2 'backend add: unknown option "weihgt"' backend add "$SVC4" 198.18.104.2 weihgt 2
	bad 2 'backend drain: unknown option "now"' backend drain "$SVC4" "$B" now
	bad 2 'attach: unknown option "--bogus"' attach "$LAB_LB_DEV" --bogus
	bad 2 'unknown option "--bogus" \(see .xlbctl help.\)' --bogus show
	bad 2 'backend del: missing arguments \(usage: xlbctl backend del VIP ADDRESS' backend del "$SVC4"
	bad 2 'vip show: missing arguments' vip show
	bad 2 'setconf: missing arguments' setconf
	bad 2 'backend set: "weight" needs a value' backend set "$SVC4" "$B" weight
	bad 2 'weight: "-3" is not a whole number' backend set "$SVC4" "$B" weight -3
	bad 2 'weight: "3x" is not a whole number' backend add "$SVC4" 198.18.106.2 weight 3x
	bad 2 '"disabled" takes on or off, not "maybe"' backend set "$SVC4" "$B" disabled maybe
	bad 2 'vip list: too many arguments' vip list extra
	bad 2 'detach: too many arguments' detach "$LAB_LB_DEV" lo
	bad 2 'stats: --watch takes a number of seconds' stats --watch 0
	bad 2 'unknown command "frobnicate" \(see .xlbctl help.\)' frobnicate
	bad 1 'interface nosuch0: no such device' attach nosuch0
	bad 1 'interface lo: xlb is not attached there' detach lo
	bad 1 'cannot read /nonexistent/x\.conf' setconf /nonexistent/x.conf
	xcr -s "$TMP/nobody.sock" show
	is "$XC_RC/$(grep -c "cannot reach xlbd at $TMP/nobody.sock: .*(is an xlbd running with daemon.socket" <<<"$XC_OUT")" 1/1 \
		"refused: xlbctl -s NOSOCKET show: names the socket" || diag "$XC_OUT"

	is "$(xc showconf)" "$conf0" "after every refusal: showconf unchanged" || restore_conf "$conf0"
	is "$(md5sum <"$XLBD_STATE")" "$sum0" "after every refusal: the state file unchanged"
	is "$(lb_prog_id)" "$PROG_ID" "after every refusal: the same program attached"
}
bad_input

# ---- setconf / syncconf of bad files ---------------------------------------------------------

bad_files() {
	local conf0 sum0
	conf0=$(xc showconf)
	sum0=$(md5sum <"$XLBD_STATE")
	printf 'dataplane = {\n  mtu = 1500;\n  ttl = = 3;\n};\n' >"$TMP/bad-syntax.conf"
	bad 1 "$TMP/bad-syntax\.conf:3: .*\(nothing was changed\)" setconf "$TMP/bad-syntax.conf"
	bad 1 "$TMP/bad-syntax\.conf:3: " syncconf "$TMP/bad-syntax.conf"
	# line 4 holds the bad weight
	printf 'vips = (\n  { service = "%s";\n    backends = (\n      { address = "%s"; weight = 0; }\n    ); }\n);\n' \
		"$SVC4" "${BE4[0]}" >"$TMP/bad-weight.conf"
	bad 1 "$TMP/bad-weight\.conf:4: vips\[0\]\.backends\[0\]\.weight: .*1000" setconf "$TMP/bad-weight.conf"
	bad 1 "$TMP/bad-weight\.conf:4: vips\[0\]\.backends\[0\]\.weight" syncconf "$TMP/bad-weight.conf"
	printf 'dataplane = { ttl = 64; };\nvips = (\n  { service = "%s"; ring_size = 1000; }\n);\n' \
		"$EXTRA" >"$TMP/bad-ring.conf"
	bad 1 "$TMP/bad-ring\.conf:3: vips\[0\]\.ring_size" setconf "$TMP/bad-ring.conf"
	# a whole config file is taken for its dataplane and vips, but its
	# daemon section must still be right
	printf 'daemon = { interfaces = [ "eth0" ]; bogus = 1; };\n' >"$TMP/with-daemon.conf"
	bad 1 "$TMP/with-daemon\.conf:1: daemon" setconf "$TMP/with-daemon.conf"
	printf 'dataplane = {\n  tll = 64;\n};\n' >"$TMP/typo.conf"
	bad 1 "$TMP/typo\.conf:2: dataplane\.tll" syncconf "$TMP/typo.conf"
	is "$(xc showconf)" "$conf0" "after the refused files: showconf unchanged" ||
		restore_conf "$conf0"
	is "$(md5sum <"$XLBD_STATE")" "$sum0" "after the refused files: the state file unchanged"

	# the running state as a whole config file (what 'systemctl reload'
	# sends): taken, the daemon section left out, nothing changes
	{ sed -n '/^daemon = {/,/^};/p' "$XLBD_CONF"; echo "$conf0"; } >"$TMP/whole.conf"
	xcr syncconf "$TMP/whole.conf"
	is "$XC_RC/$(xc showconf)" "0/$conf0" \
		"syncconf of a whole config file (daemon section and all): accepted, nothing changed" ||
		{ diag "$XC_OUT"; restore_conf "$conf0"; }

	# an outer source prefix alone is enough for backends of its family,
	# in xlbctl as in the config file
	sed '/^ *source_v6 = /s/.*/  source_prefix_v6 = "2001:db8:ff::\/64";/' <<<"$conf0" >"$TMP/prefix6.conf"
	xcr setconf "$TMP/prefix6.conf"
	is "$XC_RC" 0 "setconf: IPv6 outer source from a prefix only (no source_v6)" || diag "$XC_OUT"
	xcr backend add "$SVC6" 2001:db8:106::2
	is "$XC_RC" 0 "backend add IPv6 with only source_prefix_v6: accepted" || diag "$XC_OUT"
	sed '/^ *source_v6 = /d' <<<"$conf0" >"$TMP/nosrc6.conf"
	xcr setconf "$TMP/nosrc6.conf"
	cond "$XC_RC == 1 && $(grep -c 'source_prefix_v6' <<<"$XC_OUT") >= 1" \
		"setconf without any IPv6 outer source: refused, naming source_v6 and source_prefix_v6" ||
		diag "$XC_OUT"
	restore_conf "$conf0" >/dev/null
	is "$(xc showconf)" "$conf0" "restored: showconf as before"
}
bad_files

# ---- the control socket, raw -----------------------------------------------------------------

raw_socket() {
	local out pid=$XLBD_PID stall_pid

	out=$(python3 "$POKE" lines "$XLBD_SOCK" 'not json' '{"args":{}}' '{"cmd":5}' \
		'{"cmd":"ping","args":[]}' '{"cmd":"nope"}' \
		'{"cmd":"vip.add","args":{"service":"198.18.0.13:80/tcp","ring_size":"big"}}' \
		'{"cmd":"vip.add","args":{"service":"198.18.0.13:80/tcp","wieght":1}}' '{"cmd":"ping"}')
	is "$(python3 -c '
import json, sys
want = ["request is not JSON", "string \"cmd\"", "string \"cmd\"", "\"args\" must be an object",
        "unknown command \"nope\"", "argument \"ring_size\" must be a whole number, not \"big\"",
        "unknown argument \"wieght\""]
got = [json.loads(l) for l in sys.stdin.read().splitlines()]
res = [not g["ok"] and w in g["error"] for g, w in zip(got, want)]
print(len(got), all(res), got[-1].get("ok"))' <<<"$out")" "8 True True" \
		"socket: 7 malformed requests on one connection each get an error, then a ping works" ||
		diag "$out"

	out=$(python3 "$POKE" split "$XLBD_SOCK" '{"cmd":"ping"}')
	is "$(xq 'd["ok"]' <<<"$out")" true "socket: a request written a byte at a time is answered" ||
		diag "$out"

	bg_start "$TMP/stall.out" lb python3 "$POKE" stall "$XLBD_SOCK" 4
	stall_pid=$BG_PID
	wait_for "$TMP/stall.out" stalling 5
	xcr vip list
	is "$XC_RC" 0 "socket: xlbd serves others while a client sits on half a request"
	bg_stop "$stall_pid"
	pid_forget "$stall_pid"

	out=$(python3 "$POKE" huge "$XLBD_SOCK" $((17 << 20)))
	is "$(xq 'd["error"]' <<<"$out" 2>/dev/null)" "request longer than 16777216 bytes" \
		"socket: a 17 MiB line gets an error" || diag "$out"

	out=$(python3 "$POKE" many "$XLBD_SOCK" 70)
	is "$out" "ok=64 busy=6" \
		"socket: 70 clients at once: 64 served, 6 told to try again"

	xcr vip list
	cond "$XC_RC == 0 && $(kill -0 "$pid" 2>/dev/null && echo 1 || echo 0) == 1" \
		"socket: after all that xlbd (pid $pid) is alive and serving"

	# every '\n' ends one request: a stray NUL must not swallow the next one
	out=$(python3 "$POKE" --timeout 3 lines "$XLBD_SOCK" 'ab\x00cd' '{"cmd":"ping"}')
	is "$(tail -1 <<<"$out" | xq 'd.get("ok")' 2>/dev/null)" true \
		"socket: after a line with a NUL byte, the next request is answered" || diag "$out"
	out=$(python3 "$POKE" --timeout 3 lines "$XLBD_SOCK" '{"cmd":"ping"}{"cmd":"vip.del","args":{"service":"'"$EXTRA"'"}}')
	is "$(xq 'd["ok"]' <<<"$out" 2>/dev/null)/$(xc vip list | grep -c "$EXTRA")" false/1 \
		"socket: two requests on one line are refused, not half-run" || diag "$out"
	out=$(python3 "$POKE" --timeout 3 lines "$XLBD_SOCK" '{"cmd":"ping"}\x00junk')
	is "$(xq 'str(d["ok"]) + " " + d.get("error", "")' <<<"$out" 2>/dev/null)" \
		"False request contains a NUL byte" "socket: a request with a NUL byte inside is refused" ||
		diag "$out"
	out=$(python3 "$POKE" --timeout 3 lines "$XLBD_SOCK" '{"cmd":"showconf","args":{"x":1}}' \
		'{"cmd":"ping","args":{"x":1}}')
	is "$(grep -c '"ok":false,"error":"unknown argument \\"x\\""' <<<"$out")" 2 \
		"socket: showconf and ping refuse unknown arguments too" || diag "$out"

	# an answer bigger than the socket buffer, to a client that reads it
	# late: it arrives whole, and xlbd serves others meanwhile
	local conf0 n=2000
	conf0=$(xc showconf)
	{ sed '/^vips = ($/q' <<<"$conf0"
	  awk -v n=$n 'BEGIN { print "{ service = \"198.18.0.14:80/tcp\"; backends = ("
		for (b = 0; b < n; b++)
			printf "{ address = \"198.19.%d.%d\"; }%s\n", int(b / 250), b % 250 + 1, b < n - 1 ? "," : ""
		print "); },"}'
	  sed '1,/^vips = ($/d' <<<"$conf0"; } >"$TMP/big.conf"
	xcr syncconf "$TMP/big.conf"
	is "$XC_RC" 0 "syncconf: a VIP of $n backends for a big answer" || diag "$XC_OUT"
	out=$(python3 "$POKE" --timeout 10 slow "$XLBD_SOCK" '{"cmd":"vip.show","args":{"service":"198.18.0.14:80/tcp"}}' 2)
	cond "$(kv "$out" bytes) > 250000 && $(kv "$out" json_ok) == 1 && $(kv "$out" ping_ms) >= 0 && $(kv "$out" ping_ms) < 1000" \
		"socket: a $(kv "$out" bytes)-byte answer read 2 s late arrives whole; a ping meanwhile took $(kv "$out" ping_ms) ms" ||
		diag "$out"
	xcr vip del 198.18.0.14:80/tcp
	is "$XC_RC/$(xc showconf | cmp -s - <(echo "$conf0") && echo same)" 0/same \
		"vip del of the big VIP: the running config is as before" || restore_conf "$conf0"
}
raw_socket

# ---- metrics ---------------------------------------------------------------------------------

metrics() {
	in_ns lb curl -sf --max-time 5 "http://$XLBD_METRICS/metrics"
}

# metric NAME LABELS FILE: the value of NAME{LABELS} in FILE (0 if absent)
metric() {
	awk -v k="$1{$2}" '$1 == k { v = $2 } END { print v + 0 }' "$3"
}

metrics_test() {
	local t4 t6 i ok_be=0 sum dv4 dv6 be k a b
	metrics >"$TMP/m0.txt"
	cond "$(grep -c '^xlb_up 1$' "$TMP/m0.txt") == 1 && $(grep -cF "xlb_vip_packets_total{vip=\"$SVC4\"} " "$TMP/m0.txt") == 1 && $(grep -cF "xlb_backend_packets_total{vip=\"$SVC6\",backend=\"${BE6[2]}\"} " "$TMP/m0.txt") == 1" \
		"metrics: /metrics answers with xlb_up, per-VIP and per-backend counters" ||
		head -20 "$TMP/m0.txt" | sed 's/^/#   /'
	once "$LAB_VIP6" 80 15
	t6=$ONCE_LINE
	once "$LAB_VIP4" 80 30
	t4=$ONCE_LINE
	metrics >"$TMP/m1.txt"
	dv4=$(($(metric xlb_vip_packets_total "vip=\"$SVC4\"" "$TMP/m1.txt") - $(metric xlb_vip_packets_total "vip=\"$SVC4\"" "$TMP/m0.txt")))
	dv6=$(($(metric xlb_vip_packets_total "vip=\"$SVC6\"" "$TMP/m1.txt") - $(metric xlb_vip_packets_total "vip=\"$SVC6\"" "$TMP/m0.txt")))
	# a connection is at least SYN, ACK, data, FIN from the client
	cond "$dv4 >= 30 * 4 && $dv6 >= 15 * 4" \
		"metrics: VIP packet counters moved with 30 + 15 connections (+$dv4, +$dv6)"
	for i in 0 1 2; do
		for k in "4 $SVC4 ${BE4[i]} $t4" "6 $SVC6 ${BE6[i]} $t6"; do
			read -r _ svc be line <<<"$k"
			a=$(metric xlb_backend_packets_total "vip=\"$svc\",backend=\"$be\"" "$TMP/m0.txt")
			b=$(metric xlb_backend_packets_total "vip=\"$svc\",backend=\"$be\"" "$TMP/m1.txt")
			# backend i got kv(be$i) connections: at least 4 packets each
			(( b - a >= 4 * $(kv "$line" "be$((i + 1))") )) && ok_be=$((ok_be + 1))
		done
	done
	is "$ok_be" 6 "metrics: each backend's packets moved with the connections it answered ($t4; $t6)"
	sum=0
	for i in 0 1 2; do
		sum=$((sum + $(metric xlb_backend_packets_total "vip=\"$SVC4\",backend=\"${BE4[i]}\"" "$TMP/m1.txt") - $(metric xlb_backend_packets_total "vip=\"$SVC4\",backend=\"${BE4[i]}\"" "$TMP/m0.txt")))
	done
	is "$sum" "$dv4" "metrics: the backends' packets add up to their VIP's"
	a=$(metric xlb_vip_new_flows_total "vip=\"$SVC4\"" "$TMP/m0.txt")
	b=$(metric xlb_vip_new_flows_total "vip=\"$SVC4\"" "$TMP/m1.txt")
	cond "$b - $a >= 30" "metrics: new flows of $SVC4 +$((b - a)) for 30 connections"
	b=0
	for i in 0 1 2; do
		b=$((b + $(metric xlb_backend_flows_active "vip=\"$SVC4\",backend=\"${BE4[i]}\"" "$TMP/m1.txt")))
	done
	cond "$b >= 30" "metrics: $b active flows on $SVC4's backends right after 30 connections"
	a=$(in_ns lb curl -s -o /dev/null -w '%{http_code}' --max-time 5 "http://$XLBD_METRICS/other")
	is "$a" 404 "metrics: another path is 404"
}
metrics_test

# ---- drain, flush, undrain with open connections ------------------------------------------------

BE2_4=${BE4[1]}
BE2_6=${BE6[1]}
HOLD4=20 HOLD6=10

be2_active() {	# flows_active of be2 in both VIPs, summed
	xc --json show | xq "sum(b.get('flows_active', 0) for v in d['vips'] for b in v['backends'] if b['address'] in ('$BE2_4', '$BE2_6'))"
}

be2_active_of() {	# SVC ADDR: flows_active of one backend
	xc --json backend list "$1" | xq "[b.get('flows_active', 0) for b in d if b['address'] == '$2'][0]"
}

# wait_count WANT SECONDS: until be2_active is WANT; BE2_NOW the last value
wait_count() {
	local i
	for ((i = 0; i < $2 * 4; i++)); do
		BE2_NOW=$(be2_active)
		[[ $BE2_NOW == "$1" ]] && return 0
		sleep 0.25
	done
	return 1
}

drain_test() {
	local n2 n svc addr conf0 on4 line t

	hold_open "$LAB_VIP4,80,$HOLD4" "$LAB_VIP6,80,$HOLD6" --interval 0.5
	n2=$(kv "$HOLD_LINE" be2)
	is "$(kv "$HOLD_LINE" ok)" $((HOLD4 + HOLD6)) \
		"drain: $((HOLD4 + HOLD6)) long-lived connections open ($n2 on be2)" || diag_hold

	xcr backend drain "$SVC4" "$BE2_4"
	xcr backend drain "$SVC6" "$BE2_6"
	sleep 1.2
	hold_cmd check
	is "$(hold_summary)" "$((HOLD4 + HOLD6))/0/0/0" \
		"drain be2: every open connection still works on its backend" || diag_hold
	new_conns 30 15
	is "$NEW_OK/$NEW_FAIL/$NEW_BE2" "45/0/0" "drain be2: 45 new connections answered, none by be2" ||
		diag "$NEW_LINE"
	xcr show
	line=$(grep -E "^ +$BE2_4 " <<<"$XC_OUT")
	cond "$(awk '{print ($3 == "draining" && $5 == "draining")}' <<<"$line") == 1" \
		"show: be2 is draining (admin and state)" || diag "$line"
	# the connections made before the drain leave the window; the open ones stay
	wait_count "$n2" $((XLBD_WINDOW + 3))
	is "$BE2_NOW" "$n2" "show: be2's active flows are its $n2 open connections"
	on4=$(be2_active_of "$SVC4" "$BE2_4")
	if ((on4 > 0)); then svc=$SVC4 addr=$BE2_4; else svc=$SVC6 addr=$BE2_6; fi
	conf0=$(xc showconf)
	bad 1 "backend $addr of $(re "$svc") still has [0-9]+ active flows; drain it .* or delete it anyway with --force" \
		backend del "$svc" "$addr"
	is "$(xc showconf)" "$conf0" "backend del refused: nothing changed"

	xcr flows flush
	n=$(awk '{print $1}' <<<"$XC_OUT")
	cond "$XC_RC == 0 && ${n:-0} >= $((HOLD4 + HOLD6))" "flows flush: $n entries removed" ||
		diag "$XC_OUT"
	sleep 1.2
	hold_cmd check
	is "$(hold_summary)" "$((HOLD4 + HOLD6))/0/0/0" \
		"flow table flushed: every open connection still works (be2's by the ring's est slots)" ||
		diag_hold
	new_conns 30 15
	is "$NEW_OK/$NEW_FAIL/$NEW_BE2" "45/0/0" "flushed: 45 new connections answered, none by be2" ||
		diag "$NEW_LINE"
	wait_count "$n2" 3
	is "$BE2_NOW" "$n2" "flushed: be2's active flows are back to its $n2 open connections"
	xcr --json flows "$SVC4" "$BE2_4"
	is "$(xq 'd["matched"]' <<<"$XC_OUT")" "$on4" "flows VIP be2: lists be2's $on4 IPv4 connections"

	xcr backend undrain "$SVC4" "$BE2_4"
	xcr backend undrain "$SVC6" "$BE2_6"
	sleep 1.2
	hold_cmd check
	new_conns 30 15
	is "$(hold_summary)/$NEW_OK/$NEW_FAIL/$((NEW_BE2 > 0))" "$((HOLD4 + HOLD6))/0/0/0/45/0/1" \
		"undrain be2: open connections still work, new ones reach be2 again" ||
		{ diag_hold; diag "$NEW_LINE"; }

	hold_close
	t=$SECONDS
	wait_count 0 $((XLBD_WINDOW + 5))
	is "$BE2_NOW" 0 "connections closed: be2's active flows fall to 0 (in $((SECONDS - t)) s; window $XLBD_WINDOW s)"

	# flows from fresh connections: del refused, --force accepted
	conf0=$(xc showconf)
	once "$LAB_VIP4" 80 30
	on4=$(be2_active_of "$SVC4" "$BE2_4")
	bad 1 "backend $BE2_4 of $(re "$SVC4") still has $on4 active flows" backend del "$SVC4" "$BE2_4"
	# a whole configuration that drops be2 is refused just the same,
	# naming it, and changes nothing
	grep -v "\"$BE2_4\"" <<<"$conf0" | sed 'N;s/,\n\( *)\)/\n\1/;P;D' >"$TMP/no-be2.conf"
	bad 1 "would remove 1 backend with [0-9]+ active flows: backend $BE2_4 of $(re "$SVC4")" \
		syncconf "$TMP/no-be2.conf"
	is "$(xc showconf)" "$conf0" "...and syncconf changed nothing"
	xcr backend del "$SVC4" "$BE2_4" --force
	xcr --json backend list "$SVC4"
	is "$(xq "len([b for b in d if b['address'] == '$BE2_4'])" <<<"$XC_OUT")" 0 \
		"backend del --force with $on4 active flows: accepted, gone"
	xcr backend add "$SVC4" "$BE2_4"
	once "$LAB_VIP4" 80 30
	# (the re-added backend is listed last: compare lines, without commas)
	is "$(xc showconf | sed 's/,$//' | sort | md5sum)/$(kv "$ONCE_LINE" fail)/$(($(kv "$ONCE_LINE" be2) > 0))" \
		"$(echo "$conf0" | sed 's/,$//' | sort | md5sum)/0/1" \
		"backend add again: the same running config, be2 answers again"
}
drain_test

# ---- the router's MAC changes ------------------------------------------------------------------

gateway_test() {
	local new=02:00:5e:00:53:01 t i mac=''

	ip -n "$LAB_PREFIX-router" link set dev lb address "$new"
	# the router announces itself, as a router with a new NIC would
	in_ns router python3 "$POKE" garp lb "${LAB_LB4%.*}.1" >/dev/null
	in_ns router python3 "$POKE" una lb "${LAB_LB6%::*}::1" >/dev/null
	t=$SECONDS
	for ((i = 0; i < 40; i++)); do
		mac=$(xc --json show | xq 'd["gateway"].get("mac")')
		[[ $mac == "$new" ]] && break
		sleep 0.25
	done
	is "$mac" "$new" "router MAC changed (gratuitous ARP + unsolicited NA): show reports $new within $((SECONDS - t)) s"
	xcr show
	is "$(grep -c "^gateway: $new " <<<"$XC_OUT")" 1 "show (plain): gateway: $new" || diag "$XC_OUT"
	new_conns 30 15
	is "$NEW_OK/$NEW_FAIL" "45/0" "new MAC: 45 new connections through the VIPs answered" ||
		{ diag "$NEW_LINE"; diag_xlbd; }
	ROUTER_MAC=$new
}
gateway_test

# ---- restarts --------------------------------------------------------------------------------

# what must survive a restart: the config, the ids, the program
snapshot() {
	xc showconf
	xc --json show | xq '[(v["service"], v.get("id"), [(b["address"], b.get("id")) for b in v["backends"]]) for v in d["vips"]]'
	lb_prog_id
}

restart_test() {
	local snap0 i

	# changes that must persist
	xcr vip set "$SVC6" mss 1380
	xcr backend add "$EXTRA" 198.18.107.2 weight 3 drain
	xcr backend set "$SVC4" "${BE4[2]}" weight 2
	snap0=$(snapshot)

	step "SIGTERM: xlbd stops" xlbd_stop TERM
	is "$XLBD_RC/$(grep -c 'stopping; the XDP program stays attached' "$XLBD_LOG")" 0/1 \
		"SIGTERM: exit status 0, says the program stays"
	is "$([[ -e $XLBD_SOCK ]] && echo left || echo removed)/$(lb_prog_id)" "removed/$PROG_ID" \
		"SIGTERM: socket removed, the program still attached"
	once "$LAB_VIP4" 80 10
	is "$(kv "$ONCE_LINE" ok)/$(kv "$ONCE_LINE" fail)" 10/0 "xlbd stopped: traffic flows on"
	step "start again after SIGTERM" xlbd_start || diag_xlbd
	is "$(snapshot)" "$snap0" "after SIGTERM and start: showconf, VIP and backend ids, program id equal"
	is "$(grep -c "adopted XDP program $PROG_ID" "$XLBD_LOG")" 1 "the restarted xlbd adopted the running program"
	is "$(grep -c "restoring the saved state $XLBD_STATE, which differs from $XLBD_CONF" "$XLBD_LOG")" 1 \
		"...and said the saved state it restored differs from the config file"

	step "kill -9: xlbd killed" xlbd_stop KILL
	is "$([[ -S $XLBD_SOCK ]] && echo left)/$(lb_prog_id)" "left/$PROG_ID" \
		"kill -9: a stale socket left, the program still attached"
	step "start again after kill -9 (over the stale socket)" xlbd_start || diag_xlbd
	is "$(snapshot)" "$snap0" "after kill -9 and start: showconf, VIP and backend ids, program id equal"
	is "$(stat -c '%a' "$XLBD_SOCK")" 600 "the new socket is mode 0600 too"
}
restart_test

# What a crash can leave half done, cleaned up by the next xlbd: a backend
# entry whose VIP is gone (a VIP removal cut short), a VIP address counted
# with no VIP behind it; and a backend down in the maps only because it was
# disabled (no probe) must come back when enabled.
crash_leftovers() {
	local a="c6 12 00 62 00 00 00 00 00 00 00 00 00 00 00 00" be=${BE4[1]}
	local key="$a 04 00 00 00" vkey="$a 00 50 06 04"

	xcr backend set "$SVC4" "$be" disabled on
	is "$XC_RC" 0 "backend set $be disabled on (no probe)"
	step "kill -9: xlbd killed" xlbd_stop KILL
	# VIP 198.18.0.98:80/tcp (id 511) with backend 65000, then its VIP
	# entry alone removed: 'vip del' cut short after the VIP key
	"$DPCTL" -d "$XLBD_PIN" vip add 198.18.0.98 80 tcp 511 >/dev/null &&
		"$DPCTL" -d "$XLBD_PIN" backend set 65000 511 198.18.99.9 active >/dev/null &&
		bpftool map delete pinned "$XLBD_PIN/xlb_vips" key hex $vkey
	cond "$("$DPCTL" -d "$XLBD_PIN" backend list | grep -c '198\.18\.99\.9') == 1 && $(bpftool map lookup pinned "$XLBD_PIN/xlb_vip_addrs" key hex $key >/dev/null 2>&1 && echo 1 || echo 0) == 1" \
		"leftovers planted: backend 65000 of no VIP, address 198.18.0.98 counted as a VIP"
	step "start again after kill -9, over the leftovers" xlbd_start || diag_xlbd
	cond "$("$DPCTL" -d "$XLBD_PIN" backend list | grep -c '198\.18\.99\.9') == 0 && $(grep -c 'backend id 65000: its VIP 511 is gone; freeing it' "$XLBD_LOG") == 1" \
		"the backend entry of no VIP is freed (and logged)"
	is "$(bpftool map lookup pinned "$XLBD_PIN/xlb_vip_addrs" key hex $key >/dev/null 2>&1 && echo counted || echo gone)" \
		gone "198.18.0.98 is no VIP address any more"
	xcr backend set "$SVC4" "$be" disabled off
	is "$XC_RC/$(xc --json backend list "$SVC4" | xq "[b['state'] for b in d if b['address'] == '$be'][0]")" \
		0/active "disabled off after the restart: $be active again (not held down as sick)"
	once "$LAB_VIP4" 80 30
	cond "$(kv "$ONCE_LINE" ok) == 30 && $(kv "$ONCE_LINE" be2) > 0" \
		"30 connections after the restart, $be among the backends ($ONCE_LINE)"
}
crash_leftovers

# ---- kill -9 under steady traffic ----------------------------------------------------------------

loop_start() {
	rm -f "$TMP/loop.stop"
	: >"$TMP/loop.out"
	(
		while [[ ! -e $TMP/loop.stop ]]; do
			in_ns client python3 "$E2E_TOOLS/lab_client.py" once "$LAB_VIP4" 80 -n 2
			in_ns client python3 "$E2E_TOOLS/lab_client.py" once "$LAB_VIP6" 80 -n 1
		done
	) >>"$TMP/loop.out" 2>&1 &
	LOOP_PID=$!
	E2E_PIDS+=("$LOOP_PID")
}

loop_stop() {
	touch "$TMP/loop.stop"
	wait "$LOOP_PID" 2>/dev/null
	pid_forget "$LOOP_PID"
}

# how many connections of the loop's output lines FROM..TO succeeded/failed
loop_count() {
	sed -n "/^$1\$/,/^$2\$/p" "$TMP/loop.out" | awk '$1 == "ok" { o++ } $1 == "fail" { f++ } END { print o + 0 "/" f + 0 }'
}

kill9_traffic() {
	local c0 c1 n h4=14 h6=6 dead alive r0 r1 e0 e1 o0 o1

	hold_open "$LAB_VIP4,80,$h4" "$LAB_VIP6,80,$h6" --interval 0.1
	is "$(kv "$HOLD_LINE" ok)" $((h4 + h6)) \
		"kill -9 under load: $((h4 + h6)) connections open, each exchanging a line every ~0.1 s" ||
		diag_hold
	c0=$(nstat_get TcpRetransSegs TcpEstabResets TcpOutRsts)
	loop_start
	sleep 1
	echo "mark kill" >>"$TMP/loop.out"
	xlbd_stop KILL
	sleep 2
	hold_cmd check
	is "$(hold_summary)" "$((h4 + h6))/0/0/0" "xlbd dead for 2 s: every connection still works" ||
		diag_hold
	new_conns 20 10
	is "$NEW_OK/$NEW_FAIL" 30/0 "xlbd dead: 30 new connections answered" || diag "$NEW_LINE"
	echo "mark start" >>"$TMP/loop.out"
	n=$(wc -l <"$XLBD_LOG")
	step "xlbd started again under load (-v)" xlbd_start -v || diag_xlbd
	echo "mark started" >>"$TMP/loop.out"
	# adopting means writing nothing: no VIP, backend or ring written
	is "$(tail -n +$((n + 1)) "$XLBD_LOG" | grep -cE ': (added|removed|down|active|draining)$|ring of [0-9]+ slots installed')/$(tail -n +$((n + 1)) "$XLBD_LOG" | grep -c "adopted XDP program $PROG_ID")" \
		0/1 "the restarted xlbd adopted program $PROG_ID and wrote no VIP, backend or ring" ||
		tail -n +$((n + 1)) "$XLBD_LOG" | grep -E 'added|removed|installed' | head -5 | sed 's/^/#   /'
	sleep 1
	hold_cmd check
	is "$(hold_summary)" "$((h4 + h6))/0/0/0" \
		"after the restart: every connection works, none moved or reset" || diag_hold
	loop_stop
	echo "mark end" >>"$TMP/loop.out"
	c1=$(nstat_get TcpRetransSegs TcpEstabResets TcpOutRsts)
	dead=$(loop_count "mark kill" "mark start")
	alive=$(loop_count "mark start" "mark end")
	cond "${dead%/*} > 0 && ${dead#*/} == 0 && ${alive%/*} > 0 && ${alive#*/} == 0" \
		"new connections throughout, one after another: $dead ok/failed while xlbd was dead, $alive while it started" ||
		grep -m5 '^fail' "$TMP/loop.out" | sed 's/^/#   /'
	read -r r0 e0 o0 <<<"$c0"
	read -r r1 e1 o1 <<<"$c1"
	# The lab loses nothing (no loss, no reordering, ~0.1 ms RTT) and a
	# restarted xlbd adopts the program and maps without rewriting them: a
	# single retransmitted segment means a packet was dropped or delayed
	# past the RTO. So the bound is 0.
	is "$((r1 - r0))/$((e1 - e0))/$((o1 - o0))" 0/0/0 \
		"client TCP counters across kill -9 and restart: 0 retransmitted segments, 0 resets" ||
		diag "TcpRetransSegs TcpEstabResets TcpOutRsts before: $c0, after: $c1"
	hold_close
}
kill9_traffic

# ---- refusing to start -------------------------------------------------------------------------

refuse_start() {
	local snap0 n

	snap0=$(snapshot)
	hold_open "$LAB_VIP4,80,6" "$LAB_VIP6,80,2" --interval 0.2
	step "stop xlbd (SIGTERM)" xlbd_stop TERM
	cp "$XLBD_STATE" "$TMP/state.good"

	# a state file broken on line 3
	{ head -2 "$TMP/state.good"; echo '  mtu = 1500;; }} garbage {{'; tail -n +3 "$TMP/state.good"; } \
		>"$XLBD_STATE"
	xlbd_run_once -c "$XLBD_CONF" -f
	cond "$XLBD_RC != 0 && $XLBD_RC != 124 && $(grep -c "$XLBD_STATE:3: " <<<"$XLBD_OUT") == 1 && $(grep -c 'refusing to start' <<<"$XLBD_OUT") == 1" \
		"a corrupt state file: xlbd exits $XLBD_RC naming $XLBD_STATE:3 and refuses to start" ||
		diag "$XLBD_OUT"
	# a state file that parses but breaks a rule (line 2)
	printf 'dataplane = {\n  ttl = 0;\n};\n' >"$XLBD_STATE"
	xlbd_run_once -c "$XLBD_CONF" -f
	cond "$XLBD_RC != 0 && $XLBD_RC != 124 && $(grep -c "$XLBD_STATE:2: dataplane.ttl" <<<"$XLBD_OUT") == 1" \
		"a state file with ttl = 0: refused, naming $XLBD_STATE:2: dataplane.ttl" || diag "$XLBD_OUT"
	cp "$TMP/state.good" "$XLBD_STATE"

	# bad config files: --check and a real start refuse them alike
	sed 's/^  flow_window = .*/  flow_window = 0;/' "$XLBD_CONF" >"$TMP/bad-window.conf"
	n=$(grep -n 'flow_window' "$TMP/bad-window.conf" | cut -d: -f1)
	xlbd_run_once -c "$TMP/bad-window.conf" --check
	cond "$XLBD_RC != 0 && $(grep -c "$TMP/bad-window.conf:$n: daemon.flow_window" <<<"$XLBD_OUT") == 1" \
		"xlbd --check of a config with flow_window = 0: refused with file:$n and the key" ||
		diag "$XLBD_OUT"
	xlbd_run_once -c "$TMP/bad-window.conf" -f
	cond "$XLBD_RC != 0 && $XLBD_RC != 124 && $(grep -c "$TMP/bad-window.conf:$n: " <<<"$XLBD_OUT") == 1" \
		"xlbd -f with that config: refused with file:line" || diag "$XLBD_OUT"
	{ head -3 "$XLBD_CONF"; echo '  interfaces = [ "eth0" ;'; tail -n +4 "$XLBD_CONF"; } \
		>"$TMP/bad-syntax.conf"
	xlbd_run_once -c "$TMP/bad-syntax.conf" --check
	cond "$XLBD_RC != 0 && $(grep -c "$TMP/bad-syntax.conf:[45]: " <<<"$XLBD_OUT") == 1" \
		"xlbd --check of a config with a syntax error on line 4: refused with file:line" ||
		diag "$XLBD_OUT"
	xlbd_run_once -c "$TMP/no-such.conf" --check
	cond "$XLBD_RC != 0 && $(grep -c "$TMP/no-such.conf" <<<"$XLBD_OUT") >= 1" \
		"xlbd --check of a missing file: refused, naming it" || diag "$XLBD_OUT"

	is "$(lb_prog_id)" "$PROG_ID" "after the refused starts: the same program attached"
	hold_cmd check
	is "$(hold_summary)" "8/0/0/0" "after the refused starts: the open connections never noticed" ||
		diag_hold
	new_conns 10 5
	is "$NEW_OK/$NEW_FAIL" 15/0 "after the refused starts: new connections answered" ||
		diag "$NEW_LINE"
	hold_close

	step "xlbd starts with the good state file back" xlbd_start || diag_xlbd
	is "$(snapshot)" "$snap0" "...and runs what ran before"
}
refuse_start

# ---- a second xlbd -------------------------------------------------------------------------------

# An operator starts xlbd by hand while the service runs, with a config
# whose VIP has one backend (and its own state file). It must give up
# before it changes anything: the running xlbd owns the maps. (Last: if it
# does change them, nothing after this relies on them.)
second_xlbd() {
	local conf2=$TMP/second.conf keep_state=$XLBD_STATE keep_be4=("${BE4[@]}") spread
	XLBD_STATE=$TMP/second-state.conf
	BE4=("${BE4[0]}")
	xlbd_conf_text >"$conf2"
	XLBD_STATE=$keep_state
	BE4=("${keep_be4[@]}")
	xlbd_run_once -c "$conf2" -f
	cond "$XLBD_RC != 0 && $XLBD_RC != 124 && $(grep -c "another xlbd answers on $XLBD_SOCK" <<<"$XLBD_OUT") == 1" \
		"a second xlbd on the same socket: refused, exit $XLBD_RC" || diag "$XLBD_OUT"
	once "$LAB_VIP4" 80 30
	spread=$(($(kv "$ONCE_LINE" be2) + $(kv "$ONCE_LINE" be3)))
	cond "$(kv "$ONCE_LINE" fail) == 0 && $spread > 0" \
		"...and the data plane is as the running xlbd set it: new connections still reach be2 and be3 ($ONCE_LINE)" ||
		grep -E 'backend|VIP|ring' <<<"$XLBD_OUT" | head -8 | sed 's/^/#   second xlbd: /'
	is "$(xc --json vip show "$SVC4" | xq 'len(d["backends"])')" 3 "...and the running xlbd still has 3 backends"
}
second_xlbd

step "xlbd stops (SIGTERM)" xlbd_stop TERM
step "lab down" lab_down "$PREFIX"
diag "test_xlbd: $((SECONDS - START)) s"
done_testing
