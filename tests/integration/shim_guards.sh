#!/usr/bin/env bash
# Guards of the shim that no single hook family owns: a library whose own
# constructor calls getenv before ours runs; an allowlisted node that must
# not open its inspector on SIGUSR1; a stopped vaultd holding a tool at most
# the shim's bound; a granted value zeroed in place at exit;
# valgrind finding no error or leak in ordinary processes under the shim.
. "$(dirname "$0")/../lib.sh"
vs_clean_env "$@"
vs_begin
vs_trusted_dir
V=$VAULTCTL
T=$VS_TRUSTED
SHIM="$VS_BUILD/libvaultshim.so"
export ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}verify_asan_link_order=0"
tok=$(fake_token gh)

# --- a constructor of another library calls getenv before ours
cat >"$VS_TMP/early.c" <<'C'
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
__attribute__((constructor)) static void early(void)
{
    printf("early getenv: %s\n", getenv("GH_TOKEN") != NULL ? "PRESENT" : "absent");
    printf("early secure_getenv: %s\n", secure_getenv("GH_TOKEN") != NULL ? "PRESENT" : "absent");
}
C
printf 'int main(void) { return 0; }\n' >"$VS_TMP/main.c"
cc -shared -fPIC -o "$VS_TMP/libearly.so" "$VS_TMP/early.c" &&
    cc -o "$VS_TMP/early" "$VS_TMP/main.c" -Wl,--no-as-needed -L"$VS_TMP" -learly -Wl,-rpath,"$VS_TMP"
check "control: without the shim, the early constructor sees the token" bash -c '
    GH_TOKEN="$1" "$0" | grep -qx "early getenv: PRESENT"' "$VS_TMP/early" "$tok"
check "with the shim, getenv and secure_getenv in an earlier constructor see nothing" bash -c '
    out=$(LD_PRELOAD="$1" GH_TOKEN="$2" "$0"); [ "$out" = "$(printf "early getenv: absent\nearly secure_getenv: absent")" ]' \
    "$VS_TMP/early" "$SHIM" "$tok"

# --- node, allowlisted, and SIGUSR1
"$V" init --keyfile >/dev/null
printf '%s' "$tok" | "$V" save gh_token >/dev/null
cat >"$T/tool.js" <<'JS'
const has = process.env.GH_TOKEN !== undefined && process.env.GH_TOKEN.length > 0;
console.log("granted " + has);
setTimeout(() => console.log("done"), 1500);
JS
chmod 644 "$T/tool.js"
printf 'tools = ( { name = "nodetool"; exe = "/usr/bin/node"; script = "%s"; env = { GH_TOKEN = "gh_token"; }; } );\n' \
    "$T/tool.js" >"$T/policy.conf"
chmod 644 "$T/policy.conf"
vs_start_vaultd "$T/policy.conf" || { not_ok "vaultd starts"; vs_end; exit 1; }
run_node() { # OUT ERR ARGS...: node under the shim, SIGUSR1 after it printed its first line
    local out=$1 err=$2; shift 2
    env LD_PRELOAD="$SHIM" VAULT_SOCKET="$VAULT_SOCKET" /usr/bin/node "$@" >"$out" 2>"$err" &
    local pid=$!
    for _ in $(seq 1 100); do [ -s "$out" ] && break; sleep 0.05; done
    kill -USR1 "$pid" 2>/dev/null
    wait "$pid"
}
printf 'console.log("plain"); setTimeout(() => console.log("done"), 1500);\n' >"$VS_TMP/plain.js"
run_node "$VS_TMP/p.out" "$VS_TMP/p.err" "$VS_TMP/plain.js"
check "control: an ordinary node under the shim opens its inspector on SIGUSR1" grep -q "Debugger listening" "$VS_TMP/p.err"
run_node "$VS_TMP/n.out" "$VS_TMP/n.err" "$T/tool.js"
check "the allowlisted node is granted" grep -qx "granted true" "$VS_TMP/n.out"
check "and SIGUSR1 does not open its inspector" bash -c '! grep -q "Debugger listening" "$0" && grep -qx done "$1"' \
    "$VS_TMP/n.err" "$VS_TMP/n.out"
