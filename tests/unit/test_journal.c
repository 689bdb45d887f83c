//  test_journal.c - the "journal" suite: coordinator/journal.c keeps
//  every write, strings and all, and gives them back in order.
#include <check.h>
#include <stdio.h>
#include <string.h>

#include "coordinator/journal.h"
#include "tests/unit/suites.h"

#define ZJ_SEEN_MAX 8

typedef struct {
    zj_write_entry_t entries[ZJ_SEEN_MAX]; //  Shallow copies
    char text[ZJ_SEEN_MAX][256];           //  A summary of each
    size_t count;
    int stop_at; //  Return 1 at this count (0 = never)
} zj_seen_t;

static int
s_collect(void *arg, const zj_write_entry_t *entry)
{
    zj_seen_t *seen = arg;
    ck_assert_uint_lt(seen->count, ZJ_SEEN_MAX);
    const zj_job_t *job = &entry->job;
    const zj_worker_info_t *worker = &entry->worker;
    char *text = seen->text[seen->count];
    if (entry->what == ZJ_WRITE_SAVE_WORKER ||
        entry->what == ZJ_WRITE_WORKER_STATE)
        snprintf(text, 256, "%d %s %s %s %zu %s/%d %.1f", entry->what,
                 worker->name, worker->host ? worker->host : "-", worker->state,
                 worker->kind_count,
                 worker->kind_count ? worker->kinds[1].name : "-",
                 worker->kind_count ? (int) worker->kinds[1].klass : -1,
                 worker->last_seen);
    else
        snprintf(text, 256, "%d %lld %s %s %s %s %s %d %.1f", entry->what,
                 (long long) job->id, job->kind, job->args ? job->args : "-",
                 job->worker ? job->worker : "-",
                 job->result ? job->result : "-", job->error ? job->error : "-",
                 job->attempts, job->finished_at);
    seen->entries[seen->count++] = *entry;
    return seen->stop_at && (int) seen->count == seen->stop_at;
}

static zj_journal_t *
s_journal_of_three(void)
{
    zj_journal_t *journal = zj_journal_new();
    zj_job_t job = {.id = 7,
                    .kind = "echo",
                    .args = "{\"a\":\"\xc3\xa9\"}",
                    .attempts = 2,
                    .finished_at = 1.5};
    zj_journal_add(journal, &(zj_write_entry_t){ZJ_WRITE_INSERT_JOB, job, {0}});
    job.result = "[1,2]";
    job.worker = "w1";
    zj_journal_add(journal, &(zj_write_entry_t){ZJ_WRITE_UPDATE_JOB, job, {0}});
    zj_kind_t kinds[] = {{"echo", ZJ_CLASS_IO}, {"sha256", ZJ_CLASS_CPU}};
    zj_worker_info_t worker = {.name = "w1",
                               .host = "h1",
                               .kinds = kinds,
                               .kind_count = 2,
                               .state = "connected",
                               .last_seen = 9.5};
    zj_journal_add(journal,
                   &(zj_write_entry_t){ZJ_WRITE_SAVE_WORKER, {0}, worker});
    return journal;
}

START_TEST(test_replay_gives_back_every_write_in_order)
{
    zj_journal_t *journal = s_journal_of_three();
    ck_assert_uint_eq(zj_journal_count(journal), 3);
    zj_seen_t seen = {0};
    ck_assert_int_eq(zj_journal_replay(journal, s_collect, &seen), 0);
    ck_assert_uint_eq(seen.count, 3);
    ck_assert_str_eq(seen.text[0], "0 7 echo {\"a\":\"\xc3\xa9\"} - - - 2 1.5");
    ck_assert_str_eq(seen.text[1],
                     "1 7 echo {\"a\":\"\xc3\xa9\"} w1 [1,2] - 2 1.5");
    ck_assert_str_eq(seen.text[2], "3 w1 h1 connected 2 sha256/1 9.5");
    zj_journal_destroy(&journal);
    ck_assert_ptr_null(journal);
}
END_TEST

START_TEST(test_replay_stops_at_the_first_failure)
{
    zj_journal_t *journal = s_journal_of_three();
    zj_seen_t seen = {.stop_at = 2};
    ck_assert_int_eq(zj_journal_replay(journal, s_collect, &seen), 1);
    ck_assert_uint_eq(seen.count, 2);
    zj_journal_destroy(&journal);
}
END_TEST

