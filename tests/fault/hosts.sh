#  hosts.sh - multi-host tests: the coordinator and each worker on a host
#  of its own, a Linux network namespace made by the test, joined by veth
#  pairs to a bridge in the coordinator's namespace (10.77.0.0/24). Every
#  program talks CURVE with keys made by zjob keygen; the CLI runs on the
#  coordinator's host. The namespaces are removed by the test's EXIT trap,
#  whatever happens. Needs root: without it each test says SKIP and passes.

HOSTS_NET=10.77.0
HOSTS_CLIENTS_EP=tcp://$HOSTS_NET.1:7700
HOSTS_WORKERS_EP=tcp://$HOSTS_NET.1:7701
HOSTS_MADE=()

#  hosts_ns HOST: the namespace of HOST, unique to this test's subshell.
hosts_ns() { echo "zj-$HOSTS_ID-$1"; }

#  hosts_try WHAT COMMAND...: runs COMMAND; if the system refuses, says
#  SKIP with its error and returns 1.
hosts_try() {
    "${@:2}" 2>"$T/hosts.err" && return 0
    echo "SKIP: cannot create $1: $(cat "$T/hosts.err")"
    return 1
}

#  hosts_add HOST: HOST's namespace, recorded for hosts_down.
hosts_add() { ip netns add "$(hosts_ns "$1")" && HOSTS_MADE+=("$(hosts_ns "$1")"); }

#  hosts_up WORKER...: host c, with a bridge at the coordinator's address,
#  and one host per WORKER joined to it. First replaces the runner's EXIT
#  trap with one that also removes the namespaces.
#  Returns 1 after a SKIP line if the system refuses namespaces, bridges
#  or veth pairs (not root, or a container that forbids them).
hosts_up() {
    HOSTS_ID=$BASHPID
    trap 'zj_cleanup; hosts_down' EXIT
    hosts_try "network namespaces" hosts_add c || return 1
    hosts_try "a bridge" ip -n "$(hosts_ns c)" link add br0 type bridge || return 1
    hosts_link c set br0 up
    hosts_link c set lo up
    hosts_ip c addr add "$HOSTS_NET.1/24" dev br0
    local index=0 host
    for host in "$@"; do
        index=$((index + 1))
        hosts_join "$host" "v$index" "$HOSTS_NET.$((10 + index))" || return 1
    done
}

#  hosts_join HOST LINK ADDRESS: makes HOST, with eth0 at ADDRESS, the
#  other end of the veth pair whose end LINK is on c's bridge.
hosts_join() {
    hosts_add "$1" || fail "ip netns add $(hosts_ns "$1")"
    hosts_try "veth pairs" ip -n "$(hosts_ns c)" link add "$2" type veth \
        peer name eth0 netns "$(hosts_ns "$1")" || return 1
    hosts_link c set "$2" master br0 up
    hosts_link "$1" set lo up
    hosts_ip "$1" addr add "$3/24" dev eth0
    hosts_link "$1" set eth0 up
}

hosts_ip() {
    local host=$1; shift
    ip -n "$(hosts_ns "$host")" "$@" || fail "on host $host: ip $*"
}
hosts_link() { local host=$1; shift; hosts_ip "$host" link "$@"; }

#  hosts_down: whatever still runs in the namespaces this test made (the
#  programs it started and their children: zj_cleanup has stopped the
#  programs by then), then the namespaces, by name; their links go with
#  them.
hosts_down() {
    local ns pid
    for ns in "${HOSTS_MADE[@]}"; do
        for pid in $(ip netns pids "$ns"); do kill -KILL "$pid" 2>/dev/null; done
        ip netns del "$ns"
    done
    HOSTS_MADE=()
}

#  hosts_spawn HOST LOG PROGRAM ARGS...: a bin/ program on HOST in the
#  background, logging to $T/LOG, tracked; ip netns exec execs it, so
#  HOSTS_PID is the program's PID.
hosts_spawn() {
    local host=$1 log=$2 program=$3; shift 3
    ip netns exec "$(hosts_ns "$host")" "$ZJ_BIN/$program" "$@" >>"$T/$log" 2>&1 &
    HOSTS_PID=$!
    zj_track "$HOSTS_PID"
}

