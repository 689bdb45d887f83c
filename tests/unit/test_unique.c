//  test_unique.c - the "unique" suite: unique jobs (PROTOCOL.md, "Unique
//  jobs"). The store's keys (coordinator/store_unique.c): found within
//  their window only, replaced after it, undone with a refused SUBMIT,
//  expired a chunk at a time; a token's ids that do not follow each
//  other; and the clients endpoint's SUBMIT with keys.
#define _GNU_SOURCE
#include <check.h>
#include <unistd.h>

#include "common/duration.h"
#include "common/err.h"
#include "coordinator/journal.h"
#include "proto/limits.h"
#include "tests/unit/suites.h"
#include "tests/unit/testcoord.h"
#include "tests/unit/testdb.h"

static zframe_t *s_client; //  The client's routing id

static void
s_setup(void)
{
    zj_testdb_setup();
    s_client = zframe_new("client", 6);
}

static void
s_teardown(void)
{
    zframe_destroy(&s_client);
    zj_testdb_teardown();
}

//  The id of key's row, or 0 when it has none (a raw read).
static int64_t
s_key_row(const char *key)
{
    sqlite3 *db = zj_testdb_raw();
    char *sql = sqlite3_mprintf(
        "SELECT coalesce(max(id), 0) FROM unique_keys WHERE key = %Q", key);
    int64_t id = zj_testdb_int(db, sql);
    sqlite3_free(sql);
    sqlite3_close(db);
    return id;
}

static int64_t
s_count(const char *sql)
{
    sqlite3 *db = zj_testdb_raw();
    int64_t count = zj_testdb_int(db, sql);
    sqlite3_close(db);
    return count;
}

//  Inserts a job row and returns its id.
static int64_t
s_insert(zj_store_t *store)
{
    zj_job_t job = zj_testdb_job("echo", ZJ_STATE_QUEUED);
    ck_assert_int_eq(zj_store_insert_job(store, &job), 0);
    return job.id;
}

START_TEST(test_a_key_is_found_within_its_window_only)
{
    zj_store_t *store = zj_testdb_store();
    int64_t id = 0;
    ck_assert_int_eq(zj_store_find_unique(store, "k", 1000.0, &id),
                     ZJ_ENOTFOUND);
    ck_assert_int_eq(zj_store_save_unique(store, "k", 7, 1010.0), 0);
    ck_assert_int_eq(zj_store_find_unique(store, "k", 1000.0, &id), 0);
    ck_assert_int_eq(id, 7);
    ck_assert_int_eq(zj_store_commit(store), 0);
    //  A key reused after its window is free: its row is replaced.
    id = 0;
    ck_assert_int_eq(zj_store_find_unique(store, "k", 1010.0, &id),
                     ZJ_ENOTFOUND);
    ck_assert_int_eq(id, 0);
    ck_assert_int_eq(zj_store_save_unique(store, "k", 9, 2000.0), 0);
    ck_assert_int_eq(zj_store_find_unique(store, "k", 1500.0, &id), 0);
    ck_assert_int_eq(id, 9);
    ck_assert_int_eq(zj_store_find_unique(store, "K", 1500.0, &id),
                     ZJ_ENOTFOUND);
    ck_assert_int_eq(zj_store_commit(store), 0);
    ck_assert_int_eq(s_key_row("k"), 9);
    ck_assert_int_eq(s_count("SELECT count(*) FROM unique_keys"), 1);
    zj_store_destroy(&store);
}
END_TEST

//  The key outlives its job's row (retention deletes jobs, not keys).
START_TEST(test_a_key_outlives_its_jobs_row)
{
    zj_store_t *store = zj_testdb_store();
    int64_t job = s_insert(store);
    ck_assert_int_eq(zj_store_save_unique(store, "k", job, 1e12), 0);
    ck_assert_int_eq(zj_store_commit(store), 0);
    sqlite3 *db = zj_testdb_raw();
    zj_testdb_exec(db, "DELETE FROM jobs");
    sqlite3_close(db);
    int64_t id = 0;
    ck_assert_int_eq(zj_store_find_unique(store, "k", zj_now(), &id), 0);
    ck_assert_int_eq(id, job);
    ck_assert_int_eq(zj_store_commit(store), 0);
    zj_store_destroy(&store);
}
END_TEST