printf '// an agent-written module\n' >"$VS_TMP/inject.js"
env LD_PRELOAD="$SHIM" VAULT_SOCKET="$VAULT_SOCKET" NODE_OPTIONS="--require=$VS_TMP/inject.js" \
    /usr/bin/node "$T/tool.js" >"$VS_TMP/o.out" 2>"$VS_TMP/o.err"
check "NODE_OPTIONS --require refuses the node tool its grant, with one line" bash -c '
    grep -qx "granted false" "$0" && [ "$(grep -c "no grant: .*NODE_OPTIONS" "$1")" = 1 ]' "$VS_TMP/o.out" "$VS_TMP/o.err"
# --- one step: vaultd runs as root here, so it can inspect a non-dumpable
# process and says so in the index; the shim then goes non-dumpable BEFORE
# it sends its request (invariant 7 from the very first byte). A traced
# tool shows the order, is refused (the tracer), and is dumpable again.
env LD_PRELOAD="$SHIM" VAULT_SOCKET="$VAULT_SOCKET" strace -f -o "$VS_TMP/one.trace" -e trace=prctl,connect,sendto,sendmsg \
    /usr/bin/node "$T/tool.js" >"$VS_TMP/t.out" 2>"$VS_TMP/t.err"
check "one step: the shim is non-dumpable before it sends its request to vaultd" bash -c '
    fd=$(sed -n "s/.*connect(\([0-9]*\), .*vaultd.sock.*/\1/p" "$0" | head -1); [ -n "$fd" ] &&
    grep -nE "prctl\(PR_SET_DUMPABLE, (0|SUID_DUMP_DISABLE)\)|send(to|msg)\($fd," "$0" | head -2 | tr "\n" " " |
      grep -qE "^[0-9]+:[0-9]+ +prctl\(PR_SET_DUMPABLE, (0|SUID_DUMP_DISABLE)\).* [0-9]+:[0-9]+ +send(to|msg)\("' "$VS_TMP/one.trace"
check "a traced tool asking in one step is refused (the tracer), with one line" bash -c '
    grep -qx "granted false" "$0" && [ "$(grep -c "no grant: .*[Tt]racer" "$1")" = 1 ]' "$VS_TMP/t.out" "$VS_TMP/t.err"
check "and is dumpable again after the refusal" grep -qE "prctl\(PR_SET_DUMPABLE, (1|SUID_DUMP_USER)\)" "$VS_TMP/one.trace"
check "nothing printed the token" absent_in "$tok" "$VS_TMP"
diag "node stderr: $(head -c 300 "$VS_TMP/n.err")"

# --- vaultd stopped (Ctrl-Z, a hung disk): the kernel still queues the
# tool's connection and request, and nothing answers. The tool must not
# wait forever: it runs without its grant after the shim's bound (15 s),
# with one line. Then with the backlog full too, where connect itself waits.
stopped_tool() { # OUT ERR: the node tool under the shim, at most 40 s
    local start=$SECONDS
    timeout 40 env LD_PRELOAD="$SHIM" VAULT_SOCKET="$VAULT_SOCKET" /usr/bin/node "$T/tool.js" >"$1" 2>"$2"
    echo "$? $((SECONDS - start))" >"$1.rc"
}
bounded() { # OUT ERR: ended by itself (not timeout's 124), ungranted, after the bound, one line
    read -r rc took <"$1.rc"
    [ "$rc" = 0 ] || { diag "exit $rc after ${took}s (124: still waiting after 40 s)"; return 1; }
    [ "$took" -ge 14 ] || { diag "gave up after ${took}s, before the bound"; return 1; }
    grep -qx "granted false" "$1" && [ "$(wc -l <"$2")" = 1 ] &&
        grep -qx "vaultshim: nodetool: no grant: vaultd did not answer within 15 s at $VAULT_SOCKET" "$2" ||
        { diag "stderr: $(head -c 300 "$2")"; return 1; }
}
kill -STOP "$VAULTD_PID"
vs_add_cleanup "kill -CONT $VAULTD_PID 2>/dev/null"
stopped_tool "$VS_TMP/s.out" "$VS_TMP/s.err"
check "vaultd stopped: the tool runs ungranted after the bound, with one line" bounded "$VS_TMP/s.out" "$VS_TMP/s.err"
vs_fill_backlog "$VAULT_SOCKET"
stopped_tool "$VS_TMP/b.out" "$VS_TMP/b.err"
check "vaultd stopped, its backlog full: the same, within the bound" bash -c '
    read -r rc took <"$0.rc"; [ "$rc" = 0 ] && [ "$took" -ge 14 ] && grep -qx "granted false" "$0" &&
    grep -qx "vaultshim: nodetool: no grant: vaultd not answering at $2" "$1"' "$VS_TMP/b.out" "$VS_TMP/b.err" "$VAULT_SOCKET"
