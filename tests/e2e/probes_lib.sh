# shellcheck shell=bash disable=SC2034
# probes_lib.sh: what tests/e2e/test_probes.sh needs beyond lib.sh and
# xlbd_lib.sh: certificates of every kind a probe must judge (good,
# expiring soon, expired, from another CA), tests/tools/sstp-server and a
# small Python HTTP server in the backends' namespaces, an SSTP client for
# the client's namespace, and the probe's view of each backend as
# 'xlbctl --json show' gives it. Source it after xlbd_lib.sh; it expects
# TMP (scratch directory) and PKI (where probe_certs put the certificates):
#
#   probe_certs "$PKI"                     # ca.pem, good.pem, soon.pem, ...
#   probe_tool_init                        # $PROBE_TOOL (python)
#   sstp_start m7005 be1 --listen 198.18.101.2:7005 --nak
#   probe_table >"$TMP/t"; probe_row "$TMP/t" SVC ADDR; pf health
#
# Every process is started by PID (E2E_PIDS) and stopped by PID.

SSTP_SERVER=$E2E_BUILD/tests/tools/sstp-server
PROBE_TOOL=''		# the Python helper, written by probe_tool_init
declare -A SRV_PID=()	# sstp-server / httpd by NAME

# ---- certificates -----------------------------------------------------------------

