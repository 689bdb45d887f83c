//  zjbench.c - the client side of `make bench`: runs one workload through
//  libzjob against a running coordinator and prints what it measured as
//  "RESULT name value unit" lines, timed by its own monotonic clock.
//  bench/run starts the programs, repeats the workloads and makes the
//  table (see bench/README.md).
#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "bench/floor.h"
#include "common/duration.h"
#include "include/zjob/zjob.h"
#include "worker/handlers.h"

#define S_SUSTAINED_BATCH 20000 //  Jobs per submit and gather, sustained
#define S_REPLY_MS 120000 //  Replies to 1,000,000-job submits take a while

typedef struct {
    const char *endpoint; //  -c: the coordinator's clients endpoint
    long count;           //  -n: jobs
    long rounds;          //  -r: sha256 rounds per job
    pid_t coordinator;    //  -p: its pid, to read its CPU time and RSS
    long segment;         //  -s: sustained: jobs per measured segment
    const char *db;       //  -d: sustained: the store's file, to stat
} s_options_t;

typedef struct {
    size_t resolved;  //  Results seen
    size_t succeeded; //  Of which succeeded
    int64_t start_us; //  When the submit began
    double submitted; //  Seconds from start to all ids back
    double first;     //  ... to the first result
} s_tally_t;

static void
s_result(const char *name, double value, const char *unit)
{
    printf("RESULT %s %.6g %s\n", name, value, unit);
    fflush(stdout);
}

static void
s_die(const char *what, zjob_client_t *client, int rc)
{
    fprintf(stderr, "zjbench: %s: %s (%s)\n", what, zjob_strerror(rc),
            client ? zjob_client_last_error(client) : "");
    exit(1);
}

static zjob_client_t *
s_connect(const s_options_t *options)
{
    int err = 0;
    zjob_client_t *client = zjob_client_new(options->endpoint, &err);
    if (client == NULL)
        s_die("connect", NULL, err);
    zjob_client_set_timeouts(client, 3000, S_REPLY_MS);
    return client;
}

//  count specs of kind, args from format with the job's index ("%ld").
static zjob_spec_t *
s_specs(long count, const char *kind, const char *format, long rounds)
{
    zjob_spec_t *specs = calloc((size_t) count, sizeof *specs);
    for (long index = 0; index < count; index++) {
        char args[128];
        snprintf(args, sizeof args, format, index, rounds);
        specs[index].kind = kind;
        specs[index].args = strdup(args);
    }
    return specs;
}

static void
s_specs_free(zjob_spec_t *specs, long count)
{
    for (long index = 0; index < count; index++)
        free((char *) specs[index].args);
    free(specs);
}

static void
s_count(void *arg, const zjob_result_t *result)
{
    s_tally_t *tally = arg;
    if (tally->resolved == 0)
        tally->first = (double) (zj_mono_us() - tally->start_us) / 1e6;
    tally->resolved++;
    if (strcmp(result->state, "succeeded") == 0)
        tally->succeeded++;
}

//  Submits specs and gathers every result in order; returns the
//  seconds from the first submit to the last result. tally_p, if not
//  NULL, gets the tally.
static double
s_submit_gather(zjob_client_t *client, zjob_spec_t *specs, long count,
                s_tally_t *tally_p)
{
    int64_t *ids = calloc((size_t) count, sizeof *ids);
    int64_t start = zj_mono_us();
    s_tally_t tally = {.start_us = start};
    int rc = zjob_client_submit(client, specs, (size_t) count, ids);
    if (rc)
        s_die("submit", client, rc);
    tally.submitted = (double) (zj_mono_us() - start) / 1e6;
    rc = zjob_client_await(client, ids, (size_t) count, true, -1, s_count,
                           &tally);
    double seconds = (double) (zj_mono_us() - start) / 1e6;
    if (rc)
        s_die("gather", client, rc);
    if (tally.succeeded != (size_t) count) {
        fprintf(stderr, "zjbench: %zu of %ld jobs succeeded\n", tally.succeeded,
                count);
        exit(1);
    }
    free(ids);
    if (tally_p)
        *tally_p = tally;
    return seconds;
}

