//  zjmute.c - a worker that takes jobs and never answers them, for fault
//  tests of the coordinator's deadlines: it says HELLO with many slots,
//  beats its heart, prints each job and CANCEL it is sent, and sends no
//  RESULTS (or, with -l, each job's success long after it came).
#include <czmq.h>
#include <getopt.h>

#include "common/duration.h"
#include "common/err.h"
#include "proto/codec.h"

// clang-format off
static const char s_usage[] =
    "usage: zjmute [-s SLOTS] [-l LATE_MS] ENDPOINT NAME\n"
    "Connects to the workers ENDPOINT as worker NAME offering the io kinds\n"
    "echo and sleep with SLOTS slots (default 100000), heartbeats, and\n"
    "prints one line per message it gets: \"JOBS id attempt timeout_ms\"\n"
    "for each job, \"CANCEL id\" for each id, or the message's type. It\n"
    "answers no job; with -l, each job \"succeeds\" LATE_MS after it came.\n"
    "Says HELLO again when the coordinator does not know it (it restarted).\n"
    "Runs until SIGTERM or SIGINT.\n";
// clang-format on

typedef struct {
    zsock_t *socket;      //  DEALER to the coordinator
    const char *name;     //  Our worker name
    int32_t slots;        //  Our io slots
    int heartbeat_ms;     //  From the WELCOME
    int64_t late_ms;      //  Answer this long after a job came; 0 = never
    zlistx_t *late;       //  zj_job_t * waiting for their late answer
    uint64_t last_req;    //  Number of the last RESULTS sent
    int64_t next_beat_ms; //  When the next HEARTBEAT goes
} zj_mute_t;

static void
s_send(zj_mute_t *self, zj_msg_t **msg_p)
{
    char *data = NULL;
    size_t size = 0;
    char why[ZJ_WHY_SIZE] = "";
    if (zj_msg_encode(*msg_p, &data, &size, why) == 0)
        zsock_send(self->socket, "b", data, size);
    else
        fprintf(stderr, "zjmute: cannot encode: %s\n", why);
    free(data);
    zj_msg_destroy(msg_p);
}

static void
s_hello(zj_mute_t *self)
{
    zj_msg_t *hello = zj_msg_new(ZJ_MSG_HELLO);
    zj_worker_info_t *info = zj_msg_add_worker(hello);
    info->name = strdup(self->name);
    info->host = strdup("zjmute");
    info->pid = getpid();
    info->io_slots = self->slots;
    info->kinds = calloc(2, sizeof *info->kinds);
    info->kinds[0].name = strdup("echo");
    info->kinds[1].name = strdup("sleep");
    info->kind_count = 2;
    s_send(self, &hello);
}

static void
s_job_free(void **item_p)
{
    zj_job_t *job = *item_p;
    if (job) {
        zj_job_clear(job);
        free(job);
        *item_p = NULL;
    }
}

static void
s_on_jobs(zj_mute_t *self, const zj_msg_t *msg)
{
    for (size_t index = 0; index < msg->job_count; index++) {
        const zj_job_t *job = &msg->jobs[index];
        printf("JOBS %" PRId64 " %d %" PRId64 "\n", job->id, job->attempts,
               job->timeout_ms);
        if (self->late_ms > 0) {
            zj_job_t *late = calloc(1, sizeof *late);
            late->id = job->id;
            late->attempts = job->attempts;
            late->started_at = zj_now();
            late->not_before = late->started_at + self->late_ms / 1000.0;
            zlistx_add_end(self->late, late);
        }
    }
}

static void
s_on_message(zj_mute_t *self, const zj_msg_t *msg)
{
    if (msg->type == ZJ_MSG_JOBS)
        s_on_jobs(self, msg);
    else if (msg->type == ZJ_MSG_CANCEL)
        for (size_t index = 0; index < msg->id_count; index++)
            printf("CANCEL %" PRId64 "\n", msg->ids[index]);
    else {
        if (msg->type == ZJ_MSG_WELCOME && msg->heartbeat_ms > 0)
            self->heartbeat_ms = msg->heartbeat_ms;
        if (msg->type != ZJ_MSG_HEARTBEAT)
            printf("%s\n", zj_msg_type_name(msg->type));
        if (msg->type == ZJ_MSG_ERROR && msg->code == ZJ_ETYPE)
            s_hello(self);
    }
}

//  Sends the late answers that are due, oldest first.
static void
s_answer_late(zj_mute_t *self)
{
    double now = zj_now();
    zj_job_t *late;
    while ((late = zlistx_first(self->late)) && late->not_before <= now) {
        zj_msg_t *results = zj_msg_new(ZJ_MSG_RESULTS);
        results->req = ++self->last_req;
        zj_job_t *entry = zj_msg_add_job(results);
        entry->id = late->id;
        entry->attempts = late->attempts;
        entry->state = ZJ_STATE_SUCCEEDED;
        entry->result = strdup("{\"late\": true}");
        entry->started_at = late->started_at;
        entry->finished_at = now;
        results->io_credit = 1;
        printf("LATE %" PRId64 " %d\n", late->id, late->attempts);
        s_send(self, &results);
        zlistx_delete(self->late, zlistx_cursor(self->late));
    }
}

static void
s_run(zj_mute_t *self)
{
    zpoller_t *poller = zpoller_new(self->socket, NULL);
    while (!zsys_interrupted) {
        zsock_t *ready = zpoller_wait(poller, 50);
        if (ready) {
            zframe_t *frame = zframe_recv(self->socket);
            zj_msg_t *msg = NULL;
            char why[ZJ_WHY_SIZE] = "";
            if (frame && zj_msg_decode(zframe_data(frame), zframe_size(frame),
                                       &msg, NULL, why) == 0)
                s_on_message(self, msg);
            zj_msg_destroy(&msg);
            zframe_destroy(&frame);
        }
        if (zj_mono_ms() >= self->next_beat_ms) {
            zj_msg_t *beat = zj_msg_new(ZJ_MSG_HEARTBEAT);
            s_send(self, &beat);
            self->next_beat_ms = zj_mono_ms() + self->heartbeat_ms;
        }
        s_answer_late(self);
    }
    zpoller_destroy(&poller);
}

int
main(int argc, char **argv)
{
    long slots = 100000, late_ms = 0;
    int option;
    while ((option = getopt(argc, argv, "s:l:")) != -1) {
        if (option == 's')
            slots = atol(optarg);
        else if (option == 'l')
            late_ms = atol(optarg);
        else {
            fputs(s_usage, stderr);
            return 2;
        }
    }
    if (argc - optind != 2 || slots < 1 || slots > INT32_MAX || late_ms < 0) {
        fputs(s_usage, stderr);
        return 2;
    }
    zsys_init();
    setvbuf(stdout, NULL, _IOLBF, 0);
    zj_mute_t self = {.name = argv[optind + 1],
                      .slots = (int32_t) slots,
                      .heartbeat_ms = 500,
                      .late_ms = late_ms};
    self.late = zlistx_new();
    zlistx_set_destructor(self.late, s_job_free);
    self.socket = zsock_new_dealer(argv[optind]);
    if (self.socket == NULL) {
        fprintf(stderr, "zjmute: cannot connect to %s\n", argv[optind]);
        return 1;
    }
    zsock_set_linger(self.socket, 0);
    s_hello(&self);
    s_run(&self);
    zsock_destroy(&self.socket);
    zlistx_destroy(&self.late);
    return 0;
}
