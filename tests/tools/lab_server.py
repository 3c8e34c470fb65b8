#!/usr/bin/env python3
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
"""lab_server.py: a backend's server for the xlb lab (scripts/xlb-lab).

Answers every line a client sends with its own name, so a client learns
which backend it reached:

    client: hello\\n        server: be2\\n

    lab_server.py --name be2 --listen 198.18.0.10,80 --listen 2001:db8::10,80 \\
        --listen 198.18.0.10,443,tls --cert be2.pem --key be2.key

Prints "ready" once every socket listens. One thread per connection; runs
until killed.
"""
import argparse
import socket
import ssl
import sys
import threading


def serve_conn(conn, name, ctx):
    try:
        conn.settimeout(60)
        if ctx:
            conn = ctx.wrap_socket(conn, server_side=True)
        f = conn.makefile("rb")
        reply = (name + "\n").encode()
        for _line in f:
            conn.sendall(reply)
    except (OSError, ssl.SSLError):
        pass
    finally:
        try:
            conn.close()
        except OSError:
            pass


def accept_loop(sock, name, ctx):
    while True:
        try:
            conn, _ = sock.accept()
        except OSError:
            continue
        threading.Thread(target=serve_conn, args=(conn, name, ctx), daemon=True).start()


def listener(spec):
    parts = spec.split(",")
    if len(parts) not in (2, 3) or (len(parts) == 3 and parts[2] != "tls"):
        sys.exit(f"lab_server: --listen {spec}: want ADDR,PORT or ADDR,PORT,tls")
    addr, port = parts[0], int(parts[1])
    fam = socket.AF_INET6 if ":" in addr else socket.AF_INET
    s = socket.socket(fam, socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    if fam == socket.AF_INET6:
        s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
    s.bind((addr, port))
    s.listen(512)
    return s, len(parts) == 3


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--name", required=True, help="what to answer")
    ap.add_argument("--listen", action="append", required=True, metavar="ADDR,PORT[,tls]")
    ap.add_argument("--cert", help="certificate chain (PEM), for tls listeners")
    ap.add_argument("--key", help="private key (PEM), for tls listeners")
    a = ap.parse_args()

    ctx = None
    if a.cert:
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(a.cert, a.key)
    socks = [listener(spec) for spec in a.listen]
    if any(tls for _, tls in socks) and not ctx:
        sys.exit("lab_server: a tls listener needs --cert and --key")
    for s, tls in socks:
        threading.Thread(target=accept_loop, args=(s, a.name, ctx if tls else None),
                         daemon=True).start()
    print("ready", flush=True)
    threading.Event().wait()


if __name__ == "__main__":
    main()
