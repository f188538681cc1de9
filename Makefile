# goinject - build, test and run.
#
#   make            build build/goinject
#   make test       unit tests (Check), fuzz regressions, golden fixtures, CLI tests,
#                   integration tests, inspect tests (real binaries and images), registry tests
#   make registry-test  goinject serve reading image facts from the test registry (tests/registry)
#   make fuzz       libFuzzer runs of tests/fuzz/fuzz_*.c (FUZZ_SECONDS=60 each; clang)
#   make run        serve on https://127.0.0.1:8443 with a fresh certificate
#   make valgrind   the unit and golden tests under valgrind memcheck
#   make e2e        end-to-end suite against a real control plane and, where the machine can
#                   run one (root, containerd), a real node (tests/e2e, docs/e2e-node.md)
#   make test-asan  every suite against an AddressSanitizer + UBSan build (build/asan)
#   make bench      goinject against a controller-runtime webhook and its own floor, and its
#                   registry layer: cache hits, cold lookups (Docker for the test images)
#   make faults     faults under steady load (SIGTERM, rotation, stalls, bad input, soak)
#   make deps       install the Debian packages the build and tests need (make, make run and
#                   make test install what is missing themselves, once per build directory)
#   make image      the container image goinject/goinject:VERSION (IMAGE=name:tag to change)
#   make probe      the probe agent build/probe/{glibc,musl}/libgoinject-probe.so (musl: musl-gcc)
#   make e2e-runtime  mutated pods run in real containers (Docker); builds the image first
#   make quickstart the README's two commands (make run, make test) in a fresh container of the
#                   project's Debian base image (Docker)

CC       ?= cc
GO       ?= $(shell command -v go 2>/dev/null || echo /usr/local/go/bin/go)
BUILD    ?= build
PKGS     := libmicrohttpd jansson openssl gnutls zlib libcurl libzstd
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
# --as-needed: only the libraries goinject calls are loaded, which keeps the server's resident
# memory down.
LDFLAGS  += -pie -Wl,-z,relro,-z,now -Wl,--as-needed $(EXTRA_LDFLAGS)
LDLIBS   += $(shell pkg-config --libs $(PKGS)) -lpthread

