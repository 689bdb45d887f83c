#!/bin/sh
#  deps.sh [PACKAGE...] - installs the Debian packages zjob needs, and
#  the extra PACKAGEs a target asks for (make fuzz: clang), only when one
#  is missing. Runs apt-get as root, or through sudo.
set -e
PACKAGES="gcc make pkg-config libzmq3-dev libczmq-dev libmsgpack-dev
libsqlite3-dev sqlite3 libuv1-dev libboost-context-dev libcurl4-openssl-dev
libjansson-dev libsodium-dev check iproute2 procps $*"

missing=""
for package in $PACKAGES; do
    dpkg-query -W -f='${Status}' "$package" 2>/dev/null \
        | grep -q "install ok installed" || missing="$missing $package"
done
[ -z "$missing" ] && exit 0

echo "deps.sh: installing$missing"
if [ "$(id -u)" -eq 0 ]; then SUDO=""; else SUDO="sudo"; fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends $missing
