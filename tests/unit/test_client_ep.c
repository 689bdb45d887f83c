//  test_client_ep.c - the clients endpoint (coordinator/client_ep.c) with
//  no sockets: each request type, its reply or ERROR read from the
//  outbox, and what it changed in the store.
#define _GNU_SOURCE
#include <check.h>
#include <signal.h>
#include <sys/resource.h>

#include "common/err.h"
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

static zj_msg_t *
s_request(zj_msg_type_t type, uint64_t req)
{
    zj_msg_t *msg = zj_msg_new(type);
    msg->req = req;
    return msg;
}

//  Handles msg (and frees it), then takes the reply of type for the
//  client out of the outbox; it must be there.
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

static int64_t
s_submit_echo(zj_testcoord_t *tc)
{
    zj_msg_t *submit = s_request(ZJ_MSG_SUBMIT, 5);
    zj_job_t *job = zj_msg_add_job(submit);
    job->kind = strdup("echo");
    job->args = strdup("{\"x\": 1}");
    zj_msg_t *reply = s_ask(tc, submit, ZJ_MSG_SUBMITTED);
    ck_assert_uint_eq(reply->req, 5);
    ck_assert_uint_eq(reply->id_count, 1);
    int64_t id = reply->ids[0];
    zj_msg_destroy(&reply);
    return id;
}

START_TEST(test_submit_queues_and_answers_with_ids)
{
    zj_testcoord_t *tc = zj_testcoord_new();
    int64_t first = s_submit_echo(tc);
    int64_t second = s_submit_echo(tc);
    ck_assert_int_eq(second, first + 1);
    ck_assert_uint_eq(zj_scheduler_ready(tc->scheduler), 2);
    ck_assert_int_eq(zj_testcoord_stored(tc, first, NULL), ZJ_STATE_QUEUED);
    zj_testcoord_destroy(&tc);
}
END_TEST

//  While the store cannot be written a SUBMIT is refused whole. Nothing
//  is asserted while the file limit is set (Check reports to a file).
START_TEST(test_submit_is_refused_while_the_store_is_degraded)
{
    zj_testcoord_t *tc = zj_testcoord_new();
    s_submit_echo(tc);
    zj_testdb_limit_file_size(1);
    int committed = zj_store_commit(tc->store);
    zj_msg_t *submit = s_request(ZJ_MSG_SUBMIT, 9);
    zj_msg_add_job(submit)->kind = strdup("echo");
    zj_client_ep_handle(&tc->client_ep, s_client, submit);
    zj_msg_destroy(&submit);
    zj_testdb_limit_file_size(RLIM_INFINITY);

    ck_assert_int_eq(committed, ZJ_ESTORE);
    zj_msg_t *error = zj_testcoord_take(tc, ZJ_TO_CLIENT, ZJ_MSG_ERROR);
    ck_assert_ptr_nonnull(error);
    ck_assert_int_eq(error->code, ZJ_ESTORE);
    ck_assert_uint_eq(error->req, 9);
    ck_assert_ptr_nonnull(strstr(error->reason, "no job was queued"));
    zj_msg_destroy(&error);
    ck_assert_uint_eq(zj_futures_size(tc->futures), 1);
    ck_assert_int_eq(zj_store_retry(tc->store), 0);
    zj_testcoord_destroy(&tc);
}
END_TEST

START_TEST(test_await_in_order_resolves_after_the_result)
{
    zj_testcoord_t *tc = zj_testcoord_new();
    zj_testcoord_hello(tc, "w1", 2, 0);
    int64_t id = s_submit_echo(tc);
    zj_worker_ep_dispatch(&tc->worker_ep);
    zj_msg_t *await = s_request(ZJ_MSG_AWAIT, 6);
    zj_msg_add_id(await, id);
    await->in_order = true;
    zj_client_ep_handle(&tc->client_ep, s_client, await);
    zj_msg_destroy(&await);
    ck_assert_uint_eq(zj_futures_awaits(tc->futures), 1);

    zj_msg_t *results = zj_testcoord_results(1, id, 1, ZJ_STATE_SUCCEEDED);
    zj_testcoord_from_worker(tc, "w1", results);
    zj_msg_destroy(&results);
    zj_futures_flush(tc->futures, 0, tc->outbox);
    zj_msg_t *resolved = zj_testcoord_take(tc, ZJ_TO_CLIENT, ZJ_MSG_RESOLVED);
    ck_assert_ptr_nonnull(resolved);
    ck_assert_uint_eq(resolved->req, 6);
    ck_assert_int_eq(resolved->jobs[0].id, id);
    ck_assert_int_eq(resolved->jobs[0].state, ZJ_STATE_SUCCEEDED);
    zj_msg_destroy(&resolved);
    zj_msg_t *done = zj_testcoord_take(tc, ZJ_TO_CLIENT, ZJ_MSG_DONE);
    ck_assert_ptr_nonnull(done);
    ck_assert(!done->timed_out);
    zj_msg_destroy(&done);
    zj_testcoord_destroy(&tc);
}
END_TEST

