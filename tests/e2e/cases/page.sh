#  page.sh - the status page (coordinator/web/, zjob-coordinator --http)
#  loaded in headless Chromium against a live coordinator: the numbers it
#  shows against the store, one job's page, the job list's filter, and
#  what it says when the coordinator goes away. Screenshots go to
#  $ZJ_OUT (page.png, job-page.png).

#  page_chromium ARGS...: headless Chromium on $T/chrome, bounded; its
#  log (with the page's console) in $T/chromium.log.
PAGE_CHROMIUM=(timeout 60 chromium --headless --no-sandbox --disable-gpu
    --disable-quic --no-first-run --disable-background-networking
    --disable-component-update --disable-sync --enable-logging=stderr)
page_chromium() {
    "${PAGE_CHROMIUM[@]}" --user-data-dir="$T/chrome" "$@" 2>>"$T/chromium.log"
}

#  page_dump URL FILE: the page's DOM once it has polled the API (its
#  2 s timers run on virtual time, its requests on real time).
page_dump() {
    page_chromium --virtual-time-budget=5000 --dump-dom "$1" >"$2" ||
        fail "chromium exited $? on $1: $(tail -n 5 "$T/chromium.log")"
    grep -q 'id="status"[^>]*data-state="ok"' "$2" ||
        fail "the page never got its numbers from $1: $(grep -o '<div id="lost"[^>]*>[^<]*' "$2")"
}

#  page_shot URL NAME: a 1280x1600 screenshot of URL as $ZJ_OUT/NAME.
page_shot() {
    mkdir -p "$ZJ_OUT"
    page_chromium --virtual-time-budget=5000 --window-size=1280,1600 \
        --hide-scrollbars --screenshot="$ZJ_OUT/$2" "$1" >/dev/null ||
        fail "chromium exited $? taking $2"
    [ -s "$ZJ_OUT/$2" ] || fail "no screenshot $ZJ_OUT/$2"
}

#  dom_text FILE ATTRS: the text of the first element whose attributes
#  start with ATTRS (as Chromium serializes them: in the order the page
#  set them), with the entities Chromium writes in text undone.
dom_text() {
    grep -o "$2[^>]*>[^<]*" "$1" | head -n 1 | sed 's/^[^>]*>//' |
        sed 's/&lt;/</g; s/&gt;/>/g; s/&nbsp;/ /g; s/&amp;/\&/g'
}

#  page_start: the coordinator with --http on a free port ($PAGE_URL) and
#  worker w1 with the test plugin. Returns 1 (the test skips) without
#  Chromium.
page_start() {
    command -v chromium >/dev/null ||
        { echo "SKIP: no chromium (make deps installs it)"; return 1; }
    local port; port=$("$ZJ_BIN/freeport" 1)
    PAGE_URL="http://127.0.0.1:$port"
    start_coordinator --http "127.0.0.1:$port"
    wait_until 10 bash -c "exec 3<>/dev/tcp/127.0.0.1/$port"
    start_worker w1 --plugin "$ZJ_BIN/test_plugin.so"
}

#  page_jobs: two echo jobs that succeed, two sleep jobs that fail on bad
#  args, a steps job (progress, logs), a child job's parent, an echo run
#  after the steps job, and one job no worker offers (it stays queued).
#  Sets GOOD1 GOOD2 BAD1 BAD2 STEPS PARENT AFTER STUCK.
page_jobs() {
    GOOD1=$(zj submit echo '{"n": 1}') || fail "submit echo"
    GOOD2=$(zj submit echo '{"n": "<b>2</b>"}') || fail "submit echo"
    BAD1=$(zj submit sleep '{"seconds": "soon"}') || fail "submit sleep"
    BAD2=$(zj submit sleep '{"seconds": "later"}') || fail "submit sleep"
    STEPS=$(zj submit steps '{"steps": 3, "ms": 10}') || fail "submit steps"
    PARENT=$(zj submit child '{"from": "parent"}') || fail "submit child"
    AFTER=$(zj submit echo '{"n": "after"}' --after "$STEPS") || fail "submit after"
    STUCK=$(zj submit nobody '{}' 2>/dev/null) || fail "submit nobody"
    zj gather "$GOOD1" "$GOOD2" "$BAD1" "$BAD2" "$STEPS" "$PARENT" "$AFTER" \
        >/dev/null
    wait_until 10 value_is = 0 sql "select count(*) from jobs where state = 'running'"
}

