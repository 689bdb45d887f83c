#  daytwo.sh - zjob retry, zjob stats, zjob jobs' filters and paging.

#  A failed job retried runs again as a new job that names it; the old
#  job stays failed.
test_retry_a_failed_job_runs_it_again() {
    start_coordinator
    start_worker w1 --allow-exec
    old=$(zj submit --priority 3 --timeout 30s exec \
        "{\"argv\": [\"sh\", \"-c\", \"test -e $T/ok\"]}")
    refute "the first run succeeded" zj wait "$old" >/dev/null
    assert_eq "$(sql "select state from jobs where id = $old")" failed "the first run"
    touch "$T/ok"
    new=$(zj retry "$old") || fail "retry exited $?"
    [ "$new" -gt "$old" ] || fail "retry printed '$new'"
    zj wait "$new" >/dev/null || fail "the retry failed"
    assert_eq "$(sql "select state from jobs where id = $old")" failed "the old job after the retry"
    assert_eq "$(sql "select retry_of, priority, timeout_ms, kind from jobs where id = $new")" \
        "$old|3|30000|exec" "the new job's row"
    zj status "$new" | grep -q "^retry_of: *$old$" || fail "status: $(zj status "$new")"
    zj status --json "$new" | grep -q "\"retry_of\": *$old" || fail "status --json"
    #  The ids of stdin, and gather of what retry prints.
    echo "$old" | zj retry - | zj gather - >out || fail "retry - | gather -"
    assert_eq "$(sql "select count(*) from jobs where retry_of = $old")" 2 "two retries of $old"
}

#  A retry of a job still queued, running or succeeded, or of an unknown
#  id, is refused whole: nothing is made.
test_retry_refuses_unfinished_succeeded_and_unknown() {
    start_coordinator
    start_worker w1
    running=$(zj submit sleep '{"seconds": 30}')
    wait_until 10 value_is = running sql "select state from jobs where id = $running"
    done_id=$(zj submit echo '{"a": 1}')
    zj wait "$done_id" >/dev/null || fail "echo failed"
    cancelled=$(zj submit --delay 1h echo '{"b": 2}')
    zj cancel "$cancelled" >/dev/null
    before=$(sql "select count(*) from jobs")
    zj retry "$cancelled" "$running" >out 2>err
    assert_eq "$?" 1 "retry of a running job"
    grep -q "job $running is running: only a failed or cancelled job" err || fail "stderr: $(cat err)"
    assert_eq "$(cat out)" "" "stdout of a refused retry"
    zj retry "$done_id" 2>err
    assert_eq "$?" 1 "retry of a succeeded job"
    grep -q "job $done_id is succeeded" err || fail "stderr: $(cat err)"
    zj retry 99999 2>err
    assert_eq "$?" 2 "retry of an unknown id"
    grep -q "no such job 99999" err || fail "stderr: $(cat err)"
    zj retry abc 2>/dev/null
    assert_eq "$?" 2 "retry of a bad id"
    assert_eq "$(sql "select count(*) from jobs")" "$before" "jobs made by refused retries"
    #  A cancelled job's retry keeps its kind and args but not its delay.
    new=$(zj retry "$cancelled") || fail "retry of a cancelled job exited $?"
    zj wait "$new" | grep -q '"b": *2' || fail "the cancelled job's retry"
    assert_eq "$(sql "select state from jobs where id = $cancelled")" cancelled "the cancelled job"
}

#  zjob stats: the queues by kind and the jobs finished lately, as JSON
#  when piped (the table is for a terminal).
test_stats_reports_queues_and_failures_by_kind() {
    start_coordinator
    zj stats extra 2>/dev/null
    assert_eq "$?" 2 "stats with an argument"
    start_worker w1
    zj wait "$(zj submit echo '{"a": 1}')" >/dev/null || fail "echo failed"
    bad=$(zj submit sleep '{"seconds": -1}')
    refute "a sleep of -1 s succeeded" zj wait "$bad" >/dev/null
    running=$(zj submit sleep '{"seconds": 30}')
    wait_until 10 value_is = running sql "select state from jobs where id = $running"
    delayed=$(zj submit --delay 1h sleep '{"seconds": 1}')
    zj submit --delay 1h sleep '{"seconds": 2}' >/dev/null
    zj stats >stats.json || fail "stats exited $?"
    /usr/bin/python3 - "$delayed" "$running" <<'PY' || fail "stats: $(cat stats.json)"
import json, sys
report = json.load(open("stats.json"))
delayed, running = int(sys.argv[1]), int(sys.argv[2])
sleep, echo = report["kinds"]["sleep"], report["kinds"]["echo"]
assert report["window_minutes"] == 15, report
assert len(report["finished_per_minute"]) == 15, report
assert sum(report["finished_per_minute"]) == 2, report
assert (sleep["queued"], sleep["delayed"], sleep["held"]) == (2, 2, 0), sleep
assert sleep["running"] == 1 and sleep["failed"] == 1, sleep
assert sleep["oldest_queued"]["id"] == delayed, sleep
assert sleep["oldest_queued"]["age_s"] >= 0, sleep
assert (echo["succeeded"], echo["failed"], echo["queued"]) == (1, 0, 0), echo
assert echo["oldest_queued"] is None, echo
PY
}

