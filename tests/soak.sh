#!/usr/bin/env bash
#  soak.sh - a bounded crash-soak run: measures zjob's "nothing lost,
#  nothing run twice" promise at scale. Starts one coordinator and a few
#  workers on 127.0.0.1, submits JOBS jobs in paced batches (a few of them
#  poison jobs that kill their worker), and while they run: kill -9s
#  workers (restarted under the same name), freezes workers past their
#  lease and thaws them, starts impostors under names already taken, and
#  now and then kill -9s the coordinator (restarted on the same ports and
#  db); gathers every id, then prints a summary computed from the store
#  with sqlite3. Exit 0 if no job was lost, duplicated or left unfinished,
#  every poison job failed at the loss bound, no job went past its
#  attempts bound, and every impostor was refused; else 1 (2 if the run
#  itself could not be done).
#
#  Not part of make check:  BIN=bin tests/soak.sh
#  Settings (environment):
#    JOBS=20000        jobs to submit
#    WORKERS=3         workers (w1..wN, --cpu-procs 1 each)
#    KILLS=14          chaos rounds, one fault each:
#    COORD_KILLS=3       this many kill -9 the coordinator,
#    FREEZES=3           this many SIGSTOP a worker for FREEZE seconds,
#                        past its lease (3 heartbeats of 500ms), then
#                        SIGCONT it,
#    IMPOSTORS=2         this many start a second worker with a name
#                        already taken (it must be refused and exit
#                        non-zero, the holder untouched),
#                        the others kill -9 a random worker
#    FREEZE=3          seconds a frozen worker stays stopped
#    POISON=3          exec jobs that kill -9 their own worker; workers
#                      that die are restarted, and each of these jobs
#                      must end failed after the coordinator's
#                      --max-losses (3), never succeeded
#    INTERVAL=2-4      seconds between rounds (a random point in the range)
#    DEADLINE=600      seconds for the whole run
#    SEED=$$           seed of the job mix and of the choices
#  The temp dir (logs, the store, the ids) is kept; its path is printed.
set -u

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/.." && pwd)
BIN=$(cd "$root/${BIN:-bin}" && pwd) || exit 2
JOBS=${JOBS:-20000}
WORKERS=${WORKERS:-3}
KILLS=${KILLS:-14}
COORD_KILLS=${COORD_KILLS:-3}
FREEZES=${FREEZES:-3}
IMPOSTORS=${IMPOSTORS:-2}
FREEZE=${FREEZE:-3}
POISON=${POISON:-3}
MAX_LOSSES=3     # the coordinator's default --max-losses
INTERVAL=${INTERVAL:-2-4}
DEADLINE=${DEADLINE:-600}
SEED=${SEED:-$$}
export ZJOB_LOG=${ZJOB_LOG:-info}
RANDOM=$SEED

for tool in zjob zjob-coordinator zjob-worker freeport; do
    [ -x "$BIN/$tool" ] || { echo "soak: $BIN/$tool missing (make all bin/freeport)" >&2; exit 2; }
done
command -v sqlite3 >/dev/null || { echo "soak: sqlite3 missing" >&2; exit 2; }

T=$(mktemp -d /tmp/zjob-soak.XXXXXX)
START_NS=$(date +%s%N)
END_S=$(( $(date +%s) + DEADLINE ))
echo "soak: JOBS=$JOBS WORKERS=$WORKERS KILLS=$KILLS (COORD_KILLS=$COORD_KILLS" \
     "FREEZES=$FREEZES IMPOSTORS=$IMPOSTORS) POISON=$POISON SEED=$SEED" \
     "DEADLINE=${DEADLINE}s; logs in $T"
[ $((COORD_KILLS + FREEZES + IMPOSTORS)) -le "$KILLS" ] ||
    { echo "soak: COORD_KILLS + FREEZES + IMPOSTORS exceed KILLS" >&2; exit 2; }

