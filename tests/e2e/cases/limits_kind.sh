#  limits_kind.sh - zjob limit KIND: concurrency and rate limits per kind
#  across all workers, kept in the store, and what status says of a job
#  they hold.

#  submit_many N KIND ARGS: N jobs in one SUBMIT, so that they reach the
#  coordinator together however slow the client starts; their ids in
#  the array ids.
submit_many() {
    for _ in $(seq "$1"); do echo "{\"kind\": \"$2\", \"args\": $3}"; done >batch.jsonl
    mapfile -t ids < <(zj submit --batch batch.jsonl) || fail "submit --batch failed"
    assert_eq "${#ids[@]}" "$1" "ids submitted"
}

#  The most jobs of kind that ran at once, from their started_at and
#  finished_at in the store.
max_overlap() {
    sql "select max(n) from (select (select count(*) from jobs b
            where b.kind = '$1' and b.started_at <= a.started_at
            and b.finished_at > a.started_at) as n
          from jobs a where a.kind = '$1' and a.started_at > 0)"
}

test_limit_refuses_bad_values() {
    start_coordinator
    zj limit sleep --rate 0 2>err
    assert_eq "$?" 2 "--rate 0"
    grep -q -- "--rate wants N/s" err || fail "stderr: $(cat err)"
    zj limit sleep --rate abc 2>err
    assert_eq "$?" 2 "--rate abc"
    grep -q "not 'abc'" err || fail "stderr: $(cat err)"
    zj limit sleep --rate 5/d 2>err
    assert_eq "$?" 2 "--rate 5/d"
    zj limit sleep --rate inf 2>err
    assert_eq "$?" 2 "--rate inf"
    zj limit sleep --concurrency -1 2>err
    assert_eq "$?" 2 "--concurrency -1"
    grep -q -- "--concurrency wants an integer 0..1000000" err || fail "stderr: $(cat err)"
    zj limit sleep --concurrency 2000000 2>err
    assert_eq "$?" 2 "--concurrency 2000000"
    zj limit 'bad kind!' --concurrency 1 2>err
    assert_eq "$?" 2 "a bad kind name"
    grep -q "bad kind name" err || fail "stderr: $(cat err)"
    zj limit sleep --clear --concurrency 1 2>err
    assert_eq "$?" 2 "--clear with a limit"
    zj limit 2>err
    assert_eq "$?" 2 "no kind"
    assert_eq "$(sql 'select count(*) from limits')" 0 "limits stored"
    assert_eq "$(zj limits --json)" "" "limits listed"
}

test_limit_concurrency_holds_across_two_workers() {
    start_coordinator
    #  Four slots in all, two a worker: three at once need both workers,
    #  and the fourth slot stays free.
    start_worker w1 --io-slots 2
    start_worker w2 --io-slots 2
    zj limit sleep --concurrency 3 >out || fail "limit exited $?"
    assert_eq "$(cat out)" "sleep concurrency=3 rate=- running=0" "limit's line"
    submit_many 10 sleep '{"seconds": 0.5}'
    wait_until 5 value_is = 3 sql "select count(*) from jobs where state = 'running'"
    zj status "${ids[9]}" >out || fail "status exited $?"
    grep -q "^held: *kind sleep at its concurrency limit (3 running)" out ||
        fail "status said: $(cat out)"
    zj status --json "${ids[9]}" | grep -q '"held": *"kind sleep at its concurrency limit' ||
        fail "status --json: $(zj status --json "${ids[9]}")"
    zj gather "${ids[@]}" >/dev/null || fail "gather failed"
    assert_eq "$(max_overlap sleep)" 3 "most sleeps at once"
    assert_eq "$(sql "select count(distinct worker) from jobs")" 2 "workers used"
    zj limits --json >out
    grep -q '"kind": *"sleep"' out || fail "limits: $(cat out)"
    grep -q '"concurrency": *3' out || fail "limits: $(cat out)"
}

test_limit_zero_pauses_until_clear() {
    start_coordinator
    start_worker w1
    zj limit sleep --concurrency 0 >/dev/null || fail "limit exited $?"
    held=$(zj submit sleep '{"seconds": 0}')
    other=$(zj submit echo '{"other": 1}')
    zj wait "$other" >/dev/null || fail "the echo job did not run"
    assert_eq "$(sql "select state from jobs where id = $held")" queued "the paused kind's job"
    zj status "$held" | grep -q "^held: *kind sleep is paused (concurrency 0)" ||
        fail "status: $(zj status "$held")"
    zj limit sleep --clear >out || fail "clear exited $?"
    assert_eq "$(cat out)" "sleep concurrency=- rate=- running=0" "clear's line"
    zj wait "$held" >/dev/null || fail "the paused job never ran"
    assert_eq "$(sql 'select count(*) from limits')" 0 "limits left"
}

test_limit_survives_a_coordinator_restart() {
    start_coordinator
    zj limit sleep --concurrency 1 --rate 30/m >/dev/null || fail "limit exited $?"
    assert_eq "$(sql 'select kind, concurrency, rate from limits')" "sleep|1|0.5" "the row"
    kill -KILL "$COORDINATOR_PID"
    wait "$COORDINATOR_PID" 2>/dev/null
    start_coordinator
    zj limits --json >out
    grep -q '"concurrency": *1' out || fail "limits after restart: $(cat out)"
    grep -q '"rate": *0.5' out || fail "limits after restart: $(cat out)"
    zj limit sleep --rate 100/s >/dev/null || fail "limit exited $?"
    start_worker w1 --io-slots 8
    submit_many 4 sleep '{"seconds": 0.2}'
    zj gather "${ids[@]}" >/dev/null || fail "gather failed"
    assert_eq "$(max_overlap sleep)" 1 "most sleeps at once after the restart"
}

test_limit_rate_spreads_starts() {
    start_coordinator
    start_worker w1 --io-slots 16
    zj limit echo --rate 5/s >/dev/null || fail "limit exited $?"
    submit_many 10 echo '{}'
    zj status "${ids[9]}" | grep -q "^held: *kind echo at its rate limit (5/s)" ||
        fail "status: $(zj status "${ids[9]}")"
    zj gather "${ids[@]}" >/dev/null || fail "gather failed"
    spread=$(sql "select (max(started_at) - min(started_at)) * 1000 from jobs where kind = 'echo'")
    #  One start per 200 ms after the first: 1.8 s, less a little rounding.
    [ "${spread%.*}" -ge 1750 ] || fail "10 starts at 5/s spread over ${spread} ms"
    zj limits >out
    grep -q '"kind": *"echo", *"concurrency": *null, *"rate": *5' out ||
        fail "limits: $(cat out)"
}
