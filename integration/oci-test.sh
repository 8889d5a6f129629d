#!/usr/bin/env bash
# rinit as PID 1 of a real OCI container (runc + a busybox rootfs), driven the way Docker
# drives it: `runc run` is `docker run`, `runc kill ID TERM` is `docker stop`'s first step,
# a signal to the foreground runc is `docker run --sig-proxy`.
#
# Usage: integration/oci-test.sh   (after the static build; see integration/test)
set -uo pipefail
cd "$(dirname "$0")/.."
source integration/lib/rootfs.sh
source integration/lib/oci.sh
oci_require || exit 1

TARGET=target/x86_64-unknown-linux-musl/release
RINIT_STATIC=$PWD/$TARGET/rinit
TESTPROG_STATIC=$PWD/$TARGET/examples/testprog
for bin in "$RINIT_STATIC" "$TESTPROG_STATIC"; do
  [ -x "$bin" ] || { echo "missing $bin: build it first (integration/test does)" >&2; exit 1; }
done

WORK=$(mktemp -d /tmp/rinit-oci.XXXXXX)
trap 'rm -rf "$WORK"' EXIT
PASSED=0 FAILED=0

# Each case: DIR, ID, starts the container with the given args, runs its own checks.
setup_case() {
  DIR=$WORK/$1; ID=rinit-$1-$$; shift
  oci_bundle "$DIR" "$@" && oci_start "$DIR" "$ID"
}
# setup_config_case NAME TOML ARGS...: the same, with TOML as the image's /etc/rinit.toml.
setup_config_case() {
  DIR=$WORK/$1; ID=rinit-$1-$$; local toml=$2; shift 2
  oci_bundle "$DIR" "$@" && printf '%s\n' "$toml" >"$DIR/rootfs/etc/rinit.toml" && oci_start "$DIR" "$ID"
}
check() {   # check DESCRIPTION CONDITION
  if eval "$2"; then
    return 0
  fi
  echo "    FAILED: $1"
  echo "    stdout: $(cat "$DIR/stdout" 2>/dev/null)"; echo "    stderr: $(cat "$DIR/stderr" 2>/dev/null)"
  return 1
}
run_case() {   # run_case NAME FUNCTION
  local name=$1
  if "$2"; then
    echo "PASS $name"; PASSED=$((PASSED + 1))
  else
    echo "FAIL $name"; FAILED=$((FAILED + 1))
  fi
  oci_cleanup "$DIR" "$ID"
}

case_exit_code() {
  setup_case exit /usr/bin/rinit -- sh -c 'exit 3' || return 1
  oci_wait 10 && check "exit code 3, got $OCI_RC" '[ "$OCI_RC" = 3 ]'
}

case_missing_command() {
  setup_case missing /usr/bin/rinit -- /no/such/thing || return 1
  oci_wait 10 && check "exit 127, got $OCI_RC" '[ "$OCI_RC" = 127 ]' &&
    check "message" "grep -qx \"rinit: cannot run '/no/such/thing': No such file or directory\" '$DIR/stderr'"
}

case_docker_stop() {
  setup_case stop /usr/bin/rinit -- testprog sleep || return 1
  wait_until 10 "grep -qx ready '$DIR/stdout'" || return 1
  check "rinit is PID 1" '[ "$(oci_exec "$DIR" "$ID" cat /proc/1/comm)" = rinit ]' || return 1
  oci_stop "$DIR" "$ID" 10
  check "exit 143 (child died of SIGTERM), got $OCI_RC" '[ "$OCI_RC" = 143 ]'
}

case_grace_then_kill() {
  setup_case grace /usr/bin/rinit --grace 1s -- testprog ignore-term || return 1
  wait_until 10 "grep -qx ready '$DIR/stdout'" || return 1
  local t0; t0=$(date +%s%N)
  oci_stop "$DIR" "$ID" 10
  local ms=$(( ($(date +%s%N) - t0) / 1000000 ))
  check "exit 137 before docker's 10 s, got $OCI_RC after ${ms}ms" \
    '[ "$OCI_RC" = 137 ] && [ "$ms" -ge 1000 ] && [ "$ms" -lt 9000 ]'
}

case_ctrl_c_twice() {
  setup_case ctrlc /usr/bin/rinit -v --grace 60s -- testprog ignore-term || return 1
  wait_until 10 "grep -qx ready '$DIR/stdout'" || return 1
  kill -INT "$RUNC_PID"     # the foreground runc proxies it to PID 1, like docker run
  wait_until 10 "grep -q 'received SIGINT' '$DIR/stderr'" || { check "first SIGINT seen" false; return 1; }
  kill -INT "$RUNC_PID"
  oci_wait 10 && check "second SIGINT kills at once: exit 137, got $OCI_RC" '[ "$OCI_RC" = 137 ]'
}