#  zjob jobs --kind, --worker, --since, several states, and pages.
test_jobs_filters_and_pages() {
    start_coordinator
    start_worker w1
    for n in 1 2 3; do zj submit echo "{\"n\": $n}"; done >echo.ids
    zj gather - <echo.ids >/dev/null || fail "echo jobs failed"
    bad=$(zj submit sleep '{"seconds": -1}')
    refute "a sleep of -1 s succeeded" zj wait "$bad" >/dev/null
    held=$(zj submit --delay 1h sleep '{"seconds": 1}')
    zj cancel "$held" >/dev/null
    queued=$(zj submit --delay 1h echo '{"n": 4}')
    ids() { zj jobs "$@" | jq -r .id | tr '\n' ' '; }
    assert_eq "$(ids --kind sleep)" "$held $bad " "--kind sleep"
    assert_eq "$(ids --state failed,cancelled)" "$held $bad " "--state failed,cancelled"
    assert_eq "$(ids --state failed --state cancelled --kind sleep)" "$held $bad " "repeated --state"
    assert_eq "$(ids --worker w1 --state succeeded)" "3 2 1 " "--worker w1"
    assert_eq "$(ids --worker nobody)" "" "--worker nobody"
    assert_eq "$(ids --since 1h --kind echo)" "$queued 3 2 1 " "--since 1h"
    sql "update jobs set created_at = created_at - 7200 where id <= 2"
    assert_eq "$(ids --since 1h --kind echo)" "$queued 3 " "--since 1h after two got older"
    #  Pages: the hint names the next one, which ends without a hint.
    zj jobs --limit 2 >page1 2>err1 || fail "jobs --limit 2 exited $?"
    assert_eq "$(jq -r .id page1 | tr '\n' ' ')" "$queued $held " "page 1"
    assert_eq "$(cat err1)" "more: zjob jobs --limit 2 --before $held" "page 1's hint"
    zj jobs --limit 2 --before "$held" >page2 2>err2
    assert_eq "$(jq -r .id page2 | tr '\n' ' ')" "$bad 3 " "page 2"
    zj jobs --limit 3 --before 3 >page3 2>err3
    assert_eq "$(jq -r .id page3 | tr '\n' ' ')" "2 1 " "the last page"
    assert_eq "$(cat err3)" "" "the last page's hint"
    zj jobs --kind echo --limit 1 --before "$queued" 2>err4 | jq -r .id >page4
    assert_eq "$(cat page4)" 3 "a page of a scan"
    assert_eq "$(cat err4)" "more: zjob jobs --kind echo --limit 1 --before 3" "a scan's hint"
}

test_jobs_refuses_bad_filters() {
    start_coordinator
    for args in "--state done" "--state failed,done" "--state failed," \
                "--since 5x" "--since 0" "--before 0" "--before abc" \
                "--kind a/b" "--limit 0" "--parent 3 --kind echo" \
                "--parent 3 --state failed,cancelled"; do
        # shellcheck disable=SC2086
        zj jobs $args >out 2>err
        assert_eq "$?" 2 "zjob jobs $args"
        [ -s err ] || fail "zjob jobs $args said nothing"
        assert_eq "$(cat out)" "" "stdout of zjob jobs $args"
    done
    zj jobs --state done 2>&1 | grep -q "unknown state in 'done'" || fail "the unknown state's message"
    zj jobs --before 0 2>&1 | grep -q "before wants a job id" || fail "--before 0's message"
}
