//  admission.c - keyrings, the ZAP handler and bounded refusal logs (see
//  admission.h).
#include <dirent.h>
#include <sys/stat.h>

#include "common/err.h"
#include "common/keys.h"
#include "common/log.h"
#include "common/why.h"
#include "coordinator/admission.h"

#define ZJ_ZAP_ENDPOINT "inproc://zeromq.zap.01"
#define ZJ_ZAP_DOMAINS 4 //  Most domains one handler serves
//  A file or folder changed less than this before a scan may change
//  again within the same tick of the file system's clock without its
//  stat showing it: it is looked at again at the next refresh.
#define ZJ_RACY_NS (100 * 1000 * 1000)

//  What a stat says about a file or folder that a change would alter.
typedef struct {
    dev_t dev;
    ino_t ino;
    mode_t mode;
    off_t size;
    struct timespec mtime, ctime;
} zj_stamp_t;

static zj_stamp_t
s_stamp(const struct stat *info)
{
    return (zj_stamp_t){info->st_dev,  info->st_ino,  info->st_mode,
                        info->st_size, info->st_mtim, info->st_ctim};
}

//  True if stamp's mtime or ctime is too recent to be trusted.
static bool
s_stamp_racy(const zj_stamp_t *stamp)
{
    struct timespec now;
    clock_gettime(CLOCK_REALTIME, &now);
    int64_t now_ns = (int64_t) now.tv_sec * 1000000000 + now.tv_nsec;
    const struct timespec *times[] = {&stamp->mtime, &stamp->ctime};
    for (size_t index = 0; index < 2; index++) {
        int64_t ns =
            (int64_t) times[index]->tv_sec * 1000000000 + times[index]->tv_nsec;
        if (now_ns - ns < ZJ_RACY_NS)
            return true;
    }
    return false;
}

static bool
s_stamp_equal(const zj_stamp_t *one, const zj_stamp_t *other)
{
    return one->dev == other->dev && one->ino == other->ino &&
           one->mode == other->mode && one->size == other->size &&
           one->mtime.tv_sec == other->mtime.tv_sec &&
           one->mtime.tv_nsec == other->mtime.tv_nsec &&
           one->ctime.tv_sec == other->ctime.tv_sec &&
           one->ctime.tv_nsec == other->ctime.tv_nsec;
}

int
zj_admission_check_folder(const char *folder, char *why)
{
    struct stat info;
    if (stat(folder, &info) != 0 || !S_ISDIR(info.st_mode))
        return zj_why_fail(ZJ_EUSAGE, why, "%s is not a folder of keys",
                           folder);
    if (info.st_mode & 022)
        return zj_why_fail(ZJ_EDENIED, why,
                           "key folder %s may be written by others (mode "
                           "%03o): anyone who can add a key is admitted; run "
                           "chmod go-w %s",
                           folder, (unsigned) (info.st_mode & 0777), folder);
    return 0;
}

//  --- keyring

typedef struct {
    zj_stamp_t stamp;             //  The file as last parsed
    char public_key[ZJ_KEY_TEXT]; //  Its key, or "" if not admitted
    bool seen;                    //  Found by the current scan
    bool racy;                    //  Parsed too soon after a change
} zj_key_file_t;

struct zj_keyring {
    char *folder;        //  Where the NAME.key files are
    int64_t recheck_ms;  //  Stat every file at least this often
    zj_stamp_t stamp;    //  The folder at the last scan
    bool scanned;        //  stamp is valid
    int64_t scanned_ms;  //  zclock_mono() of the last scan
    bool racy;           //  The last scan came too soon after a change
    zhashx_t *files;     //  File name -> zj_key_file_t *
    zhashx_t *admits;    //  Public keys (Z85) -> "" : a set
    uint64_t generation; //  Changes of admits
    size_t parses;       //  Key files parsed
};

zj_keyring_t *
zj_keyring_new(const char *folder, int recheck_ms)
{
    assert(folder && recheck_ms >= 0);
    zj_keyring_t *self = calloc(1, sizeof *self);
    assert(self);
    self->folder = strdup(folder);
    self->recheck_ms = recheck_ms;
    self->files = zhashx_new();
    zhashx_set_destructor(self->files, (zhashx_destructor_fn *) zstr_free);
    self->admits = zhashx_new();
    zj_keyring_refresh(self, zclock_mono());
    return self;
}

