#  freeze.sh - fault tests: a worker whose whole process is frozen
#  (SIGSTOP, as a VM pause or a container freeze does) for longer than
#  the coordinator waits for it, then thawed.

#  freeze_and_thaw PID SECONDS: stops the process, waits, continues it.
freeze_and_thaw() {
    kill -STOP "$1"
    sleep "$2"
    kill -CONT "$1"
}

#  Frozen past three beats, the worker finds the coordinator silent and
#  reconnects; when that loop turn also reads results its CPU processes
#  made while it was frozen (about half the thaws: it depends on which of
#  the worker's threads wakes first), the turn used to send them on the
#  socket it had just destroyed, and the worker died on an assertion.
#  Four thaws with two processes' results waiting make that turn likely;
#  whatever the order, the worker must live and every job succeed.
test_fault_worker_frozen_past_its_beats_reconnects() {
    #  Four freezes past the lease are four losses for a job running
    #  through them all: the loss bound is raised past that, since this
    #  test is about the worker coming back, not about poison jobs.
    start_coordinator --max-losses 10
    start_worker w1 --cpu-procs 2
    for _ in $(seq 100); do
        echo '{"kind": "sha256", "args": {"data": "x", "rounds": 300000}}'
    done >batch.jsonl
    zj submit --batch batch.jsonl >ids
    for _ in 1 2 3 4; do
        wait_until 10 value_is -gt 0 sql "select count(*) from jobs where state='running'"
        freeze_and_thaw "$WORKER_PID_w1" 2
        wait_until 10 worker_is_connected w1
    done
    zj gather - <ids >results || fail "gather exited $?"
    kill -0 "$WORKER_PID_w1" 2>/dev/null || fail "w1 died: $(tail -n 3 w1.log)"
    assert_eq "$(grep -c '"succeeded"' results)" 100 "results gathered"
    echo "w1 reconnected $(grep -c 'coordinator lost' w1.log) times in 4 thaws"
}
