#!/usr/bin/env python3
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
"""summarize.py: the race's summary table from its raw figures.

    summarize.py build/bench/race-raw.txt > build/bench/race.txt

The raw file (tests/bench/race.sh) has one line per measurement, KEY=VALUE:
the client's own output (tls_churn, or iperf3 boiled down) and the deltas
of counters around it (d_busy, d_softirq: /proc/stat jiffies of the whole
machine; d_haproxy, d_nginx, d_backends: processes' user+system ticks;
d_xdp_ns, d_xdp_cnt: the LB's XDP program's run time and runs; d_t: ns),
and the bench_xdp lines prefixed "pps". Every figure printed is a median
over rounds; ratios are of medians from the same run.
"""
import statistics
import sys

CONTESTANTS = ["direct", "xlb", "haproxy", "nginx"]
PROXIES = ["haproxy", "nginx"]


def med(values):
    values = [v for v in values if v is not None]
    return statistics.median(values) if values else None


def fmt(v, spec="{:.2f}", none="-"):
    return none if v is None else spec.format(v)


def ms(v):
    return None if v is None else v * 1e3


def ratio(a, b):
    return None if a is None or not b else a / b


def parse(path):
    header, runs, pps = [], [], []
    for line in open(path):
        line = line.rstrip("\n")
        if line.startswith("#"):
            header.append(line)
        elif line.startswith("pps "):
            pps.append(line[4:])
        elif line.startswith("test="):
            kv = {}
            for word in line.split():
                if "=" in word:
                    k, v = word.split("=", 1)
                    kv[k] = v
            runs.append(kv)
    return header, runs, pps


def num(kv, key):
    try:
        return float(kv[key])
    except (KeyError, ValueError):
        return None


class Figures:
    """Per-round figures of one test and contestant."""

    def __init__(self, runs, test, who, tck):
        self.rounds = [r for r in runs if r["test"] == test and r["who"] == who]
        self.ok = [r for r in self.rounds if "error" not in r]
        self.tck = tck
        self.who = who

    def each(self, fn):
        out = []
        for r in self.ok:
            try:
                out.append(fn(r))
            except (TypeError, ZeroDivisionError):
                pass
        return out

    def lb_proc_s(self, r):
        return num(r, "d_" + self.who) / self.tck if self.who in PROXIES else 0.0

    def xdp_s(self, r):
        return num(r, "d_xdp_ns") / 1e9

    def machine_s(self, r):
        return num(r, "d_busy") / self.tck

    def softirq_s(self, r):
        return num(r, "d_softirq") / self.tck

    def backends_s(self, r):
        return num(r, "d_backends") / self.tck

    def lab_s(self, r):
        """Every process of the lab: the client (its own report), the servers, both proxies."""
        return (num(r, "cpu_s") + (num(r, "d_backends") + num(r, "d_haproxy") + num(r, "d_nginx"))
                / self.tck)


