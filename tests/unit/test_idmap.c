//  test_idmap.c - the open addressing id map (common/idmap.c): lookups,
//  growth, backward-shift deletes (wrap-around at the table end included),
//  iteration with deletes, and draining.
#include <check.h>
#include <stdbool.h>
#include <stdlib.h>

#include "common/idmap.h"
#include "tests/unit/suites.h"

#define S_MANY 100000  //  Enough for 13 doublings from 16 slots
#define S_DRAIN 500000 //  Ids drained, twice over

//  A small deterministic generator (xorshift64*).
static uint64_t
s_random(uint64_t *state)
{
    *state ^= *state >> 12;
    *state ^= *state << 25;
    *state ^= *state >> 27;
    return *state * 0x2545f4914f6cdd1dULL;
}

//  The slot idmap.c puts id in first with capacity slots (its mix). If
//  the mix changes, the tests that use it still check correctness; they
//  just stop aiming at the table's end.
static size_t
s_home(int64_t id, size_t capacity)
{
    uint64_t hash = (uint64_t) id;
    hash ^= hash >> 33;
    hash *= 0xff51afd7ed558ccdULL;
    hash ^= hash >> 33;
    return (size_t) hash & (capacity - 1);
}

//  Fills ids with count ids whose home is among the last slots of a new
//  (16-slot) map, so their cluster wraps around to slot 0.
static void
s_wrapping_ids(int64_t *ids, size_t count)
{
    size_t found = 0;
    for (int64_t id = 1; found < count; id++)
        if (s_home(id, 16) >= 13)
            ids[found++] = id;
}

//  Asserts that map holds exactly the ids[index] with present[index],
//  each mapped to &ids[index].
static void
s_assert_holds(zj_idmap_t *map, int64_t *ids, const bool *present, size_t count)
{
    size_t expected = 0;
    for (size_t index = 0; index < count; index++) {
        void *item = zj_idmap_lookup(map, ids[index]);
        if (present[index]) {
            ck_assert_ptr_eq(item, &ids[index]);
            expected++;
        } else
            ck_assert_ptr_null(item);
    }
    ck_assert_uint_eq(zj_idmap_size(map), expected);
}

START_TEST(test_idmap_insert_lookup_delete)
{
    zj_idmap_t *map = zj_idmap_new();
    int64_t ids[] = {1, 2, 42, INT64_MAX};
    for (size_t index = 0; index < 4; index++)
        ck_assert_int_eq(zj_idmap_insert(map, ids[index], &ids[index]), 0);
    ck_assert_uint_eq(zj_idmap_size(map), 4);
    ck_assert_ptr_eq(zj_idmap_lookup(map, 42), &ids[2]);
    ck_assert_ptr_eq(zj_idmap_lookup(map, INT64_MAX), &ids[3]);
    ck_assert_ptr_null(zj_idmap_lookup(map, 3));
    ck_assert_ptr_null(zj_idmap_lookup(map, 0));
    ck_assert_ptr_null(zj_idmap_lookup(map, -42));

    ck_assert_ptr_eq(zj_idmap_delete(map, 2), &ids[1]);
    ck_assert_ptr_null(zj_idmap_delete(map, 2));
    ck_assert_ptr_null(zj_idmap_delete(map, 0));
    ck_assert_ptr_null(zj_idmap_delete(map, -1));
    ck_assert_ptr_null(zj_idmap_lookup(map, 2));
    ck_assert_uint_eq(zj_idmap_size(map), 3);

    zj_idmap_destroy(&map);
    ck_assert_ptr_null(map);
    zj_idmap_destroy(&map);
}
END_TEST

START_TEST(test_idmap_refuses_duplicates)
{
    zj_idmap_t *map = zj_idmap_new();
    int first = 1, second = 2;
    ck_assert_int_eq(zj_idmap_insert(map, 7, &first), 0);
    ck_assert_int_eq(zj_idmap_insert(map, 7, &second), -1);
    ck_assert_ptr_eq(zj_idmap_lookup(map, 7), &first);
    ck_assert_uint_eq(zj_idmap_size(map), 1);
    //  Once deleted, the id may come back.
    ck_assert_ptr_eq(zj_idmap_delete(map, 7), &first);
    ck_assert_int_eq(zj_idmap_insert(map, 7, &second), 0);
    ck_assert_ptr_eq(zj_idmap_lookup(map, 7), &second);
    zj_idmap_destroy(&map);
}
END_TEST

