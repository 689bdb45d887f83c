#  curve.sh - CURVE on both endpoints: only the keys in the coordinator's
#  folders get in, the folders are read again while it runs, secret keys
#  are guarded and never logged. All on loopback; hosts.sh does it across
#  network namespaces.

#  make_keys NAME...: zjob keygen each NAME in $T/keys.
make_keys() {
    mkdir -p "$T/keys" "$T/workers.d" "$T/clients.d"
    for name in "$@"; do
        (cd "$T/keys" && zj keygen "$name" >/dev/null) || fail "keygen $name"
    done
}

#  A coordinator that admits worker w1 and client c1; the CLI speaks as c1.
start_curve_coordinator() {
    make_keys coord w1 c1 stranger rogue
    cp "$T/keys/w1.key" "$T/workers.d/"
    cp "$T/keys/c1.key" "$T/clients.d/"
    export ZJOB_KEY="$T/keys/c1.key_secret" ZJOB_COORDINATOR_KEY="$T/keys/coord.key"
    start_coordinator --key "$T/keys/coord.key_secret" \
        --worker-keys "$T/workers.d" --client-keys "$T/clients.d"
}

start_curve_worker() {
    local name=$1; shift
    start_worker "$name" --key "$T/keys/$name.key_secret" \
        --coordinator-key "$T/keys/coord.key" "$@"
}

#  as KEY COMMAND...: runs zjob COMMAND with client key KEY.
as() {
    local key=$1; shift
    ZJOB_KEY="$T/keys/$key.key_secret" "$ZJ_BIN/zjob" "$@"
}

test_curve_admits_only_the_keys_in_its_folders() {
    start_curve_coordinator
    start_curve_worker w1
    id=$(zj submit echo '{"hello": "curve"}') || fail "submit as c1"
    zj wait "$id" | grep -q curve || fail "wait as c1"

    as stranger jobs >out 2>err; assert_eq "$?" 3 "a stranger's jobs"
    as stranger submit echo '{}' >out 2>err; assert_eq "$?" 3 "a stranger's submit"
    grep -q "connection refused domain=clients" "$T/coordinator.log" \
        || fail "refusal not logged"

    "$ZJ_BIN/zjob-worker" --connect "$WORKERS_EP" --name rogue \
        --key "$T/keys/rogue.key_secret" --coordinator-key "$T/keys/coord.key" \
        >>"$T/rogue.log" 2>&1 &
    zj_track $!
    wait_until 10 grep -q "connection refused domain=workers" "$T/coordinator.log"
    for n in $(seq 20); do echo "{\"kind\": \"echo\", \"args\": {\"n\": $n}}"; done >batch.jsonl
    zj submit --batch batch.jsonl | zj gather - >results || fail "gather"
    assert_eq "$(sql "select count(*) from jobs where worker='w1'")" 21 "jobs on w1"
    assert_eq "$(sql "select count(*) from workers where name='rogue'")" 0 "rogue in the store"
}

test_curve_key_folders_are_read_again() {
    start_curve_coordinator
    as stranger jobs >out 2>err; assert_eq "$?" 3 "before its key is added"
    cp "$T/keys/stranger.key" "$T/clients.d/"
    as stranger jobs >out 2>err || fail "after its key was added: $(cat err)"
    rm "$T/clients.d/c1.key"
    zj jobs >out 2>err; assert_eq "$?" 3 "after its key was removed"
}

test_curve_secret_keys_are_guarded_and_never_logged() {
    start_curve_coordinator
    start_curve_worker w1
    cp "$T/keys/w1.key_secret" "$T/keys/loose.key_secret"
    chmod 644 "$T/keys/loose.key_secret"
    "$ZJ_BIN/zjob-worker" --connect "$WORKERS_EP" --name loose \
        --key "$T/keys/loose.key_secret" --coordinator-key "$T/keys/coord.key" \
        >loose.out 2>&1; assert_eq "$?" 1 "worker with a loose secret key"
    grep -q "may be read by others (mode 644): run chmod 600" loose.out \
        || fail "worker message: $(cat loose.out)"
    ZJOB_KEY="$T/keys/loose.key_secret" "$ZJ_BIN/zjob" jobs >out 2>err
    assert_eq "$?" 2 "zjob with a loose secret key"
    grep -q "may be read by others" err || fail "zjob message: $(cat err)"
    "$ZJ_BIN/zjob-coordinator" --clients tcp://127.0.0.1:1 --workers tcp://127.0.0.1:2 \
        --db "$T/other.db" --key "$T/keys/loose.key_secret" \
        --worker-keys "$T/workers.d" --client-keys "$T/clients.d" >coord.out 2>&1
    assert_eq "$?" 1 "coordinator with a loose secret key"
    grep -q "may be read by others" coord.out || fail "coordinator message: $(cat coord.out)"
    zj submit echo '{}' >/dev/null || fail "submit"
    for key in coord w1 c1; do
        secret=$(sed -n 's/.*secret-key = "\(.*\)"/\1/p' "$T/keys/$key.key_secret")
        [ -n "$secret" ] || fail "no secret in $key.key_secret"
        ! grep -rqF -- "$secret" "$T"/*.log loose.out coord.out \
            || fail "the secret key of $key was logged"
    done
}

test_curve_needs_keys_off_loopback() {
    "$ZJ_BIN/zjob-coordinator" --clients tcp://0.0.0.0:1 --db "$T/x.db" >out 2>&1
    assert_eq "$?" 2 "non-loopback without CURVE"
    grep -q "refusing to listen on tcp://0.0.0.0:1 without CURVE" out || fail "$(cat out)"
    "$ZJ_BIN/zjob-coordinator" --key x --db "$T/x.db" >out 2>&1
    assert_eq "$?" 2 "--key alone"
    grep -q "go together" out || fail "$(cat out)"
}

test_curve_removed_key_cuts_off_a_live_worker() {
    start_curve_coordinator
    cp "$T/keys/stranger.key" "$T/workers.d/"
    start_curve_worker w1 --io-slots 4
    start_curve_worker stranger --io-slots 4
    for _ in $(seq 8); do echo '{"kind": "sleep", "args": {"seconds": 30}}'; done >batch.jsonl
    zj submit --batch batch.jsonl >ids
    wait_until 10 value_is = 4 sql "select count(*) from jobs where state='running' and worker='stranger'"
    rm "$T/workers.d/stranger.key"
    wait_until 10 value_is = revoked sql "select state from workers where name='stranger'"
    assert_eq "$(sql "select count(*) from jobs where worker='stranger' and state='running'")" 0 \
        "jobs left running on the revoked worker"
    grep -q "key revoked" "$T/coordinator.log" || fail "revocation not logged"
    sleep 1
    refute "the revoked worker came back" worker_is_connected stranger
    zj cancel - <ids >/dev/null
}
