# ward: a hardened, checked malloc.  `make` builds build/libward.so (for
# LD_PRELOAD; a link to the versioned build/libward.so.$(VERSION), soname
# libward.so.$(SOVERSION)), build/libward.a (links ward in as the process
# allocator), build/libward-prefixed.a (ward_ names only, for harnesses) and
# build/ward.pc.  `make install` / `make uninstall` honour PREFIX, DESTDIR,
# LIBDIR, BINDIR, INCLUDEDIR, MANDIR, PKGCONFIGDIR.
VERSION := 0.1.0
SOVERSION := 0
CC ?= cc
BUILD ?= build
CSTD ?= -std=gnu11
WARN := -Wall -Wextra -Werror
OPT ?= -O2 -g
# -fno-builtin-*: the compiler must never turn ward's own code into calls to
# malloc or calloc (it can fuse malloc+memset into calloc).
# Hardening, as for a system library: stack protector, _FORTIFY_SOURCE (the
# fortified functions ward can reach -- memcpy, memset, fprintf to the
# caller's FILE in malloc_info -- check bounds and never allocate), CET
# (endbr64 landing pads, shadow-stack compatible) on x86, full RELRO and
# immediate binding, a non-executable stack.  -fexceptions: a C++
# std::bad_alloc thrown from operator new unwinds through ward's frames.
HARDEN := -fstack-protector-strong -D_FORTIFY_SOURCE=2 -fstack-clash-protection
ifneq ($(filter x86_64 i%86,$(shell uname -m)),)
HARDEN += -fcf-protection=full
endif
CFLAGS_LIB := $(CSTD) $(WARN) $(OPT) -fPIC -pthread -fvisibility=hidden \
	-fno-builtin-malloc -fno-builtin-calloc -fno-builtin-realloc -fno-builtin-free \
	-ftls-model=initial-exec -fexceptions $(HARDEN) $(CFLAGS)
# Only the allocation API and ward_* are exported (src/ward.map), unversioned
# so that they interpose glibc's versioned malloc@GLIBC_2.2.5 and friends.
LDFLAGS_LIB := -shared -Wl,-soname,libward.so.$(SOVERSION) -Wl,--version-script=src/ward.map \
	-Wl,-z,relro,-z,now -Wl,-z,noexecstack -Wl,--no-undefined $(LDFLAGS)
# libsodium and libgcc's unwinder (libgcc_eh.a, for backtraces) linked in,
# their symbols hidden: loading libsodium, and libunwind with liblzma, as
# libraries of their own cost each exec about 170 us apiece (README.md's
# Dependencies, bench/README.md's startup)
LIBS := -static-libgcc -Wl,--exclude-libs,libsodium.a:libgcc_eh.a:libgcc.a -Wl,-Bstatic -lsodium -Wl,-Bdynamic -pthread

# install locations
PREFIX ?= /usr/local
DESTDIR ?=
BINDIR ?= $(PREFIX)/bin
SBINDIR ?= $(PREFIX)/sbin
LIBDIR ?= $(PREFIX)/lib
INCLUDEDIR ?= $(PREFIX)/include
MANDIR ?= $(PREFIX)/share/man
PKGCONFIGDIR ?= $(LIBDIR)/pkgconfig
INSTALL ?= install

