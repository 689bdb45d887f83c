# zjob: one non-recursive Makefile, every library through pkg-config.
# Targets: all (default), deps, check, check-asan, demo, soak, fuzz, bench,
# format, format-check, clean, install, uninstall, deb, check-packages.

PKGS   := libczmq libzmq msgpack sqlite3 libuv libcurl jansson libsodium
CLANG_FORMAT ?= clang-format

# Only `make deps` installs packages. Every other goal first checks that
# the packages it needs are there (tests/deps.sh --missing, by pkg-config
# and the like) and stops at once naming those that are not, rather than
# in the compiler. Sub-makes trust the top-level check.
NEEDS := $(if $(filter-out deps clean format format-check uninstall,$(or $(MAKECMDGOALS),all)),build) \
         $(if $(filter check check-asan soak,$(MAKECMDGOALS)),test) \
         $(if $(filter demo,$(MAKECMDGOALS)),demo) \
         $(if $(filter format format-check,$(MAKECMDGOALS)),format)
# deb and check-packages install what they lack themselves (tests/deps.sh).
NEEDS := $(if $(filter deb check-packages,$(MAKECMDGOALS)),,$(NEEDS))
ifeq ($(MAKELEVEL)$(filter deps,$(MAKECMDGOALS)),0)
ifneq ($(strip $(NEEDS)),)
MISSING := $(shell CC='$(CC)' CLANG_FORMAT='$(CLANG_FORMAT)' \
                   tests/deps.sh --missing $(NEEDS))
ifneq ($(MISSING),)
$(error missing: $(MISSING); run `make deps` (as root, or with sudo) first)
endif
endif
endif

B      ?= build
BIN    ?= bin
SAN    ?=
CFLAGS ?= -O2 -g
override CFLAGS  += -std=gnu11 -Wall -Wextra -Werror -MMD -MP -Iinclude -I. \
                    -fPIC $(SAN) $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
override LDFLAGS += $(SAN) -rdynamic
LDLIBS := $(shell pkg-config --libs $(PKGS) 2>/dev/null) -lboost_context -ldl -lm
# The coordinator's status page (civetweb has no pkg-config file).
COORD_LIBS := -lcivetweb -lpthread

