#!/usr/bin/env bash
# The laptop set-up: vaultd, vaultctl, the agent and its tools all run as
# one ordinary user, so vaultd has no ptrace access to a process that made
# itself non-dumpable (vaultctl from its start, a granted tool before
# CONFIRM). The demo run as such a user must still work end to end.
. "$(dirname "$0")/../lib.sh"
vs_clean_env "$@"
vs_begin
[ "$(id -u)" -eq 0 ] || { echo "not ok 1 - same_uid.sh needs root to create its user"; exit 1; }
root="$(cd "$(dirname "$0")/../.." && pwd)"
user="vsuid$(od -An -N3 -tx1 /dev/urandom | tr -d ' \n')"
useradd -m -s /bin/bash "$user" || { echo "not ok 1 - useradd $user"; exit 1; }
VS_CLEANUP_EXTRA="${VS_CLEANUP_EXTRA:+$VS_CLEANUP_EXTRA; }pkill -u '$user' 2>/dev/null; sleep 0.2; userdel -r '$user' 2>/dev/null"
home=$(getent passwd "$user" | cut -d: -f6)
# The user's own copy of the build and the demo script (its home is a
# trusted path for it: owned by the user, not writable by others).
mkdir -p "$home/vs/scripts" "$home/vs/build"
cp "$root/scripts/demo" "$root/scripts/vault-run" "$home/vs/scripts/"
cp "$VS_BUILD/vaultd" "$VS_BUILD/vaultctl" "$VS_BUILD/libvaultshim.so" "$home/vs/build/"
[ -x "$VS_BUILD/vault-exec" ] && cp "$VS_BUILD/vault-exec" "$home/vs/build/"
mkdir -p "$home/vs/tests/helpers"
cp "$root/tests/helpers/auth_server.py" "$home/vs/tests/helpers/"
chown -R "$user:" "$home/vs"
out="$VS_TMP/demo.out"
(cd "$home" && timeout 120 runuser -u "$user" -- env -i HOME="$home" PATH=/usr/bin:/bin \
    VS_BUILD="$home/vs/build" "$home/vs/scripts/demo") >"$out" 2>&1
rc=$?
check "as user $user: the demo exits 0 (vaultctl ping, status and save talk to a same-uid vaultd)" test "$rc" -eq 0
check "the agent's shell sees no token" grep -q '^API_TOKEN=\[\]$' "$out"
check "curl authenticates through a same-uid vaultd (CONFIRM of a non-dumpable peer)" grep -qx 'welcome' "$out"
check "the copy of curl gets nothing" grep -qx 'who are you?' "$out"
check "the grant is in the verified audit log" bash -c 'grep -q "grant    ok      tool curl" "$0" &&
    grep -q "chain intact" "$0"' "$out"
check "no process of the user is left" bash -c '! pgrep -u "$0" >/dev/null' "$user"
vs_end