SRCS     := $(wildcard webhook/*.c)
OBJS     := $(patsubst webhook/%.c,$(BUILD)/obj/%.o,$(SRCS))
LIB_OBJS := $(filter-out $(BUILD)/obj/main.o,$(OBJS))
# Code only the tests and fuzzers use (tests/support): linked into them, never into goinject.
SUPPORT_OBJS := $(patsubst tests/support/%.c,$(BUILD)/support/%.o,$(wildcard tests/support/*.c))
TEST_OBJS := $(LIB_OBJS) $(SUPPORT_OBJS)
.SECONDARY: $(SUPPORT_OBJS)
TESTS    := $(patsubst tests/unit/%.c,$(BUILD)/tests/%,$(wildcard tests/unit/test_*.c))
FUZZ_TARGETS := $(patsubst tests/fuzz/%.c,%,$(wildcard tests/fuzz/fuzz_*.c))
FUZZ_REGRESS := $(patsubst %,$(BUILD)/fuzz-regress/%,$(FUZZ_TARGETS))
FUZZ_SECONDS ?= 60


# The e2e control plane's state (certificates, etcd data, logs) per checkout, so
# that two checkouts on one machine never share, or tear down, a cluster.
GOINJECT_E2E_STATE ?= $(CURDIR)/$(BUILD)/e2e-cluster
export GOINJECT_E2E_STATE

.PHONY: all test unit golden cli integration inspect fuzz fuzz-regress e2e run valgrind deps \
        clean format golden-update image probe e2e-runtime test-asan bench bench-images faults \
        registry-test quickstart runtime-bin FORCE

all: $(BUILD)/goinject

# What a fresh Debian machine lacks is installed before the first compile (build) or the first
# test (test) of a build directory; the stamps keep later runs from asking dpkg again.
# GOINJECT_DEPS=0 skips the check where the packages are someone else's business (the
# Dockerfile's build stage installs its own list and has no .ci/ in its context).
GOINJECT_DEPS ?= 1
ifeq ($(GOINJECT_DEPS),0)
DEPS_BUILD :=
DEPS_TEST  :=
else
DEPS_BUILD := $(BUILD)/.deps-build
DEPS_TEST  := $(BUILD)/.deps-test
endif

$(BUILD)/.deps-build $(BUILD)/.deps-test: .ci/install-deps
	@.ci/install-deps $(if $(findstring test,$@),test,build)
	@mkdir -p $(@D) && touch $@

$(BUILD)/obj/%.o: webhook/%.c $(wildcard webhook/*.h) | $(BUILD)/obj $(DEPS_BUILD)
	$(CC) $(CFLAGS) -c -o $@ $<

$(BUILD)/support/%.o: tests/support/%.c $(wildcard tests/support/*.h) $(wildcard webhook/*.h) | $(BUILD)/support $(DEPS_TEST)
	$(CC) $(CFLAGS) -Iwebhook -c -o $@ $<

$(BUILD)/goinject: $(OBJS)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

# The bench build: goinject with the benchmark aids (-DGOINJECT_BENCH: `serve --bench-floor`),
# which only the files that hold them are compiled again for. `make bench` runs it for the floor
# rows and the shipped build/goinject for every other.
BENCH_SRCS := server main
BENCH_OBJS := $(patsubst %,$(BUILD)/bench/obj/%.o,$(BENCH_SRCS)) \
              $(filter-out $(patsubst %,$(BUILD)/obj/%.o,$(BENCH_SRCS)),$(OBJS))

$(BUILD)/bench/obj/%.o: webhook/%.c $(wildcard webhook/*.h) | $(DEPS_BUILD)
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) -DGOINJECT_BENCH -c -o $@ $<

$(BUILD)/bench/goinject: $(BENCH_OBJS)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

$(BUILD)/tests/%: tests/unit/%.c $(wildcard tests/unit/*.h) $(TEST_OBJS) | $(BUILD)/tests $(DEPS_TEST)
	$(CC) $(CFLAGS) -Iwebhook -Itests/support -DTEST_DATA_DIR='"$(CURDIR)/tests"' $(LDFLAGS) -o $@ $< \
	    $(TEST_OBJS) $(shell pkg-config --libs check) $(LDLIBS)

# The fuzz targets replayed over their seeds and saved crashes, with the normal compiler.
$(BUILD)/fuzz-regress/%: tests/fuzz/%.c tests/fuzz/regress.c $(TEST_OBJS) | $(BUILD)/fuzz-regress $(DEPS_TEST)
	$(CC) $(CFLAGS) -Iwebhook -Itests/support $(LDFLAGS) -o $@ $< tests/fuzz/regress.c $(TEST_OBJS) \
	    $(LDLIBS)

$(BUILD)/fuzz-regress/seeds: tests/fuzz/seeds.c $(wildcard tests/unit/*.h) webhook/buf.c | $(BUILD)/fuzz-regress $(DEPS_TEST)
	$(CC) $(CFLAGS) -Iwebhook -Itests/unit $(LDFLAGS) -o $@ $< webhook/buf.c $(LDLIBS)

$(BUILD)/obj $(BUILD)/support $(BUILD)/tests $(BUILD)/fuzz-regress:
	mkdir -p $@

# The probe agent (agent/probe.c, see README "Proof at runtime"): an LD_PRELOAD library that
# records the processes it is loaded into. Built for glibc with $(CC), and for musl with musl-gcc
# when that is installed (Debian: musl-tools). Its own flags: position independent, nothing
# exported, no dependency but the C library.
MUSL_CC      ?= $(shell command -v musl-gcc 2>/dev/null)
PROBE_CFLAGS := -std=c11 -D_GNU_SOURCE -O2 -g -fPIC -fvisibility=hidden -fstack-protector-strong \
                $(WARN)
PROBE_LDFLAGS := -shared -Wl,-z,relro,-z,now -Wl,--no-undefined
PROBE_OUT    := $(BUILD)/probe/glibc/libgoinject-probe.so \
                $(if $(MUSL_CC),$(BUILD)/probe/musl/libgoinject-probe.so)

probe: $(PROBE_OUT)
	@$(if $(MUSL_CC),true,echo "probe: musl-gcc not found (apt-get install musl-tools): built the glibc probe only")

$(BUILD)/probe/glibc/libgoinject-probe.so: agent/probe.c
	@mkdir -p $(@D)
	$(CC) $(PROBE_CFLAGS) -DGOINJECT_PROBE_LIBC='"glibc"' $(PROBE_LDFLAGS) -o $@ $<

$(BUILD)/probe/musl/libgoinject-probe.so: agent/probe.c
	@mkdir -p $(@D)
	$(MUSL_CC) $(PROBE_CFLAGS) -DGOINJECT_PROBE_LIBC='"musl"' $(PROBE_LDFLAGS) -o $@ $<

test: unit fuzz-regress golden cli integration inspect registry-test

unit: $(TESTS)
	@tests/unit/run.sh $(TESTS)

golden: $(BUILD)/goinject | $(DEPS_TEST)
	@tests/golden/run.sh $(BUILD)/goinject

inspect: $(BUILD)/goinject | $(DEPS_TEST)
	@tests/inspect/run.sh $(BUILD)/goinject

# Each target replays the generated seeds, its checked-in corpus and its regressions: the
# directories that exist when the recipe runs (after the seeds are written, which a $(wildcard)
# would not see in a fresh build directory).
FUZZ_INPUTS = $$(for d in $(BUILD)/fuzz-regress/corpus/$(1) tests/fuzz/corpus/$(1) \
                  tests/fuzz/regressions/$(1); do [ -d $$d ] && echo $$d; done)

# A corpus or regressions folder is named after its target: one that names none would be
# replayed by nothing, so it fails the run.
fuzz-regress: $(FUZZ_REGRESS) $(BUILD)/fuzz-regress/seeds
	@for d in tests/fuzz/corpus/* tests/fuzz/regressions/*; do \
	    [ -e "$$d" ] || continue; \
	    case " $(FUZZ_TARGETS) " in *" $${d##*/} "*) ;; \
	    *) echo "fuzz-regress: $$d names no fuzz target ($(FUZZ_TARGETS))" >&2; exit 1 ;; esac; \
	done
	@$(BUILD)/fuzz-regress/seeds $(BUILD)/fuzz-regress/corpus
	@$(foreach t,$(FUZZ_TARGETS),$(FUZZ_WRAPPER) $(BUILD)/fuzz-regress/$(t) $(call FUZZ_INPUTS,$(t)) &&) true