objs = $(patsubst %.c,$(B)/%.o,$(1))
SHARED := $(call objs,$(wildcard proto/*.c common/*.c))
COORD  := $(call objs,$(filter-out %/main.c,$(wildcard coordinator/*.c)))
WORKER := $(call objs,$(filter-out %/main.c,$(wildcard worker/*.c)))
CLIENT := $(call objs,$(wildcard client/zjob*.c))
CLI    := $(call objs,$(filter-out client/zjob%,$(wildcard client/*.c)))
UNIT   := $(call objs,$(wildcard tests/unit/*.c))
#  The status page's files, embedded in the coordinator (web_assets.h) by a
#  C file generated into $(B), made again when one of them changes.
WEB_FILES := $(wildcard coordinator/web/*.html coordinator/web/*.js \
                        coordinator/web/*.css)
WEB    := $(B)/coordinator/web_assets.o
COORD  += $(WEB)
HELPERS:= $(patsubst tests/e2e/%.c,$(BIN)/%,$(wildcard tests/e2e/*.c)) \
          $(BIN)/test_plugin.so $(BIN)/lesson.so

#  libzjob.so is libzjob.so.$(SOVERSION) with the soname libzjob.so.$(SOMAJOR),
#  exporting only the zjob_* API (client/libzjob.map); the two shorter
#  names are links to it.
SOMAJOR   := 1
SOVERSION := $(SOMAJOR).0.0
PROGRAMS := $(BIN)/zjob-coordinator $(BIN)/zjob-worker $(BIN)/zjob \
            $(BIN)/libzjob.a $(BIN)/libzjob.so $(BIN)/libzjob.so.$(SOMAJOR) \
            $(BIN)/libzjob.so.$(SOVERSION)

all: $(PROGRAMS)

$(BIN)/zjob-coordinator: $(B)/coordinator/main.o $(COORD) $(SHARED)
	@mkdir -p $(@D) && $(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS) $(COORD_LIBS)
$(BIN)/zjob-worker: $(B)/worker/main.o $(WORKER) $(SHARED)
	@mkdir -p $(@D) && $(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)
$(BIN)/zjob: $(CLI) $(CLIENT) $(SHARED)
	@mkdir -p $(@D) && $(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)
$(BIN)/libzjob.a: $(CLIENT) $(SHARED)
	@mkdir -p $(@D) && $(AR) rcs $@ $^
$(BIN)/libzjob.so.$(SOVERSION): $(CLIENT) $(SHARED) client/libzjob.map
	@mkdir -p $(@D) && $(CC) -shared $(LDFLAGS) -Wl,-soname,libzjob.so.$(SOMAJOR) \
	    -Wl,--version-script=client/libzjob.map -Wl,--as-needed \
	    -o $@ $(CLIENT) $(SHARED) $(LDLIBS)
$(BIN)/libzjob.so $(BIN)/libzjob.so.$(SOMAJOR): $(BIN)/libzjob.so.$(SOVERSION)
	@ln -sfn libzjob.so.$(SOVERSION) $@
$(BIN)/test-unit: $(UNIT) $(COORD) $(WORKER) $(CLIENT) $(SHARED)
	@mkdir -p $(@D) && $(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS) $(COORD_LIBS) \
	    $(shell pkg-config --libs check)
$(BIN)/zjbench: $(B)/bench/zjbench.o $(B)/bench/floor.o $(CLIENT) $(WORKER) $(SHARED)
	@mkdir -p $(@D) && $(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)
$(BIN)/gearman-bench: $(B)/bench/gearman.o
	@mkdir -p $(@D) && $(CC) $(LDFLAGS) -o $@ $^ $(shell pkg-config --libs gearmand)
$(BIN)/%: $(B)/tests/e2e/%.o $(SHARED)
	@mkdir -p $(@D) && $(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)
$(BIN)/test_plugin.so: tests/plugins/test_plugin.c
	@mkdir -p $(@D) && $(CC) $(CFLAGS) -shared -o $@ $<
$(BIN)/lesson.so: docs/examples/lesson.c
	@mkdir -p $(@D) && $(CC) $(CFLAGS) -shared -o $@ $<
$(B)/coordinator/web_assets.c: coordinator/web/embed.sh $(WEB_FILES)
	@mkdir -p $(@D) && coordinator/web/embed.sh $@ $(WEB_FILES)
$(WEB): $(B)/coordinator/web_assets.c
	@mkdir -p $(@D) && $(CC) $(CFLAGS) -c -o $@ $<
$(B)/tests/unit/%.o: tests/unit/%.c
	@mkdir -p $(@D) && $(CC) $(CFLAGS) $(shell pkg-config --cflags check) -c -o $@ $<
$(B)/%.o: %.c
	@mkdir -p $(@D) && $(CC) $(CFLAGS) -c -o $@ $<

deps:
	@tests/deps.sh

check:
	@$(MAKE) --no-print-directory all $(BIN)/test-unit $(HELPERS)
	tests/layers.sh
	$(BIN)/test-unit
	BIN=$(BIN) tests/e2e/run
	BIN=$(BIN) tests/python/run

# check-asan: the same tests under ASan and UBSan, with the coordinator's
# invariants asserted after every turn. Check's per-test timeouts are
# tripled: the sanitizers make the socket-heavy suites 10x slower.
check-asan:
	CK_TIMEOUT_MULTIPLIER=3 $(MAKE) B=build-asan BIN=build-asan/bin \
	    CFLAGS='-O1 -g -DZJ_CHECK_INVARIANTS' \
	    SAN='-fsanitize=address,undefined -fno-omit-frame-pointer' check

demo:
	@$(MAKE) --no-print-directory all $(BIN)/httpd $(BIN)/freeport
	BIN=$(BIN) tests/demo.sh

# bench: the workloads of bench/README.md on an -O2 build of its own, in
# build-bench/; ONLY=workload runs one, REPS=n repeats, PEERS=1 also
# installs gearmand and runs it beside zjob (bench/gearman.c). Rows go to
# bench/results/.
BENCH_BIN := build-bench/bin
BENCH_PEERS := $(if $(filter 1,$(PEERS)),$(BENCH_BIN)/gearman-bench)
bench: deps
	@$(if $(BENCH_PEERS),tests/deps.sh gearman-job-server libgearman-dev)
	@$(MAKE) --no-print-directory B=build-bench BIN=$(BENCH_BIN) \
	    CFLAGS='-O2 -g' all $(BENCH_BIN)/zjbench $(BENCH_BIN)/freeport \
	    $(BENCH_PEERS)
	BIN=$(BENCH_BIN) bench/run

soak:
	@$(MAKE) --no-print-directory all $(HELPERS)
	BIN=$(BIN) tests/soak.sh

# fuzz: each tests/fuzz/fuzz_*.c under clang's libFuzzer with ASan and UBSan,
# FUZZ_TIME seconds each (tests/fuzz/run); binaries and corpora in $(B)/fuzz/.
FUZZ_TIME ?= 60
FUZZ_SAN  := -fsanitize=address,undefined -fno-sanitize-recover=undefined \
             -fno-omit-frame-pointer
FUZZ_OBJS  = $(patsubst %.c,$(B)/fuzz/%.o,$(1))
FUZZ_LIB  := $(call FUZZ_OBJS,$(wildcard proto/*.c common/*.c))
FUZZERS   := $(patsubst tests/fuzz/%.c,$(B)/fuzz/%,$(wildcard tests/fuzz/fuzz_*.c))

$(B)/fuzz/fuzz_batch: $(call FUZZ_OBJS,$(filter-out %/main.c,$(wildcard client/*.c)))
$(FUZZERS): $(B)/fuzz/%: $(B)/fuzz/tests/fuzz/%.o $(FUZZ_LIB)
	@clang -fsanitize=fuzzer $(FUZZ_SAN) -o $@ $^ $(LDLIBS)
$(B)/fuzz/%.o: %.c
	@mkdir -p $(@D) && clang $(CFLAGS) -fsanitize=fuzzer-no-link $(FUZZ_SAN) \
	    -c -o $@ $<

fuzz:
	@tests/deps.sh clang libclang-rt-14-dev
	@$(MAKE) --no-print-directory -s $(FUZZERS)
	B=$(B) FUZZ_TIME=$(FUZZ_TIME) tests/fuzz/run

.PHONY: fuzz

# deb: the Debian packages of debian/ (docs/packages.md), built by
# dpkg-buildpackage in build/deb/src, a copy of the tracked files as they
# are in the work tree, so the .debs land in build/deb/; lintian fails it
# on an error and lists its warnings. check-packages: tests/packaging/run
# unpacks them and runs a job through them.
DEB_DIR  := build/deb
DEB_JOBS ?= 2
deb:
	@tests/deps.sh
	@rm -rf $(DEB_DIR) && mkdir -p $(DEB_DIR)/src
	@git ls-files -z | tar --null --ignore-failed-read -T - -cf - | \
	    tar -xf - -C $(DEB_DIR)/src
	@echo "deb: dpkg-buildpackage -us -uc -b in $(DEB_DIR)/src (log: $(DEB_DIR)/build.log)"
	@cd $(DEB_DIR)/src && dpkg-buildpackage -us -uc -b -j$(DEB_JOBS) \
	    >../build.log 2>&1 || { tail -n 40 ../build.log; echo "deb: dpkg-buildpackage failed"; exit 1; }
	@echo "deb: lintian"
	@lintian --fail-on error $(DEB_DIR)/*.changes
	@ls $(DEB_DIR)/*.deb

check-packages: deb
	@$(MAKE) --no-print-directory $(BIN)/freeport
	BIN=$(BIN) tests/packaging/run $(DEB_DIR)

.PHONY: deb check-packages

# format: .clang-format applied in place to every tracked C file;
# format-check lists the files that differ and fails if there are any.
FORMAT_FILES = $(shell git ls-files '*.c' '*.h')
format:
	@$(CLANG_FORMAT) -i $(FORMAT_FILES)
format-check:
	@{ $(CLANG_FORMAT) --dry-run -Werror $(FORMAT_FILES) 2>&1; echo "exit $$?"; } | \
	awk '/: error: code should be clang-formatted/ { sub(/:[0-9]+:[0-9]+: .*/, ""); \
	         if (!seen[$$0]++) { print "format-check:", $$0, "differs"; n++ } } \
	     /^exit [0-9]+$$/ { status = $$2 } NR <= 5 { head = head $$0 "\n" } \
	     END { if (n) print "format-check:", n, "files differ; make format fixes them"; \
	           else if (status) printf "format-check: $(CLANG_FORMAT) failed:\n%s", head; \
	           exit status != 0 }'

