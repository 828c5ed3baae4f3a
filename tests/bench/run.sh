#!/usr/bin/env bash
# make bench driver: starts a real vaultd on a throwaway key-file vault with a
# small policy (its index published), runs tests/bench/vsbench and a few
# shell loops bare, under an empty libc-linked preload and under the shim,
# interleaved, and writes one line per figure to $VS_BUILD/bench/results.txt:
#   name  bare  value  ratio  budget  verdict
# Times are medians. Set VS_BENCH_QUICK=1 for a short smoke run.
# The "run with secrets" peers (dotenvx, dotenv-cli, env-cmd) are installed
# from npm into $VS_BUILD/bench/npm on the first run (kept: a cache);
# VS_BENCH_PEERS=0 skips them.
[ -n "${VS_CLEAN_ENV:-}" ] || exec env -i VS_CLEAN_ENV=1 PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME="$HOME" \
    VS_BUILD="$VS_BUILD" LANG=C.UTF-8 VS_BENCH_QUICK="${VS_BENCH_QUICK:-}" VS_BENCH_SCALE="${VS_BENCH_SCALE:-1}" \
    VS_BENCH_NODE_CA="${NODE_EXTRA_CA_CERTS:-}" VS_BENCH_PEERS="${VS_BENCH_PEERS:-1}" bash "$0" "$@"
set -u
: "${VS_BUILD:?VS_BUILD must name the build folder}"
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
B=$VS_BUILD
OUT=$B/bench
BENCH=$OUT/vsbench
SHIM=$B/libvaultshim.so
EMPTY=$OUT/empty.so
V=$B/vaultctl
RESULTS=$OUT/results.txt
Q=${VS_BENCH_QUICK:-}
# iteration counts (quick: a smoke run of the same code paths)
N_EXEC=2000 R_BASH=5 R_MICRO=7 R_PROC=200 R_RUN=200 R_GIT=7 R_MAKE=7 M_GRANT=2000
[ -n "$Q" ] && { N_EXEC=100; R_BASH=1; R_MICRO=1; R_PROC=10; R_RUN=3; R_GIT=1; R_MAKE=1; M_GRANT=100; }

TMP=$(mktemp -d /tmp/vs-bench.XXXXXX)
chmod 700 "$TMP"
# Files vaultd must trust (tools, policy) live outside /tmp.
mkdir -p "$OUT"
T=$(mktemp -d "$OUT/work.XXXXXX")
chmod 755 "$T"
VAULTD_PID=""
cleanup() {
    [ -n "$VAULTD_PID" ] && { kill "$VAULTD_PID" 2>/dev/null; wait "$VAULTD_PID" 2>/dev/null; }
    rm -rf "$TMP" "$T"
}
trap cleanup EXIT
die() { echo "bench: $*" >&2; exit 1; }

export VAULT_HOME="$TMP/home" VAULT_KEYFILE= VAULT_SOCKET="$TMP/run/vaultd.sock"
mkdir -p -m 700 "$TMP/run"
tok() { printf '%s_%s' "$1" "$(head -c 30 /dev/urandom | base64 | tr -dc 'A-Za-z0-9' | head -c 32)"; }

cp "$BENCH" "$T/vsbench"; cp /bin/true "$T/true-tool"; cp /bin/true "$T/true-plain"
chmod 755 "$T/vsbench" "$T/true-tool" "$T/true-plain"
"$V" init --keyfile >/dev/null || die "vaultctl init failed"
tok api | "$V" save api_token >/dev/null && tok gh | "$V" save gh_token >/dev/null || die "vaultctl save failed"
policy() { # the small policy (10 secrets' worth of names, 3 tools)
    cat <<CONF
protect = [ "*_TOKEN", "AWS_SECRET_ACCESS_KEY" ];
tools = (
  { name = "bench"; exe = "$T/vsbench"; env = { BENCH_TOKEN = "api_token"; }; },
  { name = "truetool"; exe = "$T/true-tool"; env = { GH_TOKEN = "gh_token"; }; files = [ "netrc" ]; }
);
files = ( { name = "netrc"; path = "$T/home/.netrc"; template = "machine x login y password {{api_token}}\n"; } );
CONF
}
policy >"$T/policy.conf"; chmod 644 "$T/policy.conf"
"$B/vaultd" --config "$T/policy.conf" --socket "$VAULT_SOCKET" 2>>"$TMP/vaultd.log" &
VAULTD_PID=$!
for _ in $(seq 1 100); do "$V" status >/dev/null 2>&1 && break; sleep 0.05; done
"$V" status >/dev/null 2>&1 || die "vaultd did not start: $(tail -3 "$TMP/vaultd.log")"
[ -f "$TMP/run/index" ] || die "vaultd published no index"

