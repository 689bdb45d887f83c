//  endpoint.h - what an endpoint string says about the network.
#ifndef ZJ_ENDPOINT_H
#define ZJ_ENDPOINT_H

#include <stdbool.h>

//  True if endpoint stays on this host: ipc://, inproc://, or tcp:// on
//  127.0.0.0/8, localhost or [::1].
bool zj_endpoint_is_local(const char *endpoint);

#endif
