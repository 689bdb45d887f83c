#  install.sh - make install into a temporary root (DESTDIR=$T/root,
#  PREFIX=/usr/local) of what was built in $ZJ_BIN: the files and their
#  modes, libzjob's soname, a plugin (zjob-plugin(7)'s example) and a
#  client built against the installed files with pkg-config and run
#  through the installed programs, the Python package, the man pages,
#  the systemd units and bash completion. Also the attempt number a
#  handler reads (zjob_ctx_attempt), through tests/plugins/test_plugin.c.

ZJ_SRC=$(cd "$(dirname "${BASH_SOURCE[0]}")/../../.." && pwd)
ZJ_PREFIX=/usr/local

#  The build dir that goes with $ZJ_BIN: bin is build's, X/bin is X's.
install_build_dir() {
    if [ "$ZJ_BIN" = "$ZJ_SRC/bin" ]; then echo build; else dirname "$ZJ_BIN"; fi
}

#  install_into ROOT [VAR=VALUE...]: make install of $ZJ_BIN into ROOT,
#  building nothing; its output in $T/install.log.
install_into() {
    local root=$1; shift
    make -C "$ZJ_SRC" --no-print-directory install DESTDIR="$root" \
        PREFIX="$ZJ_PREFIX" BIN="$ZJ_BIN" B="$(install_build_dir)" NO_BUILD=1 \
        "$@" >>"$T/install.log" 2>&1
}

#  The flags PROGRAM [COMMAND] --help lists under its options.
help_flags() {
    "$@" --help | grep -E -- '^  (-h, )?--[a-z]' | grep -oE -- '--[a-z][a-z-]*' | sort -u
}

#  The commands zjob --help lists.
help_commands() {
    zj --help | sed -n '/^Commands:/,/^$/p' | awk 'NR > 1 && /^  [a-z]/ {print $1}' | sort -u
}

#  zjob's version, as common/version.h says.
install_version() {
    sed -n 's/^#define ZJ_VERSION "\(.*\)"/\1/p' "$ZJ_SRC/common/version.h"
}

#  The site-packages directory Debian's python3 searches under /usr/local.
install_python_dir() {
    /usr/bin/python3 -c 'import sys; print("\n".join(sys.path))' \
        | grep "^$ZJ_PREFIX/lib/python3[.0-9]*/dist-packages$"
}

#  mode_is MODE PATH: PATH is a regular file with MODE.
mode_is() {
    [ -f "$2" ] && [ ! -L "$2" ] || fail "$2: not a regular file"
    assert_eq "$(stat -c %a "$2")" "$1" "mode of $2"
}

#  The C example of zjob-plugin(7), cut from the installed page.
install_plugin_example() {
    LC_ALL=C MANWIDTH=100 man -l "$1" 2>/dev/null | sed -n '/^EXAMPLE/,/^SEE ALSO/p' \
        | sed -n '/^ *#include <stdio.h>/,/^ *Build it/p' | sed '$d' | sed 's/^       //'
}

#  --- Failure paths

test_install_names_a_missing_program_and_installs_nothing() {
    mkdir -p "$T/bin"
    cp -P "$ZJ_BIN"/zjob "$ZJ_BIN"/zjob-coordinator "$ZJ_BIN"/libzjob.* "$T/bin/"
    make -C "$ZJ_SRC" --no-print-directory install DESTDIR="$T/root" \
        PREFIX="$ZJ_PREFIX" BIN="$T/bin" NO_BUILD=1 >out 2>err \
        && fail "make install without zjob-worker succeeded"
    grep -q "make install: $T/bin/zjob-worker is missing" err \
        || fail "the error does not name zjob-worker: $(cat err)"
    refute "something was installed" test -e "$T/root"
}