//  zj_store_undo takes back the keys saved since its mark, with the jobs;
//  a key saved over an expired one leaves no row. Keys before it stay.
START_TEST(test_undo_takes_back_the_keys_saved_since_the_mark)
{
    zj_store_t *store = zj_testdb_store();
    int64_t old = s_insert(store);
    ck_assert_int_eq(zj_store_save_unique(store, "kept", old, 1e12), 0);
    ck_assert_int_eq(zj_store_save_unique(store, "stale", old, 1.0), 0);
    zj_store_mark_t mark = zj_store_mark(store);
    int64_t made = s_insert(store);
    ck_assert_int_eq(zj_store_save_unique(store, "new", made, 1e12), 0);
    ck_assert_int_eq(zj_store_save_unique(store, "stale", made, 1e12), 0);
    zj_store_undo(store, mark);
    ck_assert_int_eq(zj_store_next_id(store), made);
    ck_assert_int_eq(zj_store_commit(store), 0);
    ck_assert_int_eq(s_key_row("kept"), old);
    ck_assert_int_eq(s_key_row("new"), 0);
    ck_assert_int_eq(s_key_row("stale"), 0);
    ck_assert_int_eq(s_count("SELECT count(*) FROM jobs"), 1);
    zj_store_destroy(&store);
}
END_TEST

//  zj_store_expire_unique walks the keys limit at a time from its cursor
//  and deletes the expired ones among them; "" says the walk is done.
START_TEST(test_expire_walks_the_keys_in_chunks)
{
    zj_store_t *store = zj_testdb_store();
    const char *keys[] = {"a", "b", "c", "d", "e"};
    for (int index = 0; index < 5; index++)
        ck_assert_int_eq(zj_store_save_unique(store, keys[index], index + 1,
                                              index % 2 ? 500.0 : 100.0),
                         0);
    ck_assert_int_eq(zj_store_commit(store), 0);
    char next[ZJ_MAX_UNIQUE + 1] = "x";
    int deleted = -1;
    ck_assert_int_eq(
        zj_store_expire_unique(store, NULL, 2, 200.0, next, &deleted), 0);
    ck_assert_str_eq(next, "b");
    ck_assert_int_eq(deleted, 1);
    ck_assert_int_eq(
        zj_store_expire_unique(store, next, 2, 200.0, next, &deleted), 0);
    ck_assert_str_eq(next, "d");
    ck_assert_int_eq(deleted, 1);
    ck_assert_int_eq(
        zj_store_expire_unique(store, next, 2, 200.0, next, &deleted), 0);
    ck_assert_str_eq(next, "");
    ck_assert_int_eq(deleted, 1);
    ck_assert_int_eq(zj_store_commit(store), 0);
    ck_assert_int_eq(s_count("SELECT count(*) FROM unique_keys"), 2);
    ck_assert_int_eq(s_key_row("b"), 2);
    ck_assert_int_eq(s_key_row("d"), 4);
    //  A walk past the last key deletes nothing and starts again.
    ck_assert_int_eq(
        zj_store_expire_unique(store, "z", 10, 1e12, next, &deleted), 0);
    ck_assert_int_eq(deleted, 0);
    ck_assert_str_eq(next, "");
    ck_assert_int_eq(zj_store_commit(store), 0);
    zj_store_destroy(&store);
}
END_TEST

