#!/bin/bash
# test_probes.sh: xlbd's health probes end to end. A namespace lab without
# an XDP program (xlb-lab up --attach none) whose LB runs xlbd; the
# backends run tests/tools/sstp-server (healthy, or misbehaving on demand)
# and a small Python HTTP server (probes_lib.sh); the client speaks SSTP
# through the VIP.
#
#   - the matrix: one VIP per case (198.18.0.20:60xx and one IPv6 VIP, not
#     routed: only their probes matter), all probing servers on be1 at
#     once, each case a probe type against a healthy or misbehaving server:
#     the verdict (health, state), the reason (probe.last,
#     failures_by_reason), the detail (TLS version, certificate days and
#     warning, latency against the timeout, the error sentence), and what
#     the far end saw (source address, PROXY v2 header, Host, path)
#   - rise/fall: a backend goes down after exactly `fall` failures and
#     comes back after exactly `rise` successes (xlbd's log and ~50 ms
#     polling agree); a new one (at start or added with xlbctl) starts
#     down; probes keep their interval whatever they meet
#   - down -> out of the ring: SSTP sessions held through the VIP to three
#     backends; one backend's server stops: it goes down, new sessions
#     avoid it, the others' sessions live on; it comes back and gets new
#     sessions again
#   - every backend down: the error logged once, ring_held (show, metrics),
#     the VIP still forwarded to the last ring, which serves again once the
#     servers answer; a backend added meanwhile leaves the ring frozen;
#     recovery unfreezes it; no false alarm at start
#   - metrics: probe results, latency, certificate days, ring_held
#   - a restart of xlbd keeps healthy backends in the ring
#
# XLB_PROBES_KEEP=DIR keeps the scratch directory (logs, tables) in DIR.
set -u
cd "$(dirname "$0")/../.." || exit 1
source tests/lib/tap.sh
source tests/e2e/lib.sh
source tests/e2e/xlbd_lib.sh
source tests/e2e/probes_lib.sh

e2e_requirements curl openssl timeout || skip_all "$E2E_MISSING"
for f in "$XLBD" "$XLBCTL" "$SSTP_SERVER"; do
	[[ -x $f ]] || skip_all "$f not built (run 'make')"
done
e2e_traps

PREFIX=xp$$
START=$SECONDS
e2e_tmp_init
TMP=$E2E_TMP
PKI=$TMP/pki

if ! lab_up --prefix "$PREFIX" --backends 3 --attach none >"$TMP/lab-up.out" 2>&1; then
	skip_all "the lab could not be built: $(grep -v '^xlb-lab: up failed' "$TMP/lab-up.out" |
		tail -1)"
fi
diag "lab $PREFIX up: client, router, lb, be1..be3 (xlb-lab up --attach none)"
xlbd_setup "$TMP/xlbd"
read -ra BE <<<"$LAB_BE4"
BE1=${BE[0]} BE2=${BE[1]} BE3=${BE[2]}
BE1_6=${LAB_BE6%% *}
SRC2=${LAB_LB4%.*}.3		# a second address on the LB, for probe.source
NEWBE=${BE3%.*}.7		# an address no one has: a backend that never answers
MAIN=$LAB_VIP4:443/tcp		# the VIP with traffic: be1..be3
RF=198.18.0.21:6101/tcp		# rise/fall: be2 on port 7101 (be1 too, always up)
MX=198.18.0.20			# the matrix VIPs: 198.18.0.20:60xx/tcp, be1 alone
MX6=2001:db8::20		# ... and [2001:db8::20]:6040/tcp, be1's IPv6 address
ip -n "$LAB_PREFIX-lb" addr add "$SRC2/24" dev "$LAB_LB_DEV" ||
	bail_out "cannot add $SRC2 to the LB"

step "certificates: CA, other CA, good, soon-expiring and expired server certificates" \
	probe_certs "$PKI" || bail_out "openssl could not make the certificates"
probe_tool_init

# ---- the matrix ---------------------------------------------------------------------------

# Servers on be1, port -> misbehaviour; 7013 has none (connect_refused)
SERVERS=(
	"7001|--listen [$BE1_6]:7001"
	"7002|--refuse-tls"
	"7003|--http-status 404"
	"7004|--hang-after-handshake"
	"7005|--nak"
	"7006|--garbage"
	"7007|--oversize"
	"7008|--oversize=sstp"
	"7009|--drip 50"
	"7010|--close-after-http"
	"7011|--cert $PKI/expired.pem --key $PKI/expired.key"
	"7012|--cert $PKI/soon.pem --key $PKI/soon.key"
)
HTTPD_OK=7014			# the Python HTTP server: 200
HTTPD_204=7015			# ... and one answering 204
CA="ca_file = \"$PKI/ca.pem\";"