kill "$VS_FLOOD_PID" 2>/dev/null; wait "$VS_FLOOD_PID" 2>/dev/null
kill -CONT "$VAULTD_PID"
sleep 0.5
env LD_PRELOAD="$SHIM" VAULT_SOCKET="$VAULT_SOCKET" /usr/bin/node "$T/tool.js" >"$VS_TMP/c.out" 2>"$VS_TMP/c.err"
check "vaultd continued: the tool is granted again" grep -qx "granted true" "$VS_TMP/c.out"

# --- vaultd down: fail closed, one line for a tool, silence for the rest
kill -TERM "$VAULTD_PID"; wait "$VAULTD_PID" 2>/dev/null
env LD_PRELOAD="$SHIM" VAULT_SOCKET="$VAULT_SOCKET" /usr/bin/node "$T/tool.js" >"$VS_TMP/d.out" 2>"$VS_TMP/d.err"
check "with vaultd down, the tool runs with nothing granted" grep -qx "granted false" "$VS_TMP/d.out"
check "and says so in exactly one line" bash -c '[ "$(wc -l <"$0")" = 1 ] &&
    grep -qx "vaultshim: nodetool: no grant: vaultd not answering at $1" "$0"' "$VS_TMP/d.err" "$VAULT_SOCKET"
check "an ordinary process prints nothing" bash -c '
    out=$(env LD_PRELOAD="$0" VAULT_SOCKET="$1" GH_TOKEN="$2" /usr/bin/env 2>&1 >/dev/null); [ -z "$out" ]' \
    "$SHIM" "$VAULT_SOCKET" "$tok"

# --- threads and forks: 64 threads read env and a managed file while the
# main thread forks and spawns; every answer agrees with the first
cp "$VS_BUILD/tests/helpers/thread-stress" "$T/stress"; chmod 755 "$T/stress"
cp /bin/sleep "$T/sleeper"; chmod 755 "$T/sleeper"
mkdir -p "$T/home"
# the exit wipe's probe: wipetool NAME hands getenv(NAME)'s pointer to
# libwipewatch.so, a library it needs, loaded after the preloaded shim and so
# finalized after it; its destructor counts the bytes there still non-zero
# (never the bytes themselves)
cat >"$T/wipewatch.c" <<'C'
#include <stdio.h>
static const volatile char *watched;
static size_t watched_len;
void wipewatch_set(const char *p, size_t n);
void wipewatch_set(const char *p, size_t n) { watched = p; watched_len = n; }
__attribute__((destructor)) static void wipewatch_report(void)
{
    size_t left = 0;
    for (size_t i = 0; watched != NULL && i < watched_len; i++)
        left += watched[i] != 0;
    fprintf(stderr, "wipewatch: %zu of %zu bytes left\n", left, watched_len);
}
C
cat >"$T/wipetool.c" <<'C'
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
void wipewatch_set(const char *p, size_t n);
int main(int argc, char **argv)
{
    const char *v = argc > 1 ? getenv(argv[1]) : NULL;
    if (v == NULL || v[0] == '\0') { puts("no value"); return 2; }
    wipewatch_set(v, strlen(v));
    puts("got a value");
    return 0;
}
C
cc -shared -fPIC -o "$T/libwipewatch.so" "$T/wipewatch.c" &&
    cc -o "$T/wipetool" "$T/wipetool.c" -Wl,--no-as-needed -L"$T" -lwipewatch -Wl,-rpath,"$T" &&
    cp "$T/wipetool" "$T/wipetool-plain" && chmod 755 "$T/wipetool" "$T/wipetool-plain" && chmod 644 "$T/libwipewatch.so" ||
    not_ok "the exit wipe's probe builds"
