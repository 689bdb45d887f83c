//  registry.h - kinds a worker offers: name -> class and handler.
//  Built-ins are added by zj_registry_add_builtins; plugins add theirs
//  through the public zjob_registry_add (include/zjob/handler.h).
#ifndef ZJ_REGISTRY_H
#define ZJ_REGISTRY_H

#include <stdbool.h>
#include <stddef.h>

#include "include/zjob/handler.h"

typedef zjob_registry_t zj_registry_t;

typedef struct {
    char *kind;               //  Kind name
    zjob_class_t klass;       //  Where it runs
    zjob_handler_fn *handler; //  What runs it
} zj_handler_t;

//  Creates an empty registry.
zj_registry_t *zj_registry_new(void);

//  Frees the registry; sets *self_p to NULL.
void zj_registry_destroy(zj_registry_t **self_p);

//  Returns the handler of kind, or NULL. Borrowed.
const zj_handler_t *zj_registry_find(const zj_registry_t *self,
                                     const char *kind);

//  Number of kinds, and the index-th one (in registration order).
size_t zj_registry_size(const zj_registry_t *self);
const zj_handler_t *zj_registry_at(const zj_registry_t *self, size_t index);

//  Adds echo, sleep, http, sha256, primes, and exec if allow_exec.
void zj_registry_add_builtins(zj_registry_t *self, bool allow_exec);

//  Loads the plugin at path and calls its zjob_plugin_init. Returns 0, or
//  a negative ZJ_E* code with a reason in why[ZJ_WHY_SIZE].
int zj_registry_load_plugin(zj_registry_t *self, const char *path, char *why);

#endif
