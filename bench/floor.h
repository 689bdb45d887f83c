//  floor.h - the messaging floor under a job's round trip (see floor.c).
#ifndef ZJ_BENCH_FLOOR_H
#define ZJ_BENCH_FLOOR_H

//  Times count round trips over the four ZeroMQ hops a job takes, with
//  no work at any stop, into trips (microseconds). Returns 0, or -1 with
//  a line on stderr.
int zj_bench_floor(long count, double *trips);

#endif
