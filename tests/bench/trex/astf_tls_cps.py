# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
"""astf_tls_cps.py: TRex advanced-stateful profile, TCP+TLS connection rate
through an xlb VIP (or through a proxy, for comparison).

Each connection: TCP handshake to VIP:443, a real TLS ClientHello (made
with Python's ssl module when the profile loads, TLS 1.2-1.3, no session to
resume), the server's first flight read (at least --recv-bytes: the
ServerHello and more, so the server has done its key exchange and signed),
then the client closes. TRex's TCP stack cannot finish a TLS handshake (it
replays bytes, it does no cryptography), but the servers have done the
expensive half by then, and the LB has seen the whole TCP life of a
session: SYN, first ACK (its flow entry), data both ways, FIN.

Two ways to run it:

  DSR through xlb: TRex plays the clients only, the backends are real
  (they must decapsulate IP-in-IP: scripts/xlb-backend-setup):
      ./t-rex-64 -i --astf --astf-client-mask 0x1
      trex> start -f astf_tls_cps.py -m 1 -t --vip 198.18.0.10 --cps 20000

  Proxies (HAProxy, NGINX) or xlb with TRex's server side as backends: only
  for the proxies (TRex cannot decapsulate IP-in-IP); its server side answers
  the proxy's connections to the backends' addresses (--servers):
      trex> start -f astf_tls_cps.py -m 1 -t --vip 198.18.0.20 --servers 198.18.101.2-198.18.101.254

The console's -m multiplies --cps. Read the rate from 'stats' (TCP
connections established and closed per second), errors from 'stats -a'
(connect failures, resets, drops); on the LB, 'xlbctl stats' for xlb.
"""
import argparse
import os
import ssl

try:
    from trex.astf.api import *  # noqa: F401,F403
except ImportError:
    from trex_astf_lib.api import *  # noqa: F401,F403


def client_hello(sni):
    """A real ClientHello, as a TLS client library sends it first."""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    inb, outb = ssl.MemoryBIO(), ssl.MemoryBIO()
    tls = ctx.wrap_bio(inb, outb, server_hostname=sni)
    try:
        tls.do_handshake()
    except ssl.SSLWantReadError:
        pass
    hello = outb.read()
    if not hello or hello[0] != 0x16:
        raise ValueError("no ClientHello from the ssl module")
    return hello


def parse(tunables, kwargs):
    p = argparse.ArgumentParser(prog=os.path.basename(__file__),
                                formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    p.add_argument("--vip", default="198.18.0.10", help="the VIP (IPv4)")
    p.add_argument("--port", type=int, default=443)
    p.add_argument("--cps", type=float, default=1000.0, help="new connections per second (x -m)")
    p.add_argument("--clients", default="198.18.128.1-198.18.255.254", help="client addresses")
    p.add_argument("--servers", default="",
                   help="addresses TRex's server side answers (proxy tests); default: the VIP")
    p.add_argument("--sni", default="vpn.xlb.test", help="server name in the ClientHello")
    p.add_argument("--recv-bytes", type=int, default=200,
                   help="bytes of the server's first flight to read before closing")
    p.add_argument("--connect-only", action="store_true",
                   help="no TLS: connect and close (the TCP connection rate alone)")
    argv = list(tunables or [])
    for k, v in kwargs.items():     # the older key=value form
        if k in ("vip", "port", "cps", "clients", "servers", "sni", "recv_bytes"):
            argv += ["--" + k.replace("_", "-"), str(v)]
        elif k == "connect_only" and str(v) not in ("0", "False", "false", ""):
            argv.append("--connect-only")
    return p.parse_args(argv)


def ip_range(spec):
    lo, _, hi = spec.partition("-")
    return [lo, hi or lo]


class TlsCps(object):
    def get_profile(self, tunables=None, **kwargs):
        a = parse(tunables if isinstance(tunables, list) else [], kwargs)

        prog_c = ASTFProgram()
        prog_s = ASTFProgram()
        if a.connect_only:
            prog_c.connect()
            prog_s.wait_for_peer_close()
        else:
            hello = client_hello(a.sni)
            prog_c.send(hello)
            prog_c.recv(a.recv_bytes)
            # TRex's own server side (proxy tests): an answer of that size
            prog_s.recv(len(hello))
            prog_s.send(b"\x16\x03\x03" + b"\x00" * (a.recv_bytes - 3))
            prog_s.wait_for_peer_close()

        servers = ip_range(a.servers) if a.servers else [a.vip, a.vip]
        ip_gen = ASTFIPGen(glob=ASTFIPGenGlobal(ip_offset="0.0.0.0"),
                           dist_client=ASTFIPGenDist(ip_range=ip_range(a.clients), distribution="seq"),
                           dist_server=ASTFIPGenDist(ip_range=servers, distribution="seq"))
        info = ASTFGlobalInfo()
        info.tcp.mss = 1400          # room for the LB's encapsulation, as it clamps SYNs

        temp_c = ASTFTCPClientTemplate(program=prog_c, ip_gen=ip_gen, cps=a.cps, port=a.port)
        temp_s = ASTFTCPServerTemplate(program=prog_s, assoc=ASTFAssociationRule(port=a.port))
        return ASTFProfile(default_ip_gen=ip_gen,
                           templates=ASTFTemplate(client_template=temp_c, server_template=temp_s),
                           default_c_glob_info=info, default_s_glob_info=info)


def register():
    return TlsCps()
