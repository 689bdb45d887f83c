//  keys.h - CURVE for zjob: key pairs in czmq's certificate format
//  (NAME.key public, NAME.key_secret secret) and the checks around them.
//  Who is admitted is coordinator/admission.h. Keys travel as Z85 text
//  (40 chars).
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

#endif
