#!/usr/bin/env bash
#  demo.sh - make demo: a coordinator and two workers on loopback, a batch
#  of jobs of every built-in kind, their results, a Python worker with the
#  lesson's coroutines, the status page's metrics, and the store as the
#  sqlite3 shell sees it. Each step checks its outcome: the demo stops
#  with a non-zero status at the first one that goes wrong. Everything
#  started is stopped and reaped by PID, however the script ends.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
bin=$(cd "$root/${BIN:-bin}" && pwd)
pids=()

die() {
    echo "demo: $*" >&2
    exit 1
}

#  TERM to everything started, then a bounded wait before KILL.
cleanup() {
    local status=$?
    for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
    for _ in $(seq 50); do
        local alive=0
        for pid in "${pids[@]}"; do kill -0 "$pid" 2>/dev/null && alive=1; done
        [ "$alive" = 0 ] && break
        sleep 0.1
    done
    for pid in "${pids[@]}"; do kill -KILL "$pid" 2>/dev/null || true; done
    for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
    [ "$status" = 0 ] || echo "demo: FAILED (status $status)${dir:+; logs in $dir}" >&2
    exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

#  Bold headings on a terminal only: a pipe or a file gets plain text.
if [ -t 1 ]; then bold=$'\033[1m' plain=$'\033[0m'; else bold='' plain=''; fi
step() { printf '\n%s== %s%s\n' "$bold" "$*" "$plain"; }
query() {
    printf '$ sqlite3 -header -column zjob.db "%s"\n' "$1"
    sqlite3 -header -column "$dir/zjob.db" "$1"
}
scalar() { sqlite3 "$dir/zjob.db" "$1"; }

for program in zjob-coordinator zjob-worker zjob httpd freeport; do
    [ -x "$bin/$program" ] || die "no $bin/$program: run make demo, which builds it"
done
command -v sqlite3 >/dev/null || die "no sqlite3 shell: run make deps"
dir=$(mktemp -d /tmp/zjob-demo.XXXXXX)

ports=$("$bin/freeport" 3) || die "freeport found no free ports"
clients=$(echo "$ports" | sed -n 1p)
workers=$(echo "$ports" | sed -n 2p)
http=$(echo "$ports" | sed -n 3p)
[ -n "$clients" ] && [ -n "$workers" ] && [ -n "$http" ] || die "freeport gave '$ports'"
export ZJOB_COORDINATOR="tcp://127.0.0.1:$clients"
export PATH="$bin:$PATH"

step "Start a coordinator and two workers (logs in $dir)"
zjob-coordinator --clients "$ZJOB_COORDINATOR" \
    --workers "tcp://127.0.0.1:$workers" --db "$dir/zjob.db" \
    --http "127.0.0.1:$http" >"$dir/coordinator.log" 2>&1 &
pids+=($!)
coordinator=$!
for name in alpha beta; do
    zjob-worker --connect "tcp://127.0.0.1:$workers" --name "$name" \
        --cpu-procs 2 --allow-exec >"$dir/$name.log" 2>&1 &
    pids+=($!)
done
httpd "$dir/httpd.port" >"$dir/httpd.log" 2>&1 &
pids+=($!)
connected=0
for _ in $(seq 100); do
    kill -0 "$coordinator" 2>/dev/null ||
        die "the coordinator exited: $(tail -n 3 "$dir/coordinator.log")"
    connected=$(scalar "select count(*) from workers where state = 'connected'" 2>/dev/null || echo 0)
    [ "$connected" = 2 ] && [ -s "$dir/httpd.port" ] && break
    sleep 0.1
done
[ "$connected" = 2 ] || die "$connected of 2 workers connected in 10 s (logs in $dir)"
[ -s "$dir/httpd.port" ] || die "the test HTTP server did not start: $(cat "$dir/httpd.log")"
echo '$ zjob workers'
zjob workers

step "Submit one job and await it"
id=$(zjob submit echo '{"hello": "zjob"}')
echo "submitted $id"
echo "\$ zjob wait $id"
zjob wait "$id" --timeout 30s >"$dir/wait.out" ||
    die "zjob wait $id exited $?: $(cat "$dir/wait.out")"
cat "$dir/wait.out"
grep -q '"state": "succeeded"' "$dir/wait.out" || die "job $id did not succeed"

step "A batch of every built-in kind, gathered in order"
port=$(cat "$dir/httpd.port")
cat >"$dir/jobs.jsonl" <<JOBS
{"kind": "echo", "args": {"n": 1}}
{"kind": "sleep", "args": {"seconds": 1}}
{"kind": "exec", "args": {"argv": ["uname", "-s"]}}
{"kind": "http", "args": {"url": "http://127.0.0.1:$port/hello"}}
{"kind": "sha256", "args": {"data": "zjob", "rounds": 200000}}
{"kind": "primes", "args": {"limit": 5000000}}
{"kind": "sleep", "args": {"seconds": "soon"}}
JOBS
cat "$dir/jobs.jsonl"
echo 'The last job is meant to fail: "soon" is not a number of seconds, so'
echo 'the worker refuses its args, a final failure that is not retried.'
echo '$ zjob submit --batch jobs.jsonl | zjob gather -'
zjob submit --batch "$dir/jobs.jsonl" >"$dir/jobs.ids"
[ "$(wc -l <"$dir/jobs.ids")" = 7 ] || die "submit gave $(wc -l <"$dir/jobs.ids") ids for 7 jobs"
gathered=0
zjob gather - --timeout 60s <"$dir/jobs.ids" >"$dir/jobs.out" || gathered=$?
cat "$dir/jobs.out"
#  Exit 1 means some job failed: the one meant to, checked below.
[ "$gathered" = 1 ] || die "zjob gather exited $gathered, not 1 (one failed job)"
expect_line() {
    sed -n "$1p" "$dir/jobs.out" | grep -q "$2" ||
        die "job $(sed -n "$1p" "$dir/jobs.ids") ($3): its line lacks '$2'"
}
expect_line 1 '"state": "succeeded"' echo
expect_line 2 '"state": "succeeded"' sleep
expect_line 3 '"state": "succeeded", "result": {"exit": 0' exec
expect_line 4 '"state": "succeeded", "result": {"status": 200' http
expect_line 5 '"state": "succeeded"' sha256
expect_line 6 '"state": "succeeded"' primes
expect_line 7 '"state": "failed", "error": "bad args' "sleep with bad args"
failing=$(sed -n 7p "$dir/jobs.ids")
echo "All six kinds succeeded; job $failing failed as it was meant to."

step "What a job wrote: the exec job's log"
exec_id=$(sed -n 3p "$dir/jobs.ids")
echo "\$ zjob logs $exec_id"
zjob logs "$exec_id" >"$dir/logs.out" || die "zjob logs $exec_id exited $?"
cat "$dir/logs.out"
[ "$(cat "$dir/logs.out")" = "$(uname -s)" ] ||
    die "the exec job's log is not what uname -s printed: $(cat "$dir/logs.out")"

step "Jobs that run after others: a diamond from the shell"
echo "\$ a=\$(zjob submit sleep '{\"seconds\": 0.5}')"
a=$(zjob submit sleep '{"seconds": 0.5}')
echo "\$ b=\$(zjob submit sha256 '{\"data\": \"b\"}' --after \$a)"
b=$(zjob submit sha256 '{"data": "b"}' --after "$a")
echo "\$ c=\$(zjob submit sha256 '{\"data\": \"c\"}' --after \$a)"
c=$(zjob submit sha256 '{"data": "c"}' --after "$a")
echo "\$ zjob submit echo '{\"done\": true}' --after \$b,\$c --wait"
zjob submit echo '{"done": true}' --after "$b,$c" --wait >"$dir/after.out" ||
    die "the job after $b and $c did not succeed: $(cat "$dir/after.out")"
cat "$dir/after.out"
query "select id, kind, after, round(started_at - (select finished_at from jobs where id = $a), 3) as started_after_a_s from jobs where id > $a order by id"
[ "$(scalar "select count(*) from jobs where id > $a and started_at < (select finished_at from jobs where id = $a)")" = 0 ] ||
    die "a job started before job $a, which it runs after, finished"

step "Jobs that await jobs: a map of five sleeps, two at a time, watched"
echo "\$ m=\$(zjob submit map '{\"kind\": \"sleep\", \"concurrency\": 2, \"items\": [five sleeps of 0.4 s]}')"
m=$(zjob submit map '{"kind": "sleep", "concurrency": 2, "items": [{"seconds": 0.4}, {"seconds": 0.4}, {"seconds": 0.4}, {"seconds": 0.4}, {"seconds": 0.4}]}')
echo "\$ zjob watch \$m"
zjob watch "$m" >"$dir/watch.out" || die "zjob watch $m exited $?: $(cat "$dir/watch.out")"
cat "$dir/watch.out"
tail -n 1 "$dir/watch.out" | grep -q '"state": "succeeded", "done": 5, "total": 5' ||
    die "the map did not end with its 5 children done: $(tail -n 1 "$dir/watch.out")"
echo "Its children, with the parent and the call that made each (zjob tree \$m"
echo "draws them on a terminal):"
query "select id, kind, state, parent, call from jobs where parent = $m order by call"
[ "$(scalar "select count(*) from jobs where parent = $m and state = 'succeeded'")" = 5 ] ||
    die "the map's 5 children did not all succeed"

step "2,000 one-second sleeps and 20 CPU jobs over both workers"
{
    for _ in $(seq 2000); do echo '{"kind": "sleep", "args": {"seconds": 1}}'; done
    for n in $(seq 20); do echo "{\"kind\": \"sha256\", \"args\": {\"data\": \"$n\", \"rounds\": 100000}}"; done
} >"$dir/many.jsonl"
start=$(date +%s.%N)
zjob submit --batch "$dir/many.jsonl" | zjob gather - --timeout 120s >"$dir/many.out" ||
    die "zjob gather of the 2,020 jobs exited non-zero"
end=$(date +%s.%N)
results=$(wc -l <"$dir/many.out")
succeeded=$(grep -c '"state": "succeeded"' "$dir/many.out" || true)
printf '%s results, %s succeeded, in %.2f s (wall clock of submit + gather)\n' \
    "$results" "$succeeded" "$(awk "BEGIN {print $end - $start}")"
[ "$results" = 2020 ] && [ "$succeeded" = 2020 ] ||
    die "$succeeded of 2,020 jobs succeeded"

step "The lesson in Python: a Python worker, and asyncio.gather in a client"
echo "\$ python3 -m zjob.worker --name py lesson      # docs/examples/lesson.py"
PYTHONPATH="$root/python:$root/docs/examples" /usr/bin/python3 -m zjob.worker \
    --connect "tcp://127.0.0.1:$workers" --name py --cpu-procs 1 lesson \
    >"$dir/py.log" 2>&1 &
pids+=("$!")
for _ in $(seq 100); do
    [ "$(scalar "select state from workers where name = 'py'")" = connected ] && break
    sleep 0.1
done
[ "$(scalar "select state from workers where name = 'py'")" = connected ] ||
    die "the Python worker did not connect: $(tail -n 3 "$dir/py.log")"
echo "\$ python3 docs/examples/gather.py"
PYTHONPATH="$root/python" /usr/bin/python3 "$root/docs/examples/gather.py" >"$dir/gather.out" ||
    die "gather.py exited $?: $(cat "$dir/gather.out")"
cat "$dir/gather.out"
[ "$(sed -n 1p "$dir/gather.out")" = "['fetched a', 'fetched b']" ] ||
    die "gather.py printed $(sed -n 1p "$dir/gather.out")"
echo "\$ zjob submit fetch '\"c\"' --wait      # a Python kind, from the command line"
zjob submit fetch '"c"' --wait | tee "$dir/fetch.out"
grep -q '"result": "fetched c"' "$dir/fetch.out" || die "fetch from the CLI: $(cat "$dir/fetch.out")"

step "Seen from outside: the status page's API and Prometheus metrics"
echo "The coordinator serves its status page at http://127.0.0.1:$http/"
echo "\$ curl -s http://127.0.0.1:$http/metrics | grep -E '^zjob_(jobs_finished_total|workers)'"
curl -s -m 10 "http://127.0.0.1:$http/metrics" >"$dir/metrics" ||
    die "GET /metrics failed"
grep -E '^zjob_(jobs_finished_total\{kind="(echo|sleep)"|workers)' "$dir/metrics"
succeeded=$(scalar "select count(*) from jobs where kind = 'sleep' and state = 'succeeded'")
grep -qx "zjob_jobs_finished_total{kind=\"sleep\",state=\"succeeded\"} $succeeded" "$dir/metrics" ||
    die "/metrics does not count the $succeeded sleeps the store has"
echo "\$ curl -s http://127.0.0.1:$http/api/jobs/$failing"
curl -s -m 10 "http://127.0.0.1:$http/api/jobs/$failing" | tee "$dir/job.json" | head -c 400
echo
grep -q '"state":"failed"' "$dir/job.json" || die "the job page of $failing: $(cat "$dir/job.json")"

step "The store, read with the sqlite3 shell while the coordinator runs"
query "select state, count(*) as jobs from jobs group by state"
query "select kind, worker, count(*) as jobs, round(avg(finished_at - started_at), 3) as avg_s from jobs group by kind, worker order by kind, worker"
query "select id, kind, error from jobs where state = 'failed'"
query "select name, host, io_slots, cpu_slots, state from workers"
#  The store agrees: every job succeeded but the one meant to fail.
others=$(scalar "select count(*) from jobs where state != 'succeeded' and id != $failing")
[ "$others" = 0 ] || die "the store has $others jobs that did not succeed"
[ "$(scalar "select state from jobs where id = $failing")" = failed ] ||
    die "the store does not have job $failing as failed"
echo
echo "Done. The store stays in $dir/zjob.db; the logs beside it."