: >"$RESULTS"
line() { # NAME BARE VALUE RATIO BUDGET VERDICT
    printf '%-46s %10s %10s %8s  %-16s %s\n' "$@" | tee -a "$RESULTS"
}
verdict_le() { awk -v v="$1" -v b="$2" 'BEGIN { print (v <= b) ? "within" : "over" }'; }
verdict_ge() { awk -v v="$1" -v b="$2" 'BEGIN { print (v >= b) ? "within" : "over" }'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.3f", b / a }'; }
diff_() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%+.1f", b - a }'; }
div() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.1f", a / b }'; }
get() { awk -v k="$2" '$1 !~ /cpu$/ && $2 == k { print $3 }' <<<"$1"; }  # median wall time
cpu() { awk -v k="$2" '$1 ~ /cpu$/ && $2 == k { print $3 }' <<<"$1"; }     # median CPU time of the tree

line "# figure (us unless named)" bare value ratio budget verdict
line "# $(date -u +%FT%TZ) $(nproc) cores, $(uname -r)" "" "" "" "" ""

# 1. a process outside every grant: fork+exec+exit of /bin/true
o=$("$BENCH" exec "$N_EXEC" "$SHIM" "$EMPTY") || die "exec bench failed"
b=$(get "$o" bare); e=$(get "$o" empty); s=$(get "$o" shim)
line "fork+exec /bin/true x$N_EXEC, shim" "$b" "$s" "$(ratio "$b" "$s")" "<=1.15x" "$(verdict_le "$(ratio "$b" "$s")" 1.15)"
line "  empty libc-linked preload (floor)" "$b" "$e" "$(ratio "$b" "$e")" "-" "info"
line "  shim above the empty preload" "$e" "$s" "$(diff_ "$e" "$s")" "<=+15us" "$(verdict_le "$(diff_ "$e" "$s")" 15)"

# The same start in measures a loaded machine does not move
# (docs/shim-startup.md): callgrind instructions of /bin/true from its first
# instruction (the loader included), and page faults and CPU time (user +
# system) from wait4's rusage, runs interleaved (tests/bench/faults.c).
if command -v valgrind >/dev/null 2>&1; then
    start_ir() {
        LD_PRELOAD=$1 valgrind --tool=callgrind --callgrind-out-file=/dev/null /bin/true 2>&1 |
            awk '/Collected/ { gsub(",", "", $4); print $4 }'
    }
    b=$(start_ir "") e=$(start_ir "$EMPTY") s=$(start_ir "$SHIM")
    [ -n "$b" ] && [ -n "$e" ] && [ -n "$s" ] || die "callgrind of /bin/true failed"
    line "/bin/true start, instructions, shim" "$b" "$s" "$(ratio "$b" "$s")" "-" "info"
    line "  empty libc-linked preload" "$b" "$e" "$(ratio "$b" "$e")" "-" "info"
    line "  shim above the empty preload" "$e" "$s" "$(diff_ "$e" "$s")" "-" "info"
fi
o=$("$OUT/faults" "$R_PROC" "" "$EMPTY" "$SHIM") || die "faults bench failed"
fault_of() { awk -v k="$1" '$1 == k { print $3 }' <<<"$o"; }
cpu_of() { awk -v k="$1" '$1 == k { print $NF }' <<<"$o"; }
line "/bin/true page faults, shim" "$(fault_of bare)" "$(fault_of "$SHIM")" \
    "$(diff_ "$(fault_of bare)" "$(fault_of "$SHIM")")" "-" "info"
line "  shim above the empty preload" "$(fault_of "$EMPTY")" "$(fault_of "$SHIM")" \
    "$(diff_ "$(fault_of "$EMPTY")" "$(fault_of "$SHIM")")" "-" "info"
line "/bin/true CPU time (user+system), shim" "$(cpu_of bare)" "$(cpu_of "$SHIM")" \
    "$(ratio "$(cpu_of bare)" "$(cpu_of "$SHIM")")" "-" "info"
line "  shim above the empty preload" "$(cpu_of "$EMPTY")" "$(cpu_of "$SHIM")" \
    "$(diff_ "$(cpu_of "$EMPTY")" "$(cpu_of "$SHIM")")" "-" "info"

# bash loop of 1,000 external commands (per command)
o=$("$BENCH" exec "$R_BASH" "$SHIM" "$EMPTY" -- /bin/bash -c 'for ((i = 0; i < 1000; i++)); do /bin/true; done') ||
    die "bash loop failed"
b=$(div "$(get "$o" bare)" 1000); e=$(div "$(get "$o" empty)" 1000); s=$(div "$(get "$o" shim)" 1000)
line "bash loop, 1,000 x /bin/true, per command" "$b" "$s" "$(ratio "$b" "$s")" "<=1.15x" "$(verdict_le "$(ratio "$b" "$s")" 1.15)"
line "  empty libc-linked preload (floor)" "$b" "$e" "$(ratio "$b" "$e")" "-" "info"
line "  shim above the empty preload" "$e" "$s" "$(diff_ "$e" "$s")" "<=+15us" "$(verdict_le "$(diff_ "$e" "$s")" 15)"

# 2. in-process hooks, ns per call
o=$("$BENCH" microrun "$R_MICRO" "$SHIM") || die "micro bench failed"
while read -r _ name b s; do
    case $name in getenv*) budget=5 ;; *) budget=50 ;; esac
    line "$name (ns/call)" "$b" "$s" "$(diff_ "$b" "$s")" "<=+${budget}ns" "$(verdict_le "$(diff_ "$b" "$s")" "$budget")"