SRC := $(wildcard src/*.c)
HDRS := $(wildcard src/*.h) include/ward.h include/ward_testing.h
OBJ := $(patsubst src/%.c,$(BUILD)/obj/%.o,$(SRC))
OBJ_PREFIXED := $(patsubst src/%.c,$(BUILD)/obj-prefixed/%.o,$(SRC))

CXX ?= c++
TEST_SRC := $(wildcard tests/t_*.c)
TEST_BIN := $(patsubst tests/%.c,$(BUILD)/tests/%,$(TEST_SRC)) $(BUILD)/tests/misuse_runner \
	$(BUILD)/tests/t_cxx $(BUILD)/tests/t_fuzz_ops $(BUILD)/tests/t_fuzz_misuse $(BUILD)/tests/t_fuzz_threads \
	$(BUILD)/tests/cli_bugs
CFLAGS_TEST := $(CSTD) $(WARN) -O1 -g -pthread -Iinclude $(CFLAGS)

.PHONY: all check test check-real check-system check-clang demo deps deb bench bench-quick bench-deps bench-bins clean test-bins fuzz install uninstall soak light
all: $(BUILD)/libward.so $(BUILD)/libward.a $(BUILD)/libward-prefixed.a $(BUILD)/ward.pc $(BUILD)/ward \
	$(BUILD)/ward-preload

$(BUILD)/obj/%.o: src/%.c $(HDRS) | $(BUILD)/obj
	$(CC) $(CFLAGS_LIB) -DWARD_EXPORT_LIBC -c $< -o $@
$(BUILD)/obj-prefixed/%.o: src/%.c $(HDRS) | $(BUILD)/obj-prefixed
	$(CC) $(CFLAGS_LIB) -DWARD_TESTING -c $< -o $@

$(BUILD)/libward.so.$(VERSION): $(OBJ) src/ward.map
	$(CC) $(LDFLAGS_LIB) -o $@ $(OBJ) $(LIBS)
$(BUILD)/libward.so.$(SOVERSION): $(BUILD)/libward.so.$(VERSION)
	ln -sf libward.so.$(VERSION) $@
$(BUILD)/libward.so: $(BUILD)/libward.so.$(SOVERSION)
	ln -sf libward.so.$(VERSION) $@
# libward.a's C++ operators refer to libstdc++'s new-handler and throw
# functions strongly (see src/cxx.c)
# and it leaves out sandbox.c's prctl and syscall, which a static link
# would take from libc.a as well
OBJ_A := $(filter-out $(BUILD)/obj/cxx.o $(BUILD)/obj/sandbox.o,$(OBJ)) $(BUILD)/obj/cxx-strong.o
$(BUILD)/obj/cxx-strong.o: src/cxx.c $(HDRS) | $(BUILD)/obj
	$(CC) $(CFLAGS_LIB) -DWARD_EXPORT_LIBC -DWARD_CXX_STRONG -c $< -o $@
$(BUILD)/libward.a: $(OBJ_A)
	rm -f $@ && ar rcs $@ $(OBJ_A)
$(BUILD)/libward-prefixed.a: $(OBJ_PREFIXED)
	rm -f $@ && ar rcs $@ $(OBJ_PREFIXED)

# The light profile (src/settings.h, WARD_PROFILE_LIGHT): every optional
# check off by default and the small tier's paths compiled for that, for
# measuring what the checks cost (bench: ward-light).
OBJ_LIGHT := $(patsubst src/%.c,$(BUILD)/obj-light/%.o,$(SRC))
$(BUILD)/obj-light/%.o: src/%.c $(HDRS) | $(BUILD)/obj-light
	$(CC) $(CFLAGS_LIB) -DWARD_EXPORT_LIBC -DWARD_PROFILE_LIGHT -c $< -o $@
$(BUILD)/libward-light.so: $(OBJ_LIGHT) src/ward.map
	$(CC) $(subst libward.so.,libward-light.so.,$(LDFLAGS_LIB)) -o $@ $(OBJ_LIGHT) $(LIBS)
light: $(BUILD)/libward-light.so

$(BUILD)/obj $(BUILD)/obj-prefixed $(BUILD)/obj-light $(BUILD)/tests $(BUILD)/demo:
	mkdir -p $@

# pkg-config: `cc app.c $$(pkg-config --cflags --libs ward)`, or with
# `--static` for `-static` links (libsodium's own .pc file adds what it
# needs; -lgcc_eh gives libward.a's backtraces the compiler's unwinder).
# The install locations the .pc file and the launcher were made for: both are
# remade when PREFIX or LIBDIR change (`make install PREFIX=/usr` after `make`).
$(BUILD)/install-dirs: FORCE | $(BUILD)/obj
	@echo '$(PREFIX) $(LIBDIR) $(INCLUDEDIR)' | cmp -s - $@ || echo '$(PREFIX) $(LIBDIR) $(INCLUDEDIR)' >$@
FORCE:
.PHONY: FORCE
pc_dir = $(patsubst $(PREFIX)/%,$${prefix}/%,$(1))
$(BUILD)/ward.pc: $(BUILD)/install-dirs Makefile
	@printf '%s\n' 'prefix=$(PREFIX)' 'libdir=$(call pc_dir,$(LIBDIR))' \
		'includedir=$(call pc_dir,$(INCLUDEDIR))' '' \
		'Name: ward' 'Description: hardened, checked malloc (heap misuse becomes an immediate report)' \
		'Version: $(VERSION)' \
		'Requires.private: libsodium' \
		'Libs: -L$${libdir} -lward' 'Libs.private: -pthread -lgcc_eh' 'Cflags: -I$${includedir}' >$@

# the launcher: ward [--KEY=VALUE ...] -- PROGRAM [ARGS...]; installed, it
# preloads $(LIBDIR)/libward.so.$(SOVERSION)
$(BUILD)/ward: tools/ward.c $(BUILD)/install-dirs
	$(CC) $(CSTD) $(WARN) $(OPT) $(HARDEN) -DWARD_LIBDIR='"$(LIBDIR)"' -DWARD_VERSION='"$(VERSION)"' \
		$(CFLAGS) $(LDFLAGS) -Wl,-z,relro,-z,now $< -o $@
# ward-preload enable|disable|status: ward in /etc/ld.so.preload
# (ward-preload(8)); installed, it names $(LIBDIR)/libward.so.$(SOVERSION)
$(BUILD)/ward-preload: tools/ward-preload.sh $(BUILD)/install-dirs
	sed -e 's|@LIBDIR@|$(LIBDIR)|g' -e 's|@SOVERSION@|$(SOVERSION)|g' -e 's|@VERSION@|$(VERSION)|g' $< >$@.tmp
	chmod 755 $@.tmp && mv -f $@.tmp $@

install: all
	$(INSTALL) -d $(DESTDIR)$(LIBDIR) $(DESTDIR)$(INCLUDEDIR) $(DESTDIR)$(PKGCONFIGDIR) \
		$(DESTDIR)$(MANDIR)/man1 $(DESTDIR)$(MANDIR)/man3 $(DESTDIR)$(MANDIR)/man7 $(DESTDIR)$(MANDIR)/man8
	$(INSTALL) -m 755 $(BUILD)/libward.so.$(VERSION) $(DESTDIR)$(LIBDIR)/
	ln -sf libward.so.$(VERSION) $(DESTDIR)$(LIBDIR)/libward.so.$(SOVERSION)
	ln -sf libward.so.$(SOVERSION) $(DESTDIR)$(LIBDIR)/libward.so
	$(INSTALL) -m 644 $(BUILD)/libward.a $(DESTDIR)$(LIBDIR)/
	$(INSTALL) -m 644 include/ward.h $(DESTDIR)$(INCLUDEDIR)/
	$(INSTALL) -m 644 $(BUILD)/ward.pc $(DESTDIR)$(PKGCONFIGDIR)/
	$(INSTALL) -m 644 man/ward.1 $(DESTDIR)$(MANDIR)/man1/
	$(INSTALL) -m 644 man/ward.3 $(DESTDIR)$(MANDIR)/man3/
	$(INSTALL) -m 644 man/ward.7 $(DESTDIR)$(MANDIR)/man7/
	$(INSTALL) -m 644 man/ward-preload.8 $(DESTDIR)$(MANDIR)/man8/
	$(INSTALL) -d $(DESTDIR)$(BINDIR) $(DESTDIR)$(SBINDIR)
	$(INSTALL) -m 755 $(BUILD)/ward $(DESTDIR)$(BINDIR)/
	$(INSTALL) -m 755 $(BUILD)/ward-preload $(DESTDIR)$(SBINDIR)/

# The Debian package (debian/, debhelper), built by dpkg-buildpackage in a
# copy of the tree under $(BUILD)/deb (tools/deb.sh), so the tree stays
# clean: $(BUILD)/ward_$(VERSION)_<arch>.deb.  `make deps` installs the
# packaging tools.
DEB_ARCH := $(shell dpkg --print-architecture 2>/dev/null || echo unknown)
DEB := $(BUILD)/ward_$(VERSION)_$(DEB_ARCH).deb
deb: $(DEB)
$(DEB): $(SRC) $(HDRS) src/ward.map Makefile tools/ward.c tools/ward-preload.sh tools/deb.sh \
		$(wildcard man/* debian/* debian/source/* examples/* examples/*/*) README.md SECURITY.md
	tools/deb.sh $(BUILD)