void
zj_keyring_destroy(zj_keyring_t **self_p)
{
    assert(self_p);
    if (*self_p) {
        zhashx_destroy(&(*self_p)->files);
        zhashx_destroy(&(*self_p)->admits);
        free((*self_p)->folder);
        free(*self_p);
        *self_p = NULL;
    }
}

//  Parses the key file path (whose stat is info) into file, unless group
//  or others may write it; says why a file is not admitted, unless quiet
//  (it was said for this stat already).
static void
s_parse(zj_keyring_t *self, zj_key_file_t *file, const char *path,
        const struct stat *info, bool quiet)
{
    self->parses++;
    file->public_key[0] = '\0';
    if (info->st_mode & 022) {
        if (!quiet)
            zj_log_warning(
                "key file not admitted file=%s reason=\"may be written "
                "by others (mode %03o): run chmod go-w %s\"",
                path, (unsigned) (info->st_mode & 0777), path);
        return;
    }
    zj_keypair_t keys;
    char why[ZJ_WHY_SIZE] = "";
    if (zj_keys_load_public(path, &keys, why) == 0)
        strcpy(file->public_key, keys.public_key);
    else if (!quiet)
        zj_log_warning("key file not admitted file=%s reason=\"%s\"", path,
                       why);
}

//  Looks at one directory entry: parses it if it is new or changed.
static void
s_scan_entry(zj_keyring_t *self, const char *name)
{
    size_t length = strlen(name);
    if (length < 5 || strcmp(name + length - 4, ".key"))
        return;
    char path[PATH_MAX];
    snprintf(path, sizeof path, "%s/%s", self->folder, name);
    struct stat info;
    if (stat(path, &info) != 0 || !S_ISREG(info.st_mode))
        return;
    zj_stamp_t stamp = s_stamp(&info);
    zj_key_file_t *file = zhashx_lookup(self->files, name);
    bool again = file && s_stamp_equal(&file->stamp, &stamp);
    if (file == NULL) {
        file = calloc(1, sizeof *file);
        assert(file);
        zhashx_insert(self->files, name, file);
    } else if (again && !file->racy) {
        file->seen = true;
        return;
    }
    file->stamp = stamp;
    file->seen = true;
    file->racy = s_stamp_racy(&stamp);
    self->racy |= file->racy;
    s_parse(self, file, path, &info, again);
}

//  Drops the files the last scan did not see; clears the marks.
static void
s_drop_unseen(zj_keyring_t *self)
{
    zlistx_t *gone = zlistx_new();
    for (zj_key_file_t *file = zhashx_first(self->files); file;
         file = zhashx_next(self->files)) {
        if (!file->seen)
            zlistx_add_end(gone, (void *) zhashx_cursor(self->files));
        file->seen = false;
    }
    for (const char *name = zlistx_first(gone); name; name = zlistx_next(gone))
        zhashx_delete(self->files, name);
    zlistx_destroy(&gone);
}

//  Makes admits the keys of the files; true if that changed it.
static bool
s_rebuild(zj_keyring_t *self)
{
    zhashx_t *admits = zhashx_new();
    for (zj_key_file_t *file = zhashx_first(self->files); file;
         file = zhashx_next(self->files))
        if (file->public_key[0])
            zhashx_update(admits, file->public_key, "");
    bool changed = zhashx_size(admits) != zhashx_size(self->admits);
    for (void *item = zhashx_first(admits); item && !changed;
         item = zhashx_next(admits))
        changed = zhashx_lookup(self->admits, zhashx_cursor(admits)) == NULL;
    zhashx_destroy(&self->admits);
    self->admits = admits;
    if (changed)
        self->generation++;
    return changed;
}

//  Reads the folder: stats every key file, parses the changed ones.
static bool
s_scan(zj_keyring_t *self, const zj_stamp_t *stamp, int64_t now_ms)
{
    self->racy = stamp && s_stamp_racy(stamp);
    DIR *dir = opendir(self->folder);
    if (dir) {
        struct dirent *entry;
        while ((entry = readdir(dir)))
            s_scan_entry(self, entry->d_name);
        closedir(dir);
    }
    s_drop_unseen(self);
    if (stamp && (stamp->mode & 022) &&
        (!self->scanned || !s_stamp_equal(stamp, &self->stamp)))
        zj_log_warning("key folder may be written by others folder=%s "
                       "mode=%03o: anyone who can add a key is admitted; run "
                       "chmod go-w %s",
                       self->folder, (unsigned) (stamp->mode & 0777),
                       self->folder);
    self->scanned = stamp != NULL;
    if (stamp)
        self->stamp = *stamp;
    self->scanned_ms = now_ms;
    return s_rebuild(self);
}