# install: the programs, libzjob, its headers and zjob.pc, the man pages,
# the systemd units, bash completion and the Python package, from the
# built $(BIN) (built first, unless NO_BUILD=1: then a missing file is an
# error), into $(DESTDIR). The layout is in docs/install.md. Files under
# $(SYSCONFDIR) are examples: an existing one is kept, and uninstall
# leaves them.
PREFIX        ?= /usr/local
BINDIR        ?= $(PREFIX)/bin
LIBDIR        ?= $(PREFIX)/lib
INCLUDEDIR    ?= $(PREFIX)/include
MANDIR        ?= $(PREFIX)/share/man
UNITDIR       ?= $(PREFIX)/lib/systemd/system
SYSUSERSDIR   ?= $(PREFIX)/lib/sysusers.d
COMPLETIONDIR ?= $(PREFIX)/share/bash-completion/completions
SYSCONFDIR    ?= $(if $(filter /usr,$(PREFIX)),/etc,$(PREFIX)/etc)
PYTHON_VERSION = $(shell /usr/bin/python3 -c \
                   'import sys; print("%d.%d" % sys.version_info[:2])' 2>/dev/null)
PYTHON_LOCAL   = $(PREFIX)/lib/python$(or $(PYTHON_VERSION),3)/dist-packages
PYTHONDIR     ?= $(if $(filter /usr,$(PREFIX)),/usr/lib/python3/dist-packages,$(PYTHON_LOCAL))
VERSION       := $(shell sed -n 's/^\#define ZJ_VERSION "\(.*\)"/\1/p' common/version.h)

