#  retention.sh - the coordinator's --keep and zjob purge: finished jobs
#  deleted, the jobs others still need kept, pages reused, bad input
#  refused.

rows() { sql "select count(*) from jobs where id = $1"; }
has_row() { [ "$(rows "$1")" = 1 ]; }
lost_row() { [ "$(rows "$1")" = 0 ]; }

#  A job that an unfinished job runs after, and a finished child of an
#  unfinished parent, are kept past --keep; once those end, all go but
#  the newest job.
test_retention_keeps_what_unfinished_jobs_need() {
    start_coordinator --keep 1s
    start_worker w1
    a=$(zj submit echo '{"n": "a"}') || fail "submit a"
    zj wait "$a" >/dev/null || fail "a failed"
    b=$(zj submit sleep '{"seconds": 3}' --after "$a") || fail "submit b"
    m=$(zj submit map '{"kind": "sleep", "concurrency": 1, "items": [{"seconds": 0.1}, {"seconds": 3}]}') \
        || fail "submit map"
    wait_until 10 value_is = 1 sql "select count(*) from jobs where parent = $m and state = 'succeeded'"
    first=$(sql "select id from jobs where parent = $m and call = 1")
    sleep 2.2 #  past --keep for a and for the map's first child
    has_row "$a" || fail "job $a was deleted while job $b, which runs after it, ran"
    has_row "$first" || fail "child $first was deleted while its parent $m ran"
    zj gather "$b" "$m" >/dev/null || fail "b or the map failed"
    last=$(zj submit echo '{"n": "last"}') || fail "submit last"
    zj wait "$last" >/dev/null || fail "last failed"
    wait_until 15 lost_row "$a"
    wait_until 15 value_is = 1 sql "select count(*) from jobs"
    has_row "$last" || fail "the newest job was deleted"
    assert_eq "$(sql "select count(*) from attempts where job_id != $last")" 0 \
        "attempts of deleted jobs"
}

#  A purge of everything finished leaves a running job alone; it ends
#  with its result stored, and the next purge takes it.
test_retention_a_purge_leaves_a_running_job() {
    start_coordinator --keep 0
    start_worker w1
    for n in 1 2 3; do zj submit echo "{\"n\": $n}"; done | zj gather - >/dev/null \
        || fail "echo jobs failed"
    run=$(zj submit sleep '{"seconds": 1.5}') || fail "submit sleep"
    wait_until 10 value_is = running sql "select state from jobs where id = $run"
    zj purge --older-than 0 >out || fail "purge exited $?: $(cat out)"
    assert_eq "$(cat out)" "purged 3 jobs" "purge while a job runs"
    zj wait "$run" >out || fail "the running job failed after the purge: $(cat out)"
    assert_eq "$(sql "select state from jobs where id = $run")" succeeded "its row"
    newest=$(zj submit echo) && zj wait "$newest" >/dev/null || fail "newest"
    zj purge --older-than 0 --json >out || fail "second purge"
    assert_eq "$(cat out)" '{"purged": 1}' "second purge"
    lost_row "$run" || fail "the job that ran is still there"
}

#  --state and --kind choose what goes; bad values are usage errors
#  before anything is sent.
test_retention_purge_filters_and_bad_input() {
    start_coordinator --keep 0
    start_worker w1
    ok=$(zj submit echo '{"n": 1}') && zj wait "$ok" >/dev/null || fail "echo"
    bad=$(zj submit sleep '{"seconds": "soon"}') || fail "submit bad"
    zj wait "$bad" >/dev/null
    held=$(zj submit echo --delay 1h) || fail "submit held"
    zj cancel "$held" >/dev/null || fail "cancel"
    zj submit sleep '{"seconds": 0.1}' --wait >/dev/null || fail "newest"
    assert_eq "$(zj purge --older-than 1h)" "purged 0 jobs" "nothing an hour old"
    assert_eq "$(zj purge --older-than 0 --state failed)" "purged 1 jobs" "failed ones"
    lost_row "$bad" || fail "the failed job is still there"
    assert_eq "$(zj purge --older-than 0 --kind echo --state succeeded)" "purged 1 jobs" \
        "succeeded echo jobs"
    has_row "$held" || fail "the cancelled echo job went with --state succeeded"
    while IFS='|' read -r args reason; do
        # shellcheck disable=SC2086
        zj purge $args >out 2>err
        assert_eq "$?" 2 "exit of 'zjob purge $args'"
        grep -q -- "$reason" err || fail "'zjob purge $args' said: $(cat err)"
    done <<'CASES'
|needs --older-than DUR
--older-than soon|--older-than takes a duration
--older-than 1d --state running|--state takes succeeded, failed or cancelled, not 'running'
--older-than 1d --kind bad/kind|'bad/kind' is not a kind name
--older-than 1d extra|takes no arguments
CASES
    has_row "$held" || fail "a refused purge deleted something"
}

#  Rounds of jobs under a short --keep: deleted with their tokens and the
#  unique keys past their window, and the file stops growing because new
#  rows reuse the freed pages.
test_retention_deletes_old_jobs_and_reuses_pages() {
    start_coordinator --keep 1s
    start_worker w1
    round() {
        for _ in $(seq 2000); do echo '{"kind": "echo", "args": {"pad": "0123456789012345678901234567890123456789"}}'; done |
            zj submit --batch - | zj gather - >/dev/null || fail "round $1 failed"
        wait_until 15 value_is -le 1 sql "select count(*) from jobs"
    }
    for key in a b c; do zj submit echo --unique "$key" --unique-for 1s >/dev/null; done
    zj submit echo --unique kept --unique-for 1h >/dev/null
    round 1
    pages=$(sql "pragma page_count")
    round 2
    round 3
    assert_eq "$(sql "select count(*) from submit_tokens")" 0 "tokens left"
    assert_eq "$(sql "select group_concat(key) from unique_keys")" kept "unique keys left"
    grown=$(sql "pragma page_count")
    [ "$grown" -le $((pages + pages / 5)) ] \
        || fail "the file grew from $pages to $grown pages over two more rounds"
    grep -q "retention deleted=" "$T/coordinator.log" || fail "no retention line in the log"
}

test_retention_bad_keep_is_a_usage_error() {
    for keep in soon -1s 1x; do
        "$ZJ_BIN/zjob-coordinator" --keep "$keep" --db "$T/zjob.db" >out 2>&1
        assert_eq "$?" 2 "exit of --keep $keep"
        grep -q -- "--keep takes a duration" out || fail "no reason for --keep $keep: $(cat out)"
    done
    "$ZJ_BIN/zjob-coordinator" --help | grep -q -- "--keep DUR" || fail "--help lacks --keep"
}