START_TEST(test_unknown_ids_get_enotfound)
{
    zj_testcoord_t *tc = zj_testcoord_new();
    int64_t id = s_submit_echo(tc);
    zj_msg_type_t types[] = {ZJ_MSG_AWAIT, ZJ_MSG_STATUS, ZJ_MSG_CANCEL};
    for (size_t index = 0; index < 3; index++) {
        zj_msg_t *request = s_request(types[index], 11);
        zj_msg_add_id(request, 999);
        zj_msg_add_id(request, id);
        zj_msg_t *error = s_ask(tc, request, ZJ_MSG_ERROR);
        ck_assert_int_eq(error->code, ZJ_ENOTFOUND);
        ck_assert_str_eq(error->reason, "no such job 999");
        zj_msg_destroy(&error);
    }
    //  Nothing was half done: no await waits, the job is still queued.
    ck_assert_uint_eq(zj_futures_awaits(tc->futures), 0);
    ck_assert_int_eq(zj_testcoord_stored(tc, id, NULL), ZJ_STATE_QUEUED);
    zj_testcoord_destroy(&tc);
}
END_TEST

//  PROTOCOL.md, "What a client cannot guess": an id given twice is
//  answered twice; a CANCEL stops at its first unknown id, with the ids
//  before it cancelled.
START_TEST(test_ids_twice_and_cancel_up_to_an_unknown_id)
{
    zj_testcoord_t *tc = zj_testcoord_new();
    int64_t id = s_submit_echo(tc);
    zj_msg_t *status = s_request(ZJ_MSG_STATUS, 21);
    zj_msg_add_id(status, id);
    zj_msg_add_id(status, id);
    zj_msg_t *reply = s_ask(tc, status, ZJ_MSG_STATUS);
    ck_assert_uint_eq(reply->job_count, 2);
    zj_msg_destroy(&reply);

    zj_msg_t *cancel = s_request(ZJ_MSG_CANCEL, 22);
    zj_msg_add_id(cancel, id);
    zj_msg_add_id(cancel, 999);
    zj_msg_t *error = s_ask(tc, cancel, ZJ_MSG_ERROR);
    ck_assert_int_eq(error->code, ZJ_ENOTFOUND);
    zj_msg_destroy(&error);
    ck_assert_int_eq(zj_testcoord_stored(tc, id, NULL), ZJ_STATE_CANCELLED);

    zj_msg_t *await = s_request(ZJ_MSG_AWAIT, 23);
    zj_msg_add_id(await, id);
    zj_msg_add_id(await, id);
    await->in_order = true;
    zj_client_ep_handle(&tc->client_ep, s_client, await);
    zj_msg_destroy(&await);
    zj_futures_flush(tc->futures, 0, tc->outbox);
    reply = zj_testcoord_take(tc, ZJ_TO_CLIENT, ZJ_MSG_RESOLVED);
    ck_assert_ptr_nonnull(reply);
    ck_assert_uint_eq(reply->job_count, 2);
    ck_assert_int_eq(reply->jobs[0].id, id);
    ck_assert_int_eq(reply->jobs[1].id, id);
    zj_msg_destroy(&reply);
    zj_testcoord_destroy(&tc);
}
END_TEST

