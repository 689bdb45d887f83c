#  lesson.sh - the examples of docs/async.md, run as written there
#  against the handlers of docs/examples/lesson.c, so the page stays true.

start_lesson() {
    start_coordinator
    start_worker w1 --plugin "$ZJ_BIN/lesson.so"
}

test_lesson_coroutines_await_and_gather() {
    start_lesson
    zj submit countdown '{"from": 3}' --wait >out || fail "countdown: $(cat out)"
    grep -q '"result": {"counted": 3}' out || fail "countdown: $(cat out)"
    start=$(date +%s%N)
    zj submit fanout '{"n": 100}' --wait >out || fail "fanout: $(cat out)"
    grep -q '"result": {"children": 100, "succeeded": 100}' out || fail "fanout: $(cat out)"
    #  100 children of 1 s ran concurrently: far from 100 s.
    [ $(( ($(date +%s%N) - start) / 1000000000 )) -lt 30 ] || fail "fanout ran its children one by one"
    zj submit map '{"kind": "echo", "items": [1, "two", {"three": 3}]}' --wait >out \
        || fail "map: $(cat out)"
    grep -q '"result": {"results": \[1, "two", {"three": 3}\]}' out || fail "map: $(cat out)"
}

test_lesson_as_completed_and_never_awaited() {
    start_lesson
    zj submit first --wait >out || fail "first: $(cat out)"
    grep -q '"result": {"first": {"slept": 0.3}}' out || fail "first: $(cat out)"
    a=$(zj submit sleep '{"seconds": 0.5}'); b=$(zj submit sleep '{"seconds": 0.2}')
    zj gather --as-completed "$a" "$b" >out || fail "gather: $(cat out)"
    assert_eq "$(sed -n 1p out | grep -o '"id": [0-9]*')" "\"id\": $b" "the first result"
    zj submit forget --wait >out || fail "forget: $(cat out)"
    child=$(grep -o '"child": [0-9]*' out | grep -o '[0-9]*$')
    parent=$(grep -o '"id": [0-9]*' out | grep -o '[0-9]*$')
    wait_until 5 grep -q "never awaited parent=$parent child=$child kind=echo" "$T/w1.log"
    zj submit blocking --wait >out || fail "blocking: $(cat out)"
    id=$(grep -o '"id": [0-9]*' out | grep -o '[0-9]*$')
    grep -q "loop blocked job=$id kind=blocking held_ms=" "$T/w1.log" || fail "no blocked warning"
}
