//  cli_query.c - `zjob status`, `zjob jobs` and `zjob workers`: read the
//  coordinator's record. Human output (a key/value block, tables) on a
//  terminal; JSON lines with --json, and for jobs and workers when piped.
#include <stdlib.h>
#include <string.h>

#include "client/cli.h"
#include "common/duration.h"
#include "proto/msg.h"

// clang-format off
static const char s_status_usage[] =
    "Usage: zjob [--coordinator EP] status ID...|- [--json]\n"
    "\n"
    "Prints the record of each job: a key/value block, or with --json one\n"
    "JSON object per line with the store's fields (id, kind, args, state,\n"
    "priority, attempts, max_attempts, timeout_ms, not_before, worker,\n"
    "created_at, started_at, finished_at, result, error).\n"
    "\n"
    "Options:\n"
    "  --json             JSON lines\n"
    ZJ_CLI_HELP_COORDINATOR
    ZJ_CLI_HELP_HELP
    "\n"
    "Exit: 0 found, 2 usage error or no such job, 3 coordinator "
    "unreachable.\n";

static const char s_jobs_usage[] =
    "Usage: zjob [--coordinator EP] jobs [--state S[,S...]]... [--kind K]\n"
    "            [--worker W] [--since DUR] [--before ID] [--limit N]\n"
    "            [--parent ID] [--json]\n"
    "\n"
    "Lists the newest jobs, newest first: a table on a terminal, else (or\n"
    "with --json) one JSON record per line, as `zjob status --json`. When\n"
    "more jobs pass the filters than --limit, says on stderr how to list\n"
    "the next page: \"more: zjob jobs ... --before N\".\n"
    "\n"
    "Options:\n"
    "  --state S          only jobs in state S: queued, running, succeeded,\n"
    "                     failed or cancelled; several with commas or\n"
    "                     --state again (--state failed,cancelled)\n"
    "  --kind K           only jobs of kind K\n"
    "  --worker W         only jobs whose last attempt ran on worker W\n"
    "  --since DUR        only jobs created within DUR (10m, 1h30m, 2d)\n"
    "  --before ID        only jobs with ids below ID (the next page)\n"
    "  --parent ID        only the jobs job ID submitted from its handler\n"
    "                     (a map's children), in the order it made them;\n"
    "                     takes one --state and --limit, no other filter\n"
    "  --limit N          at most N jobs (default 100, at most 10000)\n"
    "  --json             JSON lines\n"
    ZJ_CLI_HELP_COORDINATOR
    ZJ_CLI_HELP_HELP
    "\n"
    "Exit: 0 listed, 2 usage error, 3 coordinator unreachable.\n";

static const char s_workers_usage[] =
    "Usage: zjob [--coordinator EP] workers [--forget] [--json]\n"
    "\n"
    "Lists the workers the coordinator knows: a table on a terminal, else\n"
    "(or with --json) one JSON object per line.\n"
    "\n"
    "Options:\n"
    "  --forget           first delete from the store the workers that are\n"
    "                     not connected (lost, gone, revoked), naming each\n"
    "                     on stderr; one that comes back joins anew\n"
    "  --json             JSON lines\n"
    ZJ_CLI_HELP_COORDINATOR
    ZJ_CLI_HELP_HELP
    "\n"
    "Exit: 0 listed, 2 usage error, 3 coordinator unreachable.\n";
// clang-format on

enum {
    S_STATE = 1,
    S_LIMIT,
    S_PARENT,
    S_FORGET,
    S_KIND,
    S_WORKER,
    S_SINCE,
    S_BEFORE
};

static const struct option s_jobs_options[] = {
    {"state", required_argument, NULL, S_STATE},
    {"limit", required_argument, NULL, S_LIMIT},
    {"parent", required_argument, NULL, S_PARENT},
    {"kind", required_argument, NULL, S_KIND},
    {"worker", required_argument, NULL, S_WORKER},
    {"since", required_argument, NULL, S_SINCE},
    {"before", required_argument, NULL, S_BEFORE},
    ZJ_CLI_COMMON_OPTIONS};

//  --- status

typedef struct {
    zj_cli_t *cli;      //  The run
    size_t printed;     //  Records printed so far
    const int64_t *ids; //  Ids asked for
    bool *found;        //  Per id: a record came
    size_t count;       //  Entries in ids and found
} s_status_t;

