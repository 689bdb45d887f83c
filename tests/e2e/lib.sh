#  lib.sh - helpers for end-to-end tests: start the real programs on
#  127.0.0.1 with free ports in the test's temp dir, bounded waits, and
#  cleanup that kills and reaps by PID whatever the test started.
#  Sourced by tests/e2e/run; each test runs in its own subshell with $T.

ZJ_PIDS=()

zj_track() { ZJ_PIDS+=("$1"); }

zj_cleanup() {
    local pid
    for pid in "${ZJ_PIDS[@]}"; do kill -TERM "$pid" 2>/dev/null; done
    for _ in $(seq 30); do
        local alive=0
        for pid in "${ZJ_PIDS[@]}"; do
            kill -0 "$pid" 2>/dev/null && alive=1
        done
        [ "$alive" = 0 ] && break
        sleep 0.1
    done
    for pid in "${ZJ_PIDS[@]}"; do
        kill -KILL "$pid" 2>/dev/null
        wait "$pid" 2>/dev/null
    done
    ZJ_PIDS=()
}

fail() { echo "    FAIL: $*" >&2; exit 1; }

#  wait_until SECONDS COMMAND...: runs COMMAND every 0.1 s until it
#  succeeds; fails the test after SECONDS.
wait_until() {
    local limit=$1; shift
    local deadline=$(( $(date +%s%N) + limit * 1000000000 ))
    until "$@" >/dev/null 2>&1; do
        [ "$(date +%s%N)" -lt "$deadline" ] || fail "timed out after ${limit}s: $*"
        sleep 0.1
    done
}

zj() { "$ZJ_BIN/zjob" "$@"; }

#  value_is OP VALUE COMMAND...: test's OP between COMMAND's output and
#  VALUE. COMMAND runs on each call, so wait_until can poll it:
#  wait_until 10 value_is = 2 sql "select count(*) from jobs"
value_is() { test "$("${@:3}")" "$1" "$2"; }
sql() { sqlite3 -cmd ".timeout 5000" "$T/zjob.db" "$@"; }

#  start_coordinator [FLAGS...]: on two free ports; exports
#  ZJOB_COORDINATOR and WORKERS_EP.
start_coordinator() {
    if [ -z "${CLIENTS_PORT:-}" ]; then
        local ports; ports=$("$ZJ_BIN/freeport" 2)
        CLIENTS_PORT=$(echo "$ports" | sed -n 1p)
        WORKERS_PORT=$(echo "$ports" | sed -n 2p)
    fi
    export ZJOB_COORDINATOR="tcp://127.0.0.1:$CLIENTS_PORT"
    WORKERS_EP="tcp://127.0.0.1:$WORKERS_PORT"
    "$ZJ_BIN/zjob-coordinator" --clients "$ZJOB_COORDINATOR" \
        --workers "$WORKERS_EP" --db "$T/zjob.db" --heartbeat 500ms "$@" \
        >>"$T/coordinator.log" 2>&1 &
    COORDINATOR_PID=$!
    zj_track "$COORDINATOR_PID"
    wait_until 10 zj workers
}

stop_coordinator() {
    kill -TERM "$COORDINATOR_PID" 2>/dev/null
    wait "$COORDINATOR_PID" 2>/dev/null
}

worker_is_connected() {
    [ "$(sql "select state from workers where name='$1'")" = connected ]
}

#  start_worker NAME [FLAGS...]: logs to $T/NAME.log; waits until the
#  coordinator lists it as connected.
start_worker() {
    local name=$1; shift
    "$ZJ_BIN/zjob-worker" --connect "$WORKERS_EP" --name "$name" "$@" \
        >>"$T/$name.log" 2>&1 &
    local pid=$!
    zj_track "$pid"
    eval "WORKER_PID_${name//-/_}=$pid"
    wait_until 10 worker_is_connected "$name"
}

start_httpd() {
    "$ZJ_BIN/httpd" "$T/httpd.port" >"$T/httpd.log" 2>&1 &
    zj_track $!
    wait_until 5 test -s "$T/httpd.port"
    HTTP_PORT=$(cat "$T/httpd.port")
}

assert_eq() {
    [ "$1" = "$2" ] || fail "${3:-values differ}: expected '$2', got '$1'"
}

#  refute WHAT COMMAND...: fails the test with WHAT when COMMAND succeeds,
#  for what must not happen: refute "w1 reconnected" grep -q lost w1.log
refute() {
    local what=$1; shift
    ! "$@" || fail "$what: '$*' succeeded"
}
