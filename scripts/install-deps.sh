#!/bin/bash
# Installs what xlb needs to build, test and demo on Debian 12, from Debian's
# own packages. Idempotent: installs only what is missing. Run as root.
set -euo pipefail

PACKAGES=(
	# build
	make gcc clang llvm pkg-config libc6-dev linux-libc-dev
	libbpf-dev libxdp-dev bpftool libelf-dev zlib1g-dev
	libssl-dev libconfig-dev libjson-c-dev libmicrohttpd-dev libmnl-dev
	libclang-rt-14-dev		# libFuzzer and sanitizer runtimes (tests/fuzz)
	# run and test
	iproute2 xdp-tools ethtool tcpdump iperf3 netsniff-ng openssl procps
	util-linux kmod python3 curl
	sstp-client			# a real SSTP client (sstpc) for tests/e2e/test_sstp_server.sh
	haproxy nginx libnginx-mod-stream	# tests/bench/race.sh: the proxies xlb races (stream: nginx's L4 proxy)
	groff-base			# renders man/*.8 for tests/e2e/test_polish.sh
)

missing=()
for p in "${PACKAGES[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q '^install ok installed$' ||
		missing+=("$p")
done
if [[ ${#missing[@]} -eq 0 ]]; then
	echo "install-deps: everything is installed"
	exit 0
fi
if [[ $(id -u) -ne 0 ]]; then
	echo "install-deps: missing ${missing[*]}; run as root to install them" >&2
	exit 1
fi
echo "install-deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
# Debian starts these on install; tests/bench/race.sh runs its own, in namespaces
for svc in haproxy nginx; do
	if [[ " ${missing[*]} " == *" $svc "* && -d /run/systemd/system ]]; then
		systemctl disable --now "$svc" >/dev/null 2>&1 || true
	fi
done
echo "install-deps: done"
