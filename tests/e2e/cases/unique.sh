#  unique.sh - unique jobs from a shell script: zjob submit --unique KEY
#  [--unique-for DUR], and "unique"/"unique_for" in batch lines.

#  Bad keys and windows are usage errors, before anything is sent.
test_unique_bad_keys_and_windows_are_refused() {
    start_coordinator
    long=$(printf 'k%.0s' $(seq 257))
    for bad in "" "$long" "$(printf 'a\tb')"; do
        zj submit echo --unique "$bad" 2>err
        assert_eq "$?" 2 "exit of --unique '${bad:0:20}'"
    done
    grep -q "unique wants a key of 1..256 bytes" err || fail "no usage reason: $(cat err)"
    for bad in 0 x -1s 367d; do
        zj submit echo --unique k --unique-for "$bad" 2>err
        assert_eq "$?" 2 "exit of --unique-for '$bad'"
    done
    grep -q "unique-for wants a duration of 1ms..366d" err || fail "no usage reason: $(cat err)"
    zj submit echo --unique-for 1h 2>err
    assert_eq "$?" 2 "exit of --unique-for without --unique"
    printf '{"kind": "echo", "unique": ""}\n' >bad.jsonl
    zj submit --batch bad.jsonl 2>err
    assert_eq "$?" 2 "exit of a batch line with an empty key"
    grep -q 'bad.jsonl line 1: bad "unique"' err || fail "no line reason: $(cat err)"
    printf '{"kind": "echo", "unique_for": "1h"}\n' >bad.jsonl
    zj submit --batch bad.jsonl 2>err
    assert_eq "$?" 2 "exit of unique_for without unique"
    zj submit --batch bad.jsonl --unique k 2>err
    assert_eq "$?" 2 "exit of --batch with --unique"
    assert_eq "$(sql "select count(*) from jobs")" 0 "jobs after the refusals"
}

#  The same key twice gives the same id and one row; in one batch too.
test_unique_key_twice_gives_the_same_id() {
    start_coordinator
    a=$(zj submit echo '{"n": 1}' --unique order-42) || fail "submit a"
    b=$(zj submit echo '{"n": 2}' --unique order-42) || fail "submit b"
    assert_eq "$b" "$a" "the second submit's id"
    assert_eq "$(sql "select count(*) from jobs")" 1 "jobs"
    assert_eq "$(sql "select id from unique_keys where key = 'order-42'")" "$a" "the key's row"
    printf '{"kind": "echo", "unique": "x"}\n{"kind": "echo"}\n{"kind": "echo", "unique": "x"}\n{"kind": "echo", "unique": "order-42"}\n' >batch.jsonl
    zj submit --batch batch.jsonl >ids || fail "submit the batch"
    assert_eq "$(sed -n 3p ids)" "$(sed -n 1p ids)" "a key twice in one batch"
    assert_eq "$(sed -n 4p ids)" "$a" "a key of an earlier submit"
    assert_eq "$(sql "select count(*) from jobs")" 3 "jobs after the batch"
}

#  A key reused after its window makes a new job.
test_unique_key_reused_after_its_window_makes_a_new_job() {
    start_coordinator
    a=$(zj submit echo --unique k --unique-for 1s) || fail "submit a"
    b=$(zj submit echo --unique k) || fail "submit b"
    assert_eq "$b" "$a" "within the window"
    sleep 1.5
    c=$(zj submit echo --unique k) || fail "submit c"
    refute "c got the id of a, whose window passed" [ "$c" = "$a" ]
    assert_eq "$(sql "select id from unique_keys where key = 'k'")" "$c" "the key's row"
    assert_eq "$(sql "select count(*) from jobs")" 2 "jobs"
}

#  Keys are in the store: they dedup across a coordinator killed -9.
test_unique_key_survives_a_coordinator_kill() {
    start_coordinator
    a=$(zj submit echo --unique k) || fail "submit a"
    kill -KILL "$COORDINATOR_PID"; wait "$COORDINATOR_PID" 2>/dev/null
    start_coordinator
    b=$(zj submit echo --unique k) || fail "submit b"
    assert_eq "$b" "$a" "after the restart"
    assert_eq "$(sql "select count(*) from jobs")" 1 "jobs"
}
