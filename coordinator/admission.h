//  admission.h - who may talk to the coordinator under CURVE: the public
//  keys admitted by a folder of NAME.key files (a keyring), the ZAP
//  handler that checks every handshake against them, and refusals logged
//  at a bounded rate. A leaf: it knows files and keys, not jobs.
//
//  A keyring keeps the admitted keys in memory and reads its folder again
//  only when it changed: each refresh stats the folder (a file added,
//  removed or renamed changes its mtime), and at most every recheck_ms
//  stats each key file (one edited in place changes only its own). Only a
//  file whose stat changed is parsed again. So a handshake costs one stat
//  and a lookup whatever the folder holds, and a flood of handshakes with
//  unknown keys cannot make the coordinator read its folders.
#ifndef ZJ_ADMISSION_H
#define ZJ_ADMISSION_H

#include <czmq.h>
#include <stdbool.h>
#include <stdint.h>

#define ZJ_KEYRING_RECHECK_MS 1000 //  Stat every key file this often
#define ZJ_REFUSALS_LOG_MS 5000    //  One summary of refusals this often

//  Checks that folder is a folder that only its owner may write (anyone
//  who can add a file to it is admitted). Returns 0, or ZJ_EUSAGE /
//  ZJ_EDENIED with why written.
int zj_admission_check_folder(const char *folder, char *why);

typedef struct zj_keyring zj_keyring_t;

//  Creates a keyring for folder and reads it. A key file that group or
//  others may write is not admitted (and a warning says so), nor is a
//  file that holds no public key.
zj_keyring_t *zj_keyring_new(const char *folder, int recheck_ms);

//  Frees it; sets *self_p to NULL.
void zj_keyring_destroy(zj_keyring_t **self_p);

//  Reads the folder again if it changed since the last refresh, or if
//  recheck_ms passed since the last stat of its files (now_ms is
//  zclock_mono()). Returns true if the admitted keys changed.
bool zj_keyring_refresh(zj_keyring_t *self, int64_t now_ms);

//  True if public_key (Z85, may be NULL) was admitted at the last refresh.
bool zj_keyring_has(zj_keyring_t *self, const char *public_key);

//  Number of keys admitted.
size_t zj_keyring_size(const zj_keyring_t *self);

//  Counts up each time the admitted keys change.
uint64_t zj_keyring_generation(const zj_keyring_t *self);

//  Number of key files parsed since the keyring was made: a file is
//  parsed once per change of its stat. For tests.
size_t zj_keyring_parses(const zj_keyring_t *self);

//  Refusals of one kind, logged at a bounded rate: the first at once,
//  then at most one summary line (count, last address) per interval.
typedef struct {
    const char *one;       //  "connection refused domain=clients"
    const char *many;      //  "connections refused domain=clients"
    const char *reason;    //  Why, for the log
    int64_t interval_ms;   //  Lines at least this far apart
    int64_t logged_ms;     //  When the last line was written
    bool logged;           //  A line was ever written
    size_t count;          //  Refusals since, not yet logged
    char last_address[64]; //  Of the last of them
} zj_refusals_t;

//  Sets up self; the strings are borrowed.
void zj_refusals_init(zj_refusals_t *self, const char *one, const char *many,
                      const char *reason, int64_t interval_ms);

//  Counts one refusal from address (may be NULL) at now_ms; logs it, or
//  a summary, if a line is due. Returns true if it wrote a line.
bool zj_refusals_note(zj_refusals_t *self, const char *address, int64_t now_ms);

//  Logs the summary of the refusals not logged yet, if one is due.
//  Returns true if it wrote a line.
bool zj_refusals_flush(zj_refusals_t *self, int64_t now_ms);

//  Starts the ZAP handler in czmq's context: a handshake on a socket of
//  domain domains[i] is admitted if the client's public key is in a key
//  file in folders[i] (a keyring each; see above). Each folder must pass
//  zj_admission_check_folder. count pairs; the arrays are copied.
//  Returns the actor, or NULL with why written.
zactor_t *zj_admission_new(const char **domains, const char **folders,
                           size_t count, char *why);

//  Which client connection (routing id) holds which public key, for the
//  connections that await results: when a key is revoked, the loop finds
//  the connections to cut off here.
typedef struct zj_sessions zj_sessions_t;

zj_sessions_t *zj_sessions_new(void);
void zj_sessions_destroy(zj_sessions_t **self_p);

//  Remembers that identity speaks with public_key (NULL: does nothing).
void zj_sessions_remember(zj_sessions_t *self, zframe_t *identity,
                          const char *public_key);

//  The key identity speaks with, or NULL. Marks identity as in use.
const char *zj_sessions_key(zj_sessions_t *self, zframe_t *identity);

//  Forgets the identities not marked since the last prune; clears marks.
void zj_sessions_prune(zj_sessions_t *self);

//  Number of identities remembered.
size_t zj_sessions_size(const zj_sessions_t *self);

#endif
