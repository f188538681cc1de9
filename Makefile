# goinject - build, test and run.
#
#   make            build build/goinject
#   make test       unit tests (Check), golden fixtures, CLI tests, integration tests
#   make run        serve on https://127.0.0.1:8443 with a fresh certificate
#   make valgrind   the unit and golden tests under valgrind memcheck
#   make test-asan  every suite against an AddressSanitizer + UBSan build (build/asan)
#   make fuzz       the libFuzzer targets, FUZZ_SECONDS (default 60) each (clang)
#   make bench      goinject against a controller-runtime webhook and its own floor
#   make faults     faults under steady load (SIGTERM, rotation, stalls, bad input, soak)
#   make deps       install the Debian packages the build and tests need
#   make image      the container image goinject/goinject:VERSION (IMAGE=name:tag to change)

CC       ?= cc
GO       ?= $(shell command -v go 2>/dev/null || echo /usr/local/go/bin/go)
BUILD    ?= build
PKGS     := libmicrohttpd jansson openssl gnutls
VERSION  := $(shell cat VERSION 2>/dev/null || echo 0.0.0)
REVISION := $(shell git rev-parse --short HEAD 2>/dev/null || echo unknown)
IMAGE    ?= goinject/goinject:$(VERSION)
# The Dockerfile's base. The default is made by docker/base-image.sh (no registry needed);
# `make image BASE_IMAGE=debian:bookworm-slim` uses a pulled one and skips that script.
LOCAL_BASE_IMAGE := localhost/goinject-base/debian:bookworm
BASE_IMAGE ?= $(LOCAL_BASE_IMAGE)

OPT      ?= -O2 -g
WARN     := -Wall -Wextra -Werror -Wshadow -Wformat=2 -Wstrict-prototypes \
            -Wmissing-prototypes -Wno-unused-parameter
CFLAGS   += -std=c11 -D_GNU_SOURCE $(OPT) $(WARN) -fstack-protector-strong \
            -D_FORTIFY_SOURCE=2 -fPIE \
            -DGOINJECT_VERSION='"$(VERSION)"' -DGOINJECT_REVISION='"$(REVISION)"' \
            $(shell pkg-config --cflags $(PKGS)) $(EXTRA_CFLAGS)
LDFLAGS  += -pie -Wl,-z,relro,-z,now $(EXTRA_LDFLAGS)
LDLIBS   += $(shell pkg-config --libs $(PKGS)) -lpthread -lm

