# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
"""stl_vip_flows.py: TRex stateless profile, many-flow TCP to an xlb VIP.

The frames an LB sees from many clients, at a rate the generator sets:

  syn   SYNs with an MSS option from random sources and ports: new sessions,
        or a SYN flood (ring lookup, MSS clamp, no flow-table write)
  ack   ACKs from random sources and ports: established-looking packets of
        flows the LB has no entry for (first-ACK path: an entry is written)
  seq   ACKs of a fixed set of FLOWS flows, cycled (established path:
        flow-table hits once warm)
  mix   one SYN stream and MIX_ACKS times as many ACKs of a fixed set of
        flows (churn on top of established traffic)

In trex-console (TRex v2.89 or later passes tunables after -t):

  start -f stl_vip_flows.py -p 0 -m 10mpps -t --kind syn --vip 198.18.0.10
  start -f stl_vip_flows.py -p 0 -m 40gbps -t --kind seq --flows 1000000 --size 512
  start -f stl_vip_flows.py -p 0 -m 5mpps -t --kind ack --vip 2001:db8::10 --hw-csum

Older TRex versions pass key=value tunables instead (-t kind=syn,vip=...),
which work too. The Ethernet destination is the port's configured one
(the LB's MAC in trex_cfg.yaml, or resolved from its 'dest' address).
"""
import argparse
import os

try:
    from trex.stl.api import *  # noqa: F401,F403 (TRex v2.80 and later)
except ImportError:
    from trex_stl_lib.api import *  # noqa: F401,F403


def parse(tunables, kwargs):
    p = argparse.ArgumentParser(prog=os.path.basename(__file__),
                                formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    p.add_argument("--vip", default="198.18.0.10", help="IPv4 or IPv6 VIP")
    p.add_argument("--port", type=int, default=443, help="VIP port")
    p.add_argument("--kind", choices=["syn", "ack", "seq", "mix"], default="syn")
    p.add_argument("--src-min", default="198.18.128.0", help="IPv4 sources from")
    p.add_argument("--src-max", default="198.18.255.255", help="IPv4 sources to")
    p.add_argument("--src6", default="2001:db8:ff::",
                   help="IPv6 sources: this /96, the last 32 bits vary")
    p.add_argument("--sport-min", type=int, default=1024)
    p.add_argument("--sport-max", type=int, default=65535)
    p.add_argument("--flows", type=int, default=100000, help="seq and mix: flows cycled")
    p.add_argument("--mix-acks", type=int, default=9, help="mix: ACKs per SYN")
    p.add_argument("--size", type=int, default=64, help="frame size with FCS")
    p.add_argument("--hw-csum", action="store_true",
                   help="let the NIC fill in TCP checksums (else only the IPv4 header's is "
                        "right: enough for the LB, which does not check TCP's)")
    argv = list(tunables or [])
    # the older key=value form
    for k, v in kwargs.items():
        if k.replace("_", "-") in ("vip", "port", "kind", "src-min", "src-max", "src6",
                                   "sport-min", "sport-max", "flows", "mix-acks", "size"):
            argv += ["--" + k.replace("_", "-"), str(v)]
        elif k == "hw_csum" and str(v) not in ("0", "False", "false", ""):
            argv.append("--hw-csum")
    return p.parse_args(argv)


class VipFlows(object):
    def l3(self, a):
        if ":" in a.vip:
            return IPv6(src=a.src6, dst=a.vip, hlim=64), "IPv6", 12
        return IP(src=a.src_min, dst=a.vip, ttl=64, flags="DF"), "IP", 0

    def packet(self, a, flags):
        l3, _, _ = self.l3(a)
        if flags == "S":
            l4 = TCP(sport=a.sport_min, dport=a.port, flags="S", seq=1, window=64240,
                     options=[("MSS", 1460)])
        else:
            l4 = TCP(sport=a.sport_min, dport=a.port, flags="A", seq=1, ack=1, window=502)
        pkt = Ether() / l3 / l4
        pad = max(0, a.size - 4 - len(pkt))   # the NIC adds the FCS
        return pkt / (b"\x00" * pad) if pad else pkt

    def fix(self, a, vm):
        _, l3name, _ = self.l3(a)
        if a.hw_csum:
            vm.fix_chksum_hw(l3_offset=l3name, l4_offset="TCP",
                             l4_type=CTRexVmInsFixHwCs.L4_TYPE_TCP)
        elif l3name == "IP":
            vm.fix_chksum()

    def random_vm(self, a):
        """Source address and port random in their ranges: every frame a new flow."""
        _, l3name, fixup = self.l3(a)
        vm = STLVM()
        if l3name == "IP":
            vm.var(name="src", min_value=a.src_min, max_value=a.src_max, size=4, op="random")
        else:
            vm.var(name="src", min_value=0, max_value=0xffffffff, size=4, op="random")
        vm.var(name="sport", min_value=a.sport_min, max_value=a.sport_max, size=2, op="random")
        vm.write(fv_name="src", pkt_offset=l3name + ".src", offset_fixup=fixup)
        vm.write(fv_name="sport", pkt_offset="TCP.sport")
        self.fix(a, vm)
        return vm

    def tuple_vm(self, a):
        """FLOWS (address, port) pairs, cycled: the same flows again and again."""
        _, l3name, fixup = self.l3(a)
        vm = STLVM()
        ip_min, ip_max = (a.src_min, a.src_max) if l3name == "IP" else ("0.0.0.1", "0.255.255.255")
        vm.tuple_var(name="t", ip_min=ip_min, ip_max=ip_max, port_min=a.sport_min,
                     port_max=a.sport_max, limit_flows=a.flows)
        vm.write(fv_name="t.ip", pkt_offset=l3name + ".src", offset_fixup=fixup)
        vm.write(fv_name="t.port", pkt_offset="TCP.sport")
        self.fix(a, vm)
        return vm

    def get_streams(self, tunables=None, **kwargs):
        a = parse(tunables if isinstance(tunables, list) else [], kwargs)
        if a.kind == "syn":
            return [STLStream(packet=STLPktBuilder(pkt=self.packet(a, "S"), vm=self.random_vm(a)),
                              mode=STLTXCont(pps=1))]
        if a.kind == "ack":
            return [STLStream(packet=STLPktBuilder(pkt=self.packet(a, "A"), vm=self.random_vm(a)),
                              mode=STLTXCont(pps=1))]
        if a.kind == "seq":
            return [STLStream(packet=STLPktBuilder(pkt=self.packet(a, "A"), vm=self.tuple_vm(a)),
                              mode=STLTXCont(pps=1))]
        # mix: the console's -m scales both streams, keeping the ratio
        return [STLStream(name="syn", packet=STLPktBuilder(pkt=self.packet(a, "S"), vm=self.random_vm(a)),
                          mode=STLTXCont(pps=1)),
                STLStream(name="ack", packet=STLPktBuilder(pkt=self.packet(a, "A"), vm=self.tuple_vm(a)),
                          mode=STLTXCont(pps=a.mix_acks))]


def register():
    return VipFlows()