# VIP port | what | probe keys (over the matrix defaults) | last (ERE) | health
CASES=(
	"6001|tcp, healthy server|type = \"tcp\"; port = 7001;|ok|up"
	"6002|tls, healthy server|type = \"tls\"; port = 7001;|ok|up"
	"6003|sstp, healthy server|type = \"sstp\"; port = 7001;|ok|up"
	"6004|sstp-deep, healthy server|type = \"sstp-deep\"; port = 7001;|ok|up"
	"6005|http /health, expecting 200, gets 200|type = \"http\"; port = $HTTPD_OK; http_path = \"/health\";|ok|up"
	"6006|http, expecting 204, gets 200|type = \"http\"; port = $HTTPD_OK; http_path = \"/wrong-status\"; http_status = 204;|http_status|down"
	"6007|http, expecting 204, gets 204|type = \"http\"; port = $HTTPD_204; http_status = 204;|ok|up"
	"6010|tls vs --refuse-tls|type = \"tls\"; port = 7002;|tls_alert|down"
	"6011|sstp vs --refuse-tls|type = \"sstp\"; port = 7002;|tls_alert|down"
	"6012|sstp vs --http-status 404|type = \"sstp\"; port = 7003;|http_status|down"
	"6013|sstp vs --hang-after-handshake|type = \"sstp\"; port = 7004;|timeout|down"
	"6014|sstp-deep vs --nak|type = \"sstp-deep\"; port = 7005;|sstp_nak|down"
	"6015|sstp (not deep) vs --nak|type = \"sstp\"; port = 7005;|ok|up"
	"6016|sstp vs --garbage|type = \"sstp\"; port = 7006;|http_malformed|too_large|down"
	"6017|sstp vs --oversize (HTTP head)|type = \"sstp\"; port = 7007;|too_large|down"
	"6018|sstp-deep vs --oversize (HTTP head)|type = \"sstp-deep\"; port = 7007;|too_large|down"
	"6019|sstp-deep vs --oversize=sstp|type = \"sstp-deep\"; port = 7008;|too_large|sstp_malformed|down"
	"6020|sstp (not deep) vs --oversize=sstp|type = \"sstp\"; port = 7008;|ok|up"
	"6021|sstp vs --drip 50|type = \"sstp\"; port = 7009;|timeout|down"
	"6022|sstp-deep vs --close-after-http|type = \"sstp-deep\"; port = 7010;|closed|down"
	"6023|sstp (not deep) vs --close-after-http|type = \"sstp\"; port = 7010;|ok|up"
	"6024|tls verify vs an expired certificate|type = \"tls\"; port = 7011; verify = true; host = \"vip.xlb.test\"; $CA|cert_expired|down"
	"6025|tls no verify vs an expired certificate|type = \"tls\"; port = 7011;|ok|up"
	"6026|tls verify with another CA|type = \"tls\"; port = 7001; verify = true; host = \"vip.xlb.test\"; ca_file = \"$PKI/other-ca.pem\";|cert_invalid|down"
	"6027|tls verify, the right CA, host vip.xlb.test|type = \"tls\"; port = 7001; verify = true; host = \"vip.xlb.test\"; $CA|ok|up"
	"6028|tls verify, the right CA, no host (IP SAN)|type = \"tls\"; port = 7001; verify = true; $CA|ok|up"
	"6029|tls verify, a name not in the certificate|type = \"tls\"; port = 7001; verify = true; host = \"wrong.xlb.test\"; $CA|cert_invalid|down"
	"6030|sstp verify vs a certificate expiring in 5 days|type = \"sstp\"; port = 7012; verify = true; host = \"vip.xlb.test\"; $CA cert_warn_days = 14;|ok|up"
	"6031|sstp, nothing listening|type = \"sstp\"; port = 7013;|connect_refused|down"
	"6032|sstp from source $SRC2|type = \"sstp\"; port = 7001; source = \"$SRC2\";|ok|up"
	"6033|sstp from a source the LB does not have|type = \"sstp\"; port = 7001; source = \"${LAB_LB4%.*}.99\";|source_bind|down"
	"6034|tcp with proxy_v2|type = \"tcp\"; port = $HTTPD_OK; proxy_v2 = true;|ok|up"
	"6035|http with proxy_v2|type = \"http\"; port = $HTTPD_OK; http_path = \"/proxied\"; proxy_v2 = true;|ok|up"
	"6036|sstp with proxy_v2 vs a server without PROXY support|type = \"sstp\"; port = 7001; proxy_v2 = true;|tls_alert|tls_error|closed|reset|down"
)
# IPv6: a VIP and backend of that family (7001 listens on both)
V6_CASE="6040|IPv6: sstp-deep verify, host vip.xlb.test|type = \"sstp-deep\"; port = 7001; verify = true; host = \"vip.xlb.test\"; $CA|ok|up"
# the backend of 6037 is an address no one has: no SYN-ACK ever
NOHOST=${BE1%.*}.9
NOHOST_CASE="6037|tcp to an address no one has|type = \"tcp\"; port = 7001;|connect_timeout|unreachable|down"
CASES+=("$NOHOST_CASE" "$V6_CASE")

case_be() {	# PORT: the matrix VIP's backend
	case $1 in
	6037) echo "$NOHOST" ;;
	6040) echo "$BE1_6" ;;
	*) echo "$BE1" ;;
	esac
}

case_vip() {	# PORT: the matrix VIP's service
	[[ $1 == 6040 ]] && echo "[$MX6]:$1/tcp" || echo "$MX:$1/tcp"
}

