//  schedule_ep.h - schedules at work: SCHEDULE requests (add, rm, list)
//  and the fires, each a job made through the state machine as a SUBMIT
//  makes one. Part of the clients endpoint: client_ep.c hands it SCHEDULE
//  messages, and the loop calls zj_schedule_ep_fire once a turn. It acts
//  through the state machine, the schedules and the store, and queues its
//  replies in the outbox.
//
//  Exactly once: a fire inserts the job, records the run (schedule_runs)
//  and saves the schedule's next run in the same turn, so one store
//  transaction holds all three or none. A crash before the commit loses
//  the job and keeps the old next run, which fires again at the restart;
//  a crash after it keeps the job and the new next run, which will not
//  fire that due time again. While the store cannot be written nothing
//  fires (nothing could be acknowledged), and the due runs fire once it
//  can.
//
//  Missed runs: a schedule fires at most once per turn, for its earliest
//  due run, and its next run is then the first one after now. A
//  coordinator that was down over several due times makes one catch-up
//  run at start, not one per missed time.
#ifndef ZJ_SCHEDULE_EP_H
#define ZJ_SCHEDULE_EP_H

#include <czmq.h>

#include "coordinator/lifecycle.h"
#include "coordinator/outbox.h"
#include "coordinator/schedules.h"
#include "proto/msg.h"

#define ZJ_FIRES_PER_TURN 1000 //  Fires in one turn at most; more wait

//  What the schedules act on, all borrowed.
typedef struct {
    zj_lifecycle_t *jobs;      //  The state machine and its store
    zj_outbox_t *outbox;       //  Where replies wait for the commit
    zj_schedules_t *schedules; //  The schedules in memory
} zj_schedule_ep_t;

//  Handles a SCHEDULE request from identity (borrowed, as msg): the reply
//  (SCHEDULE with the schedule added or removed, or all of them) or an
//  ERROR goes into the outbox.
void zj_schedule_ep_handle(zj_schedule_ep_t *self, zframe_t *identity,
                           const zj_msg_t *msg);

//  Reads the schedules of the store into memory, at start. A row that
//  cannot be taken (edited by hand) is logged and skipped. Returns 0 or
//  ZJ_ESTORE.
int zj_schedule_ep_load(zj_schedule_ep_t *self);

//  Fires the schedules due at now (unix seconds), inside the turn.
//  Returns how many fired.
size_t zj_schedule_ep_fire(zj_schedule_ep_t *self, double now);

#endif
