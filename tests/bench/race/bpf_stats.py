#!/usr/bin/env python3
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
"""bpf_stats.py: keeps the kernel's BPF run-time statistics on while it runs.

    bpf_stats.py &        # prints "enabled", then holds until killed

It asks with bpf(BPF_ENABLE_STATS, BPF_STATS_RUN_TIME) and holds the file
descriptor the kernel returns: statistics stay on while any such descriptor
(or the kernel.bpf_stats_enabled sysctl) is held, and go off by themselves
when the last holder exits, also when it is killed. The sysctl is never
touched, so another user's setting is left as it is. While on, every BPF
program on the machine pays two clock reads a run, and 'bpftool prog show'
reports run_time_ns and run_cnt.
"""
import ctypes
import os
import platform
import signal
import sys

SYS_BPF = {"x86_64": 321, "aarch64": 280, "riscv64": 280, "ppc64le": 361, "s390x": 351}
BPF_ENABLE_STATS = 32
BPF_STATS_RUN_TIME = 0


def main():
    nr = SYS_BPF.get(platform.machine())
    if nr is None:
        sys.exit(f"bpf_stats.py: no bpf() syscall number known for {platform.machine()}")
    libc = ctypes.CDLL(None, use_errno=True)
    attr = ctypes.create_string_buffer(128)  # union bpf_attr, zeroed
    ctypes.c_uint32.from_buffer(attr, 0).value = BPF_STATS_RUN_TIME
    fd = libc.syscall(nr, BPF_ENABLE_STATS, attr, ctypes.c_uint(ctypes.sizeof(attr)))
    if fd < 0:
        err = ctypes.get_errno()
        sys.exit(f"bpf_stats.py: BPF_ENABLE_STATS: {os.strerror(err)}")
    print("enabled", flush=True)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    signal.pause()


if __name__ == "__main__":
    main()