//  A token's ids that do not follow each other come back as they were;
//  ids that do are kept as (first_id, count), as before.
START_TEST(test_a_token_keeps_ids_that_do_not_follow_each_other)
{
    zj_store_t *store = zj_testdb_store();
    int64_t scattered[] = {5, 2, 9, 2};
    int64_t following[] = {3, 4, 5};
    ck_assert_int_eq(
        zj_store_save_token(store, "t1", scattered, 4, "0123456789abcdef", 1),
        0);
    ck_assert_int_eq(
        zj_store_save_token(store, "t2", following, 3, "0123456789abcdef", 1),
        0);
    ck_assert_int_eq(zj_store_commit(store), 0);
    int64_t *ids = NULL;
    size_t count = 0;
    char digest[ZJ_STORE_DIGEST_SIZE];
    ck_assert_int_eq(zj_store_find_token(store, "t1", &ids, &count, digest), 0);
    ck_assert_uint_eq(count, 4);
    for (size_t index = 0; index < 4; index++)
        ck_assert_int_eq(ids[index], scattered[index]);
    free(ids);
    ck_assert_int_eq(zj_store_find_token(store, "t2", &ids, &count, digest), 0);
    ck_assert_uint_eq(count, 3);
    ck_assert_int_eq(ids[2], 5);
    free(ids);
    ck_assert_int_eq(zj_store_commit(store), 0);
    ck_assert_int_eq(s_count("SELECT count(*) FROM submit_tokens"
                             " WHERE ids IS NULL AND token = 't2'"),
                     1);
    //  A damaged list is a store error, not a crash or wrong ids.
    sqlite3 *db = zj_testdb_raw();
    zj_testdb_exec(db, "UPDATE submit_tokens SET ids = '[5]' WHERE token"
                       " = 't1'");
    sqlite3_close(db);
    ck_assert_int_eq(zj_store_find_token(store, "t1", &ids, &count, digest),
                     ZJ_ESTORE);
    ck_assert_ptr_null(ids);
    ck_assert_int_eq(zj_store_commit(store), 0);
    db = zj_testdb_raw();
    zj_testdb_exec(db, "UPDATE submit_tokens SET ids = '[5,0,1,2]' WHERE"
                       " token = 't1'");
    sqlite3_close(db);
    ck_assert_int_eq(zj_store_find_token(store, "t1", &ids, &count, digest),
                     ZJ_ESTORE);
    ck_assert_ptr_null(ids);
    zj_store_destroy(&store);
}
END_TEST

static int
s_keep(void *arg, const zj_write_entry_t *entry)
{
    if (entry->what == ZJ_WRITE_SAVE_UNIQUE)
        snprintf(arg, 64, "%s=%lld", entry->job.unique,
                 (long long) entry->job.id);
    return 0;
}

//  The journal keeps the key, so that a turn written again saves it.
START_TEST(test_the_journal_keeps_the_key)
{
    zj_journal_t *journal = zj_journal_new();
    zj_job_t job = {.unique = "key 1", .id = 4, .not_before = 9.0};
    zj_journal_add(journal,
                   &(zj_write_entry_t){ZJ_WRITE_SAVE_UNIQUE, job, {0}});
    char seen[64] = "";
    ck_assert_int_eq(zj_journal_replay(journal, s_keep, seen), 0);
    ck_assert_str_eq(seen, "key 1=4");
    zj_journal_destroy(&journal);
}
END_TEST

static zj_msg_t *
s_ask(zj_testcoord_t *tc, zj_msg_t *msg, zj_msg_type_t type)
{
    zj_client_ep_handle(&tc->client_ep, s_client, msg);
    zj_msg_destroy(&msg);
    ck_assert(zj_lifecycle_invariants_hold(&tc->jobs));
    zj_msg_t *reply = zj_testcoord_take(tc, ZJ_TO_CLIENT, type);
    ck_assert_ptr_nonnull(reply);
    return reply;
}

//  A SUBMIT of one echo job per key ("" = a job without one).
static zj_msg_t *
s_submit(uint64_t req, const char *token, const char **keys, size_t count,
         int64_t window_ms)
{
    zj_msg_t *submit = zj_msg_new(ZJ_MSG_SUBMIT);
    submit->req = req;
    submit->token = token ? strdup(token) : NULL;
    for (size_t index = 0; index < count; index++) {
        zj_job_t *job = zj_msg_add_job(submit);
        job->kind = strdup("echo");
        job->args = strdup("{}");
        if (*keys[index]) {
            job->unique = strdup(keys[index]);
            job->unique_for_ms = window_ms;
        }
    }
    return submit;
}