write_conf() {
	local c port what keys
	cat <<EOF
# xlbd for lab $LAB_PREFIX (tests/e2e/test_probes.sh)
daemon = {
  interfaces = [ "$LAB_LB_DEV" ];
  pin_dir    = "$XLBD_PIN";
  bpf_object = "$E2E_BUILD/bpf/xlb.bpf.o";
  socket     = "$XLBD_SOCK";
  state_file = "$XLBD_STATE";
  metrics    = "$XLBD_METRICS";
  flow_window = $XLBD_WINDOW;
};
dataplane = {
  source_v4 = "$LAB_LB4";
  source_v6 = "$LAB_LB6";
  flow_table_size = 65536;
};
vips = (
  { service = "$MAIN";
    ring_size = 1021;
    probe = { type = "sstp"; interval = 0.5; timeout = 0.4; rise = 2; fall = 2; };
    backends = ( { address = "$BE1"; }, { address = "$BE2"; }, { address = "$BE3"; } ); },
  { service = "$RF";
    ring_size = 1021;
    probe = { type = "sstp"; port = 7101; interval = 0.5; timeout = 0.4; rise = 3; fall = 4; };
    backends = ( { address = "$BE2"; }, { address = "$BE1"; probe = { port = 7001; }; } ); },
EOF
	for c in "${CASES[@]}"; do
		IFS='|' read -r port what keys _ <<<"$c"
		cat <<EOF
  # $what
  { service = "$(case_vip "$port")";
    ring_size = 1021;
    probe = { interval = 0.5; timeout = 0.4; rise = 2; fall = 2; };
    backends = ( { address = "$(case_be "$port")"; probe = { $keys }; } ); },
EOF
	done | sed '$ s/},$/}/'
	echo ");"
}
write_conf >"$XLBD_CONF"

start_matrix_servers() {
	local s port args
	for s in "${SERVERS[@]}"; do
		IFS='|' read -r port args <<<"$s"
		# shellcheck disable=SC2086 # the misbehaviour's words
		sstp_start "m$port" be1 --listen "$BE1:$port" $args || return 1
	done
	httpd_start "h$HTTPD_OK" be1 "$BE1,$HTTPD_OK" &&
	httpd_start "h$HTTPD_204" be1 "$BE1,$HTTPD_204" --status 204
}
step "matrix: ${#SERVERS[@]} sstp-servers (healthy and misbehaving) and 2 HTTP servers on be1" \
	start_matrix_servers || bail_out "the servers did not start"

start_main_servers() {
	local i
	for i in 1 2 3; do
		sstp_start "main$i" "be$i" --listen "$LAB_VIP4:443" --listen "${BE[i - 1]}:443" || return 1
	done
	sstp_start rf be2 --listen "$BE2:7101"
}
step "be1..be3: sstp-server on the VIP and the backend's address, port 443; be2: port 7101" \
	start_main_servers || bail_out "the servers did not start"

xlbd_run_once -c "$XLBD_CONF" --check
is "$XLBD_RC" 0 "xlbd --check: the config with $((${#CASES[@]} + 2)) probed VIPs is OK" ||
	diag "$XLBD_OUT"
if ! step "xlbd starts in $LAB_PREFIX-lb" xlbd_start; then
	diag_xlbd
	bail_out "xlbd did not start"
fi
T0=$SECONDS

# A new backend with a probe starts down: no traffic before `rise` good probes.
probe_table >"$TMP/t0"
n=0 bad=0
for b in "${BE[@]}"; do
	probe_row "$TMP/t0" "$MAIN" "$b"
	if (($(pf successes) < 2)); then
		n=$((n + 1))
		[[ $(pf health)/$(pf state) == down/down ]] || bad=$((bad + 1))
	fi
done
cond "$n > 0 && $bad == 0" \
	"new backends start down (health and state) until rise = 2 good probes ($n seen before, $bad not down)" ||
	grep "^$MAIN|" "$TMP/t0" | sed 's/^/#   /'

# wait until every case has had 3 probes (the first comes within an interval)
matrix_ready() {
	local i c port short
	for ((i = 0; i < 60; i++)); do
		probe_table >"$TMP/t1"
		short=0
		for c in "${CASES[@]}"; do
			port=${c%%|*}
			probe_row "$TMP/t1" "$(case_vip "$port")" "$(case_be "$port")"
			(($(pf probes) >= 3)) || short=$((short + 1))
		done
		((short == 0)) && return 0
		sleep 0.25
	done
	echo "$short cases with fewer than 3 probes"
	return 1
}
step "matrix: every case probed 3 times or more" matrix_ready
diag "matrix settled $((SECONDS - T0)) s after xlbd started"
T_MATRIX=$(date +%s.%N)
probe_table >"$TMP/matrix"
xc show >"$TMP/matrix-plain.txt"
metrics_get >"$TMP/matrix-metrics.txt"

# the verdict and reason of each case
for c in "${CASES[@]}"; do
	IFS='|' read -r port what keys rest <<<"$c"
	health=${rest##*|}
	want=${rest%|*}
	probe_row "$TMP/matrix" "$(case_vip "$port")" "$(case_be "$port")"
	last=$(pf last)
	if [[ $want == ok ]]; then
		# all good: every probe ok, no failure counted
		cond "$([[ $last == ok && $(pf health) == "$health" && $(pf state) == active && $(pf reasons) == - && $(pf successes) == $(pf probes) ]] && echo 1 || echo 0)" \
			"$what: up, last=ok, every probe ok ($(pf probes))" ||
			diag "row: $ROW"
	else
		# the wanted reason(s) every time, down, out of the data plane
		n=0
		for r in ${want//|/ }; do n=$((n + $(reason_count "$r"))); done
		cond "$([[ $last =~ ^($want)$ && $(pf health) == "$health" && $(pf state) == down && $n -ge 2 && $n == $(pf probes) ]] && echo 1 || echo 0)" \
			"$what: down, last=$last (want $want), $n of $(pf probes) probes: $(pf error | cut -c1-90)" ||
			diag "row: $ROW"
	fi
done

# the details
probe_row "$TMP/matrix" "$MX:6002/tcp" "$BE1"
is "$(pf tls)/$(pf days)/$(pf warn)" "TLSv1.3/29/false" \
	"tls: TLS version TLSv1.3, certificate 29 days left (30-day certificate), no warning" ||
	diag "row: $ROW"
probe_row "$TMP/matrix" "$MX:6030/tcp" "$BE1"
is "$(pf last)/$(pf days)/$(pf warn)" "ok/4/true" \
	"sstp verify, certificate expiring in 5 days: ok, 4 days left, cert_warn (cert_warn_days 14)" ||
	diag "row: $ROW"
cond "$(grep -cE '^ +!! its certificate expires in 4 days' "$TMP/matrix-plain.txt") >= 1" \
	"show (plain): '!! its certificate expires in 4 days'" ||
	grep -A3 "$MX:6030/tcp" "$TMP/matrix-plain.txt" | sed 's/^/#   /'
probe_row "$TMP/matrix" "$MX:6025/tcp" "$BE1"
cond "$([[ $(pf last) == ok && $(pf warn) == true && $(pf days) -lt -2000 ]] && echo 1 || echo 0)" \
	"tls without verify, expired certificate: ok, but cert_warn and days left negative ($(pf days))" ||
	diag "row: $ROW"
probe_row "$TMP/matrix" "$MX:6024/tcp" "$BE1"
cond "$(grep -c 'expired on 2020-01-02' <<<"$(pf error)")" \
	"cert_expired: the error names the day: $(pf error)"
probe_row "$TMP/matrix" "$MX:6031/tcp" "$BE1"
cond "$([[ $(pf error) == "$BE1:7013: "* ]] && echo 1 || echo 0)" \
	"connect_refused: the error names the backend and port: $(pf error)"
cond "$(grep -c "last failure: $BE1:7013: " "$TMP/matrix-plain.txt") >= 1" \
	"show (plain): 'last failure: ...' under a failing backend" ||
	grep -A3 "$MX:6031/tcp" "$TMP/matrix-plain.txt" | sed 's/^/#   /'

# a probe that gets nothing more must end at its timeout (400 ms), not later
for port in 6013 6021; do
	probe_row "$TMP/matrix" "$MX:$port/tcp" "$BE1"
	lat=$(pf latency)
	cond "$(awk -v l="$lat" 'BEGIN { print (l >= 390 && l <= 600) }')" \
		"$(pf last) at the probe's timeout: latency $lat ms for timeout 400 ms ($([[ $port == 6013 ]] && echo hang || echo drip))" ||
		diag "row: $ROW"
done
probe_row "$TMP/matrix" "$MX:6021/tcp" "$BE1"
cond "$(grep -cE 'within 400 ms' <<<"$(pf error)")" "drip: the error says so: $(pf error)"

# what the far end saw
n=$(grep -cE "conn [0-9]+ $SRC2:[0-9]+ closed" "$TMP/m7001.log")
m=$(grep -cE "conn [0-9]+ ${LAB_LB4//./\\.}:[0-9]+ closed" "$TMP/m7001.log")
cond "$n >= 2 && $m >= 2" "source = $SRC2: the server saw probes from $SRC2 ($n) as well as from $LAB_LB4 ($m)"
PROXY_HDR=0d0a0d0a000d0a515549540a20000000	# signature, v2 LOCAL, AF_UNSPEC, length 0
n=$(grep -c "proxy=$PROXY_HDR request=\"GET /proxied HTTP/1.1\"" "$TMP/h$HTTPD_OK.log")
cond "$n >= 2" "http with proxy_v2: the server read a PROXY v2 LOCAL header ($PROXY_HDR), then GET /proxied ($n)" ||
	grep /proxied "$TMP/h$HTTPD_OK.log" | head -3 | sed 's/^/#   /'
n=$(grep -c "proxy=$PROXY_HDR request=- " "$TMP/h$HTTPD_OK.log")
cond "$n >= 1" "tcp with proxy_v2: the server read the PROXY v2 header and no request ($n)" ||
	grep 'request=- ' "$TMP/h$HTTPD_OK.log" | head -3 | sed 's/^/#   /'
n=$(grep -c "proxy=- request=\"GET /health HTTP/1.1\" host=$BE1:$HTTPD_OK\$" "$TMP/h$HTTPD_OK.log")
cond "$n >= 2" "http: GET /health with Host: $BE1:$HTTPD_OK, no PROXY header ($n)" ||
	grep /health "$TMP/h$HTTPD_OK.log" | head -3 | sed 's/^/#   /'
n=$(grep -c "host=vip.xlb.test correlation=" "$TMP/m7012.log")
cond "$n >= 2" "sstp with host = vip.xlb.test: SSTP_DUPLEX_POST with Host: vip.xlb.test ($n)"
n=$(grep -cE 'closed: tls-failed' "$TMP/m7001.log")
cond "$n >= 2" "sstp with proxy_v2 vs a server without PROXY support: it fails the TLS handshake ($n)"

# metrics of the matrix
mx_metric() {	# NAME PORT [EXTRA LABELS]
	metric "$TMP/matrix-metrics.txt" "$1" "vip=\"$MX:$2/tcp\",backend=\"$(case_be "$2")\"${3:+,$3}"
}
is "$(mx_metric xlb_backend_probe_ok 6003)/$(mx_metric xlb_backend_up 6003)/$(mx_metric xlb_backend_probe_ok 6011)/$(mx_metric xlb_backend_up 6011)" \
	"1/1/0/0" "metrics: probe_ok and up are 1 for a healthy backend, 0 for a failing one"
probe_row "$TMP/matrix" "$MX:6011/tcp" "$BE1"
n=$(mx_metric xlb_backend_probe_results_total 6011 'result="tls_alert"')
cond "${n:-0} >= 2 && ${n:-0} <= $(pf probes) + 2" \
	"metrics: probe_results_total{result=\"tls_alert\"} $n (show: $(reason_count tls_alert))"
n=$(mx_metric xlb_backend_probe_results_total 6003 'result="ok"')
cond "${n:-0} >= 3" "metrics: probe_results_total{result=\"ok\"} $n for a healthy backend"
is "$(mx_metric xlb_backend_cert_expiry_days 6030)/$(mx_metric xlb_backend_cert_expiry_days 6002)" "4/29" \
	"metrics: cert_expiry_days 4 (5-day certificate) and 29 (30-day certificate)"
n=$(mx_metric xlb_backend_cert_expiry_days 6025)
cond "${n:-0} < -2000" "metrics: cert_expiry_days of an expired certificate is negative ($n)"
n=$(mx_metric xlb_backend_probe_latency_seconds 6013)
cond "$(awk -v l="$n" 'BEGIN { print (l >= 0.39 && l <= 0.6) }')" \
	"metrics: probe_latency_seconds $n for a probe that timed out at 0.4 s"
n=$(grep -c '^xlb_backend_probe_results_total{' "$TMP/matrix-metrics.txt")
cond "$n >= ${#CASES[@]}" "metrics: a probe_results_total series for every probed backend and result ($n)"

# ---- rise and fall ----------------------------------------------------------------------

# sample_until FILE HEALTH [ADDR]: the view of RF's backend ADDR (default
# be2) every ~50 ms into FILE, one line each, "SECONDS.ms|" and then the
# fields of a probe_table row (ring_held "-"), until its health is HEALTH
# (at most 15 s). One Python process calling xlbctl: fast enough to see
# every probe at 0.5 s intervals even on a busy machine.
sample_until() {
	python3 - "$XLBCTL" "$XLBD_SOCK" "$RF" "${3:-$BE2}" "$2" >"$1" 2>>"$TMP/xc-errors" <<'EOF'
import json, subprocess, sys, time
xlbctl, sock, svc, addr, want = sys.argv[1:]
end = time.time() + 15
while time.time() < end:
    t = time.time()
    r = subprocess.run([xlbctl, "-s", sock, "--json", "backend", "list", svc],
                       capture_output=True, text=True)
    try:
        b = [b for b in json.loads(r.stdout) if b["address"] == addr][0]
    except (ValueError, IndexError, KeyError):
        print("%s sampler: xlbctl --json backend list: exit %d: %s" % (time.strftime("%T"),
              r.returncode, (r.stdout + r.stderr)[:300]), file=sys.stderr)
        time.sleep(0.05)
        continue
    p = b.get("probe", {})
    f = ["%.3f" % t, svc, addr, b.get("health", "-"), b.get("state", "-"), p.get("last", "-"),
         p.get("probes", 0), p.get("successes", 0), p.get("failures", 0), p.get("latency_ms", -1),
         p.get("tls_version", "-"), p.get("cert_days_left", "-"), str(p.get("cert_warn", "-")).lower(),
         ",".join("%s=%s" % kv for kv in sorted(p.get("failures_by_reason", {}).items())) or "-",
         "-", p.get("error", "")]
    print("|".join(str(x) for x in f), flush=True)
    if b.get("health") == want:
        sys.exit(0)
    time.sleep(max(0, 0.05 - (time.time() - t)))
sys.exit(1)
EOF
}

# field of a sample line (after the time)
sf() {
	local line=$1
	ROW=${line#*|}
	pf "$2"
}

# contradictions FILE COUNT N: sample lines whose health disagrees with
# rise/fall: COUNT (failures or successes) below N, yet moved (down for
# failures, up for successes), or N or more, yet not moved
contradictions() {
	awk -F'|' -v c="$2" -v n="$3" '
		{ k = c == "failures" ? $9 : $8; moved = c == "failures" ? $4 == "down" : $4 == "up" }
		(k < n && k > 0 && moved) || (k >= n && !moved) { bad++ }
		END { print bad + 0 }' "$1"
}

# seen_before FILE COUNT: the values of COUNT seen before the move, "1 2 3"
seen_before() {
	awk -F'|' -v c="$2" '{ k = c == "failures" ? $9 : $8; moved = c == "failures" ? $4 == "down" : $4 == "up" }
		!moved && k > 0 { print k }' "$1" | sort -nu | tr '\n' ' ' | sed 's/ $//'
}

rise_fall() {
	local t_stop first t_down l n

	step "rise/fall: $RF's backend be2 up (rise 3, fall 4, interval 0.5 s)" \
		sample_until "$TMP/rf0" up
	sleep 0.3
	t_stop=$(date +%s.%N)
	srv_stop rf
	sample_until "$TMP/rf-down" down
	first=$(grep -m1 -E '^[^|]*\|[^|]*\|[^|]*\|down\|' "$TMP/rf-down")
	n=$(grep -c "backend $BE2 of $RF: DOWN after 4 failed probes: connect_refused ($BE2:7101: connect: Connection refused)" "$XLBD_LOG")
	is "$n/$(contradictions "$TMP/rf-down" failures 4)/$(seen_before "$TMP/rf-down" failures)/$(sf "$first" last)" \
		"1/0/1 2 3/connect_refused" \
		"server stopped: up through failures 1, 2, 3, down at the 4th (fall 4): logged 'DOWN after 4 failed probes: connect_refused', $(wc -l <"$TMP/rf-down") samples agree (first down at $(sf "$first" failures))" ||
		{ cut -c1-110 "$TMP/rf-down" | sed 's/^/#   /'; grep -F "$RF" "$XLBD_LOG" | tail -3 | sed 's/^/#   /'; }
	t_down=${first%%|*}
	l=$(awk -v a="$t_stop" -v b="$t_down" 'BEGIN { printf "%.2f", b - a }')
	cond "$(awk -v l="$l" 'BEGIN { print (l >= 1.2 && l <= 3.4) }')" \
		"...down ${l} s after the server stopped (4 probes 0.5 s apart: 1.35 .. 2.8 s, plus polling)"
	is "$(sf "$first" state)" down "...and its state is down at once (out of the ring)"

	l=$(wc -l <"$XLBD_LOG")
	sstp_start rf be2 --listen "$BE2:7101" || { cond 0 "rise/fall: server restarts"; return; }
	sample_until "$TMP/rf-up" up
	first=$(grep -m1 -E '^[^|]*\|[^|]*\|[^|]*\|up\|' "$TMP/rf-up")
	n=$(tail -n +$((l + 1)) "$XLBD_LOG" | grep -c "backend $BE2 of $RF: up after 3 good probes")
	is "$n/$(contradictions "$TMP/rf-up" successes 3)/$(seen_before "$TMP/rf-up" successes)/$(sf "$first" state)" \
		"1/0/1 2/active" \
		"server back: down through successes 1, 2, up and active at the 3rd (rise 3): logged 'up after 3 good probes', $(wc -l <"$TMP/rf-up") samples agree (first up at $(sf "$first" successes))" ||
		cut -c1-110 "$TMP/rf-up" | sed 's/^/#   /'

	# a backend added at run time, its server already answering: down
	# (no traffic) until rise = 3 good probes
	sstp_start rf3 be3 --listen "$BE3:7101" || { cond 0 "rise/fall: be3's server starts"; return; }
	l=$(wc -l <"$XLBD_LOG")
	xc backend add "$RF" "$BE3"
	sample_until "$TMP/rf-add" up "$BE3"
	first=$(head -1 "$TMP/rf-add")
	n=$(tail -n +$((l + 1)) "$XLBD_LOG" | grep -c "backend $BE3 of $RF: up after 3 good probes")
	is "$(sf "$first" health)/$(sf "$first" state)/$n/$(contradictions "$TMP/rf-add" successes 3)/$(tail -1 "$TMP/rf-add" | cut -d'|' -f5)" \
		"down/down/1/0/active" \
		"backend added with xlbctl: down (health and state) at first, up and active after 3 good probes (logged; samples agree)" ||
		cut -c1-110 "$TMP/rf-add" | sed 's/^/#   /'
}
rise_fall

# the schedule kept: probes every interval (0.5 s +- 10%), whatever they
# meet (an ok, a refusal, a timeout of 0.4 s), with ~40 targets at once
probe_rate() {
	local t1 port a b r out='' bad=0
	t1=$(date +%s.%N)
	probe_table >"$TMP/later"
	for port in 6003 6011 6013 6021 6031 6037; do
		probe_row "$TMP/matrix" "$(case_vip "$port")" "$(case_be "$port")"
		a=$(pf probes)
		probe_row "$TMP/later" "$(case_vip "$port")" "$(case_be "$port")"
		b=$(pf probes)
		r=$(awk -v a="$a" -v b="$b" -v t0="$T_MATRIX" -v t1="$t1" 'BEGIN { printf "%.2f", (b - a) / (t1 - t0) }')
		out+="$port:$r/s "
		awk -v r="$r" 'BEGIN { exit !(r >= 1.6 && r <= 2.4) }' || bad=$((bad + 1))
	done
	cond "$bad == 0" "probes kept their interval over $(awk -v t0="$T_MATRIX" -v t1="$t1" 'BEGIN { printf "%.0f", t1 - t0 }') s: ${out% } (want 2/s +- 20%)"
}
probe_rate

# ---- down -> out of the ring ------------------------------------------------------------

wait_health() {	# SVC ADDR HEALTH [SECONDS]
	local i
	for ((i = 0; i < ${4:-10} * 5; i++)); do
		probe_table >"$TMP/w.t"
		probe_row "$TMP/w.t" "$1" "$2"
		[[ $(pf health) == "$3" ]] && return 0
		sleep 0.2
	done
	return 1
}

all_health() {	# SVC HEALTH [SECONDS]: every backend of SVC
	local i
	for ((i = 0; i < ${3:-10} * 5; i++)); do
		probe_table >"$TMP/w.t"
		awk -F'|' -v s="$1" -v h="$2" '$1 == s { n++; if ($3 != h) bad = 1 }
			END { exit bad || !n }' "$TMP/w.t" && return 0
		sleep 0.2
	done
	return 1
}

out_of_ring() {
	local t nb2 open

	step "main VIP $MAIN: be1..be3 up" all_health "$MAIN" up 10 || grep "^$MAIN|" "$TMP/w.t" | sed 's/^/#   /'
	sstp_once "$LAB_VIP4" 443 -n 30
	cond "$(kv "$ONCE_LINE" ok) == 30 && $(kv "$ONCE_LINE" be1) > 0 && $(kv "$ONCE_LINE" be2) > 0 && $(kv "$ONCE_LINE" be3) > 0" \
		"30 new SSTP sessions through $MAIN: all answered, by be1, be2 and be3 ($ONCE_LINE)"

	sstp_hold "$LAB_VIP4" 443 18
	open=$HOLD_LINE
	nb2=$(kv "$open" be2)
	cond "$(kv "$open" ok) == 18 && $nb2 > 0" "18 SSTP sessions held through the VIP, up to Call Connected ($open)" ||
		diag_hold

	t=$SECONDS
	srv_stop main2
	wait_health "$MAIN" "$BE2" down 10
	is "$(pf health)/$(pf state)/$(pf last)" "down/down/connect_refused" \
		"be2's server stopped: be2 down and out of the ring within $((SECONDS - t)) s (connect_refused)"
	sstp_once "$LAB_VIP4" 443 -n 30
	is "$(kv "$ONCE_LINE" ok)/$(kv "$ONCE_LINE" fail)/$(kv "$ONCE_LINE" be2)" "30/0/0" \
		"be2 down: 30 new sessions answered, none by be2 ($ONCE_LINE)"
	# health is what the probes saw, not configuration: setconf of the
	# running config keeps be2 down and out of the ring
	xc showconf >"$TMP/running.conf"
	xc setconf "$TMP/running.conf" >/dev/null
	probe_table >"$TMP/w.t"
	probe_row "$TMP/w.t" "$MAIN" "$BE2"
	sstp_once "$LAB_VIP4" 443 -n 30
	is "$(pf health)/$(pf state)/$(kv "$ONCE_LINE" ok)/$(kv "$ONCE_LINE" be2)" "down/down/30/0" \
		"setconf of the running config: be2 still down, 30 new sessions, none by be2 ($ONCE_LINE)"
	hold_cmd check
	is "$(kv "$HOLD_LINE" ok)/$(kv "$HOLD_LINE" lost_be1)/$(kv "$HOLD_LINE" lost_be3)" \
		"$((18 - nb2))/0/0" "be2 down: the $((18 - nb2)) sessions on be1 and be3 still answer echoes ($HOLD_LINE)" ||
		diag_hold

	t=$SECONDS
	sstp_start main2 be2 --listen "$LAB_VIP4:443" --listen "$BE2:443" ||
		cond 0 "be2's server restarts"
	wait_health "$MAIN" "$BE2" up 10
	is "$(pf health)/$(pf state)" "up/active" "be2's server back: be2 up and active again within $((SECONDS - t)) s"
	sstp_once "$LAB_VIP4" 443 -n 30
	cond "$(kv "$ONCE_LINE" ok) == 30 && $(kv "$ONCE_LINE" be2) > 0" \
		"be2 up: 30 new sessions answered, be2 among them again ($ONCE_LINE)"
	hold_cmd check
	is "$(kv "$HOLD_LINE" ok)/$(kv "$HOLD_LINE" lost_be1)/$(kv "$HOLD_LINE" lost_be3)" \
		"$((18 - nb2))/0/0" "be2 back: the sessions on be1 and be3 still answer ($HOLD_LINE)" ||
		diag_hold
	hold_close
}
out_of_ring

# ---- every backend down ---------------------------------------------------------------------

vip_packets() {
	xc --json vip show "$MAIN" | xq 'd.get("packets", 0)'
}

all_down() {
	local i last_ring n p0 p1 names nm t l0

	# before any of it: the error never came for a VIP whose backends
	# never failed a probe (new backends start down until rise: that is
	# no failure)
	l0=$(wc -l <"$XLBD_LOG")
	local healthy=("$MAIN" "$RF") c svc flagged=()
	for c in "${CASES[@]}"; do
		[[ $c == *"|ok|up" ]] && healthy+=("$(case_vip "${c%%|*}")")
	done
	for svc in "${healthy[@]}"; do
		grep -qF "VIP $svc: EVERY backend is failing" "$XLBD_LOG" && flagged+=("$svc")
	done
	is "${#flagged[@]}" 0 "startup: no 'EVERY backend is failing' error for the ${#healthy[@]} VIPs whose backends never failed a probe" ||
		{ diag "logged for: ${flagged[*]:0:4} ..."
		  grep -E "EVERY|up after" "$XLBD_LOG" | head -4 | cut -c1-150 | sed 's/^/#   /'; }

	t=$SECONDS
	for i in 1 2 3; do srv_stop "main$i"; done
	step "all three servers stopped: every backend of $MAIN down" all_health "$MAIN" down 10 ||
		grep "^$MAIN|" "$TMP/w.t" | sed 's/^/#   /'
	diag "all down $((SECONDS - t)) s after the servers stopped"
	sleep 0.3
	probe_table >"$TMP/held.t"
	last_ring=$(awk -F'|' -v s="$MAIN" '$1 == s && $4 != "down" { print $2 }' "$TMP/held.t" | tr '\n' ' ')
	last_ring=${last_ring% }
	probe_row "$TMP/held.t" "$MAIN" "$BE1"
	cond "$([[ $(pf held) == true && -n $last_ring ]] && echo 1 || echo 0)" \
		"show: ring_held, the last ring kept (backends still active in it: $last_ring)" ||
		grep "^$MAIN|" "$TMP/held.t" | sed 's/^/#   /'
	n=$(tail -n +$((l0 + 1)) "$XLBD_LOG" |
	    grep -c "VIP $MAIN: EVERY backend is failing its health check; keeping the last ring")
	is "$n" 1 "xlbd logs the error once: VIP $MAIN: EVERY backend is failing its health check; keeping the last ring ..."
	xcr_out=$(xc show "$MAIN")
	cond "$(grep -c '!! every backend fails its health check: the last ring is kept' <<<"$xcr_out")" \
		"show (plain): '!! every backend fails its health check: the last ring is kept'"
	metrics_get >"$TMP/held-metrics.txt"
	is "$(metric "$TMP/held-metrics.txt" xlb_vip_ring_held "vip=\"$MAIN\"")/$(metric "$TMP/held-metrics.txt" xlb_vip_ring_held "vip=\"$RF\"")" \
		"1/0" "metrics: xlb_vip_ring_held 1 for $MAIN, 0 for a healthy VIP"

	# not black-holed: the SYNs still reach a backend, whose kernel refuses them
	p0=$(vip_packets)
	sstp_once "$LAB_VIP4" 443 -n 10
	p1=$(vip_packets)
	n=$(in_ns client python3 "$PROBE_TOOL" once "$LAB_VIP4" 443 -n 3 | grep -c 'ConnectionRefusedError')
	cond "$(kv "$ONCE_LINE" fail) == 10 && $p1 - $p0 >= 10 && $n == 3" \
		"every backend down, no server: the VIP still forwards (+$((p1 - p0)) packets for 10 attempts), the backend's kernel refuses ($n of 3)"

	# the servers answer on the VIP again, but not the probes: the last ring serves
	for i in 1 2 3; do
		sstp_start "vip$i" "be$i" --listen "$LAB_VIP4:443" || cond 0 "be$i: VIP-only server starts"
	done
	sleep 1.2
	sstp_once "$LAB_VIP4" 443 -n 30
	names=$(grep -oE 'be[0-9]=[0-9]+' <<<"$ONCE_LINE" | cut -d= -f1 | tr '\n' ' ')
	n=0
	for nm in $names; do
		[[ " $last_ring " == *" ${BE[${nm#be} - 1]} "* ]] || n=$((n + 1))
	done
	probe_table >"$TMP/held2.t"
	probe_row "$TMP/held2.t" "$MAIN" "$BE1"
	cond "$(kv "$ONCE_LINE" ok) == 30 && $n == 0 && $([[ $(pf held) == true ]] && echo 1 || echo 0)" \
		"servers on the VIP only (probes still refused): 30 sessions answered, all by the last ring ($ONCE_LINE), ring still held" ||
		grep "^$MAIN|" "$TMP/held2.t" | sed 's/^/#   /'

	# a backend added meanwhile (no server: its probes fail) starts down
	# and leaves the frozen ring as it is
	xc backend add "$MAIN" "$NEWBE"
	probe_table >"$TMP/held3.t"
	probe_row "$TMP/held3.t" "$MAIN" "$NEWBE"
	n=$(pf health)/$(pf state)
	probe_row "$TMP/held3.t" "$MAIN" "$BE1"
	sstp_once "$LAB_VIP4" 443 -n 10 --timeout 1
	is "$n/$(pf held)/$(kv "$ONCE_LINE" ok)" "down/down/true/10" \
		"backend $NEWBE added while the ring is held: down, the ring stays held, 10 sessions still answered ($ONCE_LINE)" ||
		{ grep "^$MAIN|" "$TMP/held3.t" | cut -c1-120 | sed 's/^/#   /'
		  tail -n +$((l0 + 1)) "$XLBD_LOG" | grep -F "$MAIN" | tail -6 | cut -c1-150 | sed 's/^/#   /'; }
	xc backend del "$MAIN" "$NEWBE" --force
	probe_table >"$TMP/held4.t"
	probe_row "$TMP/held4.t" "$MAIN" "$BE1"
	sstp_once "$LAB_VIP4" 443 -n 10 --timeout 1
	is "$(pf held)/$(kv "$ONCE_LINE" ok)" "true/10" \
		"...and deleted again: the ring still held, 10 sessions answered ($ONCE_LINE)"

	# the probes pass again: the ring follows health again
	l0=$(wc -l <"$XLBD_LOG")
	t=$SECONDS
	for i in 1 2 3; do
		sstp_start "hc$i" "be$i" --listen "${BE[i - 1]}:443" || cond 0 "be$i: probe server starts"
	done
	step "probe servers back: every backend of $MAIN up" all_health "$MAIN" up 10
	probe_table >"$TMP/rec.t"
	probe_row "$TMP/rec.t" "$MAIN" "$BE1"
	n=$(tail -n +$((l0 + 1)) "$XLBD_LOG" |
	    grep -c "VIP $MAIN: a backend is healthy again; the ring follows health again")
	is "$(pf held)/$n" "false/1" "recovery in $((SECONDS - t)) s: ring_held false, xlbd logs 'a backend is healthy again'"
	metrics_get >"$TMP/rec-metrics.txt"
	is "$(metric "$TMP/rec-metrics.txt" xlb_vip_ring_held "vip=\"$MAIN\"")" 0 "metrics: xlb_vip_ring_held back to 0"
	sstp_once "$LAB_VIP4" 443 -n 30
	cond "$(kv "$ONCE_LINE" ok) == 30 && $(kv "$ONCE_LINE" be1) > 0 && $(kv "$ONCE_LINE" be2) > 0 && $(kv "$ONCE_LINE" be3) > 0" \
		"recovered: 30 new sessions spread over be1, be2 and be3 again ($ONCE_LINE)"
}
all_down

# ---- a restart of xlbd ------------------------------------------------------------------------

# The backends were up: the restarted xlbd keeps their traffic (health
# unknown until probed, not down) and never holds or rebuilds the ring.
restart() {
	local l n
	step "xlbd stops (SIGTERM)" xlbd_stop TERM
	l=$(wc -l <"$XLBD_LOG")
	step "xlbd starts again" xlbd_start || { diag_xlbd; return; }
	probe_table >"$TMP/re.t"
	n=$(awk -F'|' -v s="$MAIN" '$1 == s { print $3 "/" $4 }' "$TMP/re.t" | sort | uniq -c | xargs)
	cond "$(awk -F'|' -v s="$MAIN" '$1 == s && $4 == "active"' "$TMP/re.t" | wc -l) == 3" \
		"restarted xlbd: be1..be3 of $MAIN still active before any probe ($n)"
	sstp_once "$LAB_VIP4" 443 -n 30
	cond "$(kv "$ONCE_LINE" ok) == 30 && $(kv "$ONCE_LINE" be1) > 0 && $(kv "$ONCE_LINE" be2) > 0 && $(kv "$ONCE_LINE" be3) > 0" \
		"right after the restart: 30 new sessions spread over be1, be2 and be3 ($ONCE_LINE)"
	all_health "$MAIN" up 10
	sleep 0.5
	n=$(tail -n +$((l + 1)) "$XLBD_LOG" | grep -cE "$MAIN(: EVERY|: .* down$|: DOWN)")
	is "$n" 0 "restart: no backend of $MAIN went down, no ring held, while probes caught up" ||
		tail -n +$((l + 1)) "$XLBD_LOG" | grep -F "$MAIN" | head -5 | cut -c1-150 | sed 's/^/#   /'
}
restart

# ---- the end ------------------------------------------------------------------------------

n=0
[[ -f $TMP/xc-errors ]] && n=$(wc -l <"$TMP/xc-errors")
is "$n" 0 "xlbctl --json show always answered (polled ~every 0.1 s)" ||
	head -5 "$TMP/xc-errors" | sed 's/^/#   /'
n=$(grep -cE ' xlbd (error|warning): ' "$XLBD_LOG")
diag "xlbd log: $(wc -l <"$XLBD_LOG") lines, $n warnings or errors"
[[ -n ${XLB_PROBES_KEEP:-} ]] && cp -r "$TMP" "$XLB_PROBES_KEEP"
step "xlbd stops (SIGTERM)" xlbd_stop TERM
step "lab down" lab_down "$PREFIX"
diag "test_probes: $((SECONDS - START)) s"
done_testing
