#  memory.sh - fault tests: what the coordinator holds for a client that
#  reads slowly, never reads, or dies while its results stream is bounded
#  (see docs/design.md, "Memory per client"), and nobody loses a result.

#  RSS_BOUND_KB: the coordinator's peak resident memory allowed in these
#  tests, once its jobs are done (submitting and running 30 MB of jobs
#  leaves it near 200 MB, mostly heap it keeps). A client awaiting ten
#  times 300 results of 100 KB and reading none used to take it past
#  700 MB; the bound per client is 8 MiB queued plus 16 frames of about
#  1 MiB in ZeroMQ, so 300 MB is well above what it needs and well below
#  the fault.
RSS_BOUND_KB=300000
#  Under AddressSanitizer (make check-asan) every program keeps freed
#  memory in a quarantine and adds shadow memory: the bound doubles, and
#  the quarantine is kept small so that what is measured is still what
#  the coordinator holds.
if ldd "$ZJ_BIN/zjob-coordinator" 2>/dev/null | grep -q libasan; then
    RSS_BOUND_KB=600000
    export ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}quarantine_size_mb=16"
fi

#  big_jobs COUNT: submits COUNT echo jobs of 100 KB each, waits until
#  they all succeeded, and leaves their ids in ./ids.
big_jobs() {
    python3 -c '
import json, sys
payload = "x" * 100000
for n in range(int(sys.argv[1])):
    print(json.dumps({"kind": "echo", "args": {"n": n, "p": payload}}))
' "$1" >batch.jsonl
    zj submit --batch batch.jsonl >ids || fail "submit exited $?"
    zj gather - <ids >/dev/null || fail "first gather exited $?"
    reset_peak_rss "$COORDINATOR_PID"
}

#  peak_rss_kb PID: the most resident memory the process has used since
#  the last reset_peak_rss PID.
peak_rss_kb() { awk '/^VmHWM:/ {print $2}' "/proc/$1/status"; }
reset_peak_rss() { echo 5 >"/proc/$1/clear_refs"; }

#  hog N: a client that sends N AWAITs for ./ids and never reads; its pid
#  in HOG_PID once they are sent.
start_hog() {
    "$ZJ_BIN/zjhog" "$ZJOB_COORDINATOR" ids hog "$1" >hog.out 2>hog.log &
    HOG_PID=$!
    zj_track "$HOG_PID"
    wait_until 10 grep -q sent hog.out
}

#  Ten AWAITs for 300 results of 100 KB that are never read: the
#  coordinator's memory stays bounded (it stops producing for that client
#  instead of queueing 300 MB), and another client still gathers them all.
test_fault_client_that_never_reads_holds_bounded_memory() {
    start_coordinator
    start_worker w1
    big_jobs 300
    start_hog 10
    sleep 2 #  Time for an unbounded coordinator to queue it all
    zj gather - <ids >results || fail "gather exited $?"
    assert_eq "$(grep -c '"succeeded"' results)" 300 "results gathered"
    local peak; peak=$(peak_rss_kb "$COORDINATOR_PID")
    echo "coordinator peak RSS ${peak} kB (bound ${RSS_BOUND_KB} kB)"
    [ "$peak" -lt "$RSS_BOUND_KB" ] ||
        fail "coordinator peak RSS ${peak} kB is over ${RSS_BOUND_KB} kB"
    grep -q "client blocked" coordinator.log ||
        fail "no 'client blocked' in the coordinator's log"
    stop_coordinator || fail "the coordinator exited $? with paused awaits"
}

#  A client that reads one frame every 20 ms gets each of 300 results
#  exactly once, through every pause of its stream.
test_fault_slow_client_gets_every_result_once() {
    start_coordinator
    start_worker w1
    big_jobs 300
    "$ZJ_BIN/zjhog" "$ZJOB_COORDINATOR" ids slow 20 >got 2>slow.log ||
        fail "slow reader exited $?: $(cat slow.log)"
    assert_eq "$(tail -n 1 got)" done "the stream's end"
    assert_eq "$(grep -vc done got)" 300 "results received"
    assert_eq "$(grep -v done got | sort -n | uniq -d | wc -l)" 0 \
        "results received twice"
    assert_eq "$(grep -v done got | sort -n | diff - <(sort -n ids) | wc -l)" \
        0 "ids received against ids awaited"
    local peak; peak=$(peak_rss_kb "$COORDINATOR_PID")
    [ "$peak" -lt "$RSS_BOUND_KB" ] ||
        fail "coordinator peak RSS ${peak} kB is over ${RSS_BOUND_KB} kB"
}

#  A client killed while its results stream: the coordinator notices at
#  its next send (ZeroMQ says the peer is gone), releases its awaits and
#  drops what it held for it.
test_fault_dead_client_awaits_are_released() {
    start_coordinator
    start_worker w1
    big_jobs 100
    start_hog 5
    wait_until 10 grep -q "client blocked" coordinator.log
    kill -KILL "$HOG_PID"
    wait_until 10 grep -q "client gone.*awaits_released=[1-5]" coordinator.log
    zj gather - <ids >results || fail "gather exited $?"
    assert_eq "$(grep -c '"succeeded"' results)" 100 "results gathered"
}
