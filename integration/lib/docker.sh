# shellcheck shell=bash
# A private Docker engine for the tests, started and stopped by the test script itself,
# and the images the tests run. Source this file.
#
# The engine never touches the network or the host's own Docker: its own containerd
# (own socket, root, state and namespace), its own dockerd (own socket, data root, exec
# root, pidfile, config file and key file), no bridge, no iptables, no IP forwarding.
# Containers are run with --network none. Nothing is pulled: images are built FROM scratch.
# Needs root, dockerd, docker, containerd, runc and busybox-static (integration/test
# installs them).

# dk_wait_until TIMEOUT_S CONDITION : polls a shell condition every 50 ms up to a deadline.
dk_wait_until() {
  local deadline=$(($(date +%s%N) + $1 * 1000000000))
  until eval "$2"; do
    [ "$(date +%s%N)" -lt "$deadline" ] || return 1
    sleep 0.05
  done
}

dk_now_ms() { echo $(($(date +%s%N) / 1000000)); }

# docker, bounded: a hung engine fails the case instead of hanging the suite.
dk() { timeout "${DK_TIMEOUT:-60}" docker "$@"; }

dk_require() {
  [ "$(id -u)" = 0 ] || { echo "docker: the engine tests need root" >&2; return 1; }
  local tool
  for tool in dockerd docker containerd runc timeout python3; do
    command -v "$tool" >/dev/null || { echo "docker: $tool is missing (apt-get install docker.io)" >&2; return 1; }
  done
  [ -x /bin/busybox ] && dpkg-query -W -f='${Status}' busybox-static 2>/dev/null | grep -q "ok installed" ||
    { echo "docker: the static busybox is missing (apt-get install busybox-static)" >&2; return 1; }
}

# dk_engine_start WORK : starts containerd and dockerd with everything under WORK, and
# points the docker client at them (DOCKER_HOST, DOCKER_CONFIG). Tries the storage drivers
# in $DK_STORAGE_DRIVERS (default: overlay2, then vfs where overlay2 cannot work).
dk_engine_start() {
  DK_WORK=$1
  DK_NS=rinit-test-$$
  mkdir -p "$DK_WORK/cli"
  export DOCKER_HOST="unix://$DK_WORK/docker.sock" DOCKER_CONFIG="$DK_WORK/cli" DOCKER_BUILDKIT=0
  unset DOCKER_CONTEXT DOCKER_TLS_VERIFY DOCKER_CERT_PATH DOCKER_API_VERSION
  # Our own containerd: dockerd would otherwise use a system containerd if one is running.
  cat >"$DK_WORK/containerd.toml" <<EOF
version = 2
root = "$DK_WORK/containerd/root"
state = "$DK_WORK/containerd/state"
disabled_plugins = ["io.containerd.grpc.v1.cri"]
[grpc]
  address = "$DK_WORK/containerd.sock"
[ttrpc]
  address = "$DK_WORK/containerd.sock.ttrpc"
[debug]
  address = ""
[metrics]
  address = ""
[plugins."io.containerd.internal.v1.opt"]
  path = "$DK_WORK/containerd/opt"
EOF
  containerd --config "$DK_WORK/containerd.toml" >"$DK_WORK/containerd.log" 2>&1 &
  DK_CONTAINERD_PID=$!
  dk_wait_until 20 "[ -S '$DK_WORK/containerd.sock' ] || ! kill -0 $DK_CONTAINERD_PID 2>/dev/null" &&
    kill -0 "$DK_CONTAINERD_PID" 2>/dev/null || {
    echo "docker: containerd did not start:" >&2; tail -20 "$DK_WORK/containerd.log" >&2; return 1; }

  # dockerd before 23 writes a trust key to /etc/docker/key.json unless told otherwise
  # (and 23+ refuses the setting).
  local major; major=$(dockerd --version | sed -n 's/^Docker version \([0-9]*\)\..*/\1/p')
  if [ "${major:-0}" -lt 23 ]; then
    printf '{"deprecated-key-path": "%s"}\n' "$DK_WORK/key.json" >"$DK_WORK/daemon.json"
  else
    echo '{}' >"$DK_WORK/daemon.json"
  fi
  local driver
  for driver in ${DK_STORAGE_DRIVERS:-overlay2 vfs}; do
    if dk_dockerd_start "$driver"; then
      echo "docker: engine up: dockerd $(dockerd --version | cut -d' ' -f3 | tr -d ,)," \
        "storage driver $driver, client $(docker version -f '{{.Client.Version}}' 2>/dev/null)"
      return 0
    fi
    echo "docker: dockerd with the $driver storage driver did not work:" >&2
    tail -5 "$DK_WORK/dockerd-$driver.log" >&2
    dk_dockerd_stop
  done
  return 1
}

# dk_dockerd_start DRIVER : dockerd with that storage driver, up and able to run a container.
dk_dockerd_start() {
  local driver=$1 data=$DK_WORK/data-$1
  dockerd \
    --config-file "$DK_WORK/daemon.json" \
    --host "$DOCKER_HOST" \
    --data-root "$data" \
    --exec-root "$DK_WORK/exec" \
    --pidfile "$DK_WORK/dockerd.pid" \
    --containerd "$DK_WORK/containerd.sock" \
    --containerd-namespace "$DK_NS" \
    --containerd-plugins-namespace "$DK_NS-plugins" \
    --storage-driver "$driver" \
    --exec-opt native.cgroupdriver=cgroupfs \
    --bridge=none --iptables=false --ip-forward=false --ip-masq=false \
    --userland-proxy=false \
    >"$DK_WORK/dockerd-$driver.log" 2>&1 &
  DK_DOCKERD_PID=$!
  dk_wait_until 30 "DK_TIMEOUT=5 dk version >/dev/null 2>&1 || ! kill -0 $DK_DOCKERD_PID 2>/dev/null" &&
    kill -0 "$DK_DOCKERD_PID" 2>/dev/null || return 1
  # The storage driver must also work for a container's rootfs (overlay2 can start on a
  # file system on which mounting it later fails).
  dk_smoke_image && dk run --rm --network none rinit-smoke:1 /busybox true >/dev/null 2>&1
}

