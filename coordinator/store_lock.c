//  store_lock.c - one store, one coordinator (see store_lock.h). The lock
//  is a flock on a file of its own, PATH.lock, not on the store: SQLite
//  locks the store with POSIX locks, which any close() of the file in the
//  process would drop, and which the sqlite3 shell must keep taking.
//  flock is released by the kernel when the process dies, so a lock file
//  left by a killed coordinator stops no one. The file holds two lines:
//  who holds it, and the next job id (fixed width, rewritten in place).
#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "common/err.h"
#include "common/why.h"
#include "coordinator/store_lock.h"

#define ZJ_LOCK_RECORD_MAX 1024 //  Bytes of a holder's record we read
#define ZJ_LOCK_ID_FORMAT "next_id=%-20" PRId64 "\n" //  Fixed width

struct zj_store_lock {
    int fd;                 //  The lock file, flock'd LOCK_EX
    char *db_path;          //  The store's file
    char *wal_path;         //  ... its WAL
    char *lock_path;        //  ... and the lock file, db_path + ".lock"
    char *record;           //  Our first line: who holds the lock
    int64_t next_id_before; //  next_id the file held when taken, or 0
    int64_t next_id;        //  next_id the file holds now
    struct stat db;         //  The store's file as watched (st_ino 0: none)
    struct stat wal;        //  Its WAL as watched (st_ino 0: none)
};

static char *
s_concat(const char *head, const char *tail)
{
    size_t size = strlen(head) + strlen(tail) + 1;
    char *text = malloc(size);
    assert(text);
    snprintf(text, size, "%s%s", head, tail);
    return text;
}

//  Reads the file's record (a holder's first line and its next_id) from
//  fd: the line into line[ZJ_LOCK_RECORD_MAX], printable, and the id.
static void
s_read_record(int fd, char *line, int64_t *next_id)
{
    char text[ZJ_LOCK_RECORD_MAX] = "";
    ssize_t size = pread(fd, text, sizeof text - 1, 0);
    text[size > 0 ? size : 0] = '\0';
    const char *id = strstr(text, "\nnext_id=");
    *next_id = id ? strtoll(id + strlen("\nnext_id="), NULL, 10) : 0;
    if (*next_id < 0)
        *next_id = 0;
    size_t length = strcspn(text, "\n");
    for (size_t index = 0; index < length; index++)
        line[index] =
            text[index] >= ' ' && text[index] < 127 ? text[index] : '?';
    line[length] = '\0';
}

//  Opens (creating) the lock file and locks it without waiting. Returns
//  the fd, or -1 with errno (EWOULDBLOCK: another holds it; then *fd_p
//  holds the file, still open, so that its record can be read).
static int
s_open_locked(const char *path, int *fd_p)
{
    *fd_p = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOCTTY, 0644);
    if (*fd_p < 0)
        return -1;
    int rc;
    while ((rc = flock(*fd_p, LOCK_EX | LOCK_NB)) != 0 && errno == EINTR)
        ;
    return rc == 0 ? *fd_p : -1;
}

//  Says who holds the lock file open in fd, from its record.
static int
s_held_by(int fd, char *why)
{
    char line[ZJ_LOCK_RECORD_MAX];
    int64_t next_id;
    s_read_record(fd, line, &next_id);
    return zj_why_fail(ZJ_EDENIED, why, "held by another coordinator: %s",
                       line[0] ? line : "(its record is not written yet)");
}

//  Writes our record over the whole file.
static int
s_write_record(zj_store_lock_t *self, char *why)
{
    char text[ZJ_LOCK_RECORD_MAX + 64];
    int length = snprintf(text, sizeof text, "%s\n" ZJ_LOCK_ID_FORMAT,
                          self->record, self->next_id);
    assert(length > 0 && (size_t) length < sizeof text);
    if (pwrite(self->fd, text, (size_t) length, 0) != length ||
        ftruncate(self->fd, length) != 0)
        return zj_why_fail(ZJ_ESYS, why, "cannot write %s: %s", self->lock_path,
                           strerror(errno));
    return 0;
}