# probe_certs DIR: in DIR, a CA (ca.pem) and a second one (other-ca.pem),
# and server certificates with their keys, all for the backends'
# addresses, the IPv4 VIP and DNS:vip.xlb.test, signed by ca.pem:
#   good.pem     valid 30 days from now
#   soon.pem     valid 5 days from now (within cert_warn_days = 14)
#   expired.pem  valid 2020-01-01 .. 2020-01-02
# (openssl ca, not x509 -req: only it takes explicit dates in OpenSSL 3.0)
probe_certs() {
	local dir=$1 c sans=''
	local ec=(-newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes)
	local -a be
	read -ra be <<<"$LAB_BE4"
	for c in "${be[@]}"; do sans+="IP:$c,"; done
	sans+="IP:$LAB_VIP4,DNS:vip.xlb.test"
	mkdir -p "$dir" || return 1
	for c in ca other-ca; do
		openssl req -x509 "${ec[@]}" -days 60 -subj "/CN=xlb probe test $c" \
			-addext "basicConstraints=critical,CA:TRUE" \
			-addext "keyUsage=critical,keyCertSign,cRLSign" \
			-keyout "$dir/$c.key" -out "$dir/$c.pem" 2>/dev/null || return 1
	done
	: >"$dir/index.txt"
	echo 01 >"$dir/serial"
	cat >"$dir/ca.cnf" <<EOF
[ca]
default_ca = xca
[xca]
database = $dir/index.txt
new_certs_dir = $dir
serial = $dir/serial
default_md = sha256
policy = anything
unique_subject = no
x509_extensions = ext
[anything]
commonName = supplied
[ext]
basicConstraints = critical,CA:FALSE
keyUsage = critical,digitalSignature
extendedKeyUsage = serverAuth
subjectAltName = $sans
EOF
	for c in good:"-days 30" soon:"-days 5" \
		 expired:"-startdate 20200101000000Z -enddate 20200102000000Z"; do
		# shellcheck disable=SC2086 # the dates are several words
		openssl req "${ec[@]}" -subj "/CN=${c%%:*}" -keyout "$dir/${c%%:*}.key" \
			-out "$dir/${c%%:*}.csr" 2>/dev/null &&
		openssl ca -batch -notext -config "$dir/ca.cnf" -cert "$dir/ca.pem" \
			-keyfile "$dir/ca.key" -in "$dir/${c%%:*}.csr" -out "$dir/${c%%:*}.pem" \
			${c#*:} >/dev/null 2>&1 || return 1
	done
}

# ---- servers ------------------------------------------------------------------------

# sstp_start NAME NODE ARGS...: sstp-server in NODE's namespace, known as
# NAME here (log $TMP/NAME.log, PID in SRV_PID[NAME]) and as NODE to its
# clients (X-Xlb-Backend: be2), with the good certificate unless ARGS give
# --cert and --key; waits until it is ready.
sstp_start() {
	local name=$1 node=$2 cert=(--cert "$PKI/good.pem" --key "$PKI/good.key")
	shift 2
	[[ " $* " == *" --cert "* ]] && cert=()
	: >"$TMP/$name.log"
	bg_start "$TMP/$name.out" "$node" "$SSTP_SERVER" --name "$node" --echo-interval 0 \
		"${cert[@]}" --log "$TMP/$name.log" "$@"
	SRV_PID[$name]=$BG_PID
	wait_for "$TMP/$name.log" ' ready ' 10 || { cat "$TMP/$name.out"; return 1; }
}

# httpd_start NAME NODE ADDR,PORT [--status N]: the Python HTTP server.
httpd_start() {
	local name=$1 node=$2 listen=$3
	shift 3
	: >"$TMP/$name.log"
	bg_start "$TMP/$name.out" "$node" python3 "$PROBE_TOOL" httpd --listen "$listen" \
		--log "$TMP/$name.log" "$@"
	SRV_PID[$name]=$BG_PID
	wait_for "$TMP/$name.log" '^ready$' 10 || { cat "$TMP/$name.out"; return 1; }
}

# srv_stop NAME: TERM the server, wait for it, forget its PID.
srv_stop() {
	local p=${SRV_PID[$1]:-}
	[[ -n $p ]] || return 0
	kill -TERM "$p" 2>/dev/null
	wait "$p" 2>/dev/null
	pid_forget "$p"
	unset "SRV_PID[$1]"
	return 0
}

# ---- the probe's view -------------------------------------------------------------------

# probe_table: one line per (VIP, backend) from 'xlbctl --json show':
#   SERVICE|ADDRESS|health|state|last|probes|successes|failures|latency_ms|
#   tls_version|cert_days_left|cert_warn|REASON=N,...|ring_held|error
probe_table() {
	local out rc
	out=$(xc --json show 2>&1)
	rc=$?
	if ((rc != 0)) || [[ $out != "{"* ]]; then
		# xlbctl must always answer: note it, the caller sees no rows
		echo "$(date +%T.%N | cut -c1-12) xlbctl --json show: exit $rc: ${out:0:300}" >>"$TMP/xc-errors"
		return 1
	fi
	python3 -c '
import json, sys
d = json.load(sys.stdin)
for v in d["vips"]:
    for b in v["backends"]:
        p = b.get("probe", {})
        f = [v["service"], b["address"], b.get("health", "-"), b.get("state", "-"),
             p.get("last", "-"), p.get("probes", 0), p.get("successes", 0), p.get("failures", 0),
             p.get("latency_ms", -1), p.get("tls_version", "-"), p.get("cert_days_left", "-"),
             str(p.get("cert_warn", "-")).lower(),
             ",".join("%s=%s" % kv for kv in sorted(p.get("failures_by_reason", {}).items())) or "-",
             str(v.get("ring_held", "-")).lower(), p.get("error", "")]
        print("|".join(str(x) for x in f))
' <<<"$out"
}

# probe_row FILE SERVICE ADDRESS: that line of a probe_table into ROW
# (empty if none), its fields readable with pf
probe_row() {
	ROW=$(awk -F'|' -v s="$2" -v a="$3" '$1 == s && $2 == a' "$1" | head -1)
}

# pf FIELD: a field of ROW by name
pf() {
	local i=0 f
	for f in svc addr health state last probes successes failures latency tls days warn \
		 reasons held error; do
		i=$((i + 1))
		if [[ $f == "$1" ]]; then
			if [[ $f == error ]]; then cut -d'|' -f$i- <<<"$ROW"; else cut -d'|' -f$i <<<"$ROW"; fi
			return
		fi
	done
}

# reason_count REASON: failures_by_reason[REASON] of ROW (0 if absent)
reason_count() {
	local v
	v=$(pf reasons | tr ',' '\n' | awk -F= -v r="$1" '$1 == r { print $2 }')
	echo "${v:-0}"
}

# metrics_get: the Prometheus text from xlbd (in the LB's namespace)
metrics_get() {
	in_ns lb curl -sf --max-time 5 "http://$XLBD_METRICS/metrics"
}

# metric FILE NAME LABELS: the value of NAME{LABELS} in FILE ("" if absent)
metric() {
	awk -v k="$2{$3}" '$1 == k { v = $2 } END { print v }' "$1"
}

# ---- the Python helper ------------------------------------------------------------------

probe_tool_init() {
	PROBE_TOOL=$TMP/probe_tool.py
	cat >"$PROBE_TOOL" <<'EOF'
"""probe_tool.py: the far ends of test_probes.sh's probes and connections.

  httpd --listen ADDR,PORT [--status N] --log FILE
      HTTP/1.1: every request is answered with status N (default 200) and
      the connection closed. A connection that opens with a PROXY v2
      signature has its header read first. One log line per connection:
        conn PEER proxy=HEX|- request="GET /health HTTP/1.1"|- host=HOST|-
  once ADDR PORT [-n N] [--timeout S]
      N SSTP openings one after the other (TLS without verification,
      SSTP_DUPLEX_POST, the 200 and its X-Xlb-Backend): "ok be2" or
      "fail WHY" each, then "total ok=N fail=N be1=N ...".
  hold ADDR PORT -n N
      N SSTP sessions up to Call Connected, kept; prints
        open ok=N fail=N be1=N ...
      then obeys stdin: "check" (an Echo Request on every live session;
      prints "check ok=N fail=N be1=N ..." with the backends of the ones
      that answered, and lost_beX=N for those that did not), "quit".
"""
import argparse, collections, hashlib, os, socket, ssl, struct, sys, threading, time

URI = "/sra_{BA195980-CD49-458b-9E23-C84EE0ADCD75}/"
CONNECT_REQUEST = bytes.fromhex("1001000e" "00010001" "00010006" "0001")
PROXY_SIG = b"\r\n\r\n\x00\r\nQUIT\n"
TIMEOUT = 3.0


def ctrl(mtype, attrs=()):
    body = b"".join(struct.pack("!BBH", 0, aid, 4 + len(v)) + v for aid, v in attrs)
    return struct.pack("!BBHHH", 0x10, 1, 8 + len(body), mtype, len(attrs)) + body


def family(addr):
    return socket.AF_INET6 if ":" in addr else socket.AF_INET


# ---- httpd -------------------------------------------------------------------

def read_exact(c, n, buf):
    while len(buf) < n:
        d = c.recv(4096)
        if not d:
            raise EOFError()
        buf += d
    return buf


def http_conn(c, peer, a, log, lock):
    proxy, request, host = "-", "-", "-"
    try:
        c.settimeout(2)
        buf = b""
        try:
            buf = read_exact(c, 1, buf)
            if buf[:1] == b"\r":
                buf = read_exact(c, 16, buf)
                if buf[:12] == PROXY_SIG:
                    n = struct.unpack("!H", buf[14:16])[0]
                    buf = read_exact(c, 16 + n, buf)
                    proxy, buf = buf[:16 + n].hex(), buf[16 + n:]
            while b"\r\n\r\n" not in buf and len(buf) < 65536:
                d = c.recv(4096)
                if not d:
                    break
                buf += d
        except (EOFError, OSError):
            pass
        if b"\r\n\r\n" in buf:
            lines = buf.split(b"\r\n\r\n", 1)[0].decode("latin-1").split("\r\n")
            request = '"%s"' % lines[0]
            for l in lines[1:]:
                k, _, v = l.partition(":")
                if k.strip().lower() == "host":
                    host = v.strip()
            reason = {200: "OK", 204: "No Content", 404: "Not Found"}.get(a.status, "Status")
            c.sendall(("HTTP/1.1 %d %s\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
                       % (a.status, reason)).encode())
    except OSError:
        pass
    finally:
        c.close()
    with lock:
        log.write("conn %s proxy=%s request=%s host=%s\n" % (peer, proxy, request, host))
        log.flush()


def cmd_httpd(a):
    addr, port = a.listen.rsplit(",", 1)
    s = socket.socket(family(addr), socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind((addr, int(port)))
    s.listen(128)
    log, lock = open(a.log, "a"), threading.Lock()
    log.write("ready\n")
    log.flush()
    while True:
        c, peer = s.accept()
        threading.Thread(target=http_conn, args=(c, "%s:%d" % peer[:2], a, log, lock),
                         daemon=True).start()


# ---- the SSTP client side ----------------------------------------------------

class Session:
    def __init__(self, addr, port):
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
        raw = socket.create_connection((addr, port), timeout=TIMEOUT)
        try:
            self.s = ctx.wrap_socket(raw)
        except BaseException:
            raw.close()
            raise
        self.buf = b""
        self.name = None
        self.dead = None

    def recv_some(self):
        d = self.s.recv(4096)
        if not d:
            raise ConnectionError("closed by the server")
        self.buf += d

    def opening(self, addr):
        self.s.sendall(("SSTP_DUPLEX_POST %s HTTP/1.1\r\nHost: %s\r\n"
                        "Content-Length: 18446744073709551615\r\n"
                        "SSTPCORRELATIONID: {0C5A3F52-8E71-4C6B-9E66-7D1F3A2B4C5D}\r\n\r\n"
                        % (URI, addr)).encode())
        while b"\r\n\r\n" not in self.buf:
            self.recv_some()
        head, self.buf = self.buf.split(b"\r\n\r\n", 1)
        lines = head.decode("latin-1").split("\r\n")
        status = lines[0].split(" ")[1]
        for l in lines[1:]:
            k, _, v = l.partition(":")
            if k.strip().lower() == "x-xlb-backend":
                self.name = v.strip()
        if status != "200":
            raise ConnectionError("HTTP status %s" % status)

    def packet(self):
        while len(self.buf) < 4:
            self.recv_some()
        n = struct.unpack("!H", self.buf[2:4])[0] & 0xFFF
        while len(self.buf) < n:
            self.recv_some()
        p, self.buf = self.buf[:n], self.buf[n:]
        return (struct.unpack("!H", p[4:6])[0] if p[1] & 1 else None), p

    def connect_call(self):
        self.s.sendall(CONNECT_REQUEST)
        t, p = self.packet()
        if t != 2 or len(p) != 48:
            raise ConnectionError("no Call Connect Ack (type %s)" % t)
        cert = self.s.getpeercert(binary_form=True)
        val = bytes([0, 0, 0, 2]) + p[16:48] + hashlib.sha256(cert).digest() + bytes(32)
        self.s.sendall(ctrl(4, [(3, val)]))

    def echo(self):
        self.s.sendall(ctrl(8))
        while True:
            t, _ = self.packet()
            if t == 9:
                return
            if t == 8:
                self.s.sendall(ctrl(9))


def summary(word, counts, extra):
    return " ".join([word, extra] + ["%s=%d" % kv for kv in sorted(counts.items())])


def cmd_once(a):
    ok = fail = 0
    counts = collections.Counter()
    for _ in range(a.n):
        try:
            x = Session(a.addr, a.port)
            try:
                x.opening(a.addr)
            finally:
                x.s.close()
            print("ok %s" % x.name)
            ok += 1
            counts[x.name] += 1
        except (OSError, ssl.SSLError, ConnectionError) as e:
            print("fail %s: %s" % (type(e).__name__, e))
            fail += 1
    print(summary("total", counts, "ok=%d fail=%d" % (ok, fail)), flush=True)


def cmd_hold(a):
    sess = []
    for _ in range(a.n):
        try:
            x = Session(a.addr, a.port)
            x.opening(a.addr)
            x.connect_call()
            x.echo()
            sess.append(x)
        except (OSError, ssl.SSLError, ConnectionError) as e:
            print("# open: %s: %s" % (type(e).__name__, e), file=sys.stderr, flush=True)
    counts = collections.Counter(x.name for x in sess)
    print(summary("open", counts, "ok=%d fail=%d" % (len(sess), a.n - len(sess))), flush=True)
    for line in iter(sys.stdin.readline, ""):
        cmd = line.strip()
        if cmd == "check":
            good = collections.Counter()
            lost = collections.Counter()
            for x in sess:
                if not x.dead:
                    try:
                        x.echo()
                    except (OSError, ssl.SSLError, ConnectionError) as e:
                        x.dead = "%s: %s" % (type(e).__name__, e)
                if x.dead:
                    lost["lost_" + x.name] += 1
                else:
                    good[x.name] += 1
            n = sum(good.values())
            print(summary("check", good + lost, "ok=%d fail=%d" % (n, len(sess) - n)),
                  flush=True)
        elif cmd == "quit":
            break
    for x in sess:
        x.s.close()


ap = argparse.ArgumentParser()
ap.add_argument("mode", choices=["httpd", "once", "hold"])
ap.add_argument("addr", nargs="?")
ap.add_argument("port", nargs="?", type=int)
ap.add_argument("--listen")
ap.add_argument("--status", type=int, default=200)
ap.add_argument("--log")
ap.add_argument("-n", type=int, default=1)
ap.add_argument("--timeout", type=float, default=TIMEOUT)
a = ap.parse_args()
TIMEOUT = a.timeout
{"httpd": cmd_httpd, "once": cmd_once, "hold": cmd_hold}[a.mode](a)
EOF
}

# ---- SSTP clients through the VIP ---------------------------------------------------------

# sstp_once ADDR PORT N [ARGS]: N SSTP openings from the client; the
# summary line in ONCE_LINE ("total ok=N fail=N be1=N ...")
sstp_once() {
	ONCE_LINE=$(in_ns client python3 "$PROBE_TOOL" once "$@" 2>&1 | grep '^total ' | tail -1)
}

# sstp_hold ADDR PORT N: N held SSTP sessions as a coprocess; its first
# line in HOLD_LINE
sstp_hold() {
	coproc HOLD { exec nsenter --net="/run/netns/$LAB_PREFIX-client" python3 \
		"$PROBE_TOOL" hold "$1" "$2" -n "$3" 2>"$TMP/hold.err"; }
	HOLD_PID_SAVED=$HOLD_PID
	E2E_PIDS+=("$HOLD_PID")
	HOLD_LINE=''
	read -r -t 60 HOLD_LINE <&"${HOLD[0]}"
}