done <<<"$o"

# The same hooks in instructions per call (callgrind: 1,000 and 3,000 calls,
# the difference over 2,000, so start-up cancels): a few ns of wall time is
# noise on a shared VM, an instruction count is not.
if command -v valgrind >/dev/null 2>&1; then
    calls_ir() { # PRELOAD WHAT N
        LD_PRELOAD=$1 valgrind --tool=callgrind --callgrind-out-file=/dev/null "$BENCH" calls "$2" "$3" 2>&1 |
            awk '/Collected/ { gsub(",", "", $4); print $4 }'
    }
    per_call_ir() { # PRELOAD WHAT
        local lo hi
        lo=$(calls_ir "$1" "$2" 1000) && hi=$(calls_ir "$1" "$2" 3000) && [ -n "$lo" ] && [ -n "$hi" ] ||
            die "callgrind of vsbench calls $2 failed"
        awk -v a="$lo" -v b="$hi" 'BEGIN { printf "%.1f", (b - a) / 2000 }'
    }
    w=0
    for name in getenv_unprotected getenv_missing open_close stat; do
        b=$(per_call_ir "" "$w"); s=$(per_call_ir "$SHIM" "$w")
        line "$name (instructions/call)" "$b" "$s" "$(diff_ "$b" "$s")" "-" "info"
        w=$((w + 1))
    done
fi

# 3. grants: in-process round trips as the shim asks: vaultd runs as root
# here, so in one step (non-dumpable, GRANTS with ONE_STEP, values in hand),
# against the vaultd above (audit_sync "each", the default: no answer before
# the fsync of its line) and, interleaved run by run, a second vaultd on its
# own vault whose policy says audit_sync = "interval" (docs/audit-durability.md)
H3=$TMP/home3 S3=$TMP/run3/vaultd.sock
mkdir -p -m 700 "$TMP/run3"
"$V" --home "$H3" init --keyfile >/dev/null && tok api | "$V" --home "$H3" save api_token >/dev/null &&
    tok gh | "$V" --home "$H3" save gh_token >/dev/null || die "interval vault set-up failed"
{ policy; echo 'audit_sync = "interval";'; } >"$T/policy-interval.conf"; chmod 644 "$T/policy-interval.conf"
"$B/vaultd" --config "$T/policy-interval.conf" --socket "$S3" --home "$H3" --keyfile "$H3/vault.key" \
    2>>"$TMP/vaultd3.log" &
