#  daytwo.sh - zjob retry, zjob stats, zjob jobs' filters and paging.

#  A failed job retried runs again as a new job that names it; the old
#  job stays failed.
test_retry_a_failed_job_runs_it_again() {
    start_coordinator
    start_worker w1 --allow-exec
    old=$(zj submit --priority 3 --timeout 30s exec \
        "{\"argv\": [\"sh\", \"-c\", \"test -e $T/ok\"]}")
    refute "the first run succeeded" zj wait "$old" >/dev/null
    assert_eq "$(sql "select state from jobs where id = $old")" failed "the first run"
    touch "$T/ok"
    new=$(zj retry "$old") || fail "retry exited $?"
    [ "$new" -gt "$old" ] || fail "retry printed '$new'"
    zj wait "$new" >/dev/null || fail "the retry failed"
    assert_eq "$(sql "select state from jobs where id = $old")" failed "the old job after the retry"
    assert_eq "$(sql "select retry_of, priority, timeout_ms, kind from jobs where id = $new")" \
        "$old|3|30000|exec" "the new job's row"
    zj status "$new" | grep -q "^retry_of: *$old$" || fail "status: $(zj status "$new")"
    zj status --json "$new" | grep -q "\"retry_of\": *$old" || fail "status --json"
    #  The ids of stdin, and gather of what retry prints.
    echo "$old" | zj retry - | zj gather - >out || fail "retry - | gather -"
    assert_eq "$(sql "select count(*) from jobs where retry_of = $old")" 2 "two retries of $old"
}

#  A retry of a job still queued, running or succeeded, or of an unknown
#  id, is refused whole: nothing is made.
test_retry_refuses_unfinished_succeeded_and_unknown() {
    start_coordinator
    start_worker w1
    running=$(zj submit sleep '{"seconds": 30}')
    wait_until 10 value_is = running sql "select state from jobs where id = $running"
    done_id=$(zj submit echo '{"a": 1}')
    zj wait "$done_id" >/dev/null || fail "echo failed"
    cancelled=$(zj submit --delay 1h echo '{"b": 2}')
    zj cancel "$cancelled" >/dev/null
    before=$(sql "select count(*) from jobs")
    zj retry "$cancelled" "$running" >out 2>err
    assert_eq "$?" 1 "retry of a running job"
    grep -q "job $running is running: only a failed or cancelled job" err || fail "stderr: $(cat err)"
    assert_eq "$(cat out)" "" "stdout of a refused retry"
    zj retry "$done_id" 2>err
    assert_eq "$?" 1 "retry of a succeeded job"
    grep -q "job $done_id is succeeded" err || fail "stderr: $(cat err)"
    zj retry 99999 2>err
    assert_eq "$?" 2 "retry of an unknown id"
    grep -q "no such job 99999" err || fail "stderr: $(cat err)"
    zj retry abc 2>/dev/null
    assert_eq "$?" 2 "retry of a bad id"
    assert_eq "$(sql "select count(*) from jobs")" "$before" "jobs made by refused retries"
    #  A cancelled job's retry keeps its kind and args but not its delay.
    new=$(zj retry "$cancelled") || fail "retry of a cancelled job exited $?"
    zj wait "$new" | grep -q '"b": *2' || fail "the cancelled job's retry"
    assert_eq "$(sql "select state from jobs where id = $cancelled")" cancelled "the cancelled job"
}