uninstall:
	rm -f $(DESTDIR)$(LIBDIR)/libward.so.$(VERSION) $(DESTDIR)$(LIBDIR)/libward.so.$(SOVERSION) \
		$(DESTDIR)$(LIBDIR)/libward.so $(DESTDIR)$(LIBDIR)/libward.a \
		$(DESTDIR)$(INCLUDEDIR)/ward.h $(DESTDIR)$(PKGCONFIGDIR)/ward.pc \
		$(DESTDIR)$(MANDIR)/man1/ward.1 $(DESTDIR)$(MANDIR)/man3/ward.3 \
		$(DESTDIR)$(MANDIR)/man7/ward.7 $(DESTDIR)$(MANDIR)/man8/ward-preload.8 $(DESTDIR)$(BINDIR)/ward \
		$(DESTDIR)$(SBINDIR)/ward-preload

$(BUILD)/tests/t_%: tests/t_%.c $(wildcard tests/*.h) | $(BUILD)/tests
	$(CC) $(CFLAGS_TEST) $< -o $@ -ldl
# t_foreign dlopens this with RTLD_DEEPBIND (the runner runs only t_* files)
$(BUILD)/tests/t_foreign: $(BUILD)/tests/libdeep.so
$(BUILD)/tests/libdeep.so: tests/lib/deep.c | $(BUILD)/tests
	$(CC) $(CSTD) $(WARN) -O1 -g -fPIC -shared $< -o $@
# t_leaks dlopens this (a module with dynamic TLS)
$(BUILD)/tests/t_leaks: $(BUILD)/tests/libtlsmod.so
$(BUILD)/tests/libtlsmod.so: tests/lib/tlsmod.c | $(BUILD)/tests
	$(CC) $(CSTD) $(WARN) -O1 -g -fPIC -shared $< -o $@
# preloaded beside ward by t_preload
$(BUILD)/tests/t_preload: $(BUILD)/tests/libother.so $(BUILD)/tests/libwrap.so
$(BUILD)/tests/libother.so: tests/lib/other.c | $(BUILD)/tests
	$(CC) $(CSTD) $(WARN) -O1 -g -fPIC -shared -pthread $< -o $@ -ldl
$(BUILD)/tests/libwrap.so: tests/lib/other.c | $(BUILD)/tests
	$(CC) $(CSTD) $(WARN) -O1 -g -fPIC -shared -pthread -DWRAP $< -o $@ -ldl
$(BUILD)/tests/t_cxx: tests/t_cxx.cc | $(BUILD)/tests
	$(CXX) -std=c++17 -fsized-deallocation $(WARN) -O1 -g -pthread $< -o $@ -ldl
# the bugs tests/cli/launcher.sh runs under build/ward (plain libc calls:
# the launcher preloads ward)
$(BUILD)/tests/cli_bugs: tests/cli/bugs.c | $(BUILD)/tests
	$(CC) $(CSTD) -O1 -g -fno-omit-frame-pointer $(CFLAGS) $< -o $@
$(BUILD)/tests/misuse_runner: tests/misuse.c include/ward.h | $(BUILD)/tests
	$(CC) $(CFLAGS_TEST) $< -o $@ -ldl
test-bins: $(TEST_BIN)

# The library and the misuse cases are also built with clang: both compilers
# must build ward warning-free, and the clang build must pass the same cases.
# make check also replays every corpus through every harness (t_fuzz_*),
# runs each libFuzzer harness for a short seeded session, and builds the
# Debian package first (make deb) for the tests of it and of the whole system.
check: all test-bins bench-bins check-clang fuzz-libfuzzer deb
	tests/run.sh $(BUILD)
# The inner loop, about a minute: the library and the unit programs
# ($(BUILD)/tests/t_*, the corpus replays t_fuzz_* among them) built with $(CC)
# alone, then each unit program once under ward and every misuse case,
# through tests/run.sh (same logs, same "N passed, N failed" line).  Not run:
# the unit programs again with trace=1 or sample=1, the real programs, the
# clang build, the install test and the fuzzing sessions: `make check` runs
# everything.
UNIT_BIN := $(filter $(BUILD)/tests/t_%,$(TEST_BIN))
test: all $(UNIT_BIN) $(BUILD)/tests/misuse_runner
	tests/run.sh $(BUILD) $(notdir $(UNIT_BIN)) misuse
# Real programs and test suites (tests/real/*.sh: CPython's regression tests,
# python3, gcc, g++, git, sqlite3, perl, redis, xz, sort), each run plainly
# and under ward, the results compared; `make check` runs them too.
REAL_TESTS := $(basename $(notdir $(wildcard tests/real/*.sh)))
check-real: all
	tests/run.sh $(BUILD) $(REAL_TESTS)
# The Debian package, set-user-ID programs, ward in /etc/ld.so.preload for
# real Debian work in a mount namespace (tests/system/*.sh; root), and
# ward-preload on scratch files (tests/cli/preload.sh); `make check` runs
# them too.
check-system: all deb
	tests/run.sh $(BUILD) deb setuid system cli-preload
check-clang:
	$(MAKE) CC=clang CXX=clang++ BUILD=$(BUILD)/clang all $(BUILD)/clang/tests/misuse_runner

# The long soak: 10^8 random operations on 4 threads (make check runs 10^7).
SOAK_OPS ?= 100000000
soak: all $(BUILD)/tests/t_soak
	LD_PRELOAD=$(abspath $(BUILD))/libward.so /usr/bin/time -f '%e s, max RSS %M KiB' $(BUILD)/tests/t_soak $(SOAK_OPS)

# The README's first command: what is missing, then ward at work.
deps:
	@tools/deps.sh
	@tools/bench-deps.sh
demo: deps all $(BUILD)/demo/double_free
	@tools/demo.sh $(BUILD)
$(BUILD)/demo/double_free: tools/double_free.c | $(BUILD)/demo
	$(CC) $(CSTD) -O1 -g $< -o $@

# fuzzing: make fuzz, fuzz-run, fuzz-afl, coverage (fuzz/fuzz.mk)
include fuzz/fuzz.mk

# The benchmark suite (bench/README.md): every workload under every
# allocator, interleaved and repeated; the report goes to bench/results/.
BENCH_WL := benchtime larson xmalloc cache_scratch cache_thrash churn realloc_grow thread_churn \
	large_alloc pairs gen_big_c startup fork_server
BENCH_BIN := $(patsubst %,$(BUILD)/bench/%,$(BENCH_WL)) $(BUILD)/bench/glibc_shim.so
CFLAGS_BENCH := $(CSTD) $(WARN) -O2 -g -pthread $(CFLAGS)
$(BUILD)/bench:
	mkdir -p $@
$(BUILD)/bench/%: bench/%.c bench/common.h bench/cache.h | $(BUILD)/bench
	$(CC) $(CFLAGS_BENCH) $< -o $@
$(BUILD)/bench/glibc_shim.so: bench/glibc_shim.c | $(BUILD)/bench
	$(CC) $(CFLAGS_BENCH) -fPIC -shared $< -o $@ -ldl
bench-bins: $(BENCH_BIN) $(BUILD)/libward-light.so
bench: all bench-bins
	bench/run.py --mode full --build $(BUILD)
bench-quick: all bench-bins
	bench/run.py --mode quick --build $(BUILD)
# the allocators, programs and tools the suite compares and uses
bench-deps:
	@tools/bench-deps.sh

clean:
	rm -rf $(BUILD)
