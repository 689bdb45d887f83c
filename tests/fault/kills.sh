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
    wait_until 10 value_is -gt 0 sql "select count(*) from jobs where state='running' and worker='w1'"
    kill -KILL "$WORKER_PID_w1"
    zj gather - <ids >results || fail "gather exited $?"
    assert_eq "$(grep -c '"succeeded"' results)" 200 "results gathered"
    all_succeeded 200
    assert_eq "$(sql "select count(*) from jobs where worker='w1'")" 0 \
        "every job of the killed worker ran again elsewhere"
    [ "$(sql "select count(*) from jobs where attempts=2")" -gt 0 ] || fail "no job was re-run"
    assert_eq "$(sql "select state from workers where name='w1'")" lost "w1 marked lost"
}

#  gather_while_running N SECONDS: submits N sleeps on one worker, starts
#  a gather of them in the background (its PID in $GATHER) and returns
#  once all N run.
gather_while_running() {
    start_coordinator
    start_worker w1
    sleep_batch "$1" "$2" >batch.jsonl
    zj submit --batch batch.jsonl >ids
    zj gather - <ids >results 2>gather.err &
    GATHER=$!
    zj_track "$GATHER"
    wait_until 10 value_is = "$1" sql "select count(*) from jobs where state='running'"
}

#  gathered_after_restart N: the background gather ends well with N results.
gathered_after_restart() {
    wait "$GATHER" || fail "gather exited $? after the restart: $(cat gather.err)"
    assert_eq "$(grep -c '"succeeded"' results)" "$1" "results after the restart"
    all_succeeded "$1"
}

test_fault_coordinator_killed_while_gather_waits() {
    gather_while_running 100 2
    kill -KILL "$COORDINATOR_PID"; wait "$COORDINATOR_PID" 2>/dev/null
    start_coordinator
    gathered_after_restart 100
}

test_fault_worker_sigterm_drains_its_jobs() {
    start_coordinator
    start_worker w1
    start_worker w2
    sleep_batch 100 2 >batch.jsonl
    zj submit --batch batch.jsonl >ids
    wait_until 10 value_is -gt 0 sql "select count(*) from jobs where state='running' and worker='w1'"
    signalled=$(date +%s.%N)
    kill -TERM "$WORKER_PID_w1"
    wait "$WORKER_PID_w1" 2>/dev/null
    zj gather - <ids >results || fail "gather exited $?"
    all_succeeded 100
    assert_eq "$(sql "select count(*) from jobs where attempts > 1")" 0 \
        "w1 finished its jobs within the grace instead of handing them back"
    assert_eq "$(sql "select count(*) from jobs where worker='w1' and started_at > $signalled")" 0 \
        "w1 took no job after SIGTERM"
    grep -q "draining signal=Terminated" "$T/w1.log" || fail "no drain in the log"
    assert_eq "$(sql "select state from workers where name='w1'")" gone "w1 left cleanly"
}

test_fault_worker_sigterm_hands_back_after_grace() {
    start_coordinator
    start_worker w1 --grace 300ms
    start_worker w2
    sleep_batch 100 2 >batch.jsonl
    zj submit --batch batch.jsonl >ids
    wait_until 10 value_is -gt 0 sql "select count(*) from jobs where state='running' and worker='w1'"
    kill -TERM "$WORKER_PID_w1"
    wait "$WORKER_PID_w1" 2>/dev/null
    zj gather - <ids >results || fail "gather exited $?"
    all_succeeded 100
    assert_eq "$(sql "select count(*) from jobs where worker='w1'")" 0 \
        "w1's unfinished jobs were handed back and ran on w2"
    [ "$(sql "select count(*) from attempts where error='worker left'")" -gt 0 ] \
        || fail "hand-back not recorded in attempts"
}

test_fault_coordinator_sigterm_while_gather_waits() {
    gather_while_running 50 1
    stop_coordinator
    grep -q "stopping jobs_unfinished=50 workers=1" "$T/coordinator.log" || fail "no clean stop"
    wait_until 5 grep -q "coordinator said BYE" "$T/w1.log"
    start_coordinator
    gathered_after_restart 50
}
