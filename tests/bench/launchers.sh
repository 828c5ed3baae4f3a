#!/usr/bin/env bash
# The launchers' cost in stable measures and in interleaved wall time
# (docs/launchers.md). Starts a throwaway vaultd, then for `env A=b /bin/true`,
# `vaultctl run -- /bin/true` and `vault-run -- /bin/true` prints:
#   instr    user-space instructions of the first program up to its first
#            execve (callgrind --dump-before=execve): env's own start, all
#            of vaultctl run's work, vault-run's shell part (its vaultctl
#            part is the vaultctl run line)
#   sys      system calls of the whole chain (strace -f -c)
#   execs    execve calls of the chain; forks: processes it made
#   faults   page faults of the whole chain (perf stat, mean of 50)
# and the median wall time of each, interleaved (vsbench multi, R runs).
#   VS_BUILD=build tests/bench/launchers.sh [OLD_VAULTCTL [OLD_VAULT_RUN]]
# compares against an older vaultctl (and vault-run script) in the same run.
[ -n "${VS_CLEAN_ENV:-}" ] || exec env -i VS_CLEAN_ENV=1 PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME="$HOME" \
    VS_BUILD="$VS_BUILD" LANG="${LANG-C.UTF-8}" VS_LAUNCH_RUNS="${VS_LAUNCH_RUNS:-300}" bash "$0" "$@"
set -u
: "${VS_BUILD:?VS_BUILD must name the build folder}"
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
B=$VS_BUILD
BENCH=$B/bench/vsbench
V=$B/vaultctl
RUN=$ROOT/scripts/vault-run
OLD_V=${1:-} OLD_RUN=${2:-$RUN}
R=$VS_LAUNCH_RUNS
die() { echo "launchers: $*" >&2; exit 1; }
[ -x "$BENCH" ] || die "$BENCH missing (make $BENCH)"
for t in valgrind strace perf; do command -v "$t" >/dev/null || die "$t missing (scripts/install-deps)"; done

TMP=$(mktemp -d /tmp/vs-launch.XXXXXX)
mkdir -p "$B/bench"
T=$(mktemp -d "$B/bench/launch.XXXXXX") # the policy: a path vaultd trusts
chmod 700 "$TMP"; chmod 755 "$T"
VAULTD_PID=""
cleanup() {
    [ -n "$VAULTD_PID" ] && { kill "$VAULTD_PID" 2>/dev/null; wait "$VAULTD_PID" 2>/dev/null; }
    rm -rf "$TMP" "$T"
}
trap cleanup EXIT
export VAULT_HOME="$TMP/home" VAULT_KEYFILE= VAULT_SOCKET="$TMP/run/vaultd.sock" VAULTSHIM_LIB=$B/libvaultshim.so
mkdir -p -m 700 "$TMP/run"
"$V" init --keyfile >/dev/null || die "vaultctl init failed"
printf 'protect = [ "*_TOKEN", "AWS_SECRET_ACCESS_KEY" ];\ntools = ( );\n' >"$T/policy.conf"
chmod 644 "$T/policy.conf"
"$B/vaultd" --config "$T/policy.conf" --socket "$VAULT_SOCKET" 2>>"$TMP/vaultd.log" &
VAULTD_PID=$!
for _ in $(seq 1 100); do "$V" status >/dev/null 2>&1 && break; sleep 0.05; done
"$V" status >/dev/null 2>&1 || die "vaultd did not start: $(tail -3 "$TMP/vaultd.log")"

# Each launcher runs from a folder of its own with vaultctl beside
# vault-run (the installed layout: VAULTCTL unset), so old and new are
# measured alike and every command is the launcher itself.
mkdir -p "$T/new" "$T/old"
cp "$V" "$RUN" "$T/new/"
names=("env A=b /bin/true" "vaultctl run -- /bin/true" "vault-run -- /bin/true")
cmds=("/usr/bin/env A=b /bin/true" "$T/new/vaultctl run -- /bin/true" "$T/new/vault-run -- /bin/true")
if [ -n "$OLD_V" ]; then
    cp "$OLD_V" "$T/old/vaultctl"; cp "$OLD_RUN" "$T/old/vault-run"
    names+=("old vaultctl run -- /bin/true" "old vault-run -- /bin/true")
    cmds+=("$T/old/vaultctl run -- /bin/true" "$T/old/vault-run -- /bin/true")
fi
unset VAULTCTL

printf '%-32s %9s %5s %5s %5s %7s %9s\n' "# command" instr sys execs forks faults "wall(us)"
declare -a instr sys execs forks faults
for i in "${!cmds[@]}"; do
    c=${cmds[$i]} out=$TMP/cg.$i
    # shellcheck disable=SC2086
    valgrind --tool=callgrind --dump-before=execve --callgrind-out-file="$out" $c >/dev/null 2>&1 ||
        die "${names[$i]} failed under callgrind"
    instr[i]=$(awk '/^summary:/ { print $2 }' "$out.1" 2>/dev/null)
    # shellcheck disable=SC2086
    strace -f -c -o "$TMP/st.$i" $c >/dev/null 2>&1 || die "${names[$i]} failed under strace"
    sys[i]=$(awk '$NF == "total" { print $4 }' "$TMP/st.$i")
    execs[i]=$(awk '$NF == "execve" { print $4 }' "$TMP/st.$i")
    forks[i]=$(awk '$NF ~ /^(clone|clone3|fork|vfork)$/ { n += $4 } END { print n + 0 }' "$TMP/st.$i")
    # shellcheck disable=SC2086
    faults[i]=$(perf stat -r 50 -x, -e page-faults $c 2>&1 >/dev/null | awk -F, '{ print $1; exit }')
done
# wall: all commands interleaved in one vsbench run
args=()
for c in "${cmds[@]}"; do
    # shellcheck disable=SC2206
    args+=(:: $c)
done
o=$("$BENCH" multi "$R" "${args[@]}") || die "vsbench multi failed"
for i in "${!cmds[@]}"; do
    w=$(awk -v k="$i" '$1 == "multi" && $2 == k { print $3 }' <<<"$o")
    printf '%-32s %9s %5s %5s %5s %7s %9s\n' "${names[$i]}" "${instr[$i]}" "${sys[$i]}" "${execs[$i]}" \
        "${forks[$i]}" "${faults[$i]}" "$w"
done
w0=$(awk '$1 == "multi" && $2 == 0 { print $3 }' <<<"$o")
for i in "${!cmds[@]}"; do
    [ "$i" = 0 ] && continue
    w=$(awk -v k="$i" '$1 == "multi" && $2 == k { print $3 }' <<<"$o")
    awk -v n="${names[$i]}" -v a="$w0" -v b="$w" 'BEGIN { printf "# %-30s %.2fx env, %.2f ms\n", n, b / a, b / 1000 }'
done
echo "# $(date -u +%FT%TZ), $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg), $R interleaved runs each"
