//  client_ep.h - the clients endpoint: SUBMIT, AWAIT, STATUS, LIST,
//  WORKERS, CANCEL and SCHEDULE (schedule_ep.c) requests from the CLI and
//  libzjob. Below the loop: it acts through the job state machine and queues
//  every reply in the outbox (a cancelled running job also gets a CANCEL to its
//  worker).
#ifndef ZJ_CLIENT_EP_H
#define ZJ_CLIENT_EP_H

#include <czmq.h>

#include "coordinator/lifecycle.h"
#include "coordinator/listing.h"
#include "coordinator/outbox.h"
#include "coordinator/retention.h"
#include "coordinator/schedule_ep.h"
#include "proto/msg.h"

//  The endpoint's view of the coordinator, all borrowed.
typedef struct {
    zj_lifecycle_t *jobs;      //  The state machine and what it acts on
    zj_outbox_t *outbox;       //  Where replies wait for the commit
    zj_retention_t *retention; //  Where purges are queued
    zj_schedules_t *schedules; //  The schedules (SCHEDULE)
    zj_listing_t *listing;     //  LISTs that scan, parked between turns;
                               //  or NULL: such a LIST is refused
} zj_client_ep_t;

//  Handles one decoded request. Borrows identity and msg. Every reply is
//  queued in the outbox, to leave after the commit.
void zj_client_ep_handle(zj_client_ep_t *self, zframe_t *identity,
                         zj_msg_t *msg);

//  Goes on with the LISTs that scan (zjob jobs --kind, --worker, --since):
//  reads at most rows rows of the store in all. Once per turn.
void zj_client_ep_resume(zj_client_ep_t *self, int rows, int64_t now_ms);

//  True while LISTs are parked: the loop must not sleep.
bool zj_client_ep_is_busy(const zj_client_ep_t *self);

#endif