# ---------------------------------------------------------------- processes
#  Every process this script starts is tracked by PID; cleanup stops and
#  reaps exactly those, never anything by name.

COORD_PID=""
declare -A WORKER_PID=()     # name -> pid
EXTRA_PIDS=()                # submitter, gatherer, watchdog
ORPHAN_PIDS=()               # CPU processes that outlived a killed worker
KILLED_WORKERS=0 KILLED_COORD=0 FROZEN=0 DIED=0
IMPOSTORS_STARTED=0 IMPOSTORS_REFUSED=0 IMPOSTOR_PID=""

#  The programs the background loops run in their turn write their PID
#  into these files, so cleanup can stop them too.
CHILD_PID_FILES=("$T/submit.pid" "$T/gather.pid")

s_stop_pids() {
    local pid
    for pid in "$@"; do kill -TERM "$pid" 2>/dev/null; done
    for _ in $(seq 50); do
        local alive=0
        for pid in "$@"; do kill -0 "$pid" 2>/dev/null && alive=1; done
        [ "$alive" = 0 ] && break
        sleep 0.1
    done
    for pid in "$@"; do
        kill -KILL "$pid" 2>/dev/null
        wait "$pid" 2>/dev/null
    done
}

cleanup() {
    local pids=() file pid
    pids+=("${EXTRA_PIDS[@]}")
    for pid in "${ORPHAN_PIDS[@]}"; do     # unless the pid was reused
        grep -q zjob-worker "/proc/$pid/cmdline" 2>/dev/null && pids+=("$pid")
    done
    for file in "${CHILD_PID_FILES[@]}"; do
        [ -s "$file" ] && pids+=("$(cat "$file")")
    done
    [ "${#WORKER_PID[@]}" -gt 0 ] && pids+=("${WORKER_PID[@]}")
    [ -n "$IMPOSTOR_PID" ] && pids+=("$IMPOSTOR_PID")
    [ -n "$COORD_PID" ] && pids+=("$COORD_PID")
    #  A frozen worker would not hear TERM.
    for pid in "${pids[@]}"; do kill -CONT "$pid" 2>/dev/null; done
    [ "${#pids[@]}" -gt 0 ] && s_stop_pids "${pids[@]}"
    echo "soak: logs in $T"
}
# shellcheck disable=SC2317  # cleanup and the wait_until commands run indirectly
trap cleanup EXIT
trap 'echo "soak: interrupted" >&2; exit 2' TERM INT

#  The watchdog ends the run if something hangs past the deadline.
( trap 'kill "$s" 2>/dev/null; wait "$s"; exit 0' TERM
  sleep $((DEADLINE + 60)) & s=$!; wait "$s"
  echo "soak: overall deadline passed" >&2; kill -TERM $$ ) &
EXTRA_PIDS+=($!)

elapsed() { awk -v ns=$(( $(date +%s%N) - START_NS )) 'BEGIN { printf "%.1f", ns / 1e9 }'; }
event() { echo "t=$(elapsed)s $*" | tee -a "$T/events.log"; }
time_left() { echo $(( END_S - $(date +%s) )); }
sql() { sqlite3 -cmd ".timeout 5000" "$T/zjob.db" "$@"; }

#  wait_until SECONDS COMMAND...: true once COMMAND succeeds, false after
#  SECONDS.
wait_until() {
    local limit=$1; shift
    local until_ns=$(( $(date +%s%N) + limit * 1000000000 ))
    until "$@" >/dev/null 2>&1; do
        [ "$(date +%s%N)" -lt "$until_ns" ] || return 1
        sleep 0.1
    done
}

ports=$("$BIN/freeport" 2) || exit 2
CLIENTS_EP="tcp://127.0.0.1:$(echo "$ports" | sed -n 1p)"
WORKERS_EP="tcp://127.0.0.1:$(echo "$ports" | sed -n 2p)"
export ZJOB_COORDINATOR=$CLIENTS_EP

