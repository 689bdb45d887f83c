//  gearman.c - gearmand's side of `make bench PEERS=1`: the same two
//  workloads zjbench runs (throughput and latency), through libgearman
//  against a gearmand that bench/run started in memory on loopback. One
//  binary plays both parts: `worker` serves the "echo" function, the other
//  modes are the client. Each client mode prints "RESULT name value unit"
//  lines, timed by its own monotonic clock, as zjbench does, so that
//  bench/table puts the two side by side.
//
//  What is measured, for the comparison to be fair:
//  - throughput: count "echo" jobs added as foreground tasks, then run
//    all at once (libgearman pipelines them); the clock runs from the
//    first add to the last result (gearmand keeps nothing on disk);
//  - latency: count sequential gearman_client_do round trips of one
//    "echo" job each, after one that is not counted (the connection).
#include <arpa/inet.h>
#include <libgearman/gearman.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define S_FUNCTION "echo"   //  The one function: returns its workload
#define S_TIMEOUT_MS 600000 //  A client call gives up after this
#define S_READY_MS 30000    //  ready gives up after this
#define S_ARG_SIZE 24       //  Bytes of one job's workload, with NUL

typedef struct {
    const char *host; //  -H: gearmand's address
    in_port_t port;   //  -p: its port
    long count;       //  -n: jobs, round trips or workers
} s_options_t;

static double
s_now(void)
{
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return (double) now.tv_sec + (double) now.tv_nsec / 1e9;
}

static void
s_result(const char *name, double value, const char *unit)
{
    printf("RESULT %s %.6g %s\n", name, value, unit);
    fflush(stdout);
}

static void
s_die(const char *what, const char *detail)
{
    fprintf(stderr, "gearman-bench: %s: %s\n", what, detail ? detail : "");
    exit(1);
}

//  The echo function: a copy of the job's workload (libgearman frees it).
static void *
s_echo(gearman_job_st *job, void *arg, size_t *size, gearman_return_t *ret)
{
    (void) arg;
    size_t length = gearman_job_workload_size(job);
    char *copy = malloc(length ? length : 1);
    if (copy == NULL) {
        *ret = GEARMAN_MEMORY_ALLOCATION_FAILURE;
        return NULL;
    }
    memcpy(copy, gearman_job_workload(job), length);
    *size = length;
    *ret = GEARMAN_SUCCESS;
    return copy;
}

//  worker: one connection serving echo until the process is killed.
static void
s_worker(const s_options_t *options)
{
    gearman_worker_st *worker = gearman_worker_create(NULL);
    if (worker == NULL)
        s_die("worker", "cannot create");
    if (gearman_failed(
            gearman_worker_add_server(worker, options->host, options->port)) ||
        gearman_failed(
            gearman_worker_add_function(worker, S_FUNCTION, 0, s_echo, NULL)))
        s_die("worker", gearman_worker_error(worker));
    while (true) {
        gearman_return_t rc = gearman_worker_work(worker);
        if (gearman_failed(rc)) {
            fprintf(stderr, "gearman-bench: worker: %s\n",
                    gearman_worker_error(worker));
            sleep(1);
        }
    }
}

static gearman_client_st *
s_client(const s_options_t *options)
{
    gearman_client_st *client = gearman_client_create(NULL);
    if (client == NULL)
        s_die("client", "cannot create");
    if (gearman_failed(
            gearman_client_add_server(client, options->host, options->port)))
        s_die("client", gearman_client_error(client));
    gearman_client_set_timeout(client, S_TIMEOUT_MS);
    return client;
}

static gearman_return_t
s_on_complete(gearman_task_st *task)
{
    long *completed = gearman_task_context(task);
    (*completed)++;
    return GEARMAN_SUCCESS;
}

//  throughput: count tasks added, then run together to the last result.
static void
s_throughput(const s_options_t *options)
{
    gearman_client_st *client = s_client(options);
    gearman_client_add_options(client, GEARMAN_CLIENT_FREE_TASKS);
    gearman_client_set_complete_fn(client, s_on_complete);
    char(*args)[S_ARG_SIZE] = calloc((size_t) options->count, S_ARG_SIZE);
    if (args == NULL)
        s_die("throughput", "out of memory");
    long completed = 0;
    double start = s_now();
    for (long index = 0; index < options->count; index++) {
        int length = snprintf(args[index], S_ARG_SIZE, "job-%08ld", index);
        gearman_return_t rc;
        if (gearman_client_add_task(client, NULL, &completed, S_FUNCTION, NULL,
                                    args[index], (size_t) length,
                                    &rc) == NULL ||
            gearman_failed(rc))
            s_die("add task", gearman_client_error(client));
    }
    if (gearman_failed(gearman_client_run_tasks(client)))
        s_die("run tasks", gearman_client_error(client));
    double wall = s_now() - start;
    if (completed != options->count) {
        fprintf(stderr, "gearman-bench: %ld of %ld jobs completed\n", completed,
                options->count);
        exit(1);
    }
    s_result("wall", wall, "s");
    s_result("rate", (double) options->count / wall, "jobs/s");
    free(args);
    gearman_client_free(client);
}

