//  zjob_exchange.c - libzjob's immediate requests (SUBMIT, STATUS, LIST,
//  WORKERS, CANCEL), pipelined: up to S_WINDOW in flight, each reply
//  matched to its request by req (a reply in parts, by each of them),
//  stale replies dropped. Used by
//  zjob_submit.c and zjob_records.c.
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "client/zjob_internal.h"
#include "common/duration.h"
#include "common/err.h"

#define S_WINDOW 8 //  Immediate requests in flight at once

typedef struct {
    uint64_t req; //  Request id in flight
    size_t index; //  Which request (0..count)
    bool partial; //  Some parts of its reply came already
} s_flight_t;

//  Finds a reply's request in the flight table: returns its request
//  index, or -1 if req is not in flight (a stale reply, to drop). Takes
//  it off the table unless more parts of the reply follow.
static long
s_land(s_flight_t *flights, size_t *in_flight, uint64_t req, bool more)
{
    for (size_t slot = 0; slot < *in_flight; slot++) {
        if (flights[slot].req != req)
            continue;
        long index = (long) flights[slot].index;
        flights[slot].partial = true;
        if (!more)
            flights[slot] = flights[--*in_flight];
        return index;
    }
    return -1;
}

//  Judges the reply to request number index: an ERROR fails with its own
//  code, another type than reply_type with ZJ_EPROTO; else handle takes it.
static int
s_take_reply(zjob_client_t *self, zj_msg_type_t reply_type,
             zj_client_handle_fn *handle, void *arg, size_t index,
             const zj_msg_t *reply)
{
    if (reply->type == ZJ_MSG_ERROR)
        return zj_client_error_reply(self, reply);
    if (reply->type != reply_type)
        return zj_client_fail(self, ZJ_EPROTO, "expected %s, got %s",
                              zj_msg_type_name(reply_type),
                              zj_msg_type_name(reply->type));
    return handle(arg, index, reply);
}

//  The link came back: the requests in flight may have been lost with
//  it, or their replies. Sends each again under its req (a reply to the
//  first copy that still comes lands it; the later one is then stale).
//  SUBMIT is safe to repeat because it carries its token; the others
//  only read, or cancel what is cancelled already. A request whose reply
//  came in part is not sent again: its parts would come twice. A RETRY
//  is not either: it has no token, so a second copy would make the jobs
//  twice; the call fails instead.
static int
s_send_again(zjob_client_t *self, s_flight_t *flights, size_t in_flight,
             zj_client_build_fn *build, void *arg)
{
    self->relinked = false;
    for (size_t slot = 0; slot < in_flight; slot++) {
        if (flights[slot].partial)
            continue;
        zj_msg_t *request = build(arg, flights[slot].index);
        if (request->type == ZJ_MSG_RETRY) {
            zj_msg_destroy(&request);
            return zj_client_fail(self, ZJ_ESEND,
                                  "the link to the coordinator dropped while "
                                  "RETRY was in flight: it may have made the "
                                  "jobs (see zjob jobs)");
        }
        request->req = flights[slot].req;
        int rc = zj_client_send(self, &request);
        if (rc)
            return rc;
    }
    return 0;
}

int
zj_client_exchange(zjob_client_t *self, size_t count, zj_msg_type_t reply_type,
                   zj_client_build_fn *build, zj_client_handle_fn *handle,
                   void *arg)
{
    s_flight_t flights[S_WINDOW];
    size_t in_flight = 0, sent = 0;
    int result = 0;
    int64_t deadline = zj_mono_ms() + self->reply_ms;
    while ((result == 0 && sent < count) || in_flight > 0) {
        if (result == 0 && sent < count && in_flight < S_WINDOW) {
            zj_msg_t *request = build(arg, sent);
            request->req = ++self->last_req;
            flights[in_flight] = (s_flight_t){request->req, sent, false};
            result = zj_client_send(self, &request);
            if (result == 0) {
                in_flight++;
                sent++;
                deadline = zj_mono_ms() + self->reply_ms;
            }
            continue;
        }
        zj_msg_t *reply = NULL;
        uint64_t req = 0;
        int rc = zj_client_next(self, deadline, &reply, &req);
        if (rc == ZJ_ETIMEOUT && result == 0)
            return zj_client_fail(
                self, ZJ_EUNREACH,
                "no reply from coordinator at %s within %lld ms",
                self->endpoint, (long long) self->reply_ms);
        if (rc == ZJ_ETIMEOUT || rc == ZJ_ECANCELLED || rc == ZJ_ESYS)
            return result ? result : rc;
        if (rc == 0 && reply == NULL && self->relinked) {
            rc = s_send_again(self, flights, in_flight, build, arg);
            if (rc)
                return result ? result : rc;
            deadline = zj_mono_ms() + self->reply_ms;
            continue;
        }
        //  A STATUS or LIST reply may come in parts (PROTOCOL.md): each
        //  is handled, and the request lands with the last.
        bool more = reply && reply->type == reply_type && reply->more;
        long index =
            s_land(flights, &in_flight, reply ? reply->req : req, more);
        if (index >= 0) {
            deadline = zj_mono_ms() + self->reply_ms;
            if (rc == 0)
                rc = s_take_reply(self, reply_type, handle, arg, (size_t) index,
                                  reply);
            if (result == 0)
                result = rc;
        }
        zj_msg_destroy(&reply);
    }
    return result;
}
