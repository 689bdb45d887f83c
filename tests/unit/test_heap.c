//  test_heap.c - the position-tracking binary heap (common/heap.c).
#include <check.h>
#include <stdlib.h>

#include "common/heap.h"
#include "tests/unit/suites.h"

typedef struct {
    int key;
    size_t position;
} s_item_t;

static int
s_compare(const void *a, const void *b)
{
    return ((const s_item_t *) a)->key - ((const s_item_t *) b)->key;
}

static void
s_moved(void *item, size_t position)
{
    ((s_item_t *) item)->position = position;
}

START_TEST(test_heap_pops_in_order)
{
    zj_heap_t *heap = zj_heap_new(s_compare, s_moved);
    s_item_t items[500];
    for (int index = 0; index < 500; index++) {
        items[index].key = (index * 7919) % 500;
        zj_heap_push(heap, &items[index]);
    }
    ck_assert_uint_eq(zj_heap_size(heap), 500);
    for (int expected = 0; expected < 500; expected++) {
        s_item_t *item = zj_heap_pop(heap);
        ck_assert_int_eq(item->key, expected);
        ck_assert_uint_eq(item->position, ZJ_HEAP_NONE);
    }
    ck_assert_ptr_null(zj_heap_pop(heap));
    zj_heap_destroy(&heap);
    ck_assert_ptr_null(heap);
}
END_TEST

START_TEST(test_heap_remove_and_update_by_position)
{
    zj_heap_t *heap = zj_heap_new(s_compare, s_moved);
    s_item_t items[100];
    for (int index = 0; index < 100; index++) {
        items[index].key = index;
        zj_heap_push(heap, &items[index]);
    }
    for (int index = 0; index < 100; index += 2)
        zj_heap_remove(heap, items[index].position);
    items[99].key = -1;
    zj_heap_update(heap, items[99].position);
    ck_assert_ptr_eq(zj_heap_pop(heap), &items[99]);
    for (int expected = 1; expected < 99; expected += 2)
        ck_assert_int_eq(((s_item_t *) zj_heap_pop(heap))->key, expected);
    ck_assert_uint_eq(zj_heap_size(heap), 0);
    zj_heap_destroy(&heap);
}
END_TEST

Suite *
test_heap_suite(void)
{
    Suite *suite = suite_create("heap");
    TCase *tcase = tcase_create("core");
    tcase_add_test(tcase, test_heap_pops_in_order);
    tcase_add_test(tcase, test_heap_remove_and_update_by_position);
    suite_add_tcase(suite, tcase);
    return suite;
}
