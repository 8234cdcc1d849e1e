# fuzz.mk (included by the Makefile): ward's fuzz harnesses, each one source
# (fuzz/<harness>.c defining LLVMFuzzerTestOneInput) built four ways:
#
#   $(BUILD)/tests/t_fuzz_<h>  gcc, fuzz/main.c's replay driver: with no
#                              argument it replays every corpus (make check)
#   $(BUILD)/fuzz/<h>          libFuzzer with UBSan (clang -fsanitize=fuzzer)
#   $(BUILD)/fuzz-afl/<h>      AFL++ persistent mode, shared-memory test cases
#                              (afl-clang-fast), when AFL++ is installed
#   $(BUILD)/cov/<h>           clang source-based coverage, replay driver
#
# and fuzz/build.sh builds them the OSS-Fuzz way ($CC $CFLAGS
# $LIB_FUZZING_ENGINE $OUT).  Each links a copy of ward built for harnesses
# (libward-prefixed.a: ward_* names and ward_testing_reset), instrumented
# like the harness.
#
#   make fuzz                              build every harness every way available
#   make fuzz-run FUZZER=ops SECONDS=60    libFuzzer on one harness
#   make fuzz-afl FUZZER=ops SECONDS=600   AFL++, one instance per core (-M, -S)
#   make coverage                          line/branch coverage of src/ by the corpora

FUZZERS := ops misuse threads
FUZZ_DEPS := fuzz/common.h fuzz/oracle.h include/ward_testing.h
FUZZ_UBSAN := -fsanitize=undefined -fno-sanitize-recover=undefined
FUZZ_CFLAGS := -std=gnu11 -O1 -g -pthread -Iinclude -Ifuzz
AFL_CC ?= afl-clang-fast
HAVE_AFL := $(shell command -v $(AFL_CC) 2>/dev/null)
FUZZER ?= ops
SECONDS ?= 60
# libFuzzer's options for each harness (fuzz/<h>.options, the OSS-Fuzz format)
fuzz_opts = $(shell sed -n 's/^\([a-z_]*\) *= *\([0-9]*\)$$/-\1=\2/p' fuzz/$(1).options 2>/dev/null) \
	$(if $(wildcard fuzz/$(1).dict),-dict=$(CURDIR)/fuzz/$(1).dict)

.PHONY: fuzz fuzz-libfuzzer fuzz-afl-bins fuzz-run fuzz-afl coverage FORCE
FORCE:

# the replay drivers
$(BUILD)/tests/t_fuzz_%: fuzz/%.c fuzz/main.c $(FUZZ_DEPS) $(BUILD)/libward-prefixed.a | $(BUILD)/tests
	$(CC) $(CFLAGS_TEST) -Ifuzz -DWARD_CORPUS='"$(CURDIR)/corpus"' $< fuzz/main.c \
		$(BUILD)/libward-prefixed.a -o $@ $(LIBS)

# libFuzzer: the library instrumented for coverage and UBSan too
$(BUILD)/fuzz-lib/libward-prefixed.a: FORCE
	$(MAKE) --no-print-directory CC=clang BUILD=$(BUILD)/fuzz-lib \
		CFLAGS="-fsanitize=fuzzer-no-link -fno-sanitize-coverage=trace-cmp $(FUZZ_UBSAN)" $@
$(BUILD)/fuzz/%: fuzz/%.c $(FUZZ_DEPS) $(BUILD)/fuzz-lib/libward-prefixed.a
	@mkdir -p $(@D)
	clang $(FUZZ_CFLAGS) -fsanitize=fuzzer $(FUZZ_UBSAN) $< $(BUILD)/fuzz-lib/libward-prefixed.a -o $@ $(LIBS)
fuzz-libfuzzer: $(addprefix $(BUILD)/fuzz/,$(FUZZERS))

# AFL++: persistent mode (fuzz/main.c), the library through afl-clang-fast
$(BUILD)/fuzz-afl-lib/libward-prefixed.a: FORCE
	$(MAKE) --no-print-directory CC=$(AFL_CC) BUILD=$(BUILD)/fuzz-afl-lib $@
$(BUILD)/fuzz-afl/%: fuzz/%.c fuzz/main.c $(FUZZ_DEPS) $(BUILD)/fuzz-afl-lib/libward-prefixed.a
	@mkdir -p $(@D)
	$(AFL_CC) $(FUZZ_CFLAGS) $< fuzz/main.c $(BUILD)/fuzz-afl-lib/libward-prefixed.a -o $@ $(LIBS)
fuzz-afl-bins: $(if $(HAVE_AFL),$(addprefix $(BUILD)/fuzz-afl/,$(FUZZERS)),)

