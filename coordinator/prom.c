//  prom.c - the overview in Prometheus' text format (see .h).
#include <assert.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "coordinator/prom.h"

//  A family's HELP and TYPE lines; its samples follow them.
static void
s_family(FILE *out, const char *name, const char *type, const char *help)
{
    fprintf(out, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

//  A label value, escaped as the format asks (\\, \", \n).
static void
s_value(FILE *out, const char *text)
{
    for (const char *at = text; *at; at++) {
        if (*at == '\\' || *at == '"')
            fputc('\\', out);
        if (*at == '\n')
            fputs("\\n", out);
        else
            fputc(*at, out);
    }
}

static void
s_number(FILE *out, double value)
{
    if (isinf(value))
        fputs(value > 0 ? "+Inf" : "-Inf", out);
    else if (value == floor(value) && fabs(value) < 1e15)
        fprintf(out, "%.0f", value);
    else
        fprintf(out, "%.15g", value);
}

//  One sample: name{label="value",...} number. labels: pairs of name and
//  value, NULL-terminated.
static void
s_sample(FILE *out, const char *name, const char **labels, double value)
{
    fputs(name, out);
    for (size_t index = 0; labels && labels[index]; index += 2) {
        fprintf(out, "%s%s=\"", index ? "," : "{", labels[index]);
        s_value(out, labels[index + 1]);
        fputc('"', out);
    }
    if (labels && labels[0])
        fputc('}', out);
    fputc(' ', out);
    s_number(out, value);
    fputc('\n', out);
}

static double
s_get(const json_t *object, const char *key)
{
    return json_number_value(json_object_get(object, key));
}

//  A histogram of metrics.h's shape: cumulative buckets, +Inf, sum, count.
static void
s_histogram(FILE *out, const char *name, const char *label, const char *value,
            const json_t *histogram)
{
    char bucket[128], sum[128], count[128], bound[32];
    snprintf(bucket, sizeof bucket, "%s_bucket", name);
    snprintf(sum, sizeof sum, "%s_sum", name);
    snprintf(count, sizeof count, "%s_count", name);
    const json_t *bounds = json_object_get(histogram, "bounds");
    const json_t *counts = json_object_get(histogram, "counts");
    double total = 0;
    for (size_t index = 0; index < json_array_size(counts); index++) {
        total += json_number_value(json_array_get(counts, index));
        if (index < json_array_size(bounds))
            snprintf(bound, sizeof bound, "%g",
                     json_number_value(json_array_get(bounds, index)));
        else
            snprintf(bound, sizeof bound, "+Inf");
        const char *labels[] = {label, value, "le", bound, NULL};
        s_sample(out, bucket, label ? labels : labels + 2, total);
    }
    const char *labels[] = {label, value, NULL};
    s_sample(out, sum, label ? labels : NULL, s_get(histogram, "sum"));
    s_sample(out, count, label ? labels : NULL, s_get(histogram, "count"));
}

static void
s_job_counters(FILE *out, const json_t *kinds)
{
    const char *kind;
    const json_t *entry;
    s_family(out, "zjob_jobs_submitted_total", "counter",
             "Jobs submitted since the coordinator started, by kind.");
    json_object_foreach((json_t *) kinds, kind, entry) {
        const char *labels[] = {"kind", kind, NULL};
        s_sample(out, "zjob_jobs_submitted_total", labels,
                 s_get(entry, "submitted"));
    }
    s_family(out, "zjob_jobs_finished_total", "counter",
             "Jobs that reached a final state since the coordinator "
             "started, by kind and state.");
    json_object_foreach((json_t *) kinds, kind, entry) {
        const char *state;
        const json_t *count;
        json_object_foreach(json_object_get(entry, "finished"), state, count) {
            const char *labels[] = {"kind", kind, "state", state, NULL};
            s_sample(out, "zjob_jobs_finished_total", labels,
                     json_number_value(count));
        }
    }
    s_family(out, "zjob_job_duration_seconds", "histogram",
             "How long finished jobs ran, from start to end, by kind.");
    json_object_foreach((json_t *) kinds, kind, entry)
        s_histogram(out, "zjob_job_duration_seconds", "kind", kind,
                    json_object_get(entry, "duration"));
}

//  A family with one sample per entry of an array of objects (the
//  overview's kinds or workers): {label="entry[key]"} entry[field].
static void
s_per_entry(FILE *out, const json_t *entries, const char *type,
            const char *name, const char *label, const char *key,
            const char *field, const char *help)
{
    s_family(out, name, type, help);
    size_t index;
    const json_t *entry;
    json_array_foreach((json_t *) entries, index, entry) {
        const char *labels[] = {
            label, json_string_value(json_object_get(entry, key)), NULL};
        s_sample(out, name, labels, s_get(entry, field));
    }
}

//  A gauge by kind from the overview's "kinds" entries.
static void
s_kind_gauge(FILE *out, const json_t *kinds, const char *name,
             const char *field, const char *help)
{
    s_per_entry(out, kinds, "gauge", name, "kind", "kind", field, help);
}

static void
s_queues(FILE *out, const json_t *overview)
{
    const json_t *kinds = json_object_get(overview, "kinds");
    s_kind_gauge(out, kinds, "zjob_queue_depth", "queued",
                 "Jobs ready to run and waiting for a worker, by kind.");
    s_kind_gauge(out, kinds, "zjob_queue_oldest_seconds", "oldest_queued_s",
                 "How long the job ready longest has waited for a worker, "
                 "by kind (0 when none waits).");
    s_kind_gauge(out, kinds, "zjob_jobs_running", "running",
                 "Jobs running now, by kind.");
    s_family(out, "zjob_jobs", "gauge",
             "Unfinished jobs by where they are: queued (ready), delayed "
             "(not before a time), waiting (for other jobs), running.");
    const json_t *jobs = json_object_get(overview, "jobs");
    const char *states[] = {"queued", "delayed", "waiting", "running"};
    for (size_t index = 0; index < 4; index++) {
        const char *labels[] = {"state", states[index], NULL};
        s_sample(out, "zjob_jobs", labels, s_get(jobs, states[index]));
    }
}

//  A gauge per worker and class.
static void
s_class_gauge(FILE *out, const json_t *workers, const char *name,
              const char *io_field, const char *cpu_field, const char *help)
{
    s_family(out, name, "gauge", help);
    size_t index;
    const json_t *worker;
    json_array_foreach((json_t *) workers, index, worker) {
        const char *who = json_string_value(json_object_get(worker, "name"));
        const char *io[] = {"worker", who, "class", "io", NULL};
        const char *cpu[] = {"worker", who, "class", "cpu", NULL};
        s_sample(out, name, io, s_get(worker, io_field));
        s_sample(out, name, cpu, s_get(worker, cpu_field));
    }
}

//  A gauge per worker.
static void
s_worker_gauge(FILE *out, const json_t *workers, const char *name,
               const char *field, const char *help)
{
    s_per_entry(out, workers, "gauge", name, "worker", "name", field, help);
}

static void
s_worker_states(FILE *out, const json_t *workers)
{
    double connected = 0, draining = 0;
    size_t index;
    const json_t *worker;
    json_array_foreach((json_t *) workers, index, worker) {
        const char *state = json_string_value(json_object_get(worker, "state"));
        if (state && strcmp(state, "draining") == 0)
            draining++;
        else
            connected++;
    }
    s_family(out, "zjob_workers", "gauge",
             "Workers connected now, by state (connected: taking jobs; "
             "draining: finishing theirs).");
    s_sample(out, "zjob_workers", (const char *[]){"state", "connected", NULL},
             connected);
    s_sample(out, "zjob_workers", (const char *[]){"state", "draining", NULL},
             draining);
}

static void
s_workers(FILE *out, const json_t *workers)
{
    s_worker_states(out, workers);
    s_class_gauge(out, workers, "zjob_worker_slots", "io_slots", "cpu_slots",
                  "Slots a connected worker has, by class.");
    s_class_gauge(out, workers, "zjob_worker_slots_free", "io_credit",
                  "cpu_credit",
                  "Slots of a connected worker the coordinator may fill now, "
                  "by class.");
    s_worker_gauge(out, workers, "zjob_worker_running", "running",
                   "Jobs a connected worker runs now.");
    s_worker_gauge(out, workers, "zjob_worker_suspended", "suspended",
                   "Jobs of a connected worker awaiting other jobs without "
                   "holding a slot.");
    s_worker_gauge(out, workers, "zjob_worker_unacked_batches", "unacked",
                   "RESULTS batches a connected worker sent that are not "
                   "acknowledged yet (its last heartbeat's figure).");
    s_per_entry(out, workers, "counter",
                "zjob_worker_loop_blocked_seconds_total", "worker", "name",
                "blocked_s",
                "Seconds handlers held a connected worker's loop past its "
                "--block-threshold, since the worker started.");
    s_worker_gauge(out, workers, "zjob_worker_last_beat_seconds", "last_beat_s",
                   "Seconds since a connected worker's last message.");
}

static void
s_process(FILE *out, const json_t *overview)
{
    s_family(out, "zjob_build_info", "gauge",
             "Always 1; the coordinator's version as a label.");
    const char *version =
        json_string_value(json_object_get(overview, "version"));
    s_sample(out, "zjob_build_info",
             (const char *[]){"version", version ? version : "", NULL}, 1);
    s_family(out, "zjob_start_time_seconds", "gauge",
             "When the coordinator started, in unix seconds.");
    s_sample(out, "zjob_start_time_seconds", NULL,
             s_get(overview, "started_at"));
    s_family(out, "zjob_store_size_bytes", "gauge",
             "Size of the store's main file (not its WAL).");
    s_sample(out, "zjob_store_size_bytes", NULL,
             s_get(json_object_get(overview, "store"), "bytes"));
}

char *
zj_prom_text(const json_t *overview)
{
    assert(overview);
    char *text = NULL;
    size_t size = 0;
    FILE *out = open_memstream(&text, &size);
    assert(out);
    const json_t *metrics = json_object_get(overview, "metrics");
    s_process(out, overview);
    s_job_counters(out, json_object_get(metrics, "kinds"));
    s_queues(out, overview);
    s_workers(out, json_object_get(overview, "workers"));
    s_family(out, "zjob_store_commit_seconds", "histogram",
             "How long the store's commits took (one per loop turn that "
             "wrote).");
    s_histogram(out, "zjob_store_commit_seconds", NULL, NULL,
                json_object_get(metrics, "commit"));
    fclose(out);
    assert(text);
    return text;
}