cat >"$T/policy2.conf" <<CONF
tools = ( { name = "stress"; exe = "$T/stress"; env = { GH_TOKEN = "gh_token"; }; files = [ "netrc" ]; },
          { name = "sleeper"; exe = "$T/sleeper"; env = { GH_TOKEN = "gh_token"; }; },
          { name = "wipetool"; exe = "$T/wipetool"; env = { GH_TOKEN = "gh_token"; }; } );
files = ( { name = "netrc"; path = "$T/home/.netrc"; template = "machine h login a password {{gh_token}}\n"; } );
CONF
chmod 644 "$T/policy2.conf"
vs_start_vaultd "$T/policy2.conf" || not_ok "vaultd restarts"
check "outside a grant: no deadlock, no crash, the name always absent, the file always missing" bash -c '
    env LD_PRELOAD="$0" VAULT_SOCKET="$1" GH_TOKEN="$2" timeout 60 "$3" GH_TOKEN "$4" 64 2 >"$5" &&
    grep -q "present 0 file missing: consistent" "$5"' "$SHIM" "$VAULT_SOCKET" "$tok" "$VS_BUILD/tests/helpers/thread-stress" \
    "$T/home/.netrc" "$VS_TMP/s1"
check "inside a grant: the value always there, the file always served, the same every time" bash -c '
    env LD_PRELOAD="$0" VAULT_SOCKET="$1" timeout 60 "$2" GH_TOKEN "$3" 64 2 >"$4" &&
    grep -q "present 1 file served: consistent" "$4"' "$SHIM" "$VAULT_SOCKET" "$T/stress" "$T/home/.netrc" "$VS_TMP/s2"
