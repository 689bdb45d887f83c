#  identity.sh - fault tests of worker identity: a name is held by one
#  live connection, a restarted worker gets its name back, and results
#  count only from the worker that holds the attempt.

#  exec_batch N FILE: N exec jobs, each appending its number to FILE.
exec_batch() {
    for index in $(seq "$1"); do
        echo "{\"kind\": \"exec\", \"args\": {\"argv\": [\"sh\", \"-c\", \"sleep 0.1; echo $index >>$2\"]}}"
    done
}

#  Two workers started with one --name used to evict each other twice a
#  second for ever, and 40 exec jobs ran 148 times. The second is refused
#  and exits, the first keeps working, and each job runs once.
test_fault_identity_two_workers_with_one_name() {
    start_coordinator
    start_worker w1 --allow-exec --io-slots 8
    "$ZJ_BIN/zjob-worker" --connect "$WORKERS_EP" --name w1 --allow-exec \
        --io-slots 8 >"$T/second.log" 2>&1 &
    local second=$!
    zj_track "$second"
    exec_batch 40 "$T/runs" >batch.jsonl
    zj submit --batch batch.jsonl >ids
    timeout 60 "$ZJ_BIN/zjob" gather - <ids >results || fail "gather exited $?"
    assert_eq "$(grep -c '"succeeded"' results)" 40 "results gathered"
    assert_eq "$(wc -l <"$T/runs")" 40 "exec jobs run exactly once each"
    assert_eq "$(sql "select count(*) from jobs where attempts != 1")" 0 \
        "jobs run more than once"
    wait_until 20 eval "! kill -0 $second"
    local status=0
    wait "$second" || status=$?
    assert_eq "$status" 4 "the second worker's exit code"
    grep -q "name 'w1' is held by" "$T/second.log" \
        || fail "the second worker did not say why: $(tail -3 "$T/second.log")"
    kill -0 "$WORKER_PID_w1" || fail "the first worker is gone"
    worker_is_connected w1 || fail "w1 not connected at the end"
    refute "the first worker was told to say HELLO again" \
        grep -q "code=ETYPE" "$T/w1.log"
}

#  A worker killed with -9 and started again at once: its old connection
#  was heard less than a beat ago, so the new one waits for it to go
#  silent, then takes the name and runs jobs.
test_fault_identity_restarted_worker_takes_its_name_back() {
    start_coordinator
    start_worker w1
    for _ in $(seq 20); do echo '{"kind": "sleep", "args": {"seconds": 0.5}}'; done >batch.jsonl
    zj submit --batch batch.jsonl >ids
    wait_until 10 value_is -gt 0 sql "select count(*) from jobs where state='running'"
    kill -KILL "$WORKER_PID_w1"
    wait "$WORKER_PID_w1" 2>/dev/null
    "$ZJ_BIN/zjob-worker" --connect "$WORKERS_EP" --name w1 \
        >"$T/again.log" 2>&1 &
    local again=$!
    zj_track "$again"
    wait_until 15 grep -q "connected endpoint=.* name=w1" "$T/again.log"
    timeout 60 "$ZJ_BIN/zjob" gather - <ids >results || fail "gather exited $?"
    assert_eq "$(grep -c '"succeeded"' results)" 20 "results gathered"
    assert_eq "$(sql "select pid from workers where name='w1'")" "$again" \
        "the restarted worker holds the name"
    kill -0 "$again" || fail "the restarted worker exited"
}

#  A peer that never said HELLO used to set a running job's result (it
#  was stored with worker "unknown"); one that said HELLO under another
#  name could too. Neither changes the job: it ends with w1's result.
test_fault_identity_forged_results_change_nothing() {
    start_coordinator
    start_worker w1
    local id
    id=$(zj submit sleep '{"seconds": 2}')
    wait_until 10 value_is = running sql "select state from jobs where id=$id"
    "$ZJ_BIN/zjsend" "$WORKERS_EP" result "$id" >stranger.out
    "$ZJ_BIN/zjsend" -H forger "$WORKERS_EP" result "$id" >forger.out
    zj wait "$id" >result || fail "wait exited $?"
    refute "a forged result was stored" grep -q forged result
    assert_eq "$(sql "select worker || ' ' || attempts || ' ' || state from jobs where id=$id")" \
        "w1 1 succeeded" "the job as w1 ran it"
    grep -q "^ERROR ETYPE unknown worker: say HELLO first" stranger.out \
        || fail "the stranger's RESULTS was not refused: $(cat stranger.out)"
    grep -q "result dropped id=$id .*worker=forger" "$T/coordinator.log" \
        || fail "the forger's result was not logged as dropped"
}
