#!/usr/bin/env bash
#  demo.sh - make demo: a coordinator and two workers on loopback, a batch
#  of jobs of every built-in kind, their results, and the store as the
#  sqlite3 shell sees it. Everything started is stopped by PID at the end.
set -u
root=$(cd "$(dirname "$0")/.." && pwd)
bin=$(cd "$root/${BIN:-bin}" && pwd)
dir=$(mktemp -d /tmp/zjob-demo.XXXXXX)
pids=()
cleanup() {
    for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null; done
    for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null; done
}
trap cleanup EXIT
step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
show() { printf '$ %s\n' "$*"; "$@"; }

ports=$("$bin/freeport" 3 2>/dev/null || printf '17700\n17701\n17702\n')
clients=$(echo "$ports" | sed -n 1p)
workers=$(echo "$ports" | sed -n 2p)
http=$(echo "$ports" | sed -n 3p)
export ZJOB_COORDINATOR="tcp://127.0.0.1:$clients"
export PATH="$bin:$PATH"

step "Start a coordinator and two workers (logs in $dir)"
zjob-coordinator --clients "$ZJOB_COORDINATOR" \
    --workers "tcp://127.0.0.1:$workers" --db "$dir/zjob.db" \
    >"$dir/coordinator.log" 2>&1 &
pids+=($!)
for name in alpha beta; do
    zjob-worker --connect "tcp://127.0.0.1:$workers" --name "$name" \
        --cpu-procs 2 --allow-exec >"$dir/$name.log" 2>&1 &
    pids+=($!)
done
"$bin/httpd" "$dir/httpd.port" >"$dir/httpd.log" 2>&1 &
pids+=($!)
for _ in $(seq 100); do
    [ "$(sqlite3 "$dir/zjob.db" "select count(*) from workers where state='connected'" 2>/dev/null)" = 2 ] && break
    sleep 0.1
done
show zjob workers

step "Submit one job and await it"
id=$(zjob submit echo '{"hello": "zjob"}')
echo "submitted $id"
show zjob wait "$id"

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
printf '$ zjob submit --batch jobs.jsonl | zjob gather -\n'
zjob submit --batch "$dir/jobs.jsonl" | zjob gather -

step "2,000 one-second sleeps and 20 CPU jobs over both workers"
{
    for _ in $(seq 2000); do echo '{"kind": "sleep", "args": {"seconds": 1}}'; done
    for n in $(seq 20); do echo "{\"kind\": \"sha256\", \"args\": {\"data\": \"$n\", \"rounds\": 100000}}"; done
} >"$dir/many.jsonl"
start=$(date +%s.%N)
zjob submit --batch "$dir/many.jsonl" | zjob gather - >"$dir/many.out"
end=$(date +%s.%N)
printf '%s results, %s succeeded, in %.2f s (wall clock of submit + gather)\n' \
    "$(wc -l <"$dir/many.out")" "$(grep -c '"succeeded"' "$dir/many.out")" \
    "$(awk "BEGIN {print $end - $start}")"

step "The store, read with the sqlite3 shell while the coordinator runs"
show sqlite3 -header -column "$dir/zjob.db" \
    "select state, count(*) as jobs from jobs group by state"
show sqlite3 -header -column "$dir/zjob.db" \
    "select kind, worker, count(*) as jobs, round(avg(finished_at - started_at), 3) as avg_s from jobs group by kind, worker order by kind, worker"
show sqlite3 -header -column "$dir/zjob.db" \
    "select id, kind, error from jobs where state = 'failed'"
show sqlite3 -header -column "$dir/zjob.db" \
    "select name, host, io_slots, cpu_slots, state from workers"
echo
echo "Done. The store stays in $dir/zjob.db; the logs beside it."
