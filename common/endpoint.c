//  endpoint.c - endpoint classification (see endpoint.h).
#include <string.h>

#include "common/endpoint.h"

static bool
s_starts(const char *text, const char *prefix)
{
    return strncmp(text, prefix, strlen(prefix)) == 0;
}

bool
zj_endpoint_is_local(const char *endpoint)
{
    if (endpoint == NULL)
        return false;
    if (s_starts(endpoint, "ipc://") || s_starts(endpoint, "inproc://"))
        return true;
    if (!s_starts(endpoint, "tcp://"))
        return false;
    const char *host = endpoint + strlen("tcp://");
    return s_starts(host, "127.") || s_starts(host, "localhost:") ||
           s_starts(host, "[::1]:");
}