static void
s_print_block(const zjob_job_t *job)
{
    char created[32], started[32], finished[32], not_before[32], span[32];
    zj_cli_format_time(job->created_at, created, sizeof created);
    zj_cli_format_time(job->started_at, started, sizeof started);
    zj_cli_format_time(job->finished_at, finished, sizeof finished);
    zj_cli_format_time(job->not_before, not_before, sizeof not_before);
    printf("id:          %lld\n", (long long) job->id);
    printf("kind:        %s\n", job->kind ? job->kind : "-");
    printf("state:       %s\n", job->state);
    printf("priority:    %d\n", job->priority);
    printf("attempts:    %d of %d\n", job->attempts, job->max_attempts);
    zj_cli_format_span(job->timeout_ms, span, sizeof span);
    printf("timeout:     %s\n", job->timeout_ms > 0 ? span : "none");
    printf("not before:  %s\n", not_before);
    printf("worker:      %s\n", job->worker ? job->worker : "-");
    if (job->parent > 0)
        printf("parent:      %lld\n", (long long) job->parent);
    if (job->retry_of > 0)
        printf("retry_of:    %lld\n", (long long) job->retry_of);
    if (job->progress_at > 0) {
        if (job->progress_total > 0)
            printf("progress:    %lld of %lld", (long long) job->progress_done,
                   (long long) job->progress_total);
        else
            printf("progress:    %lld", (long long) job->progress_done);
        printf("%s%s\n", job->progress_text ? ", " : "",
               job->progress_text ? job->progress_text : "");
    }
    if (job->after_count > 0) {
        printf("after:      ");
        for (size_t index = 0; index < job->after_count; index++)
            printf(" %lld", (long long) job->after[index]);
        printf("\n");
    }
    printf("created:     %s\n", created);
    printf("started:     %s\n", started);
    printf("finished:    %s\n", finished);
    if (job->started_at > 0 && job->finished_at >= job->started_at) {
        zj_cli_format_span(
            (int64_t) ((job->finished_at - job->started_at) * 1000.0), span,
            sizeof span);
        printf("ran for:     %s\n", span);
    }
    printf("args:        %s\n", job->args ? job->args : "null");
    if (job->result)
        printf("result:      %s\n", job->result);
    if (job->error)
        printf("error:       %s\n", job->error);
    if (job->held)
        printf("held:        %s\n", job->held);
}

static void
s_on_status(void *arg, const zjob_job_t *job)
{
    s_status_t *status = arg;
    if (strcmp(job->state, "unknown") == 0)
        return; //  The coordinator's way to say "no such job", maybe
    for (size_t index = 0; index < status->count; index++)
        if (status->ids[index] == job->id)
            status->found[index] = true;
    if (status->cli->json) {
        zj_cli_print_json(zj_cli_job_json(job));
        return;
    }
    if (status->printed++ > 0)
        putchar('\n');
    s_print_block(job);
    fflush(stdout);
}

int
zj_cli_status(zj_cli_t *cli, int argc, char **argv)
{
    if (zj_cli_getopt_common(cli, argc, argv, s_status_usage) == ZJ_OPT_EXIT)
        return cli->exit;
    s_status_t status = {.cli = cli};
    int64_t *ids = NULL;
    int rc =
        zj_cli_read_ids(cli, argc - optind, argv + optind, &ids, &status.count);
    if (rc || status.count == 0)
        return rc;
    status.ids = ids;
    status.found = calloc(status.count, sizeof(bool));
    zjob_client_t *client = zj_cli_client(cli);
    if (client == NULL)
        rc = ZJ_EXIT_USAGE;
    else if ((rc = zjob_client_status(client, ids, status.count, s_on_status,
                                      &status)) != 0)
        rc = zj_cli_fail(cli, rc);
    for (size_t index = 0; rc == 0 && index < status.count; index++)
        if (status.found && !status.found[index])
            rc = zj_cli_usage_error(cli, "no such job: %lld",
                                    (long long) ids[index]);
    free(status.found);
    free(ids);
    return rc;
}

//  --- jobs and workers: JSON lines (--json, or stdout not a terminal)
//  or a table

//  The client for a listing, which takes no positional argument; NULL
//  after printing why (the command then exits ZJ_EXIT_USAGE).
static zjob_client_t *
s_list_client(zj_cli_t *cli, int argc, char **argv)
{
    if (optind < argc) {
        zj_cli_usage_error(cli, "unexpected argument '%.40s'", argv[optind]);
        return NULL;
    }
    return zj_cli_client(cli);
}

//  The table a listing fills on a terminal, or NULL for JSON lines.
static zj_table_t *
s_table_new(const zj_cli_t *cli, const char *const *headers, size_t columns)
{
    if (cli->json || !cli->out_tty)
        return NULL;
    return zj_table_new(headers, columns);
}

//  Ends a listing whose libzjob call returned rc: prints its table, if
//  any, unless the call failed; destroys the table. Returns the exit.
static int
s_listed(zj_cli_t *cli, int rc, zj_table_t *table)
{
    if (rc == 0 && table)
        zj_table_print(table, stdout);
    zj_table_destroy(&table);
    return rc ? zj_cli_fail(cli, rc) : ZJ_EXIT_OK;
}