VAULTD3_PID=$!
trap 'kill $VAULTD3_PID 2>/dev/null; wait $VAULTD3_PID 2>/dev/null; cleanup' EXIT
for _ in $(seq 1 100); do "$V" status --socket "$S3" >/dev/null 2>&1 && break; sleep 0.05; done
"$V" status --socket "$S3" >/dev/null 2>&1 || die "interval vaultd did not start: $(tail -3 "$TMP/vaultd3.log")"
# The machine's floor beside them (tests/bench/vsbench-floor.c): a server that
# does only the kernel work of an inspection (accept, /proc stat, exe,
# cmdline, status, maps, environ) in one process, the same in two processes
# (both cores), and in one process with a line and an fsync per round on the
# audit log's filesystem: no vault can be faster here.
FLOOR=$OUT/vsbench-floor SF=$TMP/run3/floor.sock SF2=$TMP/run3/floor2.sock SFL=$TMP/run3/floor-log.sock
FLOOR_PIDS=""
"$FLOOR" "$SF" 2>>"$TMP/floor.log" & FLOOR_PIDS+=" $!"
"$FLOOR" -w 2 "$SF2" 2>>"$TMP/floor.log" & FLOOR_PIDS+=" $!"
"$FLOOR" "$SFL" "$VAULT_HOME/floor-audit.log" 2>>"$TMP/floor.log" & FLOOR_PIDS+=" $!"
trap 'kill $VAULTD3_PID $FLOOR_PIDS 2>/dev/null; wait $VAULTD3_PID $FLOOR_PIDS 2>/dev/null; cleanup' EXIT
for _ in $(seq 1 100); do [ -S "$SF" ] && [ -S "$SF2" ] && [ -S "$SFL" ] && break; sleep 0.05; done
[ -S "$SF" ] && [ -S "$SF2" ] && [ -S "$SFL" ] || die "floor server did not start: $(tail -3 "$TMP/floor.log")"
R_GRANT=3; [ -n "$Q" ] && R_GRANT=1
med() { printf '%s\n' "$@" | sort -g | awk '{ a[NR] = $1 } END { print a[int((NR + 1) / 2)] }'; }
MODES="each interval floor floor-2 floor-fsync"
grant_round() { # MODE K M: one vsbench grant run against that server
    case $1 in
    each) VAULT_SOCKET="$VAULT_SOCKET" "$T/vsbench" grant "$2" "$3" ;;
    interval) VAULT_SOCKET="$S3" "$T/vsbench" grant "$2" "$3" ;;
    floor) VAULT_SOCKET="$SF" VSBENCH_STEPS=1 "$T/vsbench" grant "$2" "$3" ;;
    floor-2) VAULT_SOCKET="$SF2" VSBENCH_STEPS=1 "$T/vsbench" grant "$2" "$3" ;;
    floor-fsync) VAULT_SOCKET="$SFL" VSBENCH_STEPS=1 "$T/vsbench" grant "$2" "$3" ;;
    esac
}
for k in 1 4 16; do
    declare -A g50=() g99=() grate=()
    for r in $(seq 1 "$R_GRANT"); do # every mode in turn, then again
        for mode in $MODES; do
            o=$(grant_round "$mode" "$k" $((M_GRANT / k))) ||
                die "grant bench ($mode) failed: $(tail -2 "$TMP/vaultd.log" "$TMP/vaultd3.log" "$TMP/floor.log")"
            read -r _ _ _ p50 _ p99 _ rate <<<"$o"
            g50[$mode]+="$p50 " g99[$mode]+="$p99 " grate[$mode]+="$rate "
        done
    done
    for mode in $MODES; do
        # shellcheck disable=SC2086 # the lists are numbers split on purpose
        p50=$(med ${g50[$mode]}) p99=$(med ${g99[$mode]}) rate=$(med ${grate[$mode]})
        case $mode in
        floor*)
            case $mode in floor) what="/proc" ;; floor-2) what="/proc, 2 procs" ;; *) what="/proc+fsync" ;; esac
            line "  floor $what: p50 / p99, $k client(s)" "-" "$p50 / $p99" "-" "-" "info"
            [ "$k" = 1 ] || line "  floor $what: grants/s, $k clients" "-" "$rate" "-" "-" "info"
            ;;
        *)
            line "grant p50, $k client(s), audit_sync $mode" "-" "$p50" "-" "<=150us" "$(verdict_le "$p50" 150)"
            line "grant p99, $k client(s), audit_sync $mode" "-" "$p99" "-" "<=500us" "$(verdict_le "$p99" 500)"
            [ "$k" = 1 ] || line "vaultd grants/s, $k clients, $(nproc) cores, $mode" "-" "$rate" "-" ">=20000/s" \
                "$(verdict_ge "$rate" 20000)"
            ;;
        esac
    done
    unset g50 g99 grate
done
# shellcheck disable=SC2086 # a list of pids
kill $FLOOR_PIDS 2>/dev/null; wait $FLOOR_PIDS 2>/dev/null
# the set-up where vaultd runs as the agent's own user: two steps (GRANTS,
# non-dumpable, CONFIRM, values in hand), audit_sync "each"
o=$(VSBENCH_STEPS=2 "$T/vsbench" grant 1 "$M_GRANT") || die "two-step grant bench failed: $(tail -2 "$TMP/vaultd.log")"
read -r _ _ _ p50 _ p99 _ rate <<<"$o"
line "grant p50 / p99, 1 client, two steps (same-uid vaultd)" "-" "$p50 / $p99" "-" "<=150us" "$(verdict_le "$p50" 150)"
kill "$VAULTD3_PID" 2>/dev/null; wait "$VAULTD3_PID" 2>/dev/null
trap cleanup EXIT
# whole processes under the shim: an allowlisted copy of /bin/true (its
# constructor fetches its grants) against an identical copy outside the policy
before=$(grep -c '"event":"grant".*"decision":"ok"\|"decision":"ok".*"event":"grant"' "$VAULT_HOME/audit.log")
o=$(LD_PRELOAD="$SHIM" "$BENCH" pair "$R_PROC" -- "$T/true-plain" -- "$T/true-tool") || die "tool run failed"
after=$(grep -c '"event":"grant".*"decision":"ok"\|"decision":"ok".*"event":"grant"' "$VAULT_HOME/audit.log")
[ $((after - before)) -ge "$R_PROC" ] || die "the allowlisted /bin/true was not granted ($((after - before)) grants)"
b=$(get "$o" a); s=$(get "$o" b)
line "allowlisted /bin/true run, shim (grant incl.)" "$b" "$s" "$(diff_ "$b" "$s")" "<=+150us p50" "$(verdict_le "$(diff_ "$b" "$s")" 150)"

