//  client_ep.h - the clients endpoint: SUBMIT, AWAIT, STATUS, LIST,
//  WORKERS and CANCEL requests from the CLI and libzjob.
#ifndef ZJ_CLIENT_EP_H
#define ZJ_CLIENT_EP_H

#include "coordinator/coordinator.h"

//  Handles one decoded request. Borrows identity and msg. Replies go
//  through zj_coordinator_send (after the commit).
void zj_client_ep_handle(zj_coordinator_t *self, zframe_t *identity,
                         zj_msg_t *msg);

#endif
