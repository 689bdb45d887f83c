#  basic.sh - jobs of every built-in kind through the real programs.

test_echo_submit_wait() {
    start_coordinator
    start_worker w1
    id=$(zj submit echo '{"hello": "world"}') || fail "submit failed"
    [ "$id" -gt 0 ] || fail "submit printed '$id', not an id"
    out=$(zj wait "$id") || fail "wait exited $?"
    echo "$out" | grep -q '"state": *"succeeded"' || fail "not succeeded: $out"
    echo "$out" | grep -q '"hello": *"world"' || fail "result lost: $out"
    assert_eq "$(sql "select state from jobs where id=$id")" succeeded "store state"
    assert_eq "$(sql "select json_extract(result,'\$.hello') from jobs where id=$id")" world "store result"
}

test_submit_wait_flag() {
    start_coordinator
    start_worker w1
    out=$(zj submit echo '[1,2,3]' --wait) || fail "submit --wait exited $?"
    echo "$out" | grep -q '"result": *\[ *1, *2, *3 *\]' || fail "result: $out"
}

test_sleep_jobs_overlap_on_one_worker() {
    start_coordinator
    start_worker w1
    for _ in $(seq 50); do echo '{"kind": "sleep", "args": {"seconds": 1}}'; done >batch.jsonl
    zj submit --batch batch.jsonl >ids || fail "batch submit failed"
    assert_eq "$(wc -l <ids)" 50 "ids printed"
    zj gather - <ids >results || fail "gather exited $?"
    assert_eq "$(grep -c '"succeeded"' results)" 50 "succeeded results"
    # Overlap, from the store: the last start came before the first end.
    overlapped=$(sql "select max(started_at) < min(finished_at) from jobs")
    assert_eq "$overlapped" 1 "all 50 sleeps were running at the same time"
    assert_eq "$(sql "select count(distinct worker) from jobs")" 1 "one worker"
}

test_gather_keeps_order() {
    start_coordinator
    start_worker w1
    # Later ids finish first: sleeps of decreasing length, in one batch so
    # that they start together however slow each submit is (ASan).
    for seconds in 0.8 0.6 0.4 0.2 0; do
        echo "{\"kind\": \"sleep\", \"args\": {\"seconds\": $seconds}}"
    done >sleeps.jsonl
    ids=$(zj submit --batch sleeps.jsonl | tr '\n' ' ')
    zj gather $ids >results || fail "gather exited $?"
    got=$(grep -o '"id": *[0-9]*' results | grep -o '[0-9]*' | tr '\n' ' ')
    assert_eq "$got" "$(echo $ids) " "gather order"
    # The store shows they finished in the opposite order.
    first_done=$(sql "select id from jobs order by finished_at limit 1")
    assert_eq "$first_done" "$(echo $ids | awk '{print $5}')" "finish order"
}

test_cpu_jobs_run_in_different_processes() {
    start_coordinator
    start_worker w1 --cpu-procs 2 --plugin "$ZJ_BIN/test_plugin.so"
    for _ in $(seq 20); do echo '{"kind": "pid"}'; done >batch.jsonl
    zj submit --batch batch.jsonl | zj gather - >results || fail "gather failed"
    pids=$(grep -o '"pid": *[0-9]*' results | sort -u | wc -l)
    assert_eq "$pids" 2 "distinct pool processes"
    worker_pid=$WORKER_PID_w1
    refute "a CPU job ran in the worker's own process" \
        grep -q "\"pid\": *$worker_pid[,}]" results
}

test_sha256_and_primes() {
    start_coordinator
    start_worker w1 --cpu-procs 2
    id=$(zj submit sha256 '{"data": "abc"}')
    zj wait "$id" | grep -q ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad \
        || fail "sha256 of abc"
    id=$(zj submit primes '{"limit": 1000000}')
    zj wait "$id" | grep -q '"count": *78498' || fail "primes below 1e6"
}

#  running_and_queued: "R Q", the store's count of each state.
running_and_queued() {
    sql "select sum(state='running') || ' ' || sum(state='queued') from jobs"
}

