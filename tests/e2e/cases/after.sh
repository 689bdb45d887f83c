#  after.sh - jobs that run after others, from a shell script: zjob submit
#  --after ID[,ID...] and "after" in batch lines.

#  started_after A B: job B started no sooner than job A finished.
started_after() {
    [ "$(sql "select (select started_at from jobs where id=$2) >= (select finished_at from jobs where id=$1)")" = 1 ]
}

#  a -> b, a -> c, (b, c) -> d: each starts once all before it succeeded.
test_after_runs_a_chain_and_a_diamond_in_order() {
    start_coordinator
    start_worker w1
    #  a lasts long enough for four submits and a read of the store even
    #  in a sanitizer build on a loaded machine (0.5 s was not).
    a=$(zj submit sleep '{"seconds": 3}') || fail "submit a"
    b=$(zj submit echo '{"n": "b"}' --after "$a") || fail "submit b"
    c=$(zj submit echo '{"n": "c"}' --after "$a") || fail "submit c"
    d=$(zj submit echo '{"n": "d"}' --after "$b,$c") || fail "submit d"
    assert_eq "$(sql "select state from jobs where id=$d")" queued "d before a ends"
    zj wait "$d" >out || fail "zjob wait d exited $?: $(cat out)"
    started_after "$a" "$b" || fail "b started before a finished"
    started_after "$a" "$c" || fail "c started before a finished"
    started_after "$b" "$d" || fail "d started before b finished"
    started_after "$c" "$d" || fail "d started before c finished"
    assert_eq "$(sql "select after from jobs where id=$d")" "[$b,$c]" "d's after in the store"
    zj status --json "$d" >status
    grep -q "\"after\": \[$b, $c\]" status || fail "status lacks after: $(cat status)"
}

#  A failure cancels what runs after it, down the chain, each naming the
#  job before it; what runs after a cancelled job is cancelled at submit.
test_after_a_failed_job_cancels_what_runs_after_it() {
    start_coordinator
    start_worker w1
    a=$(zj submit sleep '{"seconds": "soon"}') || fail "submit a"
    b=$(zj submit echo --after "$a") || fail "submit b"
    c=$(zj submit echo --after "$b") || fail "submit c"
    zj wait "$c" >out
    assert_eq "$?" 1 "zjob wait c's exit"
    assert_eq "$(sql "select state from jobs where id=$a")" failed "a"
    assert_eq "$(sql "select state || ': ' || error from jobs where id=$b")" \
        "cancelled: job $a, which it runs after, failed" "b"
    assert_eq "$(sql "select state || ': ' || error from jobs where id=$c")" \
        "cancelled: job $b, which it runs after, was cancelled" "c"
    e=$(zj submit echo --after "$c") || fail "submit e"
    assert_eq "$(sql "select state from jobs where id=$e")" cancelled "e, after a cancelled job"
    assert_eq "$(sql "select count(*) from attempts where job_id in ($b, $c, $e)")" 0 \
        "attempts of cancelled jobs that never ran"
}

#  An id that names no job refuses the whole batch; bad ids are usage
#  errors before anything is sent.
test_after_an_unknown_job_refuses_the_batch() {
    start_coordinator
    start_worker w1
    a=$(zj submit echo) || fail "submit a"
    printf '{"kind": "echo"}\n{"kind": "echo", "after": [%s, 999]}\n' "$a" >batch.jsonl
    zj submit --batch batch.jsonl >ids 2>err
    assert_eq "$?" 2 "exit of a batch after job 999"
    grep -q "job 2 runs after job 999, which does not exist; nothing was queued" err \
        || fail "no reason naming job 999: $(cat err)"
    assert_eq "$(sql "select count(*) from jobs")" 1 "jobs after the refused batch"
    for bad in 0 -3 x 1,,2 "1, 2"; do
        zj submit echo --after "$bad" 2>err
        assert_eq "$?" 2 "exit of --after '$bad'"
    done
    grep -q "after wants job ids" err || fail "no usage reason: $(cat err)"
}

#  A held job stays held across a coordinator restart, and runs once the
#  job it waits for succeeds under the new coordinator.
test_after_holds_across_a_coordinator_restart() {
    start_coordinator
    start_worker w1
    a=$(zj submit sleep '{"seconds": 2}') || fail "submit a"
    printf '{"kind": "echo", "args": {"n": 1}, "after": [%s]}\n' "$a" >batch.jsonl
    b=$(zj submit --batch batch.jsonl) || fail "submit b"
    wait_until 5 value_is = running sql "select state from jobs where id=$a"
    kill -KILL "$COORDINATOR_PID"; wait "$COORDINATOR_PID" 2>/dev/null
    assert_eq "$(sql "select state from jobs where id=$b")" queued "b after the kill"
    start_coordinator
    zj wait "$b" >out || fail "zjob wait b exited $?: $(cat out)"
    started_after "$a" "$b" || fail "b started before a finished"
    assert_eq "$(sql "select state from jobs where id=$a")" succeeded "a"
}

#  zjob tree: the job, then what it runs after, each once, with depths
#  (JSON lines when piped); on a terminal a drawn tree names the job
#  reached twice.
test_tree_shows_a_diamond() {
    start_coordinator
    start_worker w1
    a=$(zj submit echo '{"n": "a"}') || fail "submit a"
    b=$(zj submit echo '{"n": "b"}' --after "$a") || fail "submit b"
    c=$(zj submit echo '{"n": "c"}' --after "$a") || fail "submit c"
    d=$(zj submit echo '{"n": "d"}' --after "$b,$c") || fail "submit d"
    zj wait "$d" >/dev/null || fail "d did not succeed"
    zj tree "$d" >tree || fail "zjob tree exited $?"
    assert_eq "$(grep -o '"id": [0-9]*' tree | tr -d '"id: ' | tr '\n' ' ')" "$d $b $a $c " "jobs in tree order"
    assert_eq "$(grep -o '"depth": [0-9]*' tree | tr -d '"depth: ' | tr '\n' ' ')" "0 1 2 1 " "depths"
    if command -v script >/dev/null; then
        script -qec "$ZJ_BIN/zjob tree $d" /dev/null >drawn </dev/null
        grep -q "└── $a (above)" drawn || fail "no line naming $a again: $(cat drawn)"
        grep -q "$d  echo  succeeded" drawn || fail "no root line: $(cat drawn)"
    fi
    zj tree 999 2>err
    assert_eq "$?" 2 "exit for an unknown job"
}
