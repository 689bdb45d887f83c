#  store.sh - fault tests: a store that stops taking writes, and the
#  operator's sqlite3 shell beside a running coordinator. The file size
#  limit of the coordinator process (prlimit --fsize=1:) makes every write
#  to its store fail with EFBIG, as a full disk fails with ENOSPC; it
#  stops its log file too, so the test watches replies, not the log.

#  sleeps_running N: N one-second sleeps submitted and all running; their
#  ids in ./ids, a gather of them in the background ($GATHER).
sleeps_running() {
    for _ in $(seq "$1"); do echo '{"kind": "sleep", "args": {"seconds": 1}}'; done >batch.jsonl
    zj submit --batch batch.jsonl >ids || fail "submit exited $?"
    zj gather - <ids >results 2>gather.err &
    GATHER=$!
    zj_track "$GATHER"
    wait_until 10 value_is = "$1" sql "select count(*) from jobs where state='running'"
}

coordinator_logged() { grep -q "$1" "$T/coordinator.log"; }
lines_in() { wc -l <"$1"; }

#  Every job of ./ids has succeeded as the coordinator's memory says.
all_succeeded_in_memory() {
    [ "$(xargs "$ZJ_BIN/zjob" status <ids | grep -c '^state: *succeeded')" = "$(wc -l <ids)" ]
}

test_fault_store_full_refuses_submits_then_recovers() {
    start_coordinator
    start_worker w1
    sleeps_running 50
    prlimit --pid "$COORDINATOR_PID" --fsize=1: || fail "prlimit"
    wait_until 10 all_succeeded_in_memory

    zj submit echo '{}' >out 2>err; assert_eq "$?" 1 "submit while the store is full"
    grep -q "cannot write its store" err || fail "submit error: $(cat err)"
    assert_eq "$(sql "select count(*) from jobs where state='succeeded'")" 0 "results stored while full"
    assert_eq "$(wc -l <results)" 0 "results told before they were stored"
    kill -0 "$GATHER" || fail "gather gave up: $(cat gather.err)"

    prlimit --pid "$COORDINATOR_PID" --fsize=unlimited: || fail "prlimit"
    wait_until 10 coordinator_logged "store takes writes again"
    wait "$GATHER" || fail "gather exited $?: $(cat gather.err)"
    assert_eq "$(grep -c '"succeeded"' results)" 50 "results after the store came back"
    assert_eq "$(sql "select count(*) from jobs where state='succeeded' and attempts=1")" 50 \
        "every job stored once, none re-run"
    id=$(zj submit echo '{"again": true}') || fail "submit after recovery"
    zj wait "$id" | grep -q again || fail "job after recovery"
}

test_fault_store_locked_by_the_shell_then_released() {
    start_coordinator
    start_worker w1
    sleeps_running 20
    mkfifo shell.in
    sqlite3 "$T/zjob.db" <shell.in >shell.out 2>&1 &
    zj_track $!
    exec 9>shell.in
    echo "BEGIN IMMEDIATE;" >&9
    wait_until 10 coordinator_logged "store write failed"
    zj submit echo '{}' >out 2>err; assert_eq "$?" 1 "submit while the shell holds the lock"
    grep -q "locked" err || fail "submit error: $(cat err)"
    echo "ROLLBACK;" >&9
    exec 9>&-
    wait "$GATHER" || fail "gather exited $?: $(cat gather.err)"
    assert_eq "$(grep -c '"succeeded"' results)" 20 "results after the lock"
    assert_eq "$(sql "select count(*) from jobs where state='succeeded' and attempts=1")" 20 \
        "every job stored once"
}

test_fault_shell_reader_never_blocks_the_coordinator() {
    start_coordinator
    start_worker w1
    mkfifo shell.in
    sqlite3 "$T/zjob.db" <shell.in >shell.out 2>&1 &
    zj_track $!
    exec 9>shell.in
    echo "BEGIN; SELECT count(*) FROM jobs;" >&9
    wait_until 5 test -s shell.out
    for n in $(seq 500); do echo "{\"kind\": \"echo\", \"args\": {\"n\": $n}}"; done >batch.jsonl
    zj submit --batch batch.jsonl | zj gather - >results || fail "gather exited $?"
    assert_eq "$(grep -c '"succeeded"' results)" 500 "results while a reader is open"
    echo "SELECT count(*) FROM jobs; COMMIT; SELECT count(*) FROM jobs;" >&9
    exec 9>&-
    wait_until 5 value_is = 3 lines_in shell.out
    assert_eq "$(tr '\n' ' ' <shell.out)" "0 0 500 " "the reader kept its snapshot"
    ! coordinator_logged "store write failed" || fail "the reader blocked a write"
}
