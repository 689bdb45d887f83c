//  cli_watch.c - `zjob watch ID...`: the state and progress of jobs,
//  live, until every one of them has ended. One STATUS of all the ids
//  every ZJ_WATCH_MS: a progress is what a job is at now, and the
//  coordinator keeps only the latest. On a terminal, a bar per job drawn
//  again in place; else a JSON line each time a job's state or progress
//  changes.
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "client/cli.h"

#define ZJ_WATCH_MS 250   //  STATUS this often
#define ZJ_WATCH_BAR 30   //  Characters of a bar
#define ZJ_WATCH_MAX 100  //  Jobs one watch shows
#define ZJ_WATCH_TEXT 256 //  Bytes of progress text shown (the most sent)

// clang-format off
static const char s_usage[] =
    "Usage: zjob [--coordinator EP] watch ID...|-\n"
    "\n"
    "Shows each job's state and progress (what its handler reports with\n"
    "zjob_progress; a map's children done) until every job has ended.\n"
    "On a terminal, a bar per job, redrawn four times a second; else (or\n"
    "with --json) a JSON line {\"id\", \"state\", \"done\", \"total\",\n"
    "\"text\"} each time a job's state or progress changes. - reads the\n"
    "ids from stdin. At most 100 jobs.\n"
    "\n"
    "Options:\n"
    ZJ_CLI_HELP_COORDINATOR
    "  --json             JSON lines even on a terminal\n"
    ZJ_CLI_HELP_HELP
    "\n"
    "Exit: 0 every job succeeded, 1 one failed or was cancelled, 2 usage\n"
    "error or no such job, 3 coordinator unreachable.\n";
// clang-format on

//  What was last shown of one job.
typedef struct {
    int64_t id;
    char kind[64];
    char state[16];
    int64_t done;
    int64_t total;
    char text[ZJ_WATCH_TEXT + 1];
    bool seen;    //  STATUS returned it
    bool changed; //  Differs from what was shown
} s_job_t;

typedef struct {
    s_job_t *jobs;
    size_t count;
} s_watch_t;

static s_job_t *
s_find(s_watch_t *watch, int64_t id)
{
    for (size_t index = 0; index < watch->count; index++)
        if (watch->jobs[index].id == id)
            return &watch->jobs[index];
    return NULL;
}

static void
s_on_job(void *arg, const zjob_job_t *job)
{
    s_job_t *shown = s_find(arg, job->id);
    if (shown == NULL || strcmp(job->state, "unknown") == 0)
        return;
    const char *text = job->progress_text ? job->progress_text : "";
    shown->changed = !shown->seen || strcmp(shown->state, job->state) != 0 ||
                     shown->done != job->progress_done ||
                     shown->total != job->progress_total ||
                     strcmp(shown->text, text) != 0;
    shown->seen = true;
    snprintf(shown->kind, sizeof shown->kind, "%s",
             job->kind ? job->kind : "-");
    snprintf(shown->state, sizeof shown->state, "%s", job->state);
    shown->done = job->progress_done;
    shown->total = job->progress_total;
    snprintf(shown->text, sizeof shown->text, "%s", text);
}

static bool
s_final(const s_job_t *job)
{
    return strcmp(job->state, "succeeded") == 0 ||
           strcmp(job->state, "failed") == 0 ||
           strcmp(job->state, "cancelled") == 0;
}

//  One job's line on a terminal: id, kind, a bar, done/total, text.
static void
s_draw_one(const s_job_t *job)
{
    char bar[ZJ_WATCH_BAR + 1];
    int64_t done = job->done, total = job->total;
    if (strcmp(job->state, "succeeded") == 0 && total == 0)
        done = total = 1;
    int filled = total > 0 ? (int) (done * ZJ_WATCH_BAR / total) : 0;
    for (int index = 0; index < ZJ_WATCH_BAR; index++)
        bar[index] = index < filled ? '#' : '.';
    bar[ZJ_WATCH_BAR] = '\0';
    char count[48] = "";
    if (job->total > 0)
        snprintf(count, sizeof count, "%lld/%lld", (long long) job->done,
                 (long long) job->total);
    else if (job->done > 0)
        snprintf(count, sizeof count, "%lld", (long long) job->done);
    printf("\033[2K%lld  %-10.10s %-9s [%s] %s %s\n", (long long) job->id,
           job->kind, job->state, bar, count, job->text);
}

