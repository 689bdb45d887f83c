//  test_admission.c - the admission leaf (coordinator/admission.c): a
//  keyring admits the keys of its folder and reads again only what
//  changed (a flood of lookups parses nothing), sees files added,
//  removed and edited in place, refuses loose files and folders; refusal
//  logs are bounded; sessions remember the keys of awaiting clients.
#include <check.h>
#include <czmq.h>
#include <sys/stat.h>

#include "common/err.h"
#include "common/keys.h"
#include "common/why.h"
#include "coordinator/admission.h"
#include "tests/unit/suites.h"

#define S_NO_RECHECK 3600000 //  recheck_ms: never within a test

static char s_folder[64];

static void
s_setup(void)
{
    strcpy(s_folder, "/tmp/zjob-admission.XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(s_folder));
}

static void
s_teardown(void)
{
    zdir_t *dir = zdir_new(s_folder, NULL);
    if (dir)
        zdir_remove(dir, true);
    zdir_destroy(&dir);
}

//  Writes NAME.key (a fresh public key) into the folder; copies the key
//  into public_key (ZJ_KEY_TEXT) if not NULL.
static void
s_add_key(const char *name, char *public_key)
{
    zcert_t *cert = zcert_new();
    ck_assert_ptr_nonnull(cert);
    char path[PATH_MAX];
    snprintf(path, sizeof path, "%s/%s", s_folder, name);
    ck_assert_int_eq(zcert_save_public(cert, path), 0);
    if (public_key)
        strcpy(public_key, zcert_public_txt(cert));
    zcert_destroy(&cert);
}

static void
s_remove(const char *name)
{
    char path[PATH_MAX];
    snprintf(path, sizeof path, "%s/%s", s_folder, name);
    ck_assert_int_eq(unlink(path), 0);
}

static void
s_chmod(const char *name, mode_t mode)
{
    char path[PATH_MAX];
    snprintf(path, sizeof path, "%s/%s", s_folder, name);
    ck_assert_int_eq(chmod(path, mode), 0);
}

START_TEST(test_keyring_admits_the_key_files_of_its_folder)
{
    char one[ZJ_KEY_TEXT], two[ZJ_KEY_TEXT], other[ZJ_KEY_TEXT];
    s_add_key("one.key", one);
    s_add_key("two.key", two);
    s_add_key("other.pub", other); //  Not NAME.key: not read
    char path[PATH_MAX];
    snprintf(path, sizeof path, "%s/junk.key", s_folder);
    FILE *junk = fopen(path, "w");
    fputs("not a key file\n", junk);
    fclose(junk);
    zj_keyring_t *ring = zj_keyring_new(s_folder, S_NO_RECHECK);
    ck_assert_int_eq(zj_keyring_size(ring), 2);
    ck_assert(zj_keyring_has(ring, one));
    ck_assert(zj_keyring_has(ring, two));
    ck_assert(!zj_keyring_has(ring, other));
    ck_assert(!zj_keyring_has(ring, NULL));
    ck_assert(!zj_keyring_has(ring, ""));
    zj_keyring_destroy(&ring);
    ck_assert_ptr_null(ring);
}
END_TEST

//  What a handshake flood does: many refreshes and lookups of unknown
//  keys. Once the first scan is trusted, they parse no file again.
START_TEST(test_keyring_lookups_parse_nothing_while_nothing_changes)
{
    for (int index = 0; index < 300; index++) {
        char name[32];
        snprintf(name, sizeof name, "k%d.key", index);
        s_add_key(name, NULL);
    }
    zj_keyring_t *ring = zj_keyring_new(s_folder, S_NO_RECHECK);
    ck_assert_int_eq(zj_keyring_size(ring), 300);
    zclock_sleep(150); //  Past the racy window after writing the files
    zj_keyring_refresh(ring, zclock_mono());
    size_t parses = zj_keyring_parses(ring);
    uint64_t generation = zj_keyring_generation(ring);
    for (int round = 0; round < 10000; round++) {
        char key[ZJ_KEY_TEXT], secret[ZJ_KEY_TEXT];
        zmq_curve_keypair(key, secret);
        ck_assert(!zj_keyring_refresh(ring, zclock_mono()));
        ck_assert(!zj_keyring_has(ring, key));
    }
    ck_assert_uint_eq(zj_keyring_parses(ring), parses);
    ck_assert_uint_eq(zj_keyring_generation(ring), generation);
    zj_keyring_destroy(&ring);
}
END_TEST

//  A key file added or removed is seen at the next refresh, even within
//  the same tick of the file system's clock as the last scan.
START_TEST(test_keyring_sees_files_added_and_removed_at_once)
{
    char one[ZJ_KEY_TEXT], two[ZJ_KEY_TEXT];
    s_add_key("one.key", one);
    zj_keyring_t *ring = zj_keyring_new(s_folder, S_NO_RECHECK);
    uint64_t generation = zj_keyring_generation(ring);
    s_add_key("two.key", two);
    ck_assert(zj_keyring_refresh(ring, zclock_mono()));
    ck_assert(zj_keyring_has(ring, two));
    ck_assert_uint_gt(zj_keyring_generation(ring), generation);
    s_remove("one.key");
    ck_assert(zj_keyring_refresh(ring, zclock_mono()));
    ck_assert(!zj_keyring_has(ring, one));
    ck_assert(zj_keyring_has(ring, two));
    zclock_sleep(150);
    s_remove("two.key"); //  Long after the last change, too
    ck_assert(zj_keyring_refresh(ring, zclock_mono()));
    ck_assert_int_eq(zj_keyring_size(ring), 0);
    zj_keyring_destroy(&ring);
}
END_TEST

//  A key file rewritten in place does not change the folder: it is seen
//  by the stat of every file, at most recheck_ms after the last scan.
START_TEST(test_keyring_sees_a_file_edited_in_place_within_recheck)
{
    char one[ZJ_KEY_TEXT], two[ZJ_KEY_TEXT];
    s_add_key("one.key", one);
    zj_keyring_t *ring = zj_keyring_new(s_folder, 200);
    zclock_sleep(150);
    zj_keyring_refresh(ring, zclock_mono());
    zcert_t *cert = zcert_new();
    strcpy(two, zcert_public_txt(cert));
    char path[PATH_MAX];
    snprintf(path, sizeof path, "%s/one.key", s_folder);
    FILE *file = fopen(path, "r+"); //  Same inode, same size
    ck_assert_ptr_nonnull(file);
    char text[4096];
    size_t size = fread(text, 1, sizeof text - 1, file);
    text[size] = '\0';
    char *at = strstr(text, one);
    ck_assert_ptr_nonnull(at);
    memcpy(at, two, ZJ_KEY_TEXT - 1);
    rewind(file);
    fwrite(text, 1, size, file);
    fclose(file);
    zcert_destroy(&cert);
    int64_t start = zclock_mono();
    while (zj_keyring_has(ring, one) && zclock_mono() - start < 5000) {
        zj_keyring_refresh(ring, zclock_mono());
        zclock_sleep(10);
    }
    ck_assert(!zj_keyring_has(ring, one));
    ck_assert(zj_keyring_has(ring, two));
    zj_keyring_destroy(&ring);
}
END_TEST

START_TEST(test_keyring_refuses_key_files_others_may_write)
{
    char one[ZJ_KEY_TEXT];
    s_add_key("one.key", one);
    s_chmod("one.key", 0666);
    zj_keyring_t *ring = zj_keyring_new(s_folder, S_NO_RECHECK);
    ck_assert(!zj_keyring_has(ring, one));
    s_chmod("one.key", 0644); //  Changes its ctime: parsed again
    zj_keyring_refresh(ring, zclock_mono());
    ck_assert(zj_keyring_has(ring, one));
    s_chmod("one.key", 0620);
    zj_keyring_refresh(ring, zclock_mono());
    ck_assert(!zj_keyring_has(ring, one));
    zj_keyring_destroy(&ring);
}
END_TEST

START_TEST(test_admission_refuses_folders_others_may_write)
{
    char why[ZJ_WHY_SIZE] = "";
    ck_assert_int_eq(chmod(s_folder, 0755), 0);
    ck_assert_int_eq(zj_admission_check_folder(s_folder, why), 0);
    ck_assert_int_eq(chmod(s_folder, 0775), 0);
    ck_assert_int_eq(zj_admission_check_folder(s_folder, why), ZJ_EDENIED);
    ck_assert_ptr_nonnull(strstr(why, "may be written by others (mode 775)"));
    ck_assert_ptr_nonnull(strstr(why, "chmod go-w"));
    ck_assert_int_eq(chmod(s_folder, 0700), 0);
    ck_assert_int_eq(zj_admission_check_folder("/nonexistent/zjob", why),
                     ZJ_EUSAGE);
    ck_assert_ptr_nonnull(strstr(why, "is not a folder of keys"));
    const char *domains[] = {"clients"};
    const char *folders[] = {s_folder};
    ck_assert_int_eq(chmod(s_folder, 0777), 0);
    ck_assert_ptr_null(zj_admission_new(domains, folders, 1, why));
    ck_assert_int_eq(chmod(s_folder, 0700), 0);
    zactor_t *actor = zj_admission_new(domains, folders, 1, why);
    ck_assert_ptr_nonnull(actor);
    zactor_destroy(&actor);
}
END_TEST

START_TEST(test_refusals_are_logged_once_then_summed_up)
{
    zj_refusals_t refusals;
    zj_refusals_init(&refusals, "connection refused domain=x",
                     "connections refused domain=x", "key not in y", 5000);
    size_t lines = 0;
    for (int64_t now = 1000; now < 6000; now++)
        lines += zj_refusals_note(&refusals, "10.0.0.1", now);
    ck_assert_uint_eq(lines, 1); //  The first, at once
    ck_assert_uint_eq(refusals.count, 4999);
    ck_assert(!zj_refusals_flush(&refusals, 5999));
    ck_assert(zj_refusals_flush(&refusals, 6000)); //  The summary
    ck_assert_uint_eq(refusals.count, 0);
    ck_assert(!zj_refusals_flush(&refusals, 20000));     //  Nothing to say
    ck_assert(zj_refusals_note(&refusals, NULL, 20001)); //  Long after
    ck_assert(!zj_refusals_note(&refusals, NULL, 20002));
    ck_assert(zj_refusals_note(&refusals, NULL, 25001)); //  Its summary
}
END_TEST

START_TEST(test_sessions_remember_keys_until_pruned)
{
    zj_sessions_t *sessions = zj_sessions_new();
    zframe_t *one = zframe_new("\0\1\2\3\4", 5);
    zframe_t *two = zframe_new("\0\1\2\3\5", 5);
    zj_sessions_remember(sessions, one, "key-one");
    zj_sessions_remember(sessions, two, "key-two");
    zj_sessions_remember(sessions, two, NULL); //  No CURVE: kept as was
    ck_assert_str_eq(zj_sessions_key(sessions, one), "key-one");
    ck_assert_str_eq(zj_sessions_key(sessions, two), "key-two");
    zj_sessions_prune(sessions); //  Both were used since
    ck_assert_uint_eq(zj_sessions_size(sessions), 2);
    ck_assert_str_eq(zj_sessions_key(sessions, two), "key-two");
    zj_sessions_prune(sessions); //  one was not looked up
    ck_assert_uint_eq(zj_sessions_size(sessions), 1);
    ck_assert_ptr_null(zj_sessions_key(sessions, one));
    zj_sessions_prune(sessions);
    zj_sessions_prune(sessions);
    ck_assert_uint_eq(zj_sessions_size(sessions), 0);
    zframe_destroy(&one);
    zframe_destroy(&two);
    zj_sessions_destroy(&sessions);
    ck_assert_ptr_null(sessions);
}
END_TEST

Suite *
test_admission_suite(void)
{
    Suite *suite = suite_create("admission");
    TCase *tcase = tcase_create("admission");
    tcase_add_checked_fixture(tcase, s_setup, s_teardown);
    tcase_set_timeout(tcase, 30);
    tcase_add_test(tcase, test_keyring_admits_the_key_files_of_its_folder);
    tcase_add_test(tcase,
                   test_keyring_lookups_parse_nothing_while_nothing_changes);
    tcase_add_test(tcase, test_keyring_sees_files_added_and_removed_at_once);
    tcase_add_test(tcase,
                   test_keyring_sees_a_file_edited_in_place_within_recheck);
    tcase_add_test(tcase, test_keyring_refuses_key_files_others_may_write);
    tcase_add_test(tcase, test_admission_refuses_folders_others_may_write);
    tcase_add_test(tcase, test_refusals_are_logged_once_then_summed_up);
    tcase_add_test(tcase, test_sessions_remember_keys_until_pruned);
    suite_add_tcase(suite, tcase);
    return suite;
}
