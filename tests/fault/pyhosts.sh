#  pyhosts.sh - docs/python.md's lesson on hosts of their own (hosts.sh's
#  namespaces, CURVE): two Python workers (docs/examples/lesson.py) and a
#  C worker serve one coordinator; docs/examples/gather.py gathers on
#  host c. Needs root: without it the test says SKIP and passes.

PY_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)

#  pyhosts_worker NAME: python3 -m zjob.worker with the lesson on host
#  NAME (4 I/O slots), its own key, logging to $T/NAME.log; waits until
#  it is connected.
pyhosts_worker() {
    local name=$1
    ip netns exec "$(hosts_ns "$name")" env PYTHONPATH="$PY_ROOT/python:$PY_ROOT/docs/examples" \
        /usr/bin/python3 -m zjob.worker --connect "$HOSTS_WORKERS_EP" --name "$name" \
        --key "$T/keys/$name.key_secret" --coordinator-key "$T/keys/c.key" \
        --cpu-procs 1 --io-slots 4 lesson >>"$T/$name.log" 2>&1 &
    zj_track $!
    wait_until 20 worker_is_connected "$name"
}

#  pyhosts_python ARGS...: /usr/bin/python3 on host c as the client.
pyhosts_python() {
    timeout 60 ip netns exec "$(hosts_ns c)" env PYTHONPATH="$PY_ROOT/python" \
        ZJOB_COORDINATOR="$HOSTS_CLIENTS_EP" ZJOB_KEY="$T/keys/client.key_secret" \
        ZJOB_COORDINATOR_KEY="$T/keys/c.key" /usr/bin/python3 "$@"
}

test_pyhosts_the_lesson_gathers_over_two_hosts() {
    hosts_secure_setup p1 p2 w1 || return 0
    pyhosts_worker p1
    pyhosts_worker p2
    hosts_worker w1
    pyhosts_python "$PY_ROOT/docs/examples/gather.py" >gather.out || fail "gather.py exited $?"
    assert_eq "$(sed -n 1p gather.out)" "['fetched a', 'fetched b']" "the gather"
    assert_eq "$(sed -n 3p gather.out)" 333332833333500000 "crunch's result"
    #  The two fetches ran at once: the second started before the first ended.
    assert_eq "$(sql "select count(*) from jobs a, jobs b where a.kind = 'fetch' and b.id = a.id + 1 and b.kind = 'fetch' and b.started_at < a.finished_at")" \
        1 "fetches at once"
    #  Twenty more from the command line: 4 slots each, so both hosts
    #  run some (the coordinator sends a worker up to 64 jobs at a time).
    seq 20 | sed 's/.*/{"kind": "fetch", "args": "&"}/' >batch.jsonl
    hosts_zj submit --batch batch.jsonl >ids || fail "submit exited $?"
    hosts_gather ids
    assert_eq "$(grep -c '"fetched ' results)" 20 "fetches gathered"
    assert_eq "$(sql "select group_concat(worker) from (select distinct worker from jobs where kind = 'fetch' order by worker)")" \
        "p1,p2" "hosts that ran fetch"
    #  The C worker's kinds and the Python ones, from one client.
    hosts_zj submit echo '{"from": "c"}' --wait >echo.out || fail "echo exited $?"
    grep -q '"result": {"from": "c"}' echo.out || fail "echo: $(cat echo.out)"
    assert_eq "$(sql "select worker from jobs where kind = 'echo'")" w1 "the echo's worker"
    hosts_zj submit fetch_all '[["x", "y"]]' --wait >fan.out || fail "fetch_all exited $?"
    grep -q '"result": \["fetched x", "fetched y"\]' fan.out || fail "fetch_all: $(cat fan.out)"
}
