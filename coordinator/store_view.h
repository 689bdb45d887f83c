//  store_view.h - read-only views of the store for the status page
//  (http_ep.h): a job with its attempts, children and dependencies, the
//  recent failures, a page of jobs, the schedules and the limits, as JSON.
//  Each view opens its own read-only connection, on the HTTP side's
//  thread: it never touches the coordinator's connection nor waits for
//  its loop, and WAL lets it read while the loop writes. A view that
//  would read too much is stopped (ZJ_ETOOBIG) rather than hold the
//  WAL's checkpoints back. Thread-safe: nothing shared.
#ifndef ZJ_STORE_VIEW_H
#define ZJ_STORE_VIEW_H

#include <jansson.h>
#include <stdint.h>

#define ZJ_VIEW_FAILURES_MAX 200  //  Failures one view lists, at most
#define ZJ_VIEW_JOBS_MAX 500      //  Jobs one page lists, at most
#define ZJ_VIEW_CHILDREN_MAX 1000 //  Children a job's view lists
#define ZJ_VIEW_AFTER_MAX 100     //  Dependencies a job's view lists

//  What a page of jobs asks for: NULL / 0 for no filter.
typedef struct {
    const char *state; //  One state's name
    const char *kind;  //  One kind
    int64_t before;    //  Ids below this one (paging), 0 = from the newest
    int limit;         //  1..ZJ_VIEW_JOBS_MAX
} zj_view_query_t;

//  Each returns 0 and sets *out to a new JSON value the caller owns, or
//  returns an error code (common/err.h) with *why set: ZJ_ENOTFOUND (no
//  such job), ZJ_EUSAGE (bad filter), ZJ_ETOOBIG (too much to read),
//  ZJ_ESTORE (the store cannot be read).

//  {"job": {...every column...}, "attempts": [...], "children": [...],
//   "after": [{"id", "kind", "state"}]}
int zj_store_view_job(const char *path, int64_t id, json_t **out, char *why);

//  The newest failed jobs, at most limit (1..ZJ_VIEW_FAILURES_MAX).
int zj_store_view_failures(const char *path, int limit, json_t **out,
                           char *why);

//  A page of jobs, newest first: {"jobs": [...], "more": bool}.
int zj_store_view_jobs(const char *path, const zj_view_query_t *query,
                       json_t **out, char *why);

//  Every schedule, by name; every limit, by kind.
int zj_store_view_schedules(const char *path, json_t **out, char *why);
int zj_store_view_limits(const char *path, json_t **out, char *why);

#endif
