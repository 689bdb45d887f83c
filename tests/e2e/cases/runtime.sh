#  runtime.sh - http jobs, block reports, cancel, restart recovery.

test_http_jobs_against_local_server() {
    start_httpd
    start_coordinator
    start_worker w1
    id=$(zj submit http "{\"url\": \"http://127.0.0.1:$HTTP_PORT/hello\"}")
    out=$(zj wait "$id") || fail "http job failed: $out"
    echo "$out" | grep -q '"status": *200' || fail "status: $out"
    echo "$out" | grep -q '"body": *"hello world"' || fail "body: $out"
    id=$(zj submit http "{\"url\": \"http://127.0.0.1:$HTTP_PORT/status/404\", \"check\": false}")
    zj wait "$id" | grep -q '"status": *404' || fail "404 status"
    id=$(zj submit http "{\"url\": \"http://127.0.0.1:$HTTP_PORT/echo\", \"method\": \"POST\", \"body\": \"ping\"}")
    zj wait "$id" | grep -q '"body": *"ping"' || fail "POST body"
    for _ in $(seq 300); do
        echo "{\"kind\": \"http\", \"args\": {\"url\": \"http://127.0.0.1:$HTTP_PORT/slow?ms=500\"}}"
    done >batch.jsonl
    zj submit --batch batch.jsonl | zj gather - >results || fail "http batch"
    assert_eq "$(grep -c '"status": *200' results)" 300 "concurrent http results"
    assert_eq "$(sql "select max(started_at) < min(finished_at) from jobs where args like '%slow%'")" 1 \
        "300 transfers overlapped"
    threads=$(ls /proc/$WORKER_PID_w1/task | wc -l)
    [ "$threads" -lt 50 ] || fail "worker used $threads threads for 300 transfers"
}

test_blocking_handler_is_reported() {
    start_coordinator
    start_worker w1 --plugin "$ZJ_BIN/test_plugin.so"
    id=$(zj submit block)
    zj wait "$id" >/dev/null || fail "block job failed"
    wait_until 5 grep -q "loop blocked job=$id kind=block" "$T/w1.log"
    grep "loop blocked job=$id" "$T/w1.log" | grep -Eq 'held_ms=[0-9]{3}' \
        || fail "no duration in: $(grep 'loop blocked' "$T/w1.log")"
    id=$(zj submit sleep '{"seconds": 0.3}')
    zj wait "$id" >/dev/null
    refute "a sleep was reported as blocking" \
        grep -q "loop blocked job=$id" "$T/w1.log"
}

test_cancel_queued_job() {
    start_coordinator
    id=$(zj submit echo '{}')
    zj cancel "$id" >out || fail "cancel exited $?: $(cat out)"
    grep -q cancelled out || fail "cancel output: $(cat out)"
    assert_eq "$(sql "select state from jobs where id=$id")" cancelled "store"
    zj wait "$id" >out; assert_eq "$?" 1 "wait on a cancelled job"
    grep -q cancelled out || fail "wait output: $(cat out)"
}

test_restarted_coordinator_finishes_queued_work() {
    start_coordinator
    for _ in $(seq 30); do echo '{"kind": "echo", "args": {"kept": true}}'; done >batch.jsonl
    zj submit --batch batch.jsonl >ids || fail "submit"
    assert_eq "$(sql "select count(*) from jobs where state='queued'")" 30 "queued before restart"
    stop_coordinator
    start_coordinator
    start_worker w1
    zj gather - <ids >results || fail "gather after restart"
    assert_eq "$(grep -c '"succeeded"' results)" 30 "results after restart"
    grep -q "recovered queued=30" "$T/coordinator.log" || fail "no recovery line"
}

