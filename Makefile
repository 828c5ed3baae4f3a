# vaultshim build. `make` builds into $(BUILD); `make test` runs every suite;
# `make asan` runs the same suite built with ASan+UBSan in build/asan.
#
# Layout: common/ (libc only, shared by the shim and the daemon),
# vaultd/core/ (store, audit, policy: libsodium, libconfig), vaultd/ctl/
# (vaultctl), vaultd/daemon/ (vaultd), vaultd/exec/ (vault-exec: masking,
# relay), shim/ (libvaultshim.so). Each folder's
# .c files are picked up by wildcard, so a new module needs no Makefile edit.

BUILD   ?= build
PREFIX  ?= /usr/local
DESTDIR ?=
SAN     ?=

PKGS := libsodium libconfig
PKG_CFLAGS := $(shell pkg-config --cflags $(PKGS))
PKG_LIBS   := $(shell pkg-config --libs $(PKGS))
CMOCKA_CFLAGS := $(shell pkg-config --cflags cmocka 2>/dev/null)
CMOCKA_LIBS   := $(shell pkg-config --libs cmocka 2>/dev/null)

WARN := -Wall -Wextra -Werror -Wshadow -Wformat=2 -Wstrict-prototypes \
        -Wmissing-prototypes -Wvla -Wpointer-arith -Wundef
BASE := -std=c11 -D_GNU_SOURCE -gdwarf-4 -fPIC -fstack-protector-strong -Icommon -Ivaultd/core -Ivaultd/daemon -Ivaultd/exec
ifeq ($(SAN),1)
OPT  := -O1 -fno-omit-frame-pointer -fsanitize=address,undefined -fno-sanitize-recover=all
SANLD := -fsanitize=address,undefined
else
OPT  := -O2 -D_FORTIFY_SOURCE=2
SANLD :=
endif
ALL_CFLAGS := $(BASE) $(OPT) $(WARN) $(PKG_CFLAGS) $(CFLAGS)
HARDEN_LD  := -pie -Wl,-z,relro,-z,now -Wl,-z,noexecstack $(SANLD)