#  The page's numbers are the store's: jobs by state, finished by kind, a
#  failure's error, a worker; and it loads nothing from elsewhere.
test_page_shows_the_numbers_of_the_store() {
    page_start || return 0
    page_jobs
    zj limit sleep --concurrency 3 >/dev/null || fail "zjob limit"
    zj schedule add nightly --cron '0 3 * * *' echo '{}' >/dev/null ||
        fail "zjob schedule add"
    page_dump "$PAGE_URL/" dom.html
    for state in queued running; do
        assert_eq "$(dom_text dom.html "id=\"jobs-$state\"")" \
            "$(sql "select count(*) from jobs where state = '$state'")" "jobs $state"
    done
    for state in succeeded failed cancelled; do
        assert_eq "$(dom_text dom.html "id=\"jobs-$state\"")" \
            "$(sql "select count(*) from jobs where state = '$state'")" "jobs $state"
    done
    for kind in echo sleep steps child; do
        for state in succeeded failed; do
            assert_eq "$(dom_text dom.html "data-kind=\"$kind\" data-field=\"$state\"")" \
                "$(sql "select count(*) from jobs where kind = '$kind' and state = '$state'")" \
                "$kind $state"
        done
    done
    assert_eq "$(dom_text dom.html 'data-kind="nobody" data-field="queued"')" 1 \
        "queued nobody jobs"
    assert_eq "$(dom_text dom.html 'data-kind="sleep" data-field="concurrency"')" 3 \
        "sleep's concurrency limit"
    assert_eq "$(dom_text dom.html "data-job=\"$BAD2\" data-field=\"error\"")" \
        "$(sql "select error from jobs where id = $BAD2")" "job $BAD2's error"
    assert_eq "$(dom_text dom.html "data-job=\"$BAD1\" data-field=\"error\"")" \
        "$(sql "select error from jobs where id = $BAD1")" "job $BAD1's error"
    grep -q 'data-worker="w1" data-field="state"><span class="badge state-connected">connected<' \
        dom.html || fail "w1 not connected: $(grep -o 'data-worker="w1" data-field="state">.\{60\}' dom.html)"
    assert_eq "$(dom_text dom.html 'data-worker="w1" data-field="io_slots"')" \
        "$(sql "select io_slots from workers where name = 'w1'")" "w1's io slots"
    grep -q 'data-schedule="nightly"' dom.html || fail "no schedule nightly"
    grep -q 'data-limit="sleep"' dom.html || fail "no limit on sleep"
    grep -q "href=\"#/jobs/$GOOD2\"" dom.html || fail "no link to job $GOOD2"
    refute "the page loads from elsewhere" \
        grep -Eq '(src|href)="(https?:)?//' dom.html
    page_shot "$PAGE_URL/" page.png
}