# vaultd's own instructions per request, in callgrind: the user-space share
# of a grant, which its wall time hides under the kernel's /proc work and
# which does not move between runs. A vaultd on the interval vault (H3),
# started three times under callgrind: idle, then repeated grants, then runs
# of the allowlisted tool (a grant and a file render each); per request:
# (run - idle) / count. tests/helpers/preload/vg-pidfd.c answers the one
# system call valgrind 3.19 lacks (pidfd_send_signal), as in make valgrind.
if command -v valgrind >/dev/null 2>&1; then
    VGP=$TMP/vg-pidfd.so
    ${CC:-cc} -std=c11 -shared -fPIC -o "$VGP" "$ROOT/tests/helpers/preload/vg-pidfd.c" -ldl ||
        die "tests/helpers/preload/vg-pidfd.c did not build"
    cg_vaultd() { # WHAT N: vaultd's instructions, start to stop, over N granted requests
        local out=$TMP/cg-vaultd.out pid ok=0 before
        before=$(grep -c '"event":"grant".*"decision":"ok"' "$H3/audit.log")
        LD_PRELOAD=$VGP valgrind --tool=callgrind --callgrind-out-file="$out" "$B/vaultd" \
            --config "$T/policy-interval.conf" --socket "$S3" --home "$H3" --keyfile "$H3/vault.key" \
            2>>"$TMP/vaultd-cg.log" &
        pid=$!
        # one status call once the socket is there, the same in every run
        for _ in $(seq 1 400); do [ -S "$S3" ] && "$V" status --socket "$S3" >/dev/null 2>&1 && break; sleep 0.05; done
        case $1 in
            grant) VAULT_SOCKET=$S3 "$T/vsbench" grant 1 "$2" >/dev/null 2>&1 ;;
            tool) for _ in $(seq 1 "$2"); do VAULT_SOCKET=$S3 LD_PRELOAD=$SHIM "$T/true-tool"; done ;;
        esac
        # every request must have been granted, or the count is of refusals
        ok=$(($(grep -c '"event":"grant".*"decision":"ok"' "$H3/audit.log") - before))
        kill "$pid" 2>/dev/null; wait "$pid" 2>/dev/null
        [ "$ok" -ge "$2" ] && awk '/^summary:/ { print $2 }' "$out"
    }
    n_cg=200; [ -n "$Q" ] && n_cg=20
    idle=$(cg_vaultd idle 0) g=$(cg_vaultd grant "$n_cg") tl=$(cg_vaultd tool $((n_cg / 2)))
    [ -n "$idle" ] && [ -n "$g" ] && [ -n "$tl" ] || die "vaultd under callgrind failed or refused: $(tail -3 "$TMP/vaultd-cg.log")"
    line "  vaultd instructions per grant (callgrind)" "-" $(((g - idle) / n_cg)) "-" "-" "info"
    line "  vaultd instructions per allowlisted tool run" "-" $(((tl - idle) / (n_cg / 2))) "-" "-" "info"
fi

# 4. vault-run -- /bin/true against env A=b /bin/true
o=$(VAULTSHIM_LIB="$SHIM" VAULTCTL="$V" "$BENCH" pair "$R_RUN" -- /usr/bin/env A=b /bin/true -- \
    "$ROOT/scripts/vault-run" -- /bin/true) || die "vault-run failed"
b=$(get "$o" a); s=$(get "$o" b)
line "scripts/vault-run -- /bin/true (ms)" "$(div "$b" 1000)" "$(div "$s" 1000)" "$(ratio "$b" "$s")" "<=5ms" \
    "$(verdict_le "$s" 5000)"
o=$(VAULTSHIM_LIB="$SHIM" "$BENCH" pair "$R_RUN" -- /usr/bin/env A=b /bin/true -- "$V" run -- /bin/true) ||
    die "vaultctl run failed"
b=$(get "$o" a); s=$(get "$o" b)
line "vaultctl run -- /bin/true (ms)" "$(div "$b" 1000)" "$(div "$s" 1000)" "$(ratio "$b" "$s")" "<=1.2x env" \
    "$(verdict_le "$(ratio "$b" "$s")" 1.2)"

