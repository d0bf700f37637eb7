#!/usr/bin/env bash
# test/kernel-vm/run.sh: boots Debian's cloud kernel under qemu ONCE and runs the whole in-guest suite (cases/*.sh)
# against our compiled bin/, for the link kinds the build machines' kernel lacks (KERNEL-VM.md has the measurements).
#
#   test/kernel-vm/run.sh [BIN_DIR]        BIN_DIR defaults to $CNI_TEST_BIN, then bin/
#
# Steps: install qemu-system-x86 and busybox-static when missing; resolve Debian's cloud kernel through the
# linux-image-cloud-amd64 metapackage and cache it extracted (never installed on the host); build an uncompressed
# initramfs (busybox, iproute2, glibc, the kernel modules the cases name, bin/, the guest scripts); boot it under
# `timeout` with -nic none; judge the serial log. qemu's exit code means nothing (a panic exits 0 too), so the
# verdict comes only from the log: the `T_END pass=N fail=0` sentinel, no FAIL line, no panic.
#
# Exit status: 0 passed, 1 failed, 77 skipped; a skip prints one stdout line "SKIP <reason>".
# Env: KERNEL_VM_OUT   (default .test-out/kernel-vm) gets serial.log, the guest's console;
#      KERNEL_VM_CACHE (default .cache/kernel-vm) keeps the extracted kernel, keyed on the package version;
#      KERNEL_VM_VERBOSE=1 streams the serial console to stderr as it boots;
#      KERNEL_VM_TIMEOUT (default 480) is qemu's hard limit in seconds; KERNEL_VM_KEEP=1 keeps stage/ and the initrd.
set -uo pipefail

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
bin=$(realpath -m "${1:-${CNI_TEST_BIN:-$root/bin}}")
out=${KERNEL_VM_OUT:-$root/.test-out/kernel-vm}
cache=${KERNEL_VM_CACHE:-$root/.cache/kernel-vm}
qemu_timeout=${KERNEL_VM_TIMEOUT:-480}
# Modules every run loads; a case adds its own with a `# modules: a b` line.
BASE_MODULES="veth"

say() { echo "kernel-vm: $*" >&2; }
skip() { echo "SKIP $*"; say "skipped: $*"; exit 77; }
die() { say "$*"; exit 1; }
now() { echo "${EPOCHREALTIME/,/.}"; }
since() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.1f", b - a }'; }

t0=$(now)
mkdir -p "$out" "$cache" || die "cannot create $out or $cache"
rm -f "$out/serial.log"

# Runs are serialized: two boots at once on a 2-core machine would both crawl, and they share the kernel cache.
exec 9>"$cache/lock"
flock -w 200 9 || die "another run holds $cache/lock"

[ "$(uname -m)" = x86_64 ] || skip "not an x86_64 host ($(uname -m))"
[ -x "$bin/cni-plugins" ] || die "$bin/cni-plugins is missing: run make first"

# ---------- prerequisites ----------

installed() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q 'ok installed'; }

