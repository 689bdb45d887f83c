#  parents.sh - fault tests for jobs that await jobs: a parent whose
#  worker is killed mid-gather runs again, gets back the children it made
#  (each in the store once), and ends with the right result; the same
#  across a coordinator killed and started again.

#  sleeps N S: map args of N sleeps of S seconds each, at most 3 at once,
#  so the parent is killed with children still to submit.
sleeps() {
    local sep="" items="" i
    for ((i = 0; i < $1; i++)); do items="$items$sep{\"seconds\": $2}"; sep=", "; done
    echo "{\"kind\": \"sleep\", \"concurrency\": 3, \"items\": [$items]}"
}

#  children_once PARENT N: the store holds N children of PARENT, one per
#  call number 1..N, all succeeded.
children_once() {
    assert_eq "$(sql "select count(*), count(distinct call), min(call), max(call) from jobs where parent=$1")" \
        "$2|$2|1|$2" "children of $1 (count, distinct calls, first, last)"
    assert_eq "$(sql "select count(*) from jobs where parent=$1 and state='succeeded'")" "$2" \
        "children succeeded"
}

test_fault_parent_killed_mid_gather_gets_its_children_back() {
    start_coordinator
    start_worker w1
    id=$(zj submit map "$(sleeps 6 0.5)") || fail "submit"
    wait_until 10 value_is = 3 sql "select count(*) from jobs where parent=$id and state='running'"
    kill -KILL "$WORKER_PID_w1"
    start_worker w2
    zj wait "$id" >out || fail "wait exited $?: $(cat out)"
    grep -q '"results": \[{"slept": 0.5}, {"slept": 0.5}, {"slept": 0.5}, {"slept": 0.5}, {"slept": 0.5}, {"slept": 0.5}\]' out \
        || fail "map's result: $(cat out)"
    children_once "$id" 6
    assert_eq "$(sql "select attempts, losses, worker from jobs where id=$id")" "2|1|w2" \
        "the parent ran again on w2"
}

test_fault_parent_survives_a_coordinator_restart() {
    start_coordinator
    start_worker w1
    id=$(zj submit map "$(sleeps 6 0.5)") || fail "submit"
    wait_until 10 value_is = 3 sql "select count(*) from jobs where parent=$id and state='running'"
    kill -KILL "$COORDINATOR_PID"; wait "$COORDINATOR_PID" 2>/dev/null
    start_coordinator
    zj wait "$id" >out || fail "wait exited $?: $(cat out)"
    grep -q '"state": "succeeded"' out || fail "map's outcome: $(cat out)"
    children_once "$id" 6
}