test_install_checks_fail_on_broken_pages_units_and_completion() {
    #  The checks the tests below rely on, each shown failing once.
    printf '.TH X 1\n.SH NAME\nx \\- y\n.XX bogus\n' >bad.1
    man --warnings -l bad.1 2>&1 >/dev/null | grep -q . \
        || fail "man --warnings says nothing of an unknown macro"
    mkdir -p "$T/root/usr/lib/systemd/system"
    cp /usr/lib/systemd/system/*.target "$T/root/usr/lib/systemd/system/"
    sed 's|^ExecStart=/usr/bin/zjob-worker|ExecStart=/nowhere/zjob-worker|' \
        "$ZJ_SRC/packaging/systemd/zjob-worker.service" \
        >"$T/root/usr/lib/systemd/system/zjob-worker.service"
    systemd-analyze verify --man=no --root="$T/root" \
        /usr/lib/systemd/system/zjob-worker.service >out 2>&1 \
        && fail "verify passed a unit whose program is missing: $(cat out)"
    echo 'if then' >bad.bash
    refute "bash -n passed a broken script" bash -n bad.bash
}

#  --- What make install puts where

test_install_lays_out_the_files_with_their_modes() {
    install_into "$T/root" || fail "make install: $(tail -5 "$T/install.log")"
    local p="$T/root$ZJ_PREFIX"
    for program in zjob zjob-coordinator zjob-worker; do
        mode_is 755 "$p/bin/$program"
    done
    mode_is 644 "$p/lib/libzjob.so.1.0.0"
    mode_is 644 "$p/lib/libzjob.a"
    assert_eq "$(readlink "$p/lib/libzjob.so.1")" libzjob.so.1.0.0 "libzjob.so.1"
    assert_eq "$(readlink "$p/lib/libzjob.so")" libzjob.so.1 "libzjob.so"
    readelf -d "$p/lib/libzjob.so.1.0.0" | grep -q 'SONAME.*\[libzjob\.so\.1\]' \
        || fail "no soname libzjob.so.1: $(readelf -d "$p/lib/libzjob.so.1.0.0" | grep SONAME)"
    #  It exports the zjob_* API and nothing else.
    nm -D --defined-only "$p/lib/libzjob.so.1.0.0" | awk '$2 != "A" {sub(/@.*/, "", $3); print $3}' >exported
    grep -q '^zjob_client_submit$' exported || fail "zjob_client_submit not exported"
    refute "internal symbols exported: $(grep -v '^zjob_' exported | head -3)" \
        grep -qv '^zjob_' exported
    for header in zjob.h handler.h errors.h; do
        mode_is 644 "$p/include/zjob/$header"
    done
    mode_is 644 "$p/lib/pkgconfig/zjob.pc"
    grep -qx "prefix=$ZJ_PREFIX" "$p/lib/pkgconfig/zjob.pc" || fail "zjob.pc: no prefix"
    mode_is 644 "$p/share/man/man1/zjob.1"
    mode_is 644 "$p/share/man/man7/zjob-plugin.7"
    mode_is 644 "$p/share/man/man8/zjob-coordinator.8"
    mode_is 644 "$p/share/man/man8/zjob-worker.8"
    mode_is 644 "$p/lib/systemd/system/zjob-coordinator.service"
    mode_is 644 "$p/lib/systemd/system/zjob-worker.service"
    mode_is 644 "$p/lib/sysusers.d/zjob.conf"
    mode_is 644 "$p/etc/default/zjob-coordinator"
    mode_is 644 "$p/etc/default/zjob-worker"
    mode_is 644 "$p/share/bash-completion/completions/zjob"
    #  The units run the installed programs with the installed config.
    grep -qx "ExecStart=$ZJ_PREFIX/bin/zjob-worker \$ZJOB_WORKER_ARGS" \
        "$p/lib/systemd/system/zjob-worker.service" || fail "worker unit's ExecStart"
    grep -qx "EnvironmentFile=-$ZJ_PREFIX/etc/default/zjob-coordinator" \
        "$p/lib/systemd/system/zjob-coordinator.service" || fail "coordinator unit's EnvironmentFile"
    #  The Python package goes where Debian's python3 looks under /usr/local.
    local site; site=$(install_python_dir) || fail "no $ZJ_PREFIX dist-packages in sys.path"
    mode_is 644 "$T/root$site/zjob/__init__.py"
    mode_is 644 "$T/root$site/zjob/client.py"
}