START_TEST(test_truncate_forgets_what_came_after_the_mark)
{
    zj_journal_t *journal = s_journal_of_three();
    size_t mark = zj_journal_mark(journal);
    zj_worker_info_t worker = {.name = "w1", .state = "lost"};
    zj_journal_add(journal,
                   &(zj_write_entry_t){ZJ_WRITE_WORKER_STATE, {0}, worker});
    ck_assert_uint_eq(zj_journal_count(journal), 4);
    zj_journal_truncate(journal, mark);
    ck_assert_uint_eq(zj_journal_count(journal), 3);
    zj_seen_t seen = {0};
    zj_journal_replay(journal, s_collect, &seen);
    ck_assert_uint_eq(seen.count, 3);
    zj_journal_clear(journal);
    ck_assert_uint_eq(zj_journal_count(journal), 0);
    seen.count = 0;
    ck_assert_int_eq(zj_journal_replay(journal, s_collect, &seen), 0);
    ck_assert_uint_eq(seen.count, 0);
    zj_journal_destroy(&journal);
}
END_TEST

static int
s_name_of_deleted(void *arg, const zj_write_entry_t *entry)
{
    ck_assert_int_eq(entry->what, ZJ_WRITE_DELETE_WORKER);
    snprintf(arg, 64, "%s", entry->worker.name);
    return 0;
}

//  A worker forgotten (zjob workers --forget) is journaled by its name,
//  so a turn written again deletes the same row.
START_TEST(test_a_deleted_worker_comes_back_by_name)
{
    zj_journal_t *journal = zj_journal_new();
    zj_worker_info_t worker = {.name = "w-gone"};
    zj_journal_add(journal,
                   &(zj_write_entry_t){ZJ_WRITE_DELETE_WORKER, {0}, worker});
    char name[64] = "";
    ck_assert_int_eq(zj_journal_replay(journal, s_name_of_deleted, name), 0);
    ck_assert_str_eq(name, "w-gone");
    zj_journal_destroy(&journal);
}
END_TEST

//  A job's after ids come back whole and aligned for int64_t, whatever
//  the lengths of the strings written before them.
START_TEST(test_after_ids_come_back_aligned)
{
    zj_journal_t *journal = zj_journal_new();
    int64_t ids[] = {3, INT64_MAX, 12};
    const char *kinds[] = {"e",     "ec",     "ech",    "echo",
                           "echo.", "echo.v", "ech0.v7"};
    for (size_t index = 0; index < 7; index++) {
        zj_job_t job = {.id = (int64_t) index + 1,
                        .kind = (char *) kinds[index],
                        .after = ids,
                        .after_count = (uint32_t) (index % 3) + 1};
        zj_journal_add(journal,
                       &(zj_write_entry_t){ZJ_WRITE_INSERT_JOB, job, {0}});
    }
    zj_seen_t seen = {.count = 0};
    ck_assert_int_eq(zj_journal_replay(journal, s_collect, &seen), 0);
    ck_assert_uint_eq(seen.count, 7);
    for (size_t index = 0; index < 7; index++) {
        const zj_job_t *job = &seen.entries[index].job;
        ck_assert_str_eq(job->kind, kinds[index]);
        ck_assert_uint_eq(job->after_count, (index % 3) + 1);
        ck_assert_uint_eq((uintptr_t) job->after % sizeof(int64_t), 0);
        for (uint32_t at = 0; at < job->after_count; at++)
            ck_assert_int_eq(job->after[at], ids[at]);
    }
    zj_journal_destroy(&journal);
}
END_TEST

START_TEST(test_large_writes_grow_the_buffer)
{
    zj_journal_t *journal = zj_journal_new();
    static char big[100000];
    memset(big, 'x', sizeof big - 1);
    zj_job_t job = {.id = 1, .kind = "echo", .result = big};
    for (int index = 0; index < 5; index++)
        zj_journal_add(journal,
                       &(zj_write_entry_t){ZJ_WRITE_UPDATE_JOB, job, {0}});
    zj_seen_t seen = {0};
    ck_assert_int_eq(zj_journal_replay(journal, s_collect, &seen), 0);
    ck_assert_uint_eq(seen.count, 5);
    ck_assert_uint_eq(strlen(seen.entries[4].job.result), sizeof big - 1);
    zj_journal_destroy(&journal);
}
END_TEST

Suite *
test_journal_suite(void)
{
    Suite *suite = suite_create("journal");
    TCase *tcase = tcase_create("journal");
    tcase_add_test(tcase, test_replay_gives_back_every_write_in_order);
    tcase_add_test(tcase, test_replay_stops_at_the_first_failure);
    tcase_add_test(tcase, test_truncate_forgets_what_came_after_the_mark);
    tcase_add_test(tcase, test_a_deleted_worker_comes_back_by_name);
    tcase_add_test(tcase, test_large_writes_grow_the_buffer);
    tcase_add_test(tcase, test_after_ids_come_back_aligned);
    suite_add_tcase(suite, tcase);
    return suite;
}
