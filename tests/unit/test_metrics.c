//  test_metrics.c - counters and histograms (coordinator/metrics.c) and
//  their Prometheus text (coordinator/prom.c).
#include <check.h>
#include <string.h>

#include "coordinator/metrics.h"
#include "coordinator/prom.h"
#include "tests/unit/suites.h"

static json_int_t
s_bucket(const json_t *histogram, size_t index)
{
    return json_integer_value(
        json_array_get(json_object_get(histogram, "counts"), index));
}

//  A value on a bucket's bound counts in that bucket (le: less or
//  equal); past the last bound, in +Inf; never started, nowhere.
START_TEST(test_metrics_buckets_by_upper_bound)
{
    zj_metrics_t *metrics = zj_metrics_new();
    zj_metrics_submitted(metrics, "echo");
    zj_metrics_submitted(metrics, "echo");
    zj_metrics_finished(metrics, "echo", ZJ_STATE_SUCCEEDED, 0.005);
    zj_metrics_finished(metrics, "echo", ZJ_STATE_FAILED, 0.0051);
    zj_metrics_finished(metrics, "echo", ZJ_STATE_CANCELLED, -1);
    zj_metrics_finished(metrics, "echo", ZJ_STATE_SUCCEEDED, 7200);
    zj_metrics_commit(metrics, 0.0003);
    json_t *all = zj_metrics_json(metrics);
    json_t *echo = json_object_get(json_object_get(all, "kinds"), "echo");
    ck_assert_int_eq(json_integer_value(json_object_get(echo, "submitted")), 2);
    json_t *finished = json_object_get(echo, "finished");
    ck_assert_int_eq(json_integer_value(json_object_get(finished, "succeeded")),
                     2);
    ck_assert_int_eq(json_integer_value(json_object_get(finished, "failed")),
                     1);
    ck_assert_int_eq(json_integer_value(json_object_get(finished, "cancelled")),
                     1);
    json_t *duration = json_object_get(echo, "duration");
    ck_assert_int_eq(s_bucket(duration, 0), 1); //  le 0.005
    ck_assert_int_eq(s_bucket(duration, 1), 1); //  le 0.01
    ck_assert_int_eq(s_bucket(duration, ZJ_METRICS_DURATION_BUCKETS), 1);
    ck_assert_int_eq(json_integer_value(json_object_get(duration, "count")), 3);
    json_t *commit = json_object_get(all, "commit");
    ck_assert_int_eq(s_bucket(commit, 2), 1); //  le 0.0005
    json_decref(all);
    zj_metrics_destroy(&metrics);
    ck_assert_ptr_null(metrics);
}
END_TEST

//  An overview with the parts prom.c reads.
static json_t *
s_overview(zj_metrics_t *metrics)
{
    return json_pack("{s:s, s:f, s:{s:i}, s:{s:i, s:i, s:i, s:i},"
                     " s:[{s:s, s:i, s:f, s:i}],"
                     " s:[{s:s, s:s, s:i, s:i, s:i, s:i, s:i, s:i, s:f}], s:o}",
                     "version", "0.1.0", "started_at", 1796540689.5, "store",
                     "bytes", 4096, "jobs", "queued", 3, "delayed", 1,
                     "waiting", 0, "running", 2, "kinds", "kind", "a\"b\\c\nd",
                     "queued", 3, "oldest_queued_s", 1.5, "running", 2,
                     "workers", "name", "w1", "state", "draining", "io_slots",
                     8, "cpu_slots", 2, "io_credit", 6, "cpu_credit", 2,
                     "running", 2, "suspended", 0, "last_beat_s", 0.25,
                     "metrics", zj_metrics_json(metrics));
}

//  Each family is announced once with its type, before its samples;
//  buckets are cumulative up to +Inf, which equals the count; label
//  values are escaped.
START_TEST(test_prom_text_families_buckets_and_escapes)
{
    zj_metrics_t *metrics = zj_metrics_new();
    zj_metrics_submitted(metrics, "echo");
    zj_metrics_finished(metrics, "echo", ZJ_STATE_SUCCEEDED, 0.003);
    zj_metrics_finished(metrics, "echo", ZJ_STATE_SUCCEEDED, 2);
    json_t *overview = s_overview(metrics);
    char *text = zj_prom_text(overview);
    ck_assert_ptr_nonnull(
        strstr(text, "# TYPE zjob_jobs_finished_total counter\n"));
    ck_assert_ptr_nonnull(strstr(
        text,
        "zjob_jobs_finished_total{kind=\"echo\",state=\"succeeded\"} 2\n"));
    ck_assert_ptr_nonnull(strstr(
        text,
        "zjob_job_duration_seconds_bucket{kind=\"echo\",le=\"0.005\"} 1\n"));
    ck_assert_ptr_nonnull(strstr(
        text,
        "zjob_job_duration_seconds_bucket{kind=\"echo\",le=\"2.5\"} 2\n"));
    ck_assert_ptr_nonnull(strstr(
        text,
        "zjob_job_duration_seconds_bucket{kind=\"echo\",le=\"+Inf\"} 2\n"));
    ck_assert_ptr_nonnull(
        strstr(text, "zjob_job_duration_seconds_count{kind=\"echo\"} 2\n"));
    ck_assert_ptr_nonnull(
        strstr(text, "zjob_queue_depth{kind=\"a\\\"b\\\\c\\nd\"} 3\n"));
    ck_assert_ptr_nonnull(strstr(text, "zjob_workers{state=\"draining\"} 1\n"));
    ck_assert_ptr_nonnull(
        strstr(text, "zjob_worker_slots_free{worker=\"w1\",class=\"io\"} 6\n"));
    ck_assert_ptr_nonnull(
        strstr(text, "zjob_start_time_seconds 1796540689.5\n"));
    ck_assert_ptr_nonnull(
        strstr(text, "zjob_store_commit_seconds_bucket{le=\"+Inf\"} 0\n"));
    //  One TYPE line per family.
    const char *first = strstr(text, "# TYPE zjob_queue_depth ");
    ck_assert_ptr_nonnull(first);
    ck_assert_ptr_null(strstr(first + 1, "# TYPE zjob_queue_depth "));
    free(text);
    json_decref(overview);
    zj_metrics_destroy(&metrics);
}
END_TEST

Suite *
test_metrics_suite(void)
{
    Suite *suite = suite_create("metrics");
    TCase *tcase = tcase_create("core");
    tcase_add_test(tcase, test_metrics_buckets_by_upper_bound);
    tcase_add_test(tcase, test_prom_text_families_buckets_and_escapes);
    suite_add_tcase(suite, tcase);
    return suite;
}