start_coordinator() {
    local try
    for try in 1 2 3; do
        "$BIN/zjob-coordinator" --clients "$CLIENTS_EP" --workers "$WORKERS_EP" \
            --db "$T/zjob.db" --heartbeat 500ms >>"$T/coordinator.log" 2>&1 &
        COORD_PID=$!
        wait_until 15 "$BIN/zjob" workers && return 0
        event "coordinator pid=$COORD_PID not answering (try $try)"
        s_stop_pids "$COORD_PID"; COORD_PID=""
    done
    return 1
}

worker_is_up() {
    [ "$(sql "select state || ' ' || pid from workers where name='$1'")" = "connected $2" ]
}

start_worker() {
    local name=$1
    "$BIN/zjob-worker" --connect "$WORKERS_EP" --name "$name" --cpu-procs 1 \
        --allow-exec >>"$T/$name.log" 2>&1 &
    WORKER_PID[$name]=$!
    wait_until 15 worker_is_up "$name" "${WORKER_PID[$name]}" ||
        event "worker $name pid=${WORKER_PID[$name]} not listed as connected after 15s"
}

#  kill_worker NAME: kill -9, reap, check its CPU processes died with it
#  (they have PR_SET_PDEATHSIG), start a new one with the same name.
kill_worker() {
    local name=$1 pid=${WORKER_PID[$1]} kids child
    kids=$(ps -o pid= --ppid "$pid" 2>/dev/null | tr -s ' \n' ' ')
    kill -KILL "$pid"; wait "$pid" 2>/dev/null
    KILLED_WORKERS=$((KILLED_WORKERS + 1))
    event "kill -9 worker $name pid=$pid running_in_store=$(sql "select count(*) from jobs where state='running' and worker='$name'")"
    for child in $kids; do
        if ! wait_until 3 s_gone "$child"; then
            event "orphan: CPU process $child of worker $name outlived it"
            ORPHAN_PIDS+=("$child")
        fi
    done
    start_worker "$name"
    event "worker $name restarted pid=${WORKER_PID[$name]}"
}
s_gone() { ! kill -0 "$1" 2>/dev/null; }
#  s_dead PID: the process has exited (a zombie not yet reaped counts).
s_dead() {
    local state
    state=$(awk '{ print $3 }' "/proc/$1/stat" 2>/dev/null) || return 0
    [ -z "$state" ] || [ "$state" = Z ]
}

#  supervise: restarts the workers that died on their own (a poison job
#  kills its worker), as a supervisor such as systemd would.
supervise() {
    local name pid rc
    for name in "${!WORKER_PID[@]}"; do
        pid=${WORKER_PID[$name]}
        s_dead "$pid" || continue
        wait "$pid" 2>/dev/null; rc=$?
        DIED=$((DIED + 1))
        event "worker $name pid=$pid died on its own (exit $rc); restarting"
        start_worker "$name"
    done
}

#  freeze_worker NAME: SIGSTOP past the lease, SIGCONT: the coordinator
#  loses it and requeues its jobs; the thawed worker must reconnect, and
#  results of the attempts it still finishes count once or not at all.
freeze_worker() {
    local name=$1 pid=${WORKER_PID[$1]}
    kill -STOP "$pid" || return 0
    FROZEN=$((FROZEN + 1))
    event "SIGSTOP worker $name pid=$pid for ${FREEZE}s running_in_store=$(sql "select count(*) from jobs where state='running' and worker='$name'")"
    sleep "$FREEZE"
    kill -CONT "$pid"
    event "SIGCONT worker $name pid=$pid"
}