# the peers, side by side in the same run: each injects A=b from a .env
# file and runs /bin/true, interleaved with env A=b, vaultctl run, vault-run
if [ "${VS_BENCH_PEERS:-1}" = 1 ]; then
    NPM=$OUT/npm
    NB=$NPM/node_modules/.bin
    if ! [ -x "$NB/dotenvx" ] || ! [ -x "$NB/dotenv" ] || ! [ -x "$NB/env-cmd" ]; then
        mkdir -p "$NPM"
        NODE_EXTRA_CA_CERTS="${VS_BENCH_NODE_CA:-}" npm install --prefix "$NPM" --no-audit --no-fund \
            --loglevel=error @dotenvx/dotenvx dotenv-cli env-cmd >"$TMP/npm.log" 2>&1 ||
            die "npm install of the peers failed: $(tail -3 "$TMP/npm.log")"
    fi
    command -v node >/dev/null || die "node is needed for the peers (VS_BENCH_PEERS=0 skips them)"
    mkdir -p "$TMP/peers" && printf 'A=b\n' >"$TMP/peers/.env"
    R_PEER=10; [ -n "$Q" ] && R_PEER=2
    o=$(cd "$TMP/peers" && VAULTSHIM_LIB="$SHIM" "$BENCH" multi "$R_PEER" :: /usr/bin/env A=b /bin/true \
        :: "$V" run -- /bin/true :: "$ROOT/scripts/vault-run" -- /bin/true \
        :: "$NB/dotenvx" run -q -f .env -- /bin/true :: "$NB/dotenv" -e .env -- /bin/true \
        :: "$NB/env-cmd" -f .env /bin/true) || die "peer run failed"
    m() { awk -v k="$1" '$1 == "multi" && $2 == k { print $3 }' <<<"$o"; }
    envt=$(m 0) vr=$(m 1) vrun=$(m 2)
    fastest=""
    for k in 3 4 5; do
        case $k in 3) name="dotenvx run" ;; 4) name="dotenv-cli" ;; 5) name="env-cmd" ;; esac
        t=$(m "$k")
        line "peer: $name -- /bin/true (ms)" "$(div "$envt" 1000)" "$(div "$t" 1000)" "$(ratio "$envt" "$t")" "-" "info"
        fastest=$(awk -v a="$fastest" -v b="$t" 'BEGIN { print (a == "" || b < a) ? b : a }')
    done
    line "  same run: vaultctl run -- /bin/true (ms)" "$(div "$envt" 1000)" "$(div "$vr" 1000)" "$(ratio "$envt" "$vr")" "-" "info"
    line "  same run: vault-run -- /bin/true (ms)" "$(div "$envt" 1000)" "$(div "$vrun" 1000)" "$(ratio "$envt" "$vrun")" "-" "info"
    sp=$(awk -v f="$fastest" -v v="$vr" 'BEGIN { printf "%.1f", f / v }')
    line "vaultctl run speed-up over the fastest peer" "-" "${sp}x" "-" ">=20x" "$(verdict_ge "$sp" 20)"
    sp=$(awk -v f="$fastest" -v v="$vrun" 'BEGIN { printf "%.1f", f / v }')
    line "vault-run speed-up over the fastest peer" "-" "${sp}x" "-" ">=20x" "$(verdict_ge "$sp" 20)"
fi

# real work: 200 x git status in a small repository; make -j2 of 200 C files.
# Each is about a thousand short processes; beside the wall time, the empty
# preload's (the floor of any LD_PRELOAD shim) and the CPU time of the whole
# tree (wait4), bare, empty and shim.
floor_lines() { # VSBENCH-EXEC-OUTPUT
    local b e s
    b=$(get "$1" bare) e=$(get "$1" empty)
    line "  empty libc-linked preload (floor)" "$(div "$b" 1000)" "$(div "$e" 1000)" "$(ratio "$b" "$e")" "-" "info"
    b=$(cpu "$1" bare) e=$(cpu "$1" empty) s=$(cpu "$1" shim)
    line "  CPU time (user+system), shim, ms" "$(div "$b" 1000)" "$(div "$s" 1000)" "$(ratio "$b" "$s")" "-" "info"
    line "  CPU time, empty preload, ms" "$(div "$b" 1000)" "$(div "$e" 1000)" "$(ratio "$b" "$e")" "-" "info"
}
if command -v git >/dev/null; then
    g=$TMP/repo; mkdir -p "$g"
    (cd "$g" && git init -q && for i in $(seq 1 200); do echo "$i" >"f$i.txt"; done &&
        git add . && git -c user.name=b -c user.email=b@b commit -qm init) || die "git set-up failed"
    o=$("$BENCH" exec "$R_GIT" "$SHIM" "$EMPTY" -- /bin/bash -c \
        "cd '$g' && for ((i = 0; i < 200; i++)); do git status >/dev/null; done") || die "git loop failed"
    line "200 x git status (ms)" "$(div "$(get "$o" bare)" 1000)" "$(div "$(get "$o" shim)" 1000)" \
        "$(ratio "$(get "$o" bare)" "$(get "$o" shim)")" "<=1.07x" "$(verdict_le "$(ratio "$(get "$o" bare)" "$(get "$o" shim)")" 1.07)"
    floor_lines "$o"
fi
m=$TMP/mk; mkdir -p "$m"
for i in $(seq 1 200); do printf 'int f%d(int x);\nint f%d(int x) { return x * %d + 1; }\n' "$i" "$i" "$i" >"$m/f$i.c"; done
printf 'SRC := $(wildcard *.c)\nall: $(SRC:.c=.o)\n%%.o: %%.c\n\t@cc -O2 -c $< -o $@\n' >"$m/Makefile"
o=$("$BENCH" exec "$R_MAKE" "$SHIM" "$EMPTY" -- /bin/bash -c "cd '$m' && rm -f *.o && make -s -j2") || die "make loop failed"
line "make -j2, 200 C files (ms)" "$(div "$(get "$o" bare)" 1000)" "$(div "$(get "$o" shim)" 1000)" \
    "$(ratio "$(get "$o" bare)" "$(get "$o" shim)")" "<=1.03x" "$(verdict_le "$(ratio "$(get "$o" bare)" "$(get "$o" shim)")" 1.03)"
