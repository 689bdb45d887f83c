//  peers.c - connected workers, their credit ledger, and the kinds ever
//  offered (see peers.h).
#include "common/idmap.h"
#include "coordinator/peers.h"

#define ZJ_PEER_TAG 0x7a6a7072u

struct zj_peer {
    uint32_t tag;           //  ZJ_PEER_TAG while alive
    zframe_t *identity;     //  ROUTER routing id, owned
    char *key;              //  Routing id in hex, the table's key
    char *curve_key;        //  CURVE key it was admitted with, or NULL
    zj_worker_info_t info;  //  As the worker introduced itself, owned
    const char **kinds[2];  //  Kind names per class, borrowed from info
    size_t kind_count[2];   //  Entries in kinds
    int32_t slots[2];       //  Jobs per class it takes at once
    zj_idmap_t *running[2]; //  id -> zj_future_t * running here, per class
    zj_idmap_t *stopped[2]; //  id -> this peer: cancelled, not reported
    int64_t last_seen_ms;   //  zj_mono_ms() of its last message
    bool draining;          //  Shutting down: gets no more jobs
    int64_t unacked;        //  Its last HEARTBEAT's figures:
    int64_t blocked_ms;     //  ... unacked batches, ms blocked in all
    size_t last_chance;     //  Running jobs at their last chance: 0 or 1
    int32_t suspended;      //  Running io jobs that await, holding no slot
    int32_t over[2];        //  Jobs held past its slots by resumed parents
};

struct zj_peers {
    zhashx_t *by_key;  //  routing id (hex) -> zj_peer_t *, owned
    zhashx_t *by_name; //  worker name -> zj_peer_t *, an index
    zhashx_t *kinds;   //  kind -> its zj_class_t, ever offered
};

//  zhashx items cannot be NULL: a class is stored as the address of its
//  entry here.
static const zj_class_t s_classes[2] = {ZJ_CLASS_IO, ZJ_CLASS_CPU};

static void
s_peer_destroy(zj_peer_t **peer_p)
{
    zj_peer_t *peer = *peer_p;
    if (peer == NULL)
        return;
    assert(peer->tag == ZJ_PEER_TAG);
    for (int klass = 0; klass < 2; klass++) {
        assert(zj_idmap_size(peer->running[klass]) == 0);
        zj_idmap_destroy(&peer->running[klass]);
        zj_idmap_destroy(&peer->stopped[klass]);
        free(peer->kinds[klass]);
    }
    zframe_destroy(&peer->identity);
    zj_worker_info_clear(&peer->info);
    free(peer->key);
    free(peer->curve_key);
    peer->tag = 0;
    free(peer);
    *peer_p = NULL;
}

static void
s_peer_free(void **item_p)
{
    s_peer_destroy((zj_peer_t **) item_p);
}

static zj_peer_t *
s_peer_new(zframe_t *identity, zj_worker_info_t *info, int64_t now_ms)
{
    zj_peer_t *peer = calloc(1, sizeof *peer);
    assert(peer);
    peer->tag = ZJ_PEER_TAG;
    peer->identity = zframe_dup(identity);
    peer->key = zframe_strhex(identity);
    peer->info = *info;
    memset(info, 0, sizeof *info);
    for (int klass = 0; klass < 2; klass++) {
        peer->kinds[klass] = calloc(peer->info.kind_count + 1, sizeof(char *));
        assert(peer->kinds[klass]);
        peer->running[klass] = zj_idmap_new();
        peer->stopped[klass] = zj_idmap_new();
    }
    for (size_t index = 0; index < peer->info.kind_count; index++) {
        const zj_kind_t *kind = &peer->info.kinds[index];
        int klass = kind->klass;
        peer->kinds[klass][peer->kind_count[klass]++] = kind->name;
    }
    peer->slots[ZJ_CLASS_IO] = peer->info.io_slots;
    peer->slots[ZJ_CLASS_CPU] = peer->info.cpu_slots;
    peer->last_seen_ms = now_ms;
    return peer;
}

zj_peers_t *
zj_peers_new(void)
{
    zj_peers_t *self = calloc(1, sizeof *self);
    assert(self);
    self->by_key = zhashx_new();
    self->by_name = zhashx_new();
    self->kinds = zhashx_new();
    assert(self->by_key && self->by_name && self->kinds);
    zhashx_set_destructor(self->by_key, s_peer_free);
    return self;
}

