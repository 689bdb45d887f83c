//  zjob_internal.h - what the files of libzjob share: the client struct,
//  the connection under every call (zjob_wire.c), pipelined immediate
//  requests (zjob_exchange.c) and the public view of a job record
//  (zjob_records.c). Private to client/zjob*.c; never installed.
#ifndef ZJ_ZJOB_INTERNAL_H
#define ZJ_ZJOB_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "proto/limits.h"
#include "proto/msg.h"
#include "zjob/zjob.h"

struct zjob_client {
    void *context;         //  ZeroMQ context owned by this client
    void *socket;          //  DEALER connected to the coordinator
    void *monitor;         //  PAIR receiving the socket's link events
    char *endpoint;        //  Where socket connects
    int64_t reply_ms;      //  Wait for an immediate reply (and relinks)
    int64_t send_ms;       //  How long a send may block
    size_t batch;          //  Most jobs per SUBMIT
    uint64_t last_req;     //  Last request id used
    bool link_lost;        //  Link dropped and not yet back
    int64_t lost_at;       //  Monotonic ms when it dropped
    bool relinked;         //  Link came back since the last look
    char why[ZJ_WHY_SIZE]; //  Reason for the last failure, "" after success
    zjob_tick_fn *tick_fn; //  Called while an await idles, or NULL
    void *tick_arg;        //  Its argument
    int64_t tick_ms;       //  Its period
};

//  Writes a one-line reason (printf format) into self->why and returns
//  code, so that a failure reads `return zj_client_fail(self, ...)`.
int zj_client_fail(zjob_client_t *self, int code, const char *format, ...)
    __attribute__((format(printf, 3, 4)));

//  Starts a public call: clears the last reason and forgets link events
//  that happened between calls.
void zj_client_begin(zjob_client_t *self);

//  Ends a public call: returns rc, and clears the reason if rc is 0 (a
//  stale frame may have left one).
int zj_client_end(zjob_client_t *self, int rc);

//  Encodes and sends *msg_p. Takes ownership in all cases: *msg_p is
//  destroyed and NULL afterwards. Returns 0, ZJ_EUNREACH when no
//  connection takes the frame within send_ms, ZJ_ECANCELLED on a signal,
//  ZJ_ESEND, or the encoder's code; the reason is in self->why.
int zj_client_send(zjob_client_t *self, zj_msg_t **msg_p);

//  Waits until deadline (monotonic ms, < 0 for ever) for a frame or a
//  change of link state (self->link_lost, self->relinked). Returns 0 with
//  *msg_p set for a frame (caller owns), 0 with *msg_p NULL for a link
//  change, ZJ_ETIMEOUT at the deadline, ZJ_ECANCELLED on a signal, ZJ_ESYS,
//  or a decode error (then *req_p holds the bad frame's req if it had
//  one, so that the caller can tell whose reply went wrong).
int zj_client_next(zjob_client_t *self, int64_t deadline, zj_msg_t **msg_p,
                   uint64_t *req_p);

//  Returns the code an ERROR reply carries (ZJ_EPROTO if it is not one
//  of ours) and keeps its reason in self->why. Borrows reply.
int zj_client_error_reply(zjob_client_t *self, const zj_msg_t *reply);

//  Builds request number index of an exchange (caller owns the result;
//  req is filled in by the exchange). Never NULL.
typedef zj_msg_t *(zj_client_build_fn) (void *arg, size_t index);

//  Takes the reply to request number index (borrowed for the call).
//  Returns 0, or a code that fails the exchange.
typedef int(zj_client_handle_fn)(void *arg, size_t index,
                                 const zj_msg_t *reply);

//  Sends count requests made by build, a few in flight at once, and
//  passes each matching reply of reply_type to handle; an ERROR reply or
//  another type fails the exchange. After the first error it sends
//  nothing new but still collects the replies in flight. Each reply must
//  come within self->reply_ms of the last send or reply (else
//  ZJ_EUNREACH). Returns 0 or the first error; the reason is in
//  self->why.
int zj_client_exchange(zjob_client_t *self, size_t count,
                       zj_msg_type_t reply_type, zj_client_build_fn *build,
                       zj_client_handle_fn *handle, void *arg);

//  Fills the public view of job. The view borrows job's strings and is
//  valid while job is unchanged.
void zj_client_job_view(const zj_job_t *job, zjob_job_t *view);

#endif