START_TEST(test_cancel_stops_a_running_job_on_its_worker)
{
    zj_testcoord_t *tc = zj_testcoord_new();
    zj_peer_t *peer = zj_testcoord_hello(tc, "w1", 1, 0);
    int64_t id = s_submit_echo(tc);
    zj_worker_ep_dispatch(&tc->worker_ep);
    zj_outbox_purge(tc->outbox);
    zj_msg_t *cancel = s_request(ZJ_MSG_CANCEL, 12);
    zj_msg_add_id(cancel, id);
    zj_client_ep_handle(&tc->client_ep, s_client, cancel);
    zj_msg_destroy(&cancel);

    zj_msg_t *stop = zj_testcoord_take(tc, ZJ_TO_WORKER, ZJ_MSG_CANCEL);
    ck_assert_ptr_nonnull(stop);
    ck_assert_uint_eq(stop->id_count, 1);
    ck_assert_int_eq(stop->ids[0], id);
    zj_msg_destroy(&stop);
    zj_msg_t *reply = zj_testcoord_take(tc, ZJ_TO_CLIENT, ZJ_MSG_CANCEL);
    ck_assert_ptr_nonnull(reply);
    ck_assert_int_eq(reply->jobs[0].state, ZJ_STATE_CANCELLED);
    zj_msg_destroy(&reply);
    ck_assert_int_eq(zj_peer_credit(peer, ZJ_CLASS_IO), 0);

    //  Cancelling it again says what it is.
    cancel = s_request(ZJ_MSG_CANCEL, 13);
    zj_msg_add_id(cancel, id);
    reply = s_ask(tc, cancel, ZJ_MSG_CANCEL);
    ck_assert_str_eq(reply->jobs[0].error, "already cancelled");
    zj_msg_destroy(&reply);
    //  The worker's report of the job frees its slot.
    zj_msg_t *results = zj_testcoord_results(1, id, 1, ZJ_STATE_CANCELLED);
    zj_testcoord_from_worker(tc, "w1", results);
    zj_msg_destroy(&results);
    ck_assert_int_eq(zj_peer_credit(peer, ZJ_CLASS_IO), 1);
    zj_testcoord_destroy(&tc);
}
END_TEST

//  PROTOCOL.md: a CANCEL needs req or ids. One with ids and no req is
//  done, and answered with req 0.
START_TEST(test_cancel_without_req_is_done)
{
    zj_testcoord_t *tc = zj_testcoord_new();
    int64_t id = s_submit_echo(tc);
    zj_msg_t *cancel = s_request(ZJ_MSG_CANCEL, 0);
    zj_msg_add_id(cancel, id);
    zj_msg_t *reply = s_ask(tc, cancel, ZJ_MSG_CANCEL);
    ck_assert_uint_eq(reply->req, 0);
    ck_assert_uint_eq(reply->job_count, 1);
    ck_assert_int_eq(reply->jobs[0].state, ZJ_STATE_CANCELLED);
    zj_msg_destroy(&reply);
    ck_assert_int_eq(zj_testcoord_stored(tc, id, NULL), ZJ_STATE_CANCELLED);
    zj_testcoord_destroy(&tc);
}
END_TEST

//  docs/store.md: absent args are stored as NULL, and a worker gets a
//  JOBS entry without args (its runner reads that as JSON null).
START_TEST(test_absent_args_are_null)
{
    zj_testcoord_t *tc = zj_testcoord_new();
    zj_testcoord_hello(tc, "w1", 1, 0);
    zj_msg_t *submit = s_request(ZJ_MSG_SUBMIT, 3);
    zj_msg_add_job(submit)->kind = strdup("echo");
    zj_msg_t *reply = s_ask(tc, submit, ZJ_MSG_SUBMITTED);
    int64_t id = reply->ids[0];
    zj_msg_destroy(&reply);
    ck_assert_int_eq(zj_store_commit(tc->store), 0);
    sqlite3 *db = zj_testdb_raw();
    char sql[96];
    snprintf(sql, sizeof sql,
             "SELECT count(*) FROM jobs WHERE id = %" PRId64
             " AND args IS NULL",
             id);
    ck_assert_int_eq(zj_testdb_int(db, sql), 1);
    sqlite3_close(db);

    zj_outbox_purge(tc->outbox);
    zj_worker_ep_dispatch(&tc->worker_ep);
    zj_msg_t *jobs = zj_testcoord_take(tc, ZJ_TO_WORKER, ZJ_MSG_JOBS);
    ck_assert_ptr_nonnull(jobs);
    ck_assert_int_eq(jobs->jobs[0].id, id);
    ck_assert_ptr_null(jobs->jobs[0].args);
    zj_msg_destroy(&jobs);
    zj_testcoord_destroy(&tc);
}
END_TEST