#  hosts_keygen NAME...: NAME.key and NAME.key_secret in $T/keys.
hosts_keygen() {
    mkdir -p "$T/keys" "$T/worker-keys" "$T/client-keys"
    local name
    for name in "$@"; do
        (cd "$T/keys" && "$ZJ_BIN/zjob" keygen "$name" >/dev/null) || fail "zjob keygen $name"
    done
}

#  hosts_allow worker|client NAME: admits NAME's public key.
hosts_allow() { cp "$T/keys/$2.key" "$T/$1-keys/" || fail "cannot allow $1 $2"; }

#  hosts_coordinator: on host c, listening on its bridge's address.
hosts_coordinator() {
    hosts_spawn c coordinator.log zjob-coordinator --clients "$HOSTS_CLIENTS_EP" \
        --workers "$HOSTS_WORKERS_EP" --db "$T/zjob.db" --heartbeat 500ms \
        --key "$T/keys/c.key_secret" --worker-keys "$T/worker-keys" \
        --client-keys "$T/client-keys"
    COORDINATOR_PID=$HOSTS_PID
    wait_until 10 hosts_zj workers
}

#  hosts_spawn_worker NAME [FLAGS...]: worker NAME on host NAME with its
#  own key, logging to $T/NAME.log; sets WORKER_PID_NAME.
hosts_spawn_worker() {
    local name=$1; shift
    hosts_spawn "$name" "$name.log" zjob-worker --connect "$HOSTS_WORKERS_EP" \
        --name "$name" --key "$T/keys/$name.key_secret" \
        --coordinator-key "$T/keys/c.key" "$@"
    eval "WORKER_PID_$name=$HOSTS_PID"
}

hosts_worker() {
    hosts_spawn_worker "$@"
    wait_until 10 worker_is_connected "$1"
}

#  hosts_zj_as KEY HOST ARGS...: zjob on HOST with KEY's secret, bounded.
hosts_zj_as() {
    local key=$1 host=$2; shift 2
    timeout 60 ip netns exec "$(hosts_ns "$host")" env \
        ZJOB_COORDINATOR="$HOSTS_CLIENTS_EP" ZJOB_KEY="$T/keys/$key.key_secret" \
        ZJOB_COORDINATOR_KEY="$T/keys/c.key" "$ZJ_BIN/zjob" "$@"
}

#  hosts_zj ARGS...: zjob on host c as the allowed client.
hosts_zj() { hosts_zj_as client c "$@"; }

#  hosts_gather FILE: gathers the ids in FILE into results.
hosts_gather() { hosts_zj gather - <"$1" >results || fail "gather exited $?"; }

#  hosts_each_succeeded_once N: the store holds N jobs, each succeeded
#  with a result and has exactly one succeeded attempt.
hosts_each_succeeded_once() {
    all_succeeded "$1"
    assert_eq "$(sql "select count(*) from attempts where state='succeeded'")" \
        "$1" "succeeded attempts"
    assert_eq "$(sql "select count(distinct job_id) from attempts where state='succeeded'")" \
        "$1" "jobs with a succeeded attempt"
}

#  hosts_secure_setup WORKER...: keys for c, the client and each WORKER,
#  all allowed; the hosts; the coordinator.
hosts_secure_setup() {
    hosts_up "$@" || return 1
    hosts_keygen c client "$@"
    hosts_allow client client
    local name
    for name in "$@"; do hosts_allow worker "$name"; done
    hosts_coordinator
}

test_hosts_jobs_spread_over_both_hosts() {
    hosts_secure_setup w1 w2 || return 0
    hosts_worker w1 --io-slots 20
    hosts_worker w2 --io-slots 20
    sleep_batch 200 0.2 >batch.jsonl
    hosts_zj submit --batch batch.jsonl >ids || fail "submit exited $?"
    assert_eq "$(wc -l <ids)" 200 "ids"
    hosts_gather ids
    assert_eq "$(grep -c '"succeeded"' results)" 200 "results gathered"
    hosts_each_succeeded_once 200
    assert_eq "$(sql "select group_concat(worker) from (select distinct worker from jobs order by worker)")" \
        "w1,w2" "workers that ran jobs"
}