START_TEST(test_idmap_grows_and_deletes_against_a_reference)
{
    zj_idmap_t *map = zj_idmap_new();
    int64_t *ids = calloc(S_MANY, sizeof *ids);
    bool *present = calloc(S_MANY, sizeof *present);
    ck_assert(ids && present);
    for (size_t index = 0; index < S_MANY; index++) {
        ids[index] = 1 + (int64_t) index * 1000003;
        ck_assert_int_eq(zj_idmap_insert(map, ids[index], &ids[index]), 0);
        present[index] = true;
    }
    s_assert_holds(map, ids, present, S_MANY);

    //  Random deletes, some of absent ids, and some inserts again.
    uint64_t state = 0x9e3779b97f4a7c15ULL;
    for (size_t round = 0; round < 3 * S_MANY; round++) {
        size_t index = s_random(&state) % S_MANY;
        if (round % 4 == 3) {
            int rc = zj_idmap_insert(map, ids[index], &ids[index]);
            ck_assert_int_eq(rc, present[index] ? -1 : 0);
            present[index] = true;
            continue;
        }
        void *item = zj_idmap_delete(map, ids[index]);
        ck_assert_ptr_eq(item, present[index] ? &ids[index] : NULL);
        present[index] = false;
    }
    s_assert_holds(map, ids, present, S_MANY);
    zj_idmap_destroy(&map);
    free(ids);
    free(present);
}
END_TEST

//  Twelve ids (the most 16 slots hold) in one cluster from slot 13 round
//  to slot 8: each delete, at every place in it, leaves the rest found.
START_TEST(test_idmap_delete_keeps_the_cluster_findable)
{
    int64_t ids[12];
    s_wrapping_ids(ids, 12);
    for (size_t gone = 0; gone < 12; gone++) {
        zj_idmap_t *map = zj_idmap_new();
        bool present[12];
        for (size_t index = 0; index < 12; index++) {
            ck_assert_int_eq(zj_idmap_insert(map, ids[index], &ids[index]), 0);
            present[index] = true;
        }
        //  Delete gone first, then the others (5 is prime to 12, so
        //  the steps reach each index once).
        for (size_t step = 0; step < 12; step++) {
            size_t index = (gone + step * 5) % 12;
            ck_assert(present[index]);
            ck_assert_ptr_eq(zj_idmap_delete(map, ids[index]), &ids[index]);
            present[index] = false;
            s_assert_holds(map, ids, present, 12);
        }
        zj_idmap_destroy(&map);
    }
}
END_TEST

//  Counts the visits of an iteration into visits[], by index into ids.
static size_t
s_iterate(zj_idmap_t *map, int64_t *ids, size_t *visits, size_t count)
{
    size_t total = 0;
    for (int64_t *item = zj_idmap_first(map); item; item = zj_idmap_next(map)) {
        size_t index = (size_t) (item - ids);
        ck_assert_uint_lt(index, count);
        visits[index]++;
        total++;
    }
    return total;
}

START_TEST(test_idmap_iteration_visits_each_once)
{
    enum { count = 1000 };
    int64_t ids[count];
    size_t visits[count] = {0};
    zj_idmap_t *map = zj_idmap_new();
    ck_assert_ptr_null(zj_idmap_first(map));
    for (size_t index = 0; index < count; index++) {
        ids[index] = 1 + (int64_t) index * 7919;
        zj_idmap_insert(map, ids[index], &ids[index]);
    }
    ck_assert_uint_eq(s_iterate(map, ids, visits, count), count);
    for (size_t index = 0; index < count; index++)
        ck_assert_uint_eq(visits[index], 1);
    ck_assert_ptr_null(zj_idmap_next(map));
    zj_idmap_destroy(&map);
}
END_TEST

