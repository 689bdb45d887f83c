//  cpu_child.h - one process of the CPU pool, seen from the parent:
//  forking it and naming how it ended. After fork the process reads
//  requests from its end of a socketpair (cpu_wire.h), runs each job's
//  handler and writes the reply, one job at a time; that body is private
//  to cpu_child.c. Used only by cpu_pool.c.
#ifndef ZJ_CPU_CHILD_H
#define ZJ_CPU_CHILD_H

#include <sys/types.h>

#include "worker/registry.h"

//  Forks a process that runs handlers from registry (inherited through
//  fork) until its socketpair is closed. parent is the pid the process
//  checks it still belongs to (the caller's). The process restores
//  default signals, dies with its parent, keeps only stdio and its end of
//  the socketpair, and never touches libuv, zmq or czmq's sockets: it
//  _exit()s with EXIT_SUCCESS on EOF between jobs and EXIT_FAILURE on a
//  malformed request or a lost parent. On success returns 0, sets *pid_p
//  and *fd_p to the parent's end (non-blocking, close-on-exec; the caller
//  owns it and reaps the pid). On failure logs why and returns ZJ_ESYS.
int zj_cpu_child_spawn(pid_t parent, const zj_registry_t *registry,
                       pid_t *pid_p, int *fd_p);

//  Writes into error[ZJ_WHY_SIZE] how a process ended, from its waitpid
//  status (-1 if unknown): "process crashed: killed by signal SIGSEGV
//  (Segmentation fault)", "process exited with status 1", ...
void zj_cpu_child_describe_status(int status, char *error);

#endif
