//  app.js - zjob's status page: polls the coordinator's JSON API every
//  2 s and updates the page in place. Routes (the URL's hash):
//    #/                        the overview (and the newest jobs)
//    #/jobs?state=S&kind=K     the job list alone, filtered
//    #/jobs/ID                 one job
//  Every string from the API goes in as text (textContent, attributes),
//  never as markup. No framework, nothing fetched but the API.
"use strict";

const POLL_MS = 2000;
const FETCH_TIMEOUT_MS = 10000;
const SVG = "http://www.w3.org/2000/svg";

let generation = 0;     //  Bumped on each route change: late answers drop
let timer = null;
let lostSince = null;   //  When the coordinator stopped answering, or null
let lastGood = null;    //  When it last answered

//  ---- DOM helpers: build elements from text, never from markup ----

function el(tag, attrs, ...children) {
    const node = document.createElement(tag);
    for (const [name, value] of Object.entries(attrs || {}))
        if (value !== null && value !== undefined && value !== false)
            node.setAttribute(name, String(value));
    for (const child of children)
        if (child !== null && child !== undefined)
            node.append(child instanceof Node ? child : String(child));
    return node;
}

function svg(tag, attrs, ...children) {
    const node = document.createElementNS(SVG, tag);
    for (const [name, value] of Object.entries(attrs || {}))
        node.setAttribute(name, String(value));
    for (const child of children)
        node.append(child instanceof Node ? child : String(child));
    return node;
}

function $(id) { return document.getElementById(id); }

function setText(id, value) {
    const node = $(id);
    const text = value === null || value === undefined ? "\u2013" : String(value);
    if (node.textContent !== text) node.textContent = text;
}

//  Replaces a table's rows; an empty list shows one row saying so.
function fillRows(table, rows, emptyText) {
    const body = table.tBodies[0];
    const columns = Array.from(table.tHead.rows[0].cells)
        .reduce((sum, cell) => sum + cell.colSpan, 0);
    if (rows.length === 0)
        rows = [el("tr", { class: "empty" },
                   el("td", { colspan: columns }, emptyText))];
    body.replaceChildren(...rows);
}

function jobLink(id) {
    return el("a", { href: "#/jobs/" + encodeURIComponent(id) }, "#" + id);
}

function badge(state) {
    return el("span", { class: "badge state-" + String(state).replace(/[^a-z]/g, "") },
              state);
}

//  ---- formatting ----

function isNumber(value) { return typeof value === "number" && isFinite(value); }

function num(value) { return isNumber(value) ? String(value) : "\u2013"; }

function duration(seconds) {
    if (!isNumber(seconds)) return "\u2013";
    if (seconds < 1) return Math.round(seconds * 1000) + " ms";
    if (seconds < 10) return seconds.toFixed(1) + " s";
    if (seconds < 120) return Math.round(seconds) + " s";
    if (seconds < 7200) return Math.floor(seconds / 60) + " min " +
        Math.round(seconds % 60) + " s";
    if (seconds < 172800) return Math.floor(seconds / 3600) + " h " +
        Math.floor((seconds % 3600) / 60) + " min";
    return Math.floor(seconds / 86400) + " d";
}

function bytes(count) {
    if (count < 1024) return count + " B";
    if (count < 1048576) return (count / 1024).toFixed(0) + " KiB";
    if (count < 1073741824) return (count / 1048576).toFixed(1) + " MiB";
    return (count / 1073741824).toFixed(2) + " GiB";
}

function pad(value) { return String(value).padStart(2, "0"); }

//  A unix time as local "YYYY-MM-DD HH:MM:SS" (today: the time alone).
function when(seconds) {
    if (!isNumber(seconds)) return "\u2013";
    const date = new Date(seconds * 1000);
    const time = pad(date.getHours()) + ":" + pad(date.getMinutes()) + ":" +
        pad(date.getSeconds());
    const today = new Date();
    if (date.toDateString() === today.toDateString()) return time;
    return date.getFullYear() + "-" + pad(date.getMonth() + 1) + "-" +
        pad(date.getDate()) + " " + time;
}

function timeCell(seconds, field) {
    const attrs = { "data-field": field };
    if (isNumber(seconds)) {
        attrs["data-value"] = seconds;
        attrs.title = new Date(seconds * 1000).toISOString();
    }
    return el("td", attrs, when(seconds));
}

function json(value) {
    if (value === null || value === undefined) return "";
    if (typeof value === "string") {
        try { return JSON.stringify(JSON.parse(value), null, 2); }
        catch (e) { return value; }
    }
    return JSON.stringify(value, null, 2);
}

//  ---- the API ----

class ApiError extends Error {
    constructor(status, message) { super(message); this.status = status; }
}

async function api(path) {
    const controller = new AbortController();
    const timeout = setTimeout(() => controller.abort(), FETCH_TIMEOUT_MS);
    let response;
    try {
        response = await fetch(path, { signal: controller.signal,
                                       cache: "no-store",
                                       headers: { Accept: "application/json" } });
    } catch (error) {
        throw new ApiError(0, error.name === "AbortError"
            ? "no answer in " + FETCH_TIMEOUT_MS / 1000 + " s" : "cannot connect");
    } finally {
        clearTimeout(timeout);
    }
    let body = null;
    try { body = await response.json(); } catch (e) { body = null; }
    if (!response.ok)
        throw new ApiError(response.status, body && body.error
            ? body.error : "HTTP " + response.status);
    return body;
}

//  ---- routing ----

function route() {
    const hash = location.hash.replace(/^#/, "") || "/";
    const [path, query] = hash.split("?");
    const job = path.match(/^\/jobs\/(\d+)$/);
    if (job) return { view: "job", id: job[1] };
    const params = new URLSearchParams(query || "");
    return { view: path === "/jobs" ? "jobs" : "overview",
             state: params.get("state") || "", kind: params.get("kind") || "" };
}

function showView(current) {
    $("view-overview").hidden = current.view === "job";
    $("view-job").hidden = current.view !== "job";
    $("view-overview").classList.toggle("only-jobs", current.view === "jobs");
    for (const link of document.querySelectorAll("nav a")) {
        const here = (link.getAttribute("href") === "#/jobs") === (current.view === "jobs") &&
            current.view !== "job";
        if (here) link.setAttribute("aria-current", "page");
        else link.removeAttribute("aria-current");
    }
    if (current.view !== "job") {
        $("filter-state").value = current.state;
        $("filter-kind").value = current.kind;
    }
}

//  ---- the overview ----

function renderJobs(overview) {
    const jobs = overview.jobs || {};
    for (const state of ["queued", "running", "delayed", "waiting"])
        setText("jobs-" + state, num(jobs[state]));
    const finished = { succeeded: 0, failed: 0, cancelled: 0 };
    for (const kind of overview.kinds || [])
        for (const state of Object.keys(finished))
            finished[state] += (kind.finished || {})[state] || 0;
    for (const state of Object.keys(finished))
        setText("jobs-" + state, finished[state]);
}

function kindCell(kind, field, text, extra) {
    return el("td", Object.assign({ "data-kind": kind, "data-field": field,
                                    class: "num" }, extra || {}), text);
}

//  A kind a worker offers with nothing queued, running or finished in 15
//  minutes and no limit: listed by name under the table, not as a row.
function isIdle(entry) {
    const finished = entry.finished || {};
    const limit = entry.limit || {};
    return entry.offered !== false && !entry.queued && !entry.running &&
        !finished.succeeded && !finished.failed && !finished.cancelled &&
        !isNumber(limit.concurrency) && !isNumber(limit.rate) && !limit.held;
}

function renderKinds(kinds) {
    const idle = kinds.filter(isIdle).map((entry) => String(entry.kind));
    $("kinds-idle").hidden = idle.length === 0;
    setText("kinds-idle", "Offered, nothing in 15 minutes: " + idle.join(", "));
    const rows = kinds.filter((entry) => !isIdle(entry)).map((entry) => {
        const kind = String(entry.kind);
        const finished = entry.finished || {};
        const limit = entry.limit || {};
        const filter = "#/jobs?kind=" + encodeURIComponent(kind);
        const oldest = isNumber(entry.oldest_queued_id)
            ? el("a", { href: "#/jobs/" + entry.oldest_queued_id,
                        title: "job " + entry.oldest_queued_id },
                 duration(entry.oldest_queued_s))
            : duration(entry.oldest_queued_s);
        return el("tr", { "data-kind": kind },
            el("th", { scope: "row" }, el("a", { href: filter }, kind),
               entry.offered === false
                   ? el("span", { class: "badge state-lost", title: "no connected worker offers it" },
                        "no worker") : null),
            kindCell(kind, "queued", num(entry.queued)),
            kindCell(kind, "oldest_queued", oldest,
                     { "data-value": entry.oldest_queued_s }),
            kindCell(kind, "running", num(entry.running)),
            kindCell(kind, "succeeded", num(finished.succeeded || 0)),
            kindCell(kind, "failed", num(finished.failed || 0),
                     finished.failed ? { class: "num bad" } : null),
            kindCell(kind, "cancelled", num(finished.cancelled || 0)),
            kindCell(kind, "concurrency", isNumber(limit.concurrency)
                     ? limit.concurrency : "\u2013"),
            kindCell(kind, "rate", isNumber(limit.rate) ? limit.rate : "\u2013"),
            el("td", { "data-kind": kind, "data-field": "held" },
               limit.held ? String(limit.held) : ""));
    });
    fillRows($("kinds"), rows, "Nothing queued, running or finished in 15 minutes.");
}

function renderWorkers(workers) {
    const rows = workers.map((worker) => {
        const name = String(worker.name);
        const cell = (field, text, cls) => el("td",
            { "data-worker": name, "data-field": field, class: cls || "num" }, text);
        const entries = Object.entries(worker.kinds || {});
        const kinds = entries.map(([kind, klass]) => kind + " (" + klass + ")").join(", ");
        const kindsCell = entries.length > 4
            ? el("details", {}, el("summary", {}, entries.length + " kinds"), kinds)
            : kinds;
        const host = String(worker.host || "") +
            (isNumber(worker.pid) ? " (" + worker.pid + ")" : "");
        return el("tr", { "data-worker": name },
            el("th", { scope: "row" }, name),
            cell("host", host, "text"),
            el("td", { "data-worker": name, "data-field": "state" },
               badge(String(worker.state))),
            cell("io_slots", num(worker.io_slots)),
            cell("cpu_slots", num(worker.cpu_slots)),
            cell("io_credit", num(isNumber(worker.io_credit) ? worker.io_credit
                                                             : worker.credit)),
            cell("cpu_credit", num(worker.cpu_credit)),
            cell("running", num(worker.running)),
            cell("awaiting", num(worker.suspended) +
                 (isNumber(worker.max_suspended) ? " / " + worker.max_suspended : "")),
            cell("last_beat", isNumber(worker.last_beat_s)
                 ? duration(worker.last_beat_s) + " ago" : "\u2013"),
            cell("kinds", kindsCell, "text"));
    });
    fillRows($("workers"), rows, "No worker has connected.");
}

//  A bar chart of one or more series per minute as inline SVG: each
//  minute a stack of bars, each bar with its numbers as a tooltip.
function chart(minutes, series, label) {
    const width = 360, height = 96, top = 14, bottom = 16, left = 4;
    const count = Math.max(minutes.length, 1);
    const slot = (width - left * 2) / count;
    const totals = minutes.map((m) => series.reduce((sum, s) => sum + (m[s.field] || 0), 0));
    const max = Math.max(1, ...totals);
    const plot = height - top - bottom;
    const total = totals.reduce((a, b) => a + b, 0);
    const node = svg("svg", { viewBox: "0 0 " + width + " " + height,
                              width: width, height: height, role: "img",
                              "aria-label": label + ": " + total + " in 15 minutes, at most " +
                                  Math.max(0, ...totals) + " a minute",
                              "data-total": total });
    node.append(svg("line", { x1: 0, x2: width, y1: height - bottom + 0.5,
                              y2: height - bottom + 0.5, class: "axis" }));
    minutes.forEach((minute, index) => {
        let y = height - bottom;
        const x = left + index * slot + 1;
        const tip = when(minute.at) + ": " + series.map((s) =>
            (minute[s.field] || 0) + " " + s.field).join(", ");
        const group = svg("g", { "data-at": minute.at }, svg("title", {}, tip));
        for (const s of series) {
            const value = minute[s.field] || 0;
            if (!value) continue;
            const h = Math.max(1, (value / max) * plot);
            y -= h;
            group.append(svg("rect", { x: x, y: y, width: Math.max(1, slot - 2),
                                       height: h, class: "bar " + s.field }));
        }
        //  An invisible bar over the whole slot, so the tooltip shows anywhere
        group.append(svg("rect", { x: x, y: top, width: Math.max(1, slot - 2),
                                   height: plot, class: "hit" }));
        node.append(group);
    });
    node.append(svg("text", { x: left, y: 10, class: "label" }, "max " + Math.max(0, ...totals)));
    node.append(svg("text", { x: left, y: height - 3, class: "label" }, "\u221215 min"));
    node.append(svg("text", { x: width - left, y: height - 3, class: "label end" }, "now"));
    node.append(svg("text", { x: width - left, y: 10, class: "label end" }, "total " + total));
    return node;
}

function legend(series) {
    return el("ul", { class: "legend" }, ...series.map((s) =>
        el("li", {}, el("span", { class: "swatch " + s.field, "aria-hidden": "true" }),
           s.field)));
}

function renderCharts(minutes) {
    const finished = [{ field: "succeeded" }, { field: "failed" },
                      { field: "cancelled" }];
    $("chart-throughput").replaceChildren(
        chart(minutes, finished, "Finished per minute"), legend(finished));
    $("chart-failures").replaceChildren(chart(minutes, [{ field: "failed" }],
        "Failed per minute"));
}

function renderFailures(failures) {
    const rows = failures.map((failure) => el("tr", { "data-job": failure.id },
        el("td", { class: "num", "data-field": "id" }, jobLink(failure.id)),
        el("td", { "data-field": "kind" }, String(failure.kind)),
        el("td", { "data-job": failure.id, "data-field": "error", class: "error" },
           failure.error === null || failure.error === undefined ? "" : String(failure.error)),
        el("td", { class: "num", "data-field": "attempts" }, num(failure.attempts)),
        el("td", { "data-field": "worker" }, failure.worker ? String(failure.worker) : "\u2013"),
        timeCell(failure.finished_at, "finished_at")));
    fillRows($("failures"), rows, "No failures.");
}

function renderSchedules(schedules) {
    const rows = schedules.map((schedule) => el("tr",
        { "data-schedule": schedule.name },
        el("th", { scope: "row" }, String(schedule.name)),
        el("td", {}, String(schedule.kind)),
        el("td", {}, schedule.cron ? "cron " + schedule.cron
                                   : "every " + duration(isNumber(schedule.every_ms)
                                       ? schedule.every_ms / 1000 : schedule.every_s)),
        timeCell(schedule.next_at, "next_at"),
        timeCell(schedule.last_at, "last_at")));
    fillRows($("schedules"), rows, "No schedules.");
}

function renderLimits(limits) {
    const rows = limits.map((limit) => el("tr", { "data-limit": limit.kind },
        el("th", { scope: "row" }, String(limit.kind)),
        el("td", { class: "num" }, num(limit.concurrency)),
        el("td", { class: "num" }, num(limit.rate))));
    fillRows($("limits"), rows, "No limits.");
}

function renderJobList(answer, current) {
    const jobs = Array.isArray(answer) ? answer : (answer && answer.jobs) || [];
    const rows = jobs.map((job) => el("tr", { "data-job": job.id },
        el("td", { class: "num", "data-field": "id" }, jobLink(job.id)),
        el("td", { "data-field": "kind" }, String(job.kind)),
        el("td", { "data-job": job.id, "data-field": "state" }, badge(String(job.state))),
        el("td", { class: "num", "data-field": "attempts" }, num(job.attempts)),
        el("td", { "data-field": "worker" }, job.worker ? String(job.worker) : "\u2013"),
        timeCell(job.created_at, "created_at"),
        timeCell(job.finished_at, "finished_at")));
    const filter = [current.state && "state " + current.state,
                    current.kind && "kind " + current.kind].filter(Boolean).join(", ");
    $("jobs-caption").textContent = "Newest jobs first" + (filter ? " (" + filter + ")" : "");
    fillRows($("jobs"), rows, filter ? "No jobs with " + filter + "." : "No jobs.");
    $("jobs-more").hidden = !(answer && answer.more);
    setText("jobs-more", "The newest " + jobs.length + " shown; there are more.");
}

function renderFooter(overview) {
    const parts = ["zjob " + (overview.version || "")];
    if (isNumber(overview.started_at))
        parts.push("up " + duration(overview.now - overview.started_at));
    if (overview.store)
        parts.push("store " + (overview.store.path || "") +
                   (isNumber(overview.store.bytes) ? " (" + bytes(overview.store.bytes) + ")" : ""));
    $("footer").textContent = parts.join(" \u00b7 ");
}

async function pollOverview(current) {
    const query = new URLSearchParams();
    if (current.state) query.set("state", current.state);
    if (current.kind) query.set("kind", current.kind);
    query.set("limit", current.view === "jobs" ? "200" : "50");
    //  One request at a time: the browser then needs one connection for
    //  them, not five of the server's few threads.
    const overview = await api("/api/overview");
    const failures = await api("/api/failures?limit=20");
    const schedules = await api("/api/schedules");
    const limits = await api("/api/limits");
    const jobs = await api("/api/jobs?" + query.toString());
    return () => {
        renderJobs(overview);
        renderCharts(overview.minutes || []);
        renderKinds(overview.kinds || []);
        renderWorkers(overview.workers || []);
        renderFailures(failures || []);
        renderSchedules(schedules || []);
        renderLimits(limits || []);
        renderJobList(jobs, current);
        renderFooter(overview);
    };
}

//  ---- one job ----

function linkList(id, jobs, emptyText) {
    const items = (jobs || []).map((job) => typeof job === "object"
        ? el("li", { "data-job": job.id }, jobLink(job.id), " ", String(job.kind || ""),
             " ", job.state ? badge(String(job.state)) : null)
        : el("li", { "data-job": job }, jobLink(job)));
    if (items.length === 0) items.push(el("li", { class: "empty" }, emptyText));
    $(id).replaceChildren(...items);
}

function renderJob(answer) {
    const job = answer.job;
    $("job-missing").hidden = true;
    $("job-body").hidden = false;
    setText("job-title", "Job " + job.id);
    document.title = "zjob: job " + job.id;
    $("job-state").replaceWith(Object.assign(badge(String(job.state)), { id: "job-state" }));
    setText("job-kind", job.kind);
    setText("job-attempts", num(job.attempts) +
            (isNumber(job.max_attempts) ? " of " + job.max_attempts : ""));
    setText("job-priority", num(job.priority));
    setText("job-worker", job.worker || "\u2013");
    $("job-parent").replaceChildren(isNumber(job.parent) ? jobLink(job.parent) : "\u2013");
    setText("job-created", when(job.created_at));
    setText("job-started", when(job.started_at));
    setText("job-finished", when(job.finished_at));
    setText("job-took", isNumber(job.finished_at) && isNumber(job.started_at)
            ? duration(job.finished_at - job.started_at) : "\u2013");
    const progress = job.progress !== undefined ? job.progress
        : isNumber(job.progress_done)
            ? { done: job.progress_done, total: job.progress_total,
                text: job.progress_text } : null;
    $("job-progress-box").hidden = !progress;
    if (progress) {
        const bar = $("job-progress");
        if (isNumber(progress.total) && progress.total > 0) {
            bar.max = progress.total;
            bar.value = Math.min(isNumber(progress.done) ? progress.done : 0,
                                 progress.total);
        } else {
            bar.removeAttribute("value"); //  Total unknown: indeterminate
        }
        setText("job-progress-text", num(progress.done) + " of " + num(progress.total) +
                (progress.text ? ": " + progress.text : ""));
    }
    setText("job-args", json(job.args));
    const hasResult = job.result !== null && job.result !== undefined;
    $("job-result-box").hidden = !hasResult;
    setText("job-result", json(job.result));
    const hasError = job.error !== null && job.error !== undefined && job.error !== "";
    $("job-error-box").hidden = !hasError;
    setText("job-error", hasError ? String(job.error) : "");
    const attempts = (answer.attempts || []).map((attempt) => el("tr",
        { "data-attempt": attempt.attempt },
        el("td", { class: "num" }, num(attempt.attempt)),
        el("td", {}, attempt.worker ? String(attempt.worker) : "\u2013"),
        el("td", {}, attempt.state ? badge(String(attempt.state)) : "\u2013"),
        el("td", { class: "error" }, attempt.error ? String(attempt.error) : ""),
        timeCell(attempt.started_at, "started_at"),
        timeCell(attempt.finished_at, "finished_at")));
    fillRows($("job-attempt-list"), attempts, "Not started yet.");
    linkList("job-after", Array.isArray(answer.after) ? answer.after : job.after,
             "nothing");
    linkList("job-children", answer.children, "none");
    $("job-dependents-box").hidden = !Array.isArray(answer.dependents);
    linkList("job-dependents", answer.dependents, "none");
    const logs = (answer.logs !== undefined ? answer.logs : job.log) || "";
    setText("job-logs", logs === "" ? "(no logs)" : logs);
}

function renderMissing(id, message) {
    setText("job-title", "Job " + id);
    $("job-body").hidden = true;
    $("job-missing").hidden = false;
    $("job-missing").textContent = message;
}

async function pollJob(current) {
    try {
        const answer = await api("/api/jobs/" + encodeURIComponent(current.id));
        return () => renderJob(answer);
    } catch (error) {
        if (error.status === 404)
            return () => renderMissing(current.id, error.message);
        throw error;
    }
}

//  ---- the loop ----

function showConnected() {
    if (lostSince !== null || lastGood === null) console.info("zjob: connected");
    lastGood = Date.now() / 1000;
    lostSince = null;
    document.body.classList.remove("stale");
    $("lost").hidden = true;
    $("lost").dataset.state = "ok";
    $("status").dataset.state = "ok";
    setText("status-text", "Live");
    setText("status-time", "\u00b7 updated " + when(lastGood));
}

function showLost(error) {
    const now = Date.now() / 1000;
    if (lostSince === null) {
        lostSince = now;
        console.info("zjob: lost the coordinator: " + error.message);
    }
    document.body.classList.add("stale");
    const lost = $("lost");
    const reason = error.status ? "answered " + error.status + ": " + error.message
                                : "does not answer (" + error.message + ")";
    const text = "Lost the coordinator: it " + reason + " since " + when(lostSince) +
        ". Retrying every " + POLL_MS / 1000 + " s" +
        (lastGood ? "; the numbers below are from " + when(lastGood) + "." : ".");
    if (lost.textContent !== text) lost.textContent = text; //  Alerts once
    lost.dataset.state = "lost";
    lost.hidden = false;
    $("status").dataset.state = "lost";
    setText("status-text", "Not connected");
}

async function tick() {
    clearTimeout(timer);
    const mine = ++generation;
    const current = route();
    showView(current);
    try {
        const render = current.view === "job" ? await pollJob(current)
                                               : await pollOverview(current);
        if (mine !== generation) return;
        render();
        showConnected();
    } catch (error) {
        if (mine !== generation) return;
        if (!(error instanceof ApiError)) {
            console.error(error);
            error = new ApiError(0, "page error: " + error.message);
        }
        showLost(error);
    }
    timer = setTimeout(tick, POLL_MS);
}

$("filters").addEventListener("submit", (event) => {
    event.preventDefault();
    const query = new URLSearchParams();
    if ($("filter-state").value) query.set("state", $("filter-state").value);
    if ($("filter-kind").value.trim()) query.set("kind", $("filter-kind").value.trim());
    const text = query.toString();
    location.hash = "#/jobs" + (text ? "?" + text : "");
});
$("filter-state").addEventListener("change", () => $("filters").requestSubmit());
window.addEventListener("hashchange", () => { window.scrollTo(0, 0); tick(); });
tick();
