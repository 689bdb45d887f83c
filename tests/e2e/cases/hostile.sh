#  hostile.sh - whatever bytes arrive on either endpoint, the coordinator
#  answers with the right ERROR, stays up, keeps serving a well-behaved
#  client, and creates no job from them.

#  {v: 1, t: SUBMIT, req: 1, jobs: <array32 of 2^32-1 items>}, and
#  {v: 1, t: SUBMIT, x: <str32 of 2^32-1 bytes>}, with nothing after.
S_BATCH_4G=84a17601a174a65355424d4954a372657101a46a6f6273ddffffffff
S_STRING_4G=83a17601a174a65355424d4954a178dbffffffff

#  Rows: name; endpoints (c clients, w workers); zjsend's arguments; the
#  reply expected on the clients endpoint; on the workers endpoint ("=":
#  the same). Replies are extended regexes for zjsend's first line.
hostile_rows() {
    cat <<EOF
garbage        ;cw; garbage               ;^ERROR EPROTO frame is not a msgpack map$;=
random bytes   ;cw; file $T/random.bin    ;^ERROR E(PROTO|TOOBIG) ;=
random map     ;cw; file $T/random-map.bin;^ERROR E(PROTO|TOOBIG) ;=
empty frame    ;cw; empty                 ;^ERROR EPROTO empty frame$;=
two frames     ;cw; twoframes             ;^ERROR EPROTO a message is exactly one frame$;=
SUBMIT + frame ;cw; multi                 ;^ERROR EPROTO a message is exactly one frame$;=
REQ envelope   ;cw; envelope              ;^ERROR EPROTO a message is exactly one frame$;=
truncated      ;cw; truncated SUBMIT      ;^ERROR EPROTO frame truncated;=
map header     ;cw; hex 84                ;^ERROR EPROTO frame truncated: 8 objects declared at 1$;=
huge frame     ;cw; -t 3000 huge 33554432 ;^none$;=
4G batch       ;cw; hex $S_BATCH_4G       ;^ERROR ETOOBIG batch 4294967295 > ZJ_MAX_BATCH;=
4G string      ;cw; hex $S_STRING_4G      ;^ERROR EPROTO frame truncated;=
deep arrays    ;cw; deeparray 10000       ;^ERROR EPROTO msgpack nested over [0-9]+ deep$;=
deep maps      ;cw; deepmap 10000         ;^ERROR EPROTO msgpack nested over [0-9]+ deep$;=
deep args      ;cw; deepargs 10000        ;^ERROR EJSON job 0: field 'args': invalid JSON;=
args 33 deep   ;cw; deepargs 33           ;^ERROR EJSON job 0: field 'args': JSON nested 33 deep > 32$;=
version 2      ;cw; version 2             ;^ERROR EVERSION version 2, expected 1$;=
version 0      ;cw; version 0             ;^ERROR EVERSION version 0, expected 1$;=
unknown type   ;cw; type FROB             ;^ERROR EPROTO unknown type 'FROB'$;=
HELLO          ;c ; msg HELLO             ;^ERROR ETYPE not a client request;
RESULTS        ;cw; msg RESULTS           ;^ERROR ETYPE not a client request;^ERROR ETYPE unknown worker: say HELLO first$
HEARTBEAT      ;cw; msg HEARTBEAT         ;^ERROR ETYPE not a client request;^ERROR ETYPE unknown worker: say HELLO first$
SUBMIT         ; w; msg SUBMIT            ;;^ERROR ETYPE message type not accepted from workers$
STATUS         ; w; msg STATUS            ;;^ERROR ETYPE message type not accepted from workers$
EOF
}

#  The well-behaved client: rounds of submit + wait, each bounded, until
#  ./stop exists. Writes the round it starts to ./started and appends
#  "round id" to ./done when it ends well; on any error writes it to
#  ./client.err and stops.
hostile_client() {
    local round=0 id out
    while [ ! -e stop ]; do
        round=$((round + 1))
        echo "$round" >started
        if ! id=$(zj submit echo "{\"round\": $round}" 2>&1); then
            echo "round $round: submit: $id" >client.err
            return
        fi
        if ! out=$(zj wait --timeout 20s "$id" 2>&1); then
            echo "round $round: wait $id: $out" >client.err
            return
        fi
        case $out in
        *'"succeeded"'*"\"round\": $round}"*) echo "$round $id" >>done ;;
        *) echo "round $round: wait $id: $out" >client.err; return ;;
        esac
    done
}

