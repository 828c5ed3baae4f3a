#!/usr/bin/env bash
# The shim inside programs that do unusual but ordinary things
# (tests/helpers/shim-stress.c, thread-stress.c), outside a grant (a fake
# token planted under a protected name must never show) and inside one (the
# allowlisted copy must get the vault's value and file, every time):
# 1,000 threads reading env and files while the main thread forks and
# spawns; a constructor of priority 101 in the program; closefrom and
# close_range at start, then decoy files on the freed numbers; fork without
# exec; vfork + exec; 10,000 execs in a chain (SHIM_CHAIN); a 1 MB
# environment. Each: a timeout (no deadlock), exit 0 (no crash), fd counts
# (no leak), no form of the token in any output (no value leak).
export ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}verify_asan_link_order=0"
. "$(dirname "$0")/../lib.sh"
VS_KEEP=SHIM_CHAIN vs_clean_env "$@"
vs_begin
# 10,000 on a normal build; an ASan-built helper starts ~5x slower, and the
# normal suite already runs the full chain: 2,000 there.
if [ -z "${SHIM_CHAIN:-}" ]; then
    SHIM_CHAIN=10000
    readelf -sW "$VS_BUILD/tests/helpers/shim-stress" 2>/dev/null | grep -q __asan_init && SHIM_CHAIN=2000
fi
vs_trusted_dir
chmod 711 "$VS_TMP"
V=$VAULTCTL
T=$VS_TRUSTED
SHIM="$VS_BUILD/libvaultshim.so"
HS="$VS_BUILD/tests/helpers/shim-stress"
TS="$VS_BUILD/tests/helpers/thread-stress"
tok=$(fake_token gh)        # the vault's value
planted=$(fake_token gh)    # what an outside process finds in its environment
"$V" init --keyfile >/dev/null
printf '%s' "$tok" | "$V" save gh_token >/dev/null
cp "$HS" "$T/stress"; cp "$TS" "$T/tstress"; chmod 755 "$T/stress" "$T/tstress"
mkdir -p "$T/home"
NETRC="$T/home/.netrc"
cat >"$T/policy.conf" <<CONF
tools = (
  { name = "stress"; exe = "$T/stress"; env = { GH_TOKEN = "gh_token"; }; files = [ "netrc" ]; },
  { name = "tstress"; exe = "$T/tstress"; env = { GH_TOKEN = "gh_token"; }; files = [ "netrc" ]; }
);
files = ( { name = "netrc"; path = "$NETRC"; template = "machine h login a password {{gh_token}}\\n"; } );
CONF
chmod 644 "$T/policy.conf"
check "vaultd starts" vs_start_vaultd "$T/policy.conf"
env_in="env sha256:$(sha256 "$tok")"
rendered=$(printf 'machine h login a password %s\n' "$tok")
file_in="file sha256:$(printf '%s\n' "$rendered" | sha256sum | cut -d' ' -f1)/$(( ${#rendered} + 1 ))"
out_n=0
# under TIMEOUT CMD...: CMD under the shim with the planted token; output in
# $VS_TMP/o.N (kept for the leak check), the last one's name in $o
under() {
    local t=$1; shift
    out_n=$((out_n + 1)); o="$VS_TMP/o.$out_n"
    env LD_PRELOAD="$SHIM" VAULT_SOCKET="$VAULT_SOCKET" GH_TOKEN="$planted" VS_STRESS_NAME=GH_TOKEN \
        timeout "$t" "$@" >"$o" 2>"$o.err"
}
has() { grep -qF -- "$1" "$o" || { diag "output: $(head -c 400 "$o") $(head -c 200 "$o.err")"; return 1; }; }

# --- 1,000 threads
under 120 "$TS" GH_TOKEN "$NETRC" 1000 3; rc=$?
diag "$(cat "$o")"
check "1,000 threads outside a grant: no deadlock or crash, the name always absent, the file always missing" \
    bash -c '[ "$0" -eq 0 ] && grep -q "present 0 file missing: consistent" "$1"' "$rc" "$o"
under 120 "$T/tstress" GH_TOKEN "$NETRC" 1000 3; rc=$?
diag "$(cat "$o")"
check "1,000 threads inside a grant: the value and the file always there and the same" \
    bash -c '[ "$0" -eq 0 ] && grep -q "present 1 file served: consistent" "$1"' "$rc" "$o"

# --- a constructor of priority 101 in the program itself
under 20 "$HS" ctor GH_TOKEN
check "outside a grant, the program's own early constructor and main both see nothing" has "ctor absent main absent: same"
under 20 "$T/stress" ctor GH_TOKEN
check "inside a grant, the early constructor already sees the vault's value, as main does" \
    has "ctor sha256:$(sha256 "$tok") main sha256:$(sha256 "$tok"): same"

