#  schedules.sh - zjob schedule: bad input refused, schedules that make
#  jobs which run, rm that stops them, a coordinator killed with kill -9
#  that fires no due time twice, and cron's next minute.

test_schedule_bad_input_is_refused_with_exit_2() {
    start_coordinator
    local args
    for args in "bad --cron '61 * * * *'" "bad --cron '* * * *'" \
        "bad --cron '*/0 * * * *'" "bad --cron '0 0 30 2 *'" \
        "bad --every soon" "bad --every 500ms" "bad --every 0" \
        "'a b' --every 1s" "bad --every 1s --cron '* * * * *'" "bad" \
        "bad --every 1s 'bad kind'" "bad --every 1s echo '{nope'"; do
        eval "zj schedule add $args echo" 2>err >/dev/null
        assert_eq "$?" 2 "schedule add $args"
        [ "$(wc -l <err)" = 1 ] || fail "add $args: not one line: $(cat err)"
    done
    zj schedule add bad --cron '61 * * * *' echo 2>err
    grep -q "minute field: 61 is out of 0-59" err || fail "stderr: $(cat err)"
    zj schedule add bad --cron '1 2 3 4' echo 2>err
    grep -q "4 fields, expected 5" err || fail "stderr: $(cat err)"
    zj schedule rm 'a b' 2>/dev/null
    assert_eq "$?" 2 "rm of a bad name"
    zj schedule frob 2>/dev/null
    assert_eq "$?" 2 "an unknown subcommand"
    assert_eq "$(sql 'select count(*) from schedules')" 0 "schedules stored"
}

test_schedule_rm_of_an_unknown_name_and_a_second_add_exit_1() {
    start_coordinator
    zj schedule rm nightly 2>err
    assert_eq "$?" 1 "rm of an unknown name"
    grep -q "no schedule named 'nightly'" err || fail "stderr: $(cat err)"
    zj schedule add nightly --cron '0 3 * * *' echo >/dev/null || fail "add"
    zj schedule add nightly --every 1s echo 2>err
    assert_eq "$?" 1 "a second add of one name"
    grep -q "schedule 'nightly' exists" err || fail "stderr: $(cat err)"
    assert_eq "$(sql 'select cron from schedules')" "0 3 * * *" "the kept one"
    zj schedule add nightly --every 1h echo --replace >/dev/null ||
        fail "add --replace"
    assert_eq "$(sql 'select every_ms, cron is null from schedules')" \
        "3600000|1" "the replaced one"
}

runs() { sql "select count(*) from schedule_runs where name = '$1'"; }
succeeded() {
    sql "select count(*) from jobs join schedule_runs on id = job_id
         where name = '$1' and state = 'succeeded'"
}

test_schedule_every_makes_jobs_that_run_until_rm() {
    start_coordinator
    start_worker w1
    zj schedule add tick --every 1s echo '{"n": 1}' --priority 2 \
        --retries 1 >out || fail "add: $(cat out)"
    grep -q '^tick added (every 1.0s, echo, next ' out || fail "out: $(cat out)"
    wait_until 20 value_is -ge 2 succeeded tick
    assert_eq "$(sql "select distinct args || ' ' || priority || ' ' ||
        max_attempts from jobs")" '{"n": 1} 2 2' "the jobs' spec"
    zj schedule list --json >list || fail "list"
    grep -q '"name": "tick"' list || fail "list: $(cat list)"
    last=$(sql "select last_id from schedules where name = 'tick'")
    [ "$last" -ge 1 ] || fail "last_id $last"
    zj schedule rm tick >out || fail "rm"
    grep -q '^tick removed' out || fail "rm printed: $(cat out)"
    made=$(runs tick)
    sleep 2.5 #  two periods: no run may come
    assert_eq "$(runs tick)" "$made" "runs after rm"
    assert_eq "$(zj schedule list --json)" "" "list after rm"
}

test_schedule_survives_kill_9_without_firing_a_due_time_twice() {
    start_coordinator
    start_worker w1
    zj schedule add tick --every 1s echo >/dev/null || fail "add"
    wait_until 20 value_is -ge 2 runs tick
    kill -KILL "$COORDINATOR_PID"; wait "$COORDINATOR_PID" 2>/dev/null
    before=$(runs tick)
    killed_at=$(date +%s.%N)
    sleep 3.2 #  three due times pass while it is down
    restarting_at=$(date +%s.%N)
    start_coordinator
    wait_until 20 value_is -ge $((before + 3)) runs tick
    grep -q "schedules loaded count=1" "$T/coordinator.log" ||
        fail "log: $(tail -3 "$T/coordinator.log")"
    assert_eq "$(sql "select count(*) - count(distinct due_at)
        from schedule_runs where name = 'tick'")" 0 "due times fired twice"
    assert_eq "$(sql "select count(*) from schedule_runs
        where job_id not in (select id from jobs)")" 0 "runs without a job"
    assert_eq "$(sql "select count(*) from jobs
        where created_at > $killed_at and created_at < $restarting_at")" 0 \
        "jobs made while down"
    #  One catch-up run for the due times missed, not one per due time:
    #  the first missed one at most, none for the later ones.
    missed=$(sql "select count(*) from schedule_runs where name = 'tick'
        and due_at >= $killed_at and due_at < $restarting_at")
    [ "$missed" -le 1 ] || fail "$missed runs for the missed due times"
    assert_eq "$(sql "select count(*) from schedule_runs where name = 'tick'
        and due_at >= $killed_at + 1 and due_at < $restarting_at")" 0 \
        "runs for the later missed due times"
    wait_until 20 value_is -ge 3 succeeded tick
}

test_schedule_cron_lists_the_next_minute() {
    start_coordinator
    before=$(date +%s)
    zj schedule add minutely --cron '* * * * *' echo >/dev/null || fail "add"
    after=$(date +%s)
    next=$(zj schedule list --json | sed -n 's/.*"next_at": \([0-9]*\).*/\1/p')
    first=$(( (before / 60 + 1) * 60 )) last=$(( (after / 60 + 1) * 60 ))
    [ "$next" = "$first" ] || [ "$next" = "$last" ] ||
        fail "next_at $next, expected $first"
    zj schedule list --json | grep -q '"cron": "\* \* \* \* \*"' ||
        fail "list: $(zj schedule list --json)"
    assert_eq "$(sql "select cast(next_at as integer) from schedules")" \
        "$next" "the stored next run"
}
