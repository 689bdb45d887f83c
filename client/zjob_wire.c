//  zjob_wire.c - libzjob's connection: frames out and in on the DEALER
//  socket, bounded by the client's timeouts, the link events its monitor
//  reports, and the one-line reason every call leaves behind. Every call
//  in client/zjob*.c talks to the coordinator through these functions.
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zmq.h>

#include "client/zjob_internal.h"
#include "common/duration.h"
#include "common/err.h"
#include "proto/codec.h"

int
zj_client_fail(zjob_client_t *self, int code, const char *format, ...)
{
    va_list args;
    va_start(args, format);
    vsnprintf(self->why, sizeof self->why, format, args);
    va_end(args);
    return code;
}

//  Reads every pending link event; returns true if the link's state
//  changed. A monitor event is two frames: {uint16 event, uint32 value}
//  and the endpoint.
static bool
s_drain_events(zjob_client_t *self)
{
    bool changed = false;
    for (;;) {
        zmq_msg_t part;
        zmq_msg_init(&part);
        if (zmq_msg_recv(&part, self->monitor, ZMQ_DONTWAIT) < 0) {
            zmq_msg_close(&part);
            return changed;
        }
        uint16_t event = 0;
        if (zmq_msg_size(&part) >= sizeof event)
            memcpy(&event, zmq_msg_data(&part), sizeof event);
        while (zmq_msg_more(&part))
            zmq_msg_recv(&part, self->monitor, 0);
        zmq_msg_close(&part);
        if (event == ZMQ_EVENT_DISCONNECTED && !self->link_lost) {
            self->link_lost = true;
            self->lost_at = zj_mono_ms();
            changed = true;
        } else if (event == ZMQ_EVENT_HANDSHAKE_SUCCEEDED && self->link_lost) {
            self->link_lost = false;
            self->relinked = true;
            changed = true;
        }
    }
}

void
zj_client_begin(zjob_client_t *self)
{
    self->why[0] = '\0';
    s_drain_events(self);
    self->relinked = false;
}

int
zj_client_end(zjob_client_t *self, int rc)
{
    if (rc == 0)
        self->why[0] = '\0';
    return rc;
}

static void
s_free_frame(void *data, void *hint)
{
    (void) hint;
    free(data);
}

int
zj_client_send(zjob_client_t *self, zj_msg_t **msg_p)
{
    char *data = NULL;
    size_t size = 0;
    char why[ZJ_WHY_SIZE] = "";
    int rc = zj_msg_encode(*msg_p, &data, &size, why);
    zj_msg_destroy(msg_p);
    if (rc)
        return zj_client_fail(self, rc, "cannot encode request: %s", why);
    zmq_msg_t frame;
    if (zmq_msg_init_data(&frame, data, size, s_free_frame, NULL)) {
        free(data);
        return zj_client_fail(self, ZJ_ENOMEM, "cannot build a frame");
    }
    if (zmq_msg_send(&frame, self->socket, 0) >= 0)
        return 0;
    int error = errno;
    zmq_msg_close(&frame);
    if (error == EAGAIN)
        return zj_client_fail(self, ZJ_EUNREACH,
                              "cannot reach coordinator at %s (no connection "
                              "within %lld ms)",
                              self->endpoint, (long long) self->send_ms);
    if (error == EINTR)
        return zj_client_fail(self, ZJ_ECANCELLED, "interrupted by a signal");
    return zj_client_fail(self, ZJ_ESEND, "send failed: %s",
                          zmq_strerror(error));
}

//  Reads one frame (the last part, should the coordinator send more) and
//  decodes it. Returns 0 with *msg_p set, 0 with *msg_p NULL when nothing
//  was there after all, or the decoder's code (*req_p holds the frame's
//  req if it had one).
static int
s_read(zjob_client_t *self, zj_msg_t **msg_p, uint64_t *req_p)
{
    zmq_msg_t frame;
    zmq_msg_init(&frame);
    if (zmq_msg_recv(&frame, self->socket, ZMQ_DONTWAIT) < 0) {
        zmq_msg_close(&frame);
        return 0;
    }
    while (zmq_msg_more(&frame))
        zmq_msg_recv(&frame, self->socket, 0);
    char why[ZJ_WHY_SIZE] = "";
    int rc = zj_msg_decode(zmq_msg_data(&frame), zmq_msg_size(&frame), msg_p,
                           req_p, why);
    zmq_msg_close(&frame);
    if (rc)
        return zj_client_fail(self, rc, "bad reply from coordinator: %s", why);
    return 0;
}

int
zj_client_next(zjob_client_t *self, int64_t deadline, zj_msg_t **msg_p,
               uint64_t *req_p)
{
    *msg_p = NULL;
    *req_p = 0;
    for (;;) {
        zmq_pollitem_t items[] = {{self->socket, 0, ZMQ_POLLIN, 0},
                                  {self->monitor, 0, ZMQ_POLLIN, 0}};
        long wait = -1;
        if (deadline >= 0) {
            int64_t left = deadline - zj_mono_ms();
            wait = left > 0 ? (long) left : 0;
        }
        int ready = zmq_poll(items, 2, wait);
        if (ready < 0 && errno == EINTR)
            return zj_client_fail(self, ZJ_ECANCELLED,
                                  "interrupted by a signal");
        if (ready < 0)
            return zj_client_fail(self, ZJ_ESYS, "poll: %s",
                                  zmq_strerror(errno));
        if (ready == 0)
            return ZJ_ETIMEOUT;
        bool changed = (items[1].revents & ZMQ_POLLIN) && s_drain_events(self);
        if (items[0].revents & ZMQ_POLLIN) {
            int rc = s_read(self, msg_p, req_p);
            if (rc || *msg_p)
                return rc;
        }
        if (changed)
            return 0;
    }
}

int
zj_client_error_reply(zjob_client_t *self, const zj_msg_t *reply)
{
    int code = zj_err_is_valid(reply->code) ? reply->code : ZJ_EPROTO;
    return zj_client_fail(self, code, "%s",
                          reply->reason ? reply->reason : zj_strerror(code));
}