//  A job's line (arg NULL) or table row (arg the table).
static void
s_on_job(void *arg, const zjob_job_t *job)
{
    if (arg == NULL) {
        zj_cli_print_json(zj_cli_job_json(job));
        return;
    }
    char id[24], attempts[32], created[32], ran[32] = "-";
    snprintf(id, sizeof id, "%lld", (long long) job->id);
    snprintf(attempts, sizeof attempts, "%d/%d", job->attempts,
             job->max_attempts);
    zj_cli_format_time(job->created_at, created, sizeof created);
    if (job->started_at > 0) {
        double end = job->finished_at > 0 ? job->finished_at : zj_now();
        zj_cli_format_span((int64_t) ((end - job->started_at) * 1000.0), ran,
                           sizeof ran);
    }
    const char *cells[] = {id,          job->kind, job->state, attempts,
                           job->worker, created,   ran};
    zj_table_add(arg, cells);
}

//  zjob jobs' options, as parsed.
typedef struct {
    char states[64];           //  "failed,cancelled", or "" for any
    int64_t parent;            //  --parent, or 0
    zjob_list_filter_t filter; //  The rest
} s_jobs_t;

//  Adds --state text (one state or several, with commas) to jobs->states.
static int
s_add_states(zj_cli_t *cli, s_jobs_t *jobs, const char *text)
{
    if (zj_states_from_names(text) == 0)
        return zj_cli_usage_error(cli,
                                  "unknown state in '%.40s' (queued, running, "
                                  "succeeded, failed, cancelled)",
                                  text);
    size_t used = strlen(jobs->states);
    if (used + strlen(text) + 2 > sizeof jobs->states)
        return zj_cli_usage_error(cli, "too many --state values");
    snprintf(jobs->states + used, sizeof jobs->states - used, "%s%s",
             used ? "," : "", text);
    return 0;
}

//  One option of zjob jobs. Returns 0 or the exit of a usage error.
static int
s_jobs_option(zj_cli_t *cli, s_jobs_t *jobs, int option, const char *value)
{
    zjob_list_filter_t *filter = &jobs->filter;
    switch (option) {
    case S_STATE:
        return s_add_states(cli, jobs, value);
    case S_PARENT:
    case S_BEFORE:
        if (zj_cli_parse_id(value, option == S_PARENT ? &jobs->parent
                                                      : &filter->before))
            return zj_cli_usage_error(cli, "--%s wants a job id, not '%s'",
                                      option == S_PARENT ? "parent" : "before",
                                      value);
        return 0;
    case S_KIND:
        filter->kind = value;
        return 0;
    case S_WORKER:
        filter->worker = value;
        return 0;
    case S_SINCE:
        if (zj_duration_parse(value, &filter->since_ms) ||
            filter->since_ms <= 0)
            return zj_cli_usage_error(cli,
                                      "--since wants a duration (10m, 1h30m, "
                                      "2d), not '%s'",
                                      value);
        return 0;
    default:
        if (zj_cli_parse_int(value, 1, INT32_MAX, &filter->limit))
            return zj_cli_usage_error(cli,
                                      "--limit wants a positive integer, not "
                                      "'%s'",
                                      value);
        return 0;
    }
}

//  The children of a parent are listed with one state at most and no
//  other filter.
static bool
s_children_filter_ok(const s_jobs_t *jobs)
{
    const zjob_list_filter_t *filter = &jobs->filter;
    return !(filter->kind || filter->worker || filter->since_ms ||
             filter->before || strchr(jobs->states, ','));
}

//  "more: zjob jobs ... --before N" on stderr: the command line again,
//  its --before replaced.
static void
s_print_more(int argc, char **argv, int64_t next_before)
{
    fprintf(stderr, "more: zjob");
    for (int index = 0; index < argc; index++) {
        if (strcmp(argv[index], "--before") == 0) {
            index++;
            continue;
        }
        if (strncmp(argv[index], "--before=", 9) != 0)
            fprintf(stderr, " %s", argv[index]);
    }
    fprintf(stderr, " --before %lld\n", (long long) next_before);
}

