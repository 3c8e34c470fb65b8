#!/usr/bin/env python3
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
"""sstp_client.py: many real SSTP sessions at once, held open, for demos and tests.

Each session is the client side of [MS-SSTP] as far as it goes without PPP:
TLS with the server's certificate verified against a CA and a name, the
SSTP_DUPLEX_POST opening (the 200's X-Xlb-Backend header names the backend,
as tests/tools/sstp-server sends it), Call Connect Request, Call Connect Ack,
Call Connected with the crypto binding (the Ack's nonce, the SHA-256 of the
server's certificate), then Echo Request / Echo Response for as long as it is
held (and Echo Responses to the server's own requests), and Call Disconnect
at the end.

  hold --ca CA.pem [--sni NAME] [--port 443] [--interval S] [--parallel N]
      Holds sessions and obeys commands on stdin, one a line, answering each
      with one line:
        open ADDR N       open N more sessions to ADDR (one at a time per
                          worker, --parallel workers)
                          -> open ok=10 fail=0 be1=3 be2=4 be3=3
                             (the new sessions, by backend)
        check             one echo on every live session, now
                          -> check sessions=40 alive=40 ok=40 fail=0 lost=0
                             echoes=1234 be1=13 be2=14 be3=13
                             (alive sessions by backend; lost: sessions that
                             ended without our Call Disconnect, ever; echoes:
                             Echo Responses received so far, all sessions)
        close BACKEND K   Call Disconnect on K live sessions of BACKEND
                          -> close closed=K
        pause, resume     stop / start the background echoes (one per live
                          session every S seconds, default 1)
                          -> pause / resume
        quit              Call Disconnect on every live session and exit
      A session that fails once stays failed; "# ..." lines on stderr say why.
"""
import argparse
import collections
import concurrent.futures
import hashlib
import os
import socket
import ssl
import struct
import sys
import threading
import time
import uuid

TIMEOUT = 3.0
URI = "/sra_{BA195980-CD49-458b-9E23-C84EE0ADCD75}/"

# [MS-SSTP] 2.2: message types and attributes
CALL_CONNECT_REQUEST, CALL_CONNECT_ACK, CALL_CONNECT_NAK, CALL_CONNECTED = 1, 2, 3, 4
CALL_ABORT, CALL_DISCONNECT, CALL_DISCONNECT_ACK, ECHO_REQUEST, ECHO_RESPONSE = 5, 6, 7, 8, 9
ATTR_ENCAPSULATED_PROTOCOL_ID, ATTR_STATUS_INFO, ATTR_CRYPTO_BINDING = 1, 2, 3
PROTOCOL_PPP = 1
CERT_HASH_SHA256 = 2


def ctrl(mtype, attrs=()):
    """A control packet: version 1.0, C bit, length, type, attributes."""
    body = b"".join(struct.pack("!BBH", 0, aid, 4 + len(v)) + v for aid, v in attrs)
    return struct.pack("!BBHHH", 0x10, 1, 8 + len(body), mtype, len(attrs)) + body


class Gone(Exception):
    """The session ended (EOF, reset, abort, timeout)."""


