#!/usr/bin/env python3
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
"""check_profiles.py: loads the TRex profiles beside it without TRex.

A stand-in for TRex's API records what each profile asks for, so a typo, a
bad tunable or a broken ClientHello shows up on any machine:

    python3 tests/bench/trex/check_profiles.py        # prints one line per case, exit 1 on failure

It checks the profiles' own logic only; TRex itself accepts or refuses the
calls on a real generator.
"""
import importlib.util
import os
import sys
import types

HERE = os.path.dirname(os.path.abspath(__file__))
CALLS = []


class Layer:
    """Enough of a scapy layer for the profiles: '/', len(), fields."""
    sizes = {"Ether": 14, "IP": 20, "IPv6": 40, "TCP": 20}

    def __init__(self, name, **fields):
        self.layers = [(name, fields)]

    def __truediv__(self, other):
        out = Layer.__new__(Layer)
        out.layers = self.layers + (other.layers if isinstance(other, Layer) else [("raw", {"load": other})])
        return out

    def __len__(self):
        n = 0
        for name, f in self.layers:
            if name == "raw":
                n += len(f["load"])
            else:
                n += self.sizes[name] + 4 * len(f.get("options", []))
        return n


def recorder(name):
    class Rec:
        def __init__(self, *a, **k):
            CALLS.append((name, a, k))

        def __getattr__(self, attr):
            def call(*a, **k):
                CALLS.append((name + "." + attr, a, k))
            return call
    Rec.__name__ = name
    return Rec


def stub_api():
    api = types.ModuleType("stub_api")
    for layer in Layer.sizes:
        setattr(api, layer, lambda _n=layer, **f: Layer(_n, **f))
    for name in ("STLStream", "STLPktBuilder", "STLTXCont", "STLVM", "ASTFProgram", "ASTFIPGen",
                 "ASTFIPGenGlobal", "ASTFIPGenDist", "ASTFGlobalInfo", "ASTFTCPClientTemplate",
                 "ASTFTCPServerTemplate", "ASTFAssociationRule", "ASTFTemplate", "ASTFProfile"):
        setattr(api, name, recorder(name))
    api.CTRexVmInsFixHwCs = types.SimpleNamespace(L4_TYPE_TCP=2)
    # ASTFGlobalInfo().tcp.mss = ...
    api.ASTFGlobalInfo = lambda: types.SimpleNamespace(tcp=types.SimpleNamespace())
    api.__all__ = [n for n in dir(api) if not n.startswith("_")]
    for mod in ("trex", "trex.stl", "trex.astf"):
        sys.modules[mod] = types.ModuleType(mod)
    sys.modules["trex.stl.api"] = api
    sys.modules["trex.astf.api"] = api


def load(name):
    spec = importlib.util.spec_from_file_location(name, os.path.join(HERE, name + ".py"))
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod.register()


def main():
    stub_api()
    failed = 0
    cases = [
        ("stl_vip_flows", "get_streams", [], {}),
        ("stl_vip_flows", "get_streams", ["--kind", "ack", "--vip", "2001:db8::10", "--hw-csum"], {}),
        ("stl_vip_flows", "get_streams", ["--kind", "seq", "--flows", "1000000", "--size", "512"], {}),
        ("stl_vip_flows", "get_streams", ["--kind", "mix"], {}),
        ("stl_vip_flows", "get_streams", None, {"kind": "seq", "vip": "198.18.0.10", "direction": 0}),
        ("astf_tls_cps", "get_profile", [], {}),
        ("astf_tls_cps", "get_profile", ["--vip", "198.18.0.20", "--servers", "198.18.101.2-198.18.103.2"], {}),
        ("astf_tls_cps", "get_profile", ["--connect-only"], {}),
        ("astf_tls_cps", "get_profile", None, {"cps": 5000, "recv_bytes": 100}),
    ]
    for prof, fn, tun, kw in cases:
        CALLS.clear()
        try:
            getattr(load(prof), fn)(tun, **kw)
            sends = [c for c in CALLS if c[0] == "ASTFProgram.send"]
            hello = sends[0][1][0] if sends else b""
            extra = f", ClientHello {len(hello)} bytes" if hello[:1] == b"\x16" else ""
            print(f"ok   {prof} {tun if tun is not None else kw}: {len(CALLS)} API calls{extra}")
        except Exception as e:  # noqa: BLE001 (report every failure)
            failed += 1
            print(f"FAIL {prof} {tun if tun is not None else kw}: {type(e).__name__}: {e}")
    print(f"{len(cases) - failed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
