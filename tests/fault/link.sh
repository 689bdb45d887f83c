#  link.sh - fault tests on the network between a worker and the
#  coordinator: worker w1 connects through bin/tcpproxy, which cuts the
#  link (SIGUSR1: every connection reset, new ones closed at once) or
#  holds it one way (SIGHUP: what w1 sends waits, what the coordinator
#  sends still reaches it) and restores it (SIGUSR2). Every program stays
#  up the whole time.

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

#  link_cut_mid_batch HOW [FLAGS...]: the coordinator (with FLAGS), w1
#  through the proxy, w2 direct, 200 jobs of 1 s; while w1 runs some,
#  cuts its link (HOW=cut) or holds it (HOW=hold), then waits until the
#  coordinator has lost w1.
link_cut_mid_batch() {
    local how=$1; shift
    start_coordinator "$@"
    start_proxy
    local direct=$WORKERS_EP
    WORKERS_EP=$PROXY_EP
    start_worker w1 --io-slots 20
    WORKERS_EP=$direct
    start_worker w2 --io-slots 20
    sleep_batch 200 1 >batch.jsonl
    zj submit --batch batch.jsonl >ids
    wait_until 10 value_is -gt 0 running_on w1
    local signal=USR1 logged="closed conn=.* reason=\"link cut\""
    if [ "$how" = hold ]; then signal=HUP logged="held conns=1$"; fi
    kill -"$signal" "$PROXY_PID"
    wait_until 10 worker_in_state w1 lost
    grep -q "$logged" "$T/proxy.log" || fail "the proxy did not $how the link"
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
    link_cut_mid_batch cut
    wait_until 10 grep -q "coordinator lost endpoint=$PROXY_EP" "$T/w1.log"
    link_restore_and_check
    #  w1's jobs were queued again when it was lost, and w2 ran them
    #  before w1 came back with their results.
    [ "$(sql "select count(*) from jobs where attempts > 1")" -gt 0 ] \
        || fail "no job w1 held when the link dropped was run again"
}

#  The link comes back as soon as the coordinator has given w1 up, before
#  w1 notices: only w1's way is held, so w1 heard the coordinator's
#  heartbeats until it was lost, and its own bound (3 silent periods)
#  ends 2 periods, 2 s here, after that. The coordinator, which no longer
#  knows w1, tells it to say HELLO again on the socket it has. The results
#  held on the link then arrive late and still count, unless their job
#  has started another attempt since.
test_fault_worker_link_back_before_worker_notices() {
    link_cut_mid_batch hold --heartbeat 1s
    link_restore_and_check
    refute "w1 noticed the silence and reconnected" \
        grep -q "coordinator lost" "$T/w1.log"
    grep -q 'coordinator error code=ETYPE reason="unknown worker' "$T/w1.log" \
        || fail "the coordinator never told w1 to say HELLO again"
}
