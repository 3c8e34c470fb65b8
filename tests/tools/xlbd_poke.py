#!/usr/bin/env python3
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
"""xlbd_poke.py: raw pokes at xlbd and its neighbours, for tests/e2e/test_xlbd.sh.

  lines SOCK LINE... [--timeout S]
      Writes every LINE (Python escapes allowed: \\x00, \\n) followed by a
      newline, all in one write, then reads one answer per LINE. Prints each
      answer; exits 0 if all came, 1 ("timeout after N answers") if not.

  split SOCK LINE
      Writes LINE and its newline one byte at a time, 20 ms apart, then
      prints the answer.

  huge SOCK BYTES
      Writes BYTES bytes of 'x' without a newline (xlbd may close early),
      then prints what xlbd answered (or "closed").

  stall SOCK SECONDS
      Connects, writes half a request and holds the connection SECONDS,
      printing "stalling" once connected.

  slow SOCK LINE SECONDS
      Sends LINE on a connection with a small receive buffer and does not
      read for SECONDS; meanwhile pings xlbd on a second connection. Then
      reads the whole answer and prints "bytes=N json_ok=1|0
      ping_ms=M" (M: the ping's round trip, -1 if it got no answer).

  many SOCK N
      Opens N connections at once, then sends a ping on each; prints
      "ok=N busy=N" (busy: xlbd said it has too many clients).

  garp DEV IPV4
      Sends a gratuitous ARP request for IPV4 from DEV's MAC (broadcast).

  una DEV IPV6
      Sends an unsolicited neighbour advertisement (override) for IPV6 with
      DEV's MAC to all nodes (ff02::1).
"""
import argparse
import codecs
import fcntl
import json
import socket
import struct
import sys
import time


def unix(path, timeout):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(timeout)
    deadline = time.monotonic() + timeout
    while True:
        try:
            s.connect(path)
            return s
        except BlockingIOError:
            # the listen backlog is full (a timeout makes the socket
            # non-blocking, and AF_UNIX says EAGAIN): xlbd will accept
            if time.monotonic() > deadline:
                raise
            time.sleep(0.01)


def read_lines(s, n):
    buf, out = b"", []
    try:
        while len(out) < n:
            chunk = s.recv(65536)
            if not chunk:
                break
            buf += chunk
            while b"\n" in buf and len(out) < n:
                line, buf = buf.split(b"\n", 1)
                out.append(line.decode(errors="replace"))
    except socket.timeout:
        pass
    return out


def cmd_lines(a):
    s = unix(a.sock, a.timeout)
    data = b"".join(codecs.escape_decode(l.encode())[0] + b"\n" for l in a.line)
    s.sendall(data)
    got = read_lines(s, len(a.line))
    for line in got:
        print(line)
    if len(got) < len(a.line):
        print(f"timeout after {len(got)} answers")
        return 1
    return 0


def cmd_split(a):
    s = unix(a.sock, a.timeout)
    for b in codecs.escape_decode(a.line.encode())[0] + b"\n":
        s.sendall(bytes([b]))
        time.sleep(0.02)
    got = read_lines(s, 1)
    print(got[0] if got else "timeout")
    return 0 if got else 1


def cmd_huge(a):
    s = unix(a.sock, a.timeout)
    chunk = b"x" * (1 << 20)
    left = a.bytes
    try:
        while left > 0:
            n = s.send(chunk[:min(left, len(chunk))])
            left -= n
    except (BrokenPipeError, ConnectionResetError):
        pass
    got = read_lines(s, 1)
    print(got[0] if got else "closed")
    return 0


def cmd_stall(a):
    s = unix(a.sock, a.timeout)
    s.sendall(b'{"cmd":')
    print("stalling", flush=True)
    time.sleep(a.seconds)
    s.close()
    return 0