#  One job's page: its args, state, progress, logs, the job it runs after,
#  a parent's child, a failed job's error; args are text, not markup.
test_page_shows_one_job() {
    page_start || return 0
    page_jobs
    page_dump "$PAGE_URL/#/jobs/$STEPS" steps.html
    assert_eq "$(dom_text steps.html 'id="job-title"')" "Job $STEPS" "title"
    assert_eq "$(dom_text steps.html 'id="job-state"')" \
        "$(sql "select state from jobs where id = $STEPS")" "state"
    assert_eq "$(dom_text steps.html 'id="job-kind"')" steps "kind"
    grep -A 3 'id="job-args"' steps.html | grep -q '"steps": 3' ||
        fail "args: $(grep -A 3 'id="job-args"' steps.html)"
    grep -q 'id="job-progress"[^>]*' steps.html || fail "no progress bar"
    grep -A 5 'id="job-logs"' steps.html | grep -q 'printed 1 of 3' ||
        fail "logs: $(grep -A 5 'id="job-logs"' steps.html)"
    page_dump "$PAGE_URL/#/jobs/$AFTER" after.html
    grep -A 3 'id="job-after"' after.html | grep -q "href=\"#/jobs/$STEPS\"" ||
        fail "job $AFTER does not link the job it runs after: $(grep -A 3 'id="job-after"' after.html)"
    page_dump "$PAGE_URL/#/jobs/$GOOD2" good2.html
    grep -A 3 'id="job-args"' good2.html | grep -q '"n": "&lt;b&gt;2&lt;/b&gt;"' ||
        fail "args not as text: $(grep -A 3 'id="job-args"' good2.html)"
    refute "args as markup" grep -q '<b>2</b>' good2.html
    page_dump "$PAGE_URL/#/jobs/$PARENT" parent.html
    child=$(sql "select id from jobs where parent = $PARENT")
    [ -n "$child" ] || fail "no child of $PARENT in the store"
    grep -q "href=\"#/jobs/$child\"" parent.html || fail "no link to child $child"
    page_dump "$PAGE_URL/#/jobs/$BAD1" bad.html
    assert_eq "$(dom_text bad.html 'id="job-error"')" \
        "$(sql "select error from jobs where id = $BAD1")" "job $BAD1's error"
    page_dump "$PAGE_URL/#/jobs/99999" missing.html
    grep -q 'id="job-missing"[^>]*>[^<]*99999' missing.html ||
        fail "no message for a missing job: $(grep -o 'id="job-missing".*' missing.html)"
    page_shot "$PAGE_URL/#/jobs/$STEPS" job-page.png
}

#  The job list filtered by state and kind shows those jobs alone.
test_page_filters_the_job_list() {
    page_start || return 0
    page_jobs
    page_dump "$PAGE_URL/#/jobs?state=failed&kind=sleep" list.html
    shown=$(grep -o 'data-job="[0-9]*" data-field="state"' list.html |
                grep -o '[0-9]*' | sort -n | tr '\n' ' ')
    assert_eq "$shown" "$BAD1 $BAD2 " "failed sleep jobs listed"
    page_dump "$PAGE_URL/#/jobs?kind=echo" echo.html
    shown=$(grep -o 'data-job="[0-9]*" data-field="state"' echo.html |
                grep -o '[0-9]*' | sort -n | tr '\n' ' ')
    assert_eq "$shown" "$(sql "select id from jobs where kind = 'echo' order by id" |
        tr '\n' ' ')" "echo jobs listed"
}

#  The coordinator stops while the page is open: the page says so (and
#  keeps the numbers it had). The page's console tells when it first got
#  its numbers; its polls then run on virtual time until the budget ends.
test_page_says_when_it_lost_the_coordinator() {
    page_start || return 0
    "${PAGE_CHROMIUM[@]}" --user-data-dir="$T/chrome" --virtual-time-budget=1200000 \
        --dump-dom "$PAGE_URL/" >dom.html 2>>"$T/chromium.log" &
    local chromium=$!
    zj_track "$chromium"
    wait_until 30 grep -q 'zjob: connected' "$T/chromium.log"
    stop_coordinator
    wait "$chromium" || fail "chromium exited $?: $(tail -n 5 "$T/chromium.log")"
    grep -q 'zjob: lost the coordinator' "$T/chromium.log" ||
        fail "the page did not notice: $(grep CONSOLE "$T/chromium.log")"
    grep -q 'id="status"[^>]*data-state="lost"' dom.html || fail "status not lost"
    grep -q '<div id="lost" role="alert" data-state="lost">Lost the coordinator' dom.html ||
        fail "no message: $(grep -o '<div id="lost"[^>]*>[^<]*' dom.html)"
}