void
zj_peers_destroy(zj_peers_t **self_p)
{
    assert(self_p);
    zj_peers_t *self = *self_p;
    if (self == NULL)
        return;
    zhashx_destroy(&self->by_name);
    zhashx_destroy(&self->by_key);
    zhashx_destroy(&self->kinds);
    free(self);
    *self_p = NULL;
}

void
zj_peers_learn_kinds(zj_peers_t *self, const zj_worker_info_t *info)
{
    assert(self && info);
    for (size_t index = 0; index < info->kind_count; index++) {
        const zj_kind_t *kind = &info->kinds[index];
        assert(kind->klass == ZJ_CLASS_IO || kind->klass == ZJ_CLASS_CPU);
        zhashx_update(self->kinds, kind->name,
                      (void *) &s_classes[kind->klass]);
    }
}

bool
zj_peers_may_run(const zj_peers_t *self, const char *kind)
{
    assert(self && kind);
    zhashx_t *kinds = self->kinds;
    return zhashx_size(kinds) == 0 || zhashx_lookup(kinds, kind) != NULL;
}

zj_peer_t *
zj_peers_add(zj_peers_t *self, zframe_t *identity, zj_worker_info_t *info,
             int64_t now_ms)
{
    assert(self && identity && info && info->name);
    assert(zj_peers_find_name(self, info->name) == NULL);
    zj_peers_learn_kinds(self, info);
    zj_peer_t *peer = s_peer_new(identity, info, now_ms);
    int rc = zhashx_insert(self->by_key, peer->key, peer);
    assert(rc == 0);
    rc = zhashx_insert(self->by_name, peer->info.name, peer);
    assert(rc == 0);
    (void) rc;
    return peer;
}

void
zj_peers_remove(zj_peers_t *self, zj_peer_t **peer_p)
{
    assert(self && peer_p && *peer_p);
    zj_peer_t *peer = *peer_p;
    assert(peer->tag == ZJ_PEER_TAG);
    assert(zj_peer_running(peer) == 0);
    if (zhashx_lookup(self->by_name, peer->info.name) == peer)
        zhashx_delete(self->by_name, peer->info.name);
    zhashx_delete(self->by_key, peer->key); //  Frees it
    *peer_p = NULL;
}

zj_peer_t *
zj_peers_find(zj_peers_t *self, zframe_t *identity)
{
    assert(self && identity);
    char *key = zframe_strhex(identity);
    zj_peer_t *peer = zhashx_lookup(self->by_key, key);
    free(key);
    return peer;
}

zj_peer_t *
zj_peers_find_name(zj_peers_t *self, const char *name)
{
    assert(self && name);
    return zhashx_lookup(self->by_name, name);
}

size_t
zj_peers_size(const zj_peers_t *self)
{
    assert(self);
    return zhashx_size(self->by_key);
}

zj_peer_t *
zj_peers_first(zj_peers_t *self)
{
    assert(self);
    return zhashx_first(self->by_key);
}

zj_peer_t *
zj_peers_next(zj_peers_t *self)
{
    assert(self);
    return zhashx_next(self->by_key);
}

const char *
zj_peer_curve_key(const zj_peer_t *peer)
{
    assert(peer && peer->tag == ZJ_PEER_TAG);
    return peer->curve_key;
}

void
zj_peer_set_curve_key(zj_peer_t *peer, const char *key)
{
    assert(peer && peer->tag == ZJ_PEER_TAG);
    free(peer->curve_key);
    peer->curve_key = key ? strdup(key) : NULL;
}

zframe_t *
zj_peer_identity(const zj_peer_t *peer)
{
    assert(peer && peer->tag == ZJ_PEER_TAG);
    return peer->identity;
}

const zj_worker_info_t *
zj_peer_info(const zj_peer_t *peer)
{
    assert(peer && peer->tag == ZJ_PEER_TAG);
    return &peer->info;
}

const char **
zj_peer_kinds(const zj_peer_t *peer, zj_class_t klass, size_t *count)
{
    assert(peer && peer->tag == ZJ_PEER_TAG && count);
    *count = peer->kind_count[klass];
    return peer->kinds[klass];
}