int
zj_cli_jobs(zj_cli_t *cli, int argc, char **argv)
{
    cli->usage = s_jobs_usage;
    s_jobs_t jobs = {.parent = 0};
    int option;
    optind = 0;
    while ((option = zj_cli_getopt(cli, argc, argv, s_jobs_options)) >= 0) {
        int rc = s_jobs_option(cli, &jobs, option, optarg);
        if (rc)
            return rc;
    }
    if (option == ZJ_OPT_EXIT)
        return cli->exit;
    jobs.filter.states = *jobs.states ? jobs.states : NULL;
    if (jobs.parent > 0 && !s_children_filter_ok(&jobs))
        return zj_cli_usage_error(cli, "--parent takes one --state and "
                                       "--limit, no other filter");
    zjob_client_t *client = s_list_client(cli, argc, argv);
    if (client == NULL)
        return ZJ_EXIT_USAGE;
    const char *headers[] = {"ID",     "KIND",    "STATE", "ATTEMPTS",
                             "WORKER", "CREATED", "RAN"};
    zj_table_t *table = s_table_new(cli, headers, 7);
    int64_t next_before = 0;
    int rc = jobs.parent > 0
                 ? zjob_client_children(client, jobs.parent, jobs.filter.states,
                                        jobs.filter.limit, s_on_job, table)
                 : zjob_client_list_filtered(client, &jobs.filter, s_on_job,
                                             table, &next_before);
    rc = s_listed(cli, rc, table);
    if (rc == ZJ_EXIT_OK && next_before > 0)
        s_print_more(argc, argv, next_before);
    return rc;
}

//  A worker's line (arg NULL) or table row (arg the table).
static void
s_on_worker(void *arg, const zjob_worker_t *worker)
{
    if (arg == NULL) {
        zj_cli_print_json(zj_cli_worker_json(worker));
        return;
    }
    char pid[24], running[16], io[16], cpu[16], seen[32], kinds[512] = "";
    char awaiting[32] = "";
    snprintf(pid, sizeof pid, "%lld", (long long) worker->pid);
    snprintf(running, sizeof running, "%d", worker->running);
    if (worker->state && strcmp(worker->state, "connected") == 0)
        snprintf(awaiting, sizeof awaiting, "%d/%d", worker->suspended,
                 worker->max_suspended);
    snprintf(io, sizeof io, "%d", worker->io_slots);
    snprintf(cpu, sizeof cpu, "%d", worker->cpu_slots);
    zj_cli_format_time(worker->last_seen, seen, sizeof seen);
    size_t used = 0;
    for (size_t index = 0; index < worker->kind_count && used < sizeof kinds;
         index++)
        used += (size_t) snprintf(kinds + used, sizeof kinds - used, "%s%s/%s",
                                  index ? "," : "", worker->kinds[index].name,
                                  worker->kinds[index].klass);
    const char *cells[] = {worker->name, worker->host, pid, worker->state,
                           running,      awaiting,     io,  cpu,
                           seen,         kinds};
    zj_table_add(arg, cells);
}

//  --forget: the workers not connected before, by name -> state; then
//  those still listed after are taken out.
static void
s_on_stale(void *arg, const zjob_worker_t *worker)
{
    if (strcmp(worker->state, "connected") != 0)
        json_object_set_new(arg, worker->name, json_string(worker->state));
}

typedef struct {
    zj_table_t *table; //  Where the listing goes (NULL: JSON lines)
    json_t *stale;     //  Not connected before the forget
} s_forget_t;

static void
s_on_kept(void *arg, const zjob_worker_t *worker)
{
    s_forget_t *forget = arg;
    json_object_del(forget->stale, worker->name);
    s_on_worker(forget->table, worker);
}

//  Lists the workers, forgetting the stale ones first; names on stderr
//  those the coordinator deleted.
static int
s_forget_workers(zjob_client_t *client, zj_table_t *table)
{
    s_forget_t forget = {table, json_object()};
    int rc = zjob_client_workers(client, s_on_stale, forget.stale);
    if (rc == 0)
        rc = zjob_client_forget_workers(client, s_on_kept, &forget);
    const char *name;
    json_t *state;
    json_object_foreach(forget.stale, name, state) {
        if (rc == 0)
            fprintf(stderr, "zjob workers: forgot %s (%s)\n", name,
                    json_string_value(state));
    }
    json_decref(forget.stale);
    return rc;
}

int
zj_cli_workers(zj_cli_t *cli, int argc, char **argv)
{
    static const struct option options[] = {
        {"forget", no_argument, NULL, S_FORGET}, ZJ_CLI_COMMON_OPTIONS};
    cli->usage = s_workers_usage;
    bool forget = false;
    int option;
    optind = 0;
    while ((option = zj_cli_getopt(cli, argc, argv, options)) >= 0)
        forget = true;
    if (option == ZJ_OPT_EXIT)
        return cli->exit;
    zjob_client_t *client = s_list_client(cli, argc, argv);
    if (client == NULL)
        return ZJ_EXIT_USAGE;
    const char *headers[] = {"NAME",     "HOST", "PID", "STATE",     "RUNNING",
                             "AWAITING", "IO",   "CPU", "LAST SEEN", "KINDS"};
    zj_table_t *table = s_table_new(cli, headers, 10);
    int rc = forget ? s_forget_workers(client, table)
                    : zjob_client_workers(client, s_on_worker, table);
    return s_listed(cli, rc, table);
}