test_install_keeps_config_and_uninstall_removes_the_rest() {
    install_into "$T/root" || fail "make install: $(tail -5 "$T/install.log")"
    local p="$T/root$ZJ_PREFIX"
    echo 'ZJOB_WORKER_ARGS="--name mine"' >"$p/etc/default/zjob-worker"
    install_into "$T/root" || fail "make install again: $(tail -5 "$T/install.log")"
    grep -q -- '--name mine' "$p/etc/default/zjob-worker" || fail "install overwrote the config"
    make -C "$ZJ_SRC" --no-print-directory uninstall DESTDIR="$T/root" \
        PREFIX="$ZJ_PREFIX" BIN="$ZJ_BIN" >>"$T/install.log" 2>&1 || fail "make uninstall"
    (cd "$T/root" && find . ! -type d | sort) >left
    assert_eq "$(cat left)" "./usr/local/etc/default/zjob-coordinator
./usr/local/etc/default/zjob-worker" "what uninstall left"
}

#  --- Built against the installed files

test_install_plugin_and_client_build_with_pkg_config_and_run() {
    install_into "$T/root" || fail "make install: $(tail -5 "$T/install.log")"
    local p="$T/root$ZJ_PREFIX"
    #  The .pc files of the root, its paths under the root.
    export PKG_CONFIG_PATH="$p/lib/pkgconfig" PKG_CONFIG_SYSROOT_DIR="$T/root"
    pkg-config --exists zjob || fail "pkg-config finds no zjob"
    assert_eq "$(pkg-config --modversion zjob)" "$(install_version)" "zjob.pc version"
    #  The plugin: zjob-plugin(7)'s example, built as the page says.
    install_plugin_example "$p/share/man/man7/zjob-plugin.7" >greet.c
    grep -q zjob_plugin_init greet.c || fail "no example in zjob-plugin(7)"
    cc -shared -fPIC -Wall -Wextra -Werror $(pkg-config --cflags zjob) greet.c -o greet.so \
        || fail "the plugin does not build"
    refute "the plugin links with libzjob" sh -c "readelf -d greet.so | grep -q libzjob"
    #  The client: libzjob's API only.
    cat >client.c <<'EOF'
#include <stdio.h>
#include <zjob/zjob.h>

int
main(int argc, char **argv)
{
    int err = 0;
    zjob_client_t *client = zjob_client_new(argv[1], &err);
    if (client == NULL) {
        fprintf(stderr, "client: %s\n", zjob_strerror(err));
        return 1;
    }
    zjob_spec_t spec = {.kind = argv[2], .args = argc > 3 ? argv[3] : NULL};
    zjob_future_t *future = NULL;
    const zjob_result_t *result = NULL;
    err = zjob_client_submit_future(client, &spec, &future);
    if (err == 0)
        err = zjob_future_wait(future, 20000, &result);
    if (err == ZJOB_ETIMEOUT)
        fprintf(stderr, "client: timed out\n");
    else if (err != 0)
        fprintf(stderr, "client: %s\n", zjob_client_last_error(client));
    else
        printf("%s %s\n", result->state, result->result ? result->result : result->error);
    zjob_future_destroy(&future);
    zjob_client_destroy(&client);
    return err != 0;
}
EOF
    #  A sanitizer build's libzjob needs its runtime: so does the client.
    local san=""
    readelf -d "$p/lib/libzjob.so.1.0.0" | grep -q 'NEEDED.*libasan' \
        && san="-fsanitize=address,undefined"
    cc $san -Wall -Wextra -Werror client.c $(pkg-config --cflags --libs zjob) -o client \
        || fail "the client does not build"
    readelf -d client | grep -q 'NEEDED.*\[libzjob\.so\.1\]' || fail "client needs no libzjob.so.1"
    LD_LIBRARY_PATH="$p/lib" ldd ./client | grep -q "libzjob.so.1 => $p/lib/libzjob.so.1" \
        || fail "libzjob.so.1 not found in the root: $(LD_LIBRARY_PATH="$p/lib" ldd ./client)"
    #  And with libzjob.a, by Requires.private and Libs.private (Debian's
    #  libzmq.pc names a libprotokit.a it does not ship: dropped).
    cc $san client.c $(pkg-config --cflags zjob) $(pkg-config --static --libs zjob \
        | sed "s|-lzjob|$p/lib/libzjob.a|; s|[^ ]*libprotokit\.a||g") -o client-static \
        || fail "the client does not link with libzjob.a"
    refute "client-static needs libzjob.so" sh -c "readelf -d client-static | grep -q libzjob"
    #  A job through the installed programs, the plugin and the client.
    local ports; ports=$("$ZJ_BIN/freeport" 2)
    CLIENTS_PORT=$(echo "$ports" | sed -n 1p)
    WORKERS_PORT=$(echo "$ports" | sed -n 2p)
    ZJ_BIN="$p/bin"
    start_coordinator
    start_worker w1 --plugin "$T/greet.so"
    grep -q "plugin loaded path=$T/greet.so" "$T/w1.log" || fail "the plugin was not loaded"
    LD_LIBRARY_PATH="$p/lib" ./client "$ZJOB_COORDINATOR" greet '{"name": "ada"}' >out \
        || fail "client: $(cat out)"
    assert_eq "$(cat out)" 'succeeded {"greeting": "hello ada", "attempt": 1}' "greet's result"
    ./client-static "$ZJOB_COORDINATOR" count '{"to": 5000}' >out || fail "client-static: $(cat out)"
    assert_eq "$(cat out)" 'succeeded {"sum": 12502500}' "count's result"
    zj submit greet '{"nom": 1}' --wait >out && fail "bad args succeeded: $(cat out)"
    grep -q '"error": "bad args: greet takes' out || fail "bad args: $(cat out)"
}

