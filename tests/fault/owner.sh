#  owner.sh - fault tests: one store, one coordinator. A second
#  coordinator on the same --db refuses before it reads or writes the
#  store, naming the one that holds it (zjob.db.lock); and the store's
#  file deleted or replaced under a running coordinator is noticed: no
#  submit is acknowledged into a store that is gone.

#  The part of the store a second coordinator must not touch: the jobs as
#  they run and the workers as they are (not last_seen, which the holder
#  itself may refresh).
store_snapshot() {
    sql "select id, state, attempts, worker, started_at from jobs order by id;
         select name, state, connected_at from workers order by name;
         pragma user_version" | md5sum
}

#  ten_sleeps_running: ten 60-second sleeps running on w1, ids in ./ids.
ten_sleeps_running() {
    start_coordinator
    start_worker w1
    for _ in $(seq 10); do echo '{"kind": "sleep", "args": {"seconds": 60}}'; done >batch.jsonl
    zj submit --batch batch.jsonl >ids || fail "submit exited $?"
    wait_until 10 value_is = 10 sql "select count(*) from jobs where state='running'"
}

#  second_coordinator CLIENTS WORKERS: another coordinator on our --db, in
#  the foreground, bounded: its exit code in $SECOND_RC, its log second.log.
second_coordinator() {
    timeout -s KILL 10 "$ZJ_BIN/zjob-coordinator" --clients "$1" --workers "$2" \
        --db "$T/zjob.db" --heartbeat 500ms >second.log 2>&1
    SECOND_RC=$?
}

#  The second coordinator refused at once, naming the first.
refused_naming_the_first() {
    assert_eq "$SECOND_RC" 3 "exit code of the second coordinator ($(cat second.log))"
    grep -q "held by another coordinator" second.log || fail "no reason: $(cat second.log)"
    grep -q "pid=$COORDINATOR_PID " second.log || fail "holder's pid not named: $(cat second.log)"
    grep -q "clients=$ZJOB_COORDINATOR" second.log || fail "holder's endpoint not named: $(cat second.log)"
    refute "the second coordinator recovered" grep -q recovered second.log
}

#  The first coordinator and its jobs as they were: running once, on w1.
first_untouched() {
    assert_eq "$(store_snapshot)" "$1" "the store after the second coordinator"
    assert_eq "$(sql "select count(*) from jobs where state='running' and attempts=1 and worker='w1'")" \
        10 "jobs still running once on w1"
    worker_is_connected w1 || fail "w1 no longer connected"
    zj workers | grep -q w1 || fail "the first coordinator stopped serving"
    kill -0 "$COORDINATOR_PID" || fail "the first coordinator died"
}

test_fault_owner_second_coordinator_on_other_ports_refused() {
    ten_sleeps_running
    before=$(store_snapshot)
    ports=$("$ZJ_BIN/freeport" 2)
    second_coordinator "tcp://127.0.0.1:$(echo "$ports" | sed -n 1p)" \
        "tcp://127.0.0.1:$(echo "$ports" | sed -n 2p)"
    refused_naming_the_first
    first_untouched "$before"
    id=$(zj submit echo '{"after": true}') || fail "submit to the first after the refusal"
    zj wait "$id" | grep -q after || fail "job after the refusal"
}

test_fault_owner_second_coordinator_on_same_ports_refused_before_recovery() {
    ten_sleeps_running
    before=$(store_snapshot)
    second_coordinator "$ZJOB_COORDINATOR" "$WORKERS_EP"
    refused_naming_the_first
    first_untouched "$before"
}

test_fault_owner_shell_reads_while_it_runs() {
    ten_sleeps_running
    assert_eq "$(sql "select count(*) from jobs")" 10 "the shell reads"
    assert_eq "$(sqlite3 -readonly "$T/zjob.db" "select count(*) from jobs where state='running'")" \
        10 "a read-only shell reads"
    grep -q "^pid=$COORDINATOR_PID " "$T/zjob.db.lock" || fail "lock file: $(cat "$T/zjob.db.lock")"
}

