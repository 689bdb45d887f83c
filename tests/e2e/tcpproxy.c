//  tcpproxy.c - a TCP forwarder for zjob's fault tests, on poll(2).
//  usage: tcpproxy PORTFILE TARGET_PORT. Binds 127.0.0.1 on a free port,
//  writes the port to PORTFILE (through PORTFILE.tmp and a rename) and
//  forwards every connection it accepts to 127.0.0.1:TARGET_PORT, both
//  ways, passing each side's FIN on once its bytes are through.
//  SIGUSR1 cuts the link: every connection is reset on both sides at once
//  and new ones are accepted and closed straight away. SIGHUP holds the
//  link one way: what the clients send is no longer read (it waits in
//  the kernel), while what the target sends still reaches them. SIGUSR2
//  restores the link from either. SIGTERM or SIGINT: closes everything
//  and exits 0.
//  Memory is bounded: PROXY_MAX_PAIRS connections, each with two buffers
//  of PROXY_BUFFER_SIZE; a side is not read while its buffer is full.
//  One line per event on stderr.
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define PROXY_MAX_PAIRS 64            //  Connections forwarded at once
#define PROXY_BUFFER_SIZE (64 * 1024) //  Bytes buffered per direction
#define PROXY_ACCEPTS_PER_TURN 16     //  Connections accepted per wake-up

//  Bytes going one way: read from one side, not yet written to the other.
typedef struct {
    char data[PROXY_BUFFER_SIZE]; //  The bytes, from offset 0
    size_t size;                  //  Bytes in data
    bool eof;                     //  The reading side sent its FIN
    bool shut;                    //  That FIN was passed on
} flow_t;

//  One accepted connection and its connection to the target.
typedef struct {
    int id;          //  For the log, counting from 1
    int fds[2];      //  [0] the accepted client, [1] towards the target
    bool connecting; //  fds[1]'s connect has not completed yet
    flow_t flows[2]; //  flows[side]: read from fds[side], to the other
} pair_t;

//  The proxy: its listener and the pairs it forwards.
typedef struct {
    int listener;                   //  Bound to 127.0.0.1, non-blocking
    int target_port;                //  Where connections are forwarded
    bool cut;                       //  SIGUSR1 came and no SIGUSR2 since
    bool held;                      //  SIGHUP came and no SIGUSR2 since
    int next_id;                    //  Id of the next connection accepted
    pair_t *pairs[PROXY_MAX_PAIRS]; //  Slots; NULL when free
    struct pollfd polls[1 + 2 * PROXY_MAX_PAIRS]; //  This turn's poll set
    int poll_slots[1 + 2 * PROXY_MAX_PAIRS];      //  Pair slot of polls[n]
} proxy_t;

static volatile sig_atomic_t s_cut_requested;     //  SIGUSR1 came
static volatile sig_atomic_t s_hold_requested;    //  SIGHUP came
static volatile sig_atomic_t s_restore_requested; //  SIGUSR2 came
static volatile sig_atomic_t s_stop_requested;    //  SIGTERM or SIGINT came

static void
s_log(const char *format, ...)
{
    struct timespec now;
    clock_gettime(CLOCK_REALTIME, &now);
    struct tm local;
    localtime_r(&now.tv_sec, &local);
    char stamp[32];
    strftime(stamp, sizeof(stamp), "%H:%M:%S", &local);
    char line[512];
    va_list args;
    va_start(args, format);
    vsnprintf(line, sizeof(line), format, args);
    va_end(args);
    fprintf(stderr, "tcpproxy %s.%03ld %s\n", stamp, now.tv_nsec / 1000000,
            line);
}

static void
s_on_signal(int signum)
{
    if (signum == SIGUSR1)
        s_cut_requested = 1;
    else if (signum == SIGHUP)
        s_hold_requested = 1;
    else if (signum == SIGUSR2)
        s_restore_requested = 1;
    else
        s_stop_requested = 1;
}