test_cpu_process_holds_one_job_ready() {
    start_coordinator
    start_worker w1 --cpu-procs 1
    assert_eq "$(sql "select cpu_slots from workers")" 2 "credit: a process and a job ready"
    # Three jobs of about a second: one runs, one waits in the
    # worker, the third stays queued in the coordinator.
    ids=$(for _ in 1 2 3; do zj submit sha256 '{"data": "x", "rounds": 5000000}'; done)
    wait_until 5 value_is = "2 1" running_and_queued
    zj gather $ids >results || fail "gather exited $?"
    assert_eq "$(grep -c '"hex"' results)" 3 "results"
}

test_cpu_prefetch_zero_holds_no_job() {
    start_coordinator
    start_worker w1 --cpu-procs 1 --cpu-prefetch 0
    assert_eq "$(sql "select cpu_slots from workers")" 1 "credit: the process alone"
    ids=$(for _ in 1 2; do zj submit sha256 '{"data": "x", "rounds": 5000000}'; done)
    wait_until 5 value_is = "1 1" running_and_queued
    zj gather $ids >results || fail "gather exited $?"
    assert_eq "$(grep -c '"hex"' results)" 2 "results"
    #  Through eval, 2>err is the worker's alone, not refute's too.
    refute "--cpu-prefetch 65 accepted" \
        eval '"$ZJ_BIN/zjob-worker" --cpu-prefetch 65 2>err'
    grep -q -- "--cpu-prefetch takes 0..64" err || fail "usage error: $(cat err)"
}

test_exec_needs_allow_exec() {
    start_coordinator
    start_worker plain
    start_worker trusted --allow-exec
    id=$(zj submit exec '{"argv": ["sh", "-c", "echo out; echo err >&2; exit 3"], "check": false}')
    out=$(zj wait "$id") || fail "exec job failed: $out"
    echo "$out" | grep -q '"exit": *3' || fail "exit code: $out"
    echo "$out" | grep -q '"stdout": *"out\\n"' || fail "stdout: $out"
    echo "$out" | grep -q '"stderr": *"err\\n"' || fail "stderr: $out"
    assert_eq "$(sql "select worker from jobs where id=$id")" trusted "ran where exec is allowed"
    id=$(zj submit exec '{"argv": ["cat"], "stdin": "fed through stdin"}')
    zj wait "$id" | grep -q '"stdout": *"fed through stdin"' || fail "stdin"
}

children_at_least() {
    [ "$(pgrep -P "$WORKER_PID_w1" -x sleep | wc -l)" -ge "$1" ]
}

test_many_exec_jobs_await_children_without_threads() {
    #  Spawning 200 children holds the worker's loop for over a second
    #  under AddressSanitizer: beats of 2 s keep it from being lost.
    start_coordinator --heartbeat 2s
    start_worker w1 --allow-exec
    for _ in $(seq 200); do
        echo '{"kind": "exec", "args": {"argv": ["sleep", "1"]}}'
    done >batch.jsonl
    zj submit --batch batch.jsonl >ids
    # At some moment at least 150 children run at once under the worker...
    wait_until 20 children_at_least 150
    threads=$(ls "/proc/$WORKER_PID_w1/task" | wc -l)
    zj gather - <ids >results || fail "gather"
    assert_eq "$(grep -c '"exit": *0' results)" 200 "exec results"
    assert_eq "$(sql "select max(started_at) < min(finished_at) from jobs")" 1 \
        "200 child processes awaited at once"
    # ...awaited by coroutines on one loop, not by a thread each.
    [ "$threads" -lt 50 ] || fail "worker used $threads threads for 200 children"
}