def cmd_slow(a):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    s.settimeout(a.timeout)
    s.connect(a.sock)
    s.sendall(codecs.escape_decode(a.line.encode())[0] + b"\n")
    time.sleep(a.seconds / 2)
    p = unix(a.sock, a.timeout)
    t = time.monotonic()
    p.sendall(b'{"cmd":"ping"}\n')
    got = read_lines(p, 1)
    ping_ms = round((time.monotonic() - t) * 1000) if got and '"ok":true' in got[0] else -1
    p.close()
    time.sleep(a.seconds / 2)
    buf = b""
    try:
        while not buf.endswith(b"\n"):
            chunk = s.recv(65536)
            if not chunk:
                break
            buf += chunk
    except socket.timeout:
        pass
    try:
        ok = buf.endswith(b"\n") and json.loads(buf)["ok"] is True
    except ValueError:
        ok = False
    print(f"bytes={len(buf)} json_ok={int(ok)} ping_ms={ping_ms}")
    return 0


def cmd_many(a):
    conns = [unix(a.sock, a.timeout) for _ in range(a.n)]
    ok = busy = 0
    for s in conns:
        try:
            s.sendall(b'{"cmd":"ping"}\n')
        except (BrokenPipeError, ConnectionResetError):
            pass
    for s in conns:
        got = read_lines(s, 1)
        if got and '"ok":true' in got[0]:
            ok += 1
        elif got and "too many" in got[0]:
            busy += 1
    for s in conns:
        s.close()
    print(f"ok={ok} busy={busy}")
    return 0


def dev_mac(dev):
    # SIOCGIFHWADDR: /sys may belong to another namespace (nsenter --net)
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    ifr = fcntl.ioctl(s.fileno(), 0x8927, struct.pack("256s", dev.encode()[:15]))
    s.close()
    return ifr[18:24]


def cmd_garp(a):
    mac = dev_mac(a.dev)
    ip = socket.inet_aton(a.addr)
    # ARP request, sender = target = the address: every host updates its entry
    arp = struct.pack("!HHBBH6s4s6s4s", 1, 0x0800, 6, 4, 1, mac, ip, b"\0" * 6, ip)
    s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
    s.bind((a.dev, 0))
    for _ in range(2):
        s.send(b"\xff" * 6 + mac + b"\x08\x06" + arp)
        time.sleep(0.05)
    print(f"garp {a.addr} is-at {mac.hex(':')} on {a.dev}")
    return 0


def cmd_una(a):
    mac = dev_mac(a.dev)
    target = socket.inet_pton(socket.AF_INET6, a.addr)
    # type 136, code 0, checksum (the kernel fills it), flags: override;
    # then the target and a target link-layer address option
    na = struct.pack("!BBHI16sBB6s", 136, 0, 0, 0x20000000, target, 2, 1, mac)
    s = socket.socket(socket.AF_INET6, socket.SOCK_RAW, socket.IPPROTO_ICMPV6)
    s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_MULTICAST_HOPS, 255)
    s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_MULTICAST_IF, socket.if_nametoindex(a.dev))
    s.bind((a.addr, 0))
    for _ in range(2):
        s.sendto(na, ("ff02::1", 0, 0, socket.if_nametoindex(a.dev)))
        time.sleep(0.05)
    print(f"una {a.addr} is-at {mac.hex(':')} on {a.dev}")
    return 0


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter,
                                 epilog=__doc__)
    ap.add_argument("--timeout", type=float, default=5.0)
    sub = ap.add_subparsers(dest="cmd", required=True)
    p = sub.add_parser("lines")
    p.add_argument("sock")
    p.add_argument("line", nargs="+")
    p = sub.add_parser("split")
    p.add_argument("sock")
    p.add_argument("line")
    p = sub.add_parser("huge")
    p.add_argument("sock")
    p.add_argument("bytes", type=int)
    p = sub.add_parser("stall")
    p.add_argument("sock")
    p.add_argument("seconds", type=float)
    p = sub.add_parser("slow")
    p.add_argument("sock")
    p.add_argument("line")
    p.add_argument("seconds", type=float)
    p = sub.add_parser("many")
    p.add_argument("sock")
    p.add_argument("n", type=int)
    p = sub.add_parser("garp")
    p.add_argument("dev")
    p.add_argument("addr")
    p = sub.add_parser("una")
    p.add_argument("dev")
    p.add_argument("addr")
    a = ap.parse_args()
    return {"lines": cmd_lines, "split": cmd_split, "huge": cmd_huge, "stall": cmd_stall,
            "slow": cmd_slow, "many": cmd_many, "garp": cmd_garp, "una": cmd_una}[a.cmd](a)


if __name__ == "__main__":
    sys.exit(main())