floor_lines "$o"

# The same real work in instructions, which do not move between runs as the
# wall and CPU times above do (±10% here): callgrind over every process of
# the tree (the loader included; the kernel's work, page faults and system
# calls, is not counted), bare, empty preload and shim. One `git status` in
# the repository above, and make of 4 of the C files (cc1 under callgrind
# takes a second a file).
if command -v valgrind >/dev/null 2>&1; then
    tree_ir() { # PRELOAD DIR CMD...: instructions summed over the process tree
        local pre=$1 dir=$2; shift 2
        (cd "$dir" && LD_PRELOAD=$pre valgrind --tool=callgrind --trace-children=yes \
            --callgrind-out-file=/dev/null "$@" 2>&1 >/dev/null) |
            awk '/Collected/ { gsub(",", "", $4); s += $4; n++ } END { if (n > 0) print s }'
    }
    ir_lines() { # NAME BUDGET DIR CMD...
        local name=$1 budget=$2 dir=$3 b e s; shift 3
        b=$(tree_ir "" "$dir" "$@") e=$(tree_ir "$EMPTY" "$dir" "$@") s=$(tree_ir "$SHIM" "$dir" "$@")
        [ -n "$b" ] && [ -n "$e" ] && [ -n "$s" ] || die "callgrind of $name failed"
        line "$name, instructions" "$b" "$s" "$(ratio "$b" "$s")" "<=${budget}x" "$(verdict_le "$(ratio "$b" "$s")" "$budget")"
        line "  empty libc-linked preload (floor)" "$b" "$e" "$(ratio "$b" "$e")" "-" "info"
    }
    [ -d "${g:-}" ] && ir_lines "git status" 1.07 "$g" git status
    m4=$TMP/mk4; mkdir -p "$m4"; cp "$m/Makefile" "$m/f1.c" "$m/f2.c" "$m/f3.c" "$m/f4.c" "$m4/"
    ir_lines "make -j2, 4 C files" 1.03 "$m4" bash -c 'rm -f ./*.o && make -s -j2'
fi

rss1=$(awk '/^VmRSS/ { print $2 }' "/proc/$VAULTD_PID/status")
line "vaultd RSS, 2 secrets / 2 tools (KiB)" "-" "$rss1" "-" "-" "info"