INSTALL_BUILT := $(BIN)/zjob $(BIN)/zjob-coordinator $(BIN)/zjob-worker \
                 $(BIN)/libzjob.so.$(SOVERSION) $(BIN)/libzjob.a
HEADERS := $(wildcard include/zjob/*.h)
MAN1 := man/zjob.1
MAN7 := man/zjob-plugin.7
MAN8 := man/zjob-coordinator.8 man/zjob-worker.8
UNITS := packaging/systemd/zjob-coordinator.service \
         packaging/systemd/zjob-worker.service
PYFILES := $(wildcard python/zjob/*.py)
#  Units and pages name /usr/bin and /etc/default: made true of this
#  layout; and the pages' title line gets the version.
FIX_PATHS := sed -e 's|/usr/bin/zjob|$(BINDIR)/zjob|g' \
                 -e 's|/etc/default/zjob|$(SYSCONFDIR)/default/zjob|g' \
                 -e 's|^\(\.TH .*\)"zjob [^"]*"|\1"zjob $(VERSION)"|'
install: $(if $(filter 1,$(NO_BUILD)),,all)
	@for f in $(INSTALL_BUILT); do [ -f "$$f" ] || { \
	    echo "make install: $$f is missing: run make BIN=$(BIN) first" >&2; \
	    exit 1; }; done
	install -d $(DESTDIR)$(BINDIR) $(DESTDIR)$(LIBDIR)/pkgconfig $(DESTDIR)$(INCLUDEDIR)/zjob \
	    $(DESTDIR)$(MANDIR)/man1 $(DESTDIR)$(MANDIR)/man7 $(DESTDIR)$(MANDIR)/man8 \
	    $(DESTDIR)$(UNITDIR) $(DESTDIR)$(SYSUSERSDIR) $(DESTDIR)$(COMPLETIONDIR) \
	    $(DESTDIR)$(SYSCONFDIR)/default $(DESTDIR)$(PYTHONDIR)/zjob
	install -m 0755 $(BIN)/zjob $(BIN)/zjob-coordinator $(BIN)/zjob-worker \
	    $(DESTDIR)$(BINDIR)/
	install -m 0644 $(BIN)/libzjob.so.$(SOVERSION) $(BIN)/libzjob.a $(DESTDIR)$(LIBDIR)/
	ln -sfn libzjob.so.$(SOVERSION) $(DESTDIR)$(LIBDIR)/libzjob.so.$(SOMAJOR)
	ln -sfn libzjob.so.$(SOMAJOR) $(DESTDIR)$(LIBDIR)/libzjob.so
	install -m 0644 $(HEADERS) $(DESTDIR)$(INCLUDEDIR)/zjob/
	sed -e 's|@PREFIX@|$(PREFIX)|' \
	    -e 's|@LIBDIR@|$(patsubst $(PREFIX)/%,$${prefix}/%,$(LIBDIR))|' \
	    -e 's|@INCLUDEDIR@|$(patsubst $(PREFIX)/%,$${prefix}/%,$(INCLUDEDIR))|' \
	    -e 's|@VERSION@|$(VERSION)|' zjob.pc.in >$(DESTDIR)$(LIBDIR)/pkgconfig/zjob.pc
	chmod 0644 $(DESTDIR)$(LIBDIR)/pkgconfig/zjob.pc
	for page in $(MAN1) $(MAN7) $(MAN8); do \
	    $(FIX_PATHS) $$page >$(DESTDIR)$(MANDIR)/man$${page##*.}/$${page#man/} && \
	    chmod 0644 $(DESTDIR)$(MANDIR)/man$${page##*.}/$${page#man/} || exit 1; done
	for unit in $(UNITS); do \
	    $(FIX_PATHS) $$unit >$(DESTDIR)$(UNITDIR)/$${unit##*/} && \
	    chmod 0644 $(DESTDIR)$(UNITDIR)/$${unit##*/} || exit 1; done
	install -m 0644 packaging/systemd/zjob.conf $(DESTDIR)$(SYSUSERSDIR)/zjob.conf
	for name in zjob-coordinator zjob-worker; do \
	    [ -e $(DESTDIR)$(SYSCONFDIR)/default/$$name ] || \
	    install -m 0644 packaging/systemd/$$name.default \
	        $(DESTDIR)$(SYSCONFDIR)/default/$$name || exit 1; done
	install -m 0644 packaging/bash-completion/zjob $(DESTDIR)$(COMPLETIONDIR)/zjob
	install -m 0644 $(PYFILES) $(DESTDIR)$(PYTHONDIR)/zjob/

uninstall:
	rm -f $(addprefix $(DESTDIR)$(BINDIR)/,zjob zjob-coordinator zjob-worker) \
	    $(addprefix $(DESTDIR)$(LIBDIR)/,libzjob.so.$(SOVERSION) libzjob.so.$(SOMAJOR) \
	        libzjob.so libzjob.a pkgconfig/zjob.pc) \
	    $(addprefix $(DESTDIR)$(INCLUDEDIR)/,$(HEADERS:include/%=%)) \
	    $(DESTDIR)$(MANDIR)/man1/zjob.1 $(DESTDIR)$(MANDIR)/man7/zjob-plugin.7 \
	    $(addprefix $(DESTDIR)$(MANDIR)/man8/,zjob-coordinator.8 zjob-worker.8) \
	    $(addprefix $(DESTDIR)$(UNITDIR)/,zjob-coordinator.service zjob-worker.service) \
	    $(DESTDIR)$(SYSUSERSDIR)/zjob.conf $(DESTDIR)$(COMPLETIONDIR)/zjob
	rm -rf $(DESTDIR)$(PYTHONDIR)/zjob
	rmdir $(DESTDIR)$(INCLUDEDIR)/zjob 2>/dev/null || true

clean:
	rm -rf build build-asan build-bench bin

.PHONY: all deps check check-asan demo soak bench format format-check clean \
        install uninstall
-include $(shell find $(B) -name '*.d' -type f -not -path '$(DEB_DIR)/*' 2>/dev/null)