//  CPU time of every thread of pid so far (utime + stime of
//  /proc/pid/stat, in clock ticks), in ns, or -1.
static double
s_cpu_ns(pid_t pid)
{
    char path[64];
    snprintf(path, sizeof path, "/proc/%d/stat", (int) pid);
    FILE *file = fopen(path, "r");
    if (file == NULL)
        return -1;
    unsigned long utime = 0, stime = 0;
    int fields = fscanf(file,
                        "%*d %*s %*c %*d %*d %*d %*d %*d %*u %*u %*u %*u "
                        "%*u %lu %lu",
                        &utime, &stime);
    fclose(file);
    if (fields != 2)
        return -1;
    return (double) (utime + stime) * 1e9 / (double) sysconf(_SC_CLK_TCK);
}

//  A "Vm...:" line of /proc/pid/status, in MiB, or -1.
static double
s_vm_mib(pid_t pid, const char *field)
{
    char path[64], line[256];
    snprintf(path, sizeof path, "/proc/%d/status", (int) pid);
    FILE *file = fopen(path, "r");
    if (file == NULL)
        return -1;
    double mib = -1;
    size_t length = strlen(field);
    while (fgets(line, sizeof line, file))
        if (strncmp(line, field, length) == 0 && line[length] == ':')
            mib = strtod(line + length + 1, NULL) / 1024.0;
    fclose(file);
    return mib;
}

static void
s_throughput(const s_options_t *options)
{
    zjob_client_t *client = s_connect(options);
    zjob_spec_t *specs = s_specs(options->count, "echo", "\"job-%08ld\"", 0);
    double cpu_before = s_cpu_ns(options->coordinator);
    double seconds = s_submit_gather(client, specs, options->count, NULL);
    double cpu_after = s_cpu_ns(options->coordinator);
    s_result("jobs_per_s", (double) options->count / seconds, "jobs/s");
    if (cpu_before >= 0 && cpu_after >= 0)
        s_result("coordinator_cpu_per_job",
                 (cpu_after - cpu_before) / 1e3 / (double) options->count,
                 "us");
    s_specs_free(specs, options->count);
    zjob_client_destroy(&client);
}

static int
s_compare(const void *left, const void *right)
{
    double a = *(const double *) left, b = *(const double *) right;
    return (a > b) - (a < b);
}

//  One submit-and-await round trip; *submit_us gets the submit's share.
static double
s_round_trip(zjob_client_t *client, zjob_spec_t *spec, double *submit_us)
{
    int64_t id = 0;
    s_tally_t tally = {0};
    int64_t start = zj_mono_us();
    int rc = zjob_client_submit(client, spec, 1, &id);
    int64_t submitted = zj_mono_us();
    if (rc == 0)
        rc = zjob_client_await(client, &id, 1, true, -1, s_count, &tally);
    if (rc || tally.succeeded != 1)
        s_die("round trip", client, rc);
    *submit_us = (double) (submitted - start);
    return (double) (zj_mono_us() - start);
}

static void
s_percentiles(const char *prefix, double *values, size_t count)
{
    static const struct {
        const char *name; //  Metric suffix
        size_t per_mille; //  Rank
    } ranks[] = {{"p50", 500}, {"p99", 990}, {"p999", 999}};
    qsort(values, count, sizeof *values, s_compare);
    for (size_t index = 0; index < 3; index++) {
        char name[32];
        snprintf(name, sizeof name, "%s%s", prefix, ranks[index].name);
        s_result(name, values[(count - 1) * ranks[index].per_mille / 1000],
                 "us");
    }
}