case_reaps_exec_orphans() {
  setup_case zombies /usr/bin/rinit -- testprog sleep || return 1
  wait_until 10 "grep -qx ready '$DIR/stdout'" || return 1
  # Orphans of a `docker exec` process are re-parented to PID 1, which must reap them.
  # (stdio detached: runc exec kills what still holds its pipes)
  oci_exec "$DIR" "$ID" sh -c 'for i in 1 2 3 4 5; do sleep 1 </dev/null >/dev/null 2>&1 & done; exit 0' || return 1
  local pid1; pid1=$(oci_pid1 "$DIR")
  children_named() {   # children_named COMM: how many children of PID 1 have that name
    local p n=0
    for p in $(awk -v pp="$pid1" '$4 == pp {print $1}' /proc/[0-9]*/stat 2>/dev/null); do
      [ "$(cat /proc/"$p"/comm 2>/dev/null)" = "$1" ] && n=$((n + 1))
    done
    echo $n
  }
  only_testprog_left() {
    [ "$(awk -v pp="$pid1" '$4 == pp' /proc/[0-9]*/stat 2>/dev/null | wc -l)" = 1 ]
  }
  check "the 5 orphans were re-parented to PID 1" 'wait_until 10 "[ \$(children_named sleep) = 5 ]"' || return 1
  check "no sleep or zombie left under PID 1" 'wait_until 10 only_testprog_left' || return 1
  oci_stop "$DIR" "$ID" 10
  check "exit 143, got $OCI_RC" '[ "$OCI_RC" = 143 ]'
}

case_leftovers_get_sigterm() {
  setup_case leftovers /usr/bin/rinit -- testprog daemon trap /tmp/marker 4 || return 1
  oci_wait 10 && check "exit 4 (the main process's code), got $OCI_RC" '[ "$OCI_RC" = 4 ]' &&
    check "the daemon ran its SIGTERM handler" "grep -qx terminated '$DIR/rootfs/tmp/marker'"
}

case_stray_signals() {
  setup_case strays /usr/bin/rinit -- testprog report || return 1
  wait_until 10 "grep -qx ready '$DIR/stdout'" || return 1
  local sig
  for sig in PIPE TTIN TTOU URG XCPU XFSZ VTALRM PROF IO PWR SYS BUS TRAP ABRT CHLD; do
    oci_kill "$DIR" "$ID" "$sig"
  done
  oci_kill "$DIR" "$ID" HUP
  wait_until 10 "grep -qx 'got SIGHUP' '$DIR/stdout'" || { check "HUP forwarded" false; return 1; }
  oci_stop "$DIR" "$ID" 10
  check "only HUP and TERM reached the child, exit 0, got $OCI_RC" \
    '[ "$OCI_RC" = 0 ] && [ "$(cat "$DIR/stdout" | tr "\n" " ")" = "ready got SIGHUP got SIGTERM " ]'
}

case_supervise_docker_stop() {
  local toml='[program.db]
priority = 1
startsecs = "200ms"
command = "testprog sleep"

[program.web]
priority = 2
startsecs = "200ms"
command = "testprog sleep"'
  setup_config_case supervise "$toml" /usr/bin/rinit || return 1
  wait_until 10 "grep -q 'web: running' '$DIR/stderr'" || { check "web running" false; return 1; }
  oci_stop "$DIR" "$ID" 10
  check "clean docker stop exits 0, got $OCI_RC" '[ "$OCI_RC" = 0 ]' &&
    check "web stops before db" \
      "sed -n 's/.*| \\([a-z]*\\): stopping.*/\\1/p' '$DIR/stderr' | tr '\n' ' ' | grep -qx 'web db '"
}

case_supervise_fatal_exit_code() {
  local toml='[program.web]
command = "testprog sleep"
startsecs = 0

[program.flaky]
command = "sh -c \"exit 5\""
startretries = 1
backoff = "100ms"'
  setup_config_case fatal "$toml" /usr/bin/rinit || return 1
  oci_wait 20 && check "the container exits with flaky's code 5, got $OCI_RC" '[ "$OCI_RC" = 5 ]' &&
    check "flaky gave up" "grep -q 'flaky: gave up (FATAL)' '$DIR/stderr'"
}

run_case "exit code passes through" case_exit_code
run_case "missing command: 127 and a message" case_missing_command
run_case "docker stop: SIGTERM forwarded, exit 143" case_docker_stop
run_case "docker stop: child ignores TERM, SIGKILL after --grace" case_grace_then_kill
run_case "Ctrl-C twice (sig-proxy) kills at once" case_ctrl_c_twice
run_case "orphans of docker exec are reaped" case_reaps_exec_orphans
run_case "leftover processes get SIGTERM before rinit exits" case_leftovers_get_sigterm
run_case "stray signals ignored, HUP forwarded" case_stray_signals
run_case "supervise: docker stop stops in reverse priority, exits 0" case_supervise_docker_stop
run_case "supervise: a FATAL program ends the container with its code" case_supervise_fatal_exit_code

echo "oci: $PASSED passed, $FAILED failed"
[ "$FAILED" = 0 ]