COMMON_SRC := $(wildcard common/*.c)
CORE_SRC   := $(wildcard vaultd/core/*.c)
CTL_SRC    := $(filter-out vaultd/ctl/main.c,$(wildcard vaultd/ctl/*.c))
DAEMON_SRC := $(filter-out vaultd/daemon/main.c,$(wildcard vaultd/daemon/*.c))
EXEC_SRC   := $(filter-out vaultd/exec/main.c,$(wildcard vaultd/exec/*.c))
SHIM_SRC   := $(wildcard shim/*.c)
UNIT_SRC   := $(wildcard tests/unit/test_*.c)
HELPER_SRC := $(wildcard tests/helpers/*.c)

obj = $(patsubst %.c,$(BUILD)/obj/%.o,$(1))

LIBCOMMON := $(BUILD)/libvscommon.a
LIBCORE   := $(BUILD)/libvscore.a
LIBCTL    := $(BUILD)/libvsctl.a
LIBDAEMON := $(BUILD)/libvsdaemon.a
LIBEXEC   := $(BUILD)/libvsexec.a
VS_LIBS   := $(LIBCTL) $(LIBDAEMON) $(LIBEXEC) $(LIBCORE) $(LIBCOMMON)

PROGRAMS := $(BUILD)/vaultctl
ifneq ($(wildcard vaultd/daemon/main.c),)
PROGRAMS += $(BUILD)/vaultd
endif
ifneq ($(wildcard vaultd/exec/main.c),)
PROGRAMS += $(BUILD)/vault-exec
endif
SHIM := $(if $(SHIM_SRC),$(BUILD)/libvaultshim.so)
UNIT_BINS   := $(patsubst tests/unit/%.c,$(BUILD)/tests/%,$(UNIT_SRC))
HELPER_BINS := $(patsubst tests/helpers/%.c,$(BUILD)/tests/helpers/%,$(HELPER_SRC))

.PHONY: all test check suite-bins asan-bins unit asan demo install clean check-deps
all: $(PROGRAMS) $(SHIM)

$(BUILD)/obj/%.o: %.c Makefile
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -MMD -MP -c $< -o $@

$(BUILD)/obj/tests/%.o: ALL_CFLAGS += $(CMOCKA_CFLAGS) -Itests/unit

define static_lib
$(1): $(call obj,$(2))
	@mkdir -p $$(dir $$@)
	rm -f $$@
	$$(AR) rcs $$@ $$^
endef
$(eval $(call static_lib,$(LIBCOMMON),$(COMMON_SRC)))
$(eval $(call static_lib,$(LIBCORE),$(CORE_SRC)))
$(eval $(call static_lib,$(LIBCTL),$(CTL_SRC)))
$(eval $(call static_lib,$(LIBDAEMON),$(DAEMON_SRC)))
$(eval $(call static_lib,$(LIBEXEC),$(EXEC_SRC)))

# vaultctl is also the launcher (vaultctl run, vault-run), paid once per
# agent start: libsodium and libconfig are linked into it from their static
# archives when those are installed, which spares the dynamic loader two
# libraries and about 190 symbol bindings (docs/launchers.md). The cost: a
# libsodium update reaches vaultctl at its next build (vaultd and vault-exec
# load the shared library). CTL_STATIC=0 links vaultctl like the others.
CTL_STATIC ?= 1
CTL_ARCHIVES := $(if $(filter 1,$(CTL_STATIC)),$(shell for a in libsodium.a libconfig.a; do \
    [ -f "$$($(CC) -print-file-name=$$a)" ] || exit 0; done; echo yes))
CTL_STATIC_LIBS := -Wl,-Bstatic $(PKG_LIBS) -Wl,-Bdynamic -pthread
CTL_LIBS := $(if $(CTL_ARCHIVES),$(CTL_STATIC_LIBS),$(PKG_LIBS))

$(BUILD)/vaultctl: $(call obj,vaultd/ctl/main.c) $(VS_LIBS)
	$(CC) $(HARDEN_LD) $(LDFLAGS) -o $@ $< $(VS_LIBS) $(CTL_LIBS)

$(BUILD)/vaultd: $(call obj,vaultd/daemon/main.c) $(VS_LIBS)
	$(CC) $(HARDEN_LD) $(LDFLAGS) -o $@ $< $(VS_LIBS) $(PKG_LIBS)

$(BUILD)/vault-exec: $(call obj,vaultd/exec/main.c) $(VS_LIBS)
	$(CC) $(HARDEN_LD) $(LDFLAGS) -o $@ $< $(VS_LIBS) $(PKG_LIBS) -lutil

$(BUILD)/tests/%: $(BUILD)/obj/tests/unit/%.o $(VS_LIBS)
	@mkdir -p $(dir $@)
	$(CC) $(HARDEN_LD) $(LDFLAGS) -o $@ $< $(VS_LIBS) $(PKG_LIBS) $(CMOCKA_LIBS)

$(BUILD)/tests/helpers/%: $(BUILD)/obj/tests/helpers/%.o $(VS_LIBS)
	@mkdir -p $(dir $@)
	$(CC) $(HARDEN_LD) $(LDFLAGS) -o $@ $< $(VS_LIBS) $(PKG_LIBS)

# The shim runs inside every process of an agent's tree: libc only, every
# symbol hidden but the hooks (VS_EXPORT), and never sanitizer-instrumented
# (an ASan shim cannot be preloaded into uninstrumented tools). Its objects,
# and a private copy of common/, are compiled apart for that.
# -ffunction-sections with --gc-sections at link: what of common/ only
# vaultd uses is left out (9 KB of code, 5 KB of read-only data), and the
# code fits one 64 KB fault-around window.
# initial-exec TLS: the shim is loaded at start (LD_PRELOAD), so its
# thread-locals sit in the static TLS block at a fixed offset; no
# __tls_get_addr import to bind in every process, no call per access.
SHIM_CFLAGS := -std=c11 -D_GNU_SOURCE -gdwarf-4 -fPIC -fvisibility=hidden -fstack-protector-strong -O2 \
               -ffunction-sections -ftls-model=initial-exec -D_FORTIFY_SOURCE=2 -Icommon -Ishim $(WARN) $(CFLAGS)
SHIM_OBJ := $(patsubst %.c,$(BUILD)/obj-shim/%.o,$(SHIM_SRC) $(COMMON_SRC))

$(BUILD)/obj-shim/%.o: %.c Makefile
	@mkdir -p $(dir $@)
	$(CC) $(SHIM_CFLAGS) -MMD -MP -c $< -o $@

# shim/strmem.c defines memcpy, strlen and the rest for the shim's own
# calls: no builtins, and no loop turned back into a call to itself (gcc's
# loop distribution; clang's idiom recognition stays off without builtins).
NO_LOOP_CALLS := $(shell $(CC) -Werror -fno-tree-loop-distribute-patterns -x c -c /dev/null -o /dev/null \
                   2>/dev/null && echo -fno-tree-loop-distribute-patterns)
$(BUILD)/obj-shim/shim/strmem.o: SHIM_CFLAGS += -ffreestanding $(NO_LOOP_CALLS)

# --sort-section=name keeps the shim's hot variables together (shim.h,
# VS_HOT): a process's start then touches one or two pages of its data
# rather than one per file. shim/layout.ld: read-only data beside the
# symbol tables, one mapping fewer.
$(BUILD)/libvaultshim.so: $(SHIM_OBJ) shim/layout.ld
	$(CC) -shared -o $@ $(SHIM_OBJ) -Wl,-z,relro,-z,now -Wl,-z,noexecstack -Wl,--no-undefined -Wl,--gc-sections \
	  -Wl,--sort-section=name \
	  -Wl,-T,shim/layout.ld -Wl,-soname,libvaultshim.so

check-deps:
	@pkg-config --exists $(PKGS) cmocka || { \
	  echo "make: missing libsodium, libconfig or cmocka development files; run: sudo scripts/install-deps" >&2; exit 1; }

# The one test command (README, .ci/run): tests/run-all runs the unit and
# integration suites, the same suites built with ASan+UBSan ($(ASAN_BUILD)),
# and every fuzz target for FUZZ_SECONDS; one last line "N passed, N failed"
# counts all three. `make check` is the quick part: the normal suite only.
ASAN_BUILD ?= build/asan
test: check-deps suite-bins asan-bins fuzz-bins
	@VS_BUILD=$(abspath $(BUILD)) VS_ASAN_BUILD=$(abspath $(ASAN_BUILD)) FUZZ_DIR=$(abspath $(FUZZ_DIR)) \
	  FUZZ_SECONDS=$(FUZZ_SECONDS) tests/run-all

check: check-deps suite-bins
	@VS_BUILD=$(abspath $(BUILD)) tests/run

suite-bins: all $(UNIT_BINS) $(HELPER_BINS)

asan-bins:
	$(MAKE) BUILD=$(ASAN_BUILD) SAN=1 suite-bins

asan:
	$(MAKE) BUILD=$(ASAN_BUILD) SAN=1 check

demo: all
	@VS_BUILD=$(abspath $(BUILD)) scripts/demo

# Programs and launchers in bin/, the shim in lib/vaultshim/ (where vaultd,
# vaultctl run and vault-run look for it), man pages, the systemd user unit
# (ExecStart pointed at PREFIX), the example policy and Containerfile.
install: all
	install -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(PREFIX)/share/vaultshim $(DESTDIR)$(PREFIX)/lib/systemd/user \
	  $(addprefix $(DESTDIR)$(PREFIX)/share/man/man,1 5 8)
	install -m 0755 $(PROGRAMS) scripts/vault-run scripts/vault-entrypoint $(DESTDIR)$(PREFIX)/bin/
	$(if $(SHIM),install -d $(DESTDIR)$(PREFIX)/lib/vaultshim && install -m 0644 $(SHIM) $(DESTDIR)$(PREFIX)/lib/vaultshim/)
	install -m 0644 config/vaultshim.conf config/Containerfile.example $(DESTDIR)$(PREFIX)/share/vaultshim/
	$(foreach s,1 5 8,install -m 0644 $(wildcard man/*.$(s)) $(DESTDIR)$(PREFIX)/share/man/man$(s)/ &&) true
	sed 's|/usr/local/bin/|$(PREFIX)/bin/|' config/vaultd.service >$(DESTDIR)$(PREFIX)/lib/systemd/user/vaultd.service
	chmod 0644 $(DESTDIR)$(PREFIX)/lib/systemd/user/vaultd.service

clean:
	rm -rf build

include tests/bench/bench.mk
include tests/fuzz/fuzz.mk

.SECONDARY:
-include $(shell find $(BUILD)/obj $(BUILD)/obj-shim -name '*.d' 2>/dev/null)
