//  client_ep.h - the clients endpoint: SUBMIT, AWAIT, STATUS, LIST,
//  WORKERS, CANCEL and SCHEDULE (schedule_ep.c) requests from the CLI and
//  libzjob. Below the loop: it acts through the job state machine and queues
//  every reply in the outbox (a cancelled running job also gets a CANCEL to its
//  worker).
#ifndef ZJ_CLIENT_EP_H
#define ZJ_CLIENT_EP_H

#include <czmq.h>

#include "coordinator/lifecycle.h"
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
} zj_client_ep_t;

//  Handles one decoded request. Borrows identity and msg. Every reply is
//  queued in the outbox, to leave after the commit.
void zj_client_ep_handle(zj_client_ep_t *self, zframe_t *identity,
                         zj_msg_t *msg);

#endif