diag "$(cat "$VS_TMP/s1" "$VS_TMP/s2" 2>/dev/null | tr '\n' ' ')"
# invariant 7: the values sit in locked memory, kept out of core dumps.
# The shim locks on fault (MLOCK_ONFAULT): every resident page of its
# region is locked, and only the pages it touched are resident.
env LD_PRELOAD="$SHIM" VAULT_SOCKET="$VAULT_SOCKET" "$T/sleeper" 5 2>"$VS_TMP/sleeper.err" &
spid=$!
region=""
for _ in $(seq 1 100); do # "size rss locked" of the mapping flagged locked (lo) and not dumped (dd)
    region=$(awk '/^[0-9a-f]+-[0-9a-f]+ / { size = rss = locked = 0 } /^Size:/ { size = $2 } /^Rss:/ { rss = $2 }
        /^Locked:/ { locked = $2 } /^VmFlags:/ && / lo / && / dd / { print size, rss, locked }' "/proc/$spid/smaps" 2>/dev/null)
    set -- $region
    [ "${2:-0}" -gt 0 ] && [ "$1" -lt 100 ] && break # values in, the answer's buffer gone
    sleep 0.05
done
check "a granted tool holds its values in locked, undumped memory (size rss locked kB: ${region:-none})" \
    bash -c 'set -- $0; [ $# = 3 ] && [ "$3" -ge 4 ] && [ "$3" = "$2" ] && [ "$2" -lt "$1" ]' "${region:-x}"
diag "sleeper stderr: $(head -c 300 "$VS_TMP/sleeper.err")"
kill "$spid" 2>/dev/null; wait "$spid" 2>/dev/null
# rule 5 of shim/grants.c: at exit the values are wiped where they lie
plain=$(fake_token plain)
env LD_PRELOAD="$SHIM" VAULT_SOCKET="$VAULT_SOCKET" PLAIN_VALUE="$plain" "$T/wipetool-plain" PLAIN_VALUE \
    >"$VS_TMP/wp.out" 2>"$VS_TMP/wp.err"
check "control: the probe sees an unprotected value still in place after the shim's destructor" \
    bash -c 'grep -qx "got a value" "$0" && grep -qx "wipewatch: $2 of $2 bytes left" "$1"' \
    "$VS_TMP/wp.out" "$VS_TMP/wp.err" "${#plain}"
env LD_PRELOAD="$SHIM" VAULT_SOCKET="$VAULT_SOCKET" "$T/wipetool" GH_TOKEN >"$VS_TMP/wt.out" 2>"$VS_TMP/wt.err"
check "a granted value is zeroed in place when the tool exits (every byte)" \
    bash -c 'grep -qx "got a value" "$0" && grep -qx "wipewatch: 0 of $2 bytes left" "$1"' \
    "$VS_TMP/wt.out" "$VS_TMP/wt.err" "${#tok}"
wipe_runs_silent() {
    local f="$VS_TMP/wt.out $VS_TMP/wt.err $VS_TMP/wp.out $VS_TMP/wp.err"
    # shellcheck disable=SC2086 # four file names
    absent_in "$tok" $f && absent_in "$plain" $f
}
check "and neither run printed a value" wipe_runs_silent
diag "wipetool: $(cat "$VS_TMP/wp.out" "$VS_TMP/wp.err" "$VS_TMP/wt.out" "$VS_TMP/wt.err" | tr '\n' ' ' | head -c 300)"

# --- what the shim is: libc only, nothing exported but its hooks
hooks="__fxstatat __fxstatat64 __lxstat __lxstat64 __open64_2 __open_2 __openat64_2 __openat_2 __xstat __xstat64
access creat creat64 eaccess euidaccess execl execle execlp execv execve execveat execvp execvpe faccessat fexecve
fopen fopen64 freopen freopen64 fstatat fstatat64 getenv lstat lstat64 open open64 openat openat64 pclose popen
posix_spawn posix_spawnp secure_getenv sigaction signal stat stat64 statx syscall system"
# x86-64: the children that share memory, made before the exec family is resolved (shim/fork.c)
[ "$(uname -m)" = x86_64 ] && hooks="$hooks _Fork clone vfork"
check "the shim exports exactly its hooks" bash -c '
    [ "$(nm -D --defined-only "$0" | awk "{print \$3}" | sort | tr "\n" " ")" = "$(echo $1 | tr " " "\n" | sort | tr "\n" " ")" ]' \
    "$SHIM" "$hooks"
check "and needs nothing but libc (and the loader, for thread-local storage)" bash -c '
    [ -z "$(readelf -dW "$0" | sed -n "s/.*Shared library: \[\(.*\)\]/\1/p" | grep -vE "^(libc\.so\.6|ld-linux-x86-64\.so\.2)$")" ]' "$SHIM"

# Its layout (shim/layout.ld): code alone in the one executable segment, no
# segment both writable and executable, read-only data in the read-only
# segment beside the symbol tables (one mapping fewer per process, and no
# data made executable as -z noseparate-code would), full RELRO
layout() { readelf -lW "$SHIM" | awk '
    / LOAD / { n++; flags[n] = ($7 == "R" && $8 == "E") ? "RE" : $7 }
    /^ +0[0-9] / { seg = $1 + 1; $1 = ""; sections[seg] = $0 }
    END { for (i = 1; i <= n; i++) printf "%s:%s\n", flags[i], sections[i] }'; }
check "the shim has three LOAD segments: R, R E, RW" bash -c '[ "$(cut -d: -f1 <<<"$0" | tr "\n" " ")" = "R RE RW " ]' "$(layout)"
check "its executable segment holds code only" bash -c 'grep "^RE:" <<<"$0" | grep -qvE "\.(rodata|eh_frame|dynsym|dynstr|data|bss)"' "$(layout)"
check "its read-only data and unwind tables are in the first, read-only segment" \
    bash -c 'grep "^R:" <<<"$0" | grep -q "\.dynsym.*\.rodata .*\.eh_frame"' "$(layout)"
check "full RELRO and BIND_NOW" bash -c 'readelf -lW "$0" | grep -q GNU_RELRO && readelf -dW "$0" | grep -qE "BIND_NOW|FLAGS.*NOW"' "$SHIM"

# Every process pays for each ifunc the shim imports whose resolver nothing
# else there runs (-z now runs it at load, on a page of its own):
# __memcpy_chk was one page fault per process (vs_copy in shim.h).
check "the shim imports no __memcpy_chk" bash -c '! nm -D --undefined-only "$0" | grep -q " __memcpy_chk"' "$SHIM"

# The loader binds every import in every process (-z now): about 700
# instructions each. The memory and string functions are the shim's own
# (shim/strmem.c, hidden), what only system, popen, a managed fopen, a
# tool's grant messages or a child's preload path calls is looked up there
# (LAZY in shim.h), thread-locals are initial-exec (no __tls_get_addr), and
# "/proc/self/fd/N" is formed without stdio.
own="bcmp memchr memcmp memcpy memmove memrchr memset strchr strcmp strcspn strlen strncmp strnlen strrchr strstr"
lazy="fclose fdopen posix_spawn_file_actions_addclose posix_spawn_file_actions_adddup2
posix_spawn_file_actions_destroy posix_spawn_file_actions_init posix_spawnattr_destroy posix_spawnattr_init
posix_spawnattr_setflags posix_spawnattr_setsigdefault posix_spawnattr_setsigmask sigaddset sigemptyset sigprocmask
dladdr malloc free snprintf __snprintf_chk abort __tls_get_addr"
imports=$(nm -D --undefined-only "$SHIM" | awk '{ sub(/@.*/, "", $2); print $2 }')
check "the shim imports none of the string functions, nor what only rare paths call, nor __tls_get_addr" bash -c '
    for f in $1 $2; do grep -qx "$f" <<<"$0" && { echo "# imports $f"; exit 1; }; done; exit 0' "$imports" "$own" "$lazy"
# Its own copies must not have been turned back into calls (to themselves,
# or anything else): each is a leaf. (One the shim does not use is left
# out by --gc-sections; memcpy and strlen it always uses.)
check "the shim's memcpy, strlen and the rest call nothing" bash -c '
    for f in $1; do
        d=$(objdump -d --no-show-raw-insn --disassemble="$f" "$0") || exit 1
        grep -q "^[0-9a-f]* <$f>:" <<<"$d" || case $f in memcpy|strlen) echo "# no $f"; exit 1 ;; *) continue ;; esac
        grep -qE "\b(call|jmp) .*<[^+]*>$" <<<"$d" && { echo "# $f calls out"; exit 1; }
    done; exit 0' "$SHIM" "$own"

