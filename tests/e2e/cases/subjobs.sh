#  subjobs.sh - jobs that submit and await jobs from their handler: the
#  built-in map kind, the handler API through the test plugin, parents
#  that give their slot back while they wait, and children cancelled with
#  a parent that fails or is cancelled.

PLUGIN_FLAGS=(--plugin "$ZJ_BIN/test_plugin.so")

#  items N: a JSON array of N echo args {"n": 0}..{"n": N-1}.
items() {
    local n=$1 sep="" i
    printf '['
    for ((i = 0; i < n; i++)); do printf '%s{"n": %d}' "$sep" "$i"; sep=", "; done
    printf ']'
}

#  map returns its children's results in item order, each child records
#  its parent and its call number, and the parent holds no slot while it
#  waits.
test_subjobs_map_returns_results_in_item_order() {
    start_coordinator
    start_worker w1
    id=$(zj submit map '{"kind": "echo", "items": [3, "two", {"one": 1}, null]}') \
        || fail "submit map"
    zj wait "$id" >out || fail "wait exited $?: $(cat out)"
    grep -q '"result": {"results": \[3, "two", {"one": 1}, null\]}' out \
        || fail "map result: $(cat out)"
    assert_eq "$(sql "select group_concat(call, ',') from (select call from jobs where parent=$id order by id)")" \
        "1,2,3,4" "children's call numbers"
    assert_eq "$(sql "select count(*) from jobs where parent=$id and state='succeeded'")" 4 \
        "children succeeded"
    assert_eq "$(sql "select count(*) from jobs where parent is null")" 1 "top-level jobs"
    zj status --json "$(sql "select min(id) from jobs where parent=$id")" >status
    grep -q "\"parent\": $id" status || fail "status lacks the parent: $(cat status)"
}

#  1,000 parents of 10 children each on one worker with 100 I/O slots:
#  parents that await give their slots back, so their children run and
#  nothing deadlocks.
test_subjobs_many_parents_on_few_slots_do_not_deadlock() {
    start_coordinator
    start_worker w1 --io-slots 100
    args="{\"kind\": \"echo\", \"items\": $(items 10)}"
    for i in $(seq 1000); do echo "{\"kind\": \"map\", \"args\": $args}"; done >batch.jsonl
    zj submit --batch batch.jsonl >ids || fail "submit"
    timeout 60 "$ZJ_BIN/zjob" gather - <ids >results || fail "gather exited $?"
    assert_eq "$(grep -c '"succeeded"' results)" 1000 "parents succeeded"
    assert_eq "$(sql "select count(*) from jobs where parent is not null and state='succeeded'")" \
        10000 "children succeeded"
    grep -q '"results": \[{"n": 0}, {"n": 1}, {"n": 2}' results || fail "a parent's result: $(head -n 1 results)"
}

#  The issue's own example: a map over http items, a child per URL, each
#  response in item order; a CPU kind (sha256) as the children's kind too.
test_subjobs_map_over_http_and_cpu_items() {
    start_httpd
    start_coordinator
    start_worker w1
    url="http://127.0.0.1:$HTTP_PORT"
    id=$(zj submit map "{\"kind\": \"http\", \"concurrency\": 2, \"items\": [{\"url\": \"$url/hello\"}, {\"url\": \"$url/echo\", \"method\": \"POST\", \"body\": \"two\"}, {\"url\": \"$url/hello\"}]}") \
        || fail "submit the http map"
    zj wait "$id" >out || fail "the http map failed: $(cat out)"
    grep -q '"results": \[{"status": 200.*"body": "hello world".*"body": "two".*"body": "hello world"' out \
        || fail "the http map's results: $(cat out)"
    assert_eq "$(sql "select group_concat(kind || ':' || state) from jobs where parent = $id")" \
        "http:succeeded,http:succeeded,http:succeeded" "its children"
    id=$(zj submit map '{"kind": "sha256", "items": [{"data": "a"}, {"data": "b"}]}') \
        || fail "submit the sha256 map"
    zj wait "$id" >out || fail "the sha256 map failed: $(cat out)"
    assert_eq "$(sql "select count(*) from jobs where parent = $id and kind = 'sha256' and state = 'succeeded'")" \
        2 "CPU children of an I/O parent"
}

#  concurrency bounds how many children of one map run at once.
test_subjobs_map_bounds_its_children_at_once() {
    start_coordinator
    start_worker w1 --io-slots 50
    id=$(zj submit map '{"kind": "sleep", "concurrency": 2, "items": [{"seconds": 0.3}, {"seconds": 0.3}, {"seconds": 0.3}, {"seconds": 0.3}, {"seconds": 0.3}]}') \
        || fail "submit"
    zj wait "$id" >out || fail "wait exited $?: $(cat out)"
    #  No child started before two others had finished but one.
    overlap=$(sql "select max(n) from (select a.id, (select count(*) from jobs b where b.parent=$id and b.started_at < a.started_at and b.finished_at > a.started_at) as n from jobs a where a.parent=$id)")
    assert_eq "$overlap" 1 "children running beside one that starts"
}