test_install_python_package_runs_a_job_with_debian_python() {
    install_into "$T/root" || fail "make install: $(tail -5 "$T/install.log")"
    local site; site=$(install_python_dir) || fail "no $ZJ_PREFIX dist-packages in sys.path"
    start_coordinator
    start_worker w1
    #  From $T, with the root's dir first on sys.path, where the installed
    #  /usr/local one would be.
    /usr/bin/python3 - "$T/root$site" "$ZJOB_COORDINATOR" >out 2>&1 <<'PY' || fail "python: $(cat out)"
import sys
sys.path.insert(0, sys.argv[1])
import zjob
print(zjob.__file__)
print(zjob.__version__)
with zjob.BlockingClient(sys.argv[2]) as client:
    print(client.wait(client.submit("echo", {"from": "python"})))
PY
    assert_eq "$(sed -n 1p out)" "$T/root$site/zjob/__init__.py" "the zjob imported"
    assert_eq "$(sed -n 2p out)" "$(install_version)" "zjob.__version__"
    assert_eq "$(sed -n 3p out)" "{'from': 'python'}" "the echo job's result"
}

#  --- Man pages, units, completion

test_install_man_pages_have_no_warnings_and_every_flag() {
    install_into "$T/root" || fail "make install: $(tail -5 "$T/install.log")"
    local man="$T/root$ZJ_PREFIX/share/man"
    for page in man1/zjob.1 man7/zjob-plugin.7 man8/zjob-coordinator.8 man8/zjob-worker.8; do
        man --warnings -l "$man/$page" >/dev/null 2>warnings || fail "man $page failed"
        [ ! -s warnings ] || fail "$page: $(head -3 warnings)"
        grep -q "^\.TH .* \"zjob $(install_version)\"" "$man/$page" \
            || fail "$page: not of version $(install_version): $(grep '^\.TH' "$man/$page")"
    done
    #  Each command and flag a --help names is in the page.
    LC_ALL=C MANWIDTH=200 man -l "$man/man1/zjob.1" 2>/dev/null >zjob.txt
    commands=$(help_commands)
    [ "$(echo "$commands" | wc -l)" -ge 18 ] || fail "commands in zjob --help: $commands"
    for command in $commands; do
        grep -qE "^ +$command( |$)" zjob.txt || fail "zjob.1 lacks the command $command"
        for flag in $(help_flags zj "$command"); do
            grep -q -- "$flag" zjob.txt || fail "zjob.1 lacks $command's $flag"
        done
    done
    for program in zjob-coordinator zjob-worker; do
        LC_ALL=C MANWIDTH=200 man -l "$man/man8/$program.8" 2>/dev/null >page.txt
        for flag in $(help_flags "$ZJ_BIN/$program"); do
            grep -q -- "$flag" page.txt || fail "$program.8 lacks $flag"
        done
        for code in $("$ZJ_BIN/$program" --help | sed -n '/^[Ee]xit/,$p' \
                | grep -oE '(^|[ :;,])[0-9]+ [a-z-]' | grep -oE '[0-9]+'); do
            grep -qE "^ +$code( |\$)" page.txt || fail "$program.8 lacks exit status $code"
        done
    done
}