//  Deleting the current item, in a wrapping cluster and in a large map,
//  neither skips nor repeats the others.
static void
s_iterate_deleting(int64_t *ids, size_t count, size_t every)
{
    zj_idmap_t *map = zj_idmap_new();
    size_t *visits = calloc(count, sizeof *visits);
    bool *present = calloc(count, sizeof *present);
    ck_assert(visits && present);
    for (size_t index = 0; index < count; index++) {
        zj_idmap_insert(map, ids[index], &ids[index]);
        present[index] = true;
    }
    size_t seen = 0;
    for (int64_t *item = zj_idmap_first(map); item; item = zj_idmap_next(map)) {
        size_t index = (size_t) (item - ids);
        visits[index]++;
        if (seen++ % every == 0) {
            ck_assert_ptr_eq(zj_idmap_delete(map, *item), item);
            present[index] = false;
        }
    }
    ck_assert_uint_eq(seen, count);
    for (size_t index = 0; index < count; index++)
        ck_assert_uint_eq(visits[index], 1);
    s_assert_holds(map, ids, present, count);
    zj_idmap_destroy(&map);
    free(visits);
    free(present);
}

START_TEST(test_idmap_iteration_survives_deleting_the_current)
{
    int64_t wrapping[12];
    s_wrapping_ids(wrapping, 12);
    for (size_t every = 1; every <= 3; every++)
        s_iterate_deleting(wrapping, 12, every);
    int64_t *ids = calloc(S_MANY, sizeof *ids);
    ck_assert_ptr_nonnull(ids);
    for (size_t index = 0; index < S_MANY; index++)
        ids[index] = 1 + (int64_t) index;
    s_iterate_deleting(ids, S_MANY, 1);
    s_iterate_deleting(ids, S_MANY, 2);
    free(ids);
}
END_TEST

//  Drains by first and delete, inserting more halfway: every id comes out
//  once. A first that scanned from the table's start every time would
//  make this quadratic (some 10^11 probes, an hour) and hit the timeout;
//  linear, it takes well under a second.
START_TEST(test_idmap_drains)
{
    int64_t *ids = calloc(2 * S_DRAIN, sizeof *ids);
    size_t *visits = calloc(2 * S_DRAIN, sizeof *visits);
    ck_assert(ids && visits);
    zj_idmap_t *map = zj_idmap_new();
    for (size_t index = 0; index < 2 * S_DRAIN; index++)
        ids[index] = 1 + (int64_t) index;
    for (size_t index = 0; index < S_DRAIN; index++)
        zj_idmap_insert(map, ids[index], &ids[index]);
    size_t drained = 0;
    int64_t *item;
    while ((item = zj_idmap_first(map))) {
        visits[item - ids]++;
        ck_assert_ptr_eq(zj_idmap_delete(map, *item), item);
        if (++drained == S_DRAIN / 2)
            for (size_t index = S_DRAIN; index < 2 * S_DRAIN; index++)
                zj_idmap_insert(map, ids[index], &ids[index]);
    }
    ck_assert_uint_eq(drained, 2 * S_DRAIN);
    ck_assert_uint_eq(zj_idmap_size(map), 0);
    for (size_t index = 0; index < 2 * S_DRAIN; index++)
        ck_assert_uint_eq(visits[index], 1);
    //  Drained, the map still works.
    ck_assert_int_eq(zj_idmap_insert(map, 5, &ids[4]), 0);
    ck_assert_ptr_eq(zj_idmap_first(map), &ids[4]);
    zj_idmap_destroy(&map);
    free(ids);
    free(visits);
}
END_TEST

Suite *
test_idmap_suite(void)
{
    Suite *suite = suite_create("idmap");
    TCase *tcase = tcase_create("core");
    tcase_set_timeout(tcase, 30);
    tcase_add_test(tcase, test_idmap_insert_lookup_delete);
    tcase_add_test(tcase, test_idmap_refuses_duplicates);
    tcase_add_test(tcase, test_idmap_grows_and_deletes_against_a_reference);
    tcase_add_test(tcase, test_idmap_delete_keeps_the_cluster_findable);
    tcase_add_test(tcase, test_idmap_iteration_visits_each_once);
    tcase_add_test(tcase, test_idmap_iteration_survives_deleting_the_current);
    suite_add_tcase(suite, tcase);
    TCase *drain = tcase_create("drain");
    tcase_set_timeout(drain, 60);
    tcase_add_test(drain, test_idmap_drains);
    suite_add_tcase(suite, drain);
    return suite;
}