# A one-file image (busybox alone) for the storage driver check.
dk_smoke_image() {
  local ctx=$DK_WORK/smoke
  mkdir -p "$ctx"
  cp /bin/busybox "$ctx/busybox"
  printf 'FROM scratch\nCOPY busybox /busybox\n' >"$ctx/Dockerfile"
  dk build -q -t rinit-smoke:1 "$ctx" >/dev/null 2>&1
}

dk_dockerd_stop() {
  [ -n "${DK_DOCKERD_PID:-}" ] || return 0
  kill -TERM "$DK_DOCKERD_PID" 2>/dev/null
  dk_wait_until 20 "! kill -0 $DK_DOCKERD_PID 2>/dev/null" || kill -KILL "$DK_DOCKERD_PID" 2>/dev/null
  wait "$DK_DOCKERD_PID" 2>/dev/null
  DK_DOCKERD_PID=
}

# dk_engine_stop : removes every container, stops dockerd and containerd, and whatever
# shims of our containerd namespace are left, unmounts what they left under DK_WORK.
dk_engine_stop() {
  [ -n "${DK_WORK:-}" ] || return 0
  if [ -n "${DK_DOCKERD_PID:-}" ]; then
    local ids; ids=$(DK_TIMEOUT=20 dk ps -aq 2>/dev/null)
    # shellcheck disable=SC2086
    [ -z "$ids" ] || DK_TIMEOUT=30 dk rm -f $ids >/dev/null 2>&1
  fi
  dk_dockerd_stop
  if [ -n "${DK_CONTAINERD_PID:-}" ]; then
    kill -TERM "$DK_CONTAINERD_PID" 2>/dev/null
    dk_wait_until 10 "! kill -0 $DK_CONTAINERD_PID 2>/dev/null" || kill -KILL "$DK_CONTAINERD_PID" 2>/dev/null
    wait "$DK_CONTAINERD_PID" 2>/dev/null
    DK_CONTAINERD_PID=
  fi
  # Shims started by our containerd name its socket on their command line.
  local p
  for p in /proc/[0-9]*; do
    { tr '\0' ' ' <"$p/cmdline"; } 2>/dev/null | grep -qF -- "-address $DK_WORK/containerd.sock " &&
      kill -KILL "${p#/proc/}" 2>/dev/null
  done
  # Mounts left under the work directory (overlay rootfs, shm), deepest first.
  awk -v w="$DK_WORK/" 'index($5, w) == 1 {print $5}' /proc/self/mountinfo | sort -r |
    while read -r m; do umount -l "$m" 2>/dev/null; done
  rm -rf --one-file-system "$DK_WORK"
  rmdir "/run/containerd/runc/$DK_NS" 2>/dev/null
  DK_WORK=
  return 0
}

# dk_build_base TAG RINIT TESTPROG : the test image, FROM scratch: the static busybox with
# its applets in /bin, rinit and testprog in /usr/bin, passwd and group files, CMD rinit.
dk_build_base() {
  local tag=$1 ctx=$DK_WORK/base
  local root=$ctx/root
  rootfs_busybox "$root" "$2" "$3"
  cat >"$ctx/Dockerfile" <<'EOF'
FROM scratch
COPY root/ /
ENV PATH=/usr/bin:/bin
CMD ["/usr/bin/rinit"]
EOF
  dk build -q --network none -t "$tag" "$ctx" >"$ctx.log" 2>&1 || { cat "$ctx.log" >&2; return 1; }
}

# dk_ptyrun WAIT_FOR SEND TIMEOUT_S CMD... : runs CMD on a new pseudo-terminal, as a user
# at a terminal would; writes SEND (e.g. '\x03', Ctrl-C) once WAIT_FOR has appeared in its
# output. Prints the output; returns CMD's exit status.
dk_ptyrun() {
  python3 - "$@" <<'PY'
import os, pty, select, sys, time
wait_for = sys.argv[1].encode()
send = sys.argv[2].encode().decode("unicode_escape").encode("latin-1")
timeout, cmd = float(sys.argv[3]), sys.argv[4:]
pid, fd = pty.fork()
if pid == 0:
    os.execvp(cmd[0], cmd)
out, sent, deadline = b"", False, time.monotonic() + timeout
while time.monotonic() < deadline:
    ready, _, _ = select.select([fd], [], [], 0.05)
    if ready:
        try:
            data = os.read(fd, 4096)
        except OSError:  # EIO: the other side is closed
            break
        if not data:
            break
        out += data
    if not sent and wait_for in out:
        os.write(fd, send)
        sent = True
sys.stdout.write(out.decode(errors="replace"))
sys.stdout.flush()
if time.monotonic() >= deadline:
    print("ptyrun: timed out", file=sys.stderr)
    os.kill(pid, 9)
_, status = os.waitpid(pid, 0)
sys.exit(os.waitstatus_to_exitcode(status) if os.WIFEXITED(status) else 128 + os.WTERMSIG(status))
PY
}