static int
s_compare(const void *left, const void *right)
{
    double a = *(const double *) left, b = *(const double *) right;
    return a < b ? -1 : a > b;
}

//  One echo round trip of arg; its result must be arg.
static void
s_round_trip(gearman_client_st *client, const char *arg)
{
    size_t length = strlen(arg), size = 0;
    gearman_return_t rc;
    void *result =
        gearman_client_do(client, S_FUNCTION, NULL, arg, length, &size, &rc);
    if (gearman_failed(rc) || size != length)
        s_die("round trip", gearman_client_error(client));
    free(result);
}

//  latency: count sequential round trips; p50 and p99 in microseconds.
static void
s_latency(const s_options_t *options)
{
    gearman_client_st *client = s_client(options);
    double *samples = calloc((size_t) options->count, sizeof *samples);
    if (samples == NULL)
        s_die("latency", "out of memory");
    s_round_trip(client, "warm-up");
    for (long index = 0; index < options->count; index++) {
        char arg[S_ARG_SIZE];
        snprintf(arg, sizeof arg, "job-%08ld", index);
        double start = s_now();
        s_round_trip(client, arg);
        samples[index] = (s_now() - start) * 1e6;
    }
    qsort(samples, (size_t) options->count, sizeof *samples, s_compare);
    //  The ranks zjbench takes, so the two p50s and p99s compare.
    size_t last = (size_t) options->count - 1;
    s_result("p50", samples[last * 500 / 1000], "us");
    s_result("p99", samples[last * 990 / 1000], "us");
    free(samples);
    gearman_client_free(client);
}

//  Workers gearmand counts for echo, from its text admin command
//  "status" (lines "function TAB total TAB running TAB workers", then
//  "."). Returns -1 when gearmand cannot be asked.
static long
s_workers_of_echo(const s_options_t *options)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in address = {.sin_family = AF_INET,
                                  .sin_port = htons(options->port)};
    if (fd < 0 || inet_pton(AF_INET, options->host, &address.sin_addr) != 1 ||
        connect(fd, (struct sockaddr *) &address, sizeof address) != 0 ||
        write(fd, "status\n", 7) != 7) {
        if (fd >= 0)
            close(fd);
        return -1;
    }
    char reply[65536];
    size_t size = 0;
    while (size < sizeof reply - 1) {
        ssize_t got = read(fd, reply + size, sizeof reply - 1 - size);
        if (got <= 0)
            break;
        size += (size_t) got;
        reply[size] = '\0';
        if (strcmp(reply, ".\n") == 0 || strstr(reply, "\n.\n"))
            break;
    }
    close(fd);
    reply[size] = '\0';
    long workers = 0;
    for (char *line = strtok(reply, "\n"); line; line = strtok(NULL, "\n")) {
        long total, running, count;
        char name[64];
        if (sscanf(line, "%63[^\t]\t%ld\t%ld\t%ld", name, &total, &running,
                   &count) == 4 &&
            strcmp(name, S_FUNCTION) == 0)
            workers = count;
    }
    return workers;
}

//  ready: waits until count workers serve echo.
static void
s_ready(const s_options_t *options)
{
    double deadline = s_now() + S_READY_MS / 1000.0;
    long workers;
    while ((workers = s_workers_of_echo(options)) < options->count) {
        if (s_now() > deadline) {
            fprintf(stderr, "gearman-bench: %ld of %ld workers after %d ms\n",
                    workers, options->count, S_READY_MS);
            exit(1);
        }
        usleep(50000);
    }
}

static const char s_usage[] =
    "usage: gearman-bench -p PORT [-H HOST] [-n COUNT] MODE\n"
    "  worker      serve \"echo\" until killed\n"
    "  ready       wait until COUNT workers serve it\n"
    "  throughput  COUNT echo jobs at once: wall, rate\n"
    "  latency     COUNT sequential echo round trips: p50, p99\n";

int
main(int argc, char **argv)
{
    s_options_t options = {.host = "127.0.0.1", .count = 1};
    int option;
    while ((option = getopt(argc, argv, "H:p:n:")) != -1) {
        switch (option) {
        case 'H':
            options.host = optarg;
            break;
        case 'p':
            options.port = (in_port_t) atoi(optarg);
            break;
        case 'n':
            options.count = atol(optarg);
            break;
        default:
            fputs(s_usage, stderr);
            return 2;
        }
    }
    if (optind != argc - 1 || options.port == 0 || options.count < 1) {
        fputs(s_usage, stderr);
        return 2;
    }
    const char *mode = argv[optind];
    if (strcmp(mode, "worker") == 0)
        s_worker(&options);
    else if (strcmp(mode, "ready") == 0)
        s_ready(&options);
    else if (strcmp(mode, "throughput") == 0)
        s_throughput(&options);
    else if (strcmp(mode, "latency") == 0)
        s_latency(&options);
    else {
        fputs(s_usage, stderr);
        return 2;
    }
    return 0;
}
