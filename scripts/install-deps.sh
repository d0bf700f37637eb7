#!/usr/bin/env bash
# Installs, with apt-get, the system tools the build, the demo and the tests use, when they are missing.
set -euo pipefail

need=()
have() { command -v "$1" >/dev/null 2>&1; }
installed() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q 'ok installed'; }
have ip || need+=(iproute2)
have iptables-restore || need+=(iptables)
have nft || need+=(nftables)
have npm || need+=(npm)
have strace || need+=(strace)
have hyperfine || need+=(hyperfine)
have ping || need+=(iputils-ping)
have dnsmasq || need+=(dnsmasq-base)
[ -x /usr/lib/cni/host-local ] || need+=(containernetworking-plugins)
# The kernel-VM suite (test/kernel-vm/): qemu boots Debian's cloud kernel; the initramfs needs a static busybox.
have qemu-system-x86_64 || need+=(qemu-system-x86)
installed busybox-static || need+=(busybox-static)
# The runtime suite (test/runtimes/): podman (CNI backend) and containerd (ctr run --cni) on our plugins, runc for
# both, curl as the host's HTTP client. Their services are not started (policy-rc.d below).
have podman || need+=(podman)
have containerd || need+=(containerd)
have runc || need+=(runc)
have curl || need+=(curl)

if [ ${#need[@]} -gt 0 ]; then
  if [ "$(id -u)" != 0 ]; then
    echo "missing: ${need[*]}; run as root (or install them) first" >&2
    exit 1
  fi
  echo "installing: ${need[*]}"
  export DEBIAN_FRONTEND=noninteractive
  # Tools only: packages such as containerd or dnsmasq must not start system services on this machine. A
  # policy-rc.d that says "no" (exit 101) holds for the install; one the machine already has is left alone.
  guard=""
  if [ ! -e /usr/sbin/policy-rc.d ]; then
    printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d && chmod 755 /usr/sbin/policy-rc.d && guard=1
    trap '[ -n "$guard" ] && rm -f /usr/sbin/policy-rc.d' EXIT
  fi
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi
