//  overview.c - the coordinator's state at a glance (see .h).
#include <assert.h>
#include <czmq.h>
#include <math.h>
#include <sys/stat.h>

#include "common/version.h"
#include "coordinator/overview.h"

static const zj_state_t s_finals[] = {ZJ_STATE_SUCCEEDED, ZJ_STATE_FAILED,
                                      ZJ_STATE_CANCELLED};
#define S_FINALS 3

//  Collects kind names (borrowed) into a set.
static void
s_add_kind(void *arg, const char *kind, size_t ready, size_t offers)
{
    (void) ready, (void) offers;
    zhashx_insert(arg, kind, (void *) kind);
}

//  Every kind worth a line: queued or offered since start, counted by the
//  metrics, or limited. Sorted by name.
static zlistx_t *
s_kinds(const zj_overview_src_t *src, json_t *metrics)
{
    zhashx_t *set = zhashx_new();
    zj_scheduler_each_kind(src->scheduler, s_add_kind, set);
    const char *name;
    json_t *value;
    json_object_foreach(json_object_get(metrics, "kinds"), name, value)
        zhashx_insert(set, name, (void *) name);
    zlistx_t *limited = zj_throttle_kinds(src->throttle);
    for (const char *kind = zlistx_first(limited); kind;
         kind = zlistx_next(limited))
        zhashx_insert(set, kind, (void *) kind);
    zlistx_t *names = zhashx_keys(set);
    zlistx_set_comparator(names, (zlistx_comparator_fn *) strcmp);
    zlistx_sort(names);
    zhashx_destroy(&set);
    zlistx_destroy(&limited);
    return names;
}

static json_t *
s_limit_json(const zj_overview_src_t *src, const char *kind, int64_t now_ms)
{
    zj_kind_limit_t limit;
    if (!zj_throttle_get(src->throttle, kind, &limit))
        return json_null();
    char held[256] = "";
    bool is_held =
        zj_throttle_describe(src->throttle, kind, now_ms, held, sizeof held);
    return json_pack(
        "{s:o, s:o, s:o}", "concurrency",
        limit.concurrency >= 0 ? json_integer(limit.concurrency) : json_null(),
        "rate", limit.rate > 0 ? json_real(limit.rate) : json_null(), "held",
        is_held ? json_string(held) : json_null());
}

static json_t *
s_kind_json(const zj_overview_src_t *src, const char *kind, double now,
            int64_t now_ms)
{
    json_t *finished = json_object();
    for (int index = 0; index < S_FINALS; index++) {
        int64_t count = 0;
        for (int ago = 0; ago < ZJ_STATS_MINUTES; ago++)
            count +=
                zj_stats_count(src->stats, kind, s_finals[index], now, ago);
        json_object_set_new(finished, zj_state_name(s_finals[index]),
                            json_integer(count));
    }
    const zj_future_t *oldest = zj_scheduler_oldest(src->scheduler, kind);
    double waited = oldest ? fmax(0, now - oldest->ready_since) : 0;
    return json_pack(
        "{s:s, s:I, s:o, s:o, s:I, s:b, s:o, s:o}", "kind", kind, "queued",
        (json_int_t) zj_scheduler_ready_of(src->scheduler, kind),
        "oldest_queued_s", oldest ? json_real(waited) : json_null(),
        "oldest_queued_id", oldest ? json_integer(oldest->job.id) : json_null(),
        "running", (json_int_t) zj_throttle_running(src->throttle, kind),
        "offered", zj_scheduler_is_offered(src->scheduler, kind), "finished",
        finished, "limit", s_limit_json(src, kind, now_ms));
}

//  All kinds' finished jobs per minute, the oldest minute first.
static json_t *
s_minutes_json(const zj_overview_src_t *src, double now)
{
    json_t *minutes = json_array();
    double minute = floor(now / 60) * 60;
    for (int ago = ZJ_STATS_MINUTES - 1; ago >= 0; ago--) {
        json_t *entry = json_pack("{s:f}", "at", minute - 60.0 * ago);
        for (int index = 0; index < S_FINALS; index++)
            json_object_set_new(
                entry, zj_state_name(s_finals[index]),
                json_integer(zj_stats_count(src->stats, NULL, s_finals[index],
                                            now, ago)));
        json_array_append_new(minutes, entry);
    }
    return minutes;
}

static json_t *
s_worker_kinds(const zj_worker_info_t *info)
{
    json_t *kinds = json_object();
    for (size_t index = 0; index < info->kind_count; index++)
        json_object_set_new(kinds, info->kinds[index].name,
                            json_string(info->kinds[index].klass == ZJ_CLASS_CPU
                                            ? "cpu"
                                            : "io"));
    return kinds;
}

static json_t *
s_worker_json(const zj_peer_t *peer, int64_t now_ms)
{
    const zj_worker_info_t *info = zj_peer_info(peer);
    double beat = (double) (now_ms - zj_peer_last_seen(peer)) / 1000;
    json_t *worker = json_pack(
        "{s:s, s:s, s:I, s:s, s:i, s:i, s:I, s:i, s:i, s:i, s:i, s:f, s:o}",
        "name", info->name, "host", info->host ? info->host : "", "pid",
        (json_int_t) info->pid, "state",
        zj_peer_draining(peer) ? "draining" : "connected", "io_slots",
        info->io_slots, "cpu_slots", info->cpu_slots, "running",
        (json_int_t) zj_peer_running(peer), "io_credit",
        zj_peer_credit(peer, ZJ_CLASS_IO), "cpu_credit",
        zj_peer_credit(peer, ZJ_CLASS_CPU), "suspended",
        zj_peer_suspended(peer), "max_suspended", info->max_suspended,
        "last_beat_s", beat < 0 ? 0 : beat, "kinds", s_worker_kinds(info));
    json_object_set_new(worker, "unacked", json_integer(zj_peer_unacked(peer)));
    json_object_set_new(worker, "blocked_s",
                        json_real((double) zj_peer_blocked_ms(peer) / 1000));
    return worker;
}

static json_t *
s_workers_json(zj_peers_t *peers, int64_t now_ms)
{
    json_t *workers = json_array();
    for (zj_peer_t *peer = zj_peers_first(peers); peer;
         peer = zj_peers_next(peers))
        json_array_append_new(workers, s_worker_json(peer, now_ms));
    return workers;
}

//  Unfinished jobs by where they are: ready for a worker, waiting for
//  their not_before, running, or waiting for other jobs (the rest).
static json_t *
s_jobs_json(const zj_overview_src_t *src)
{
    size_t unfinished = zj_futures_size(src->futures);
    size_t ready = zj_scheduler_ready(src->scheduler);
    size_t delayed = zj_scheduler_delayed(src->scheduler);
    int64_t running = zj_throttle_total(src->throttle);
    int64_t waiting =
        (int64_t) unfinished - (int64_t) (ready + delayed) - running;
    return json_pack("{s:I, s:I, s:I, s:I, s:I}", "unfinished",
                     (json_int_t) unfinished, "queued", (json_int_t) ready,
                     "delayed", (json_int_t) delayed, "running",
                     (json_int_t) running, "waiting",
                     (json_int_t) (waiting > 0 ? waiting : 0));
}

static json_t *
s_store_json(const char *path)
{
    struct stat info;
    json_int_t bytes = 0;
    if (path && stat(path, &info) == 0)
        bytes = info.st_size;
    return json_pack("{s:s, s:I}", "path", path ? path : "", "bytes", bytes);
}

char *
zj_overview_text(const zj_overview_src_t *src, double now, int64_t now_ms)
{
    assert(src && src->futures && src->scheduler && src->peers);
    assert(src->throttle && src->stats && src->metrics);
    json_t *metrics = zj_metrics_json(src->metrics);
    json_t *kinds = json_array();
    zlistx_t *names = s_kinds(src, metrics);
    for (const char *kind = zlistx_first(names); kind;
         kind = zlistx_next(names))
        json_array_append_new(kinds, s_kind_json(src, kind, now, now_ms));
    zlistx_destroy(&names);
    json_t *overview = json_pack(
        "{s:f, s:f, s:s, s:o, s:o, s:o, s:o, s:o, s:o}", "now", now,
        "started_at", src->started_at, "version", ZJ_VERSION, "jobs",
        s_jobs_json(src), "kinds", kinds, "minutes", s_minutes_json(src, now),
        "workers", s_workers_json(src->peers, now_ms), "store",
        s_store_json(src->db_path), "metrics", metrics);
    assert(overview);
    char *text = json_dumps(overview, JSON_COMPACT | JSON_REAL_PRECISION(15));
    assert(text);
    json_decref(overview);
    return text;
}
