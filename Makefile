# Makefile - builds the daemons, tools and tests; runs the stack, the tests and the
# benchmarks. `make` builds release binaries into build/; `make test` builds everything
# again with AddressSanitizer and UndefinedBehaviorSanitizer into build/asan/.

SAN ?= 0
ifeq ($(SAN),1)
OUT ?= build/asan
OPT = -O1 -g -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined
else
OUT ?= build
OPT = -O2 -g
endif
OBJ = $(OUT)/obj
GEN = $(OUT)/gen

CC ?= gcc
VERSION := 0.1.0
PKGS = libmicrohttpd libpq libcurl jansson uuid libjwt libcrypto
PKG_CFLAGS := $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS := $(shell pkg-config --libs $(PKGS) 2>/dev/null)
WARN = -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes -Wmissing-prototypes -Wformat=2 \
       -Wundef -Wno-format-nonliteral -Wno-missing-field-initializers -fno-common -fstack-protector-strong
CFLAGS = -std=c11 -D_GNU_SOURCE -DVERSION=\"$(VERSION)\" $(OPT) $(WARN) -MMD -MP -Icommon -I$(GEN) $(PKG_CFLAGS)
LDLIBS = $(PKG_LIBS) -lpthread -lm
LDFLAGS = $(OPT)

COMMON_SRC := $(wildcard common/*.c)
TENANT_SRC := $(wildcard services/tenant/*.c)
NOTIF_SRC := $(wildcard services/notification/*.c services/notification/*/*.c)
SIM_SRC := $(wildcard tools/graph-sim/*.c)
MINT_SRC := tools/mint-token/main.c
UNIT_SRC := $(wildcard tests/unit/test_*.c)
ITEST_SRC := $(wildcard tests/integration/test_*.c)
HARNESS_SRC := $(wildcard tests/integration/harness*.c)

objs = $(patsubst %.c,$(OBJ)/%.o,$(1))
COMMON_OBJ := $(call objs,$(COMMON_SRC))
HARNESS_OBJ := $(call objs,$(HARNESS_SRC))

BINS = $(OUT)/tenant-service $(OUT)/notification-service $(OUT)/graph-sim $(OUT)/mint-token
UNIT_BINS := $(patsubst tests/unit/%.c,$(OUT)/tests/unit/%,$(UNIT_SRC))
ITEST_BINS := $(patsubst tests/integration/%.c,$(OUT)/tests/integration/%,$(ITEST_SRC))

.PHONY: all bins tests run up down up-cluster down-cluster setup-cluster test test-only lint format migrate bench fuzz valgrind soak clean setup screenshots
all: bins
bins: $(BINS)
tests: $(UNIT_BINS) $(ITEST_BINS)

# A service's own headers are named from its directory: "outbox/worker.h".
$(OBJ)/services/notification/%.o $(OBJ)/tests/unit/%.o: CFLAGS += -Iservices/notification
$(OBJ)/services/tenant/%.o $(OBJ)/tests/unit/%.o: CFLAGS += -Iservices/tenant

$(OBJ)/%.o: %.c
	@mkdir -p $(dir $@)
	@echo "  CC $<"
	@$(CC) $(CFLAGS) -c $< -o $@

$(OBJ)/$(GEN)/%.o: $(GEN)/%.c
	@mkdir -p $(dir $@)
	@echo "  CC $<"
	@$(CC) $(CFLAGS) -c $< -o $@

# Migrations are compiled into the binaries by tools/embed.
$(OUT)/embed: tools/embed/embed.c
	@mkdir -p $(dir $@)
	$(CC) -std=c11 -O1 -Wall -Wextra -Werror $< -o $@
$(GEN)/%_migrations.c: $(OUT)/embed migrations/%/*.sql
	@mkdir -p $(dir $@)
	$(OUT)/embed $* $@ $(sort $(wildcard migrations/$*/*.sql))

# Each service's part of docs/openapi.yaml, as JSON, by tools/openapi-embed (libyaml at
# build time only): compiled in for GET /api/v1/openapi.json, and kept as
# $(GEN)/<service>.openapi.json for the tests.
$(OUT)/openapi-embed: tools/openapi-embed/openapi_embed.c
	@mkdir -p $(dir $@)
	$(CC) -std=c11 -D_GNU_SOURCE -O1 -Wall -Wextra -Werror $< -o $@ \
		$(shell pkg-config --cflags --libs yaml-0.1 jansson) -lm
$(GEN)/%_openapi.c: $(OUT)/openapi-embed docs/openapi.yaml
	@mkdir -p $(dir $@)
	$(OUT)/openapi-embed $* docs/openapi.yaml $@ $(GEN)/$*.openapi.json

$(OUT)/tenant-service: $(call objs,$(TENANT_SRC)) $(OBJ)/$(GEN)/tenant_migrations.o \
		$(OBJ)/$(GEN)/tenant_openapi.o $(COMMON_OBJ)
	$(CC) $(LDFLAGS) $^ -o $@ $(LDLIBS)
$(OUT)/notification-service: $(call objs,$(NOTIF_SRC)) $(OBJ)/$(GEN)/notification_migrations.o \
		$(OBJ)/$(GEN)/notification_openapi.o $(COMMON_OBJ)
	$(CC) $(LDFLAGS) $^ -o $@ $(LDLIBS)
$(OUT)/graph-sim: $(call objs,$(SIM_SRC)) $(COMMON_OBJ)
	$(CC) $(LDFLAGS) $^ -o $@ $(LDLIBS)
$(OUT)/mint-token: $(call objs,$(MINT_SRC)) $(COMMON_OBJ)
	$(CC) $(LDFLAGS) $^ -o $@ $(LDLIBS)
