//  floor.c - the messaging floor under zjbench's latency workload. A job's
//  round trip crosses four ZeroMQ hops: client -> coordinator -> worker ->
//  coordinator -> client. Here the same four hops run between three
//  processes over tcp on loopback, ROUTER and DEALER as in zjob, with no
//  work at any stop: no store, no codec, no coroutine. What zjob adds to
//  a round trip is its own figure less this one, on the same machine in
//  the same run.
#include <czmq.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>

#include "bench/floor.h"
#include "common/duration.h"

#define S_WARMUP 100    //  Round trips before timing starts
#define S_PAYLOAD 96    //  Bytes, about an echo job's SUBMIT frame
#define S_REPLY_MS 5000 //  A hop that takes longer is a failure

//  The coordinator's stand-in: what comes from the client goes to the
//  worker, what comes from the worker goes to the last client.
static void
s_relay(int report_fd)
{
    zsock_t *clients = zsock_new(ZMQ_ROUTER);
    zsock_t *workers = zsock_new(ZMQ_ROUTER);
    int ports[2] = {zsock_bind(clients, "tcp://127.0.0.1:*"),
                    zsock_bind(workers, "tcp://127.0.0.1:*")};
    if (ports[0] <= 0 || ports[1] <= 0 ||
        write(report_fd, ports, sizeof ports) != sizeof ports)
        _exit(1);
    close(report_fd);
    //  The worker's hello comes first; clients wait in their queue.
    zmsg_t *hello = zmsg_recv(workers);
    zframe_t *worker = hello ? zmsg_pop(hello) : NULL;
    zmsg_destroy(&hello);
    zframe_t *client = NULL;
    zpoller_t *poller = zpoller_new(clients, workers, NULL);
    void *ready;
    while ((ready = zpoller_wait(poller, -1))) {
        zmsg_t *msg = zmsg_recv(ready);
        zframe_t *from = zmsg_pop(msg);
        zframe_t **peer = ready == workers ? &worker : &client;
        zframe_destroy(peer);
        *peer = from;
        zframe_t *to = ready == workers ? client : worker;
        if (to && zmsg_size(msg) > 0) {
            zmsg_pushmem(msg, zframe_data(to), zframe_size(to));
            zmsg_send(&msg, ready == workers ? clients : workers);
        }
        zmsg_destroy(&msg);
    }
    _exit(0);
}

//  The worker's stand-in: says hello, then sends every message back.
static void
s_echo(int port)
{
    zsock_t *socket = zsock_new(ZMQ_DEALER);
    if (zsock_connect(socket, "tcp://127.0.0.1:%d", port) != 0)
        _exit(1);
    zstr_send(socket, "hello");
    zmsg_t *msg;
    while ((msg = zmsg_recv(socket)))
        zmsg_send(&msg, socket);
    _exit(0);
}

//  Forks a child that dies with us and runs role(arg); returns its pid.
static pid_t
s_spawn(void (*role)(int), int arg, int close_fd)
{
    pid_t pid = fork();
    if (pid == 0) {
        prctl(PR_SET_PDEATHSIG, SIGTERM);
        if (close_fd >= 0)
            close(close_fd);
        role(arg);
    }
    return pid;
}

static int
s_time_trips(int port, long count, double *trips)
{
    zsock_t *socket = zsock_new(ZMQ_DEALER);
    if (zsock_connect(socket, "tcp://127.0.0.1:%d", port) != 0) {
        zsock_destroy(&socket);
        return -1;
    }
    zsock_set_rcvtimeo(socket, S_REPLY_MS);
    char payload[S_PAYLOAD];
    memset(payload, 'j', sizeof payload);
    int rc = 0;
    for (long trip = -S_WARMUP; trip < count && rc == 0; trip++) {
        int64_t start = zj_mono_us();
        zframe_t *frame = zframe_new(payload, sizeof payload);
        zframe_send(&frame, socket, 0);
        frame = zframe_recv(socket);
        if (frame == NULL)
            rc = -1;
        else if (trip >= 0)
            trips[trip] = (double) (zj_mono_us() - start);
        zframe_destroy(&frame);
    }
    zsock_destroy(&socket);
    return rc;
}

int
zj_bench_floor(long count, double *trips)
{
    int report[2];
    if (pipe(report) != 0)
        return -1;
    pid_t relay = s_spawn(s_relay, report[1], report[0]);
    close(report[1]);
    int ports[2] = {0, 0};
    ssize_t got = relay > 0 ? read(report[0], ports, sizeof ports) : -1;
    close(report[0]);
    pid_t echo = got == sizeof ports ? s_spawn(s_echo, ports[1], -1) : -1;
    int rc = echo > 0 ? s_time_trips(ports[0], count, trips) : -1;
    if (rc != 0)
        fprintf(stderr, "zjbench: floor: the relay did not answer\n");
    //  SIGKILL: czmq's handler turns SIGTERM into a flag that a child
    //  busy between two calls misses, and it then blocks for ever.
    pid_t children[] = {relay, echo};
    for (size_t index = 0; index < 2; index++)
        if (children[index] > 0) {
            kill(children[index], SIGKILL);
            waitpid(children[index], NULL, 0);
        }
    return rc;
}