test_fault_owner_new_coordinator_starts_after_kill9_of_the_holder() {
    ten_sleeps_running
    kill -KILL "$COORDINATOR_PID"; wait "$COORDINATOR_PID" 2>/dev/null
    start_coordinator
    grep -q "^pid=$COORDINATOR_PID " "$T/zjob.db.lock" || fail "lock file: $(cat "$T/zjob.db.lock")"
    #  The new holder sends the ten again; the worker, still running them,
    #  adopts them under the same attempt.
    wait_until 10 adopted 10
    assert_eq "$(sql "select count(*) from jobs where state='running' and attempts=1")" 10 \
        "running jobs on their first attempt"
}
adopted() { [ "$(grep -c 'job adopted id=[0-9]* attempt=1 was=1' "$T/w1.log")" = "$1" ]; }

#  The coordinator refuses submits, saying the store is gone ($1: what
#  happened to it).
submit_refused_store_gone() {
    zj submit echo '{}' >out 2>err
    [ $? = 1 ] && grep -q "$1" err
}

store_gone_logged() {
    grep "store gone" "$T/coordinator.log" | grep -q "$1" &&
        grep "store gone" "$T/coordinator.log" | grep -q "restart"
}

#  The store is gone: submits refused, the operator told, and after a
#  restart ids go on after the last one handed out.
submits_refused_then_ids_go_on() {
    wait_until 10 submit_refused_store_gone "$1"
    wait_until 10 store_gone_logged "$1"
    stop_coordinator
    start_coordinator
    id=$(zj submit echo '{"after": true}') || fail "submit after the restart"
    [ "$id" -gt "$LAST_ID" ] || fail "id $id after the restart, $LAST_ID before"
    grep -q "ids go on" "$T/coordinator.log" || fail "restart on a new store not logged"
}

#  jobs_done: five echo jobs stored; the last id in $LAST_ID.
jobs_done() {
    start_coordinator
    start_worker w1
    for n in $(seq 5); do echo "{\"kind\": \"echo\", \"args\": {\"n\": $n}}"; done >batch.jsonl
    zj submit --batch batch.jsonl >ids || fail "submit exited $?"
    zj gather - <ids >/dev/null || fail "gather exited $?"
    LAST_ID=$(tail -n 1 ids)
}

test_fault_owner_store_deleted_under_the_coordinator() {
    jobs_done
    rm "$T/zjob.db"
    submits_refused_then_ids_go_on "deleted"
}

test_fault_owner_store_replaced_under_the_coordinator() {
    jobs_done
    sqlite3 "$T/other.db" "create table t(x); insert into t values (1)"
    mv "$T/other.db" "$T/zjob.db"
    wait_until 10 submit_refused_store_gone "replaced"
    wait_until 10 store_gone_logged "replaced"
}

job_succeeded_in_memory() {
    zj status "$1" | grep -q '^state: *succeeded'
}

test_fault_owner_result_kept_for_the_store_restored_under_the_coordinator() {
    start_coordinator
    start_worker w1
    id=$(zj submit sleep '{"seconds": 2}') || fail "submit exited $?"
    wait_until 10 value_is = running sql "select state from jobs where id=$id"
    sql ".backup $T/backup.db"
    mv "$T/backup.db" "$T/zjob.db"
    wait_until 10 submit_refused_store_gone "replaced"
    wait_until 10 job_succeeded_in_memory "$id"
    stop_coordinator
    start_coordinator
    #  Its result was sent again; it counts unless the new coordinator
    #  has started the job again first (then the job runs twice). Either
    #  way the wait ends: bounded, so a hang says where it hung.
    zj wait "$id" --timeout 30s >result ||
        fail "wait exited $?: $(cat result); job: $(sql "select * from jobs where id=$id")"
    grep -q '"slept"' result || fail "result: $(cat result)"
    assert_eq "$(sql "select state from jobs where id=$id")" succeeded "the job in the restored store"
}