//  Blocks the signals we act on outside ppoll; sets *wait_mask to the
//  mask ppoll runs with, under which they are delivered.
static void
s_signals_init(sigset_t *wait_mask)
{
    signal(SIGPIPE, SIG_IGN);
    struct sigaction action;
    memset(&action, 0, sizeof(action));
    action.sa_handler = s_on_signal;
    sigemptyset(&action.sa_mask);
    int signums[] = {SIGUSR1, SIGHUP, SIGUSR2, SIGTERM, SIGINT};
    sigset_t blocked;
    sigemptyset(&blocked);
    for (size_t index = 0; index < sizeof(signums) / sizeof(*signums);
         index++) {
        sigaction(signums[index], &action, NULL);
        sigaddset(&blocked, signums[index]);
    }
    sigprocmask(SIG_BLOCK, &blocked, wait_mask);
    for (size_t index = 0; index < sizeof(signums) / sizeof(*signums); index++)
        sigdelset(wait_mask, signums[index]);
}

//  --- pairs ----------------------------------------------------------------

//  Closes both sides and frees the pair. abort resets them (RST) instead
//  of ending them with a FIN.
static void
s_pair_close(proxy_t *self, int slot, bool abort, const char *reason)
{
    pair_t *pair = self->pairs[slot];
    for (int side = 0; side < 2; side++) {
        if (abort) {
            struct linger linger = {.l_onoff = 1, .l_linger = 0};
            setsockopt(pair->fds[side], SOL_SOCKET, SO_LINGER, &linger,
                       sizeof(linger));
        }
        close(pair->fds[side]);
    }
    s_log("closed conn=%d reason=\"%s\" pending=%zu,%zu", pair->id, reason,
          pair->flows[0].size, pair->flows[1].size);
    free(pair);
    self->pairs[slot] = NULL;
}

//  Returns a non-blocking socket connecting to the target, or -1.
static int
s_connect_target(int port)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -1;
    struct sockaddr_in address = {.sin_family = AF_INET,
                                  .sin_port = htons((uint16_t) port)};
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (connect(fd, (struct sockaddr *) &address, sizeof(address)) < 0 &&
        errno != EINPROGRESS) {
        close(fd);
        return -1;
    }
    return fd;
}

//  Takes one accepted client: forwards it, or closes it if the link is
//  cut or no slot is free.
static void
s_pair_open(proxy_t *self, int client)
{
    int id = self->next_id++;
    int slot = 0;
    while (slot < PROXY_MAX_PAIRS && self->pairs[slot])
        slot++;
    const char *refusal = self->cut                 ? "link cut"
                          : slot == PROXY_MAX_PAIRS ? "too many connections"
                                                    : NULL;
    pair_t *pair = refusal ? NULL : calloc(1, sizeof(pair_t));
    int target = pair ? s_connect_target(self->target_port) : -1;
    if (target < 0) {
        s_log("refused conn=%d reason=\"%s\"", id,
              refusal ? refusal : strerror(errno));
        close(client);
        free(pair);
        return;
    }
    pair->id = id;
    pair->fds[0] = client;
    pair->fds[1] = target;
    pair->connecting = true;
    self->pairs[slot] = pair;
    s_log("accepted conn=%d", id);
}

//  Writes what flows towards side, from the other side's buffer.
//  Returns false if the pair must close.
static bool
s_pair_write(pair_t *pair, int side)
{
    flow_t *flow = &pair->flows[1 - side];
    if (flow->size == 0)
        return true;
    ssize_t sent = send(pair->fds[side], flow->data, flow->size,
                        MSG_NOSIGNAL | MSG_DONTWAIT);
    if (sent < 0)
        return errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR;
    flow->size -= (size_t) sent;
    memmove(flow->data, flow->data + sent, flow->size);
    return true;
}

