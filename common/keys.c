//  keys.c - CURVE key files and the ZAP handler (see keys.h).
#include <dirent.h>
#include <sys/stat.h>

#include "common/err.h"
#include "common/keys.h"
#include "common/log.h"
#include "common/why.h"

#define ZJ_ZAP_ENDPOINT "inproc://zeromq.zap.01"
#define ZJ_ZAP_DOMAINS 4 //  Most domains one handler serves

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

//  Loads path as czmq writes it; the public key, and the secret one if
//  the file holds it.
static int
s_load(const char *path, zj_keypair_t *keys, char *why)
{
    memset(keys, 0, sizeof *keys);
    zconfig_t *root = zconfig_load(path);
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

typedef struct {
    size_t count;
    char *domains[ZJ_ZAP_DOMAINS];
    char *folders[ZJ_ZAP_DOMAINS];
    zj_keyring_t *rings[ZJ_ZAP_DOMAINS];
} zj_zap_config_t;

//  A key not found reads the folder again, at most this often per key.
#define ZJ_KEYRING_MISS_MS 100
#define ZJ_KEYRING_MISSES 1024 //  Keys whose misses are remembered

struct zj_keyring {
    char *folder;     //  Where the NAME.key files are
    zhashx_t *admits; //  Public keys (Z85) -> "" : a set
    zhashx_t *misses; //  Public keys not found -> zclock_mono() of it
};

zj_keyring_t *
zj_keyring_new(const char *folder)
{
    zj_keyring_t *self = calloc(1, sizeof *self);
    assert(self);
    self->folder = strdup(folder);
    self->admits = zhashx_new();
    self->misses = zhashx_new();
    zj_keyring_refresh(self);
    return self;
}

void
zj_keyring_destroy(zj_keyring_t **self_p)
{
    assert(self_p);
    if (*self_p) {
        zhashx_destroy(&(*self_p)->admits);
        zhashx_destroy(&(*self_p)->misses);
        free((*self_p)->folder);
        free(*self_p);
        *self_p = NULL;
    }
}

void
zj_keyring_refresh(zj_keyring_t *self)
{
    assert(self);
    zhashx_purge(self->admits);
    DIR *dir = opendir(self->folder);
    if (dir == NULL)
        return;
    struct dirent *entry;
    while ((entry = readdir(dir))) {
        size_t length = strlen(entry->d_name);
        if (length < 5 || strcmp(entry->d_name + length - 4, ".key"))
            continue;
        char path[PATH_MAX], why[ZJ_WHY_SIZE];
        snprintf(path, sizeof path, "%s/%s", self->folder, entry->d_name);
        zj_keypair_t keys;
        if (zj_keys_load_public(path, &keys, why) == 0)
            zhashx_update(self->admits, keys.public_key, "");
    }
    closedir(dir);
}

bool
zj_keyring_has(zj_keyring_t *self, const char *public_key)
{
    assert(self);
    if (public_key == NULL)
        return false;
    if (zhashx_lookup(self->admits, public_key))
        return true;
    if (*public_key == '\0')
        return false;
    //  Perhaps added since the last read (and admitted at the handshake):
    //  read again, unless this key was just missed (a revoked peer that
    //  goes on talking must not make us read the folder per message).
    int64_t now = zclock_mono();
    void *missed = zhashx_lookup(self->misses, public_key);
    if (missed && now - (int64_t) (intptr_t) missed < ZJ_KEYRING_MISS_MS)
        return false;
    if (zhashx_size(self->misses) >= ZJ_KEYRING_MISSES)
        zhashx_purge(self->misses);
    zhashx_update(self->misses, public_key, (void *) (intptr_t) now);
    zj_keyring_refresh(self);
    return zhashx_lookup(self->admits, public_key) != NULL;
}

//  The index of domain, or -1.
static int
s_domain_index(const zj_zap_config_t *config, const char *domain)
{
    for (size_t index = 0; index < config->count; index++)
        if (domain && streq(config->domains[index], domain))
            return (int) index;
    return -1;
}

//  Answers one ZAP request (RFC 27): 200 with the key as user id, or 400.
static void
s_zap_answer(zsock_t *handler, const zj_zap_config_t *config)
{
    zmsg_t *request = zmsg_recv(handler);
    if (request == NULL)
        return;
    char *version = zmsg_popstr(request);
    char *sequence = zmsg_popstr(request);
    char *domain = zmsg_popstr(request);
    char *address = zmsg_popstr(request);
    zframe_t *identity = zmsg_pop(request);
    char *mechanism = zmsg_popstr(request);
    zframe_t *credential = zmsg_pop(request);
    char public_key[ZJ_KEY_TEXT] = "";
    if (credential && zframe_size(credential) == 32)
        zmq_z85_encode(public_key, zframe_data(credential), 32);
    int which = s_domain_index(config, domain);
    const char *folder = which >= 0 ? config->folders[which] : NULL;
    if (which >= 0) //  Read the folder again: keys come and go
        zj_keyring_refresh(config->rings[which]);
    bool admitted = mechanism && streq(mechanism, "CURVE") && which >= 0 &&
                    zj_keyring_has(config->rings[which], public_key);
    if (!admitted)
        zj_log_warning("connection refused domain=%s address=%s "
                       "reason=\"key not in %s\"",
                       domain ? domain : "?", address ? address : "?",
                       folder ? folder : "any folder");
    zsock_send(handler, "ssssss", "1.0", sequence ? sequence : "",
               admitted ? "200" : "400", admitted ? "OK" : "key not authorized",
               admitted ? public_key : "", "");
    zstr_free(&version);
    zstr_free(&sequence);
    zstr_free(&domain);
    zstr_free(&address);
    zstr_free(&mechanism);
    zframe_destroy(&identity);
    zframe_destroy(&credential);
    zmsg_destroy(&request);
}

static void
s_zap_config_destroy(zj_zap_config_t **config_p)
{
    zj_zap_config_t *config = *config_p;
    for (size_t index = 0; index < config->count; index++) {
        free(config->domains[index]);
        free(config->folders[index]);
        zj_keyring_destroy(&config->rings[index]);
    }
    free(config);
    *config_p = NULL;
}

static void
s_zap_actor(zsock_t *pipe, void *args)
{
    zj_zap_config_t *config = args;
    zsock_t *handler = zsock_new(ZMQ_REP);
    if (handler == NULL || zsock_bind(handler, ZJ_ZAP_ENDPOINT) != 0) {
        zsock_destroy(&handler);
        zsock_signal(pipe, 1);
        s_zap_config_destroy(&config);
        return;
    }
    zsock_signal(pipe, 0);
    zpoller_t *poller = zpoller_new(pipe, handler, NULL);
    while (true) {
        void *which = zpoller_wait(poller, -1);
        if (which == handler)
            s_zap_answer(handler, config);
        else
            break; //  $TERM from the pipe, or interrupted
    }
    zpoller_destroy(&poller);
    zsock_destroy(&handler);
    s_zap_config_destroy(&config);
}

zactor_t *
zj_keys_authenticator_new(const char **domains, const char **folders,
                          size_t count, char *why)
{
    assert(count <= ZJ_ZAP_DOMAINS);
    for (size_t index = 0; index < count; index++) {
        struct stat info;
        if (stat(folders[index], &info) != 0 || !S_ISDIR(info.st_mode)) {
            zj_why_set(why, "%s is not a folder of keys", folders[index]);
            return NULL;
        }
    }
    zj_zap_config_t *config = calloc(1, sizeof *config);
    assert(config);
    config->count = count;
    for (size_t index = 0; index < count; index++) {
        config->domains[index] = strdup(domains[index]);
        config->folders[index] = strdup(folders[index]);
        config->rings[index] = zj_keyring_new(folders[index]);
    }
    zactor_t *actor = zactor_new(s_zap_actor, config);
    if (actor == NULL)
        zj_why_set(why, "cannot start the key checker");
    return actor;
}