//  The same key twice in one batch: the second gets the first's id.
START_TEST(test_a_key_twice_in_one_batch_makes_one_job)
{
    zj_testcoord_t *tc = zj_testcoord_new();
    const char *keys[] = {"k", "", "k"};
    zj_msg_t *reply =
        s_ask(tc, s_submit(3, NULL, keys, 3, 0), ZJ_MSG_SUBMITTED);
    ck_assert_uint_eq(reply->id_count, 3);
    ck_assert_int_eq(reply->ids[2], reply->ids[0]);
    ck_assert_int_ne(reply->ids[1], reply->ids[0]);
    ck_assert_uint_eq(zj_scheduler_ready(tc->scheduler), 2);
    ck_assert_int_eq(zj_store_commit(tc->store), 0);
    ck_assert_int_eq(s_count("SELECT count(*) FROM jobs"), 2);
    ck_assert_int_eq(s_key_row("k"), reply->ids[0]);
    //  The default window is 24 h.
    double expires = (double) s_count("SELECT CAST(expires_at AS INTEGER)"
                                      " FROM unique_keys");
    ck_assert(expires > zj_now() + 86000 && expires < zj_now() + 86500);
    zj_msg_destroy(&reply);
    zj_testcoord_destroy(&tc);
}
END_TEST

//  Across SUBMITs (and a coordinator's restart) a key gives its job's id.
START_TEST(test_a_key_in_a_later_submit_gets_the_same_id)
{
    zj_testcoord_t *tc = zj_testcoord_new();
    const char *keys[] = {"k"};
    zj_msg_t *first =
        s_ask(tc, s_submit(3, NULL, keys, 1, 0), ZJ_MSG_SUBMITTED);
    ck_assert_int_eq(zj_store_commit(tc->store), 0);
    zj_testcoord_destroy(&tc);
    tc = zj_testcoord_new();
    zj_msg_t *again =
        s_ask(tc, s_submit(4, NULL, keys, 1, 0), ZJ_MSG_SUBMITTED);
    ck_assert_int_eq(again->ids[0], first->ids[0]);
    ck_assert_uint_eq(zj_scheduler_ready(tc->scheduler), 1);
    ck_assert_int_eq(zj_store_commit(tc->store), 0);
    ck_assert_int_eq(s_count("SELECT count(*) FROM jobs"), 1);
    zj_msg_destroy(&first);
    zj_msg_destroy(&again);
    zj_testcoord_destroy(&tc);
}
END_TEST

//  A key reused after its window makes a new job, which takes the key.
START_TEST(test_a_key_reused_after_its_window_makes_a_new_job)
{
    zj_testcoord_t *tc = zj_testcoord_new();
    const char *keys[] = {"k"};
    zj_msg_t *first =
        s_ask(tc, s_submit(3, NULL, keys, 1, 1), ZJ_MSG_SUBMITTED);
    ck_assert_int_eq(zj_store_commit(tc->store), 0);
    usleep(20 * 1000);
    zj_msg_t *later =
        s_ask(tc, s_submit(4, NULL, keys, 1, 0), ZJ_MSG_SUBMITTED);
    ck_assert_int_ne(later->ids[0], first->ids[0]);
    ck_assert_int_eq(zj_store_commit(tc->store), 0);
    ck_assert_int_eq(s_key_row("k"), later->ids[0]);
    ck_assert_int_eq(s_count("SELECT count(*) FROM jobs"), 2);
    zj_msg_destroy(&first);
    zj_msg_destroy(&later);
    zj_testcoord_destroy(&tc);
}
END_TEST