fuzz:
	@tests/fuzz/run.sh $(FUZZ_SECONDS)

cli: $(BUILD)/goinject | $(DEPS_TEST)
	@tests/cli/run.sh $(BUILD)/goinject

golden-update: $(BUILD)/goinject
	@tests/golden/run.sh --update $(BUILD)/goinject

integration: $(BUILD)/goinject | $(DEPS_TEST)
	@cd tests/integration && GOINJECT_BIN=$(CURDIR)/$(BUILD)/goinject $(GO) test -count=1 ./...

# The registry layer end to end: tests/registry/smoke.sh builds the test registry and the
# inspect images (Docker; cached) and checks the registry itself, then tests/registry/suite runs
# the real goinject serve against it. The Go tool and the images do not depend on the C build
# flags, so they live under build/ for every BUILD (as tests/inspect keeps its images).
REGTEST_BUILD := build

registry-test: $(BUILD)/goinject | $(DEPS_TEST)
	@tests/registry/smoke.sh $(REGTEST_BUILD)
	@if [ ! -f $(REGTEST_BUILD)/inspect/images/.stamp ]; then \
	    echo "registry-test: SKIP: no test images (Docker is not usable here)"; \
	else \
	    cd tests/registry && GOWORK=off GOTOOLCHAIN=local GOINJECT_BIN=$(CURDIR)/$(BUILD)/goinject \
	        TESTREGISTRY_BIN=$(CURDIR)/$(REGTEST_BUILD)/registry/testregistry \
	        INSPECT_IMAGES=$(CURDIR)/$(REGTEST_BUILD)/inspect/images \
	        $(GO) test -count=1 -timeout 6m ./suite/; \
	fi

