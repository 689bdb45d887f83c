"""CURVE keys as `zjob keygen` writes them (czmq's certificate format).

NAME.key holds the public key, NAME.key_secret both; a secret key file
that group or others may read is refused, as the C programs refuse it.
"""

import os
import stat

from zjob.errors import Error


def _load(path):
    """(public, secret or None) from a key file, as Z85 bytes."""
    try:
        with open(path, "rb") as file:
            lines = file.read().splitlines()
    except OSError as error:
        raise Error("EUSAGE", f"cannot read key file {path}: {error.strerror}") from None
    keys = {}
    for line in lines:
        name, equals, value = line.strip().partition(b"=")
        name = name.strip()
        if equals and name in (b"public-key", b"secret-key"):
            keys[name] = value.strip(b" \t'\"")
    public = keys.get(b"public-key")
    if public is None or len(public) != 40:
        raise Error("EUSAGE", f"{path} holds no public key")
    secret = keys.get(b"secret-key")
    return public, secret if secret and len(secret) == 40 else None


def load_secret(path):
    """(public, secret) of our own key file NAME.key_secret."""
    try:
        mode = os.stat(path).st_mode
    except OSError:
        mode = 0
    if mode & 0o077:
        raise Error(
            "EDENIED",
            f"secret key {path} may be read by others "
            f"(mode {stat.S_IMODE(mode):03o}): run chmod 600 {path}",
        )
    public, secret = _load(path)
    if secret is None:
        raise Error(
            "EUSAGE",
            f"{path} holds no secret key (give NAME.key_secret, not NAME.key)",
        )
    return public, secret


def load_public(path):
    """The public key of a key file (NAME.key or NAME.key_secret)."""
    return _load(path)[0]


def configure(socket, key, coordinator_key):
    """Makes socket a CURVE client when key files are given, before connect.

    key is our secret key file, coordinator_key the coordinator's public
    one; both or neither.
    """
    if not key and not coordinator_key:
        return
    if not key or not coordinator_key:
        raise Error("EUSAGE", "a key and the coordinator's key go together")
    public, secret = load_secret(key)
    socket.curve_secretkey = secret
    socket.curve_publickey = public
    socket.curve_serverkey = load_public(coordinator_key)
