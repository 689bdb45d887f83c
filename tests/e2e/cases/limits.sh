#  limits.sh - the coordinator's --max-* flags: each refuses what is over
#  it with a clear error, before anything is queued, and a result over
#  --max-result fails its job once, without retries.

#  string_arg N: a JSON string of N bytes, quotes included.
string_arg() { printf '"%*s"' "$(( $1 - 2 ))" '' | tr ' ' a; }

#  lines COUNT ARGS_BYTES: COUNT batch lines of echo with such args.
lines() {
    local arg; arg=$(string_arg "$2")
    for _ in $(seq "$1"); do echo "{\"kind\": \"echo\", \"args\": $arg}"; done
}

jobs_stored() { sql "select count(*) from jobs"; }

test_limits_refuse_bad_flag_values() {
    for flags in "--max-message 1K" "--max-message 64M" "--max-batch 0" \
                 "--max-batch 10001" "--max-args 2G" "--max-result lots" \
                 "--max-message 64K --max-args 60K"; do
        # shellcheck disable=SC2086
        "$ZJ_BIN/zjob-coordinator" --db "$T/never.db" $flags 2>err
        assert_eq "$?" 2 "exit status of zjob-coordinator $flags"
        flag=$(echo "$flags" | awk '{print $(NF-1)}')
        grep -q -- "^zjob-coordinator: $flag takes" err ||
            fail "no clear error for $flags: $(head -1 err)"
    done
    [ ! -e "$T/never.db" ] || fail "a store was made despite bad flags"
}

test_limits_refuse_big_batches_and_args_whole() {
    start_coordinator --max-batch 5 --max-args 100
    start_worker w1
    lines 6 10 >six.jsonl
    zj submit --batch six.jsonl >ids 2>err
    assert_eq "$?" 2 "exit status of a 6-job batch over --max-batch 5"
    grep -q "SUBMIT of 6 jobs is over this coordinator's limit of 5 per message (--max-batch); nothing was queued" err ||
        fail "unclear error: $(cat err)"
    assert_eq "$(jobs_stored)" 0 "jobs stored after the refused batch"
    zj submit --batch six.jsonl --batch-size 5 >ids || fail "--batch-size 5 refused"
    assert_eq "$(wc -l <ids)" 6 "ids of the batch sent as 5 + 1"
    zj submit echo "$(string_arg 101)" 2>err
    assert_eq "$?" 2 "exit status of args over --max-args"
    grep -q "job 0: args of 101 bytes are over this coordinator's limit of 100 (--max-args)" err ||
        fail "unclear error: $(cat err)"
    id=$(zj submit echo "$(string_arg 100)") || fail "args at the limit refused"
    zj wait "$id" >/dev/null || fail "job with args at the limit failed"
    zj gather - <ids >/dev/null || fail "the 6 jobs did not succeed"
    assert_eq "$(jobs_stored)" 7 "jobs stored: 6 + 1, none of the refused"
}

test_limits_refuse_a_big_message_with_its_reason() {
    start_coordinator --max-message 64K
    lines 3 30000 >big.jsonl
    zj submit --batch big.jsonl 2>err
    assert_eq "$?" 2 "exit status of a 90 KB message over --max-message 64K"
    grep -q "message of [0-9]* bytes is over this coordinator's limit of 65536 (--max-message)" err ||
        fail "unclear error: $(cat err)"
    assert_eq "$(jobs_stored)" 0 "jobs stored after the refused message"
    zj submit --batch big.jsonl --batch-size 1 >ids || fail "one job per message refused"
    assert_eq "$(wc -l <ids)" 3 "ids with one job per message"
    zj workers >/dev/null || fail "coordinator stopped serving"
}

test_limits_fail_a_big_result_once() {
    start_coordinator --max-result 200
    start_worker w1
    out=$(zj submit echo "$(string_arg 201)" --retries 3 --wait)
    assert_eq "$?" 1 "exit status of a job whose result is over --max-result"
    echo "$out" | grep -q "result of 201 bytes is over the coordinator's limit of 200 (--max-result)" ||
        fail "unclear error: $out"
    assert_eq "$(sql "select state || ' ' || attempts from jobs")" "failed 1" "state and attempts"
    zj submit echo "$(string_arg 200)" --wait >/dev/null || fail "result at the limit failed"
    grep -q 'job failed id=1 reason="result of 201 bytes' "$T/w1.log" ||
        fail "the worker did not log the refused result"
}

#  A batch the coordinator refuses in part: the ids printed are those of
#  the lines it took, and stderr names the lines it did not (file lines:
#  a blank one counts). With --json each id says its line.
test_limits_a_partly_refused_batch_names_its_lines() {
    start_coordinator --max-args 100
    start_worker w1
    { echo '{"kind": "echo", "args": 1}'; echo '{"kind": "echo", "args": 2}'; echo
      lines 1 200; echo '{"kind": "echo", "args": 4}'; } >mixed.jsonl
    zj --json submit --batch mixed.jsonl --batch-size 2 >ids 2>err
    assert_eq "$?" 2 "exit status of a batch refused in part"
    assert_eq "$(cat ids)" "$(printf '{"id": 1, "line": 1}\n{"id": 2, "line": 2}')" \
        "the ids and their lines"
    grep -q "zjob submit: 2 of 4 jobs not submitted: lines 4-5; the ids printed are the other lines'" err ||
        fail "stderr: $(cat err)"
}

#  An empty batch is no jobs: piped into gather, watch or cancel, nothing
#  to do, and no error.
test_limits_an_empty_batch_gathers_nothing() {
    start_coordinator
    : >empty.jsonl
    zj submit --batch empty.jsonl | zj gather - >out 2>err ||
        fail "submit | gather of nothing: $(cat err)"
    assert_eq "$(cat out)" "" "output"
    zj cancel - </dev/null || fail "cancel - of nothing"
    zj watch - </dev/null >/dev/null || fail "watch - of nothing"
    zj gather >/dev/null 2>&1
    assert_eq "$?" 2 "gather with no ids at all"
}
