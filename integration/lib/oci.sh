# Functions to run a static binary as PID 1 of a real OCI container with runc, the way
# `docker run` / `docker stop` would, without a Docker engine. Source this file.
#
# Needs root, runc, busybox-static (integration/test installs them) and python3.

oci_require() {
  [ "$(id -u)" = 0 ] || { echo "oci: runc tests need root" >&2; return 1; }
  command -v runc >/dev/null || { echo "oci: runc is missing (apt-get install runc)" >&2; return 1; }
  dpkg-query -W -f='${Status}' busybox-static 2>/dev/null | grep -q "ok installed" ||
    { echo "oci: the static busybox is missing (apt-get install busybox-static)" >&2; return 1; }
}

# oci_bundle DIR ARGS... : a busybox rootfs holding rinit as /usr/bin/rinit and testprog
# as /usr/bin/testprog, with ARGS as the container's process (Docker's ENTRYPOINT+CMD).
oci_bundle() {
  local dir=$1; shift
  local root=$dir/rootfs
  rootfs_busybox "$root" "$RINIT_STATIC" "$TESTPROG_STATIC"
  mkdir -p "$root"/{proc,sys,dev}
  runc spec --bundle "$dir"
  python3 - "$dir/config.json" "$@" <<'PY'
import json, sys
path, args = sys.argv[1], sys.argv[2:]
config = json.load(open(path))
process = config["process"]
process["terminal"] = False
process["args"] = args
process["env"] = ["PATH=/usr/bin:/bin", "HOSTNAME=ctr"]
process["noNewPrivileges"] = False
# Docker's default capabilities (runc's default spec grants fewer).
caps = ["CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_FSETID", "CAP_FOWNER", "CAP_MKNOD",
        "CAP_NET_RAW", "CAP_SETGID", "CAP_SETUID", "CAP_SETFCAP", "CAP_SETPCAP",
        "CAP_NET_BIND_SERVICE", "CAP_SYS_CHROOT", "CAP_KILL", "CAP_AUDIT_WRITE"]
process["capabilities"] = {k: caps for k in ("bounding", "effective", "permitted")}
config["root"]["readonly"] = False
config["hostname"] = "ctr"
json.dump(config, open(path, "w"), indent=1)
PY
}

# oci_start DIR ID : `runc run` in the foreground (its exit status is PID 1's, 128+N when
# PID 1 is killed by signal N), as a background job of this shell. Output goes to
# DIR/stdout and DIR/stderr, like `docker logs`. Sets RUNC_PID; waits for PID 1 to exist.
oci_start() {
  local dir=$1 id=$2
  runc --root "$dir/state" run --bundle "$dir" --pid-file "$dir/pid" "$id" \
    </dev/null >"$dir/stdout" 2>"$dir/stderr" &
  RUNC_PID=$!
  wait_until 10 "[ -s '$dir/pid' ] || ! kill -0 $RUNC_PID 2>/dev/null" || {
    echo "oci: container $id did not start" >&2; cat "$dir/stderr" >&2; return 1; }
}

oci_pid1() { cat "$1/pid"; }                   # PID 1's pid on the host
oci_kill() { runc --root "$1/state" kill "$2" "$3"; }   # docker kill -s SIG / docker stop's first step
oci_exec() { local dir=$1 id=$2; shift 2; runc --root "$dir/state" exec "$id" "$@"; }

# oci_wait TIMEOUT_S : waits for `runc run` to return; sets OCI_RC to PID 1's status.
oci_wait() {
  wait_until "$1" "! kill -0 $RUNC_PID 2>/dev/null" || return 1
  OCI_RC=0; wait "$RUNC_PID" || OCI_RC=$?
}

# oci_stop DIR ID TIMEOUT_S : docker stop: SIGTERM, wait TIMEOUT_S, then SIGKILL.
oci_stop() {
  oci_kill "$1" "$2" TERM
  if ! oci_wait "$3"; then
    oci_kill "$1" "$2" KILL
    oci_wait 10
  fi
}

oci_cleanup() {
  local dir=$1 id=$2
  runc --root "$dir/state" delete --force "$id" >/dev/null 2>&1 || true
  rm -rf "$dir"
}

# wait_until TIMEOUT_S CONDITION : polls a shell condition every 10 ms.
wait_until() {
  local deadline=$(( $(date +%s%N) + $1 * 1000000000 ))
  until eval "$2"; do
    [ "$(date +%s%N)" -lt "$deadline" ] || return 1
    sleep 0.01
  done
}