//  Jobs of klass the peer holds: running, or stopped and not reported.
static int32_t
s_held(const zj_peer_t *peer, zj_class_t klass)
{
    int32_t suspended = klass == ZJ_CLASS_IO ? peer->suspended : 0;
    return (int32_t) (zj_idmap_size(peer->running[klass]) +
                      zj_idmap_size(peer->stopped[klass])) -
           suspended;
}

//  A job took a slot of klass back without asking for credit (a parent
//  resumed): past its slots, the peer is over until jobs leave.
static void
s_taken(zj_peer_t *peer, zj_class_t klass)
{
    int32_t past = s_held(peer, klass) - peer->slots[klass];
    if (past > peer->over[klass])
        peer->over[klass] = past;
}

//  A slot of klass was freed: it pays back what the peer is over first.
static void
s_freed(zj_peer_t *peer, zj_class_t klass)
{
    if (peer->over[klass] > 0)
        peer->over[klass]--;
}

int32_t
zj_peer_credit(const zj_peer_t *peer, zj_class_t klass)
{
    assert(peer && peer->tag == ZJ_PEER_TAG);
    int32_t credit = peer->slots[klass] - s_held(peer, klass);
    return credit > 0 ? credit : 0;
}

size_t
zj_peer_running(const zj_peer_t *peer)
{
    assert(peer && peer->tag == ZJ_PEER_TAG);
    return zj_idmap_size(peer->running[ZJ_CLASS_IO]) +
           zj_idmap_size(peer->running[ZJ_CLASS_CPU]);
}

zj_future_t *
zj_peer_first_running(zj_peer_t *peer)
{
    assert(peer && peer->tag == ZJ_PEER_TAG);
    zj_future_t *future = zj_idmap_first(peer->running[ZJ_CLASS_IO]);
    return future ? future : zj_idmap_first(peer->running[ZJ_CLASS_CPU]);
}

int64_t
zj_peer_last_seen(const zj_peer_t *peer)
{
    assert(peer && peer->tag == ZJ_PEER_TAG);
    return peer->last_seen_ms;
}

void
zj_peer_seen(zj_peer_t *peer, int64_t now_ms)
{
    assert(peer && peer->tag == ZJ_PEER_TAG);
    peer->last_seen_ms = now_ms;
}

bool
zj_peer_draining(const zj_peer_t *peer)
{
    assert(peer && peer->tag == ZJ_PEER_TAG);
    return peer->draining;
}

bool
zj_peer_runs_last_chance(const zj_peer_t *peer)
{
    assert(peer && peer->tag == ZJ_PEER_TAG);
    return peer->last_chance > 0;
}

bool
zj_peer_mark_draining(zj_peer_t *peer)
{
    assert(peer && peer->tag == ZJ_PEER_TAG);
    bool was = peer->draining;
    peer->draining = true;
    return !was;
}

void
zj_peer_attach(zj_peer_t *peer, zj_future_t *future, zj_class_t klass)
{
    assert(peer && peer->tag == ZJ_PEER_TAG);
    assert(future && future->peer == NULL);
    assert(zj_peer_credit(peer, klass) > 0);
    int rc = zj_idmap_insert(peer->running[klass], future->job.id, future);
    assert(rc == 0);
    (void) rc;
    future->peer = peer;
    peer->last_chance += future->last_chance;
    assert(peer->last_chance <= 1);
}

//  Takes future out of its peer's running jobs; returns its class.
static zj_class_t
s_unlink(zj_future_t *future)
{
    zj_peer_t *peer = future->peer;
    assert(peer && peer->tag == ZJ_PEER_TAG);
    future->peer = NULL;
    assert(peer->last_chance >= (size_t) future->last_chance);
    peer->last_chance -= future->last_chance;
    if (future->suspended) {
        //  It held no slot: it frees none.
        assert(peer->suspended > 0);
        future->suspended = false;
        peer->suspended--;
        void *running =
            zj_idmap_delete(peer->running[ZJ_CLASS_IO], future->job.id);
        assert(running == future);
        (void) running;
        return ZJ_CLASS_IO;
    }
    zj_class_t klass = ZJ_CLASS_IO;
    if (!zj_idmap_delete(peer->running[ZJ_CLASS_IO], future->job.id)) {
        void *running =
            zj_idmap_delete(peer->running[ZJ_CLASS_CPU], future->job.id);
        assert(running == future);
        (void) running;
        klass = ZJ_CLASS_CPU;
    }
    s_freed(peer, klass);
    return klass;
}