#  The first child that fails fails the map, naming it; the children
#  still running are cancelled with a reason naming the parent. With
#  collect_errors the failure takes the child's place instead.
test_subjobs_a_failed_child_fails_the_map_and_cancels_the_rest() {
    start_coordinator
    start_worker w1
    id=$(zj submit map '{"kind": "sleep", "items": [{"seconds": 5}, {"seconds": "x"}, {"seconds": 5}]}') \
        || fail "submit"
    zj wait "$id" >out
    assert_eq "$?" 1 "wait's exit on a failed map"
    grep -q '"error": "item 1 (job [0-9]*) failed: bad args' out || fail "map's error: $(cat out)"
    wait_until 10 value_is = 2 sql "select count(*) from jobs where parent=$id and state='cancelled'"
    assert_eq "$(sql "select distinct error from jobs where parent=$id and state='cancelled'")" \
        "its parent job $id failed" "the cancelled children's error"
    wait_until 10 value_is = 0 sql "select count(*) from attempts where job_id in (select id from jobs where parent=$id) and finished_at is null"
    id=$(zj submit map '{"kind": "sleep", "collect_errors": true, "items": [{"seconds": 0}, {"seconds": "x"}]}') \
        || fail "submit collecting"
    zj wait "$id" >out || fail "wait on a collecting map exited $?: $(cat out)"
    grep -q '"results": \[{"slept": 0.0}, {"error": "bad args: sleep takes' out \
        || grep -q '"results": \[{"slept": 0}, {"error": "bad args: sleep takes' out \
        || fail "collected error: $(cat out)"
}

#  A child cancelled by a client fails the map that awaits it, naming it;
#  the map's other children are cancelled with it.
test_subjobs_a_cancelled_child_fails_the_map() {
    start_coordinator
    start_worker w1
    id=$(zj submit map '{"kind": "sleep", "items": [{"seconds": 30}, {"seconds": 30}, {"seconds": 30}]}') \
        || fail "submit"
    wait_until 10 value_is = 3 sql "select count(*) from jobs where parent=$id and state='running'"
    child=$(sql "select id from jobs where parent=$id and call=2")
    zj cancel "$child" >/dev/null || fail "cancel the child"
    zj wait "$id" >out
    assert_eq "$?" 1 "wait's exit"
    grep -q "item 1 (job $child) cancelled: cancelled" out || fail "map's error: $(cat out)"
    wait_until 10 value_is = 2 sql "select count(*) from jobs where parent=$id and error='its parent job $id failed'"
}

#  A parent's timeout ends it failed, and its unfinished children with it.
test_subjobs_a_parent_that_times_out_cancels_its_children() {
    start_coordinator
    start_worker w1
    id=$(zj submit map '{"kind": "sleep", "items": [{"seconds": 30}, {"seconds": 30}]}' --timeout 500ms) \
        || fail "submit"
    zj wait "$id" >out
    assert_eq "$?" 1 "wait's exit"
    grep -q '"error": "timeout after 500 ms"' out || fail "map's error: $(cat out)"
    wait_until 10 value_is = 2 sql "select count(*) from jobs where parent=$id and state='cancelled' and error='its parent job $id failed'"
    wait_until 10 value_is = 0 sql "select count(*) from attempts where finished_at is null"
}

#  A child that times out is a failed child: the map says so.
test_subjobs_a_child_that_times_out_fails_the_map() {
    start_coordinator
    start_worker w1
    id=$(zj submit map '{"kind": "sleep", "timeout_ms": 200, "items": [{"seconds": 5}]}') \
        || fail "submit"
    zj wait "$id" >out
    assert_eq "$?" 1 "wait's exit"
    grep -q 'item 0 (job [0-9]*) failed: timeout after 200 ms' out || fail "map's error: $(cat out)"
}