hostile_rounds_at_least() { [ "$(wc -l <done)" -ge "$1" ]; }

hostile_alive() {
    kill -0 "$COORDINATOR_PID" 2>/dev/null || fail "coordinator died after: $1"
}

#  hostile_send ROW SIDE ENDPOINT ARGS EXPECTED: one row on one endpoint.
hostile_send() {
    local row=$1 side=$2 endpoint=$3 args=$4 expected=$5 reply
    # shellcheck disable=SC2086
    reply=$("$ZJ_BIN/zjsend" "$endpoint" $args 2>&1 | head -n 1)
    echo "$side $row: $reply"
    echo "$reply" | grep -Eq -- "$expected" \
        || fail "$row to $side: expected /$expected/, got '$reply'"
    hostile_alive "$row to $side"
}

#  The store holds the client's jobs, all done, and nothing else.
hostile_check_store() {
    local rounds=$1
    assert_eq "$(sql "select count(*) from jobs")" "$rounds" "jobs in the store"
    assert_eq "$(sql "select group_concat(id, ' ') from
                      (select id from jobs order by id)")" \
        "$(awk '{print $2}' done | sort -n | paste -sd ' ')" "job ids"
    assert_eq "$(sql "select count(*) from jobs
                      where kind='echo' and state='succeeded'")" \
        "$rounds" "succeeded echo jobs"
    assert_eq "$(sql "select group_concat(name) from workers")" w1 "workers"
}

test_hostile_input_on_both_endpoints() {
    start_coordinator
    start_worker w1
    head -c 4096 /dev/urandom >"$T/random.bin"
    { printf '\204'; head -c 4096 /dev/urandom; } >"$T/random-map.bin"
    hostile_client &
    local client=$!
    zj_track "$client"
    wait_until 20 test -s done

    local name sides args clients workers
    while IFS=';' read -r name sides args clients workers; do
        name=$(echo $name)
        [ "$workers" = "=" ] && workers=$clients
        case $sides in *c*)
            hostile_send "$name" clients "$ZJOB_COORDINATOR" "$args" "$clients" ;;
        esac
        case $sides in *w*)
            hostile_send "$name" workers "$WORKERS_EP" "$args" "$workers" ;;
        esac
    done < <(hostile_rows)

    #  Many frames from one peer at once: one reply each.
    for endpoint in "$ZJOB_COORDINATOR" "$WORKERS_EP"; do
        "$ZJ_BIN/zjsend" -n 2000 "$endpoint" garbage >burst
        assert_eq "$(grep -c '^ERROR EPROTO' burst)" 2000 "garbage burst to $endpoint"
        "$ZJ_BIN/zjsend" -n 200 "$endpoint" deepargs 10000 >burst
        assert_eq "$(grep -c '^ERROR EJSON' burst)" 200 "deep args burst to $endpoint"
        hostile_alive "bursts to $endpoint"
    done
    #  A stranger's BYE on the workers endpoint changes nothing: like any
    #  message but HELLO from a connection that said none, it is refused.
    assert_eq "$("$ZJ_BIN/zjsend" -t 1000 "$WORKERS_EP" msg BYE)" \
        "ERROR ETYPE unknown worker: say HELLO first" "BYE reply"

    #  Two more rounds after the last garbage, then stop the client.
    [ ! -s client.err ] || fail "client: $(cat client.err)"
    local before; before=$(wc -l <done)
    wait_until 30 hostile_rounds_at_least $((before + 2))
    touch stop
    wait_until 30 eval "! kill -0 $client"
    [ ! -s client.err ] || fail "client: $(cat client.err)"
    local rounds; rounds=$(cat started)
    assert_eq "$(wc -l <done)" "$rounds" "client rounds completed"
    echo "client: $rounds rounds"
    hostile_alive "the end"
    worker_is_connected w1 || fail "worker w1 lost"
    hostile_check_store "$rounds"
}
