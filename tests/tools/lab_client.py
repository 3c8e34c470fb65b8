#!/usr/bin/env python3
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
"""lab_client.py: the client side of tests/tools/lab_server.py.

  once ADDR PORT [-n N] [--tls --ca CA.pem [--sni NAME]]
      N connections one after the other; each sends a line, reads the
      server's name, closes. One line per connection:
          ok be2                   (plain)
          ok be2 cert be2          (TLS: handshake verified against CA; the
                                    certificate's CN follows)
          fail ERROR
      then a summary: "total ok=58 fail=2 be1=20 be2=19 be3=19".

  hold TARGET... [--interval S]
      TARGET is ADDR,PORT,COUNT. Opens every connection, prints
          open ok=30 fail=0 be1=10 be2=11 be3=9
      then exchanges a line on each connection every S seconds (default 1)
      and obeys commands on stdin, one per line:
          check   exchange a line on every connection now; prints
                  check ok=30 fail=0 moved=0 periodic_fail=0 be1=10 ...
                  (moved: answered by another backend than at first;
                  periodic_fail: exchanges that failed in the background)
          quit    close everything and exit
      A connection that fails once stays failed.

  ping ADDR [-n N]
      N ICMP echo requests (raw socket: needs root), one a second at most;
      prints "ping ok=N fail=N". For hosts without iputils' ping.
"""
import argparse
import collections
import os
import select
import struct
import socket
import ssl
import sys
import threading
import time

TIMEOUT = 3.0


def connect(addr, port, ctx=None, sni=None):
    fam = socket.AF_INET6 if ":" in addr else socket.AF_INET
    s = socket.socket(fam, socket.SOCK_STREAM)
    s.settimeout(TIMEOUT)
    try:
        s.connect((addr, port))
        if ctx:
            s = ctx.wrap_socket(s, server_hostname=sni or addr)
    except BaseException:
        s.close()
        raise
    return s


def exchange(s, f):
    s.sendall(b"hello\n")
    line = f.readline()
    if not line.endswith(b"\n"):
        raise ConnectionError("connection closed")
    return line.decode().strip()


def cert_cn(s):
    for rdn in s.getpeercert().get("subject", ()):
        for k, v in rdn:
            if k == "commonName":
                return v
    return "?"


def summary(word, counts, extra=""):
    by = " ".join(f"{k}={v}" for k, v in sorted(counts.items()))
    return f"{word} {extra}{' ' if extra else ''}{by}".rstrip()


def cmd_once(a):
    ctx = None
    if a.tls:
        ctx = ssl.create_default_context(cafile=a.ca)
    ok = fail = 0
    counts = collections.Counter()
    for _ in range(a.n):
        try:
            with connect(a.addr, a.port, ctx, a.sni) as s:
                with s.makefile("rb") as f:
                    name = exchange(s, f)
                if ctx:
                    print(f"ok {name} cert {cert_cn(s)}")
                else:
                    print(f"ok {name}")
            ok += 1
            counts[name] += 1
        except (OSError, ssl.SSLError, ConnectionError) as e:
            print(f"fail {type(e).__name__}: {e}")
            fail += 1
    print(summary("total", counts, f"ok={ok} fail={fail}"), flush=True)
    return 0 if fail == 0 else 1


class Conn:
    def __init__(self, addr, port):
        self.addr, self.port = addr, port
        self.lock = threading.Lock()
        self.sock = self.file = None
        self.name = None
        self.dead = None	# why it failed, once it has

    def open(self):
        try:
            self.sock = connect(self.addr, self.port)
            self.file = self.sock.makefile("rb")
            self.name = exchange(self.sock, self.file)
        except (OSError, ConnectionError) as e:
            self.dead = f"open: {e}"

    def ping(self):
        """(ok, moved) of one exchange."""
        with self.lock:
            if self.dead:
                return False, False
            try:
                got = exchange(self.sock, self.file)
            except (OSError, ConnectionError) as e:
                self.dead = f"{type(e).__name__}: {e}"
                return False, False
            return True, got != self.name