#  Cancelling a parent cancels its children that have not finished, and
#  theirs, down the tree.
test_subjobs_a_cancelled_parent_cancels_its_children() {
    start_coordinator
    start_worker w1
    inner='{"kind": "sleep", "items": [{"seconds": 30}, {"seconds": 30}]}'
    id=$(zj submit map "{\"kind\": \"map\", \"items\": [$inner, $inner]}") || fail "submit"
    wait_until 10 value_is = 4 sql "select count(*) from jobs where kind='sleep' and state='running'"
    zj cancel "$id" >out || fail "cancel exited $?"
    wait_until 10 value_is = 7 sql "select count(*) from jobs where state='cancelled'"
    assert_eq "$(sql "select count(*) from jobs where kind='map' and parent=$id and error='its parent job $id was cancelled'")" \
        2 "the inner maps, cancelled with their parent"
    assert_eq "$(sql "select count(*) from jobs where kind='sleep' and error like 'its parent job % was cancelled'")" \
        4 "the sleeps, cancelled with theirs"
    wait_until 10 value_is = 0 sql "select count(*) from attempts where finished_at is null"
}

#  The handler API from a plugin: submit and await one child; a child
#  never awaited runs to its end and is named in the worker's log; a job
#  cannot await itself; a CPU handler cannot submit.
test_subjobs_the_handler_api_from_a_plugin() {
    start_coordinator
    start_worker w1 "${PLUGIN_FLAGS[@]}"
    id=$(zj submit child '{"x": 1}') || fail "submit child"
    zj wait "$id" >out || fail "wait exited $?: $(cat out)"
    child=$(sql "select id from jobs where parent=$id")
    grep -q "\"result\": {\"child\": $child, \"state\": \"succeeded\", \"result\": {\"x\": 1}}" out \
        || fail "child's result: $(cat out)"
    id=$(zj submit orphan) || fail "submit orphan"
    zj wait "$id" >out || fail "orphan exited $?: $(cat out)"
    child=$(sql "select id from jobs where parent=$id")
    grep -q "never awaited parent=$id child=$child kind=sleep" "$T/w1.log" \
        || fail "no never-awaited line: $(grep -i await "$T/w1.log")"
    wait_until 10 value_is = succeeded sql "select state from jobs where id=$child"
    id=$(zj submit self) || fail "submit self"
    zj wait "$id" >out
    grep -q "awaits job $id, itself or a job that awaits it: it would wait for ever" out \
        || fail "self await: $(cat out)"
    id=$(zj submit cpuparent) || fail "submit cpuparent"
    zj wait "$id" >out
    grep -q "only I/O handlers may submit and await jobs" out || fail "cpu parent: $(cat out)"
}

#  zjob workers shows how many jobs await without a slot, and the bound.
test_subjobs_workers_shows_suspended_parents() {
    start_coordinator
    start_worker w1 --max-suspended 7
    id=$(zj submit map '{"kind": "sleep", "items": [{"seconds": 30}]}') || fail "submit"
    wait_until 10 value_is = running sql "select state from jobs where parent=$id"
    wait_until 10 grep_workers '"suspended": 1, "max_suspended": 7'
    zj cancel "$id" >/dev/null
}

grep_workers() { zj workers >workers.out && grep -q "$1" workers.out; }

#  zjob tree shows a map's children under it, then what it runs after;
#  zjob jobs --parent lists them in the order they were made.
test_subjobs_tree_and_jobs_show_children() {
    start_coordinator
    start_worker w1
    a=$(zj submit echo '{"a": 1}') || fail "submit a"
    inner='{"kind": "echo", "items": [1, 2]}'
    id=$(zj submit map "{\"kind\": \"map\", \"items\": [$inner, $inner]}" --after "$a") \
        || fail "submit map"
    zj wait "$id" >/dev/null || fail "map did not succeed"
    zj tree "$id" >tree || fail "tree exited $?"
    assert_eq "$(grep -o '"depth": [0-9]*' tree | tr -d '"depth: ' | tr '\n' ' ')" \
        "0 1 2 2 1 2 2 1 " "depths"
    assert_eq "$(grep -o '"relation": "[a-z]*"' tree | cut -d'"' -f4 | tr '\n' ' ')" \
        "child child child child child child after " "relations"
    assert_eq "$(tail -n 1 tree | grep -o '"id": [0-9]*')" "\"id\": $a" "the job it runs after, last"
    if command -v script >/dev/null; then
        script -qec "$ZJ_BIN/zjob tree $id" /dev/null >drawn </dev/null
        grep -q "├── child $((id + 1))  map  succeeded" drawn || fail "no child line: $(cat drawn)"
        grep -q "└── $a  echo  succeeded" drawn || fail "no after line: $(cat drawn)"
    fi
    zj jobs --parent "$id" --json >children || fail "jobs --parent exited $?"
    assert_eq "$(grep -o '"id": [0-9]*' children | tr -d '"id: ' | tr '\n' ' ')" \
        "$((id + 1)) $((id + 2)) " "children of the map, in call order"
    zj jobs --parent x 2>err
    assert_eq "$?" 2 "exit of jobs --parent x"
}

