//  prom.h - the overview (overview.h) in Prometheus' text format, for
//  /metrics: one `zjob_` prefix, base units (seconds, bytes), `_total`
//  counters, labels by kind, state, worker and class, never by job.
//  docs/operations.md lists the metrics. A leaf: JSON in, text out.
#ifndef ZJ_PROM_H
#define ZJ_PROM_H

#include <jansson.h>

//  The exposition of overview (as zj_overview_text makes it), as a new
//  string the caller frees.
char *zj_prom_text(const json_t *overview);

#endif