# 5. scale: 10,000 secrets and 1,000 tools against the small vault above
if [ "${VS_BENCH_SCALE:-1}" = 1 ]; then
    NS=10000 NT=1000; [ -n "$Q" ] && { NS=500; NT=50; }
    H2=$TMP/home2 S2=$TMP/run2/vaultd.sock
    mkdir -p -m 700 "$TMP/run2"; mkdir -p "$T/tools"; chmod 755 "$T/tools"
    "$V" --home "$H2" init --keyfile >/dev/null && tok api | "$V" --home "$H2" save api_token >/dev/null &&
        "$OUT/vsbench-fill" "$H2" "$H2/vault.key" "$NS" s || die "scale vault set-up failed"
    for ((i = 0; i < NT; i++)); do cp /bin/true "$T/tools/t$i"; done
    chmod 755 "$T/tools"/*
    { echo 'protect = [ "*_TOKEN", "AWS_SECRET_ACCESS_KEY" ];'
      echo 'tools = ('
      echo "  { name = \"bench\"; exe = \"$T/vsbench\"; env = { BENCH_TOKEN = \"api_token\"; }; }"
      for ((i = 0; i < NT; i++)); do echo ", { name = \"t$i\"; exe = \"$T/tools/t$i\"; env = { T${i}_KEY = \"s$((i * (NS / NT)))\"; }; }"; done
      echo ');'; } >"$T/policy2.conf"
    chmod 644 "$T/policy2.conf"
    "$B/vaultd" --config "$T/policy2.conf" --socket "$S2" --home "$H2" --keyfile "$H2/vault.key" 2>>"$TMP/vaultd2.log" &
    VAULTD2_PID=$!
    trap 'kill $VAULTD2_PID 2>/dev/null; wait $VAULTD2_PID 2>/dev/null; cleanup' EXIT
    for _ in $(seq 1 200); do "$V" status --socket "$S2" >/dev/null 2>&1 && break; sleep 0.05; done
    "$V" status --socket "$S2" >/dev/null 2>&1 || die "scale vaultd did not start: $(tail -3 "$TMP/vaultd2.log")"
    # grant p50, small and large vault interleaved (A B A B), 1 client
    small=() large=()
    for r in 1 2 3; do
        read -r _ _ _ p _ <<<"$(VAULT_SOCKET="$VAULT_SOCKET" "$T/vsbench" grant 1 $((M_GRANT / 4)))"; small+=("$p")
        read -r _ _ _ p _ <<<"$(VAULT_SOCKET="$S2" "$T/vsbench" grant 1 $((M_GRANT / 4)))"; large+=("$p")
    done
    med() { printf '%s\n' "$@" | sort -g | awk '{ a[NR] = $1 } END { print a[int((NR + 1) / 2)] }'; }
    b=$(med "${small[@]}"); s=$(med "${large[@]}")
    line "grant p50, $NS secrets/$NT tools vs 2/2" "$b" "$s" "$(ratio "$b" "$s")" "<=1.2x" "$(verdict_le "$(ratio "$b" "$s")" 1.2)"
    rss2=$(awk '/^VmRSS/ { print $2 }' "/proc/$VAULTD2_PID/status")
    line "vaultd RSS (KiB), $NS secrets/$NT tools vs 2/2" "$rss1" "$rss2" "$(ratio "$rss1" "$rss2")" "<=1.2x" \
        "$(verdict_le "$(ratio "$rss1" "$rss2")" 1.2)"
    o=$(LD_PRELOAD="$SHIM" "$BENCH" pair "$R_PROC" -- /usr/bin/env VAULT_SOCKET="$VAULT_SOCKET" /bin/true -- \
        /usr/bin/env VAULT_SOCKET="$S2" /bin/true) || die "scale exec failed"
    b=$(get "$o" a); s=$(get "$o" b)
    line "env+/bin/true under shim, large vs small index" "$b" "$s" "$(ratio "$b" "$s")" "<=1.2x" \
        "$(verdict_le "$(ratio "$b" "$s")" 1.2)"
    for op in save rotate; do
        ts=()
        for i in 1 2 3 4 5; do
            name=x$i; [ "$op" = rotate ] && name=s$i
            t0=$(date +%s%N)
            tok v | "$V" --home "$H2" "$op" "$name" >/dev/null || die "vaultctl $op failed"
            ts+=($((($(date +%s%N) - t0) / 1000)))
        done
        line "vaultctl $op, $NS secrets (ms)" "-" "$(div "$(med "${ts[@]}")" 1000)" "-" "reported" "info"
    done
fi
# 6. vault-exec masking: in-memory throughput with 20 secrets (binary and
# log-like text) against a plain copy, and relay-probe (the relay and
# masker vault-exec uses) over a 1 GB stream: throughput against a bare
# pipe, and its peak RSS against a 1 MB stream (flat memory).
MASK_MB=256 MASK_R=3 RELAY_MB=1024
[ -n "$Q" ] && { MASK_MB=32; MASK_R=1; RELAY_MB=64; }
o=$("$OUT/vsbench-mask" "$MASK_MB" "$MASK_R") || die "mask bench failed"
cp_=$(awk '$1 == "copy" { print $3 }' <<<"$o")
for kind in binary text; do
    v=$(awk -v k="$kind" '$1 == "mask" && $2 == k { print $4 }' <<<"$o")
    line "masking MB/s, 20 secrets, $kind, ${MASK_MB} MB" "$cp_" "$v" "$(ratio "$cp_" "$v")" ">=200MB/s" "$(verdict_ge "$v" 200)"
done
for i in $(seq 1 20); do tok mask; echo; done >"$TMP/mask.values"
peak_rss() { # KiB, the largest process waited for (relay-probe)
    python3 -c 'import resource, subprocess, sys
r = subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL).returncode
print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss if r == 0 else -1)' "$@"
}
RP=$B/tests/helpers/relay-probe
rss_small=$(peak_rss "$RP" --pipes "$TMP/mask.values" -- head -c 1M /dev/zero)
rss_big=$(peak_rss "$RP" --pipes "$TMP/mask.values" -- head -c "${RELAY_MB}M" /dev/zero)
[ "$rss_small" -gt 0 ] && [ "$rss_big" -gt 0 ] || die "relay-probe failed"
line "relay-probe peak RSS (KiB), ${RELAY_MB} MB vs 1 MB" "$rss_small" "$rss_big" "$(ratio "$rss_small" "$rss_big")" \
    "flat" "$(verdict_le "$(ratio "$rss_small" "$rss_big")" 1.1)"
bare=() relay=()
for r in 1 2; do
    t0=$(date +%s%N); head -c "${RELAY_MB}M" /dev/zero | cat >/dev/null; bare+=($((($(date +%s%N) - t0) / 1000000)))
    t0=$(date +%s%N); "$RP" --pipes "$TMP/mask.values" -- head -c "${RELAY_MB}M" /dev/zero >/dev/null
    relay+=($((($(date +%s%N) - t0) / 1000000)))
done
mbps() { awk -v mb="$RELAY_MB" -v ms="$1" 'BEGIN { printf "%.0f", mb / (ms / 1000) }'; }
b=$(printf '%s\n' "${bare[@]}" | sort -n | head -1); s=$(printf '%s\n' "${relay[@]}" | sort -n | head -1)
line "relay MB/s, ${RELAY_MB} MB via pipes (best of 2)" "$(mbps "$b")" "$(mbps "$s")" "$(ratio "$(mbps "$b")" "$(mbps "$s")")" \
    ">=200MB/s" "$(verdict_ge "$(mbps "$s")" 200)"

echo "results: $RESULTS"