//  A SUBMIT of two echo jobs with token (NULL: none) and req.
static zj_msg_t *
s_submit_with_token(const char *token, uint64_t req, const char *args)
{
    zj_msg_t *submit = s_request(ZJ_MSG_SUBMIT, req);
    submit->token = token ? strdup(token) : NULL;
    for (int index = 0; index < 2; index++) {
        zj_job_t *job = zj_msg_add_job(submit);
        job->kind = strdup("echo");
        job->args = strdup(args);
    }
    return submit;
}

//  PROTOCOL.md: a refused SUBMIT queues none of its jobs. A row the store
//  refuses half-way through a batch (here an id a foreign writer took)
//  used to leave the jobs before it queued, and committed.
START_TEST(test_a_submit_refused_half_way_queues_none_of_its_jobs)
{
    zj_testcoord_t *tc = zj_testcoord_new();
    int64_t next = zj_store_next_id(tc->store);
    sqlite3 *db = zj_testdb_raw();
    char *sql = sqlite3_mprintf("INSERT INTO jobs (id, kind, state) VALUES"
                                " (%lld, 'foreign', 'queued')",
                                (long long) next + 1);
    zj_testdb_exec(db, sql);
    sqlite3_free(sql);
    zj_msg_t *submit = s_request(ZJ_MSG_SUBMIT, 9);
    for (int index = 0; index < 3; index++) {
        zj_job_t *job = zj_msg_add_job(submit);
        job->kind = strdup("echo");
        job->args = strdup("{}");
    }
    zj_msg_t *error = s_ask(tc, submit, ZJ_MSG_ERROR);
    ck_assert_int_eq(error->code, ZJ_ESTORE);
    ck_assert_uint_eq(error->req, 9);
    zj_msg_destroy(&error);
    ck_assert_uint_eq(zj_futures_size(tc->futures), 0);
    ck_assert_uint_eq(zj_scheduler_ready(tc->scheduler), 0);
    ck_assert_int_eq(zj_store_commit(tc->store), 0);
    ck_assert_int_eq(zj_testdb_int(db, "SELECT count(*) FROM jobs WHERE"
                                       " kind = 'echo'"),
                     0);
    ck_assert_int_eq(zj_store_next_id(tc->store), next);
    sqlite3_close(db);
    zj_testcoord_destroy(&tc);
}
END_TEST

//  PROTOCOL.md: a SUBMIT sent again with its token (its reply was lost)
//  gets the ids of the first and makes no new jobs; the token with
//  another batch is refused. The token is in the store.
START_TEST(test_submit_token_answers_a_repeat_with_the_same_ids)
{
    zj_testcoord_t *tc = zj_testcoord_new();
    zj_msg_t *first =
        s_ask(tc, s_submit_with_token("tok-1", 4, "{}"), ZJ_MSG_SUBMITTED);
    ck_assert_uint_eq(first->id_count, 2);
    ck_assert_int_eq(zj_store_commit(tc->store), 0);
    zj_msg_t *again =
        s_ask(tc, s_submit_with_token("tok-1", 5, "{}"), ZJ_MSG_SUBMITTED);
    ck_assert_uint_eq(again->req, 5);
    ck_assert_uint_eq(again->id_count, 2);
    ck_assert_int_eq(again->ids[0], first->ids[0]);
    ck_assert_int_eq(again->ids[1], first->ids[1]);
    zj_msg_destroy(&again);
    ck_assert_uint_eq(zj_scheduler_ready(tc->scheduler), 2);

    zj_msg_t *error =
        s_ask(tc, s_submit_with_token("tok-1", 6, "[1]"), ZJ_MSG_ERROR);
    ck_assert_int_eq(error->code, ZJ_EUSAGE);
    ck_assert_uint_eq(error->req, 6);
    ck_assert_ptr_nonnull(strstr(error->reason, "another batch"));
    zj_msg_destroy(&error);
    ck_assert_uint_eq(zj_scheduler_ready(tc->scheduler), 2);

    //  Another token, or none, makes new jobs.
    zj_msg_t *other =
        s_ask(tc, s_submit_with_token("tok-2", 7, "{}"), ZJ_MSG_SUBMITTED);
    ck_assert_int_eq(other->ids[0], first->ids[1] + 1);
    zj_msg_destroy(&other);
    ck_assert_int_eq(zj_store_commit(tc->store), 0);
    sqlite3 *db = zj_testdb_raw();
    ck_assert_int_eq(zj_testdb_int(db, "SELECT count(*) FROM jobs"), 4);
    ck_assert_int_eq(zj_testdb_int(db, "SELECT first_id FROM submit_tokens "
                                       "WHERE token = 'tok-1'"),
                     first->ids[0]);
    sqlite3_close(db);
    zj_msg_destroy(&first);
    zj_testcoord_destroy(&tc);
}
END_TEST