//  Reads from side into its buffer while there is room. Returns false if
//  the pair must close.
static bool
s_pair_read(pair_t *pair, int side)
{
    flow_t *flow = &pair->flows[side];
    if (flow->eof || flow->size == PROXY_BUFFER_SIZE)
        return true;
    ssize_t got = recv(pair->fds[side], flow->data + flow->size,
                       PROXY_BUFFER_SIZE - flow->size, MSG_DONTWAIT);
    if (got < 0)
        return errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR;
    if (got == 0)
        flow->eof = true;
    flow->size += (size_t) got;
    return true;
}

//  Passes each FIN on once the bytes before it are through. Returns true
//  once both ways have ended.
static bool
s_pair_pass_eof(pair_t *pair)
{
    for (int side = 0; side < 2; side++) {
        flow_t *flow = &pair->flows[side];
        if (flow->eof && flow->size == 0 && !flow->shut) {
            shutdown(pair->fds[1 - side], SHUT_WR);
            flow->shut = true;
        }
    }
    return pair->flows[0].shut && pair->flows[1].shut;
}

//  Acts on what poll reported for one side of the pair in slot.
static void
s_pair_serve(proxy_t *self, int slot, int side, short revents)
{
    pair_t *pair = self->pairs[slot];
    if (side == 1 && pair->connecting) {
        int error = 0;
        socklen_t size = sizeof(error);
        getsockopt(pair->fds[1], SOL_SOCKET, SO_ERROR, &error, &size);
        if (error) {
            s_pair_close(self, slot, false, strerror(error));
            return;
        }
        pair->connecting = false;
        s_log("connected conn=%d target=%d", pair->id, self->target_port);
        return;
    }
    if (revents & POLLERR) {
        s_pair_close(self, slot, true, side ? "target error" : "client error");
        return;
    }
    bool alive = true;
    if ((revents & (POLLIN | POLLHUP)) && !(side == 0 && self->held))
        alive = s_pair_read(pair, side);
    if (alive && (revents & POLLOUT))
        alive = s_pair_write(pair, side);
    if (!alive)
        s_pair_close(self, slot, true, strerror(errno));
    else if (s_pair_pass_eof(pair))
        s_pair_close(self, slot, false, "both ended");
}

//  What to poll for on one side of a pair; 0 for nothing. A held client
//  side is not read.
static short
s_pair_events(const pair_t *pair, int side, bool held)
{
    if (pair->connecting)
        return side == 1 ? POLLOUT : 0;
    short events = 0;
    const flow_t *in = &pair->flows[side];
    if (!in->eof && in->size < PROXY_BUFFER_SIZE && !(side == 0 && held))
        events |= POLLIN;
    if (pair->flows[1 - side].size > 0)
        events |= POLLOUT;
    return events;
}

//  --- the proxy ------------------------------------------------------------

static void
s_cut(proxy_t *self)
{
    int closed = 0;
    for (int slot = 0; slot < PROXY_MAX_PAIRS; slot++)
        if (self->pairs[slot]) {
            s_pair_close(self, slot, true, "link cut");
            closed++;
        }
    self->cut = true;
    s_log("cut closed=%d", closed);
}

static void
s_hold(proxy_t *self)
{
    int held = 0;
    for (int slot = 0; slot < PROXY_MAX_PAIRS; slot++)
        if (self->pairs[slot])
            held++;
    self->held = true;
    s_log("held conns=%d", held);
}

