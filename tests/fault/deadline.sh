#  deadline.sh - fault tests of the coordinator's own deadlines: a worker
#  that takes jobs and never answers them (bin/zjmute, which claims
#  100,000 slots and beats its heart) holds a job with a timeout no longer
#  than its timeout plus the grace (3 heartbeats by default: 1.5 s with
#  lib.sh's 500 ms). Then the attempt is failed in the store, the worker
#  is told to cancel it, and what it sends later is dropped.

#  start_mute NAME [FLAGS...]: bin/zjmute as worker NAME, printing what it
#  gets to $T/NAME.out; waits until the coordinator lists it.
start_mute() {
    local name=$1; shift
    "$ZJ_BIN/zjmute" "$@" "$WORKERS_EP" "$name" >"$T/$name.out" 2>&1 &
    zj_track $!
    eval "MUTE_PID_$name=$!"
    wait_until 10 worker_is_connected "$name"
}

job_state() { sql "select state from jobs where id = $1"; }

#  attempt_rows ID: "attempt|worker|state|error" per attempt of job ID.
attempt_rows() {
    sql "select attempt, worker, state, error from attempts
         where job_id = $1 order by attempt"
}

test_fault_deadline_fails_a_job_its_worker_never_answers() {
    start_coordinator
    start_mute mute
    local id untimed
    id=$(zj submit sleep '{"seconds": 30}' --timeout 1s) || fail "submit"
    untimed=$(zj submit sleep '{"seconds": 30}') || fail "submit untimed"
    wait_until 10 grep -q "^JOBS $untimed " "$T/mute.out"
    grep -q "^JOBS $id 1 1000$" "$T/mute.out" || fail "mute never got job $id"
    #  Without the coordinator's deadline it stayed running for ever.
    wait_until 15 value_is = failed job_state "$id"
    wait_until 5 grep -q "^CANCEL $id$" "$T/mute.out"
    local rows; rows=$(attempt_rows "$id")
    case $rows in
    "1|mute|failed|timed out: no result from worker mute 1.5 s after its 1 s timeout") ;;
    *) fail "attempts of job $id: '$rows'" ;;
    esac
    assert_eq "$(sql "select error from jobs where id = $id")" \
        "timed out: no result from worker mute 1.5 s after its 1 s timeout" \
        "the job's error"
    local out; out=$(zj wait "$id" 2>&1) && fail "wait exited 0: $out"
    #  A job without a timeout has no coordinator deadline.
    assert_eq "$(job_state "$untimed")" running "the job without a timeout"
    refute "the job without a timeout was cancelled" \
        grep -q "^CANCEL $untimed$" "$T/mute.out"
}

test_fault_deadline_grace_is_a_flag() {
    "$ZJ_BIN/zjob-coordinator" --help | grep -q -- "--timeout-grace DUR" \
        || fail "--help does not name --timeout-grace"
    "$ZJ_BIN/zjob-coordinator" --timeout-grace soon 2>err
    assert_eq "$?" 2 "exit of a bad --timeout-grace"
    grep -q -- "--timeout-grace takes 0..24h" err || fail "usage: $(cat err)"
    start_coordinator --timeout-grace 200ms
    start_mute mute
    local id; id=$(zj submit sleep '{"seconds": 30}' --timeout 300ms) \
        || fail "submit"
    wait_until 15 value_is = failed job_state "$id"
    assert_eq "$(sql "select error from attempts where job_id = $id")" \
        "timed out: no result from worker mute 0.2 s after its 0.3 s timeout" \
        "the attempt's error"
}

#  With a retry left, the expired attempt is retried, never on the worker
#  that still holds it: the honest worker runs it.
test_fault_deadline_retries_on_another_worker() {
    start_coordinator
    start_mute mute
    local id
    id=$(zj submit sleep '{"seconds": 0.2}' --timeout 1s --retries 1) \
        || fail "submit"
    wait_until 10 grep -q "^JOBS $id 1 1000$" "$T/mute.out"
    start_worker w1
    local out; out=$(timeout 30 "$ZJ_BIN/zjob" wait "$id" 2>&1) \
        || fail "wait exited $?: $out"
    local rows; rows=$(attempt_rows "$id" | tr '\n' ';')
    case $rows in
    "1|mute|failed|timed out: no result from worker mute "*"2|w1|succeeded|;") ;;
    *) fail "attempts of job $id: '$rows'" ;;
    esac
    grep -q "^CANCEL $id$" "$T/mute.out" || fail "mute not told to cancel"
    refute "the retry went back to mute" grep -q "^JOBS $id 2 " "$T/mute.out"
}

#  A result that comes after the deadline is stale: dropped and logged,
#  the job stays failed with one attempt.
test_fault_deadline_drops_the_late_result() {
    start_coordinator
    start_mute mute -l 3000
    local id
    id=$(zj submit sleep '{"seconds": 0.1}' --timeout 1s) || fail "submit"
    wait_until 15 grep -q "^LATE $id 1$" "$T/mute.out"
    wait_until 5 grep -q "result dropped id=$id attempt=1 worker=mute" \
        "$T/coordinator.log"
    assert_eq "$(job_state "$id")" failed "the job after its late result"
    assert_eq "$(sql "select count(*) from attempts where job_id = $id")" 1 \
        "attempts of job $id"
    assert_eq "$(sql "select count(*) from jobs where result is not null")" 0 \
        "results stored"
}

#  A coordinator restarted under a running job queues it again: its next
#  dispatch starts a new attempt with a new deadline, which holds too.
#  sent_times N PATTERN: zjmute printed PATTERN N times.
sent_times() { [ "$(grep -c "$2" "$T/mute.out")" = "$1" ]; }

test_fault_deadline_holds_after_a_restart() {
    start_coordinator
    start_mute mute
    local id
    id=$(zj submit sleep '{"seconds": 30}' --timeout 2s) || fail "submit"
    wait_until 10 grep -q "^JOBS $id 1 2000$" "$T/mute.out"
    stop_coordinator
    assert_eq "$(job_state "$id")" running "the job when the coordinator stopped"
    start_coordinator
    #  zjmute says HELLO again when the new coordinator does not know it;
    #  the job goes on with its attempt, under a new deadline.
    wait_until 10 sent_times 2 "^JOBS $id 1 2000$"
    wait_until 15 value_is = failed job_state "$id"
    wait_until 5 grep -q "^CANCEL $id$" "$T/mute.out"
    assert_eq "$(sql "select attempt || '|' || state || '|' || error from attempts
                      where job_id = $id")" \
        "1|failed|timed out: no result from worker mute 1.5 s after its 2 s timeout" \
        "the one attempt"
}