# --- valgrind on ordinary processes under the shim
vg() { valgrind -q --error-exitcode=99 --leak-check=full --errors-for-leak-kinds=definite "$@"; }
check "valgrind: env under the shim (scrub, exec-free path) has no error or leak" bash -c '
    . "$0"; LD_PRELOAD="$1" GH_TOKEN="$2" valgrind -q --error-exitcode=99 --leak-check=full \
      --errors-for-leak-kinds=definite /usr/bin/env >/dev/null 2>"$3/vg1"' "$(dirname "$0")/../lib.sh" "$SHIM" "$tok" "$VS_TMP"
check "valgrind: cat of a managed path and a shell exec have no error or leak" bash -c '
    LD_PRELOAD="$0" VAULT_SOCKET="$1" GH_TOKEN="$2" valgrind -q --error-exitcode=99 --leak-check=full \
      --errors-for-leak-kinds=definite /bin/sh -c "cat /etc/hostname >/dev/null; env >/dev/null" 2>"$3/vg2"' \
    "$SHIM" "$VAULT_SOCKET" "$tok" "$VS_TMP"
# The shim's strlen reads whole aligned words (shim/strmem.c): heap paths of
# every length through the open and stat hooks, none of it an error
check "valgrind: python opening and stat'ing heap paths of every length has no error" bash -c '
    LD_PRELOAD="$0" VAULT_SOCKET="$1" valgrind -q --error-exitcode=99 python3 -c "
import os
for i in range(64):
    p = \"/etc/\" + \"x\" * i
    try:
        open(p)
    except OSError:
        pass
    os.path.exists(p + \"/y\")
" 2>"$2/vg3"' "$SHIM" "$VAULT_SOCKET" "$VS_TMP"
vs_end