#  refused_from_w3 workers|clients: the coordinator logged that it refused
#  a connection from host w3 on that endpoint.
refused_from_w3() {
    grep -q "connection refused domain=$1 address=$HOSTS_NET.12 " "$T/coordinator.log"
}

#  w3's key is its own, not among the allowed: the coordinator refuses its
#  handshake, so it never says HELLO, while w1 does every job. A client
#  with a key of its own cannot reach the coordinator either.
test_hosts_unauthorized_worker_gets_nothing() {
    hosts_secure_setup w1 w3 || return 0
    rm "$T/worker-keys/w3.key"
    hosts_keygen intruder
    hosts_worker w1 --io-slots 10
    hosts_spawn_worker w3 --io-slots 10
    wait_until 10 refused_from_w3 workers
    sleep_batch 40 0.2 >batch.jsonl
    hosts_zj submit --batch batch.jsonl >ids || fail "submit exited $?"
    hosts_gather ids
    hosts_each_succeeded_once 40
    assert_eq "$(sql "select count(*) from jobs where worker is not 'w1'")" 0 \
        "jobs on another worker than w1"
    assert_eq "$(sql "select count(*) from attempts where worker is not 'w1'")" 0 \
        "attempts on another worker than w1"
    kill -0 "$WORKER_PID_w3" || fail "w3 exited: it should keep trying"
    assert_eq "$(sql "select count(*) from workers where name='w3'")" 0 "w3 in the workers table"
    local rc
    hosts_zj_as intruder w3 submit sleep '{"seconds": 0.1}' >intruder.out 2>&1
    rc=$?
    assert_eq "$rc" 3 "exit of the intruder's submit"
    hosts_zj_as intruder w3 jobs >>intruder.out 2>&1
    rc=$?
    assert_eq "$rc" 3 "exit of the intruder's jobs"
    assert_eq "$(sql "select count(*) from jobs")" 40 "jobs in the store"
    refused_from_w3 clients || fail "the coordinator logged no refusal of the intruder client"
    hosts_zj jobs >/dev/null || fail "the allowed client cannot list jobs"
}

#  The cut is w1's own interface going down: no reset, packets just stop.
#  The coordinator gives w1 up after 3 silent heartbeats and w2 runs its
#  jobs; once the interface is back w1 says HELLO again and gets work.
test_hosts_link_cut_moves_jobs_to_the_other_host() {
    hosts_secure_setup w1 w2 || return 0
    hosts_worker w1 --io-slots 10
    hosts_worker w2 --io-slots 10
    sleep_batch 60 1 >batch.jsonl
    hosts_zj submit --batch batch.jsonl >ids || fail "submit exited $?"
    wait_until 10 value_is -gt 0 running_on w1
    wait_until 10 value_is -gt 0 running_on w2
    hosts_link w1 set eth0 down
    wait_until 10 worker_in_state w1 lost
    hosts_gather ids
    assert_eq "$(grep -c '"succeeded"' results)" 60 "results gathered"
    hosts_each_succeeded_once 60
    [ "$(sql "select count(*) from jobs where attempts > 1")" -gt 0 ] \
        || fail "no job w1 held when the link went down was run again"
    assert_eq "$(sql "select count(*) from jobs where attempts > 1 and worker is not 'w2'")" 0 \
        "jobs run again elsewhere than on w2"
    local restored; restored=$(date +%s.%N)
    hosts_link w1 set eth0 up
    wait_until 20 worker_in_state w1 connected
    sleep_batch 40 0.5 >batch2.jsonl
    hosts_zj submit --batch batch2.jsonl >ids2 || fail "submit exited $?"
    hosts_gather ids2
    assert_eq "$(grep -c '"succeeded"' results)" 40 "second results gathered"
    hosts_each_succeeded_once 100
    [ "$(sql "select count(*) from jobs where worker='w1' and started_at > $restored")" -gt 0 ] \
        || fail "w1 ran no job after it rejoined"
}
