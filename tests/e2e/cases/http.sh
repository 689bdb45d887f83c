#  http.sh - the status page's endpoint (zjob-coordinator --http): its
#  flags, /metrics checked by promtool and against the store, the JSON
#  API against the store, and the token.

#  start_http [FLAGS...]: a coordinator with --http on a free port
#  (HTTP_URL) and one worker w1.
start_http() {
    HTTP_PORT=$("$ZJ_BIN/freeport" 1)
    HTTP_URL="http://127.0.0.1:$HTTP_PORT"
    start_coordinator --http "127.0.0.1:$HTTP_PORT" "$@"
    start_worker w1 --allow-exec
}

#  get PATH [CURL FLAGS...]: the body; the status in ./status.
get() {
    local path=$1; shift
    curl -s -m 10 -o body -w '%{http_code}' "$@" "$HTTP_URL$path" >status
    cat body
}

#  metric NAME{LABELS}: its value in ./metrics.
metric() {
    grep -F "$1 " metrics | awk '{print $2}'
}

test_http_bad_flags_exit_2() {
    for addr in bogus 0 127.0.0.1: "host:80" 65536; do
        "$ZJ_BIN/zjob-coordinator" --db "$T/x.db" --http "$addr" 2>err
        assert_eq "$?" 2 "exit code of --http $addr"
        grep -q -- "--http takes HOST:PORT" err || fail "reason for $addr: $(cat err)"
    done
    "$ZJ_BIN/zjob-coordinator" --db "$T/x.db" --http 0.0.0.0:7780 2>err
    assert_eq "$?" 2 "exit code off loopback without a token"
    grep -q "not loopback" err || fail "reason: $(cat err)"
    printf '0123456789abcdef0123\n' >token && chmod 644 token
    "$ZJ_BIN/zjob-coordinator" --db "$T/x.db" --http 127.0.0.1:7780 --http-token token 2>err
    assert_eq "$?" 2 "exit code with a token others can read"
    grep -q "chmod 600" err || fail "reason: $(cat err)"
    "$ZJ_BIN/zjob-coordinator" --db "$T/x.db" --http-token token 2>err
    assert_eq "$?" 2 "exit code of --http-token alone"
    [ ! -e "$T/x.db" ] || fail "a refused start made the store"
}

test_http_port_taken_fails_the_start() {
    start_http
    "$ZJ_BIN/zjob-coordinator" --db "$T/other.db" --clients "tcp://127.0.0.1:$("$ZJ_BIN/freeport" 1)" \
        --workers "tcp://127.0.0.1:$("$ZJ_BIN/freeport" 1)" --http "127.0.0.1:$HTTP_PORT" 2>err
    assert_eq "$?" 1 "exit code when the port is taken"
    grep -q "cannot serve the status page" err || fail "reason: $(cat err)"
}

#  Jobs that succeed and fail, counted by /metrics as the store has them,
#  in a format promtool accepts.
test_http_metrics_agree_with_the_store() {
    start_http
    for n in 1 2 3 4 5; do echo "{\"kind\": \"echo\", \"args\": {\"n\": $n}}"; done >batch.jsonl
    echo '{"kind": "exec", "args": {"argv": ["false"]}}' >>batch.jsonl
    echo '{"kind": "exec", "args": {"argv": ["true"]}}' >>batch.jsonl
    zj submit --batch batch.jsonl >ids || fail "submit exited $?"
    zj gather - <ids >/dev/null
    get /metrics >metrics
    assert_eq "$(cat status)" 200 "status of /metrics"
    promtool check metrics <metrics >promtool.out 2>&1 || fail "promtool: $(cat promtool.out)"
    for kind in echo exec; do
        for state in succeeded failed; do
            assert_eq "$(metric "zjob_jobs_finished_total{kind=\"$kind\",state=\"$state\"}")" \
                "$(sql "select count(*) from jobs where kind='$kind' and state='$state'")" \
                "finished $kind $state"
        done
        assert_eq "$(metric "zjob_jobs_submitted_total{kind=\"$kind\"}")" \
            "$(sql "select count(*) from jobs where kind='$kind'")" "submitted $kind"
        assert_eq "$(metric "zjob_job_duration_seconds_count{kind=\"$kind\"}")" \
            "$(sql "select count(*) from jobs where kind='$kind' and started_at > 0")" \
            "durations of $kind"
    done
    assert_eq "$(metric 'zjob_workers{state="connected"}')" 1 "connected workers"
    assert_eq "$(metric 'zjob_worker_slots{worker="w1",class="io"}')" 1024 "w1's io slots"
    [ "$(metric 'zjob_store_commit_seconds_count')" -gt 0 ] || fail "no commit timed"
}