SRCS     := $(wildcard webhook/*.c)
OBJS     := $(patsubst webhook/%.c,$(BUILD)/obj/%.o,$(SRCS))
LIB_OBJS := $(filter-out $(BUILD)/obj/main.o,$(OBJS))
TESTS    := $(patsubst tests/unit/%.c,$(BUILD)/tests/%,$(wildcard tests/unit/test_*.c))


.PHONY: all test unit golden cli integration run valgrind deps clean format golden-update image \
        fuzz-replay test-asan fuzz bench faults FORCE

all: $(BUILD)/goinject

$(BUILD)/obj/%.o: webhook/%.c $(wildcard webhook/*.h) | $(BUILD)/obj
	$(CC) $(CFLAGS) -c -o $@ $<

$(BUILD)/goinject: $(OBJS)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

$(BUILD)/tests/%: tests/unit/%.c tests/unit/testutil.h $(LIB_OBJS) | $(BUILD)/tests
	$(CC) $(CFLAGS) -Iwebhook -DTEST_DATA_DIR='"$(CURDIR)/tests"' $(LDFLAGS) -o $@ $< $(LIB_OBJS) \
	    $(shell pkg-config --libs check) $(LDLIBS)

$(BUILD)/obj $(BUILD)/tests:
	mkdir -p $@

test: unit golden cli fuzz-replay integration

unit: $(TESTS)
	@tests/unit/run.sh $(TESTS)

golden: $(BUILD)/goinject
	@tests/golden/run.sh $(BUILD)/goinject

cli: $(BUILD)/goinject
	@tests/cli/run.sh $(BUILD)/goinject

golden-update: $(BUILD)/goinject
	@tests/golden/run.sh --update $(BUILD)/goinject

integration: $(BUILD)/goinject
	@cd tests/integration && GOINJECT_BIN=$(CURDIR)/$(BUILD)/goinject $(GO) test -count=1 ./...

# The fuzz targets' seed corpus and every input a fuzzer ever crashed on,
# replayed without libFuzzer (tests/fuzz/replay.c) with the ordinary compiler.
FUZZ_TARGETS := review patch config
REPLAYS  := $(patsubst %,$(BUILD)/fuzz-replay/replay-%,$(FUZZ_TARGETS))

$(BUILD)/fuzz-replay/replay-%: tests/fuzz/fuzz_%.c tests/fuzz/replay.c $(LIB_OBJS)
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) -Iwebhook $(LDFLAGS) -o $@ $< tests/fuzz/replay.c $(LIB_OBJS) $(LDLIBS)

fuzz-replay: $(REPLAYS)
	@for t in $(FUZZ_TARGETS); do \
	    $(BUILD)/fuzz-replay/replay-$$t tests/fuzz/corpus/$$t tests/fuzz/regressions/$$t || exit 1; \
	done

# AddressSanitizer + UndefinedBehaviorSanitizer: the same suites on a separate build.
ASAN_BUILD   ?= build/asan
ASAN_FLAGS   := -fsanitize=address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer
ASAN_ENV     := CK_FORK=no ASAN_OPTIONS=detect_leaks=1:abort_on_error=0:detect_stack_use_after_return=1:strict_string_checks=1:check_initialization_order=1 \
                LSAN_OPTIONS=suppressions=$(CURDIR)/tests/asan.supp:print_suppressions=0 \
                UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1

test-asan:
	$(ASAN_ENV) $(MAKE) --no-print-directory BUILD=$(ASAN_BUILD) OPT="-O1 -g" \
	    EXTRA_CFLAGS="$(ASAN_FLAGS)" EXTRA_LDFLAGS="$(ASAN_FLAGS)" test

# libFuzzer targets (clang): the engine compiled with the fuzzer's coverage and ASan + UBSan.
FUZZ_CC      ?= clang
FUZZ_DIR     := $(BUILD)/fuzz
FUZZ_SECONDS ?= 60
FUZZ_CFLAGS  := -std=c11 -D_GNU_SOURCE -g -O1 -fno-omit-frame-pointer -Iwebhook \
                -DGOINJECT_VERSION='"$(VERSION)"' -DGOINJECT_REVISION='"$(REVISION)"' \
                $(shell pkg-config --cflags $(PKGS))
FUZZ_OBJS    := $(patsubst webhook/%.c,$(FUZZ_DIR)/obj/%.o,$(filter-out webhook/main.c,$(SRCS)))
FUZZERS      := $(FUZZ_DIR)/fuzz_review $(FUZZ_DIR)/fuzz_review_json $(FUZZ_DIR)/fuzz_patch \
                $(FUZZ_DIR)/fuzz_config

$(FUZZ_DIR)/obj/%.o: webhook/%.c $(wildcard webhook/*.h)
	@mkdir -p $(@D)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -fsanitize=fuzzer-no-link,address,undefined -c -o $@ $<

$(FUZZ_DIR)/fuzz_review_json: tests/fuzz/fuzz_review.c $(FUZZ_OBJS)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -DJSON_MUTATOR -fsanitize=fuzzer,address,undefined -o $@ $^ $(LDLIBS)

$(FUZZ_DIR)/fuzz_%: tests/fuzz/fuzz_%.c $(FUZZ_OBJS)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -fsanitize=fuzzer,address,undefined -o $@ $^ $(LDLIBS)

fuzz: $(FUZZERS)
	@FUZZ_SECONDS=$(FUZZ_SECONDS) tests/fuzz/run.sh $(FUZZ_DIR)

# Benchmark: the load generator on BENCH_CLIENT_CPUS, the servers on BENCH_SERVER_CPUS,
# both at niceness BENCH_NICE (root only; others run at 0) so that other work on a
# shared machine preempts them less. BENCH_FLAGS: see `build/bench/bench -h`.
BENCH_CLIENT_CPUS ?= 0
BENCH_SERVER_CPUS ?= 1
BENCH_NICE        ?= -10
BENCH_FLAGS       ?=

$(BUILD)/bench/peer: FORCE
	@mkdir -p $(@D)
	cd tests/bench/peer && $(GO) build -o $(CURDIR)/$@ .

$(BUILD)/bench/bench: FORCE
	@mkdir -p $(@D)
	cd tests/bench && $(GO) build -o $(CURDIR)/$@ .

bench: $(BUILD)/goinject $(BUILD)/bench/peer $(BUILD)/bench/bench
	nice -n $(BENCH_NICE) taskset -c $(BENCH_CLIENT_CPUS) $(BUILD)/bench/bench -goinject $(BUILD)/goinject \
	    -peer $(BUILD)/bench/peer -server-cpus "$(BENCH_SERVER_CPUS)" -out $(BUILD)/bench.json $(BENCH_FLAGS)

# Faults under steady load; SOAK_REVIEWS sets the length of the memory soak.
SOAK_REVIEWS ?= 1000000

faults: $(BUILD)/goinject
	@cd tests/faults && GOINJECT_BIN=$(CURDIR)/$(BUILD)/goinject SOAK_REVIEWS=$(SOAK_REVIEWS) \
	    $(GO) test -count=1 -timeout 60m -v ./... 2>&1 | grep -E '^(=== RUN|--- |FAULT|PASS|FAIL|ok|panic)|_test.go'

FORCE:

run: $(BUILD)/goinject
	@tests/run.sh $(BUILD)/goinject

valgrind: $(TESTS) $(BUILD)/goinject $(REPLAYS)
	@VALGRIND=1 tests/unit/run.sh $(TESTS)
	@GOINJECT_WRAPPER="valgrind -q --error-exitcode=99 --leak-check=full --errors-for-leak-kinds=definite" \
	    tests/golden/run.sh $(BUILD)/goinject
	@for t in $(FUZZ_TARGETS); do \
	    valgrind -q --error-exitcode=99 --leak-check=full --errors-for-leak-kinds=definite \
	        $(BUILD)/fuzz-replay/replay-$$t tests/fuzz/corpus/$$t tests/fuzz/regressions/$$t || exit 1; \
	done

deps:
	.ci/install-deps

image:
ifeq ($(BASE_IMAGE),$(LOCAL_BASE_IMAGE))
	docker/base-image.sh $(BASE_IMAGE)
endif
	docker build --build-arg BASE_IMAGE=$(BASE_IMAGE) --build-arg VERSION=$(VERSION) \
	    --build-arg REVISION=$(REVISION) -t $(IMAGE) .

format:
	clang-format -i webhook/*.c webhook/*.h tests/unit/*.c tests/unit/*.h

clean:
	rm -rf $(BUILD)
