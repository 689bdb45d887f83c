#!/bin/sh
#  deps.sh [PACKAGE...] - make deps: installs the Debian packages zjob
#  needs, and the extra PACKAGEs a target asks for (make fuzz: clang),
#  only when one is missing. Runs apt-get as root, or through sudo.
#  deps.sh --missing GROUP... - installs nothing: prints the packages of
#  those groups (build, test, demo, format, deb) that are missing, each with
#  what was looked for, and exits 1 if there are any. Every make target
#  but deps runs it first, so a missing package is named, not a compile
#  error. CC and CLANG_FORMAT are the commands make will run.
set -e

#  One line per package: the groups that need it, its Debian name, and
#  how to tell it is there (pc: a pkg-config module, cmd: a command on
#  PATH, lib: a library the compiler can link, py: a module Debian's
#  /usr/bin/python3 can import).
TABLE="build           gcc                  cmd:${CC:-cc}
build           make                 cmd:make
build           pkg-config           cmd:pkg-config
build           libzmq3-dev          pc:libzmq
build           libczmq-dev          pc:libczmq
build           libmsgpack-dev       pc:msgpack
build           libsqlite3-dev       pc:sqlite3
build           libuv1-dev           pc:libuv
build           libboost-context-dev lib:boost_context
build           libcurl4-openssl-dev pc:libcurl
build           libjansson-dev       pc:jansson
build           libsodium-dev        pc:libsodium
build           libcivetweb-dev      lib:civetweb
test            check                pc:check
test,demo       sqlite3              cmd:sqlite3
test            iproute2             cmd:ip
test            procps               cmd:pgrep
test,demo       python3              cmd:/usr/bin/python3
test,demo       python3-zmq          py:zmq
test,demo       python3-msgpack      py:msgpack
test,demo       curl                 cmd:curl
test            prometheus           cmd:promtool
test,deb        man-db               cmd:man
test,deb        systemd              cmd:systemd-analyze
test            binutils             cmd:readelf
test            chromium             cmd:chromium
format          clang-format         cmd:${CLANG_FORMAT:-clang-format}
deb             dpkg-dev             cmd:dpkg-buildpackage
deb             debhelper            cmd:dh
deb             dh-python            cmd:dh_python3
deb             lintian              cmd:lintian"

#  Whether the thing a probe names is there.
present() {
    what=${1#*:}
    case $1 in
    pc:*) pkg-config --exists "$what" 2>/dev/null ;;
    cmd:*) set -- $what && command -v "$1" >/dev/null 2>&1 ;;
    py:*) /usr/bin/python3 -c "import $what" >/dev/null 2>&1 ;;
    lib:*)
        set -- ${CC:-cc}
        case $("$1" -print-file-name="lib$what.so" 2>/dev/null) in
        /*) true ;;
        *) false ;;
        esac
        ;;
    esac
}

if [ "${1:-}" = --missing ]; then
    shift
    missing=""
    while read -r groups package probe; do
        for group in "$@"; do
            case ",$groups," in
            *",$group,"*)
                present "$probe" && break
                missing="${missing:+$missing, }$package (${probe#*:})"
                break
                ;;
            esac
        done
    done <<EOF
$TABLE
EOF
    [ -z "$missing" ] && exit 0
    echo "$missing"
    exit 1
fi

PACKAGES="$(echo "$TABLE" | awk '{print $2}') $*"
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
