//  keys.c - CURVE key files (see keys.h).
#include <sys/stat.h>

#include "common/err.h"
#include "common/keys.h"
#include "common/log.h"
#include "common/why.h"

static bool
s_exists(const char *path)
{
    struct stat info;
    return stat(path, &info) == 0;
}

int
zj_keys_generate(const char *name, char *why)
{
    char public_path[PATH_MAX], secret_path[PATH_MAX];
    snprintf(public_path, sizeof public_path, "%s.key", name);
    snprintf(secret_path, sizeof secret_path, "%s.key_secret", name);
    if (s_exists(public_path) || s_exists(secret_path))
        return zj_why_fail(ZJ_EUSAGE, why,
                           "%.100s or %.100s exists already: not overwritten",
                           public_path, secret_path);
    zcert_t *cert = zcert_new();
    if (cert == NULL)
        return zj_why_fail(ZJ_ESYS, why, "cannot make a key pair");
    zcert_set_meta(cert, "name", "%s", name);
    mode_t mask = umask(077); //  The secret file is born 0600
    int rc = zcert_save_secret(cert, secret_path);
    umask(mask);
    if (rc == 0)
        rc = zcert_save_public(cert, public_path);
    zcert_destroy(&cert);
    if (rc != 0)
        return zj_why_fail(ZJ_ESYS, why, "cannot write %.150s: %s", public_path,
                           strerror(errno));
    return 0;
}

//  Reads a key file's text as a zconfig tree, or NULL. (zconfig_load
//  leaks its file handle when the text does not parse, and the keys a
//  coordinator admits are read again as they change.)
static zconfig_t *
s_config_load(const char *path)
{
    zchunk_t *chunk = zchunk_slurp(path, 64 * 1024);
    if (chunk == NULL)
        return NULL;
    zconfig_t *root = zconfig_chunk_load(chunk);
    zchunk_destroy(&chunk);
    return root;
}

//  Loads path as czmq writes it; the public key, and the secret one if
//  the file holds it.
static int
s_load(const char *path, zj_keypair_t *keys, char *why)
{
    memset(keys, 0, sizeof *keys);
    zconfig_t *root = s_config_load(path);
    const char *public_key =
        root ? zconfig_get(root, "/curve/public-key", NULL) : NULL;
    const char *secret_key =
        root ? zconfig_get(root, "/curve/secret-key", NULL) : NULL;
    int rc = 0;
    if (root == NULL)
        zj_why_set(why, "cannot read key file %s: %s", path,
                   s_exists(path) ? "not a key file" : strerror(errno));
    else if (public_key == NULL || strlen(public_key) != ZJ_KEY_TEXT - 1)
        zj_why_set(why, "%s holds no public key", path);
    else {
        strcpy(keys->public_key, public_key);
        if (secret_key && strlen(secret_key) == ZJ_KEY_TEXT - 1)
            strcpy(keys->secret_key, secret_key);
    }
    if (why[0])
        rc = ZJ_EUSAGE;
    zconfig_destroy(&root);
    return rc;
}

int
zj_keys_load_secret(const char *path, zj_keypair_t *keys, char *why)
{
    why[0] = '\0';
    struct stat info;
    if (stat(path, &info) == 0 && (info.st_mode & 077))
        return zj_why_fail(ZJ_EDENIED, why,
                           "secret key %s may be read by others (mode %03o): "
                           "run chmod 600 %s",
                           path, (unsigned) (info.st_mode & 0777), path);
    int rc = s_load(path, keys, why);
    if (rc == 0 && keys->secret_key[0] == '\0')
        rc = zj_why_fail(
            ZJ_EUSAGE, why,
            "%s holds no secret key (give NAME.key_secret, not NAME.key)",
            path);
    return rc;
}

int
zj_keys_load_public(const char *path, zj_keypair_t *keys, char *why)
{
    why[0] = '\0';
    int rc = s_load(path, keys, why);
    keys->secret_key[0] = '\0';
    return rc;
}

static int
s_set_text(void *socket, int option, const char *text)
{
    return zmq_setsockopt(socket, option, text, strlen(text));
}

int
zj_keys_make_server(void *socket, const zj_keypair_t *keys, const char *domain)
{
    int server = 1;
    if (zmq_setsockopt(socket, ZMQ_CURVE_SERVER, &server, sizeof server) ||
        s_set_text(socket, ZMQ_CURVE_SECRETKEY, keys->secret_key) ||
        s_set_text(socket, ZMQ_ZAP_DOMAIN, domain))
        return ZJ_ESYS;
    return 0;
}

int
zj_keys_make_client(void *socket, const zj_keypair_t *keys,
                    const char *server_key)
{
    if (s_set_text(socket, ZMQ_CURVE_SERVERKEY, server_key) ||
        s_set_text(socket, ZMQ_CURVE_PUBLICKEY, keys->public_key) ||
        s_set_text(socket, ZMQ_CURVE_SECRETKEY, keys->secret_key))
        return ZJ_ESYS;
    return 0;
}
