#  resend.sh - fault tests of results a worker holds across a reconnect:
#  jobs finish while w1's link is cut (bin/tcpproxy, see link.sh), w1
#  gives up its socket and the results queued on it, reconnects and sends
#  them again after the WELCOME. Uses start_proxy and worker_in_state from
#  link.sh and all_succeeded from kills.sh.

#  gated_exec_batch N: N exec jobs that leave a file $T/started.PID, wait
#  (at most 10 s) for the file $T/go, then leave $T/done.PID and end.
gated_exec_batch() {
    local script="touch $T/started.\$\$; for _ in \$(seq 200); do [ -e $T/go ] && break; sleep 0.05; done; touch $T/done.\$\$"
    for _ in $(seq "$1"); do
        echo "{\"kind\": \"exec\", \"args\": {\"argv\": [\"sh\", \"-c\", \"$script\"]}}"
    done
}

#  blocker_batch N: N sleeps of 1 s at priority 10, ahead of any job
#  requeued at priority 0.
blocker_batch() {
    for _ in $(seq "$1"); do
        echo '{"kind": "sleep", "args": {"seconds": 1}, "priority": 10}'
    done
}

#  gated_files STAGE N: N gated jobs have left their STAGE file.
gated_files() {
    [ "$(find "$T" -maxdepth 1 -name "$1.*" | wc -l)" = "$2" ]
}

#  The 10 gated jobs finish while the link is cut, before w1 notices the
#  silence, so their results sit on the socket w1 then drops. The
#  coordinator loses w1 and queues those jobs again; the blockers, of
#  higher priority, take all of w1's slots when it comes back, so the
#  gated jobs can only end through the results w1 sends again: each with
#  one attempt, one final result, finished before the link came back.
test_fault_worker_resends_results_held_across_a_reconnect() {
    start_coordinator
    start_proxy
    WORKERS_EP=$PROXY_EP
    start_worker w1 --io-slots 10 --allow-exec
    gated_exec_batch 10 >gated.jsonl
    zj submit --batch gated.jsonl >gated.ids
    #  The store says running once JOBS is committed, before w1 has it.
    wait_until 10 gated_files started 10
    kill -USR1 "$PROXY_PID"
    touch "$T/go"
    wait_until 5 gated_files done 10
    ! grep -q "coordinator lost" "$T/w1.log" \
        || fail "w1 dropped its socket before the gated jobs finished"
    blocker_batch 10 >blockers.jsonl
    zj submit --batch blockers.jsonl >blockers.ids
    wait_until 10 grep -q "coordinator lost endpoint=$PROXY_EP" "$T/w1.log"
    local restored; restored=$(date +%s.%N)
    kill -USR2 "$PROXY_PID"
    wait_until 15 grep -q "results resent batches=" "$T/w1.log"
    cat gated.ids blockers.ids | timeout 60 "$ZJ_BIN/zjob" gather - >results \
        || fail "gather exited $?"
    all_succeeded 20
    local gated; gated=$(paste -sd, gated.ids)
    assert_eq "$(sql "select count(*) from jobs where id in ($gated) and attempts = 1")" \
        10 "gated jobs that ran once"
    assert_eq "$(sql "select count(*) from jobs where id in ($gated) and finished_at < $restored")" \
        10 "gated jobs that finished while the link was down"
    assert_eq "$(sql "select count(*) from attempts where state = 'succeeded'")" \
        20 "one final result per job"
    assert_eq "$(sql "select count(*) from attempts")" 20 "attempts recorded"
    worker_in_state w1 connected || fail "w1 not connected at the end"
}
