#  link.sh - fault tests on the network between a worker and the
#  coordinator: worker w1 connects through bin/tcpproxy, which cuts the
#  link (SIGUSR1: every connection reset, new ones closed at once) and
#  restores it (SIGUSR2). Every program stays up the whole time.

#  start_proxy: a tcpproxy towards the coordinator's workers port, logging
#  to $T/proxy.log; sets PROXY_PID and PROXY_EP.
start_proxy() {
    "$ZJ_BIN/tcpproxy" "$T/proxy.port" "$WORKERS_PORT" >>"$T/proxy.log" 2>&1 &
    PROXY_PID=$!
    zj_track "$PROXY_PID"
    wait_until 5 test -s "$T/proxy.port"
    PROXY_EP="tcp://127.0.0.1:$(cat "$T/proxy.port")"
}

#  worker_in_state NAME STATE: the store lists worker NAME as STATE.
worker_in_state() {
    [ "$(sql "select state from workers where name='$1'")" = "$2" ]
}

#  running_on WORKER: how many jobs the store shows running on WORKER.
running_on() {
    sql "select count(*) from jobs where state='running' and worker='$1'"
}

#  link_cut_mid_batch: w1 through the proxy, w2 direct, 200 jobs of 1 s;
#  cuts w1's link while it runs some and waits until it is lost.
link_cut_mid_batch() {
    start_coordinator
    start_proxy
    local direct=$WORKERS_EP
    WORKERS_EP=$PROXY_EP
    start_worker w1 --io-slots 20
    WORKERS_EP=$direct
    start_worker w2 --io-slots 20
    sleep_batch 200 1 >batch.jsonl
    zj submit --batch batch.jsonl >ids
    wait_until 10 value_is -gt 0 running_on w1
    kill -USR1 "$PROXY_PID"
    wait_until 10 worker_in_state w1 lost
    grep -q "closed conn=.* reason=\"link cut\"" "$T/proxy.log" \
        || fail "the proxy cut no connection"
}

#  link_restore_and_check: restores the link, waits for w1 to rejoin, runs
#  a second batch (so w1 has work even if w2 ran the rest of the first)
#  and checks every job succeeded once and w1 ran some after the restore.
link_restore_and_check() {
    local restored; restored=$(date +%s.%N)
    kill -USR2 "$PROXY_PID"
    wait_until 15 worker_in_state w1 connected
    sleep_batch 100 1 >batch2.jsonl
    zj submit --batch batch2.jsonl >>ids
    timeout 60 "$ZJ_BIN/zjob" gather - <ids >results || fail "gather exited $?"
    assert_eq "$(grep -c '"succeeded"' results)" 300 "results gathered"
    all_succeeded 300
    assert_eq "$(sql "select count(*) from attempts where state='succeeded'")" \
        300 "one succeeded attempt recorded per job"
    [ "$(sql "select count(*) from jobs where worker='w1' and started_at > $restored")" -gt 0 ] \
        || fail "w1 ran no job after it rejoined"
    worker_in_state w1 connected || fail "w1 not connected at the end"
}

#  The cut lasts until w1 notices the silence itself: it drops its socket,
#  opens a new one and says HELLO again once the link is back.
test_fault_worker_link_drops_and_comes_back() {
    link_cut_mid_batch
    wait_until 10 grep -q "coordinator lost endpoint=$PROXY_EP" "$T/w1.log"
    link_restore_and_check
    #  w1's jobs were queued again when it was lost, and w2 ran them
    #  before w1 came back with their results.
    [ "$(sql "select count(*) from jobs where attempts > 1")" -gt 0 ] \
        || fail "no job w1 held when the link dropped was run again"
}

#  The link comes back as soon as the coordinator has given w1 up, most
#  often before w1 notices: ZeroMQ reconnects w1's old socket, and the
#  coordinator, which no longer knows it, tells it to say HELLO again.
#  The results queued on that socket then arrive late and still count,
#  unless their job has started another attempt since.
test_fault_worker_link_back_before_worker_notices() {
    link_cut_mid_batch
    link_restore_and_check
}
