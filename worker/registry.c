//  registry.c - kind name -> class and handler (see registry.h).
#include <czmq.h>
#include <dlfcn.h>

#include "common/err.h"
#include "common/why.h"
#include "proto/limits.h"
#include "proto/msg.h"
#include "worker/handlers.h"
#include "worker/registry.h"

struct zjob_registry {
    zlistx_t *handlers; //  zj_handler_t *, owned, in registration order
    zhashx_t *by_kind;  //  kind -> zj_handler_t *, an index into handlers
    zlistx_t *plugins;  //  dlopen handles, closed on destroy
};

static void
s_handler_destroy(void **item_p)
{
    zj_handler_t *handler = *item_p;
    if (handler) {
        free(handler->kind);
        free(handler);
    }
    *item_p = NULL;
}

zj_registry_t *
zj_registry_new(void)
{
    zj_registry_t *self = calloc(1, sizeof *self);
    assert(self);
    self->handlers = zlistx_new();
    zlistx_set_destructor(self->handlers, s_handler_destroy);
    self->by_kind = zhashx_new();
    self->plugins = zlistx_new();
    return self;
}

void
zj_registry_destroy(zj_registry_t **self_p)
{
    assert(self_p);
    zj_registry_t *self = *self_p;
    if (self == NULL)
        return;
    zhashx_destroy(&self->by_kind);
    zlistx_destroy(&self->handlers);
    //  Plugins stay mapped: a handler pointer may outlive the registry in
    //  a CPU process, and unloading buys nothing at exit.
    zlistx_destroy(&self->plugins);
    free(self);
    *self_p = NULL;
}

int
zjob_registry_add(zjob_registry_t *self, const char *kind, zjob_class_t klass,
                  zjob_handler_fn *handler)
{
    if (self == NULL || handler == NULL || !zj_kind_name_is_valid(kind))
        return ZJ_EKIND;
    if (klass != ZJOB_CLASS_IO && klass != ZJOB_CLASS_CPU)
        return ZJ_EKIND;
    if (zhashx_lookup(self->by_kind, kind) ||
        zlistx_size(self->handlers) >= ZJ_MAX_KINDS)
        return ZJ_EKIND;
    zj_handler_t *entry = calloc(1, sizeof *entry);
    assert(entry);
    entry->kind = strdup(kind);
    entry->klass = klass;
    entry->handler = handler;
    zlistx_add_end(self->handlers, entry);
    zhashx_insert(self->by_kind, kind, entry);
    return 0;
}

const zj_handler_t *
zj_registry_find(const zj_registry_t *self, const char *kind)
{
    assert(self);
    if (kind == NULL)
        return NULL;
    return zhashx_lookup(self->by_kind, kind);
}

size_t
zj_registry_size(const zj_registry_t *self)
{
    assert(self);
    return zlistx_size(self->handlers);
}

const zj_handler_t *
zj_registry_at(const zj_registry_t *self, size_t index)
{
    assert(self);
    const zj_handler_t *handler = zlistx_first(self->handlers);
    while (handler && index-- > 0)
        handler = zlistx_next(self->handlers);
    return handler;
}

void
zj_registry_add_builtins(zj_registry_t *self, bool allow_exec)
{
    zjob_registry_add(self, "echo", ZJOB_CLASS_IO, zj_handler_echo);
    zjob_registry_add(self, "sleep", ZJOB_CLASS_IO, zj_handler_sleep);
    zjob_registry_add(self, "http", ZJOB_CLASS_IO, zj_handler_http);
    zjob_registry_add(self, "map", ZJOB_CLASS_IO, zj_handler_map);
    zjob_registry_add(self, "sha256", ZJOB_CLASS_CPU, zj_handler_sha256);
    zjob_registry_add(self, "primes", ZJOB_CLASS_CPU, zj_handler_primes);
    if (allow_exec)
        zjob_registry_add(self, "exec", ZJOB_CLASS_IO, zj_handler_exec);
}

typedef int(zj_plugin_init_fn)(zjob_registry_t *registry);

int
zj_registry_load_plugin(zj_registry_t *self, const char *path, char *why)
{
    void *library = dlopen(path, RTLD_NOW | RTLD_LOCAL);
    if (library == NULL)
        return zj_why_fail(ZJ_EUSAGE, why, "cannot load plugin: %s", dlerror());
    zj_plugin_init_fn *init =
        (zj_plugin_init_fn *) dlsym(library, "zjob_plugin_init");
    if (init == NULL) {
        zj_why_set(why, "plugin %s has no zjob_plugin_init", path);
        dlclose(library);
        return ZJ_EUSAGE;
    }
    int rc = init(self);
    if (rc != 0) {
        zj_why_set(why, "plugin %s: zjob_plugin_init returned %d", path, rc);
        dlclose(library);
        return ZJ_EUSAGE;
    }
    zlistx_add_end(self->plugins, library);
    return 0;
}
