# shellcheck shell=bash
# rootfs_busybox ROOT RINIT TESTPROG : a minimal root filesystem, shared by the runc and
# Docker tests: the static busybox with its applets in /bin, rinit and testprog in
# /usr/bin, root and nobody in passwd and group, a sticky /tmp. Source this file.
rootfs_busybox() {
  local root=$1
  mkdir -p "$root"/{bin,usr/bin,etc,tmp}
  chmod 1777 "$root/tmp"
  cp /bin/busybox "$root/bin/busybox"
  local applet
  for applet in $("$root/bin/busybox" --list); do
    [ "$applet" = busybox ] || ln -sf busybox "$root/bin/$applet"
  done
  install -m 0755 "$2" "$root/usr/bin/rinit"
  install -m 0755 "$3" "$root/usr/bin/testprog"
  printf 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534::/:/bin/false\n' >"$root/etc/passwd"
  printf 'root:x:0:\nnogroup:x:65534:\n' >"$root/etc/group"
}