#  Progress: a CPU job's steps through its pool process, and a map's
#  children done; zjob watch shows them as they change, and the store
#  holds the last. A burst of 10,000 reports at the start is coalesced.
test_progress_of_a_cpu_job_and_a_map() {
    start_coordinator
    start_worker w1 --cpu-procs 1 "${PLUGIN_FLAGS[@]}"
    id=$(zj submit steps '{"steps": 5, "ms": 300}') || fail "submit steps"
    zj watch "$id" >lines || fail "watch exited $?: $(cat lines)"
    grep -q "\"id\": $id, \"state\": \"running\", \"done\": [1-4], \"total\": 5, \"text\": \"step [1-4]\"" lines \
        || fail "no step while it ran: $(cat lines)"
    tail -n 1 lines | grep -q '"state": "succeeded", "done": 5, "total": 5, "text": "step 5"' \
        || fail "last line: $(tail -n 1 lines)"
    assert_eq "$(sql "select progress_done || '/' || progress_total || ' ' || progress_text from jobs where id=$id")" \
        "5/5 step 5" "stored progress"
    zj status "$id" >status
    grep -q "progress:    5 of 5, step 5" status || fail "status: $(cat status)"
    id=$(zj submit map '{"kind": "sleep", "concurrency": 1, "items": [{"seconds": 0.2}, {"seconds": 0.2}, {"seconds": 0.2}]}') \
        || fail "submit map"
    zj watch "$id" >lines || fail "watch map exited $?"
    grep -q '"done": [12], "total": 3, "text": "children done"' lines || fail "map lines: $(cat lines)"
    assert_eq "$(sql "select progress_done || '/' || progress_total from jobs where id=$id")" "3/3" \
        "map's stored progress"
    zj watch 999 2>err
    assert_eq "$?" 2 "watch of an unknown job"
}

#  Logs: an exec job's output, a CPU handler's stdout and stderr, zjob_log
#  from an I/O handler past --max-log, and a retried job's attempts.
test_logs_of_exec_cpu_io_and_retried_jobs() {
    start_coordinator
    start_worker w1 --allow-exec --max-log 10K --cpu-procs 1 "${PLUGIN_FLAGS[@]}"
    id=$(zj submit exec '{"argv": ["sh", "-c", "echo out1; echo err1 >&2; sleep 0.3; echo out2"]}') \
        || fail "submit exec"
    zj logs "$id" --follow >log || fail "logs --follow exited $?: $(cat log)"
    assert_eq "$(cat log)" "$(printf 'out1\nout2\nerr1')" "exec's log"
    id=$(zj submit steps '{"steps": 2, "ms": 10}') || fail "submit steps"
    zj wait "$id" >/dev/null || fail "steps failed"
    zj logs "$id" >log || fail "logs exited $?"
    grep -q "^printed 2 of 2$" log || fail "no stdout line: $(cat log)"
    grep -q "^warned 1$" log || fail "no stderr line: $(cat log)"
    id=$(zj submit chatty '{"bytes": 100000}') || fail "submit chatty"
    zj wait "$id" >/dev/null || fail "chatty failed"
    zj logs "$id" >log || fail "logs of chatty exited $?"
    size=$(wc -c <log)
    [ "$size" -gt 10000 ] && [ "$size" -lt 10400 ] || fail "chatty's log is $size bytes"
    tail -n 1 log | grep -q "zjob: --max-log reached" || fail "no cut line: $(tail -n 2 log)"
    head -n 1 log | grep -q "^00000000\.\.\." || fail "first line: $(head -n 1 log)"
    #  Fail the first attempt only: the job's second run finds the mark.
    id=$(zj submit exec "{\"argv\": [\"sh\", \"-c\", \"echo try; test -e $T/mark || { touch $T/mark; exit 1; }\"]}" --retries 1 --backoff 10ms) \
        || fail "submit retried"
    zj wait "$id" >/dev/null || fail "the retried job failed"
    assert_eq "$(zj logs "$id")" "$(printf 'try\n--- attempt 2 ---\ntry')" "retried job's log"
    #  Two I/O jobs print around a sleep at the same time: each line goes
    #  to the job that printed it.
    a=$(zj submit printer) && b=$(zj submit printer) || fail "submit printers"
    zj gather "$a" "$b" >/dev/null || fail "printers failed"
    assert_eq "$(zj logs "$a")" "$(printf 'before %s\nafter %s' "$a" "$a")" "first printer's log"
    assert_eq "$(zj logs "$b")" "$(printf 'before %s\nafter %s' "$b" "$b")" "second printer's log"
    zj logs 999 2>err
    assert_eq "$?" 2 "logs of an unknown job"
    assert_eq "$(sql "select length(log) > 0 from jobs where id=$id")" 1 "jobs.log in the store"
}