test_running_jobs_requeued_after_coordinator_kill() {
    start_coordinator
    start_worker w1
    for _ in $(seq 20); do echo '{"kind": "sleep", "args": {"seconds": 2}}'; done >batch.jsonl
    zj submit --batch batch.jsonl >ids
    wait_until 10 value_is = 20 sql "select count(*) from jobs where state='running'"
    kill -KILL "$COORDINATOR_PID"; wait "$COORDINATOR_PID" 2>/dev/null
    start_coordinator
    grep -q "requeued=20" "$T/coordinator.log" || fail "running jobs not requeued"
    zj gather - <ids >results || fail "gather"
    assert_eq "$(grep -c '"succeeded"' results)" 20 "all finished"
}

#  A job that ends in a timer callback (every sleep does) is reported at
#  once, not when the next heartbeat happens to wake the worker's loop:
#  with 30 s beats, 20 sleeps of 0.2 s must all be back within 10 s.
test_results_of_timers_are_not_held_for_a_beat() {
    start_coordinator --heartbeat 30s
    start_worker w1
    for _ in $(seq 20); do echo '{"kind": "sleep", "args": {"seconds": 0.2}}'; done >sleeps.jsonl
    zj submit --batch sleeps.jsonl >ids || fail "submit failed"
    timeout 10 "$ZJ_BIN/zjob" gather - <ids >results ||
        fail "results held back: gather exited $? (124 = not back within 10 s)"
    assert_eq "$(grep -c '"succeeded"' results)" 20 "sleeps succeeded"
}

#  zjob workers --forget deletes the workers that are not connected from
#  the store, names them on stderr, and lists the others; a forgotten
#  worker that comes back joins as any new one.
test_workers_forget_drops_the_gone_ones() {
    start_coordinator
    start_worker w1
    start_worker w2
    kill -TERM "$WORKER_PID_w2"; wait "$WORKER_PID_w2"
    wait_until 10 value_is = gone sql "select state from workers where name = 'w2'"
    zj workers --forget --json >out 2>err || fail "workers --forget exited $?"
    assert_eq "$(cat err)" "zjob workers: forgot w2 (gone)" "stderr"
    assert_eq "$(grep -c '"name": "w1"' out) $(grep -c w2 out)" "1 0" "the workers listed"
    assert_eq "$(sql "select group_concat(name) from workers")" w1 "the store's workers"
    grep -q "workers forgotten count=1 names=w2" "$T/coordinator.log" || fail "no log line"
    zj workers --forget >/dev/null 2>err || fail "a second --forget exited $?"
    assert_eq "$(cat err)" "" "nothing more to forget"
    start_worker w2
    zj submit echo '{"back": 1}' --wait >/dev/null || fail "no job after w2 came back"
}

#  zjob drain NAME: the coordinator sends the worker no more jobs and asks
#  it to drain, as SIGTERM would: it finishes what it runs, then exits 0.
#  A job submitted meanwhile waits for another worker.
test_drain_stops_a_worker_taking_jobs() {
    start_coordinator
    start_worker w1
    running=$(zj submit sleep '{"seconds": 1}')
    wait_until 10 value_is = running sql "select state from jobs where id = $running"
    zj drain w1 >out 2>err || fail "drain exited $?: $(cat err)"
    grep -q '^w1 draining' out || fail "drain printed: $(cat out)"
    later=$(zj submit echo '{"later": 1}')
    wait_until 10 sh -c "! kill -0 $WORKER_PID_w1 2>/dev/null"
    wait "$WORKER_PID_w1"; assert_eq "$?" 0 "w1's exit status"
    assert_eq "$(sql "select state from jobs where id = $running")" succeeded "the running job"
    assert_eq "$(sql "select state from jobs where id = $later")" queued "the job after the drain"
    grep -q "draining reason=\"zjob drain\"" "$T/w1.log" || fail "w1 log: $(tail -3 "$T/w1.log")"
    zj drain nobody 2>err
    assert_eq "$?" 2 "drain of an unknown worker"
    grep -q "no connected worker named 'nobody'" err || fail "stderr: $(cat err)"
    start_worker w2
    zj wait "$later" >/dev/null || fail "the later job never ran"
}