#  impostor NAME: a second worker claims a name that a live worker holds.
#  It must exit non-zero within IMPOSTOR_WAIT seconds; the holder stays.
IMPOSTOR_WAIT=20
impostor() {
    local name=$1 rc
    "$BIN/zjob-worker" --connect "$WORKERS_EP" --name "$name" --cpu-procs 1 \
        --allow-exec >>"$T/impostor.log" 2>&1 &
    IMPOSTOR_PID=$!
    IMPOSTORS_STARTED=$((IMPOSTORS_STARTED + 1))
    if wait_until "$IMPOSTOR_WAIT" s_dead "$IMPOSTOR_PID"; then
        wait "$IMPOSTOR_PID"; rc=$?
    else
        s_stop_pids "$IMPOSTOR_PID"; rc=running
    fi
    [ "$rc" != running ] && [ "$rc" != 0 ] && IMPOSTORS_REFUSED=$((IMPOSTORS_REFUSED + 1))
    event "impostor for $name pid=$IMPOSTOR_PID: exit $rc; holder pid=${WORKER_PID[$name]} $(worker_is_up "$name" "${WORKER_PID[$name]}" && echo still connected || echo NOT connected)"
    IMPOSTOR_PID=""
}
#  s_busy WHERE: the store shows a running job matching WHERE.
s_busy() { [ "$(sql "select count(*) from jobs where state='running' and $1")" -gt 0 ]; }

kill_coordinator() {
    kill -KILL "$COORD_PID"; wait "$COORD_PID" 2>/dev/null
    KILLED_COORD=$((KILLED_COORD + 1))
    event "kill -9 coordinator pid=$COORD_PID"
    start_coordinator || { event "coordinator does not restart"; exit 2; }
    event "coordinator restarted pid=$COORD_PID"
}

# ---------------------------------------------------------------- the jobs
#  all.jsonl: one job per line; lines.sql: the same jobs as rows
#  line(idx, kind, args), to check each id's row against the line it came
#  from. Echo args are unique per line, so a wrong id mapping shows.
#  sha256 uses 8 (data, rounds) pairs whose digests are known.

BATCH=$(( JOBS / 20 ))
[ "$BATCH" -lt 100 ] && BATCH=100
[ "$BATCH" -gt 1000 ] && BATCH=1000   # one SUBMIT: all or nothing
mkdir -p "$T/batches"
#  POISON lines, spread evenly over the first half, are exec jobs that
#  kill -9 their worker (sh is the worker's child: $PPID is the worker).
awk -v n="$JOBS" -v seed="$SEED" -v batch="$BATCH" -v dir="$T/batches" \
    -v poison="$POISON" '
BEGIN {
    srand(seed)
    print "begin; create table line(idx integer primary key, kind text, args text);" > (dir "/../lines.sql")
    every = poison > 0 ? int(n / 2 / poison) : 0
    for (i = 1; i <= n; i++) {
        r = rand()
        if (every > 0 && i % every == 0 && i / every <= poison) {
            kind = "exec"
            args = "{\"argv\":[\"sh\",\"-c\",\"kill -9 $PPID\"],\"poison\":" i "}"
        } else if (r < 0.4) {
            kind = "echo"
            args = sprintf("{\"i\":%d,\"tag\":\"soak\",\"list\":[%d,true,null,1.5]}", i, i)
        } else if (r < 0.8) {
            kind = "sleep"
            args = sprintf("{\"seconds\":%.1f}", 0.2 * int(1 + rand() * 5))
        } else {
            kind = "sha256"
            k = int(rand() * 8)
            args = sprintf("{\"data\":\"soak-%d\",\"rounds\":%d}", k, 1000 + 500 * k)
        }
        file = sprintf("%s/b%05d.jsonl", dir, int((i - 1) / batch))
        printf "{\"kind\":\"%s\",\"args\":%s}\n", kind, args > file
        printf "insert into line values(%d,'\''%s'\'','\''%s'\'');\n", i, kind, args > (dir "/../lines.sql")
    }
    print "commit;" > (dir "/../lines.sql")
}'

#  expect.sql: the digests of the 8 sha256 pairs, when python3 is here
#  (else the check falls back to "one digest per pair").
if command -v python3 >/dev/null; then
    python3 - >"$T/expect.sql" <<'EOF'