//  A SUBMIT sent again with its token gets the very same ids back, also
//  when some were older jobs (ids that do not follow each other).
START_TEST(test_a_token_sent_again_gets_ids_that_do_not_follow)
{
    zj_testcoord_t *tc = zj_testcoord_new();
    const char *old[] = {"k"};
    zj_msg_t *first = s_ask(tc, s_submit(3, NULL, old, 1, 0), ZJ_MSG_SUBMITTED);
    const char *keys[] = {"", "k", "j"};
    zj_msg_t *sent =
        s_ask(tc, s_submit(4, "tok", keys, 3, 0), ZJ_MSG_SUBMITTED);
    ck_assert_int_eq(sent->ids[1], first->ids[0]);
    ck_assert_int_eq(zj_store_commit(tc->store), 0);
    zj_msg_t *again =
        s_ask(tc, s_submit(5, "tok", keys, 3, 0), ZJ_MSG_SUBMITTED);
    ck_assert_uint_eq(again->id_count, 3);
    for (size_t index = 0; index < 3; index++)
        ck_assert_int_eq(again->ids[index], sent->ids[index]);
    ck_assert_uint_eq(zj_scheduler_ready(tc->scheduler), 3);
    //  The same jobs under other keys are another batch.
    const char *other[] = {"", "k", "i"};
    zj_msg_t *error = s_ask(tc, s_submit(6, "tok", other, 3, 0), ZJ_MSG_ERROR);
    ck_assert_int_eq(error->code, ZJ_EUSAGE);
    ck_assert_int_eq(zj_store_commit(tc->store), 0);
    ck_assert_int_eq(s_count("SELECT count(*) FROM jobs"), 3);
    zj_msg_destroy(&first);
    zj_msg_destroy(&sent);
    zj_msg_destroy(&again);
    zj_msg_destroy(&error);
    zj_testcoord_destroy(&tc);
}
END_TEST

//  A SUBMIT refused half-way queues none of its jobs and saves none of
//  its keys; the older job a key named stays queued, with its key.
START_TEST(test_a_submit_refused_half_way_keeps_no_key)
{
    zj_testcoord_t *tc = zj_testcoord_new();
    const char *old[] = {"old"};
    zj_msg_t *first = s_ask(tc, s_submit(3, NULL, old, 1, 0), ZJ_MSG_SUBMITTED);
    ck_assert_int_eq(zj_store_commit(tc->store), 0);
    int64_t next = zj_store_next_id(tc->store);
    sqlite3 *db = zj_testdb_raw();
    char *sql = sqlite3_mprintf("INSERT INTO jobs (id, kind, state) VALUES"
                                " (%lld, 'foreign', 'queued')",
                                (long long) next + 1);
    zj_testdb_exec(db, sql);
    sqlite3_free(sql);
    sqlite3_close(db);
    const char *keys[] = {"new", "old", ""};
    zj_msg_t *error = s_ask(tc, s_submit(4, NULL, keys, 3, 0), ZJ_MSG_ERROR);
    ck_assert_int_eq(error->code, ZJ_ESTORE);
    ck_assert_int_eq(zj_store_commit(tc->store), 0);
    ck_assert_int_eq(s_key_row("new"), 0);
    ck_assert_int_eq(s_key_row("old"), first->ids[0]);
    ck_assert_int_eq(zj_store_next_id(tc->store), next);
    ck_assert_uint_eq(zj_futures_size(tc->futures), 1);
    ck_assert_ptr_nonnull(zj_futures_find(tc->futures, first->ids[0]));
    ck_assert_uint_eq(zj_scheduler_ready(tc->scheduler), 1);
    zj_msg_destroy(&first);
    zj_msg_destroy(&error);
    zj_testcoord_destroy(&tc);
}
END_TEST

Suite *
test_unique_suite(void)
{
    Suite *suite = suite_create("unique");
    TCase *tcase = tcase_create("keys");
    tcase_add_checked_fixture(tcase, s_setup, s_teardown);
    tcase_set_timeout(tcase, 20);
    tcase_add_test(tcase, test_a_key_reused_after_its_window_makes_a_new_job);
    tcase_add_test(tcase, test_a_submit_refused_half_way_keeps_no_key);
    tcase_add_test(tcase, test_undo_takes_back_the_keys_saved_since_the_mark);
    tcase_add_test(tcase, test_a_key_is_found_within_its_window_only);
    tcase_add_test(tcase, test_a_key_outlives_its_jobs_row);
    tcase_add_test(tcase, test_expire_walks_the_keys_in_chunks);
    tcase_add_test(tcase, test_a_token_keeps_ids_that_do_not_follow_each_other);
    tcase_add_test(tcase, test_the_journal_keeps_the_key);
    tcase_add_test(tcase, test_a_key_twice_in_one_batch_makes_one_job);
    tcase_add_test(tcase, test_a_key_in_a_later_submit_gets_the_same_id);
    tcase_add_test(tcase, test_a_token_sent_again_gets_ids_that_do_not_follow);
    suite_add_tcase(suite, tcase);
    return suite;
}
