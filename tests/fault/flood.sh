#  flood.sh - fault tests: a hostile party that knows only the
#  coordinator's public key floods the clients endpoint with CURVE
#  handshakes under random keys, and a client whose key is revoked while
#  it awaits. Admission must stay cheap, its log bounded, and admitted
#  clients served; a revoked client gets nothing more.

#  flood_keys NAME...: zjob keygen each NAME in $T/keys.
flood_keys() {
    mkdir -p "$T/keys" "$T/workers.d" "$T/clients.d"
    for name in "$@"; do
        (cd "$T/keys" && zj keygen "$name" >/dev/null) || fail "keygen $name"
    done
}

#  A CURVE coordinator admitting worker w1 and clients c1 and $@ (keys
#  made already); the CLI speaks as c1; worker w1 started.
flood_coordinator() {
    cp "$T/keys/w1.key" "$T/workers.d/"
    for name in c1 "$@"; do cp "$T/keys/$name.key" "$T/clients.d/"; done
    export ZJOB_KEY="$T/keys/c1.key_secret" ZJOB_COORDINATOR_KEY="$T/keys/coord.key"
    start_coordinator --key "$T/keys/coord.key_secret" \
        --worker-keys "$T/workers.d" --client-keys "$T/clients.d"
    start_worker w1 --key "$T/keys/w1.key_secret" \
        --coordinator-key "$T/keys/coord.key"
}

not_running() { ! kill -0 "$1" 2>/dev/null; }

#  cpu_ticks PID: the process's utime + stime, in clock ticks.
cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }

#  300 admitted client keys; 40 handshakes with random keys every 20 ms
#  while a legitimate client does 8 rounds of submit, wait and jobs. Each
#  handshake used to make the ZAP handler read and parse all 300 key
#  files, so handshakes queued behind each other, legitimate commands
#  exited 3, and each refusal wrote a warning. Now (nearly) every round
#  succeeds and the refusals are summed up.
test_fault_handshake_flood_does_not_lock_clients_out() {
    flood_keys coord w1 c1
    (cd "$T/keys" && zj keygen other >/dev/null) || fail "keygen other"
    for n in $(seq 299); do
        sed "s/^    public-key = .*/    public-key = \"$(printf '%040d' "$n" |
            tr 0-9 a-j)\"/" "$T/keys/other.key" >"$T/clients.d/k$n.key"
    done
    flood_coordinator
    assert_eq "$(ls "$T/clients.d" | wc -l)" 300 "client key files"
    zj jobs >/dev/null || fail "jobs before the flood"
    local refused_before; refused_before=$(grep -c "refused" coordinator.log)
    "$ZJ_BIN/flood" "$ZJOB_COORDINATOR" "$T/keys/coord.key" 40 20 60 >flood.out &
    local flood=$!
    zj_track "$flood"
    wait_until 10 grep -q "connection refused domain=clients" coordinator.log
    local before; before=$(cpu_ticks "$COORDINATOR_PID")
    local rounds=8 ok=0 start total_ms=0 begin; begin=$(date +%s%N)
    for round in $(seq $rounds); do
        start=$(date +%s%N)
        if id=$(zj submit echo "{\"n\": $round}" 2>>cli.err) &&
                zj wait "$id" 2>>cli.err | grep -q "\"n\": $round" &&
                zj jobs --limit 5 >/dev/null 2>>cli.err; then
            ok=$((ok + 1))
        fi
        total_ms=$((total_ms + ($(date +%s%N) - start) / 1000000))
    done
    kill -0 "$flood" 2>/dev/null || fail "the flood ended before the rounds"
    local after; after=$(cpu_ticks "$COORDINATOR_PID")
    local wall_ms=$(( ($(date +%s%N) - begin) / 1000000 ))
    kill "$flood"; wait "$flood" 2>/dev/null
    echo "flood: client rounds ok=$ok of $rounds mean_ms=$((total_ms / rounds))" \
        "wall_ms=$wall_ms coordinator_cpu_ms=$(( (after - before) * 1000 / $(getconf CLK_TCK) ))"
    [ $((rounds - ok)) -le 1 ] || fail "$((rounds - ok)) of $rounds rounds failed: $(tail -n 3 cli.err)"
    local refused; refused=$(( $(grep -c "refused" coordinator.log) - refused_before ))
    [ "$refused" -le 20 ] || fail "$refused refusal lines in the log"
    wait_until 10 grep -q "connections refused domain=clients count=" coordinator.log
    refused=$(( $(grep -c "refused" coordinator.log) - refused_before ))
    [ "$refused" -le 20 ] || fail "$refused refusal lines in the log"
    zj jobs >/dev/null || fail "jobs after the flood"
}

#  A client whose key is removed while it awaits gets nothing more: its
#  await is released with ERROR EDENIED, the result is not sent to it.
test_fault_revoked_client_stops_receiving_results() {
    flood_keys coord w1 c1 c2
    flood_coordinator c2
    id=$(ZJOB_KEY="$T/keys/c2.key_secret" zj submit sleep '{"seconds": 3}') \
        || fail "submit as c2"
    ZJOB_KEY="$T/keys/c2.key_secret" zj wait "$id" >wait.out 2>wait.err &
    local waiter=$!
    zj_track "$waiter"
    wait_until 10 value_is = running sql "select state from jobs where id=$id"
    sleep 0.5
    rm "$T/clients.d/c2.key"
    wait_until 10 value_is = succeeded sql "select state from jobs where id=$id"
    sleep 1
    refute "c2 received the result after its key was removed" \
        grep -q succeeded wait.out
    grep -q "client cut off.*key revoked" coordinator.log || fail "not logged"
    wait_until 10 not_running "$waiter"
    wait "$waiter"; local status=$?
    [ "$status" -ne 0 ] || fail "wait as revoked c2 exited 0"
    grep -q "no longer admitted" wait.err || fail "wait.err: $(cat wait.err)"
    echo "revoked client's wait exited $status: $(cat wait.err)"
    zj wait "$id" | grep -q succeeded || fail "c1 cannot wait the job"
}