def cmd_hold(a):
    conns = []
    for t in a.targets:
        try:
            addr, port, count = t.split(",")
            port, count = int(port), int(count)
        except ValueError:
            sys.exit(f"lab_client: hold: target '{t}': want ADDR,PORT,COUNT")
        conns += [Conn(addr, port) for _ in range(count)]
    for c in conns:
        c.open()
    counts = collections.Counter(c.name for c in conns if not c.dead)
    nok = sum(1 for c in conns if not c.dead)
    print(summary("open", counts, f"ok={nok} fail={len(conns) - nok}"), flush=True)

    stop = threading.Event()
    periodic_fail = [0]

    def background():
        while not stop.wait(a.interval):
            for c in conns:
                if stop.is_set():
                    break
                was_dead = c.dead
                ok, moved = c.ping()
                if (not ok and not was_dead) or moved:
                    periodic_fail[0] += 1

    th = threading.Thread(target=background, daemon=True)
    th.start()
    for line in iter(sys.stdin.readline, ""):
        cmd = line.strip()
        if cmd == "check":
            ok = fail = moved = 0
            for c in conns:
                good, mv = c.ping()
                ok += good
                fail += not good
                moved += mv
            counts = collections.Counter(c.name for c in conns if not c.dead)
            print(summary("check", counts, f"ok={ok} fail={fail} moved={moved} "
                          f"periodic_fail={periodic_fail[0]}"), flush=True)
            for c in conns:
                if c.dead:
                    print(f"# {c.addr} {c.port} {c.name}: {c.dead}", file=sys.stderr,
                          flush=True)
        elif cmd == "quit":
            break
        elif cmd:
            print(f"error unknown command '{cmd}'", flush=True)
    stop.set()
    th.join()
    for c in conns:
        if c.sock:
            c.sock.close()
    return 0


def icmp_checksum(data):
    if len(data) % 2:
        data += b"\0"
    s = sum(struct.unpack(f"!{len(data) // 2}H", data))
    s = (s >> 16) + (s & 0xffff)
    s += s >> 16
    return ~s & 0xffff


def cmd_ping(a):
    v6 = ":" in a.addr
    if v6:
        s = socket.socket(socket.AF_INET6, socket.SOCK_RAW, socket.IPPROTO_ICMPV6)
        req_type, rep_type = 128, 129	# the kernel fills in the ICMPv6 checksum
    else:
        s = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP)
        req_type, rep_type = 8, 0
    ident = os.getpid() & 0xffff
    ok = fail = 0
    for seq in range(1, a.n + 1):
        payload = b"xlb-lab ping"
        hdr = struct.pack("!BBHHH", req_type, 0, 0, ident, seq)
        csum = 0 if v6 else icmp_checksum(hdr + payload)
        s.sendto(struct.pack("!BBHHH", req_type, 0, csum, ident, seq) + payload,
                 (a.addr, 0))
        deadline = time.monotonic() + TIMEOUT
        got = False
        while not got and time.monotonic() < deadline:
            r, _, _ = select.select([s], [], [], deadline - time.monotonic())
            if not r:
                break
            data, _ = s.recvfrom(2048)
            if not v6:
                data = data[(data[0] & 0xf) * 4:]	# raw IPv4 sockets get the IP header
            if len(data) >= 8:
                t, _, _, rid, rseq = struct.unpack("!BBHHH", data[:8])
                got = t == rep_type and rid == ident and rseq == seq
        ok += got
        fail += not got
        print(f"{'ok' if got else 'fail'} seq {seq}")
    print(f"ping ok={ok} fail={fail}", flush=True)
    return 0 if fail == 0 else 1


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter,
                                 epilog=__doc__)
    sub = ap.add_subparsers(dest="cmd", required=True)
    o = sub.add_parser("once")
    o.add_argument("addr")
    o.add_argument("port", type=int)
    o.add_argument("-n", type=int, default=1)
    o.add_argument("--tls", action="store_true")
    o.add_argument("--ca")
    o.add_argument("--sni")
    h = sub.add_parser("hold")
    h.add_argument("targets", nargs="+", metavar="ADDR,PORT,COUNT")
    h.add_argument("--interval", type=float, default=1.0)
    p = sub.add_parser("ping")
    p.add_argument("addr")
    p.add_argument("-n", type=int, default=1)
    a = ap.parse_args()
    if a.cmd == "ping":
        return cmd_ping(a)
    if a.cmd == "once":
        if a.tls and not a.ca:
            ap.error("once --tls needs --ca")
        return cmd_once(a)
    return cmd_hold(a)


if __name__ == "__main__":
    sys.exit(main())