bool
zj_keyring_refresh(zj_keyring_t *self, int64_t now_ms)
{
    assert(self);
    struct stat info;
    if (stat(self->folder, &info) != 0) //  Gone: nothing is admitted
        return s_scan(self, NULL, now_ms);
    zj_stamp_t stamp = s_stamp(&info);
    if (self->scanned && !self->racy && s_stamp_equal(&stamp, &self->stamp) &&
        now_ms - self->scanned_ms < self->recheck_ms)
        return false;
    return s_scan(self, &stamp, now_ms);
}

bool
zj_keyring_has(zj_keyring_t *self, const char *public_key)
{
    assert(self);
    return public_key && zhashx_lookup(self->admits, public_key) != NULL;
}

size_t
zj_keyring_size(const zj_keyring_t *self)
{
    assert(self);
    return zhashx_size(self->admits);
}

uint64_t
zj_keyring_generation(const zj_keyring_t *self)
{
    assert(self);
    return self->generation;
}

size_t
zj_keyring_parses(const zj_keyring_t *self)
{
    assert(self);
    return self->parses;
}

//  --- refusals

void
zj_refusals_init(zj_refusals_t *self, const char *one, const char *many,
                 const char *reason, int64_t interval_ms)
{
    assert(self && one && many && reason && interval_ms >= 0);
    *self = (zj_refusals_t){
        .one = one, .many = many, .reason = reason, .interval_ms = interval_ms};
}

static bool
s_due(const zj_refusals_t *self, int64_t now_ms)
{
    return !self->logged || now_ms - self->logged_ms >= self->interval_ms;
}

bool
zj_refusals_note(zj_refusals_t *self, const char *address, int64_t now_ms)
{
    assert(self);
    address = address && *address ? address : "?";
    if (self->count == 0 && s_due(self, now_ms)) {
        zj_log_warning("%s address=%s reason=\"%s\"", self->one, address,
                       self->reason);
        self->logged = true;
        self->logged_ms = now_ms;
        return true;
    }
    self->count++;
    snprintf(self->last_address, sizeof self->last_address, "%s", address);
    return zj_refusals_flush(self, now_ms);
}

bool
zj_refusals_flush(zj_refusals_t *self, int64_t now_ms)
{
    assert(self);
    if (self->count == 0 || !s_due(self, now_ms))
        return false;
    zj_log_warning("%s count=%zu in_ms=%" PRId64 " last_address=%s "
                   "reason=\"%s\"",
                   self->many, self->count, now_ms - self->logged_ms,
                   self->last_address, self->reason);
    self->count = 0;
    self->logged_ms = now_ms;
    return true;
}

//  --- the ZAP handler

typedef struct {
    size_t count;
    char *domains[ZJ_ZAP_DOMAINS];
    zj_keyring_t *rings[ZJ_ZAP_DOMAINS];
    char *lines[ZJ_ZAP_DOMAINS + 1][3];         //  one, many, reason
    zj_refusals_t refusals[ZJ_ZAP_DOMAINS + 1]; //  The last: other domains
} zj_zap_config_t;

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
//  Costs a stat of the folder and a lookup (see admission.h).
static void
s_zap_answer(zsock_t *handler, zj_zap_config_t *config)
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
    int64_t now_ms = zclock_mono();
    if (which >= 0)
        zj_keyring_refresh(config->rings[which], now_ms);
    bool admitted = mechanism && streq(mechanism, "CURVE") && which >= 0 &&
                    zj_keyring_has(config->rings[which], public_key);
    if (!admitted)
        zj_refusals_note(
            &config->refusals[which >= 0 ? (size_t) which : config->count],
            address, now_ms);
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
        zj_keyring_destroy(&config->rings[index]);
    }
    for (size_t index = 0; index <= config->count; index++)
        for (size_t line = 0; line < 3; line++)
            zstr_free(&config->lines[index][line]);
    free(config);
    *config_p = NULL;
}

