#!/usr/bin/env bash
# The README's first command (make demo) works and shows what it says:
# curl authenticates, the agent's shell and a copy of curl get nothing,
# the audit chain verifies, and the demo cleans up after itself.
. "$(dirname "$0")/../lib.sh"
vs_clean_env "$@"
vs_begin
root="$(cd "$(dirname "$0")/../.." && pwd)"
before=$(ls -d /tmp/vaultshim-demo.* 2>/dev/null | wc -l)
VS_BUILD="$VS_BUILD" timeout 120 "$root/scripts/demo" >"$VS_TMP/demo.out" 2>&1
rc=$?
check "the demo exits 0" test "$rc" -eq 0
check "the agent's shell sees no token" grep -q '^API_TOKEN=\[\]$' "$VS_TMP/demo.out"
check "no TOKEN entry in env or /proc/self/environ" bash -c 'grep -q "^TOKEN entries in env: 0$" "$0" &&
    grep -q "^TOKEN in /proc/self/environ: 0$" "$0"' "$VS_TMP/demo.out"
check "~/.netrc does not exist for the shell" grep -q '\.netrc: No such file or directory' "$VS_TMP/demo.out"
check "curl authenticates (the server said welcome)" grep -qx 'welcome' "$VS_TMP/demo.out"
check "the copy of curl gets nothing (the server asked who)" grep -qx 'who are you?' "$VS_TMP/demo.out"
check "the grant is in the verified audit log" bash -c 'grep -q "grant    ok      tool curl" "$0" &&
    grep -q "chain intact" "$0"' "$VS_TMP/demo.out"
check "the demo leaves no folder behind" test "$(ls -d /tmp/vaultshim-demo.* 2>/dev/null | wc -l)" -eq "$before"
check "and no process" bash -c '! pgrep -f "[v]aultshim-demo" >/dev/null'
vs_end