test_2000_sleeps_and_cpu_jobs_over_two_workers() {
    start_coordinator
    start_worker w1 --cpu-procs 2
    start_worker w2 --cpu-procs 2
    {
        for _ in $(seq 2000); do echo '{"kind": "sleep", "args": {"seconds": 1}}'; done
        for _ in $(seq 20); do echo '{"kind": "primes", "args": {"limit": 2000000}}'; done
    } >batch.jsonl
    zj submit --batch batch.jsonl | zj gather - >results || fail "gather failed"
    assert_eq "$(grep -c '"slept": *1' results)" 2000 "sleep results"
    assert_eq "$(grep -c '"count": *148933' results)" 20 "primes results"
    assert_eq "$(sql "select count(distinct worker) from jobs where kind='sleep'")" 2 \
        "sleeps spread over both workers"
    assert_eq "$(sql "select count(distinct worker) from jobs where kind='primes'")" 2 \
        "CPU jobs spread over both workers"
    # Credit: no worker ever ran more CPU jobs at once than its 2 processes.
    most=$(sql "select max(n) from (select a.id, count(*) as n from jobs a
                join jobs b on b.worker = a.worker and b.kind = 'primes'
                 and b.started_at <= a.started_at and b.finished_at > a.started_at
                where a.kind = 'primes' group by a.id)")
    [ "$most" -le 2 ] || fail "$most CPU jobs ran at once on one worker"
    assert_eq "$(sql "select count(*) from workers where state='connected'")" 2 "workers table"
}

test_batch_args_are_stored_as_written() {
    start_coordinator
    printf '%s\n' '{"kind": "echo", "args": {"seconds": 0.6, "x": [1.5, 0.1, 3, 1e300]}}' >batch.jsonl
    id=$(zj submit --batch batch.jsonl) || fail "submit"
    assert_eq "$(sql "select args from jobs where id=$id")" \
        '{"seconds":0.6,"x":[1.5,0.1,3,1e300]}' "args text in the store"
}

#  --as-completed prints each line as its job ends: the quick job's
#  line comes first although its id comes second, and the exit is still
#  that of the whole gather.
test_gather_as_completed_prints_in_finish_order() {
    start_coordinator
    start_worker w1
    slow=$(zj submit sleep '{"seconds": 1.5}') || fail "submit slow"
    quick=$(zj submit echo '{"n": 1}') || fail "submit quick"
    bad=$(zj submit sleep '{"seconds": "x"}') || fail "submit bad"
    zj gather --as-completed "$slow" "$quick" "$bad" >out
    assert_eq "$?" 1 "exit with one failed job"
    assert_eq "$(wc -l <out)" 3 "lines"
    assert_eq "$(tail -1 out | grep -o '"id": [0-9]*')" "\"id\": $slow" "the slow job's line last"
    zj gather "$slow" "$quick" >out || fail "gather in order"
    assert_eq "$(head -1 out | grep -o '"id": [0-9]*')" "\"id\": $slow" "in order without the flag"
    zj wait --as-completed "$slow" 2>err
    assert_eq "$?" 2 "zjob wait takes no --as-completed"
}

#  --version on the three programs; --log-level wins over ZJOB_LOG, and
#  a level that does not exist is a usage error.
test_version_and_log_level() {
    local program version
    version=$(sed -n 's/^#define ZJ_VERSION "\(.*\)"$/\1/p' "$root/common/version.h")
    [ -n "$version" ] || fail "no ZJ_VERSION in common/version.h"
    for program in zjob zjob-worker zjob-coordinator; do
        assert_eq "$("$ZJ_BIN/$program" --version)" "$program $version (protocol 1)" \
            "$program --version"
    done
    ZJOB_LOG=debug start_coordinator --log-level error
    ZJOB_LOG=debug start_worker w1 --log-level warning
    zj submit echo '{}' --wait >/dev/null || fail "the job failed"
    refute "info lines with --log-level error" grep -q '^I:' "$T/coordinator.log"
    refute "info lines with --log-level warning" grep -q '^I:' "$T/w1.log"
    "$ZJ_BIN/zjob-worker" --log-level loud >/dev/null 2>"$T/usage.err"
    assert_eq "$?" 2 "exit of --log-level loud"
    grep -q -- "--log-level takes error, warning, info or debug" "$T/usage.err" ||
        fail "no usage error: $(cat "$T/usage.err")"
}
