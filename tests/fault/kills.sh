#  kills.sh - fault tests: real processes killed mid-batch. Each asserts
#  from the store that every submitted job ended with exactly one final
#  state and its result.

#  all_succeeded N: the store holds N jobs, every one succeeded with a
#  result, and none is left unfinished.
all_succeeded() {
    assert_eq "$(sql "select count(*) from jobs")" "$1" "jobs in the store"
    assert_eq "$(sql "select count(*) from jobs where state='succeeded' and result is not null")" \
        "$1" "succeeded with a result"
}

sleep_batch() {
    for _ in $(seq "$1"); do
        echo "{\"kind\": \"sleep\", \"args\": {\"seconds\": $2}}"
    done
}

test_fault_worker_killed_mid_batch() {
    start_coordinator
    start_worker w1
    start_worker w2
    sleep_batch 200 1 >batch.jsonl
    zj submit --batch batch.jsonl >ids
    wait_until 10 test "$(sql "select count(*) from jobs where state='running' and worker='w1'")" -gt 0
    kill -KILL "$WORKER_PID_w1"
    zj gather - <ids >results || fail "gather exited $?"
    assert_eq "$(grep -c '"succeeded"' results)" 200 "results gathered"
    all_succeeded 200
    assert_eq "$(sql "select count(*) from jobs where worker='w1'")" 0 \
        "every job of the killed worker ran again elsewhere"
    [ "$(sql "select count(*) from jobs where attempts=2")" -gt 0 ] || fail "no job was re-run"
    assert_eq "$(sql "select state from workers where name='w1'")" lost "w1 marked lost"
}

test_fault_coordinator_killed_while_gather_waits() {
    start_coordinator
    start_worker w1
    sleep_batch 100 2 >batch.jsonl
    zj submit --batch batch.jsonl >ids
    zj gather - <ids >results 2>gather.err &
    gather=$!
    zj_track "$gather"
    wait_until 10 test "$(sql "select count(*) from jobs where state='running'")" = 100
    kill -KILL "$COORDINATOR_PID"; wait "$COORDINATOR_PID" 2>/dev/null
    start_coordinator
    wait "$gather" || fail "gather exited $? after the restart: $(cat gather.err)"
    assert_eq "$(grep -c '"succeeded"' results)" 100 "results after the restart"
    all_succeeded 100
}

test_fault_worker_sigterm_hands_back_jobs() {
    start_coordinator
    start_worker w1
    start_worker w2
    sleep_batch 100 2 >batch.jsonl
    zj submit --batch batch.jsonl >ids
    wait_until 10 test "$(sql "select count(*) from jobs where state='running' and worker='w1'")" -gt 0
    kill -TERM "$WORKER_PID_w1"
    wait "$WORKER_PID_w1" 2>/dev/null
    zj gather - <ids >results || fail "gather exited $?"
    all_succeeded 100
    assert_eq "$(sql "select state from workers where name='w1'")" gone "w1 left cleanly"
}