import hashlib
print("create table expect(data text, rounds integer, hex text);")
for k in range(8):
    data, rounds = "soak-%d" % k, 1000 + 500 * k
    digest = data.encode()
    for _ in range(rounds):
        digest = hashlib.sha256(digest).digest()
    print("insert into expect values('%s', %d, '%s');" % (data, rounds, digest.hex()))
EOF
else
    echo "create table expect(data text, rounds integer, hex text);" >"$T/expect.sql"
fi

# ---------------------------------------------------------------- run
#  Submitter: one `zjob submit --batch` per batch file, paced so that
#  submitting spans the chaos rounds. Appends "idx<TAB>id" to sub.tsv for
#  every id printed. A batch whose submit fails is sent again from its
#  first unacknowledged line (its jobs may then exist twice: once never
#  acknowledged, counted below as "orphan rows").
run_submitter() {
    local files=("$T"/batches/b*.jsonl) index=0 file
    local count=${#files[@]}
    local pace_ms=$(( KILLS * 4500 / (count > 0 ? count : 1) ))
    [ "$pace_ms" -gt 3000 ] && pace_ms=3000
    for file in "${files[@]}"; do
        local offset=$(( index * BATCH )) lines acked=0 tries=0 rc
        lines=$(wc -l <"$file")
        while [ "$acked" -lt "$lines" ]; do
            [ "$(time_left)" -gt 30 ] || { event "submitter: out of time"; return 1; }
            tail -n +$((acked + 1)) "$file" >"$T/batches/current"
            "$BIN/zjob" submit --batch "$T/batches/current" \
                >"$T/batches/current.ids" 2>>"$T/submit.err" &
            echo $! >"$T/submit.pid"
            wait $!; rc=$?
            : >"$T/submit.pid"
            awk -v base=$((offset + acked)) '{ printf "%d\t%s\n", base + NR, $1 }' \
                "$T/batches/current.ids" >>"$T/sub.tsv"
            local got; got=$(wc -l <"$T/batches/current.ids")
            acked=$((acked + got))
            if [ "$rc" != 0 ]; then
                tries=$((tries + 1))
                event "submit of batch $index exit $rc: $got of $((lines - acked + got)) acknowledged; sending the rest again"
                [ "$tries" -le 30 ] || { event "submitter: giving up on batch $index"; return 1; }
                sleep 1
            fi
        done
        index=$((index + 1))
        sleep "$(printf '%d.%03d' $((pace_ms / 1000)) $((pace_ms % 1000)))"
    done
    event "submitter: $(wc -l <"$T/sub.tsv") ids acknowledged"
}

#  Gatherer: once everything is submitted, `zjob gather -` every id, again
#  while it exits 3 (coordinator restarting), bounded by the deadline.
run_gatherer() {
    until [ -e "$T/submit.done" ]; do sleep 0.2; done
    cut -f2 "$T/sub.tsv" >"$T/gather.ids"
    local attempt=0 rc=3 left
    while :; do
        attempt=$((attempt + 1))
        left=$(( $(time_left) - 30 ))
        [ "$left" -gt 5 ] || { event "gatherer: out of time"; rc=4; break; }
        "$BIN/zjob" gather - --timeout "${left}s" <"$T/gather.ids" \
            >"$T/gather.out" 2>"$T/gather.err.$attempt" &
        echo $! >"$T/gather.pid"
        wait $!; rc=$?
        : >"$T/gather.pid"
        event "gather attempt $attempt exit $rc ($(wc -l <"$T/gather.out") lines)"
        [ "$rc" = 3 ] || break
        sleep 1
    done
    echo "$rc" >"$T/gather.done"
}

start_coordinator || { echo "soak: coordinator does not start" >&2; exit 2; }
for index in $(seq "$WORKERS"); do start_worker "w$index"; done
event "coordinator pid=$COORD_PID and $WORKERS workers up; $JOBS jobs in batches of $BATCH"

( trap 'exit 1' TERM; run_submitter; echo $? >"$T/submit.done" ) &
SUBMITTER=$!; EXTRA_PIDS+=("$SUBMITTER")
( trap 'exit 1' TERM; run_gatherer ) &
GATHERER=$!; EXTRA_PIDS+=("$GATHERER")

#  Chaos: KILLS rounds. COORD_KILLS of them, spread evenly, kill the
#  coordinator; FREEZES and IMPOSTORS rounds are placed at random among
#  the rest; the others kill a random worker. Between rounds, workers
#  that died on their own are restarted. Stops early once the gather is
#  done (nothing left to disturb).
declare -A round_kind=()
for j in $(seq "$COORD_KILLS"); do round_kind[$(( j * (KILLS + 1) / (COORD_KILLS + 1) ))]=coordinator; done
s_place() {    # s_place KIND COUNT: COUNT free rounds get KIND
    local placed=0 round
    while [ "$placed" -lt "$2" ]; do
        round=$(( 1 + RANDOM % KILLS ))
        [ -n "${round_kind[$round]:-}" ] && continue
        round_kind[$round]=$1; placed=$((placed + 1))
    done
}
s_place freeze "$FREEZES"
s_place impostor "$IMPOSTORS"
low=${INTERVAL%-*} high=${INTERVAL#*-}
for round in $(seq "$KILLS"); do
    pause_ms=$(( low * 1000 + RANDOM % ((high - low) * 1000 + 1) ))
    until_ns=$(( $(date +%s%N) + pause_ms * 1000000 ))
    while [ "$(date +%s%N)" -lt "$until_ns" ] && [ ! -e "$T/gather.done" ]; do
        supervise; sleep 0.1
    done
    if [ -e "$T/gather.done" ]; then event "chaos: gather done, stopping after $((round - 1)) rounds"; break; fi
    [ "$(time_left)" -gt 60 ] || { event "chaos: out of time"; break; }
    #  Aim at a moment with jobs running (up to 3 s more): between two
    #  batches the queue can be empty and a kill would test nothing.
    victim="w$(( 1 + RANDOM % WORKERS ))"
    case "${round_kind[$round]:-worker}" in
    coordinator) wait_until 3 s_busy "1"; kill_coordinator ;;
    freeze) wait_until 3 s_busy "worker='$victim'"; freeze_worker "$victim" ;;
    impostor) impostor "$victim" ;;
    *) wait_until 3 s_busy "worker='$victim'"; kill_worker "$victim" ;;
    esac
