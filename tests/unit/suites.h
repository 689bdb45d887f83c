//  suites.h - one line per Check suite, read by tests/unit/main.c.
//  Each suite lives in tests/unit/test_<name>.c and exports
//  Suite *test_<name>_suite(void).
#ifndef ZJ_SUITES_H
#define ZJ_SUITES_H

#include <check.h>

#define ZJ_SUITE_LIST(XX)                                                      \
    XX(msg)                                                                    \
    XX(store)                                                                  \
    XX(store_faults)                                                           \
    XX(store_lock)                                                             \
    XX(journal)                                                                \
    XX(heap)                                                                   \
    XX(deadlines)                                                              \
    XX(idmap)                                                                  \
    XX(scheduler)                                                              \
    XX(futures)                                                                \
    XX(lifecycle)                                                              \
    XX(deps)                                                                   \
    XX(parents)                                                                \
    XX(progress)                                                               \
    XX(worker_ep)                                                              \
    XX(client_ep)                                                              \
    XX(outbox)                                                                 \
    XX(peers)                                                                  \
    XX(duration)                                                               \
    XX(coro)                                                                   \
    XX(watchdog)                                                               \
    XX(await)                                                                  \
    XX(http)                                                                   \
    XX(cpu_pool)                                                               \
    XX(handlers)                                                               \
    XX(unacked)                                                                \
    XX(results)                                                                \
    XX(flags)                                                                  \
    XX(policy)                                                                 \
    XX(json)                                                                   \
    XX(admission)                                                              \
    XX(zjob)                                                                   \
    XX(retention)                                                              \
    XX(cron)                                                                   \
    XX(schedules)                                                              \
    XX(throttle)                                                               \
    XX(stats)                                                                  \
    XX(listing)                                                                \
    XX(retry)                                                                  \
    XX(unique)                                                                 \
    XX(metrics)                                                                \
    XX(http_ep)                                                                \
    XX(web_assets)

#define XX(name) Suite *test_##name##_suite(void);
ZJ_SUITE_LIST(XX)
#undef XX

#endif