test_install_units_pass_systemd_analyze_verify() {
    install_into "$T/root" PREFIX=/usr || fail "make install: $(tail -5 "$T/install.log")"
    #  verify --root wants the units they name (sysinit.target...) in the
    #  root, and checks their ExecStart programs there; --man=no, as the
    #  man pages are not in the host's man path.
    cp /usr/lib/systemd/system/*.target "$T/root/usr/lib/systemd/system/"
    for unit in zjob-coordinator.service zjob-worker.service; do
        systemd-analyze verify --man=no --root="$T/root" \
            "/usr/lib/systemd/system/$unit" >out 2>&1 || fail "$unit: $(cat out)"
        [ ! -s out ] || fail "$unit: $(cat out)"
    done
    grep -qx 'u zjob - "zjob job runner" /var/lib/zjob' "$T/root/usr/lib/sysusers.d/zjob.conf" \
        || fail "sysusers file"
    #  With PREFIX=/usr the config is in /etc.
    [ -f "$T/root/etc/default/zjob-worker" ] || fail "no /etc/default/zjob-worker"
    #  The hardening the units promise.
    for unit in zjob-coordinator zjob-worker; do
        for line in User=zjob StateDirectory=zjob ProtectSystem=strict NoNewPrivileges=yes \
                PrivateTmp=yes ProtectHome=yes \
                'RestrictAddressFamilies=AF_INET AF_INET6 AF_UNIX AF_NETLINK'; do
            grep -qx "$line" "$T/root/usr/lib/systemd/system/$unit.service" \
                || fail "$unit.service lacks $line"
        done
    done
}

test_install_completion_offers_commands_and_flags() {
    install_into "$T/root" || fail "make install: $(tail -5 "$T/install.log")"
    local completion="$T/root$ZJ_PREFIX/share/bash-completion/completions/zjob"
    bash -n "$completion" || fail "bash -n"
    . "$completion"
    complete -p zjob | grep -q -- '-F _zjob' || fail "no completion for zjob"
    #  complete WORD...: COMPREPLY for the last word, sorted, on one line.
    complete_words() {
        COMP_WORDS=("$@")
        COMP_CWORD=$((${#COMP_WORDS[@]} - 1))
        COMPREPLY=()
        _zjob
        printf '%s\n' "${COMPREPLY[@]}" | sort | xargs
    }
    assert_eq "$(complete_words zjob sta)" "stats status" "zjob sta"
    assert_eq "$(complete_words zjob --coordinator tcp://h:1 dr)" "drain" "after a global flag"
    assert_eq "$(complete_words zjob schedule '')" "add list rm" "schedule"
    assert_eq "$(complete_words zjob jobs --state f)" "failed" "--state"
    assert_eq "$(complete_words zjob submit --timeout '')" "" "a flag's value"
    assert_eq "$(complete_words zjob gather --as)" "--as-completed" "gather --as"
    #  Every command of zjob --help, and every flag of its --help.
    for command in $(help_commands); do
        complete_words zjob "$command" | grep -qw "$command" || fail "command $command not offered"
        offered=$(complete_words zjob "$command" --)
        for flag in $(help_flags zj "$command"); do
            [[ " $offered " == *" $flag "* ]] || fail "$command: $flag not offered ($offered)"
        done
    done
}

#  --- The handler API: zjob_ctx_attempt

test_install_plugin_reads_its_attempt_number() {
    start_coordinator
    start_worker w1 --plugin "$ZJ_BIN/test_plugin.so"
    for kind in attempt cpuattempt; do
        zj submit "$kind" '{"until": 3}' --retries 1 --backoff 10ms --wait >out \
            && fail "$kind: two attempts reached 3: $(cat out)"
        grep -q '"error": "attempt 2 is too early"' out || fail "$kind: $(cat out)"
        zj submit "$kind" '{"until": 3}' --retries 2 --backoff 10ms --wait >out \
            || fail "$kind: $(cat out)"
        grep -q '"result": {"attempt": 3}' out || fail "$kind: $(cat out)"
    done
}