static void
s_latency(const s_options_t *options)
{
    zjob_client_t *client = s_connect(options);
    zjob_spec_t *specs = s_specs(options->count, "echo", "\"job-%08ld\"", 0);
    double *trips = calloc((size_t) options->count, sizeof *trips);
    double *submits = calloc((size_t) options->count, sizeof *submits);
    for (long index = 0; index < options->count; index++)
        trips[index] = s_round_trip(client, &specs[index], &submits[index]);
    s_percentiles("", trips, (size_t) options->count);
    s_percentiles("submit_", submits, (size_t) options->count);
    free(trips);
    free(submits);
    s_specs_free(specs, options->count);
    zjob_client_destroy(&client);
}

//  The same round trips' messaging alone, between stand-ins (floor.c).
static void
s_floor(const s_options_t *options)
{
    double *trips = calloc((size_t) options->count, sizeof *trips);
    if (zj_bench_floor(options->count, trips) != 0)
        exit(1);
    s_percentiles("floor_", trips, (size_t) options->count);
    free(trips);
}

static void
s_io(const s_options_t *options)
{
    zjob_client_t *client = s_connect(options);
    zjob_spec_t *specs =
        s_specs(options->count, "sleep", "{\"seconds\": 1}", 0);
    s_tally_t tally;
    double seconds = s_submit_gather(client, specs, options->count, &tally);
    s_result("wall", seconds, "s");
    s_result("submitted", tally.submitted, "s");
    s_result("first_result", tally.first, "s");
    s_specs_free(specs, options->count);
    zjob_client_destroy(&client);
}

//  The args of one map over count echo items: {"kind": "echo", "items":
//  ["job-00000000", ...]}.
static char *
s_map_args(long count)
{
    size_t size = 64 + (size_t) count * 16;
    char *args = malloc(size);
    size_t used = (size_t) snprintf(args, size,
                                    "{\"kind\": \"echo\", "
                                    "\"items\": [");
    for (long index = 0; index < count; index++)
        used += (size_t) snprintf(args + used, size - used, "%s\"job-%08ld\"",
                                  index ? "," : "", index);
    snprintf(args + used, size - used, "]}");
    return args;
}

//  Fan-out two ways: count echo jobs submitted and gathered by this
//  client, then one map over count echo items, its children submitted
//  and gathered by the worker that runs it.
static void
s_fanout(const s_options_t *options)
{
    zjob_client_t *client = s_connect(options);
    zjob_spec_t *specs = s_specs(options->count, "echo", "\"job-%08ld\"", 0);
    double client_wall = s_submit_gather(client, specs, options->count, NULL);
    s_specs_free(specs, options->count);
    zjob_spec_t map = {.kind = "map", .args = s_map_args(options->count)};
    int64_t start = zj_mono_us();
    int64_t id = 0;
    s_tally_t tally = {.start_us = start};
    int rc = zjob_client_submit(client, &map, 1, &id);
    if (rc == 0)
        rc = zjob_client_await(client, &id, 1, true, -1, s_count, &tally);
    if (rc || tally.succeeded != 1)
        s_die("map", client, rc);
    double map_wall = (double) (zj_mono_us() - start) / 1e6;
    free((char *) map.args);
    s_result("client_wall", client_wall, "s");
    s_result("map_wall", map_wall, "s");
    s_result("map_over_client", map_wall / client_wall, "x");
    zjob_client_destroy(&client);
}

//  The same sha256 code the pool runs, called here in one process.
static double
s_serial_sha256(zjob_spec_t *specs, long count)
{
    int64_t start = zj_mono_us();
    for (long index = 0; index < count; index++) {
        char *result = NULL, *error = NULL;
        if (zj_handler_sha256(NULL, specs[index].args, &result, &error)) {
            fprintf(stderr, "zjbench: serial sha256: %s\n", error);
            exit(1);
        }
        free(result);
    }
    return (double) (zj_mono_us() - start) / 1e6;
}

