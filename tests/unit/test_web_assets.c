//  test_web_assets.c - the status page's embedded files (web_assets.h):
//  what the server finds by path, and what it must not find.
#include <check.h>
#include <string.h>

#include "coordinator/web_assets.h"
#include "tests/unit/suites.h"

START_TEST(test_paths_outside_the_page_are_not_found)
{
    const char *paths[] = {NULL,
                           "",
                           "/nope",
                           "/../x",
                           "/static/../index.html",
                           "/static/",
                           "/static/app.js/",
                           "/static/app.js?v=1",
                           "static/app.js",
                           "/app.js",
                           "//",
                           "/INDEX.HTML",
                           "/static/embed.sh"};
    for (size_t index = 0; index < sizeof paths / sizeof paths[0]; index++)
        ck_assert_msg(zj_web_asset_find(paths[index]) == NULL, "found '%s'",
                      paths[index] ? paths[index] : "(null)");
}
END_TEST

START_TEST(test_root_is_the_index)
{
    const zj_web_asset_t *root = zj_web_asset_find("/");
    ck_assert_ptr_nonnull(root);
    ck_assert_ptr_eq(root->data, zj_web_asset_find("/index.html")->data);
    ck_assert_str_eq(root->type, "text/html; charset=utf-8");
    ck_assert_uint_gt(root->size, 100);
    ck_assert_uint_eq(root->data[root->size], 0); //  A NUL after the bytes
    ck_assert_uint_eq(strlen((const char *) root->data), root->size);
    ck_assert_ptr_nonnull(strstr((const char *) root->data, "<!doctype html>"));
    ck_assert_ptr_nonnull(strstr((const char *) root->data, "/static/app.js"));
}
END_TEST

START_TEST(test_static_files_have_their_types)
{
    const zj_web_asset_t *script = zj_web_asset_find("/static/app.js");
    ck_assert_ptr_nonnull(script);
    ck_assert_str_eq(script->path, "/static/app.js");
    ck_assert_str_eq(script->type, "text/javascript; charset=utf-8");
    ck_assert_uint_eq(strlen((const char *) script->data), script->size);
    const zj_web_asset_t *style = zj_web_asset_find("/static/style.css");
    ck_assert_ptr_nonnull(style);
    ck_assert_str_eq(style->type, "text/css; charset=utf-8");
}
END_TEST

Suite *
test_web_assets_suite(void)
{
    Suite *suite = suite_create("web_assets");
    TCase *tcase = tcase_create("core");
    tcase_add_test(tcase, test_paths_outside_the_page_are_not_found);
    tcase_add_test(tcase, test_root_is_the_index);
    tcase_add_test(tcase, test_static_files_have_their_types);
    suite_add_tcase(suite, tcase);
    return suite;
}
