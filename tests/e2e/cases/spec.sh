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