//  Draws every job, over the lines drawn last time.
static void
s_draw(s_watch_t *watch, bool again)
{
    if (again)
        printf("\033[%zuA", watch->count);
    for (size_t index = 0; index < watch->count; index++)
        s_draw_one(&watch->jobs[index]);
    fflush(stdout);
}

//  A JSON line for each job that changed.
static void
s_lines(s_watch_t *watch)
{
    for (size_t index = 0; index < watch->count; index++) {
        s_job_t *job = &watch->jobs[index];
        if (!job->changed)
            continue;
        job->changed = false;
        zj_cli_print_json(
            json_pack("{s:I,s:s,s:I,s:I,s:s}", "id", (json_int_t) job->id,
                      "state", job->state, "done", (json_int_t) job->done,
                      "total", (json_int_t) job->total, "text", job->text));
    }
    fflush(stdout);
}

//  Polls until every job ended; returns the exit status.
static int
s_run(zj_cli_t *cli, zjob_client_t *client, s_watch_t *watch,
      const int64_t *ids)
{
    bool tty = cli->out_tty && !cli->json;
    for (size_t round = 0;; round++) {
        int rc = zjob_client_status(client, ids, watch->count, s_on_job, watch);
        if (rc)
            return zj_cli_fail(cli, rc);
        size_t ended = 0, failed = 0;
        for (size_t index = 0; index < watch->count; index++) {
            ended += s_final(&watch->jobs[index]);
            failed += s_final(&watch->jobs[index]) &&
                      strcmp(watch->jobs[index].state, "succeeded") != 0;
        }
        if (tty)
            s_draw(watch, round > 0);
        else
            s_lines(watch);
        if (ended == watch->count)
            return failed ? ZJ_EXIT_FAILED : ZJ_EXIT_OK;
        struct timespec pause = {0, ZJ_WATCH_MS * 1000000L};
        nanosleep(&pause, NULL);
    }
}

int
zj_cli_watch(zj_cli_t *cli, int argc, char **argv)
{
    if (zj_cli_getopt_common(cli, argc, argv, s_usage) == ZJ_OPT_EXIT)
        return cli->exit;
    int64_t *ids = NULL;
    size_t count = 0;
    int rc = zj_cli_read_ids(cli, argc - optind, argv + optind, &ids, &count);
    if (rc == 0 && count == 0)
        return ZJ_EXIT_OK;
    if (rc == 0 && count > ZJ_WATCH_MAX)
        rc = zj_cli_usage_error(cli, "watches at most %d jobs, not %zu",
                                ZJ_WATCH_MAX, count);
    zjob_client_t *client = rc == 0 ? zj_cli_client(cli) : NULL;
    if (rc == 0 && client == NULL)
        rc = ZJ_EXIT_USAGE;
    s_watch_t watch = {0};
    if (rc == 0) {
        watch.jobs = zj_cli_checked(calloc(count, sizeof *watch.jobs));
        for (size_t index = 0; index < count; index++)
            watch.jobs[index].id = ids[index];
        //  The same id twice is one job watched once.
        watch.count = count;
        size_t kept = 0;
        for (size_t index = 0; index < count; index++)
            if (s_find(&watch, ids[index]) == &watch.jobs[index])
                ids[kept++] = ids[index];
        for (size_t index = 0; index < kept; index++)
            watch.jobs[index] = (s_job_t){.id = ids[index]};
        watch.count = kept;
        rc = s_run(cli, client, &watch, ids);
    }
    free(watch.jobs);
    free(ids);
    return rc;
}
