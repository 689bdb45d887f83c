//  main.c - runs every Check suite of suites.h in one SRunner.
//  CK_RUN_SUITE=store runs one suite; CK_FORK=no runs without fork (gdb).
#include <check.h>
#include <stdlib.h>

#include "tests/unit/suites.h"

int
main(void)
{
    SRunner *runner = srunner_create(NULL);
#define XX(name) srunner_add_suite(runner, test_##name##_suite());
    ZJ_SUITE_LIST(XX)
#undef XX
    srunner_run_all(runner, CK_NORMAL);
    int failed = srunner_ntests_failed(runner);
    srunner_free(runner);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