done

#  Let the submitter and the gatherer finish, bounded by the deadline.
for pid in "$SUBMITTER" "$GATHERER"; do
    while kill -0 "$pid" 2>/dev/null && [ "$(time_left)" -gt 0 ]; do supervise; sleep 0.2; done
    s_stop_pids "$pid"
done
leftover=$(cat "$T/submit.pid" "$T/gather.pid" 2>/dev/null)
# shellcheck disable=SC2086  # one pid a line
[ -n "$leftover" ] && s_stop_pids $leftover
: >"$T/submit.pid"; : >"$T/gather.pid"
EXTRA_PIDS=("${EXTRA_PIDS[0]}")    # the watchdog; the others are reaped
GATHER_RC=$(cat "$T/gather.done" 2>/dev/null || echo none)
WALL=$(elapsed)

#  Stop cleanly so the store holds the last turn; then read it.
s_stop_pids "${WORKER_PID[@]}"; WORKER_PID=()
s_stop_pids "$COORD_PID"; COORD_PID=""

# ---------------------------------------------------------------- summary
touch "$T/sub.tsv" "$T/gather.out"
rm -f "$T/check.db"
{
    cat "$T/lines.sql" "$T/expect.sql"
    echo "create table sub(idx integer, id integer);"
    echo "create table gathered(n integer primary key, line text);"
    echo "begin;"
    awk -F'\t' '{ printf "insert into sub values(%d,%d);\n", $1, $2 }' "$T/sub.tsv"
    awk '{ gsub("'\''", "'\'\''"); printf "insert into gathered values(%d,'\''%s'\'');\n", NR, $0 }' "$T/gather.out"
    echo "commit;"
} | sqlite3 "$T/check.db" || { echo "soak: cannot build check.db" >&2; exit 2; }

