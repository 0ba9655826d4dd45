# popek build. `make` builds build/popek; `make test` builds everything with
# ASan/UBSan and runs every test; `make run` boots the default guest.
CC ?= gcc
WARN := -Wall -Wextra -Wshadow -Wvla -Wmissing-prototypes -Werror
CFLAGS_COMMON := -std=gnu11 -g $(WARN) -Iinclude -Isrc -D_GNU_SOURCE -pthread -MMD -MP
LDLIBS := -pthread -llz4 -llzma -lz -lzstd -lslirp -lcjson -lseccomp

SRCS := $(shell find src -name '*.c' | sort)
LIB_SRCS := $(filter-out src/main.c,$(SRCS))
UNIT_SRCS := $(wildcard tests/unit/test_*.c)

# Release build.
OBJ := build/obj
CFLAGS := $(CFLAGS_COMMON) -O2
LIB_OBJS := $(LIB_SRCS:%.c=$(OBJ)/%.o)

# Sanitizer build used by the tests.
AOBJ := build/asan/obj
SAN := -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined
ACFLAGS := $(CFLAGS_COMMON) -O1 $(SAN)
ALIB_OBJS := $(LIB_SRCS:%.c=$(AOBJ)/%.o)
UNIT_BINS := $(UNIT_SRCS:tests/unit/%.c=build/asan/unit/%)

