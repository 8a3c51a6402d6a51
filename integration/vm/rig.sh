#!/usr/bin/env bash
# rig.sh — a real IPVS kernel for tests: Debian's stock kernel (IP_VS=m) booted
# under qemu (TCG) with a small initramfs. Ported from the team's qemu-ipvs-demo.sh recipe.
#
#   rig.sh prepare                 install host tools (root, apt), download the kernel .deb,
#                                  build the cached base initramfs (idempotent, under a lock)
#   rig.sh boot EXTRA.cpio [TMO]   boot base + EXTRA (a newc cpio holding /guest/run.sh and
#                                  any files); serial console on stdout; the guest prints
#                                  "@@BEGIN", the script's output, "@@EXIT <rc>" and powers off;
#                                  the script may run 600 s, or as many seconds as a file
#                                  /guest/limit in EXTRA says (TMO must then be larger)
#   rig.sh run SCRIPT [FILE...]    for humans: put FILEs in /usr/local/bin, run SCRIPT, show it
#   rig.sh clean
#
# The base initramfs: busybox-static (+ applet links), ipvsadm, iproute2 `ip`, keepalived
# (+ every lib ldd names), the IPVS scheduler modules and friends (load order from
# modules.dep), /init. The guest has no NIC: nothing it does can leave it.
# Cache: $KA_VM_CACHE (default: integration/vm/cache next to this script), ~500 MB.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
CACHE=${KA_VM_CACHE:-$HERE/cache}
ROOT=$CACHE/root
KDIR=$CACHE/kpkg
MEM=${MEM:-512}
BASE_VERSION=5   # bump when the base layout or /init changes (5: /guest/limit)

log() { printf '[rig %s] %s\n' "$(date +%T)" "$*" >&2; }
die() { log "FATAL: $*"; exit 1; }

MODS_WANTED=(crc32c_generic ip_vs ip_vs_rr ip_vs_wrr ip_vs_lc ip_vs_wlc ip_vs_sh ip_vs_dh ip_vs_mh
             ip_vs_sed ip_vs_nq ip_vs_fo ip_vs_ovf ip_vs_lblc ip_vs_lblcr ip_vs_pe_sip
             veth bridge macvlan ipvlan dummy nf_tables nft_ct nfnetlink_queue)

