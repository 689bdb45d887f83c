#  errors.sh - bad jobs, bad input and a missing coordinator.

test_unknown_kind_waits_and_bad_args_fail_alone() {
    start_coordinator
    start_worker w1
    good1=$(zj submit echo '{"n": 1}')
    unknown=$(zj submit no_such_kind '{}' 2>err)
    grep -q "no connected worker offers kind 'no_such_kind'" err \
        || fail "unknown kind warning: $(cat err)"
    bad=$(zj submit sleep '{"seconds": "soon"}')
    good2=$(zj submit echo '{"n": 2}')
    zj gather "$good1" "$bad" "$good2" >results
    assert_eq "$?" 1 "gather exit status with failed jobs"
    assert_eq "$(sql "select state from jobs where id=$unknown")" queued "unknown kind waits"
    assert_eq "$(sql "select state from jobs where id=$bad")" failed "bad args"
    sql "select error from jobs where id=$bad" | grep -q "bad args" \
        || fail "bad args error: $(sql "select error from jobs where id=$bad")"
    assert_eq "$(sql "select count(*) from jobs where state='succeeded'")" 2 "good jobs"
    out=$(zj wait "$bad"); assert_eq "$?" 1 "wait exit status on a failed job"
    echo "$out" | grep -q '"error"' || fail "wait shows no error: $out"
}

test_unreachable_coordinator_exits_3() {
    port=$("$ZJ_BIN/freeport")
    export ZJOB_COORDINATOR="tcp://127.0.0.1:$port"
    for command in "submit echo {}" "wait 1" "gather 1 2" "status 1" "jobs" "workers" "cancel 1"; do
        start=$(date +%s)
        zj $command >out 2>err
        status=$?
        took=$(( $(date +%s) - start ))
        assert_eq "$status" 3 "exit status of '$command'"
        grep -q "127.0.0.1:$port" err || fail "'$command' does not name the endpoint: $(cat err)"
        [ "$took" -le 10 ] || fail "'$command' took ${took}s"
    done
}

test_usage_errors_exit_2() {
    start_coordinator
    zj submit echo '{not json' 2>err; assert_eq "$?" 2 "bad JSON args"
    grep -qi json err || fail "bad JSON message: $(cat err)"
    zj submit 2>/dev/null; assert_eq "$?" 2 "submit without kind"
    zj frobnicate 2>/dev/null; assert_eq "$?" 2 "unknown command"
    zj submit echo '{}' --timeout forever 2>/dev/null; assert_eq "$?" 2 "bad duration"
    printf '{"kind": "echo"}\n{"kind": \n' >bad.jsonl
    zj submit --batch bad.jsonl 2>err; assert_eq "$?" 2 "bad batch line"
    grep -q 2 err || fail "bad batch line not named: $(cat err)"
    assert_eq "$(sql "select count(*) from jobs")" 0 "nothing submitted from a bad batch"
}

test_coordinator_survives_garbage() {
    start_coordinator
    start_worker w1
    "$ZJ_BIN/zjsend" "$ZJOB_COORDINATOR" garbage >reply || fail "zjsend failed"
    grep -q EPROTO reply || fail "no ERROR reply to garbage: $(cat reply)"
    "$ZJ_BIN/zjsend" "$WORKERS_EP" garbage >reply || fail "zjsend workers failed"
    id=$(zj submit echo '{"still": "serving"}')
    zj wait "$id" | grep -q serving || fail "coordinator stopped serving"
    kill -0 "$COORDINATOR_PID" || fail "coordinator died"
}

#  An endpoint that cannot name a TCP peer is a usage error (exit 2), not
#  an unreachable coordinator (exit 3).
test_malformed_endpoint_exits_2() {
    for endpoint in 'tcp://[::1' 'tcp://[::1:7700' 'tcp://[::1]' \
                    'tcp://[::1]:77x' 'tcp://127.0.0.1:99999' 'tcp://:7700' \
                    'tcp://127.0.0.1:0'; do
        zj --coordinator "$endpoint" jobs >out 2>err
        assert_eq "$?" 2 "exit status with --coordinator '$endpoint'"
        grep -qF "bad coordinator endpoint '$endpoint'" err ||
            fail "no clear error for '$endpoint': $(cat err)"
    done
}