static void
s_cpu(const s_options_t *options)
{
    zjob_client_t *client = s_connect(options);
    zjob_spec_t *specs =
        s_specs(options->count, "sha256",
                "{\"data\": \"job-%08ld\", \"rounds\": %ld}", options->rounds);
    double pool = s_submit_gather(client, specs, options->count, NULL);
    double serial = s_serial_sha256(specs, options->count);
    s_result("pool_wall", pool, "s");
    s_result("serial_wall", serial, "s");
    s_result("speedup", serial / pool, "x");
    s_specs_free(specs, options->count);
    zjob_client_destroy(&client);
}

//  Submits count echo jobs that nobody runs (no worker), then reports
//  the coordinator's resident memory.
static void
s_queue(const s_options_t *options)
{
    zjob_client_t *client = s_connect(options);
    zjob_spec_t *specs = s_specs(options->count, "echo", "\"job-%08ld\"", 0);
    int64_t *ids = calloc((size_t) options->count, sizeof *ids);
    int64_t start = zj_mono_us();
    int rc = zjob_client_submit(client, specs, (size_t) options->count, ids);
    if (rc)
        s_die("submit", client, rc);
    double seconds = (double) (zj_mono_us() - start) / 1e6;
    s_result("submit_per_s", (double) options->count / seconds, "jobs/s");
    s_result("coordinator_rss", s_vm_mib(options->coordinator, "VmRSS"), "MiB");
    s_result("coordinator_hwm", s_vm_mib(options->coordinator, "VmHWM"), "MiB");
    free(ids);
    s_specs_free(specs, options->count);
    zjob_client_destroy(&client);
}

//  Bytes of path and its -wal, in MiB, or -1.
static double
s_store_mib(const char *path)
{
    char wal[4096];
    snprintf(wal, sizeof wal, "%s-wal", path);
    struct stat file;
    if (path == NULL || stat(path, &file) != 0)
        return -1;
    double bytes = (double) file.st_size;
    if (stat(wal, &file) == 0)
        bytes += (double) file.st_size;
    return bytes / (1024.0 * 1024.0);
}

//  Prints one figure of segment index: "NAME_NN value unit".
static void
s_segment_result(const char *name, long index, double value, const char *unit)
{
    char label[64];
    snprintf(label, sizeof label, "%s_%02ld", name, index);
    s_result(label, value, unit);
}

//  count echo jobs in segments of options->segment, each submitted and
//  gathered in batches of S_SUSTAINED_BATCH (as throughput's: a batch's
//  results are gathered within a second of their end, far inside
//  --keep): per segment, its rate, then the store's size on disk
//  and the coordinator's RSS after it. Then the slowest rate, the spread
//  of the rates, and how much the store and the RSS grew over the second
//  half of the run (retention should have made both flat by then).
static void
s_sustained(const s_options_t *options)
{
    zjob_client_t *client = s_connect(options);
    long segment = options->segment, segments = options->count / segment;
    long batch = segment < S_SUSTAINED_BATCH ? segment : S_SUSTAINED_BATCH;
    zjob_spec_t *specs = s_specs(batch, "echo", "\"job-%08ld\"", 0);
    double low = 0, high = 0, store[2] = {0, 0}, rss[2] = {0, 0};
    double cpu_before = s_cpu_ns(options->coordinator);
    for (long index = 1; index <= segments; index++) {
        double seconds = 0;
        for (long done = 0; done + batch <= segment; done += batch)
            seconds += s_submit_gather(client, specs, batch, NULL);
        double rate = (double) (segment / batch * batch) / seconds;
        double mib = s_store_mib(options->db);
        double resident = s_vm_mib(options->coordinator, "VmRSS");
        s_segment_result("rate", index, rate, "jobs/s");
        s_segment_result("store", index, mib, "MiB");
        s_segment_result("rss", index, resident, "MiB");
        low = index == 1 || rate < low ? rate : low;
        high = index == 1 || rate > high ? rate : high;
        if (index == (segments + 1) / 2)
            store[0] = mib, rss[0] = resident;
        store[1] = mib, rss[1] = resident;
    }
    double cpu_after = s_cpu_ns(options->coordinator);
    s_result("rate_min", low, "jobs/s");
    s_result("rate_spread", (high - low) / high * 100, "%");
    if (cpu_before >= 0 && cpu_after >= 0)
        s_result("coordinator_cpu_per_job",
                 (cpu_after - cpu_before) / 1e3 / (double) (segments * segment),
                 "us");
    if (store[0] > 0 && rss[0] > 0) {
        s_result("store_growth", store[1] / store[0], "x");
        s_result("rss_growth", rss[1] / rss[0], "x");
    }
    s_specs_free(specs, batch);
    zjob_client_destroy(&client);
}