START_TEST(test_status_list_and_workers_read_memory_and_store)
{
    zj_testcoord_t *tc = zj_testcoord_new();
    zj_testcoord_hello(tc, "w1", 4, 0);
    int64_t id = s_submit_echo(tc);
    s_submit_echo(tc);
    zj_worker_ep_dispatch(&tc->worker_ep);
    ck_assert_int_eq(zj_store_commit(tc->store), 0);

    zj_msg_t *status = s_request(ZJ_MSG_STATUS, 14);
    zj_msg_add_id(status, id);
    zj_msg_t *reply = s_ask(tc, status, ZJ_MSG_STATUS);
    ck_assert_int_eq(reply->jobs[0].state, ZJ_STATE_RUNNING);
    ck_assert_str_eq(reply->jobs[0].worker, "w1");
    zj_msg_destroy(&reply);

    zj_msg_t *list = s_request(ZJ_MSG_LIST, 15);
    list->state = strdup("running");
    reply = s_ask(tc, list, ZJ_MSG_LIST);
    ck_assert_uint_eq(reply->job_count, 2);
    zj_msg_destroy(&reply);

    reply = s_ask(tc, s_request(ZJ_MSG_WORKERS, 16), ZJ_MSG_WORKERS);
    ck_assert_uint_eq(reply->worker_count, 1);
    ck_assert_str_eq(reply->workers[0].name, "w1");
    ck_assert_int_eq(reply->workers[0].running, 2);
    ck_assert_uint_eq(reply->workers[0].kind_count, 2);
    zj_msg_destroy(&reply);
    zj_testcoord_destroy(&tc);
}
END_TEST

START_TEST(test_not_a_request_gets_etype)
{
    zj_testcoord_t *tc = zj_testcoord_new();
    zj_msg_t *error = s_ask(tc, s_request(ZJ_MSG_STATUS, 0), ZJ_MSG_ERROR);
    ck_assert_int_eq(error->code, ZJ_ETYPE); //  No req
    zj_msg_destroy(&error);
    error = s_ask(tc, s_request(ZJ_MSG_HELLO, 17), ZJ_MSG_ERROR);
    ck_assert_int_eq(error->code, ZJ_ETYPE);
    ck_assert_uint_eq(error->req, 17);
    zj_msg_destroy(&error);
    ck_assert_uint_eq(zj_outbox_size(tc->outbox), 0);
    zj_testcoord_destroy(&tc);
}
END_TEST

Suite *
test_client_ep_suite(void)
{
    Suite *suite = suite_create("client_ep");
    TCase *tcase = tcase_create("requests");
    tcase_add_checked_fixture(tcase, s_setup, s_teardown);
    tcase_set_timeout(tcase, 20);
    tcase_add_test(tcase, test_submit_queues_and_answers_with_ids);
    tcase_add_test(tcase, test_submit_is_refused_while_the_store_is_degraded);
    tcase_add_test(tcase, test_await_in_order_resolves_after_the_result);
    tcase_add_test(tcase, test_unknown_ids_get_enotfound);
    tcase_add_test(tcase, test_ids_twice_and_cancel_up_to_an_unknown_id);
    tcase_add_test(tcase, test_cancel_stops_a_running_job_on_its_worker);
    tcase_add_test(tcase, test_cancel_without_req_is_done);
    tcase_add_test(tcase, test_absent_args_are_null);
    tcase_add_test(tcase, test_submit_token_answers_a_repeat_with_the_same_ids);
    tcase_add_test(tcase,
                   test_a_submit_refused_half_way_queues_none_of_its_jobs);
    tcase_add_test(tcase, test_status_list_and_workers_read_memory_and_store);
    tcase_add_test(tcase, test_not_a_request_gets_etype);
    suite_add_tcase(suite, tcase);
    return suite;
}