# Differential CPU tests (host CPU as the oracle): a sample under the sanitizers
# in `make test`, and an optimized build for the long run.
ORACLE_SRCS := $(wildcard tests/oracle/*.c)
ifneq ($(ORACLE_SRCS),)
UNIT_BINS += build/asan/unit/test_soft_oracle
endif

# Quiet by default; `make V=1` shows full commands.
Q := $(if $(V),,@)
say = $(if $(V),,@echo "  $(1) $(2)";)

.PHONY: all run test test-long bench fuzz deps guest guest-programs clean format install
all: build/popek

build/popek: $(LIB_OBJS) $(OBJ)/src/main.o
	$(call say,LD,$@)$(CC) $(CFLAGS) -o $@ $^ $(LDLIBS)

$(OBJ)/%.o: %.c
	@mkdir -p $(dir $@)
	$(call say,CC,$@)$(CC) $(CFLAGS) -c -o $@ $<

build/asan/popek: $(ALIB_OBJS) $(AOBJ)/src/main.o
	$(call say,LD,$@)$(CC) $(ACFLAGS) -o $@ $^ $(LDLIBS)

$(AOBJ)/%.o: %.c
	@mkdir -p $(dir $@)
	$(call say,CC,$@)$(CC) $(ACFLAGS) -c -o $@ $<

build/asan/unit/%: tests/unit/%.c tests/unit/test.h $(ALIB_OBJS)
	@mkdir -p $(dir $@)
	$(call say,LD,$@)$(CC) $(ACFLAGS) -Itests -o $@ $< $(ALIB_OBJS) $(LDLIBS)

build/asan/unit/test_soft_oracle: $(ORACLE_SRCS) $(wildcard tests/oracle/*.h) $(ALIB_OBJS)
	@mkdir -p $(dir $@)
	$(call say,LD,$@)$(CC) $(ACFLAGS) -Itests -o $@ $(ORACLE_SRCS) $(ALIB_OBJS) $(LDLIBS)

build/oracle: $(ORACLE_SRCS) $(wildcard tests/oracle/*.h) $(LIB_OBJS)
	$(call say,LD,$@)$(CC) $(CFLAGS) -Itests -o $@ $(ORACLE_SRCS) $(LIB_OBJS) $(LDLIBS)

# Fuzz targets (libFuzzer, clang): each tests/fuzz/fuzz_X.c runs FUZZ_SECONDS,
# starting from tests/fuzz/seeds/fuzz_X/ when there is one (the corpus grows
# in build/fuzz/corpus/); the JSON/HTTP targets get tests/fuzz/json.dict.
FUZZ_SECONDS ?= 30
FOBJ := build/fuzz/obj
FCFLAGS := $(filter-out -MMD -MP,$(CFLAGS_COMMON)) -O1 -fsanitize=fuzzer-no-link,address,undefined
FLIB_OBJS := $(LIB_SRCS:%.c=$(FOBJ)/%.o)
FUZZ_BINS := $(patsubst tests/fuzz/%.c,build/fuzz/%,$(wildcard tests/fuzz/fuzz_*.c))
# Code the targets share (every tests/fuzz/*.c that is not a fuzz_*.c).
FUZZ_SHARED_OBJS := $(patsubst %.c,$(FOBJ)/%.o,$(filter-out tests/fuzz/fuzz_%.c,$(wildcard tests/fuzz/*.c)))
.SECONDARY: $(FLIB_OBJS) $(FUZZ_SHARED_OBJS)

$(FOBJ)/%.o: %.c
	@mkdir -p $(dir $@)
	$(call say,CC,$@)clang $(FCFLAGS) -MMD -MP -Wno-unused-command-line-argument -c -o $@ $<

build/fuzz/%: tests/fuzz/%.c $(FLIB_OBJS) $(FUZZ_SHARED_OBJS)
	$(call say,LD,$@)clang $(FCFLAGS) -MMD -MP -fsanitize=fuzzer -o $@ $< $(FLIB_OBJS) $(FUZZ_SHARED_OBJS) $(LDLIBS)

# UBSan findings stop the run (the objects are built to recover); an input
# running over FUZZ_TIMEOUT seconds is reported as a hang.
FUZZ_TIMEOUT ?= 20
fuzz: deps $(FUZZ_BINS)
	@for f in $(FUZZ_BINS); do \
		n=$$(basename $$f); \
		mkdir -p build/fuzz/corpus/$$n; \
		seeds=; [ -d tests/fuzz/seeds/$$n ] && seeds=tests/fuzz/seeds/$$n; \
		case $$n in fuzz_config_file|fuzz_http|fuzz_mmds_http) dict=-dict=tests/fuzz/json.dict;; *) dict=;; esac; \
		echo "fuzz: $$f for $(FUZZ_SECONDS)s"; \
		UBSAN_OPTIONS=$${UBSAN_OPTIONS:-halt_on_error=1:print_stacktrace=1} \
		$$f -max_total_time=$(FUZZ_SECONDS) -timeout=$(FUZZ_TIMEOUT) -close_fd_mask=3 $$dict \
			-artifact_prefix=build/fuzz/$$n- build/fuzz/corpus/$$n $$seeds \
			2>build/fuzz/$$n.log || { tail -30 build/fuzz/$$n.log; exit 1; }; \
		grep -E '^Done|^#[0-9]+[[:space:]]+DONE' build/fuzz/$$(basename $$f).log | tail -2; \
	done

# Guest test programs (tests/guest/*): built by their own makefile.
guest-programs:
	$(MAKE) -C tests/guest

# Installs missing Debian packages (needs root and apt).
deps:
	@scripts/deps.sh

# The default guest: Debian cloud kernel + busybox initramfs in build/guest/.
guest: deps
	@guest/build.sh build/guest

run: deps build/popek guest
	build/popek run --kernel build/guest/vmlinuz --initrd build/guest/initramfs.cpio.gz \
		--mem 512M --engine auto

test: deps build/popek build/asan/popek $(UNIT_BINS) guest-programs guest
	@tests/run.sh

test-long: deps build/popek build/asan/popek $(UNIT_BINS) guest-programs guest build/oracle
	@POPEK_TEST_LONG=1 tests/run.sh

bench: deps build/popek guest
	@bench/run.sh

# Installs popek and, beside it, a `firecracker` symlink: started under that
# name popek takes Firecracker's command line (docs/api.md).
PREFIX ?= /usr/local
BINDIR ?= $(PREFIX)/bin
install: build/popek
	install -d $(DESTDIR)$(BINDIR)
	install -m 0755 build/popek $(DESTDIR)$(BINDIR)/popek
	ln -sf popek $(DESTDIR)$(BINDIR)/firecracker

format:
	clang-format -i $(SRCS) $(shell find src include tests -name '*.h')

clean:
	rm -rf build
	$(MAKE) -C tests/guest clean

-include $(shell find build -name '*.d' 2>/dev/null)
