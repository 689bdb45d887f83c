#  jobs.sh - fault tests: jobs that crash, hang or are cancelled.

test_fault_segfaulting_cpu_job() {
    start_coordinator
    start_worker w1 --cpu-procs 2 --plugin "$ZJ_BIN/test_plugin.so"
    crash=$(zj submit crash)
    zj wait "$crash" >out; assert_eq "$?" 1 "wait on a crashed job"
    sql "select error from jobs where id=$crash" | grep -q SIGSEGV \
        || fail "error does not name the signal: $(sql "select error from jobs where id=$crash")"
    for _ in $(seq 10); do echo '{"kind": "pid"}'; done >batch.jsonl
    zj submit --batch batch.jsonl | zj gather - >results || fail "jobs after the crash"
    assert_eq "$(grep -o '"pid": *[0-9]*' results | sort -u | wc -l)" 2 "two live pool processes"
    kill -0 "$WORKER_PID_w1" || fail "the worker died"
}

test_fault_io_job_timeout_closes_its_child() {
    start_coordinator
    start_worker w1 --allow-exec
    id=$(zj submit exec '{"argv": ["sleep", "30"]}' --timeout 500ms)
    zj wait "$id" >out; assert_eq "$?" 1 "wait on a timed-out job"
    sql "select error from jobs where id=$id" | grep -q "timeout after 500 ms" \
        || fail "error: $(sql "select error from jobs where id=$id")"
    wait_until 5 sh -c "! pgrep -P $WORKER_PID_w1 -x sleep"
}

test_fault_cpu_job_timeout_kills_the_process() {
    start_coordinator
    start_worker w1 --cpu-procs 1
    id=$(zj submit sha256 '{"data": "x", "rounds": 1000000000}' --timeout 300ms)
    zj wait "$id" >out; assert_eq "$?" 1 "wait on a timed-out CPU job"
    sql "select error from jobs where id=$id" | grep -q "timeout after 300 ms" \
        || fail "error: $(sql "select error from jobs where id=$id")"
    id=$(zj submit primes '{"limit": 100}')
    zj wait "$id" | grep -q '"count": *25' || fail "the pool did not recover"
}

test_fault_cancel_running_jobs() {
    start_coordinator
    start_worker w1 --allow-exec --cpu-procs 1
    io=$(zj submit exec '{"argv": ["sleep", "30"]}')
    cpu=$(zj submit sha256 '{"data": "x", "rounds": 1000000000}')
    wait_until 10 value_is = 2 sql "select count(*) from jobs where state='running'"
    zj cancel "$io" "$cpu" >out || fail "cancel exited $?: $(cat out)"
    assert_eq "$(sql "select count(*) from jobs where state='cancelled'")" 2 "cancelled in the store"
    zj gather "$io" "$cpu" >results; assert_eq "$?" 1 "gather of cancelled jobs"
    assert_eq "$(grep -c cancelled results)" 2 "waiters told"
    wait_until 5 sh -c "! pgrep -P $WORKER_PID_w1 -x sleep"
    id=$(zj submit primes '{"limit": 100}')
    zj wait "$id" | grep -q '"count": *25' || fail "the pool did not recover"
}
