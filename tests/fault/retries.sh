#  retries.sh - failed attempts are retried with backoff, each attempt's
#  error is kept, and errors retrying cannot fix are not retried.

test_fault_retry_until_success() {
    start_coordinator
    start_worker w1 --plugin "$ZJ_BIN/test_plugin.so"
    id=$(zj submit flaky "{\"path\": \"$T/flaky.seen\"}" --retries 3 --backoff 100ms)
    zj wait "$id" | grep -q recovered || fail "flaky job did not recover"
    assert_eq "$(sql "select attempts from jobs where id=$id")" 2 "attempts"
    assert_eq "$(sql "select state || ':' || error from attempts where job_id=$id and attempt=1")" \
        "failed:flaky: first attempt fails" "first attempt kept"
    assert_eq "$(sql "select state from attempts where job_id=$id and attempt=2")" succeeded "second attempt"
    assert_eq "$(sql "select backoff_ms from jobs where id=$id")" 100 "backoff stored"
}

test_fault_retries_exhausted_keep_every_error() {
    start_coordinator
    start_worker w1 --cpu-procs 1 --plugin "$ZJ_BIN/test_plugin.so"
    id=$(zj submit crash --retries 2 --backoff 50ms)
    zj wait "$id" >out; assert_eq "$?" 1 "wait on a job that always crashes"
    assert_eq "$(sql "select state || ' ' || attempts from jobs where id=$id")" "failed 3" "final state"
    sql "select error from jobs where id=$id" | grep -q SIGSEGV || fail "last error kept"
    assert_eq "$(sql "select count(*) from attempts where job_id=$id and error like '%SIGSEGV%'")" 3 \
        "every attempt's error kept"
    # Exponential backoff: the gap before the third attempt is the longer.
    gaps=$(sql "select (select started_at from attempts where job_id=$id and attempt=3)
                     - (select finished_at from attempts where job_id=$id and attempt=2)
                     > (select started_at from attempts where job_id=$id and attempt=2)
                     - (select finished_at from attempts where job_id=$id and attempt=1)")
    assert_eq "$gaps" 1 "backoff doubled"
}

test_fault_timeouts_are_retried() {
    start_coordinator
    start_worker w1
    id=$(zj submit sleep '{"seconds": 5}' --timeout 200ms --retries 1 --backoff 50ms)
    zj wait "$id" >out; assert_eq "$?" 1 "wait"
    assert_eq "$(sql "select attempts from jobs where id=$id")" 2 "timeout retried once"
    assert_eq "$(sql "select count(*) from attempts where job_id=$id and error='timeout after 200 ms'")" 2 \
        "both attempts timed out"
}

test_fault_bad_args_are_not_retried() {
    start_coordinator
    start_worker w1 --cpu-procs 1
    io=$(zj submit sleep '{"seconds": "soon"}' --retries 3)
    cpu=$(zj submit sha256 '{"rounds": 1}' --retries 3)
    zj gather "$io" "$cpu" >out; assert_eq "$?" 1 "gather"
    assert_eq "$(sql "select group_concat(attempts) from jobs")" "1,1" "one attempt each"
    assert_eq "$(sql "select count(*) from jobs where state='failed' and error like 'bad args%'")" 2 "errors"
}