int
zj_store_lock_take(const char *db_path, const char *endpoints,
                   zj_store_lock_t **self_p, char *why)
{
    assert(db_path && endpoints && self_p && why);
    why[0] = '\0';
    *self_p = NULL;
    zj_store_lock_t *self = calloc(1, sizeof *self);
    assert(self);
    self->fd = -1;
    self->db_path = strdup(db_path);
    self->wal_path = s_concat(db_path, "-wal");
    self->lock_path = s_concat(db_path, ".lock");
    assert(self->db_path);
    int rc = 0;
    if (s_open_locked(self->lock_path, &self->fd) < 0) {
        rc = errno == EWOULDBLOCK
                 ? s_held_by(self->fd, why)
                 : zj_why_fail(ZJ_ESYS, why, "cannot lock %s: %s",
                               self->lock_path, strerror(errno));
        zj_store_lock_destroy(&self);
        return rc;
    }
    char line[ZJ_LOCK_RECORD_MAX];
    s_read_record(self->fd, line, &self->next_id_before);
    self->next_id = self->next_id_before;
    char host[256] = "";
    gethostname(host, sizeof host - 1);
    char since[32] = "";
    time_t now = time(NULL);
    struct tm utc;
    strftime(since, sizeof since, "%Y-%m-%dT%H:%M:%SZ", gmtime_r(&now, &utc));
    char record[ZJ_LOCK_RECORD_MAX];
    snprintf(record, sizeof record, "pid=%ld host=%s since=%s %s",
             (long) getpid(), host, since, endpoints);
    self->record = strdup(record);
    assert(self->record);
    if ((rc = s_write_record(self, why)) != 0) {
        zj_store_lock_destroy(&self);
        return rc;
    }
    *self_p = self;
    return 0;
}

void
zj_store_lock_destroy(zj_store_lock_t **self_p)
{
    assert(self_p);
    zj_store_lock_t *self = *self_p;
    if (self == NULL)
        return;
    if (self->fd >= 0)
        close(self->fd); //  Releases the flock
    free(self->db_path);
    free(self->wal_path);
    free(self->lock_path);
    free(self->record);
    free(self);
    *self_p = NULL;
}

int64_t
zj_store_lock_next_id(const zj_store_lock_t *self)
{
    assert(self);
    return self->next_id_before;
}

int
zj_store_lock_set_next_id(zj_store_lock_t *self, int64_t next_id)
{
    assert(self);
    if (next_id <= self->next_id)
        return 0;
    self->next_id = next_id;
    char text[64];
    int length = snprintf(text, sizeof text, ZJ_LOCK_ID_FORMAT, next_id);
    off_t offset = (off_t) strlen(self->record) + 1;
    return pwrite(self->fd, text, (size_t) length, offset) == length ? 0
                                                                     : ZJ_ESYS;
}

void
zj_store_lock_watch(zj_store_lock_t *self)
{
    assert(self);
    if (stat(self->db_path, &self->db) != 0)
        self->db.st_ino = 0;
    if (stat(self->wal_path, &self->wal) != 0)
        self->wal.st_ino = 0;
}

static bool
s_same_file(const struct stat *one, const struct stat *other)
{
    return one->st_dev == other->st_dev && one->st_ino == other->st_ino;
}

//  Checks one watched file: 0, or ZJ_ESTORE with what happened to it.
static int
s_check_file(const char *path, const struct stat *watched, char *why)
{
    struct stat now;
    if (watched->st_ino == 0)
        return 0;
    if (stat(path, &now) != 0)
        return errno == ENOENT || errno == ENOTDIR
                   ? zj_why_fail(ZJ_ESTORE, why, "%s was deleted", path)
                   : 0; //  Cannot tell (EACCES, EIO): not gone
    if (!s_same_file(&now, watched))
        return zj_why_fail(ZJ_ESTORE, why, "%s was replaced by another file",
                           path);
    return 0;
}

//  The lock file is no longer the one locked: lock the one at the path
//  now (made if need be), unless another process holds it.
static int
s_lock_again(zj_store_lock_t *self, char *why)
{
    int fd = -1;
    if (s_open_locked(self->lock_path, &fd) < 0) {
        int rc = ZJ_ESTORE;
        if (errno == EWOULDBLOCK) {
            char held[ZJ_WHY_SIZE];
            s_held_by(fd, held);
            zj_why_set(why, "%s was replaced and is %s", self->lock_path, held);
        } else
            zj_why_set(why, "%s was deleted and cannot be made again: %s",
                       self->lock_path, strerror(errno));
        if (fd >= 0)
            close(fd);
        return rc;
    }
    close(self->fd);
    self->fd = fd;
    int rc = s_write_record(self, why);
    if (rc == 0)
        zj_why_set(why, "%s was deleted or replaced: locked it again",
                   self->lock_path);
    return rc == 0 ? 0 : ZJ_ESTORE;
}

int
zj_store_lock_check(zj_store_lock_t *self, char *why)
{
    assert(self);
    assert(why);
    why[0] = '\0';
    if (s_check_file(self->db_path, &self->db, why) ||
        s_check_file(self->wal_path, &self->wal, why))
        return ZJ_ESTORE;
    struct stat locked, now;
    if (fstat(self->fd, &locked) == 0 && locked.st_nlink > 0 &&
        stat(self->lock_path, &now) == 0 && s_same_file(&locked, &now))
        return 0;
    return s_lock_again(self, why);
}