# The binaries of the control plane and the node are built once per machine (cached in
# ~/.cache/goinject-e2e); with-cluster.sh always tears the cluster, and the node, down.
# The test registry serves the inspect fixture images (built with Docker into
# $(BUILD)/inspect, cached) to the registry-facts checks.
# The node (tests/e2e/node.sh: containerd, CNI, kubelet, kube-scheduler; root) runs the image
# `make image` builds and the runtime tests' images (tests/runtime, built with Docker).
# GOINJECT_E2E_NODE=1 requires the node, 0 runs without one (nor the image), auto (the default)
# runs one where the machine can (tests/e2e/with-cluster.sh).
GOINJECT_E2E_NODE ?= auto
export GOINJECT_E2E_NODE
E2E_NODE_DEPS := $(if $(filter 0,$(GOINJECT_E2E_NODE)),,$(if $(or $(filter 1,$(GOINJECT_E2E_NODE)),$(shell command -v docker)),image runtime-bin))

e2e: $(BUILD)/goinject $(BUILD)/e2e/latewebhook $(BUILD)/registry/testregistry $(E2E_NODE_DEPS)
	PATH="$(dir $(GO)):$$PATH" tests/e2e/cluster.sh build
	@PATH="$(dir $(GO)):$$PATH" GOINJECT_BIN=$(CURDIR)/$(BUILD)/goinject \
	    E2E_LATE_WEBHOOK_BIN=$(CURDIR)/$(BUILD)/e2e/latewebhook \
	    E2E_REGISTRY_BIN=$(CURDIR)/$(BUILD)/registry/testregistry E2E_BUILD=$(CURDIR)/$(BUILD) \
	    E2E_NODE_IMAGES="$(IMAGE)" E2E_IMAGE="$(IMAGE)" E2E_BASE_IMAGE="$(BASE_IMAGE)" \
	    E2E_RUNTIME_BIN=$(CURDIR)/$(BUILD)/runtime/bin \
	    tests/e2e/with-cluster.sh tests/e2e/run.sh

# The runtime tests' programs (tests/runtime/build.sh): the static Go program of the test
# images, its cgo build, the pod runner and the checks.
runtime-bin:
	@GO=$(GO) tests/runtime/build.sh $(CURDIR)/$(BUILD)/runtime