fuzz: fuzz-libfuzzer fuzz-afl-bins $(addprefix $(BUILD)/tests/t_fuzz_,$(FUZZERS))
	@$(if $(HAVE_AFL),,echo "fuzz: $(AFL_CC) not found (Debian package afl++): AFL++ builds skipped")

# make fuzz-run FUZZER=x SECONDS=n: new inputs go to $(BUILD)/fuzz/corpus-x,
# crashes to $(BUILD)/fuzz/crash-*; replay one with $(BUILD)/tests/t_fuzz_x FILE
fuzz-run: $(BUILD)/fuzz/$(FUZZER)
	mkdir -p $(BUILD)/fuzz/corpus-$(FUZZER)
	cd $(BUILD)/fuzz && ./$(FUZZER) -max_total_time=$(SECONDS) $(call fuzz_opts,$(FUZZER)) \
		corpus-$(FUZZER) $(CURDIR)/corpus/$(FUZZER)

# make fuzz-afl FUZZER=x SECONDS=n [CORES=k]: one AFL++ instance per core
fuzz-afl: $(BUILD)/fuzz-afl/$(FUZZER)
	fuzz/afl.sh $(BUILD) $(FUZZER) $(SECONDS) $(or $(CORES),$(shell nproc))

# make coverage: every corpus through every harness, under a few option
# sets; llvm-cov's table of src/
LLVM_BIN ?= $(shell ls -d /usr/lib/llvm-14/bin 2>/dev/null)
$(BUILD)/cov-lib/libward-prefixed.a: FORCE
	$(MAKE) --no-print-directory CC=clang BUILD=$(BUILD)/cov-lib OPT="-O0 -g" \
		CFLAGS="-fprofile-instr-generate -fcoverage-mapping -mllvm -runtime-counter-relocation" $@
$(BUILD)/cov/%: fuzz/%.c fuzz/main.c $(FUZZ_DEPS) $(BUILD)/cov-lib/libward-prefixed.a
	@mkdir -p $(@D)
	clang $(FUZZ_CFLAGS) -O0 -fprofile-instr-generate -fcoverage-mapping -mllvm -runtime-counter-relocation -DWARD_CORPUS='"$(CURDIR)/corpus"' \
		$< fuzz/main.c $(BUILD)/cov-lib/libward-prefixed.a -o $@ $(LIBS)
coverage: $(addprefix $(BUILD)/cov/,$(FUZZERS))
	LLVM_BIN=$(LLVM_BIN) fuzz/coverage.sh $(BUILD) $(FUZZERS)

# make mutants [FUZZ_SECONDS=n] [MUTANTS="name..."]: mutation testing of the
# harnesses (fuzz/mutants.sh, fuzz/mutants/list): each mutant built from a
# copy of src/, its witness run, every corpus replayed against it (and with
# FUZZ_SECONDS, each libFuzzer harness run from an empty corpus); the kill
# table goes to $(BUILD)/mutants/table.md.  make check runs the replay part
# (the test "mutants").  The flags each mutant is built with:
MUT_FUZZ_LIB_CFLAGS = $(subst $(CFLAGS),,$(CFLAGS_LIB)) -fsanitize=fuzzer-no-link -fno-sanitize-coverage=trace-cmp $(FUZZ_UBSAN)
$(BUILD)/mutants/env: Makefile fuzz/fuzz.mk
	@mkdir -p $(@D)
	@printf '%s\n' "CC='$(CC)'" "CFLAGS_LIB='$(CFLAGS_LIB)'" "LDFLAGS_LIB='$(LDFLAGS_LIB)'" \
		"CFLAGS_TEST='$(CFLAGS_TEST)'" "LIBS='$(LIBS)'" "FUZZ_LIB_CFLAGS='$(MUT_FUZZ_LIB_CFLAGS)'" \
		"FUZZ_CFLAGS='$(FUZZ_CFLAGS)'" "FUZZ_UBSAN='$(FUZZ_UBSAN)'" >$@
test-bins: $(BUILD)/mutants/env
FUZZ_SECONDS ?= 0
.PHONY: mutants
mutants: all test-bins $(if $(filter-out 0,$(FUZZ_SECONDS)),fuzz-libfuzzer)
	FUZZ_SECONDS=$(FUZZ_SECONDS) nice -n 10 fuzz/mutants.sh $(BUILD) $(MUTANTS)

# make fuzz-merge [FROM="DIR..."]: new inputs from longer sessions
# ($(BUILD)/fuzz/corpus-<h> of make fuzz-run, and each DIR: AFL++ queues,
# ClusterFuzzLite's batch corpora) folded into corpus/<h> with libFuzzer's
# -merge=1, then replayed (fuzz/merge.sh)
.PHONY: fuzz-merge
fuzz-merge: fuzz-libfuzzer $(addprefix $(BUILD)/tests/t_fuzz_,$(FUZZERS))
	fuzz/merge.sh $(BUILD) $(FROM)
