#  records.sh - honest records: jobs of a kind no connected worker offers
#  wait for one, a busy worker's last_seen advances, exec and http jobs
#  end failed on a failing command or an HTTP error status.

worker_is_gone() {
    [ "$(sql "select state from workers where name='$1'")" != connected ]
}

test_plugin_kind_waits_for_its_worker() {
    start_coordinator
    start_worker plain
    start_worker plugged --plugin "$ZJ_BIN/test_plugin.so"
    #  The plugin's worker restarts: while it is down, its kind waits.
    kill -TERM "$WORKER_PID_plugged"; wait "$WORKER_PID_plugged" 2>/dev/null
    wait_until 10 worker_is_gone plugged
    id=$(zj submit pid 2>err) || fail "submit failed: $(cat err)"
    grep -q "warning: no connected worker offers kind 'pid'" err \
        || fail "no warning on stderr: '$(cat err)'"
    echo="$(zj submit echo '{"n": 1}' 2>err2)"
    [ ! -s err2 ] || fail "warned about an offered kind: $(cat err2)"
    zj wait "$echo" >/dev/null || fail "echo job did not run beside it"
    assert_eq "$(sql "select state from jobs where id=$id")" queued "job waiting for its kind"
    start_worker plugged --plugin "$ZJ_BIN/test_plugin.so"
    out=$(zj wait "$id") || fail "pid job failed: $out"
    assert_eq "$(sql "select state || ' ' || worker || ' ' || attempts from jobs where id=$id")" \
        "succeeded plugged 1" "job ran on the worker that came back"
}

#  last_seen of w1 in the store, in milliseconds.
last_seen_ms() { sql "select cast(last_seen * 1000 as integer) from workers where name='w1'"; }

test_busy_worker_last_seen_advances() {
    start_coordinator
    start_worker w1
    id=$(zj submit sleep '{"seconds": 30}')
    wait_until 10 value_is = running sql "select state from jobs where id=$id"
    first=$(last_seen_ms)
    wait_until 10 value_is -gt "$first" last_seen_ms
    #  store.md's query: a connected worker is silent for a few beats at most.
    silent=$(sql "select round((julianday('now') - 2440587.5) * 86400 - last_seen, 1) from workers where name='w1'")
    awk -v s="$silent" 'BEGIN { exit !(s != "" && s + 0 < 10) }' || fail "silent_s of a busy worker: '$silent'"
    zj cancel "$id" >/dev/null
}

test_exec_fails_on_exit_status_and_signal() {
    start_coordinator
    start_worker w1 --allow-exec
    id=$(zj submit exec '{"argv": ["false"]}')
    out=$(zj wait "$id"); assert_eq "$?" 1 "wait on exec of false"
    assert_eq "$(sql "select state from jobs where id=$id")" failed "exec of false"
    sql "select error from jobs where id=$id" | grep -q "exit status 1" \
        || fail "error of false: $(sql "select error from jobs where id=$id")"
    assert_eq "$(sql "select json_extract(result, '$.exit') from jobs where id=$id")" 1 \
        "exit status kept in the result"
    id=$(zj submit exec '{"argv": ["sh", "-c", "echo gone >&2; kill -9 $$"]}')
    zj wait "$id" >out; assert_eq "$?" 1 "wait on a killed command"
    assert_eq "$(sql "select state from jobs where id=$id")" failed "killed command"
    sql "select error from jobs where id=$id" | grep -q "signal 9 (SIGKILL)" \
        || fail "error of kill: $(sql "select error from jobs where id=$id")"
    assert_eq "$(sql "select json_extract(result, '$.signal') || json_extract(result, '$.stderr') from jobs where id=$id")" \
        "9gone" "signal and stderr kept in the result"
    id=$(zj submit exec '{"argv": ["false"], "check": false}')
    zj wait "$id" >/dev/null || fail "opted-out exec of false failed"
    id=$(zj submit exec '{"argv": ["sh", "-c", "kill -9 $$"], "check": false}')
    zj wait "$id" >/dev/null || fail "opted-out killed command failed"
}

test_http_error_statuses_fail_and_retry_when_worth_it() {
    start_httpd
    start_coordinator
    start_worker w1
    url="http://127.0.0.1:$HTTP_PORT/status"
    five=$(zj submit http "{\"url\": \"$url/500\"}" --retries 2 --backoff 10ms)
    four=$(zj submit http "{\"url\": \"$url/404\"}" --retries 2 --backoff 10ms)
    many=$(zj submit http "{\"url\": \"$url/429\"}" --retries 1 --backoff 10ms)
    opted=$(zj submit http "{\"url\": \"$url/404\", \"check\": false}")
    zj gather "$five" "$four" "$many" >/dev/null; assert_eq "$?" 1 "gather of failing statuses"
    assert_eq "$(sql "select state || ' ' || attempts from jobs where id=$five")" "failed 3" "500: retried"
    assert_eq "$(sql "select state || ' ' || attempts from jobs where id=$four")" "failed 1" "404: not retried"
    assert_eq "$(sql "select state || ' ' || attempts from jobs where id=$many")" "failed 2" "429: retried"
    sql "select error from jobs where id=$four" | grep -q "^http: status 404" \
        || fail "404 error: $(sql "select error from jobs where id=$four")"
    assert_eq "$(sql "select json_extract(result, '$.status') from jobs where id=$five")" 500 \
        "response kept in the result"
    out=$(zj wait "$opted") || fail "opted-out 404 failed: $out"
    echo "$out" | grep -q '"status": *404' || fail "opted-out result: $out"
}