$(OUT)/loadgen: $(OBJ)/bench/loadgen.o $(COMMON_OBJ)
	$(CC) $(LDFLAGS) $^ -o $@ $(LDLIBS)
$(OUT)/rss-floor: $(OBJ)/bench/rss_floor.o $(COMMON_OBJ)
	$(CC) $(LDFLAGS) $^ -o $@ $(LDLIBS)

# Each service's objects but its main, as a library the unit tests link against.
$(OUT)/lib/libnotification.a: $(call objs,$(filter-out %/main.c,$(NOTIF_SRC)))
	@mkdir -p $(dir $@)
	@rm -f $@
	ar rcs $@ $^
$(OUT)/lib/libtenant.a: $(call objs,$(filter-out %/main.c,$(TENANT_SRC)))
	@mkdir -p $(dir $@)
	@rm -f $@
	ar rcs $@ $^

$(OUT)/tests/unit/%: $(OBJ)/tests/unit/%.o $(OUT)/lib/libnotification.a $(OUT)/lib/libtenant.a \
		$(COMMON_OBJ)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) $^ -o $@ $(LDLIBS) -lcmocka
$(OUT)/tests/integration/%: $(OBJ)/tests/integration/%.o $(HARNESS_OBJ) $(COMMON_OBJ)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) $^ -o $@ $(LDLIBS) -lcmocka

setup:
	@scripts/setup.sh run

run: setup
	@$(MAKE) --no-print-directory bins
	@scripts/stack.sh run

up: setup
	@$(MAKE) --no-print-directory bins
	@scripts/stack.sh up

down:
	@scripts/stack.sh down

# Two instances of each service behind nginx on one PostgreSQL (docs/operations.md).
up-cluster: setup-cluster
	@$(MAKE) --no-print-directory bins
	@scripts/stack.sh cluster-up

down-cluster:
	@scripts/stack.sh cluster-down

setup-cluster:
	@scripts/setup.sh run cluster

migrate: setup
	@$(MAKE) --no-print-directory bins
	@scripts/stack.sh migrate

# Benchmarks of issue 8 on release binaries; rewrites docs/BENCHMARKS.md.
bench:
	@scripts/setup.sh bench
	@$(MAKE) --no-print-directory bins $(OUT)/loadgen $(OUT)/rss-floor
	@bench/run.sh

# The whole suite: lint, sanitizer build, unit, integration, SQL and browser tests.
test:
	@scripts/setup.sh test lint
	@$(MAKE) --no-print-directory lint
	@$(MAKE) --no-print-directory SAN=1 bins tests
	@$(MAKE) --no-print-directory bins
	@tests/run.sh

# docs/screenshots/: both pages at desktop and phone size on `make run`'s demo data, and
# the manifest screenshots.test.mjs checks the pages against (tests/browser/screenshots.mjs).
screenshots:
	@scripts/setup.sh test
	@$(MAKE) --no-print-directory SAN=1 bins
	@BIN_DIR=build/asan node tests/browser/screenshots.mjs

# Runs the suites against what is already built.
test-only:
	@tests/run.sh

# libFuzzer harnesses of tests/fuzz (clang, -fsanitize=fuzzer,address,undefined, built
# into build/fuzz/), each run for FUZZ_SECONDS from its seed corpus; `make test` runs
# them for a few seconds each as the suite "fuzz".
FUZZ_SECONDS ?= 60
fuzz:
	@scripts/setup.sh test
	@FUZZ_SECONDS=$(FUZZ_SECONDS) FUZZ_KEEP=1 bash tests/fuzz/run.sh

# The integration suite with every daemon under valgrind (memcheck): binaries built
# without sanitizers into build/valgrind/, and any error or definite leak makes the
# daemon exit 99, which fails the test that stops it. Slow, so not part of `make test`.
VALGRIND = valgrind --quiet --error-exitcode=99 --leak-check=full --errors-for-leak-kinds=definite \
	--show-leak-kinds=definite --track-origins=yes --trace-children=no --num-callers=30
valgrind:
	@scripts/setup.sh test
	@$(MAKE) --no-print-directory OUT=build/valgrind OPT="-O1 -g" bins tests
	@H_WRAPPER="$(VALGRIND)" BIN_DIR=build/valgrind tests/run.sh 'integration/*'

# The long variants of the fault suite (tests/integration/test_faults.c, issue 9): ten
# times the messages (20,000 per scenario) and each fault repeated four times while the
# load runs. Release binaries (`make soak SAN=1` for the sanitizer build); it ends by
# itself, in about 15-20 minutes on a 2-core machine. The "# faults ..." lines report
# each scenario; they are also appended to .run/test-logs/faults-summary.txt.
soak:
	@scripts/setup.sh test
	@$(MAKE) --no-print-directory bins $(OUT)/tests/integration/test_faults
	@scripts/pg.sh start $${TEST_PG_DIR:-.run/test-pg}
	@SOAK=1 BIN_DIR=$(OUT) TEST_PG_DIR=$${TEST_PG_DIR:-.run/test-pg} $(OUT)/tests/integration/test_faults

C_FILES = $(shell git ls-files '*.c' '*.h' 2>/dev/null)
lint:
	@clang-format --dry-run --Werror $(C_FILES)
	@! git grep -nE '\b(strcpy|sprintf|vsprintf|atoi|atol|strtok|gets)\s*\(' -- '*.c' '*.h' \
		|| { echo "lint: banned C calls above (see STYLE.md)"; exit 1; }

format:
	@clang-format -i $(C_FILES)

clean:
	rm -rf build

-include $(shell find $(OUT)/obj -name '*.d' 2>/dev/null)