static void
s_accept(proxy_t *self)
{
    for (int count = 0; count < PROXY_ACCEPTS_PER_TURN; count++) {
        int client =
            accept4(self->listener, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (client < 0) {
            if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
                s_log("accept failed error=\"%s\"", strerror(errno));
            return;
        }
        s_pair_open(self, client);
    }
}

//  Fills the poll set; returns its size.
static int
s_poll_set(proxy_t *self)
{
    int count = 0;
    self->polls[count] =
        (struct pollfd){.fd = self->listener, .events = POLLIN};
    self->poll_slots[count++] = -1;
    for (int slot = 0; slot < PROXY_MAX_PAIRS; slot++) {
        pair_t *pair = self->pairs[slot];
        if (pair == NULL)
            continue;
        for (int side = 0; side < 2; side++) {
            short events = s_pair_events(pair, side, self->held);
            //  A negative fd is skipped: no spinning on a HUP we ignore.
            self->polls[count] = (struct pollfd){
                .fd = events ? pair->fds[side] : -1, .events = events};
            self->poll_slots[count++] = slot;
        }
    }
    return count;
}

//  Serves the pairs first, then the listener, so a slot freed and taken
//  again in the same turn is not served with the old pair's events.
static void
s_serve(proxy_t *self, int count)
{
    for (int index = 1; index < count; index++) {
        int slot = self->poll_slots[index];
        short revents = self->polls[index].revents;
        if (revents && self->pairs[slot])
            s_pair_serve(self, slot, (index - 1) % 2, revents);
    }
    if (self->polls[0].revents & POLLIN)
        s_accept(self);
}

static int
s_run(proxy_t *self, const sigset_t *wait_mask)
{
    while (!s_stop_requested) {
        if (s_cut_requested) {
            s_cut_requested = 0;
            s_cut(self);
        }
        if (s_hold_requested) {
            s_hold_requested = 0;
            s_hold(self);
        }
        if (s_restore_requested) {
            s_restore_requested = 0;
            self->cut = false;
            self->held = false;
            s_log("restored");
        }
        int count = s_poll_set(self);
        if (ppoll(self->polls, (nfds_t) count, NULL, wait_mask) < 0) {
            if (errno == EINTR)
                continue;
            s_log("poll failed error=\"%s\"", strerror(errno));
            return 1;
        }
        s_serve(self, count);
    }
    for (int slot = 0; slot < PROXY_MAX_PAIRS; slot++)
        if (self->pairs[slot])
            s_pair_close(self, slot, false, "stopping");
    s_log("stopped");
    return 0;
}

//  Binds 127.0.0.1 on a free port and writes it to portfile. Returns the
//  listening socket, or -1.
static int
s_listen(const char *portfile)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    struct sockaddr_in address = {.sin_family = AF_INET, .sin_port = 0};
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t size = sizeof(address);
    if (fd < 0 || bind(fd, (struct sockaddr *) &address, size) < 0 ||
        listen(fd, 64) < 0 ||
        getsockname(fd, (struct sockaddr *) &address, &size) < 0) {
        s_log("cannot listen error=\"%s\"", strerror(errno));
        if (fd >= 0)
            close(fd);
        return -1;
    }
    char temporary[4096];
    snprintf(temporary, sizeof(temporary), "%s.tmp", portfile);
    FILE *file = fopen(temporary, "w");
    if (file == NULL || fprintf(file, "%d\n", ntohs(address.sin_port)) < 0 ||
        fclose(file) != 0 || rename(temporary, portfile) != 0) {
        s_log("cannot write portfile=%s error=\"%s\"", portfile,
              strerror(errno));
        close(fd);
        return -1;
    }
    return fd;
}

int
main(int argc, char **argv)
{
    char *end = NULL;
    long target = argc == 3 ? strtol(argv[2], &end, 10) : 0;
    if (argc != 3 || *end || target < 1 || target > 65535) {
        fprintf(stderr, "usage: tcpproxy PORTFILE TARGET_PORT\n");
        return 2;
    }
    sigset_t wait_mask;
    s_signals_init(&wait_mask);
    static proxy_t proxy;
    proxy.target_port = (int) target;
    proxy.next_id = 1;
    proxy.listener = s_listen(argv[1]);
    if (proxy.listener < 0)
        return 1;
    s_log("listening portfile=%s target=%d", argv[1], proxy.target_port);
    int rc = s_run(&proxy, &wait_mask);
    close(proxy.listener);
    return rc;
}
