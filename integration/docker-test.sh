#!/usr/bin/env bash
# rinit inside a real Docker engine, driven the way users drive it: docker run, stop,
# logs, --restart, --init, -it, a hardened run, and STOPSIGNAL from a Dockerfile.
#
# The script starts its own engine (integration/lib/docker.sh: own containerd and dockerd,
# own sockets and data root, no bridge, no iptables) and stops it at the end. Nothing is
# pulled: the image is built FROM scratch from the static rinit and testprog and the
# static busybox. Every container runs with --network none.
#
# Usage: integration/docker-test.sh   (as root, after the static build; see integration/test)
#   RINIT_STATIC_DIR=DIR   where rinit and examples/testprog are
#                          (default: target/x86_64-unknown-linux-musl/release)
#   DK_STORAGE_DRIVERS     storage drivers to try, in order (default: "overlay2 vfs")

# Conditions are passed to check and dk_wait_until as strings, evaluated later:
# shellcheck disable=SC2016,SC2317
set -uo pipefail
cd "$(dirname "$0")/.." || exit 1
source integration/lib/rootfs.sh
source integration/lib/docker.sh

BIN_DIR=${RINIT_STATIC_DIR:-$PWD/target/x86_64-unknown-linux-musl/release}
RINIT_STATIC=$BIN_DIR/rinit
TESTPROG_STATIC=$BIN_DIR/examples/testprog
IMAGE=rinit-test:base
PASSED=0 FAILED=0
CIDS=()

CASES=(
  "supervise: docker stop stops programs in reverse priority, exits 0, quickly|case_supervise_stop"
  "supervise: docker stop -t 2, a program ignores SIGTERM: rinit SIGKILLs it first, 137|case_grace_kill"
  "supervise: a FATAL program ends the container with its code; --restart on-failure:2|case_fatal_restart"
  "supervise: docker logs has whole, prefixed lines, none lost|case_logs_lines"
  "hardened run (read-only, nobody, no caps, no-new-privileges): both modes work|case_hardened"
  "docker run --init: rinit under docker-init reaps orphans, docker stop works|case_docker_init"
  "docker run -it: Ctrl-C on the terminal reaches the program, its code comes back|case_tty_ctrl_c"
  "STOPSIGNAL SIGINT in the Dockerfile: docker stop is a graceful stop, exit 0|case_stopsignal_sigint"
)

fail_all() {   # the engine or the image is not there: every case fails, none is skipped
  local c
  for c in "${CASES[@]}"; do
    echo "FAIL ${c%%|*} ($1)"
    FAILED=$((FAILED + 1))
  done
  echo "docker: $PASSED passed, $FAILED failed"
  exit 1
}

dk_require || fail_all "requirements missing"
for bin in "$RINIT_STATIC" "$TESTPROG_STATIC"; do
  [ -x "$bin" ] || { echo "docker: missing $bin: build it first (integration/test does)" >&2; fail_all "no static build"; }
done

# Under /var/lib, not /tmp: /tmp may be a small tmpfs, or mounted noexec.
WORK=$(mktemp -d /var/lib/rinit-docker.XXXXXX)
trap 'dk_engine_stop' EXIT
trap 'exit 130' INT TERM
dk_engine_start "$WORK" || fail_all "the Docker engine did not start"
dk_build_base "$IMAGE" "$RINIT_STATIC" "$TESTPROG_STATIC" || fail_all "the test image did not build"
CONF=$WORK/conf
mkdir -p "$CONF"

# Three priority levels of programs that print `got SIGTERM` and exit 0 on SIGTERM.
cat >"$CONF/three-levels.toml" <<'EOF'
[program.db]
priority = 10
startsecs = "200ms"
command = "testprog report"

[program.app]
priority = 20
startsecs = "200ms"
command = "testprog report"

[program.web]
priority = 30
startsecs = "200ms"
command = "testprog report"
EOF
chmod 0644 "$CONF/three-levels.toml"

# ---- helpers ----------------------------------------------------------------------------