class Session:
    def __init__(self, addr, port, a):
        self.addr, self.port, self.a = addr, port, a
        self.lock = threading.Lock()
        self.sock = None
        self.buf = b""
        self.backend = None
        self.echoes = 0
        self.dead = None        # why it ended
        self.closed = False     # ended by our Call Disconnect

    # ---- bytes and packets ----

    def _more(self):
        try:
            d = self.sock.recv(65536)
        except socket.timeout:
            raise Gone("timeout")
        except (ssl.SSLError, OSError) as e:
            raise Gone(f"{type(e).__name__}: {e}")
        if not d:
            raise Gone("eof")
        return d

    def read_exact(self, n):
        while len(self.buf) < n:
            self.buf += self._more()
        b, self.buf = self.buf[:n], self.buf[n:]
        return b

    def read_pkt(self):
        """(message type or None for data, the whole packet)."""
        h = self.read_exact(4)
        n = struct.unpack("!H", h[2:4])[0] & 0xFFF
        if n < 4:
            raise Gone(f"bad packet length {n}")
        p = h + self.read_exact(n - 4)
        if h[1] & 1:
            if n < 8:
                raise Gone("short control packet")
            return struct.unpack("!H", p[4:6])[0], p
        return None, p

    def send(self, b):
        try:
            self.sock.sendall(b)
        except (ssl.SSLError, OSError) as e:
            raise Gone(f"{type(e).__name__}: {e}")

    # ---- the call ----

    def open(self, ctx):
        try:
            raw = socket.create_connection((self.addr, self.port), timeout=TIMEOUT)
        except OSError as e:
            self.dead = f"connect: {e}"
            return
        try:
            self.sock = ctx.wrap_socket(raw, server_hostname=self.a.sni or self.addr)
            self.handshake()
        except ssl.SSLError as e:
            self.fail(f"tls: {e}")
        except (Gone, OSError) as e:
            self.fail(f"open: {e}")

    def handshake(self):
        self.send((f"SSTP_DUPLEX_POST {URI} HTTP/1.1\r\n"
                   f"Host: {self.a.sni or self.addr}\r\n"
                   "Content-Length: 18446744073709551615\r\n"
                   f"SSTPCORRELATIONID: {{{str(uuid.uuid4()).upper()}}}\r\n\r\n").encode())
        while b"\r\n\r\n" not in self.buf:
            if len(self.buf) > 65536:
                raise Gone("HTTP head too long")
            self.buf += self._more()
        head, self.buf = self.buf.split(b"\r\n\r\n", 1)
        lines = head.decode("latin-1").split("\r\n")
        if len(lines[0].split()) < 2 or lines[0].split()[1] != "200":
            raise Gone(f"HTTP: {lines[0]}")
        hdrs = {k.strip().lower(): v.strip() for k, _, v in (l.partition(":") for l in lines[1:])}
        self.backend = hdrs.get("x-xlb-backend", "?")

        self.send(ctrl(CALL_CONNECT_REQUEST,
                       [(ATTR_ENCAPSULATED_PROTOCOL_ID, struct.pack("!H", PROTOCOL_PPP))]))
        t, p = self.read_pkt()
        if t != CALL_CONNECT_ACK or len(p) != 48:
            raise Gone(f"Call Connect Request answered with type {t}, {len(p)} bytes")
        nonce = p[16:48]
        # Call Connected: the crypto binding names the nonce and the
        # certificate this TLS session saw ([MS-SSTP] 2.2.7); without PPP
        # authentication there is no key for the compound MAC: zeros
        cert = self.sock.getpeercert(binary_form=True)
        binding = bytes([0, 0, 0, CERT_HASH_SHA256]) + nonce + \
            hashlib.sha256(cert).digest() + bytes(32)
        self.send(ctrl(CALL_CONNECTED, [(ATTR_CRYPTO_BINDING, binding)]))

    def fail(self, why):
        self.dead = why
        if self.sock:
            try:
                self.sock.close()
            except OSError:
                pass

    def echo(self):
        """One Echo Request, answered: True; False once the session is gone."""
        with self.lock:
            if self.dead:
                return False
            try:
                self.send(ctrl(ECHO_REQUEST))
                while True:
                    t, _ = self.read_pkt()
                    if t == ECHO_RESPONSE:
                        break
                    if t == ECHO_REQUEST:           # the server's own
                        self.send(ctrl(ECHO_RESPONSE))
                    elif t in (CALL_ABORT, CALL_DISCONNECT):
                        raise Gone(f"the server sent message type {t}")
                    # data (PPP) and anything else: not ours to answer
            except Gone as e:
                self.fail(f"echo: {e}")
                return False
            self.echoes += 1
            return True

    def disconnect(self):
        with self.lock:
            if self.dead:
                return False
            try:
                self.send(ctrl(CALL_DISCONNECT,
                               [(ATTR_STATUS_INFO, bytes(8))]))
                for _ in range(16):
                    t, _ = self.read_pkt()
                    if t == CALL_DISCONNECT_ACK:
                        break
            except Gone:
                pass
            self.closed = True
            self.fail("closed by us")
            return True


