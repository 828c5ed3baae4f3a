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
# VALGRIND_SCRIPTS="vaultctl_basic crash_kill9" runs those integration
# scripts only (default: every suite through tests/run). Under memcheck a
# vaultctl run takes about a second: the long loops are cut down.
VALGRIND_SCRIPTS ?=
VALGRIND_UNIT ?= 1
VALGRIND_KILL_OPS ?= 40
VALGRIND_LOAD_GRANTS ?= 50
VALGRIND_SHIM_CHAIN ?= 100
# valgrind 3.19 (Debian 12) does not know pidfd_send_signal (syscall 424),
# which the peer checks use: test_peer fails under it for that reason only.
VALGRIND_SKIP ?= test_peer
VG_DIR := $(BUILD)/valgrind

# The integration suites see a shadow build folder: every entry links to the
# real one, but vaultctl is a wrapper that runs the real one under valgrind,
# logging to $(VG_DIR)/logs/vaultctl.PID.log with its exit status replaced by
# 99 on a memcheck error. vaultd runs under memcheck too (VS_VALGRIND: every
# vs_start_vaultd of tests/lib.sh; logs vaultd.PID.log). A log holding any
# "==PID==" line (an error or a definite leak; --quiet prints nothing else)
# counts as a failure. The shim and the helpers run as they are.
valgrind: check-deps all $(UNIT_BINS) $(HELPER_BINS)
	@rm -rf $(VG_DIR) && mkdir -p $(VG_DIR)/logs
	@if [ -n "$(SAN)" ]; then echo "valgrind: needs a build without SAN=1" >&2; exit 2; fi
	@bad=0; n=0; for t in $(if $(filter 1,$(VALGRIND_UNIT)),$(UNIT_BINS)); do n=$$((n + 1)); \
	  name=$$(basename $$t); \
	  case " $(VALGRIND_SKIP) " in *" $$name "*) echo "valgrind: $$name: skipped (VALGRIND_SKIP)"; continue;; esac; \
	  if VS_BUILD=$(abspath $(BUILD)) CMOCKA_MESSAGE_OUTPUT=TAP $(VALGRIND) $(VALGRIND_FLAGS) \
	       --log-file=$(VG_DIR)/logs/$$name.log $$t >$(VG_DIR)/logs/$$name.out 2>&1; then \
	    echo "valgrind: $$name: ok"; \
	  else rc=$$?; bad=$$((bad + 1)); echo "valgrind: $$name: FAILED (exit $$rc)"; \
	    head -40 $(VG_DIR)/logs/$$name.log; grep -E '^not ok' $(VG_DIR)/logs/$$name.out | head -10; fi; \
	done; echo "valgrind: unit: $$n binaries, $$bad failed"; \
	if [ "$(VALGRIND_INTEGRATION)" = 1 ]; then \
	  shadow=$(abspath $(VG_DIR))/build; mkdir -p $$shadow; \
	  for e in $(abspath $(BUILD))/*; do case $$(basename $$e) in vaultctl|valgrind|fuzz|test-logs) ;; \
	    *) ln -s $$e $$shadow/ ;; esac; done; \
	  printf '#!/bin/sh\nexec %s %s --log-file=%s/logs/vaultctl.%%p.log %s "$$@"\n' \
	    "$(VALGRIND)" "$(VALGRIND_FLAGS)" "$(abspath $(VG_DIR))" "$(abspath $(BUILD))/vaultctl" \
	    >$$shadow/vaultctl; chmod 0755 $$shadow/vaultctl; \
	  $(CC) -std=c11 -Wall -Wextra -Werror -shared -fPIC -o $(VG_DIR)/logs/vg-pidfd.so tests/helpers/preload/vg-pidfd.c -ldl; \
	  export VS_VALGRIND=$(abspath $(VG_DIR))/logs VS_BUILD=$$shadow KILL_OPS=$(VALGRIND_KILL_OPS) \
	    LOAD_GRANTS=$(VALGRIND_LOAD_GRANTS) SHIM_CHAIN=$(VALGRIND_SHIM_CHAIN); \
	  if [ -n "$(VALGRIND_SCRIPTS)" ]; then irc=0; for s in $(VALGRIND_SCRIPTS); do \
	      bash tests/integration/$$s.sh >$(VG_DIR)/logs/$$s.out 2>&1 || irc=1; \
	      echo "valgrind: $$s: $$(grep -c '^ok' $(VG_DIR)/logs/$$s.out) ok, $$(grep -c '^not ok' $(VG_DIR)/logs/$$s.out) not ok"; done; \
	  else tests/run; irc=$$?; fi; \
	  vg=$$(grep -l -E '^==[0-9]+== ' $(VG_DIR)/logs/*.log 2>/dev/null | wc -l); \
	  runs=$$(ls $(VG_DIR)/logs/vaultctl.*.log 2>/dev/null | wc -l); \
	  druns=$$(ls $(VG_DIR)/logs/vaultd.*.log 2>/dev/null | wc -l); \
	  echo "valgrind: integration: suite exit $$irc; vaultctl ran $$runs times and vaultd $$druns times under valgrind, $$vg with memcheck errors or leaks"; \
	  if [ $$vg -ne 0 ]; then bad=$$((bad + vg)); \
	    for f in $$(grep -l -E '^==[0-9]+== ' $(VG_DIR)/logs/*.log | head -3); do echo "== $$f"; head -30 $$f; done; fi; \
	  if [ $$irc -ne 0 ]; then echo "valgrind: integration suites failed under the wrapper (see $$shadow/test-logs)"; fi; \
	fi; \
	if [ $$bad -ne 0 ]; then echo "valgrind: $$bad failures"; exit 1; fi; echo "valgrind: no memcheck error"

# header dependencies of the fuzz objects (the Makefile's own list covers
# $(BUILD)/obj and obj-shim only)
-include $(shell find $(FUZZ_DIR)/obj -name '*.d' 2>/dev/null)
