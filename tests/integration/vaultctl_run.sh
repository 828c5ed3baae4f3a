#!/usr/bin/env bash
# vaultctl run: the launcher in C. The command runs under the shim with no
# protected name, the shim first in LD_PRELOAD, the socket and the agent
# label set; an allowlisted tool gets its grant, labelled with the agent;
# vaultd down and a missing command fail with one line.
. "$(dirname "$0")/../lib.sh"
vs_clean_env "$@"
vs_begin
# An ASan-built probe aborts when the shim is preloaded ahead of the ASan
# runtime; the check is the sanitizer's, not ours.
export ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}verify_asan_link_order=0"
vs_trusted_dir
chmod 711 "$VS_TMP"
V=$VAULTCTL
T=$VS_TRUSTED
cp "$VS_BUILD/tests/helpers/vs-probe-client" "$T/probe"; chmod 755 "$T/probe"
"$V" init --keyfile >/dev/null
tok=$(fake_token gh)
printf '%s' "$tok" | "$V" save gh_token >/dev/null
printf 'protect = [ "*_TOKEN" ];\ntools = ( { name = "probe"; exe = "%s"; env = { GH_TOKEN = "gh_token"; }; } );\n' \
    "$T/probe" >"$T/policy.conf"
chmod 644 "$T/policy.conf"
check "vaultd starts" vs_start_vaultd "$T/policy.conf"
SHIM=$(readlink -f "$VS_BUILD/libvaultshim.so")

env GH_TOKEN="$tok" API_TOKEN="$tok" LD_PRELOAD=/nonexistent.so "$V" run --agent claude -- bash -c \
    'echo "GH=[$GH_TOKEN] API=[$API_TOKEN]"; echo "LD_PRELOAD=$LD_PRELOAD"; echo "SOCKET=$VAULT_SOCKET";
     echo "AGENT=$VAULT_AGENT"; env | grep -c TOKEN; ulimit -c' >"$VS_TMP/out" 2>"$VS_TMP/err"
check "the command runs" grep -q "^GH=" "$VS_TMP/out"
check "the command gets exactly its arguments (none repeated)" bash -c '
    [ "$("$0" run -- printf "[%s]" a b 2>&1)" = "[a][b]" ]' "$V"
check "no protected name reaches it (a builtin and a policy pattern)" grep -qx "GH=\[\] API=\[\]" "$VS_TMP/out"
check "no TOKEN entry in its environment" grep -qx "0" "$VS_TMP/out"
check "the shim is LD_PRELOAD (the caller's preload dropped)" grep -qx "LD_PRELOAD=$SHIM" "$VS_TMP/out"
check "the socket and the agent are set" bash -c 'grep -qx "SOCKET=$1" "$0" && grep -qx "AGENT=claude" "$0"' \
    "$VS_TMP/out" "$VAULT_SOCKET"
check "the command gets the core limit vaultctl was started with" bash -c '[ "$(tail -1 "$0")" = "$(ulimit -c)" ]' \
    "$VS_TMP/out"
check "nothing printed the token" absent_in "$tok" "$VS_TMP/out" "$VS_TMP/err"
check "an allowlisted tool run through it is granted" bash -c '"$0" run --agent claude -- "$1" ok | grep -qx "grant GH_TOKEN 1 $2"' \
    "$V" "$T/probe" "$(sha256 "$tok")"
# The shim inside the probe asks first (from its constructor, labelled
# with VAULT_AGENT); the probe then asks on its own connection.
check "and the shim's grant line carries the agent" bash -c 'grep "\"event\":\"grant\"" "$VAULT_HOME/audit.log" | tail -2 |
    head -1 | grep "\"tool\":\"probe\"" | grep -q "\"agent\":\"claude\""'
check "the command gets exactly its arguments (none added, none lost)" bash -c '
    [ "$("$0" run -- /usr/bin/printf "[%s]" a "b c" d)" = "[a][b c][d]" ] && [ "$("$0" run -- /usr/bin/printf x)" = x ]' "$V"
check "a missing command: one line, status 127" err_is 127 "^vaultctl: run: no-such-cmd: No such file or directory$" \
    "$V" run -- no-such-cmd
check "a bad agent label is a usage error" err_is 2 "^vaultctl: run: --agent: " "$V" run --agent 'a b' -- true
kill -TERM "$VAULTD_PID"; wait "$VAULTD_PID" 2>/dev/null
check "vaultd down: one line, status 1, the command not run" bash -c '
    ! "$0" run -- touch "$1/ran" 2>"$1/e" && [ ! -e "$1/ran" ] && [ "$(wc -l <"$1/e")" = 1 ] &&
    grep -q "^vaultctl: run: vaultd not answering at " "$1/e"' "$V" "$VS_TMP"
vs_end