def main():
    header, runs, pps = parse(sys.argv[1])
    tck = 100.0
    meta = {}
    for h in header:
        for word in h[1:].split():
            if "=" in word:
                k, v = word.split("=", 1)
                meta[k] = v
    tck = float(meta.get("tck", tck))
    present = [c for c in CONTESTANTS if any(r["who"] == c for r in runs)]
    out = []
    p = out.append

    for h in header:
        if not h.startswith("# took"):
            p(h)
    p("# one machine runs client, router, LB and backends, shared with whatever else runs there:")
    p("# absolute figures move from run to run; compare contestants within this run")
    p("")

    # ---- (1) connections
    cps = {w: Figures(runs, "cps", w, tck) for w in present}
    rate = {w: med(f.each(lambda r: num(r, "rate"))) for w, f in cps.items()}
    p("## (1) New TCP+TLS connections per second through the VIP")
    p(f"# tls_churn: connect, full TLS handshake (no resumption), one request, answer, close;")
    p(f"# {meta.get('conc', '?')} in flight, {meta.get('cps_secs', '?')} s a round, "
      f"{meta.get('rounds', '?')} rounds, medians; ok/fail summed over all rounds")
    p(f"{'contestant':<10} {'conn/s':>8} {'vs direct':>9} {'ok':>9} {'fail':>6} "
      f"{'p50 ms':>7} {'p99 ms':>7}  spread over backends")
    for w, f in cps.items():
        ok = sum(num(r, "ok") or 0 for r in f.ok)
        fail = sum(num(r, "fail") or 0 for r in f.ok) + len(f.rounds) - len(f.ok)
        spread = {}
        for r in f.ok:
            for k, v in r.items():
                if k.startswith("be") and k[2:].isdigit():
                    spread[k] = spread.get(k, 0) + int(v)
        tot = sum(spread.values()) or 1
        sp = " ".join(f"{k}={100 * v / tot:.0f}%" for k, v in sorted(spread.items()))
        p(f"{w:<10} {fmt(rate[w], '{:.0f}'):>8} {fmt(ratio(rate[w], rate.get('direct')), '{:.2f}'):>9} "
          f"{ok:>9.0f} {fail:>6.0f} {fmt(med(f.each(lambda r: num(r, 'p50_ms'))), '{:.1f}'):>7} "
          f"{fmt(med(f.each(lambda r: num(r, 'p99_ms'))), '{:.1f}'):>7}  {sp}")
    p("")

    # ---- (2) throughput
    up = {w: Figures(runs, "up", w, tck) for w in present}
    down = {w: Figures(runs, "down", w, tck) for w in present}
    gbps_up = {w: med(f.each(lambda r: num(r, "bps") / 1e9)) for w, f in up.items()}
    gbps_down = {w: med(f.each(lambda r: num(r, "bps") / 1e9)) for w, f in down.items()}
    p("## (2) Long transfers through the VIP (iperf3, to one backend)")
    p(f"# {meta.get('streams', '?')} TCP streams, {meta.get('bulk_secs', '?')} s a run, "
      f"{meta.get('bulk_rounds', '?')} rounds, medians; upload = client to backend, "
      "download = backend to client (-R)")
    p(f"{'contestant':<10} {'upload Gbit/s':>14} {'download Gbit/s':>16} {'retrans up/down':>16} {'failed runs':>12}")
    for w in present:
        rt = (med(up[w].each(lambda r: num(r, "retrans"))), med(down[w].each(lambda r: num(r, "retrans"))))
        failed = len(up[w].rounds) - len(up[w].ok) + len(down[w].rounds) - len(down[w].ok)
        p(f"{w:<10} {fmt(gbps_up[w]):>14} {fmt(gbps_down[w]):>16} "
          f"{fmt(rt[0], '{:.0f}')+'/'+fmt(rt[1], '{:.0f}'):>16} {failed:>12}")
    p("")

    # ---- (3) CPU
    def per(f, fn, unit):
        return med(f.each(lambda r: fn(r) / unit(r)))

    per_kconn = lambda r: num(r, "ok") / 1000.0
    per_gb = lambda r: num(r, "bytes") / 1e9
    p("## (3) CPU time per 1000 connections and per GB")
    p("# LB procs: CPU of the proxy's processes (0 for xlb: no process forwards).")
    p("# LB XDP: run time of the LB's XDP program (kernel BPF statistics); for the proxies the")
    p("#   same program passes their packets up (not a VIP of xlb's).")
    p("# LB host = LB procs + LB XDP, a lower bound: the veth driver around XDP and the softirq")
    p("#   work that ran in another process's context are not in it.")
    p("# lab: CPU of every process in the lab (client, backends' servers, both proxies), which")
    p("#   with this kernel's accounting includes the softirq work (routing, XDP, TCP of every")
    p("#   namespace) that ran in their context; '+ vs direct': lab minus the direct run's lab,")
    p("#   the cost of putting the LB in the path, extra router hops included.")
    p("# machine: busy time of every CPU (/proc/stat), other users of the machine included.")
    p("# all medians of per-round figures")
    lbcols = {}

    def cpu_table(figs, unit, scale, spec, extra_col):
        lab = {w: per(figs[w], figs[w].lab_s, unit) for w in present}
        for w in present:
            f = figs[w]
            procs = per(f, f.lb_proc_s, unit)
            xdp = per(f, f.xdp_s, unit)
            host = per(f, lambda r: f.lb_proc_s(r) + f.xdp_s(r), unit)
            over = None if lab.get("direct") is None or lab[w] is None else lab[w] - lab["direct"]
            mach = per(f, f.machine_s, unit)
            col = extra_col(f)
            yield w, host, lab[w], [fmt(procs and procs * scale, spec), fmt(xdp and xdp * scale, spec),
                                    fmt(host and host * scale, spec), col,
                                    fmt(lab[w] and lab[w] * scale, spec),
                                    fmt(over * scale if over is not None else None, "{:+" + spec[2:]),
                                    fmt(mach and mach * scale, spec)]

    head = ["LB procs", "LB XDP", "LB host", "", "lab", "+ vs direct", "machine"]
    widths = [9, 8, 8, 10, 8, 11, 8]

    def row(name, cols):
        return f"{name:<10}" + "".join(f" {c:>{w}}" for c, w in zip(cols, widths))

    p("")
    p("per 1000 connections (CPU ms)")
    p(row("contestant", head[:3] + ["XDP runs"] + head[4:]))
    for w, host, lab, cols in cpu_table(
            cps, per_kconn, 1e3, "{:.1f}",
            lambda f: fmt(per(f, lambda r: num(r, "d_xdp_cnt"), lambda r: num(r, "ok")), "{:.1f}")):
        lbcols[("conn", w)], lbcols[("conn=", w)] = host, lab
        p(row(w, cols))
    p("('XDP runs': packets the LB's XDP program saw per connection)")
    p("")
    for name, figs in (("upload", up), ("download", down)):
        p(f"per GB delivered, {name} (CPU s)")
        p(row("contestant", head[:3] + ["XDP ns/run"] + head[4:]))
        for w, host, lab, cols in cpu_table(
                figs, per_gb, 1.0, "{:.3f}",
                lambda f: fmt(med(f.each(lambda r: num(r, "d_xdp_ns") / num(r, "d_xdp_cnt")
                                         if num(r, "d_xdp_cnt") >= 1000 else None)), "{:.0f}")):
            lbcols[(name, w)], lbcols[(name + "=", w)] = host, lab
            p(row(w, cols))
        p("")

    # ---- (4) packet rate
    p("## (4) Packet rate of the XDP program on one core (live frames, build/tests/bench/bench_xdp)")
    p("# each run starts from the original frame; XDP_TX through a veth into an XDP drop;")
    p("# beside a bare program with the same verdict, alternating rounds, medians; flows=N:")
    p("# ACKs of N established flows; syn-flood: SYNs from 1M sources. (trafgen into the lab's")
    p("# veth measures trafgen itself: tests/bench/pktgen/README.md)")
    for line in pps:
        p(line)
    xdp_lab = med(cps["xlb"].each(lambda r: num(r, "d_xdp_ns") / num(r, "d_xdp_cnt"))) if "xlb" in cps else None
    p(f"in the lab during (1), xlb's XDP program: {fmt(xdp_lab, '{:.0f}')} ns a run (BPF statistics;"
      " includes their own clock reads)")
    p("")

    # ---- ratios
    if "xlb" in present and any(w in present for w in PROXIES):
        ps = [w for w in PROXIES if w in present]
        p("## Ratios, same run (xlb / proxy; > 1: xlb higher)")
        p(f"{'figure':<44}" + "".join(f"{'xlb/' + w:>13}" for w in ps))
        rows = [
            ("conn/s", rate),
            ("upload Gbit/s", gbps_up),
            ("download Gbit/s", gbps_down),
        ]
        for label, d in rows:
            p(f"{label:<44}" + "".join(f"{fmt(ratio(d['xlb'], d[w]), '{:.2f}'):>13}" for w in ps))
        for label, key in (("LB host CPU per 1000 connections", "conn"),
                           ("LB host CPU per GB upload", "upload"),
                           ("LB host CPU per GB download", "download"),
                           ("lab CPU per 1000 connections", "conn="),
                           ("lab CPU per GB upload", "upload="),
                           ("lab CPU per GB download", "download=")):
            p(f"{label:<44}" + "".join(
                f"{fmt(ratio(lbcols.get((key, 'xlb')), lbcols.get((key, w))), '{:.3f}'):>13}" for w in ps))
        p("(CPU ratios: < 1 means xlb costs less. The lab figures include the client's and the")
        p(" backends' TLS and TCP work, the same for every contestant, so they understate the")
        p(" LB's share; the '+ vs direct' columns of (3) give that in absolute terms)")
    for h in header:
        if h.startswith("# took"):
            p(h)
    print("\n".join(out))


if __name__ == "__main__":
    main()