#  A job of a kind no worker offers waits: the queue's depth and age say
#  so, and the overview names it.
test_http_queue_depth_and_age() {
    start_http
    id=$(zj submit nokind '{}' 2>/dev/null) || fail "submit exited $?"
    sleep 1.2
    get /metrics >metrics
    assert_eq "$(metric 'zjob_queue_depth{kind="nokind"}')" 1 "depth"
    age=$(metric 'zjob_queue_oldest_seconds{kind="nokind"}')
    awk -v a="$age" 'BEGIN { exit !(a >= 1 && a < 60) }' || fail "age $age"
    get /api/overview >overview.json
    /usr/bin/python3 - "$id" <<'PY' || fail "overview: $(cat overview.json)"
import json, sys
o = json.load(open("overview.json"))
k = {e["kind"]: e for e in o["kinds"]}["nokind"]
assert k["queued"] == 1 and k["oldest_queued_id"] == int(sys.argv[1]), k
assert o["jobs"]["queued"] == 1, o["jobs"]
assert [w["name"] for w in o["workers"]] == ["w1"], o["workers"]
assert len(o["minutes"]) == 15
PY
}

#  The JSON API reads the store: a job with its attempts, children and
#  dependencies, the failures, a page of jobs; bad requests are 400/404/405.
test_http_api_reads_the_store() {
    start_http
    a=$(zj submit echo '{"a": 1}') || fail "submit a"
    b=$(zj submit echo '{"b": 2}' --after "$a") || fail "submit b"
    f=$(zj submit exec '{"argv": ["false"]}') || fail "submit f"
    zj gather "$a" "$b" "$f" >/dev/null
    get "/api/jobs/$b" >job.json
    assert_eq "$(cat status)" 200 "status of a job"
    /usr/bin/python3 - "$a" "$b" <<'PY' || fail "job: $(cat job.json)"
import json, sys
a, b = int(sys.argv[1]), int(sys.argv[2])
j = json.load(open("job.json"))
assert j["job"]["id"] == b and j["job"]["args"] == {"b": 2}, j
assert j["job"]["state"] == "succeeded" and j["job"]["result"] == {"b": 2}, j
assert j["after"] == [{"id": a, "kind": "echo", "state": "succeeded"}], j
assert [t["attempt"] for t in j["attempts"]] == [1], j
PY
    get "/api/failures" >failures.json
    assert_eq "$(/usr/bin/python3 -c 'import json; print(json.load(open("failures.json"))[0]["id"])')" \
        "$f" "the failure listed"
    get "/api/jobs?state=succeeded&kind=echo&limit=1" >page.json
    assert_eq "$(/usr/bin/python3 -c 'import json; p = json.load(open("page.json")); print(p["jobs"][0]["id"], p["more"])')" \
        "$b True" "a page of one"
    get "/api/jobs/999999" >/dev/null; assert_eq "$(cat status)" 404 "unknown job"
    get "/api/jobs/x1" >/dev/null; assert_eq "$(cat status)" 400 "bad id"
    get "/api/jobs?state=bogus" >/dev/null; assert_eq "$(cat status)" 400 "bad state"
    get "/api/jobs?limit=100000" >/dev/null; assert_eq "$(cat status)" 400 "bad limit"
    get "/metrics" -X POST >/dev/null; assert_eq "$(cat status)" 405 "POST"
    get "/api/limits" >/dev/null; assert_eq "$(cat status)" 200 "limits"
    get "/api/schedules" >/dev/null; assert_eq "$(cat status)" 200 "schedules"
    zj workers | grep -q w1 || fail "the coordinator stopped serving"
}

test_http_token_guards_every_path() {
    printf 'token-0123456789abcdef\n' >token && chmod 600 token
    start_http --http-token "$T/token"
    for path in / /metrics /api/overview /api/jobs/1; do
        get "$path" >/dev/null
        assert_eq "$(cat status)" 401 "$path without the token"
    done
    get /metrics -H "Authorization: Bearer token-0123456789abcdef" >/dev/null
    assert_eq "$(cat status)" 200 "/metrics with Bearer"
    get /api/overview -u "anyone:token-0123456789abcdef" >/dev/null
    assert_eq "$(cat status)" 200 "/api/overview with Basic"
    get /api/overview -u "anyone:token-0123456789abcdeX" >/dev/null
    assert_eq "$(cat status)" 401 "a wrong token"
    refute "the token in the log" grep -q "token-0123456789abcdef" "$T/coordinator.log"
}

#  What only the worker knows reaches /metrics through its heartbeats: a
#  handler that held its loop for 300 ms shows as blocked seconds.
test_http_worker_figures_come_with_heartbeats() {
    HTTP_PORT=$("$ZJ_BIN/freeport" 1)
    HTTP_URL="http://127.0.0.1:$HTTP_PORT"
    start_coordinator --http "127.0.0.1:$HTTP_PORT"
    start_worker w1 --plugin "$ZJ_BIN/test_plugin.so"
    get /metrics >metrics
    assert_eq "$(metric 'zjob_worker_loop_blocked_seconds_total{worker="w1"}')" 0 "blocked before"
    id=$(zj submit block) || fail "submit"
    zj wait "$id" >/dev/null || fail "block job failed"
    blocked() {
        get /metrics >metrics
        awk -v b="$(metric 'zjob_worker_loop_blocked_seconds_total{worker="w1"}')" \
            'BEGIN { exit !(b >= 0.2 && b < 5) }'
    }
    wait_until 5 blocked
    #  Its result's batch may be unacknowledged at one beat, not for long.
    acked() {
        get /metrics >metrics
        [ "$(metric 'zjob_worker_unacked_batches{worker="w1"}')" = 0 ]
    }
    wait_until 5 acked
}
