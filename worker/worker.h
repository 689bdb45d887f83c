//  worker.h - zjob-worker: the local libuv loop, its DEALER to the
//  coordinator (HELLO, heartbeats, JOBS in, RESULTS out), and the runner
//  that executes jobs. main.c builds one from flags.
#ifndef ZJ_WORKER_H
#define ZJ_WORKER_H

#include <stdbool.h>
#include <stdint.h>

#define ZJ_WORKER_ENDPOINT "tcp://127.0.0.1:7701"
#define ZJ_IO_SLOTS 1024            //  Coroutine slots by default
#define ZJ_MAX_SUSPENDED 1000       //  Parents awaiting without a slot
#define ZJ_BLOCK_MS 100             //  Report a coroutine holding longer
#define ZJ_WORKER_HEARTBEAT_MS 1000 //  Until WELCOME says otherwise
#define ZJ_WORKER_LIVENESS 3        //  Silent periods before reconnecting
#define ZJ_WORKER_EXIT_NAME_HELD 4  //  Exit: another live worker has our name
#define ZJ_NAME_RETRY_SLACK_MS 200  //  Added to EINUSE's wait before HELLO
#define ZJ_GRACE_MS 10000      //  SIGTERM: how long running jobs may finish
#define ZJ_CPU_PREFETCH 1      //  CPU jobs held ready per pool process
#define ZJ_CPU_PREFETCH_MAX 64 //  The flag's ceiling

typedef struct zj_worker zj_worker_t;

typedef struct {
    const char *endpoint;             //  Coordinator's workers endpoint
    const char *name;                 //  Unique worker name (NULL: host-pid)
    int io_slots;                     //  Coroutines at once
    int max_suspended;                //  Parents awaiting without a slot
    int64_t max_log;                  //  Bytes of log per attempt
    int cpu_procs;                    //  Pool processes (0: one per core)
    int cpu_prefetch;                 //  CPU jobs each process holds ready
    bool allow_exec;                  //  Offer the exec kind
    const char **plugins;             //  Shared objects to load
    size_t plugin_count;              //  Entries in plugins
    int64_t block_ms;                 //  Block report threshold
    int64_t grace_ms;                 //  Drain time on SIGTERM/SIGINT
    int64_t watchdog_ms;              //  Loop held this long: exit (0: never)
    const char *key_path;             //  Our secret key file: CURVE on, or NULL
    const char *coordinator_key_path; //  The coordinator's public key file
} zj_worker_config_t;

//  Sets config to the defaults.
void zj_worker_config_defaults(zj_worker_config_t *config);

//  Loads plugins, forks the CPU pool and connects. Returns NULL and logs
//  why on failure.
zj_worker_t *zj_worker_new(const zj_worker_config_t *config);

//  Says BYE, stops everything and frees; sets *self_p to NULL.
void zj_worker_destroy(zj_worker_t **self_p);

//  Runs the loop until SIGINT or SIGTERM, then drains: takes no more jobs,
//  lets running ones finish for up to grace_ms, sends their results and
//  waits for their ACK; a second signal stops at once. What still runs is
//  handed back by the BYE of zj_worker_destroy. Returns 0, or
//  ZJ_WORKER_EXIT_NAME_HELD if the coordinator refused our name (another
//  live worker holds it), and refused it again after the wait it asked
//  for (a previous process of ours going silent).
int zj_worker_run(zj_worker_t *self);

#endif