q() { sqlite3 -cmd ".timeout 5000" -cmd "attach '$T/zjob.db' as s" "$T/check.db" "$@"; }
#  same A B: SQL true when the JSON texts A and B hold the same values.
#  Compared by value, not by text: the CLI stores 0.6 as
#  0.59999999999999998 and gather prints it back as 0.6.
same() {
    echo "(not exists (select fullkey, type, atom from json_tree($1)
                       except select fullkey, type, atom from json_tree($2))
          and not exists (select fullkey, type, atom from json_tree($2)
                       except select fullkey, type, atom from json_tree($1)))"
}
#  A row's result is wrong when it does not follow from its args.
WRONG_RESULT="j.state = 'succeeded' and (j.result is null or j.kind = 'exec'
    or (j.kind = 'echo' and not $(same j.result j.args))
    or (j.kind = 'sleep' and json_extract(j.result, '\$.slept') is not json_extract(j.args, '\$.seconds'))
    or (j.kind = 'sha256' and ((select count(*) from expect) > 0 and json_extract(j.result, '\$.hex') is not
        (select hex from expect e where e.data = json_extract(j.args, '\$.data')
         and e.rounds = json_extract(j.args, '\$.rounds')))))"
IDS="(select distinct id from sub)"

submitted=$(q "select count(*) from sub")
distinct=$(q "select count(distinct id) from sub")
printed_twice=$(q "select count(*) from (select id from sub group by id having count(*) > 1)")
recorded=$(q "select count(*) from s.jobs")
orphans=$(q "select count(*) from s.jobs where id not in $IDS")
missing=$(q "select count(*) from $IDS x where x.id not in (select id from s.jobs)")
mismapped=$(q "select count(*) from sub join line l using (idx) join s.jobs j on j.id = sub.id
                where j.kind is not l.kind or not $(same j.args l.args)")
state() { q "select count(*) from s.jobs where id in $IDS and state in ($1)"; }
succeeded=$(state "'succeeded'")
failed=$(state "'failed'")
cancelled=$(state "'cancelled'")
unfinished=$(state "'queued', 'running'")
wrong=$(q "select count(*) from s.jobs j where j.id in $IDS and $WRONG_RESULT")
#  Without known digests: each (data, rounds) pair must have one digest.
sha_split=$(q "select count(*) from (select json_extract(args, '\$.data') d from s.jobs
                where kind = 'sha256' and state = 'succeeded'
                  and not exists (select 1 from expect) group by d
                having count(distinct json_extract(result, '\$.hex')) > 1)")
reruns=$(q "select count(*) from s.jobs where attempts > 1")
max_attempts=$(q "select coalesce(max(attempts), 0) from s.jobs")
#  Poison jobs (exec) must end failed by the loss bound; no job may have
#  more attempts than it allows plus the losses that the bound caps.
LOST_ERROR="error like '%worker was lost%'"
poison=$(q "select count(*) from s.jobs where id in $IDS and kind = 'exec'")
poison_failed=$(q "select count(*) from s.jobs where id in $IDS and kind = 'exec'
                   and state = 'failed' and $LOST_ERROR and losses >= $MAX_LOSSES")
poison_losses=$(q "select coalesce(group_concat(losses, ','), '') from s.jobs where kind = 'exec'")
loss_failed=$(q "select count(*) from s.jobs where id in $IDS and kind != 'exec'
                 and state = 'failed' and $LOST_ERROR")
over_bound=$(q "select count(*) from s.jobs where attempts > max_attempts + losses
                or losses > $MAX_LOSSES")
gathered=$(q "select count(*) from gathered")
gather_bad=$(q "select count(*) from gathered g
    left join (select row_number() over (order by rowid) n, id from sub) o on o.n = g.n
    left join s.jobs j on j.id = json_extract(g.line, '\$.id')
    where o.id is not json_extract(g.line, '\$.id') or j.state is not json_extract(g.line, '\$.state')
       or (j.state = 'succeeded' and not $(same j.result "json_extract(g.line, '\$.result')"))")
dropped=$(grep -c "result dropped" "$T/coordinator.log")
#  Per reason, as the coordinator words it: "stale attempt: 12; ...".
dropped_why=$(grep "result dropped" "$T/coordinator.log" | sed -n 's/.*reason=//p' |
              sort | uniq -c | awk '{ n = $1; $1 = ""; printf "%s%s: %d", sep, substr($0, 2), n; sep = "; " }')
requeued=$(grep -o "worker [a-z]* name=[^ ]* requeued=[0-9]*" "$T/coordinator.log" |
           awk -F= '{ s += $NF } END { print s + 0 }')
recovered=$(grep -o "recovered .*requeued=[0-9]*" "$T/coordinator.log" |
            awk -F= '{ s += $NF } END { print s + 0 }')

lost=$((missing + unfinished))
duplicates=$((printed_twice + wrong + mismapped + sha_split))

cat <<EOF

---- zjob soak summary ($T)
submitted        $submitted   (ids printed by submit; $distinct distinct)
recorded         $recorded   (rows in jobs)
orphan rows      $orphans   (rows whose id was never printed: a submit cut by a kill, sent again)
succeeded        $succeeded
failed           $failed
cancelled        $cancelled
unfinished       $unfinished   (queued or running at the end)
lost             $lost   (printed ids with no row: $missing; unfinished: $unfinished)
duplicates       $duplicates   (ids printed twice: $printed_twice; wrong results: $wrong; row not the submitted job: $mismapped; sha256 pairs with two digests: $sha_split)
re-runs          $reruns   (jobs with attempts > 1; most attempts: $max_attempts)
gathered         $gathered   (lines of the last gather, exit $GATHER_RC; disagreeing with the store or the order: $gather_bad)
poison           $poison   (exec jobs that kill their worker; failed after $MAX_LOSSES losses: $poison_failed; losses each: ${poison_losses:-none})
loss-failed      $loss_failed   (other jobs failed because $MAX_LOSSES of their workers were lost under them)
over the bound   $over_bound   (jobs with attempts > max_attempts + losses, or losses > $MAX_LOSSES)
kills            workers $KILLED_WORKERS, coordinator $KILLED_COORD; died on their own $DIED (restarted)
frozen           $FROZEN   (workers SIGSTOPped ${FREEZE}s, past their lease, then thawed)
impostors        $IMPOSTORS_STARTED   (workers started with a taken name; refused, exit non-zero: $IMPOSTORS_REFUSED)
requeued         $requeued   (running jobs of lost workers sent back), $recovered at coordinator restarts
result dropped   $dropped   (results the exactly-once rule refused: ${dropped_why:-none})
wall time        ${WALL}s
EOF
[ "$(command -v python3)" ] || echo "note: no python3, sha256 digests checked only for consistency"

if [ "$lost" = 0 ] && [ "$duplicates" = 0 ] && [ "$unfinished" = 0 ] && [ "$submitted" -gt 0 ] &&
   [ "$poison_failed" = "$poison" ] && [ "$over_bound" = 0 ] &&
   [ "$IMPOSTORS_REFUSED" = "$IMPOSTORS_STARTED" ]; then
    echo "soak: PASS"
    exit 0
fi
echo "soak: FAIL"
exit 1