# start_ctr VAR DOCKER-RUN-ARGS... : docker run -d --network none ARGS; the id goes to VAR.
start_ctr() {
  local var=$1 id; shift
  id=$(dk run -d --network none "$@") || { echo "    FAILED: docker run -d $*"; return 1; }
  CIDS+=("$id")
  printf -v "$var" %s "$id"
}
out_of() { dk logs "$1" 2>/dev/null; }            # the container's stdout
# shellcheck disable=SC2069   # on purpose: the stderr alone, to stdout
err_of() { dk logs "$1" 2>&1 >/dev/null; }        # the container's stderr
exit_code() { dk inspect -f '{{.State.ExitCode}}' "$1"; }
state_of() { dk inspect -f '{{.State.Status}} code={{.State.ExitCode}} restarts={{.RestartCount}}' "$1"; }
# wait_log ID out|err EXTENDED-REGEX [TIMEOUT_S] : until a line of that stream matches.
wait_log() {
  dk_wait_until "${4:-20}" "${2}_of '$1' | grep -E '$3' >/dev/null" ||
    { echo "    FAILED: no line matching '$3' on the container's std$2 in ${4:-20} s"; return 1; }
}
# timed_stop ID [ARGS...] : docker stop, its wall time in STOP_MS.
timed_stop() {
  local id=$1 t0; shift
  t0=$(dk_now_ms)
  dk stop "$@" "$id" >/dev/null || echo "    docker stop failed"
  STOP_MS=$(($(dk_now_ms) - t0))
}
# stop_events ID : rinit's stopping/stopped lines, in order: "web stopping,web stopped,..."
stop_events() {
  err_of "$1" | sed -n 's/^rinit *| \([a-z]*\): \(stopping\|stopped\) .*/\1 \2/p' | paste -sd, -
}
check() {   # check DESCRIPTION CONDITION
  eval "$2" && return 0
  echo "    FAILED: $1"
  return 1
}
run_case() {   # run_case NAME FUNCTION
  local name=$1 t0 ms id
  CIDS=()
  t0=$(dk_now_ms)
  if "$2"; then
    ms=$(($(dk_now_ms) - t0))
    echo "PASS $name ($((ms / 1000)).$((ms % 1000 / 100)) s)"
    PASSED=$((PASSED + 1))
  else
    echo "FAIL $name"
    FAILED=$((FAILED + 1))
    for id in "${CIDS[@]}"; do
      echo "    --- container ${id:0:12}: $(state_of "$id" 2>&1)"
      dk logs "$id" 2>&1 | tail -40 | sed 's/^/    | /'
    done
  fi
  [ ${#CIDS[@]} = 0 ] || dk rm -f "${CIDS[@]}" >/dev/null 2>&1
}

# ---- cases ------------------------------------------------------------------------------

case_supervise_stop() {
  local c
  start_ctr c -v "$CONF/three-levels.toml:/etc/rinit.toml:ro" "$IMAGE" || return 1
  wait_log "$c" err '^rinit +\| web: running$' || return 1
  timed_stop "$c"
  local code events sigterms
  code=$(exit_code "$c") events=$(stop_events "$c")
  sigterms=$(out_of "$c" | grep -cE '^(db|app|web) +\| got SIGTERM$')
  check "exit code 0, got $code" '[ "$code" = 0 ]' &&
    check "docker stop took ${STOP_MS} ms, not well under docker's 10 s (< 5 s)" '[ "$STOP_MS" -lt 5000 ]' &&
    check "stopped in reverse priority, one level after the other; got: $events" \
      '[ "$events" = "web stopping,web stopped,app stopping,app stopped,db stopping,db stopped" ]' &&
    check "each program got SIGTERM (3), got $sigterms" '[ "$sigterms" = 3 ]' &&
    check "rinit's last line" '[ "$(err_of "$c" | tail -1)" = "rinit | exiting with code 0" ]'
}

case_grace_kill() {
  cat >"$CONF/stubborn.toml" <<'EOF'
[rinit]
grace = "1s"

[program.stubborn]
startsecs = 0
command = "testprog ignore-term"
EOF
  chmod 0644 "$CONF/stubborn.toml"
  local c
  start_ctr c -v "$CONF/stubborn.toml:/etc/rinit.toml:ro" "$IMAGE" || return 1
  wait_log "$c" out '^stubborn +\| ready$' || return 1
  timed_stop "$c" -t 2
  local code err
  # shellcheck disable=SC2034   # err is read by the checks' conditions
  code=$(exit_code "$c") err=$(err_of "$c")
  check "exit code 137, got $code" '[ "$code" = 137 ]' &&
    check "rinit waited its 1 s grace (docker stop took ${STOP_MS} ms)" '[ "$STOP_MS" -ge 1000 ]' &&
    check "rinit says it SIGKILLed at its grace deadline" \
      'grep -qxE "rinit +\| grace period \(1s\) over: sending SIGKILL to everything" <<<"$err"' &&
    check "the program died of rinit's SIGKILL" 'grep -qxE "rinit +\| stubborn: stopped \(signal SIGKILL\)" <<<"$err"' &&
    check "rinit exited on its own with 137 (docker's SIGKILL at 2 s did not cut it short)" \
      'grep -qxE "rinit +\| exiting with code 137" <<<"$err"'
}

case_fatal_restart() {
  cat >"$CONF/fatal.toml" <<'EOF'
[program.web]
command = "testprog sleep"
startsecs = 0

[program.flaky]
command = ["sh", "-c", "echo flaky runs; exit 5"]
startretries = 1
backoff = "100ms"
EOF
  chmod 0644 "$CONF/fatal.toml"
  local c
  start_ctr c --restart on-failure:2 -v "$CONF/fatal.toml:/etc/rinit.toml:ro" "$IMAGE" || return 1
  local final='[ "$(dk inspect -f "{{.RestartCount}} {{.State.Status}} {{.State.ExitCode}}" "$c")" = "2 exited 5" ]'
  check "the container ends for good after 2 restarts with flaky's code 5" \
    "dk_wait_until 30 '$final'" || return 1
  local fatal exits
  fatal=$(err_of "$c" | grep -cxE 'rinit +\| flaky: gave up \(FATAL\)')
  exits=$(err_of "$c" | grep -cxE 'rinit +\| exiting with code 5')
  check "3 runs, each with flaky FATAL and rinit exiting 5; got $fatal FATAL, $exits exits" \
    '[ "$fatal" = 3 ] && [ "$exits" = 3 ]'
}

case_logs_lines() {
  local n=3000 payload
  payload=$(printf '%.0s0123456789' {1..12})
  cat >"$CONF/lines.toml" <<EOF
[program.alpha]
command = ["sh", "-c", 'i=0; while [ \$i -lt $n ]; do echo "alpha line \$i $payload"; i=\$((i+1)); done; exec testprog sleep']

[program.beta]
command = ["sh", "-c", 'i=0; while [ \$i -lt $n ]; do echo "beta line \$i $payload" >&2; i=\$((i+1)); done; exec testprog sleep']
EOF
  chmod 0644 "$CONF/lines.toml"
  local c
  start_ctr c -v "$CONF/lines.toml:/etc/rinit.toml:ro" "$IMAGE" || return 1
  wait_log "$c" out '^alpha +\| ready$' && wait_log "$c" out '^beta +\| ready$' || return 1
  timed_stop "$c"
  local code; code=$(exit_code "$c")
  check "exit code 0, got $code" '[ "$code" = 0 ]' || return 1
  out_of "$c" >"$WORK/lines.out"; err_of "$c" >"$WORK/lines.err"
  local bad_out bad_err
  bad_out=$(grep -cvE '^(alpha|beta|rinit) +\| ' "$WORK/lines.out")
  bad_err=$(grep -cvE '^(alpha|beta|rinit) +\| ' "$WORK/lines.err")
  # in_order FILE REGEX: the numbers captured by REGEX on the whole lines are 0..n-1.
  in_order() {
    sed -nE "s/$2/\\1/p" "$1" | awk -v n="$n" 'NR - 1 != $1 {bad = 1} END {exit bad || NR != n}'
  }
  check "every stdout line is prefixed ($bad_out are not)" '[ "$bad_out" = 0 ]' &&
    check "every stderr line is prefixed ($bad_err are not)" '[ "$bad_err" = 0 ]' &&
    check "stdout: alpha's $n lines whole, in order, exactly once" \
      "in_order '$WORK/lines.out' '^alpha +\\| alpha line ([0-9]+) $payload\$'" &&
    check "stderr: beta's $n lines whole, in order, exactly once" \
      "in_order '$WORK/lines.err' '^beta +\\| beta line ([0-9]+) $payload\$'" &&
    check "stdout and stderr kept apart" \
      '! grep -q "beta line" "$WORK/lines.out" && ! grep -q "alpha line" "$WORK/lines.err"' &&
    check "exactly $n alpha lines and $n beta lines" \
      "[ \$(grep -c 'alpha line' '$WORK/lines.out') = $n ] && [ \$(grep -c 'beta line' '$WORK/lines.err') = $n ]"
}

case_hardened() {
  local hard=(--read-only --tmpfs /tmp --user 65534:65534 --cap-drop ALL --security-opt no-new-privileges)
  cat >"$CONF/hardened.toml" <<'EOF'
[program.setup]
type = "oneshot"
priority = 1
command = ["sh", "-c", 'echo "setup uid $(id -u)" && echo tmp-ok >/tmp/setup && cat /tmp/setup']

[program.app]
priority = 2
startsecs = "200ms"
command = "testprog report"
EOF
  chmod 0644 "$CONF/hardened.toml"
  # Supervise mode.
  local s
  start_ctr s "${hard[@]}" -v "$CONF/hardened.toml:/etc/rinit.toml:ro" "$IMAGE" || return 1
  wait_log "$s" err '^rinit +\| app: running$' || return 1
  timed_stop "$s"
  local code; code=$(exit_code "$s")
  check "supervise: the oneshot ran as nobody and wrote to the tmpfs" \
    'out_of "$s" | grep -xE "setup +\| setup uid 65534" >/dev/null && out_of "$s" | grep -xE "setup +\| tmp-ok" >/dev/null' &&
    check "supervise: docker stop exits 0, got $code" '[ "$code" = 0 ]' &&
    check "supervise: app got SIGTERM" 'out_of "$s" | grep -xE "app +\| got SIGTERM" >/dev/null' || return 1
  # Single-command mode: docker stop gives the child's code (testprog report exits 0).
  local t
  start_ctr t "${hard[@]}" "$IMAGE" rinit -- testprog report || return 1
  wait_log "$t" out '^ready$' || return 1
  timed_stop "$t"
  code=$(exit_code "$t")
  check "single: docker stop gives the child's code 0, got $code" '[ "$code" = 0 ]' &&
    check "single: the child got SIGTERM" 'out_of "$t" | grep -x "got SIGTERM" >/dev/null' || return 1
  # Single-command mode: the child's exit code.
  local u
  start_ctr u "${hard[@]}" "$IMAGE" rinit -- sh -c 'echo "uid $(id -u)"; exit 7' || return 1
  dk_wait_until 20 '[ "$(dk inspect -f "{{.State.Status}}" "$u")" = exited ]' || { echo "    FAILED: still running"; return 1; }
  code=$(exit_code "$u")
  check "single: the child's exit code 7 comes back, got $code" '[ "$code" = 7 ]' &&
    check "single: the child ran as nobody" 'out_of "$u" | grep -x "uid 65534" >/dev/null'
}

case_docker_init() {
  # Single-command mode: a shell leaves an orphan (testprog sleep), then testprog makes 50
  # more that exit at once. rinit, a subreaper under docker-init, must adopt and reap them.
  local c
  start_ctr c --init "$IMAGE" rinit -- sh -c '(testprog sleep &); exec testprog orphans 50' || return 1
  wait_log "$c" out '^orphans done$' || return 1
  # ps_table: "PID COMM STATE PPID" of every process in the container.
  ps_table() { dk exec "$c" sh -c 'cat /proc/[0-9]*/stat 2>/dev/null' | awk '{print $1, $2, $3, $4}'; }
  tree_ok() {
    local table rinit_pid; table=$(ps_table)
    rinit_pid=$(awk '$2 == "(rinit)" {print $1}' <<<"$table")
    [ "$(awk '$1 == 1 {print $2}' <<<"$table")" = "(docker-init)" ] && [ -n "$rinit_pid" ] &&
      [ "$(awk -v r="$rinit_pid" '$1 == r {print $4}' <<<"$table")" = 1 ] &&
      [ "$(awk -v r="$rinit_pid" '$2 == "(testprog)" && $4 == r' <<<"$table" | wc -l)" = 2 ] &&
      [ "$(awk '$3 == "Z"' <<<"$table" | wc -l)" = 0 ]
  }
  check "docker-init is PID 1, rinit its child, the orphan adopted by rinit, no zombie" \
    'dk_wait_until 10 tree_ok' || { ps_table | sed 's/^/    ps: /'; return 1; }
  timed_stop "$c"
  local code; code=$(exit_code "$c")
  check "single: docker stop, SIGTERM through docker-init: the child's 143, got $code" '[ "$code" = 143 ]' &&
    check "docker stop took ${STOP_MS} ms (< 5 s)" '[ "$STOP_MS" -lt 5000 ]' || return 1
  # Supervise mode under docker-init.
  local s
  start_ctr s --init -v "$CONF/three-levels.toml:/etc/rinit.toml:ro" "$IMAGE" || return 1
  wait_log "$s" err '^rinit +\| web: running$' || return 1
  check "docker-init is PID 1" '[ "$(dk exec "$s" cat /proc/1/comm)" = docker-init ]' || return 1
  timed_stop "$s"
  local events; code=$(exit_code "$s") events=$(stop_events "$s")
  check "supervise: docker stop exits 0, got $code" '[ "$code" = 0 ]' &&
    check "supervise: docker stop took ${STOP_MS} ms (< 5 s)" '[ "$STOP_MS" -lt 5000 ]' &&
    check "supervise: stopped in reverse priority; got: $events" \
      '[ "$events" = "web stopping,web stopped,app stopping,app stopped,db stopping,db stopped" ]'
}

case_tty_ctrl_c() {
  local name=rinit-tty-$$ out rc
  CIDS+=("$name")
  # With -t, Ctrl-C is a byte on the terminal: the container's terminal turns it into
  # SIGINT for its foreground process group, the program's (rinit gave it the terminal).
  out=$(dk_ptyrun ready '\x03' 30 docker run -it --name "$name" --network none "$IMAGE" \
    rinit -v -- sh -c 'trap "echo got INT; exit 42" INT; echo ready; while :; do sleep 0.1; done')
  rc=$?
  out=$(tr -d '\r' <<<"$out")
  check "the exit code 42 comes back through docker run -it, got $rc" '[ "$rc" = 42 ]' &&
    check "the program got SIGINT from the terminal" 'grep -qE "(^|\^C)got INT$" <<<"$out"' &&
    check "from the terminal, not forwarded by rinit" '! grep -q "rinit: received SIGINT" <<<"$out"' &&
    check "rinit reports the child's exit" 'grep -qE "^rinit: child [0-9]+ exited with exit status 42$" <<<"$out"' ||
    { sed 's/^/    tty: /' <<<"$out"; return 1; }
}

case_stopsignal_sigint() {
  local ctx=$WORK/stopsignal
  mkdir -p "$ctx"
  cp "$CONF/three-levels.toml" "$ctx/rinit.toml"
  cat >"$ctx/Dockerfile" <<EOF
FROM $IMAGE
COPY rinit.toml /etc/rinit.toml
RUN ["/usr/bin/rinit", "check"]
STOPSIGNAL SIGINT
CMD ["/usr/bin/rinit"]
EOF
  dk build -q --network none -t rinit-test:stopsignal "$ctx" >"$WORK/build.log" 2>&1 ||
    { echo "    FAILED: docker build"; sed 's/^/    build: /' "$WORK/build.log"; return 1; }
  local sig; sig=$(dk inspect -f '{{.Config.StopSignal}}' rinit-test:stopsignal)
  check "the image's stop signal is SIGINT, got $sig" '[ "$sig" = SIGINT ]' || return 1
  local c
  start_ctr c rinit-test:stopsignal || return 1
  wait_log "$c" err '^rinit +\| web: running$' || return 1
  timed_stop "$c"
  local code events; code=$(exit_code "$c") events=$(stop_events "$c")
  check "docker stop sent SIGINT" 'err_of "$c" | grep -xE "rinit +\| received SIGINT: shutting down" >/dev/null' &&
    check "exit code 0, got $code" '[ "$code" = 0 ]' &&
    check "docker stop took ${STOP_MS} ms (< 5 s)" '[ "$STOP_MS" -lt 5000 ]' &&
    check "stopped gracefully in reverse priority; got: $events" \
      '[ "$events" = "web stopping,web stopped,app stopping,app stopped,db stopping,db stopped" ]' &&
    check "each program got its SIGTERM" '[ "$(out_of "$c" | grep -cE "^(db|app|web) +\| got SIGTERM$")" = 3 ]'
}

for c in "${CASES[@]}"; do
  run_case "${c%%|*}" "${c##*|}"
done
echo "docker: $PASSED passed, $FAILED failed"
[ "$FAILED" = 0 ]
