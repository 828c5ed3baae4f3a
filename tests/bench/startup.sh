#!/usr/bin/env bash
# The shim's start-up cost in a process outside every grant, by measures
# that stay stable on a loaded machine (docs/shim-startup.md):
#   callgrind instructions of /bin/true (the dynamic loader included),
#   page faults (perf stat -r 300), syscalls (strace -c of one run),
#   the faults of a bash loop split by process (perf record),
#   and interleaved fork+exec wall time (vsbench exec).
# Usage: VS_BUILD=build tests/bench/startup.sh [OTHER.so ...]
# Each OTHER.so (e.g. an older shim build) is measured beside the current
# one; the wall-time line compares the first OTHER against the current shim.
[ -n "${VS_CLEAN_ENV:-}" ] || exec env -i VS_CLEAN_ENV=1 PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME="$HOME" \
    VS_BUILD="$VS_BUILD" LANG=C.UTF-8 VS_STARTUP_N="${VS_STARTUP_N:-1000}" bash "$0" "$@"
set -u
: "${VS_BUILD:?VS_BUILD must name the build folder}"
B=$(cd "$VS_BUILD" && pwd)
SHIM=$B/libvaultshim.so EMPTY=$B/bench/empty.so BENCH=$B/bench/vsbench V=$B/vaultctl
for f in "$SHIM" "$EMPTY" "$BENCH" "$B/vaultd"; do [ -e "$f" ] || { echo "startup: missing $f (make all bench binaries)" >&2; exit 1; }; done
TMP=$(mktemp -d /tmp/vs-startup.XXXXXX); chmod 700 "$TMP"
T=$(mktemp -d "$B/bench/startup.XXXXXX"); chmod 755 "$T"
VAULTD_PID=""
cleanup() {
    [ -n "$VAULTD_PID" ] && { kill "$VAULTD_PID" 2>/dev/null; wait "$VAULTD_PID" 2>/dev/null; }
    rm -rf "$TMP" "$T"
}
trap cleanup EXIT
die() { echo "startup: $*" >&2; exit 1; }
export VAULT_HOME="$TMP/home" VAULT_KEYFILE= VAULT_SOCKET="$TMP/run/vaultd.sock"
mkdir -p -m 700 "$TMP/run"
cp /bin/true "$T/true-tool"; chmod 755 "$T/true-tool"
"$V" init --keyfile >/dev/null || die "vaultctl init failed"
head -c 24 /dev/urandom | base64 | "$V" save api_token >/dev/null || die "vaultctl save failed"
# The bench's small policy: patterns, a tool, a managed file.
cat >"$T/policy.conf" <<CONF
protect = [ "*_TOKEN", "AWS_SECRET_ACCESS_KEY" ];
tools = ( { name = "truetool"; exe = "$T/true-tool"; env = { GH_TOKEN = "api_token"; }; files = [ "netrc" ]; } );
files = ( { name = "netrc"; path = "$T/home/.netrc"; template = "machine x password {{api_token}}\n"; } );
CONF
chmod 644 "$T/policy.conf"
"$B/vaultd" --config "$T/policy.conf" --socket "$VAULT_SOCKET" 2>>"$TMP/vaultd.log" &
VAULTD_PID=$!
for _ in $(seq 1 100); do "$V" status >/dev/null 2>&1 && break; sleep 0.05; done
[ -f "$TMP/run/index" ] || die "vaultd published no index"

libs=("" "$EMPTY" "$SHIM" "$@")
name() { case "$1" in "") echo bare ;; "$EMPTY") echo empty ;; "$SHIM") echo shim ;; *) echo "$1" ;; esac; }
pre() { [ -n "$1" ] && echo "LD_PRELOAD=$1"; }
printf '%-28s %12s %8s %9s\n' preload instructions faults syscalls
for l in "${libs[@]}"; do
    # callgrind from the first instruction (the loader included)
    ins=$(env $(pre "$l") valgrind --tool=callgrind --callgrind-out-file="$TMP/cg.out" /bin/true 2>&1 |
        awk '/Collected/ { print $NF }')
    pf=$(perf stat -x, -r 300 -e page-faults env $(pre "$l") /bin/true 2>&1 >/dev/null | awk -F, '/page-faults/ { print $1 }')
    envopt=(); [ -n "$l" ] && envopt=(-E "LD_PRELOAD=$l")
    sc=$(strace -c -o "$TMP/strace" "${envopt[@]}" /bin/true && awk '/total/ { print $4 }' "$TMP/strace")
    printf '%-28s %12s %8s %9s\n' "$(name "$l")" "$ins" "$pf" "$sc"
done
echo "(perf's faults include env(1) exec'ing /bin/true; compare rows)"
# Faults of /bin/true alone, from wait4's rusage, interleaved (the child's
# copy-on-write faults between fork and exec included, the same in each row).
cc -O2 -o "$TMP/faults" "$(dirname "$0")/faults.c" || die "cannot build faults.c"
echo "per run, 300 runs interleaved: page faults (mean min max) and median CPU time (us, user+system):"
"$TMP/faults" 300 "" "$EMPTY" "$SHIM" "$@"
# A bash loop splits where a command's faults happen: in bash itself (its
# pages are copy-on-write after each fork), in bash's child between fork and
# exec (the exec hook runs there, and fork copies no page-table entries of
# file mappings, so each text page it runs faults again), and in the program.
loop_faults() { # PRELOAD: "parent child program" faults per command, 40 commands
    perf record -q -o "$TMP/loop.data" -e page-faults -c 1 env $(pre "$1") \
        bash -c 'for ((i = 0; i < 40; i++)); do /bin/true; done' >/dev/null 2>&1 || return 1
    perf script -i "$TMP/loop.data" -F comm,pid 2>/dev/null | awk '
        $1 == "bash" { n[$2]++ } $1 == "true" { prog++ }
        END { for (p in n) if (n[p] > most) { most = n[p]; parent = p }
              for (p in n) if (p != parent) child += n[p]
              printf "%.1f %.1f %.1f\n", most / 40, child / 40, prog / 40 }'
}
echo "bash loop, page faults per command: bash / its child before exec / the program:"
for l in "${libs[@]}"; do
    printf '%-28s %s\n' "$(name "$l")" "$(loop_faults "$l" || echo failed)"
done
N=${VS_STARTUP_N:-1000}
echo "vsbench exec $N SHIM EMPTY (us, medians of interleaved rounds):"
"$BENCH" exec "$N" "$SHIM" "$EMPTY"
if [ $# -gt 0 ]; then
    echo "vsbench exec $N SHIM $1 (the second column, 'empty', is $1):"
    "$BENCH" exec "$N" "$SHIM" "$1"
fi
