//  keys.h - CURVE for zjob: key pairs in czmq's certificate format
//  (NAME.key public, NAME.key_secret secret), the checks around them, and
//  the ZAP handler that admits only the public keys found in a folder.
//  The only file that knows CURVE. Keys travel as Z85 text (40 chars).
#ifndef ZJ_KEYS_H
#define ZJ_KEYS_H

#include <czmq.h>
#include <stdbool.h>

#define ZJ_KEY_TEXT 41 //  Z85 key and its NUL

typedef struct {
    char public_key[ZJ_KEY_TEXT];
    char secret_key[ZJ_KEY_TEXT]; //  "" for a public key only
} zj_keypair_t;

//  Writes NAME.key and NAME.key_secret (mode 0600), refusing to overwrite
//  either. Returns 0, or an error with why written.
int zj_keys_generate(const char *name, char *why);

//  Loads a secret key file (NAME.key_secret). Refuses a file that group or
//  others may read, and a file without a secret key. Returns 0 or an
//  error with why written; the why never holds key material.
int zj_keys_load_secret(const char *path, zj_keypair_t *keys, char *why);

//  Loads the public key of a key file (NAME.key or NAME.key_secret).
int zj_keys_load_public(const char *path, zj_keypair_t *keys, char *why);

//  Makes a ZeroMQ socket a CURVE server with keys; its handshakes are
//  checked by the ZAP handler under domain. Before bind.
int zj_keys_make_server(void *socket, const zj_keypair_t *keys,
                        const char *domain);

//  Makes a ZeroMQ socket a CURVE client with keys, trusting server_key
//  (Z85). Before connect.
int zj_keys_make_client(void *socket, const zj_keypair_t *keys,
                        const char *server_key);

//  The public keys admitted by a folder of NAME.key files.
typedef struct zj_keyring zj_keyring_t;

//  Creates a keyring for folder and reads it.
zj_keyring_t *zj_keyring_new(const char *folder);

//  Frees it; sets *self_p to NULL.
void zj_keyring_destroy(zj_keyring_t **self_p);

//  Reads the folder again: keys added are admitted, keys removed are not.
void zj_keyring_refresh(zj_keyring_t *self);

//  True if public_key (Z85, may be NULL) is admitted. A key not found
//  reads the folder again first, at most every 100 ms for the same key.
bool zj_keyring_has(zj_keyring_t *self, const char *public_key);

//  Starts the ZAP handler in czmq's context: a handshake on a socket of
//  domain domains[i] is admitted if the client's public key is in a key
//  file in folders[i], read again at each handshake (keys added or
//  removed take effect on the next connection). count pairs; the arrays
//  are copied. Returns the actor, or NULL with why written.
zactor_t *zj_keys_authenticator_new(const char **domains, const char **folders,
                                    size_t count, char *why);

#endif