//  Starts the coordinator command argv and times how long until it
//  commits a submit; then stops it.
static void
s_recovery(const s_options_t *options, char **argv)
{
    int64_t start = zj_mono_us();
    pid_t pid = fork();
    if (pid == 0) {
        execv(argv[0], argv);
        _exit(127);
    }
    zjob_client_t *client = s_connect(options);
    zjob_client_set_timeouts(client, 100, 100);
    zjob_spec_t spec = {.kind = "echo", .args = "\"ready\""};
    int64_t id = 0;
    int rc;
    while ((rc = zjob_client_submit(client, &spec, 1, &id)) != 0) {
        if (waitpid(pid, NULL, WNOHANG) == pid)
            s_die("the coordinator exited", client, rc);
        if (zj_mono_us() - start > 60 * 1000000)
            s_die("no submit served within 60 s", client, rc);
    }
    s_result("first_submit", (double) (zj_mono_us() - start) / 1e6, "s");
    s_result("coordinator_rss", s_vm_mib(pid, "VmRSS"), "MiB");
    kill(pid, SIGTERM);
    waitpid(pid, NULL, 0);
    zjob_client_destroy(&client);
}

static const char s_usage[] =
    "usage: zjbench -c ENDPOINT [-n JOBS] [-r ROUNDS] [-p COORDINATOR_PID]\n"
    "               throughput|latency|io|cpu|queue|fanout\n"
    "       zjbench -c ENDPOINT -n JOBS -s SEGMENT -p PID -d DB sustained\n"
    "       zjbench [-n TRIPS] floor\n"
    "       zjbench -c ENDPOINT recovery COORDINATOR_PATH ARGS...\n";

int
main(int argc, char **argv)
{
    s_options_t options = {NULL, 1000, 200000, 0, 500000, NULL};
    int option;
    while ((option = getopt(argc, argv, "+c:n:r:p:s:d:")) != -1) {
        switch (option) {
        case 'c':
            options.endpoint = optarg;
            break;
        case 'n':
            options.count = atol(optarg);
            break;
        case 'r':
            options.rounds = atol(optarg);
            break;
        case 'p':
            options.coordinator = (pid_t) atoi(optarg);
            break;
        case 's':
            options.segment = atol(optarg);
            break;
        case 'd':
            options.db = optarg;
            break;
        default:
            fputs(s_usage, stderr);
            return 2;
        }
    }
    if (optind >= argc || options.count < 1 || options.segment < 1) {
        fputs(s_usage, stderr);
        return 2;
    }
    const char *workload = argv[optind];
    if (strcmp(workload, "floor") == 0)
        s_floor(&options);
    else if (options.endpoint == NULL) {
        fputs(s_usage, stderr);
        return 2;
    } else if (strcmp(workload, "throughput") == 0)
        s_throughput(&options);
    else if (strcmp(workload, "latency") == 0)
        s_latency(&options);
    else if (strcmp(workload, "io") == 0)
        s_io(&options);
    else if (strcmp(workload, "cpu") == 0)
        s_cpu(&options);
    else if (strcmp(workload, "queue") == 0)
        s_queue(&options);
    else if (strcmp(workload, "fanout") == 0)
        s_fanout(&options);
    else if (strcmp(workload, "sustained") == 0)
        s_sustained(&options);
    else if (strcmp(workload, "recovery") == 0 && optind + 1 < argc)
        s_recovery(&options, argv + optind + 1);
    else {
        fputs(s_usage, stderr);
        return 2;
    }
    return 0;
}