ensure_host_tools() {
  local pk=()
  command -v qemu-system-x86_64 >/dev/null || pk+=(qemu-system-x86)
  [[ -x /bin/busybox ]] && file -L /bin/busybox 2>/dev/null | grep -q static || pk+=(busybox-static)
  [[ -x /usr/sbin/ipvsadm ]] || pk+=(ipvsadm)
  [[ -x /usr/sbin/keepalived ]] || pk+=(keepalived)
  [[ -x /usr/sbin/depmod ]] || pk+=(kmod)
  command -v cpio >/dev/null || pk+=(cpio)
  command -v file >/dev/null || pk+=(file)
  command -v python3 >/dev/null || pk+=(python3)
  if ((${#pk[@]})); then
    [[ $(id -u) == 0 ]] || die "missing ${pk[*]}; install them (apt-get install) or run as root"
    log "apt-get install ${pk[*]}"
    DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "${pk[@]}" >"$CACHE/apt.log" 2>&1 \
      || { apt-get update >/dev/null 2>&1; DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "${pk[@]}" >"$CACHE/apt.log" 2>&1; } \
      || die "apt-get install failed (see $CACHE/apt.log)"
  fi
}

fetch_kernel() {
  mkdir -p "$CACHE/deb"
  local pkg deb
  pkg=$(apt-cache depends linux-image-amd64 2>/dev/null | awk '/Depends: linux-image-[0-9]/{print $2; exit}')
  [[ -n $pkg ]] || { apt-get update >/dev/null 2>&1; pkg=$(apt-cache depends linux-image-amd64 | awk '/Depends: linux-image-[0-9]/{print $2; exit}'); }
  [[ -n $pkg ]] || die "cannot resolve linux-image-amd64 (apt-get update?)"
  KV=${pkg#linux-image-}
  deb=$(ls "$CACHE"/deb/"${pkg}"_*.deb 2>/dev/null | head -1 || true)
  if [[ -z $deb ]]; then
    log "apt-get download $pkg"
    (cd "$CACHE/deb" && apt-get download "$pkg" >/dev/null 2>&1) || die "apt-get download $pkg failed"
    deb=$(ls "$CACHE"/deb/"${pkg}"_*.deb | head -1)
  fi
  if [[ ! -f $KDIR/boot/vmlinuz-$KV ]]; then
    log "extracting $deb"
    rm -rf "$KDIR"; mkdir -p "$KDIR"; dpkg -x "$deb" "$KDIR"
  fi
  # The .deb ships no modules.dep.
  [[ -f $KDIR/lib/modules/$KV/modules.dep ]] || /usr/sbin/depmod -b "$KDIR" "$KV"
}

copy_with_libs() {
  local f=$1 lib
  install -D -m755 "$f" "$ROOT$f"
  ldd "$f" 2>/dev/null | grep -oE '/[^ ]+' | while read -r lib; do
    # 755: the ELF interpreter must be executable or execve() fails with EACCES.
    [[ -e $ROOT$lib ]] || install -D -m755 "$(readlink -f "$lib")" "$ROOT$lib"
  done
}

resolve_modules() { # module paths in load order (deps are listed nearest-first: load from the end)
  awk -v want="${MODS_WANTED[*]}" '
    { key = $1; sub(":$", "", key); n = split(key, p, "/"); name = p[n]; sub("\\.ko(\\.[a-z]+)?$", "", name)
      line[name] = $0; path[name] = key }
    END {
      nw = split(want, w, " ")
      for (i = 1; i <= nw; i++) {
        m = w[i]
        if (!(m in line)) { print "MISSING " m > "/dev/stderr"; continue }
        nf = split(line[m], f, " ")
        for (j = nf; j >= 2; j--) { if (!(f[j] in done)) { done[f[j]] = 1; print f[j] } }
        if (!(path[m] in done)) { done[path[m]] = 1; print path[m] }
      }
    }' "$KDIR/lib/modules/$KV/modules.dep"
}

write_init() {
  {
    echo '#!/bin/sh'
    echo 'export PATH=/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin'
    echo "KV=$KV"
    cat <<'INIT'
mount -t proc proc /proc; mount -t sysfs sys /sys; mount -t devtmpfs dev /dev
mkdir -p /dev/pts /dev/shm; mount -t tmpfs run /run; mount -t tmpfs tmp /tmp; mkdir -p /run/netns
hostname guest; /usr/sbin/ip link set lo up
for m in $(cat /etc/modules-load.list); do insmod /lib/modules/$KV/$m 2>/tmp/e || { grep -q 'File exists' /tmp/e || echo "@@ERR insmod $m: $(cat /tmp/e)"; }; done
echo "@@T ready $(cut -d' ' -f1 /proc/uptime)"
if [ -f /guest/run.sh ]; then
  echo "@@BEGIN"
  # The script's time limit: 600 s, or the seconds in /guest/limit (long runs).
  lim=600; [ -f /guest/limit ] && lim=$(cat /guest/limit)
  cd /guest; timeout "$lim" sh -c '. /guest/lib.sh; . /guest/run.sh' 2>&1; rc=$?
  echo "@@EXIT $rc"
else
  echo "@@EXIT 127"
fi
echo "@@T done $(cut -d' ' -f1 /proc/uptime)"
poweroff -f
INIT
  } >"$ROOT/init"
  chmod +x "$ROOT/init"
  mkdir -p "$ROOT/guest"
  cat >"$ROOT/guest/lib.sh" <<'LIB'
# Sourced before /guest/run.sh.
# Debian's busybox-static sh runs its own applets before PATH: force iproute2's ip.
ip() { /usr/sbin/ip "$@"; }
# wait_until TENTHS CMD...: poll CMD every 0.1 s, at most TENTHS times; status of the last try.
wait_until() { n=$1; shift; while ! "$@" >/dev/null 2>&1; do n=$((n-1)); [ $n -le 0 ] && return 1; sleep 0.1; done; }
# ka_start NAME CONF [extra keepalived options]: keepalived 2.2.7 in the foreground of a
# background job, own pid files under /run/NAME-*, log in /tmp/NAME.log.
ka_start() { n=$1; c=$2; shift 2
  keepalived -n -l -D -f "$c" -p /run/$n.pid -r /run/$n-vrrp.pid -c /run/$n-chk.pid -b /run/$n-bfd.pid "$@" >/tmp/$n.log 2>&1 &
  wait_until 50 test -s /run/$n.pid; }
# ka_stop NAME: SIGTERM and wait (5 s) until its pid file is gone.
ka_stop() { [ -f /run/$1.pid ] && kill "$(cat /run/$1.pid)" 2>/dev/null; wait_until 50 test ! -e /run/$1.pid; }
LIB
}

build_base() {
  mkdir -p "$CACHE"
  ensure_host_tools
  fetch_kernel
  log "building base initramfs for kernel $KV"
  rm -rf "$ROOT"; mkdir -p "$ROOT"/{usr/bin,usr/sbin,usr/lib,usr/lib64,usr/local/bin,etc,proc,sys,dev,run,tmp,root,var}
  ln -s usr/bin "$ROOT/bin"; ln -s usr/sbin "$ROOT/sbin"; ln -s usr/lib "$ROOT/lib"; ln -s usr/lib64 "$ROOT/lib64"
  ln -s /run "$ROOT/var/run"
  install -m755 /bin/busybox "$ROOT/usr/bin/busybox"
  local b
  for b in /usr/sbin/ipvsadm /usr/sbin/ip /usr/sbin/keepalived ${EXTRA_BINS:-}; do copy_with_libs "$b"; done
  for b in $(/bin/busybox --list); do
    [[ -e $ROOT/usr/bin/$b || -e $ROOT/usr/sbin/$b ]] || ln -s busybox "$ROOT/usr/bin/$b"
  done
  ln -sf ../bin/busybox "$ROOT/usr/sbin/modprobe"   # the kernel's request_module() calls /sbin/modprobe
  printf 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/:/bin/false\n' >"$ROOT/etc/passwd"
  printf 'root:x:0:\nnogroup:x:65534:\n' >"$ROOT/etc/group"
  [[ -d /etc/iproute2 ]] && cp -r /etc/iproute2 "$ROOT/etc/"
  local m
  resolve_modules >"$CACHE/modules-load.list"
  while read -r m; do install -D -m644 "$KDIR/lib/modules/$KV/$m" "$ROOT/lib/modules/$KV/$m"; done <"$CACHE/modules-load.list"
  cp "$CACHE/modules-load.list" "$ROOT/etc/modules-load.list"
  cp "$KDIR/lib/modules/$KV"/modules.{order,builtin,builtin.modinfo} "$ROOT/lib/modules/$KV/"
  /usr/sbin/depmod -b "$ROOT" "$KV"
  write_init
  # Uncompressed: under TCG a gzip initramfs costs ~1 s to unpack.
  (cd "$ROOT" && find . -print0 | cpio --null -o -H newc --quiet) >"$CACHE/base.cpio.tmp"
  # PVH direct boot of the uncompressed vmlinux with qboot skips the in-guest xz step (~6 s under TCG).
  python3 - "$KDIR/boot/vmlinuz-$KV" "$CACHE/vmlinux.tmp" <<'PY'
import lzma, sys
d = open(sys.argv[1], 'rb').read()
i = d.find(b'\xfd7zXZ\x00')
if i < 0: sys.exit("no xz payload in bzImage")
open(sys.argv[2], 'wb').write(lzma.LZMADecompressor(format=lzma.FORMAT_XZ).decompress(d[i:]))
PY
  mv "$CACHE/vmlinux.tmp" "$CACHE/vmlinux"; mv "$CACHE/base.cpio.tmp" "$CACHE/base.cpio"
  echo "$BASE_VERSION $KV" >"$CACHE/base.stamp"
  rm -rf "$ROOT"
  log "base ready: $(du -h "$CACHE/base.cpio" | cut -f1) initramfs, kernel $KV"
}

prepare() {
  mkdir -p "$CACHE"
  exec 9>"$CACHE/.lock"; flock 9
  if [[ -f $CACHE/base.cpio && -f $CACHE/vmlinux && $(cut -d' ' -f1 "$CACHE/base.stamp" 2>/dev/null) == "$BASE_VERSION" ]] \
     && command -v qemu-system-x86_64 >/dev/null; then
    return 0
  fi
  build_base
}

boot() { # EXTRA.cpio [timeout]
  local extra=$1 tmo=${2:-300}
  [[ -f $CACHE/base.cpio ]] || die "run '$0 prepare' first"
  local initrd; initrd=$(mktemp "$CACHE/initrd.XXXXXX")
  # Concatenated newc archives form one initramfs; later files win.
  cat "$CACHE/base.cpio" "$extra" >"$initrd"
  local rc=0
  timeout "$tmo" qemu-system-x86_64 -accel tcg -cpu qemu64 -m "$MEM" -smp 1 -M pc \
    -nodefaults -no-user-config -nographic -serial stdio -no-reboot \
    -bios /usr/share/qemu/qboot.rom -kernel "$CACHE/vmlinux" -initrd "$initrd" \
    -append "console=ttyS0 quiet loglevel=3 panic=-1 cryptomgr.notests mitigations=off i8042.noaux i8042.nokbd 8250.nr_uarts=1 tsc=reliable no_timer_check" \
    </dev/null | tr -d '\r' || rc=$?
  rm -f "$initrd"
  return $rc
}

run_script() { # SCRIPT [FILE...]
  local script=$1; shift
  prepare
  local d; d=$(mktemp -d); mkdir -p "$d/guest" "$d/usr/local/bin"
  cp "$script" "$d/guest/run.sh"
  local f; for f in "$@"; do install -m755 "$f" "$d/usr/local/bin/"; done
  (cd "$d" && find . -print0 | cpio --null -o -H newc --quiet) >"$d.cpio"
  boot "$d.cpio" | sed -n '/^@@BEGIN/,/^@@EXIT/p'
  rm -rf "$d" "$d.cpio"
}

case ${1:-} in
  prepare) prepare ;;
  boot) boot "${2:?EXTRA.cpio}" "${3:-300}" ;;
  run) shift; run_script "$@" ;;
  clean) rm -rf "$CACHE" ;;
  *) die "usage: $0 prepare | boot EXTRA.cpio [TIMEOUT] | run SCRIPT [FILE...] | clean" ;;
esac