ensure_tools() {
  local need=()
  command -v qemu-system-x86_64 >/dev/null || need+=(qemu-system-x86)
  installed busybox-static || need+=(busybox-static)
  [ -x /usr/sbin/ip ] && [ -x /usr/sbin/bridge ] || need+=(iproute2)
  [ ${#need[@]} -eq 0 ] && return 0
  command -v apt-get >/dev/null || skip "qemu cannot be installed: no apt-get for ${need[*]}"
  [ "$(id -u)" = 0 ] || skip "qemu cannot be installed: ${need[*]} missing and not root"
  say "installing ${need[*]}"
  export DEBIAN_FRONTEND=noninteractive
  local apt=(apt-get install -y -qq --no-install-recommends -o DPkg::Lock::Timeout=600 "${need[@]}")
  if ! "${apt[@]}" >"$out/apt.log" 2>&1; then
    apt-get update -qq >>"$out/apt.log" 2>&1
    "${apt[@]}" >>"$out/apt.log" 2>&1 || skip "qemu cannot be installed: apt-get install ${need[*]} failed: $(tail -n 1 "$out/apt.log")"
  fi
}
ensure_tools
# busybox-static replaces the dynamic busybox at /bin/busybox; the initramfs has no libraries for busybox itself.
busybox=/bin/busybox
ldd "$busybox" >/dev/null 2>&1 && die "$busybox is dynamically linked; install busybox-static"

# ---------- the kernel, cached ----------

# Sets kdir (a dpkg-deb -x tree) and kver. The ABI (6.1.0-N) changes with every security update and old ones leave
# the archive, so the name is resolved through the metapackage each run and the extracted tree is keyed on
# <package>_<version>; offline, the newest cached tree is used.
resolve_kernel() {
  local pkg ver key attempt
  for attempt in 1 2; do
    pkg=$(apt-cache depends linux-image-cloud-amd64 2>/dev/null | awk '/Depends: linux-image-[0-9]/ { print $2; exit }')
    ver=$(apt-cache show --no-all-versions "$pkg" 2>/dev/null | awk '/^Version:/ { print $2; exit }')
    if [ -n "$pkg" ] && [ -n "$ver" ]; then
      key="${pkg}_${ver}"
      [ -f "$cache/$key/.complete" ] && { use_cached "$key" cached; return 0; }
      download_kernel "$pkg" "$key" && { prune_cache "$key"; use_cached "$key" "downloaded in $(since "$t_dl") s"; return 0; }
    fi
    # Stale package lists point at a .deb the mirror has dropped: refresh once, then resolve again.
    [ "$attempt" = 1 ] && [ "$(id -u)" = 0 ] && apt-get update -qq >"$out/apt-update.log" 2>&1 || break
  done
  key=$(ls -t "$cache" 2>/dev/null | while read -r d; do [ -f "$cache/$d/.complete" ] && { echo "$d"; break; }; done)
  if [ -z "$key" ]; then
    [ -n "$pkg" ] && [ -n "$ver" ] ||
      skip "the kernel cannot be fetched: apt-cache cannot resolve linux-image-cloud-amd64, and nothing is cached in $cache"
    skip "the kernel cannot be fetched: apt-get download $pkg ($ver) failed ($(tail -n 1 "$out/apt-download.log")), and nothing is cached in $cache"
  fi
  use_cached "$key" "cached, offline fallback"
}

download_kernel() {
  local pkg=$1 key=$2 tmp
  t_dl=$(now)
  tmp=$(mktemp -d "$cache/.new.XXXXXX") || return 1
  chmod 755 "$tmp"                      # apt-get download runs as _apt when it can write here
  if ! (cd "$tmp" && apt-get download -qq "$pkg") >"$out/apt-download.log" 2>&1 ||
     ! dpkg-deb -x "$tmp"/*.deb "$tmp/tree" 2>>"$out/apt-download.log"; then
    rm -rf "$tmp"
    return 1
  fi
  local v
  v=$(ls "$tmp/tree/lib/modules")
  # The .deb ships no modules.dep and the host has no kmod: busybox writes one.
  "$busybox" depmod -b "$tmp/tree" "$v" || { rm -rf "$tmp"; return 1; }
  rm -rf "$tmp/tree/usr" "$tmp"/*.deb
  echo "$v" >"$tmp/tree/.kver"
  touch "$tmp/tree/.complete"
  rm -rf "${cache:?}/$key"
  mv "$tmp/tree" "$cache/$key" && rm -rf "$tmp"
}

# Keeps only the tree in use: each one is ~110 MB and a new ABI arrives with every security update.
prune_cache() {
  local d
  for d in "$cache"/*/ "$cache"/.new.*; do
    [ -e "$d" ] || continue
    [ "$(basename "$d")" = "$1" ] || rm -rf "$d"
  done
}

use_cached() {
  kdir=$cache/$1
  kver=$(cat "$kdir/.kver")
  [ -f "$kdir/boot/vmlinuz-$kver" ] || die "$kdir has no boot/vmlinuz-$kver; remove it and rerun"
  touch "$kdir"                          # newest first for the offline fallback
  say "kernel $kver ($1, $2)"
}
resolve_kernel

# ---------- the initramfs ----------

t_build=$(now)
stage=$out/stage
rm -rf "$stage" "$out/initrd.cpio"
mkdir -p "$stage"/{bin,sbin,usr/bin,usr/sbin,lib,lib64,proc,sys,dev,run,tmp,root,etc,var/lib,kernel-vm/cases}
ln -s ../run "$stage/var/run"            # `ip netns` keeps its mounts under /run/netns

cp "$busybox" "$stage/bin/busybox"
ln -s busybox "$stage/bin/sh"
for f in /usr/sbin/ip /usr/sbin/bridge /usr/sbin/tc; do cp "$f" "$stage$f"; done
[ -d /etc/iproute2 ] && cp -r /etc/iproute2 "$stage/etc/"

# Our one executable and its links, at /bin like Debian's /usr/lib/cni; nothing hidden (a build's staging file).
find "$bin" -maxdepth 1 ! -name '.*' \( -type f -o -type l \) -exec cp -a {} "$stage/bin/" \;

# Libraries at the paths ldd names: glibc for the executable (libc, libm, libpthread, libdl, ld.so) and iproute2's.
for f in "$bin/cni-plugins" /usr/sbin/ip /usr/sbin/bridge /usr/sbin/tc; do
  ldd "$f" | awk '/=> \// { print $3 } /^[ \t]*\// { print $1 }'
done | sort -u | while read -r lib; do
  mkdir -p "$stage$(dirname "$lib")"
  cp -L "$lib" "$stage$lib"
done

# Modules: the base set plus every case's `# modules:` line, each with its modules.dep closure.
wanted=$(printf '%s\n' $BASE_MODULES $(sed -n 's/^# modules://p' "$here"/cases/*.sh) | awk 'NF && !seen[$0]++')
mdir=$kdir/lib/modules/$kver
closure=$(awk -v want="$(echo $wanted)" '
  function key(path) { sub(/.*\//, "", path); sub(/\.ko(\.[a-z]+)?$/, "", path); gsub(/-/, "_", path); return path }
  FILENAME ~ /modules\.dep$/ { sub(/:$/, "", $1); name = key($1); path[name] = $1; deps[name] = ""
                               for (i = 2; i <= NF; i++) deps[name] = deps[name] " " key($i); next }
  { builtin[key($0)] = 1 }
  function visit(n,   i, k, d) { if (n in done) return; done[n] = 1
                                  k = split(deps[n], d, " "); for (i = 1; i <= k; i++) visit(d[i]); print path[n] }
  END { n = split(want, w, " ")
        for (i = 1; i <= n; i++) { m = w[i]; gsub(/-/, "_", m)
          if (m in path) visit(m); else if (!(m in builtin)) print "kernel-vm: no module " w[i] " in " FILENAME > "/dev/stderr" } }
' "$mdir/modules.dep" "$mdir/modules.builtin")
for m in $closure; do
  mkdir -p "$stage/lib/modules/$kver/$(dirname "$m")"
  cp "$mdir/$m" "$stage/lib/modules/$kver/$m"
done
cp "$mdir/modules.builtin" "$mdir/modules.order" "$stage/lib/modules/$kver/" 2>/dev/null
"$busybox" depmod -b "$stage" "$kver" || die "depmod failed on the stage"
# Builtins stay on the list: modprobe of a builtin succeeds, and one missing entirely should FAIL in the guest.
echo $wanted >"$stage/kernel-vm/modules"

cp "$here/init.sh" "$stage/init"
cp "$here/lib.sh" "$here/driver.sh" "$stage/kernel-vm/"
cp "$here"/cases/*.sh "$stage/kernel-vm/cases/"
chmod 755 "$stage/init"

# Uncompressed: 0.6 s to pack and the fastest start (gzip costs 3 s more in the guest).
(cd "$stage" && find . | "$busybox" cpio -o -H newc 2>/dev/null) >"$out/initrd.cpio" || die "cpio failed"
size=$(du -m "$out/initrd.cpio" | cut -f1)
say "initramfs ${size} MB, modules: $(echo $wanted), built in $(since "$t_build") s"

# ---------- boot ----------

# TCG only: KVM here is kvm_pvm and aborts or hangs. -cpu max: Bun needs AVX2 (qemu64 gives SIGILL).
# `timeout` because a hung guest never exits by itself; quiet keeps printk below warnings off the console.
t_boot=$(now)
qemu=(timeout --kill-after=5 "$qemu_timeout" qemu-system-x86_64 -cpu max -smp 2 -m 1024 -nographic -no-reboot
      -nic none -kernel "$kdir/boot/vmlinuz-$kver" -initrd "$out/initrd.cpio" -append "console=ttyS0 quiet panic=-1")
if [ "${KERNEL_VM_VERBOSE:-}" = 1 ]; then
  "${qemu[@]}" </dev/null 2>&1 | tee "$out/serial.log" >&2
  rc=${PIPESTATUS[0]}
else
  "${qemu[@]}" </dev/null >"$out/serial.log" 2>&1
  rc=$?
fi
boot_s=$(since "$t_boot")
[ "${KERNEL_VM_KEEP:-}" = 1 ] || rm -rf "$stage" "$out/initrd.cpio"

# ---------- verdict ----------

log=$(tr -d '\r' <"$out/serial.log")
fails=$(grep -a -c '^FAIL ' <<<"$log")
passes=$(grep -a -c '^PASS ' <<<"$log")
sentinel=$(grep -a '^T_END ' <<<"$log" | tail -n 1)
say "boot $boot_s s (qemu rc $rc), total $(since "$t0") s: $passes passed, $fails failed, ${sentinel:-no T_END}"
if [ "$rc" = 124 ] || [ "$rc" = 137 ]; then say "qemu was killed after ${qemu_timeout} s"; fi
if [ -z "$sentinel" ] || [ "$fails" != 0 ] || grep -a -q 'Kernel panic' <<<"$log" ||
   [[ "$sentinel" != *" fail=0"* ]]; then
  grep -a -A 40 '^FAIL ' <<<"$log" | grep -a -E '^(FAIL |\| )' >&2
  echo "---- last 50 lines of $out/serial.log ----" >&2
  tail -n 50 <<<"$log" >&2
  exit 1
fi
exit 0