void
zj_peer_detach(zj_future_t *future)
{
    assert(future);
    if (future->peer)
        s_unlink(future);
}

void
zj_peer_stop(zj_future_t *future)
{
    assert(future);
    zj_peer_t *peer = future->peer;
    if (peer == NULL)
        return;
    zj_class_t klass = s_unlink(future);
    int rc = zj_idmap_insert(peer->stopped[klass], future->job.id, peer);
    assert(rc == 0);
    (void) rc;
    //  It may still run there, so it holds a slot: the one s_unlink
    //  freed, or (a suspended parent) one it takes back.
    s_taken(peer, klass);
}

bool
zj_peer_settle(zj_peer_t *peer, int64_t id)
{
    assert(peer && peer->tag == ZJ_PEER_TAG);
    for (int klass = 0; klass < 2; klass++)
        if (zj_idmap_delete(peer->stopped[klass], id)) {
            s_freed(peer, (zj_class_t) klass);
            return true;
        }
    return false;
}

void
zj_peer_suspend(zj_future_t *future)
{
    assert(future && !future->suspended);
    zj_peer_t *peer = future->peer;
    assert(peer && peer->tag == ZJ_PEER_TAG);
    assert(zj_idmap_lookup(peer->running[ZJ_CLASS_IO], future->job.id));
    future->suspended = true;
    peer->suspended++;
    s_freed(peer, ZJ_CLASS_IO);
}

void
zj_peer_resume(zj_future_t *future)
{
    assert(future && future->suspended);
    zj_peer_t *peer = future->peer;
    assert(peer && peer->tag == ZJ_PEER_TAG && peer->suspended > 0);
    future->suspended = false;
    peer->suspended--;
    s_taken(peer, ZJ_CLASS_IO);
}

int32_t
zj_peer_suspended(const zj_peer_t *peer)
{
    assert(peer && peer->tag == ZJ_PEER_TAG);
    return peer->suspended;
}

bool
zj_peer_runs(const zj_peer_t *peer, int64_t id, zj_class_t klass)
{
    assert(peer && peer->tag == ZJ_PEER_TAG);
    return zj_idmap_lookup(peer->running[klass], id) != NULL;
}

bool
zj_peer_holds_stopped(const zj_peer_t *peer, int64_t id)
{
    assert(peer && peer->tag == ZJ_PEER_TAG);
    return zj_idmap_lookup(peer->stopped[ZJ_CLASS_IO], id) ||
           zj_idmap_lookup(peer->stopped[ZJ_CLASS_CPU], id);
}

static bool
s_peer_holds(const zj_peer_t *peer)
{
    if (peer->tag != ZJ_PEER_TAG)
        return false;
    for (int klass = 0; klass < 2; klass++) {
        //  Never more jobs of a class than its slots, but for the parents
        //  that resumed while they were all taken.
        if (s_held(peer, klass) > peer->slots[klass] + peer->over[klass] ||
            peer->over[klass] < 0 || peer->suspended < 0)
            return false;
        zj_idmap_t *running = peer->running[klass];
        for (zj_future_t *future = zj_idmap_first(running); future;
             future = zj_idmap_next(running))
            if (future->tag != ZJ_FUTURE_TAG || future->peer != peer ||
                future->job.state != ZJ_STATE_RUNNING ||
                zj_idmap_lookup(peer->stopped[klass], future->job.id))
                return false;
    }
    return true;
}

bool
zj_peers_invariants_hold(const zj_peers_t *self)
{
    if (self == NULL || zhashx_size(self->by_name) != zhashx_size(self->by_key))
        return false;
    zhashx_t *by_key = self->by_key;
    for (zj_peer_t *peer = zhashx_first(by_key); peer;
         peer = zhashx_next(by_key))
        if (!s_peer_holds(peer) ||
            zhashx_lookup(self->by_name, peer->info.name) != peer)
            return false;
    return true;
}

void
zj_peer_set_health(zj_peer_t *peer, int64_t unacked, int64_t blocked_ms)
{
    assert(peer && unacked >= 0 && blocked_ms >= 0);
    peer->unacked = unacked;
    peer->blocked_ms = blocked_ms;
}

int64_t
zj_peer_unacked(const zj_peer_t *peer)
{
    assert(peer);
    return peer->unacked;
}

int64_t
zj_peer_blocked_ms(const zj_peer_t *peer)
{
    assert(peer);
    return peer->blocked_ms;
}
