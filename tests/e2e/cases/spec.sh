#  spec.sh - proto/PROTOCOL.md as a client author reads it: replies over
#  the frame limit, and what the page promises beyond single frames.

#  A JSON string of N bytes, quotes included.
spec_string() { printf '"%*s"' "$(( $1 - 2 ))" '' | tr ' ' a; }

#  40 jobs of 1 MB args and 1 MB results: a LIST or STATUS of all of them
#  is over ZJ_MAX_FRAME (32 MiB) in one frame, so it comes in parts.
test_spec_big_list_and_status_come_in_parts() {
    start_coordinator
    start_worker w1
    local arg; arg=$(spec_string 1000000)
    for _ in $(seq 40); do echo "{\"kind\": \"echo\", \"args\": $arg}"; done >big.jsonl
    zj submit --batch big.jsonl --batch-size 10 >ids || fail "submit refused"
    zj gather - <ids >/dev/null || fail "the 40 jobs did not succeed"
    zj jobs --limit 40 --json >list 2>err
    assert_eq "$?" 0 "exit status of zjob jobs --limit 40 ($(head -c 300 err))"
    assert_eq "$(wc -l <list)" 40 "rows of zjob jobs --limit 40"
    # shellcheck disable=SC2046
    zj status --json $(cat ids) >status 2>err
    assert_eq "$?" 0 "exit status of zjob status of 40 ids ($(head -c 300 err))"
    assert_eq "$(grep -c '"succeeded"' status)" 40 "records of zjob status"
    grep -q 'encode failed' "$T/coordinator.log" &&
        fail "the coordinator dropped a reply: $(grep 'encode failed' "$T/coordinator.log")"
    return 0
}

#  The bytes of text as hex, for zjsend's hex frames.
spec_hex() { printf '%s' "$1" | od -An -tx1 | tr -d ' \n'; }

#  {v: 1, t: SUBMIT, req: 1, token: TOKEN, jobs: [{kind: KIND}]}, in hex;
#  TOKEN and KIND at most 31 bytes.
spec_submit_hex() {
    printf '85a17601a174a6%sa372657101a5%s' "$(spec_hex SUBMIT)" "$(spec_hex token)"
    printf '%02x%s' $((0xa0 + ${#1})) "$(spec_hex "$1")"
    printf 'a4%s9181a4%s' "$(spec_hex jobs)" "$(spec_hex kind)"
    printf '%02x%s\n' $((0xa0 + ${#2})) "$(spec_hex "$2")"
}

#  The same SUBMIT sent twice with its token (as a client does whose reply
#  was lost) makes one job; the token with another batch is refused.
test_spec_submit_token_makes_jobs_once() {
    start_coordinator
    "$ZJ_BIN/zjsend" -n 2 "$ZJOB_COORDINATOR" hex "$(spec_submit_hex tok-e2e echo)" >replies ||
        fail "zjsend failed"
    assert_eq "$(cat replies)" "$(printf 'SUBMITTED\nSUBMITTED')" "replies to the same SUBMIT twice"
    assert_eq "$(sql "select count(*) from jobs")" 1 "jobs made by one SUBMIT sent twice"
    "$ZJ_BIN/zjsend" "$ZJOB_COORDINATOR" hex "$(spec_submit_hex tok-e2e sleep)" >reply ||
        fail "zjsend failed"
    grep -q "^ERROR EUSAGE token 'tok-e2e' was used for another batch" reply ||
        fail "reuse of a token not refused: $(cat reply)"
    assert_eq "$(sql "select count(*) from jobs")" 1 "jobs after the refused reuse"
    assert_eq "$(sql "select token || ' ' || first_id || ' ' || count from submit_tokens")" \
        "tok-e2e 1 1" "the stored token"
}