# --- every fd closed at start, decoys on the freed numbers
for how in closefrom close_range; do
    under 20 "$HS" closefds "$how" GH_TOKEN "$NETRC"; rc=$?
    check "$how, outside a grant: exit 0, name absent, file missing, the decoy untouched" \
        bash -c '[ "$0" -eq 0 ] && grep -qx "after env absent file missing(ENOENT) again missing(ENOENT)" "$1" &&
            grep -q "^decoy untouched" "$1"' "$rc" "$o"
    under 20 "$T/stress" closefds "$how" GH_TOKEN "$NETRC"; rc=$?
    check "$how, inside a grant: exit 0, the value still right, the file right or refused, the decoy untouched" \
        bash -c '[ "$0" -eq 0 ] && grep -q "^before $1 $2$" "$3" && grep -Eq "^after $1 (file missing\(ENOENT\) again missing\(ENOENT\)|$2 again ${2#file })$" "$3" &&
            grep -q "^decoy untouched" "$3"' "$rc" "$env_in" "$file_in" "$o"
    diag "$how: $(tr '\n' ' ' <"$o")"
done

# --- fork without exec, vfork + exec
under 20 "$HS" forkenv GH_TOKEN "$NETRC"; rc=$?
check "fork without exec, outside a grant: the child sees what the parent sees (nothing)" \
    bash -c '[ "$0" -eq 0 ] && grep -qx "child  absent missing(ENOENT)" "$1"' "$rc" "$o"
under 20 "$T/stress" forkenv GH_TOKEN "$NETRC"; rc=$?
check "fork without exec, inside a grant: the child has the same value and file" \
    bash -c '[ "$0" -eq 0 ] && grep -qx "child  ${1#env } ${2#file }" "$3"' "$rc" "$env_in" "$file_in" "$o"
under 20 "$HS" vfork GH_TOKEN "$NETRC"; rc=$?
check "vfork + exec, outside a grant: the new image sees nothing" \
    bash -c '[ "$0" -eq 0 ] && grep -q "^env absent file missing(ENOENT) fds" "$1"' "$rc" "$o"
base_fds=$(awk '{print $NF}' "$o")
under 20 "$T/stress" vfork GH_TOKEN "$NETRC"; rc=$?
check "vfork + exec of the allowlisted program: granted afresh, value and file right" \
    bash -c '[ "$0" -eq 0 ] && grep -q "^$1 $2 fds" "$3"' "$rc" "$env_in" "$file_in" "$o"

# --- an exec chain
t0=$(date +%s%3N)
under 600 "$HS" chain "$SHIM_CHAIN" GH_TOKEN "$NETRC"; rc=$?
t1=$(date +%s%3N)
diag "$SHIM_CHAIN execs under the shim in $((t1 - t0)) ms ($(( (t1 - t0) * 1000 / (SHIM_CHAIN > 0 ? SHIM_CHAIN : 1) )) us each): $(tail -1 "$o")"
check "$SHIM_CHAIN execs in a chain outside a grant: no crash, the same fds and environment size at the end, the name absent" \
    bash -c '[ "$0" -eq 0 ] && grep -q "^env absent file missing(ENOENT)" "$1" && grep -q ": same$" "$1"' "$rc" "$o"
n_in=$(( SHIM_CHAIN / 20 ))
t0=$(date +%s%3N)
under 600 "$T/stress" chain "$n_in" GH_TOKEN "$NETRC"; rc=$?
t1=$(date +%s%3N)
diag "$n_in execs of the allowlisted program (a grant each) in $((t1 - t0)) ms: $(tail -1 "$o")"
check "$n_in execs in a chain inside a grant: granted every time, no fd or environment growth" \
    bash -c '[ "$0" -eq 0 ] && grep -q "^$1 $2" "$3" && grep -q ": same$" "$3"' "$rc" "$env_in" "$file_in" "$o"

# --- a 1 MB environment: 16 variables of 64 KiB
big=()
for i in $(seq 1 16); do big+=("BIG$i=$(head -c 49152 /dev/urandom | base64 -w0)"); done
want_big=$(printf '%s\n' "${big[@]}" | sort | sha256sum)
under 20 env "${big[@]}" /usr/bin/env
check "a 1 MB environment through an exec under the shim: every big variable intact, the name gone" \
    bash -c '[ "$(grep "^BIG" "$0" | sort | sha256sum)" = "$1" ] && ! grep -q "^GH_TOKEN=" "$0"' "$o" "$want_big"
under 20 env "${big[@]}" "$HS" report GH_TOKEN "$NETRC"
check "a 1 MB environment outside a grant: the name absent" has "env absent file missing(ENOENT)"
under 20 env "${big[@]}" "$T/stress" report GH_TOKEN "$NETRC"; rc=$?
diag "the allowlisted program in a 1 MB environment: $(cat "$o.err")"
check "a 1 MB environment inside a grant: vaultd's bound (256 KiB) refuses it, closed, in one line, no value" \
    bash -c '[ "$0" -eq 0 ] && grep -q "^env absent file missing(ENOENT)" "$1" && [ "$(wc -l <"$1.err")" = 1 ] &&
        grep -q "^vaultshim: stress: no grant: environment is over" "$1.err"' "$rc" "$o"

check "no form of the vault's value or the planted token in any output" absent_in "$tok" "$VS_TMP"/o.*
check "(planted token)" absent_in "$planted" "$VS_TMP"/o.*
check "vaultd's log has no sanitizer report" bash -c '! grep -qE "Sanitizer|runtime error" "$0"' "$VS_TMP/vaultd.log"
vs_end