$(BUILD)/e2e/latewebhook: $(wildcard tests/e2e/latewebhook/*.go) tests/e2e/latewebhook/go.mod
	@mkdir -p $(dir $@)
	cd tests/e2e/latewebhook && GOWORK=off GOTOOLCHAIN=local $(GO) build -o $(CURDIR)/$@ .

# AddressSanitizer + UndefinedBehaviorSanitizer: the same suites on a separate build.
ASAN_BUILD   ?= build/asan
ASAN_FLAGS   := -fsanitize=address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer
ASAN_ENV     := CK_FORK=no ASAN_OPTIONS=detect_leaks=1:abort_on_error=0:detect_stack_use_after_return=1:strict_string_checks=1:check_initialization_order=1 \
                LSAN_OPTIONS=suppressions=$(CURDIR)/tests/asan.supp:print_suppressions=0 \
                UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1

test-asan:
	$(ASAN_ENV) $(MAKE) --no-print-directory BUILD=$(ASAN_BUILD) OPT="-O1 -g" \
	    EXTRA_CFLAGS="$(ASAN_FLAGS)" EXTRA_LDFLAGS="$(ASAN_FLAGS)" test

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

# The OCI registry of the registry tests, and its push/index/seed tools (tests/registry).
$(BUILD)/registry/testregistry: FORCE
	@mkdir -p $(@D)
	cd tests/registry && GOWORK=off GOTOOLCHAIN=local $(GO) build -o $(CURDIR)/$@ .

# The registry rows of the bench read the inspect test images from the test registry; both
# scripts cache their results. Without Docker there are no images and the bench skips those rows.
bench-images:
	@tests/inspect/build-binaries.sh $(BUILD)/inspect/bin
	@tests/inspect/build-images.sh $(BUILD)/inspect/bin $(BUILD)/inspect/images || [ $$? = 3 ]

bench: $(BUILD)/goinject $(BUILD)/bench/goinject $(BUILD)/bench/peer $(BUILD)/bench/bench \
       $(BUILD)/registry/testregistry bench-images
	nice -n $(BENCH_NICE) taskset -c $(BENCH_CLIENT_CPUS) $(BUILD)/bench/bench -goinject $(BUILD)/goinject \
	    -floor $(BUILD)/bench/goinject \
	    -peer $(BUILD)/bench/peer -server-cpus "$(BENCH_SERVER_CPUS)" -out $(BUILD)/bench.json \
	    -testregistry $(BUILD)/registry/testregistry -images $(BUILD)/inspect/images $(BENCH_FLAGS)

# Faults under steady load; SOAK_REVIEWS sets the length of the memory soak.
SOAK_REVIEWS ?= 1000000

faults: $(BUILD)/goinject
	@cd tests/faults && GOINJECT_BIN=$(CURDIR)/$(BUILD)/goinject SOAK_REVIEWS=$(SOAK_REVIEWS) \
	    $(GO) test -count=1 -timeout 60m -v ./... 2>&1 | grep -E '^(=== RUN|--- |FAULT|PASS|FAIL|ok|panic)|_test.go'

FORCE:

run: $(BUILD)/goinject
	@tests/run.sh $(BUILD)/goinject

valgrind: $(TESTS) $(BUILD)/goinject
	@VALGRIND=1 tests/unit/run.sh $(TESTS)
	@GOINJECT_WRAPPER="valgrind -q --error-exitcode=99 --leak-check=full --errors-for-leak-kinds=definite" \
	    tests/golden/run.sh $(BUILD)/goinject
	@$(MAKE) --no-print-directory fuzz-regress \
	    FUZZ_WRAPPER="valgrind -q --error-exitcode=99 --leak-check=full --errors-for-leak-kinds=definite"

deps:
	.ci/install-deps test

image:
ifeq ($(BASE_IMAGE),$(LOCAL_BASE_IMAGE))
	docker/base-image.sh $(BASE_IMAGE)
endif
	docker build --build-arg BASE_IMAGE=$(BASE_IMAGE) --build-arg VERSION=$(VERSION) \
	    --build-arg REVISION=$(REVISION) -t $(IMAGE) .

# Mutated pods in real containers (README "Proof at runtime"): needs root, Docker, Go.
e2e-runtime: image probe $(BUILD)/goinject
	@GO=$(GO) tests/runtime/run.sh $(BUILD) $(BUILD)/goinject $(IMAGE) $(BASE_IMAGE)

quickstart:
	@tests/quickstart/run.sh $(BASE_IMAGE)

format:
	clang-format -i webhook/*.c webhook/*.h agent/*.c tests/unit/*.c tests/unit/*.h tests/fuzz/*.c \
	    tests/support/*.c tests/support/*.h

clean:
	rm -rf $(BUILD)
