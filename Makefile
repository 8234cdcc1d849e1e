# ward: a hardened, checked malloc.  `make` builds build/libward.so (for
# LD_PRELOAD), build/libward.a (links ward in as the process allocator) and
# build/libward-prefixed.a (ward_ names only, for harnesses).
CC ?= cc
BUILD ?= build
CSTD ?= -std=gnu11
WARN := -Wall -Wextra -Werror
OPT ?= -O2 -g
# -fno-builtin-*: the compiler must never turn ward's own code into calls to
# malloc or calloc (it can fuse malloc+memset into calloc).
CFLAGS_LIB := $(CSTD) $(WARN) $(OPT) -fPIC -pthread -fvisibility=hidden \
	-fno-builtin-malloc -fno-builtin-calloc -fno-builtin-realloc -fno-builtin-free \
	-ftls-model=initial-exec $(CFLAGS)
LIBS := -lsodium -lunwind -pthread

SRC := $(wildcard src/*.c)
HDRS := $(wildcard src/*.h) include/ward.h
OBJ := $(patsubst src/%.c,$(BUILD)/obj/%.o,$(SRC))
OBJ_PREFIXED := $(patsubst src/%.c,$(BUILD)/obj-prefixed/%.o,$(SRC))

CXX ?= c++
TEST_SRC := $(wildcard tests/t_*.c)
TEST_BIN := $(patsubst tests/%.c,$(BUILD)/tests/%,$(TEST_SRC)) $(BUILD)/tests/misuse_runner \
	$(BUILD)/tests/t_cxx $(BUILD)/tests/t_fuzz_ops $(BUILD)/tests/cli_bugs
CFLAGS_TEST := $(CSTD) $(WARN) -O1 -g -pthread -Iinclude $(CFLAGS)

.PHONY: all check check-clang demo deps bench bench-quick bench-deps bench-bins clean test-bins fuzz
all: $(BUILD)/libward.so $(BUILD)/libward.a $(BUILD)/libward-prefixed.a $(BUILD)/ward

# the launcher: ward [--KEY=VALUE ...] -- PROGRAM [ARGS...]
$(BUILD)/ward: tools/ward.c | $(BUILD)/obj
	$(CC) $(CSTD) $(WARN) -O2 -g $(CFLAGS) $< -o $@

$(BUILD)/obj/%.o: src/%.c $(HDRS) | $(BUILD)/obj
	$(CC) $(CFLAGS_LIB) -DWARD_EXPORT_LIBC -c $< -o $@
$(BUILD)/obj-prefixed/%.o: src/%.c $(HDRS) | $(BUILD)/obj-prefixed
	$(CC) $(CFLAGS_LIB) -c $< -o $@

$(BUILD)/libward.so: $(OBJ)
	$(CC) -shared -Wl,-z,now -Wl,--no-undefined -o $@ $(OBJ) $(LIBS)
$(BUILD)/libward.a: $(OBJ)
	rm -f $@ && ar rcs $@ $(OBJ)
$(BUILD)/libward-prefixed.a: $(OBJ_PREFIXED)
	rm -f $@ && ar rcs $@ $(OBJ_PREFIXED)

$(BUILD)/obj $(BUILD)/obj-prefixed $(BUILD)/tests $(BUILD)/demo:
	mkdir -p $@

$(BUILD)/tests/t_%: tests/t_%.c $(wildcard tests/*.h) | $(BUILD)/tests
	$(CC) $(CFLAGS_TEST) $< -o $@ -ldl
$(BUILD)/tests/t_cxx: tests/t_cxx.cc | $(BUILD)/tests
	$(CXX) -std=c++17 -fsized-deallocation $(WARN) -O1 -g -pthread $< -o $@ -ldl
# the fuzz harness replaying its seed corpus: a short deterministic run
$(BUILD)/tests/t_fuzz_ops: fuzz/ops.c $(BUILD)/libward-prefixed.a | $(BUILD)/tests
	$(CC) $(CFLAGS_TEST) -DWARD_FUZZ_MAIN -DWARD_CORPUS='"$(CURDIR)/corpus/ops"' $< \
		$(BUILD)/libward-prefixed.a -o $@ $(LIBS)
# the bugs tests/cli/launcher.sh runs under build/ward (plain libc calls:
# the launcher preloads ward)
$(BUILD)/tests/cli_bugs: tests/cli/bugs.c | $(BUILD)/tests
	$(CC) $(CSTD) -O1 -g -fno-omit-frame-pointer $(CFLAGS) $< -o $@
$(BUILD)/tests/misuse_runner: tests/misuse.c include/ward.h | $(BUILD)/tests
	$(CC) $(CFLAGS_TEST) $< -o $@ -ldl
test-bins: $(TEST_BIN)

# The library and the misuse cases are also built with clang: both compilers
# must build ward warning-free, and the clang build must pass the same cases.
check: all test-bins bench-bins check-clang
	tests/run.sh $(BUILD)
check-clang:
	$(MAKE) CC=clang CXX=clang++ BUILD=$(BUILD)/clang all $(BUILD)/clang/tests/misuse_runner

# The README's first command: what is missing, then ward at work.
deps:
	@tools/deps.sh
	@tools/bench-deps.sh
demo: deps all $(BUILD)/demo/double_free
	@tools/demo.sh $(BUILD)
$(BUILD)/demo/double_free: tools/double_free.c | $(BUILD)/demo
	$(CC) $(CSTD) -O1 -g $< -o $@

# libFuzzer (clang): make fuzz [FUZZ_TIME=seconds]; new inputs land in
# $(BUILD)/fuzz/corpus, crashes in $(BUILD)/fuzz/ as crash-* files.
FUZZ_TIME ?= 60
$(BUILD)/fuzz/ops: fuzz/ops.c $(SRC) $(HDRS)
	$(MAKE) CC=clang BUILD=$(BUILD)/fuzz-lib CFLAGS=-fsanitize=fuzzer-no-link $(BUILD)/fuzz-lib/libward-prefixed.a
	mkdir -p $(BUILD)/fuzz
	clang -O1 -g -fsanitize=fuzzer -Iinclude $< $(BUILD)/fuzz-lib/libward-prefixed.a -o $@ $(LIBS)
fuzz: $(BUILD)/fuzz/ops
	mkdir -p $(BUILD)/fuzz/corpus
	cd $(BUILD)/fuzz && ./ops -max_total_time=$(FUZZ_TIME) -max_len=4096 -rss_limit_mb=4096 \
		corpus $(CURDIR)/corpus/ops

# The benchmark suite (bench/README.md): every workload under every
# allocator, interleaved and repeated; the report goes to bench/results/.
BENCH_WL := benchtime larson xmalloc cache_scratch cache_thrash churn realloc_grow thread_churn \
	large_alloc pairs gen_big_c
BENCH_BIN := $(patsubst %,$(BUILD)/bench/%,$(BENCH_WL)) $(BUILD)/bench/glibc_shim.so
CFLAGS_BENCH := $(CSTD) $(WARN) -O2 -g -pthread $(CFLAGS)
$(BUILD)/bench:
	mkdir -p $@
$(BUILD)/bench/%: bench/%.c bench/common.h bench/cache.h | $(BUILD)/bench
	$(CC) $(CFLAGS_BENCH) $< -o $@
$(BUILD)/bench/glibc_shim.so: bench/glibc_shim.c | $(BUILD)/bench
	$(CC) $(CFLAGS_BENCH) -fPIC -shared $< -o $@ -ldl
bench-bins: $(BENCH_BIN)
bench: all bench-bins
	bench/run.py --mode full --build $(BUILD)
bench-quick: all bench-bins
	bench/run.py --mode quick --build $(BUILD)
# the allocators, programs and tools the suite compares and uses
bench-deps:
	@tools/bench-deps.sh

clean:
	rm -rf $(BUILD)