def counts(sessions):
    c = collections.Counter(s.backend for s in sessions if not s.dead)
    return " ".join(f"{k}={v}" for k, v in sorted(c.items()))


def hold(a):
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.load_verify_locations(a.ca)
    sessions = []
    slock = threading.Lock()        # the list itself
    running = threading.Event()
    running.set()
    stop = threading.Event()

    def say(line):
        print(line, flush=True)

    def background():
        while not stop.wait(a.interval):
            if not running.is_set():
                continue
            with slock:
                live = [s for s in sessions if not s.dead]
            for s in live:
                if stop.is_set() or not running.is_set():
                    break
                s.echo()

    th = threading.Thread(target=background, daemon=True)
    th.start()
    pool = concurrent.futures.ThreadPoolExecutor(max_workers=a.parallel)
    reported = set()

    def report_dead():
        for s in sessions:
            if s.dead and not s.closed and id(s) not in reported:
                reported.add(id(s))
                print(f"# {s.addr} {s.backend or '-'}: {s.dead}", file=sys.stderr, flush=True)

    for line in iter(sys.stdin.readline, ""):
        w = line.split()
        if not w:
            continue
        if w[0] == "open" and len(w) == 3 and w[2].isdigit():
            new = [Session(w[1], a.port, a) for _ in range(int(w[2]))]
            list(pool.map(lambda s: s.open(ctx), new))
            with slock:
                sessions += new
            ok = sum(1 for s in new if not s.dead)
            say(f"open ok={ok} fail={len(new) - ok} {counts(new)}".rstrip())
        elif w[0] == "check" and len(w) == 1:
            with slock:
                live = [s for s in sessions if not s.dead]
            res = list(pool.map(lambda s: s.echo(), live))
            ok = sum(res)
            lost = sum(1 for s in sessions if s.dead and not s.closed)
            alive = sum(1 for s in sessions if not s.dead)
            echoes = sum(s.echoes for s in sessions)
            say(f"check sessions={len(sessions)} alive={alive} ok={ok} fail={len(res) - ok} "
                f"lost={lost} echoes={echoes} {counts(sessions)}".rstrip())
        elif w[0] == "close" and len(w) == 3 and w[2].isdigit():
            with slock:
                mine = [s for s in sessions if not s.dead and s.backend == w[1]][:int(w[2])]
            closed = sum(pool.map(lambda s: s.disconnect(), mine))
            say(f"close closed={closed}")
        elif w[0] == "pause":
            running.clear()
            say("pause")
        elif w[0] == "resume":
            running.set()
            say("resume")
        elif w[0] == "quit":
            break
        else:
            say(f"error unknown command '{line.strip()}' (open ADDR N, check, close BACKEND K, "
                "pause, resume, quit)")
        report_dead()
    stop.set()
    th.join()
    list(pool.map(lambda s: s.disconnect(), [s for s in sessions if not s.dead]))
    pool.shutdown()
    return 0


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter,
                                 epilog=__doc__)
    sub = ap.add_subparsers(dest="cmd", required=True)
    h = sub.add_parser("hold")
    h.add_argument("--ca", required=True, help="the CA that signed the servers' certificate")
    h.add_argument("--sni", help="the name to ask for and verify (default: the address)")
    h.add_argument("--port", type=int, default=443)
    h.add_argument("--interval", type=float, default=1.0)
    h.add_argument("--parallel", type=int, default=16)
    a = ap.parse_args()
    return hold(a)


if __name__ == "__main__":
    sys.exit(main())
