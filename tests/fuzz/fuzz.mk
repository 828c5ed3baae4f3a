# Fuzzing and valgrind, included after the Makefile:
#
#   include tests/fuzz/fuzz.mk        (or: make -f Makefile -f tests/fuzz/fuzz.mk ...)
#
# make fuzz      builds every tests/fuzz/fuzz_NAME.c with clang
#                -fsanitize=fuzzer,address,undefined into $(BUILD)/fuzz/ and runs
#                each for FUZZ_SECONDS (default 60), two at a time, on a scratch
#                copy of tests/fuzz/corpus/NAME (tests/run-fuzz; the repository
#                is never written). A crash, leak or sanitizer report fails the
#                target; its input is kept as $(BUILD)/fuzz/work/NAME/crash-*.
#                FUZZ_TARGETS=... picks some. `make test` runs them all.
# make fuzz-NAME one target.
# make valgrind  every unit test binary under valgrind (memcheck, definite
#                leaks count as errors), then the integration suites with
#                vaultctl and vaultd under memcheck (VALGRIND_INTEGRATION=0
#                skips that part, VALGRIND_SCRIPTS="a b" picks scripts). Needs a
#                non-sanitizer BUILD.

FUZZ_SECONDS ?= 60
FUZZ_CC      ?= clang
FUZZ_ARGS    ?=
FUZZ_DIR     := $(BUILD)/fuzz
FUZZ_ALL     := $(patsubst tests/fuzz/fuzz_%.c,%,$(wildcard tests/fuzz/fuzz_*.c))
FUZZ_TARGETS ?= $(FUZZ_ALL)
FUZZ_SAN     := -fsanitize=address,undefined -fno-sanitize-recover=all
FUZZ_CFLAGS  := -std=c11 -D_GNU_SOURCE -g -O1 -fno-omit-frame-pointer $(FUZZ_SAN) \
                -Icommon -Ivaultd/core -Ivaultd/daemon -Ivaultd/exec $(PKG_CFLAGS) -Wall -Wextra
FUZZ_LIB     := $(FUZZ_DIR)/libvsfuzz.a
FUZZ_OBJ     := $(patsubst %.c,$(FUZZ_DIR)/obj/%.o,$(COMMON_SRC) $(CORE_SRC) $(EXEC_SRC))

.PHONY: fuzz fuzz-bins valgrind $(addprefix fuzz-,$(FUZZ_ALL))

$(FUZZ_DIR)/obj/%.o: %.c
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -fsanitize=fuzzer-no-link -MMD -MP -c $< -o $@

$(FUZZ_LIB): $(FUZZ_OBJ)
	rm -f $@
	$(AR) rcs $@ $^

$(FUZZ_DIR)/fuzz_%: tests/fuzz/fuzz_%.c $(FUZZ_LIB)
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -fsanitize=fuzzer $< $(FUZZ_LIB) $(PKG_LIBS) -o $@

# The runs themselves are tests/run-fuzz's (also part of `make test`): a
# scratch corpus each, bounded time, FUZZ_JOBS (2) targets at a time, one
# TAP line per target; it fails if any target did.
fuzz-bins: $(addprefix $(FUZZ_DIR)/fuzz_,$(FUZZ_ALL))

define fuzz_run
fuzz-$(1): $(FUZZ_DIR)/fuzz_$(1)
	@FUZZ_DIR=$(abspath $(FUZZ_DIR)) FUZZ_SECONDS=$(FUZZ_SECONDS) FUZZ_TARGETS=$(1) FUZZ_ARGS="$(FUZZ_ARGS)" tests/run-fuzz
endef
$(foreach t,$(FUZZ_ALL),$(eval $(call fuzz_run,$(t))))

fuzz: $(addprefix $(FUZZ_DIR)/fuzz_,$(FUZZ_TARGETS))
	@FUZZ_DIR=$(abspath $(FUZZ_DIR)) FUZZ_SECONDS=$(FUZZ_SECONDS) FUZZ_TARGETS="$(FUZZ_TARGETS)" \
	  FUZZ_ARGS="$(FUZZ_ARGS)" tests/run-fuzz

VALGRIND ?= valgrind
VALGRIND_FLAGS ?= --quiet --error-exitcode=99 --leak-check=full --errors-for-leak-kinds=definite \
                  --show-leak-kinds=definite --track-origins=yes --num-callers=30
VALGRIND_INTEGRATION ?= 1
# VALGRIND_SCRIPTS="vaultctl_basic crash_kill9 e2e/flows" runs those
# scripts only (default: every suite through tests/run). Under memcheck a
# vaultctl run takes about a second: the long loops are cut down.
VALGRIND_SCRIPTS ?=
VALGRIND_UNIT ?= 1
VALGRIND_KILL_OPS ?= 40
VALGRIND_LOAD_GRANTS ?= 50
VALGRIND_SHIM_CHAIN ?= 100
# test_peer tests the peer checks against real processes: valgrind 3.19
# (Debian 12) knows neither pidfd_send_signal nor pidfd_open, and cannot
# exec a memfd (its memfd_exe case), after which the later cases fail too.
VALGRIND_SKIP ?= test_peer
VG_DIR := $(BUILD)/valgrind

# The runs are tests/run-valgrind's (docs/valgrind.md): the unit binaries,
# then the suites against a shadow build folder where vaultctl is a wrapper
# running the real one under memcheck and tests/lib.sh's vs_start_vaultd
# runs vaultd under memcheck (VS_VALGRIND). Any "==PID==" line in a log (an
# error or a definite leak), a failed unit binary or a failed case fails it.
valgrind: check-deps all $(UNIT_BINS) $(HELPER_BINS)
	@if [ -n "$(SAN)" ]; then echo "valgrind: needs a build without SAN=1" >&2; exit 2; fi
	@BUILD=$(abspath $(BUILD)) VG_DIR=$(abspath $(VG_DIR)) CC="$(CC)" VALGRIND="$(VALGRIND)" \
	  VALGRIND_FLAGS="$(VALGRIND_FLAGS)" VALGRIND_UNIT=$(VALGRIND_UNIT) \
	  VALGRIND_INTEGRATION=$(VALGRIND_INTEGRATION) VALGRIND_SCRIPTS="$(VALGRIND_SCRIPTS)" \
	  VALGRIND_SKIP="$(VALGRIND_SKIP)" VALGRIND_KILL_OPS=$(VALGRIND_KILL_OPS) \
	  VALGRIND_LOAD_GRANTS=$(VALGRIND_LOAD_GRANTS) VALGRIND_SHIM_CHAIN=$(VALGRIND_SHIM_CHAIN) tests/run-valgrind

# header dependencies of the fuzz objects (the Makefile's own list covers
# $(BUILD)/obj and obj-shim only)
-include $(shell find $(FUZZ_DIR)/obj -name '*.d' 2>/dev/null)