//  Sets up the refusal log of index, for domain and folder.
static void
s_refusals_setup(zj_zap_config_t *config, size_t index, const char *domain,
                 const char *folder)
{
    char **lines = config->lines[index];
    lines[0] = zsys_sprintf("connection refused domain=%s", domain);
    lines[1] = zsys_sprintf("connections refused domain=%s", domain);
    lines[2] = zsys_sprintf("key not in %s", folder);
    zj_refusals_init(&config->refusals[index], lines[0], lines[1], lines[2],
                     ZJ_REFUSALS_LOG_MS);
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
        void *which = zpoller_wait(poller, ZJ_REFUSALS_LOG_MS);
        if (which == handler)
            s_zap_answer(handler, config);
        else if (which || !zpoller_expired(poller))
            break; //  $TERM from the pipe, or interrupted
        for (size_t index = 0; index <= config->count; index++)
            zj_refusals_flush(&config->refusals[index], zclock_mono());
    }
    for (size_t index = 0; index <= config->count; index++) {
        config->refusals[index].interval_ms = 0; //  Log what is left
        zj_refusals_flush(&config->refusals[index], zclock_mono());
    }
    zpoller_destroy(&poller);
    zsock_destroy(&handler);
    s_zap_config_destroy(&config);
}

zactor_t *
zj_admission_new(const char **domains, const char **folders, size_t count,
                 char *why)
{
    assert(count <= ZJ_ZAP_DOMAINS);
    for (size_t index = 0; index < count; index++)
        if (zj_admission_check_folder(folders[index], why) != 0)
            return NULL;
    zj_zap_config_t *config = calloc(1, sizeof *config);
    assert(config);
    config->count = count;
    for (size_t index = 0; index < count; index++) {
        config->domains[index] = strdup(domains[index]);
        config->rings[index] =
            zj_keyring_new(folders[index], ZJ_KEYRING_RECHECK_MS);
        s_refusals_setup(config, index, domains[index], folders[index]);
    }
    s_refusals_setup(config, count, "?", "any folder");
    zactor_t *actor = zactor_new(s_zap_actor, config);
    if (actor == NULL)
        zj_why_set(why, "cannot start the key checker");
    return actor;
}

//  --- sessions

struct zj_sessions {
    zhashx_t *keys;   //  Routing id (hex) -> public key (Z85), owned
    zhashx_t *marked; //  Routing ids (hex) looked up since the last prune
};

zj_sessions_t *
zj_sessions_new(void)
{
    zj_sessions_t *self = calloc(1, sizeof *self);
    assert(self);
    self->keys = zhashx_new();
    zhashx_set_destructor(self->keys, (zhashx_destructor_fn *) zstr_free);
    zhashx_set_duplicator(self->keys, (zhashx_duplicator_fn *) strdup);
    self->marked = zhashx_new();
    return self;
}

void
zj_sessions_destroy(zj_sessions_t **self_p)
{
    assert(self_p);
    if (*self_p) {
        zhashx_destroy(&(*self_p)->keys);
        zhashx_destroy(&(*self_p)->marked);
        free(*self_p);
        *self_p = NULL;
    }
}

void
zj_sessions_remember(zj_sessions_t *self, zframe_t *identity,
                     const char *public_key)
{
    assert(self && identity);
    if (public_key == NULL)
        return;
    char *hex = zframe_strhex(identity);
    zhashx_update(self->keys, hex, (void *) public_key);
    zhashx_update(self->marked, hex, "");
    free(hex);
}

const char *
zj_sessions_key(zj_sessions_t *self, zframe_t *identity)
{
    assert(self && identity);
    char *hex = zframe_strhex(identity);
    const char *key = zhashx_lookup(self->keys, hex);
    if (key)
        zhashx_update(self->marked, hex, "");
    free(hex);
    return key;
}

void
zj_sessions_prune(zj_sessions_t *self)
{
    assert(self);
    zlistx_t *gone = zlistx_new();
    for (void *key = zhashx_first(self->keys); key;
         key = zhashx_next(self->keys))
        if (!zhashx_lookup(self->marked, zhashx_cursor(self->keys)))
            zlistx_add_end(gone, (void *) zhashx_cursor(self->keys));
    for (const char *hex = zlistx_first(gone); hex; hex = zlistx_next(gone))
        zhashx_delete(self->keys, hex);
    zlistx_destroy(&gone);
    zhashx_purge(self->marked);
}

size_t
zj_sessions_size(const zj_sessions_t *self)
{
    assert(self);
    return zhashx_size(self->keys);
}
