//  listing.h - LIST requests with filters (zjob jobs --kind, --worker,
//  --since, several states, --before), answered without stalling the
//  loop on a big store. Filters the store indexes (states, before) are
//  read at once, at most limit + 1 rows per state. Those it does not
//  (kind, worker, since) are a scan that reads at most ZJ_LIST_SCAN_ROWS
//  rows a turn, walking ids downwards from before: the request is parked,
//  goes on at the next turns (the loop serves others in between) and its
//  reply goes in parts (PROTOCOL.md, "Replies in parts"). A leaf module:
//  it reads the store and queues replies in the outbox.
#ifndef ZJ_LISTING_H
#define ZJ_LISTING_H

#include <stdbool.h>
#include <stdint.h>

#include "coordinator/outbox.h"
#include "coordinator/store.h"
#include "proto/msg.h"

#define ZJ_LIST_SCAN_ROWS 10000   //  Rows a turn's scans read at most
#define ZJ_LIST_MAX_SCANS 256     //  Scans parked at once, past which refused
#define ZJ_LIST_KEEPALIVE_MS 1000 //  A scan sends a part at least this often

//  What a LIST asks for.
typedef struct {
    char *kind;      //  Only this kind, or NULL; owned
    char *worker;    //  Only jobs whose last attempt ran there, or NULL;
                     //  owned
    unsigned states; //  Bits 1u << state; 0 = any
    double since;    //  Only jobs created at or after (unix s); 0 = any
    int64_t before;  //  Only ids below it (> 0; INT64_MAX = all)
    int limit;       //  Most jobs, > 0
} zj_list_filter_t;

typedef struct zj_listing zj_listing_t;

//  Creates an empty table of scans. Never returns NULL.
zj_listing_t *zj_listing_new(void);

//  Frees the scans not finished (their clients get no more); sets
//  *self_p to NULL.
void zj_listing_destroy(zj_listing_t **self_p);

//  Frees what filter owns.
void zj_list_filter_clear(zj_list_filter_t *filter);

//  True if filter needs a scan (kind, worker or since).
bool zj_list_filter_scans(const zj_list_filter_t *filter);

//  Answers req at once through the indexes (filter must not scan): the
//  newest filter->limit jobs in its states below its before, in parts
//  whose last has `before` set to the next page's when more exist.
//  Returns 0, or ZJ_ESTORE having sent nothing.
int zj_listing_indexed(zj_store_t *store, zj_outbox_t *outbox,
                       zframe_t *identity, uint64_t req,
                       const zj_list_filter_t *filter);

//  Parks a scan for req (copies identity; takes filter's strings and
//  zeroes it). Returns 0, or ZJ_ETOOBIG when ZJ_LIST_MAX_SCANS are
//  parked (filter left as it was).
int zj_listing_start(zj_listing_t *self, zframe_t *identity, uint64_t req,
                     zj_list_filter_t *filter);

//  Goes on with the scan parked longest, reading at most rows rows; sends
//  what it found when a part is full or ZJ_LIST_KEEPALIVE_MS passed since
//  its last (an empty part with `more` keeps the client waiting), and the
//  last part when it is done; a store error ends it with ERROR ESTORE.
//  Returns the scans still parked.
size_t zj_listing_step(zj_listing_t *self, zj_store_t *store,
                       zj_outbox_t *outbox, int rows, int64_t now_ms);

//  Scans parked.
size_t zj_listing_pending(const zj_listing_t *self);

#endif
