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

# The opaque-peer rule under attack: with a same-uid vaultd, a process that
# makes itself non-dumpable before it connects cannot be inspected, so it is
# never granted, although the same tool asking openly is.
cp "$root/tests/helpers/vs_client.py" "$home/vs/client.py"
tok=$(fake_token sameuid)
printf '%s' "$tok" >"$home/vs/tok"; chmod 600 "$home/vs/tok"
chown -R "$user:" "$home/vs"
cat >"$home/vs/attack.sh" <<'SH'
set -u
cd "$HOME/vs"
export VAULT_HOME="$HOME/vs/vault" VAULT_SOCKET="$HOME/vs/run/vaultd.sock" VAULT_KEYFILE=
mkdir -p -m 700 "$HOME/vs/run"
build/vaultctl init --keyfile >/dev/null && build/vaultctl save x_token <tok >/dev/null || exit 9
rm -f tok
printf 'tools = ( { name = "client"; exe = "/usr/bin/python3"; script = "%s"; env = { X_TOKEN = "x_token"; }; } );\n' \
    "$HOME/vs/client.py" >policy.conf
chmod 644 policy.conf
build/vaultd --config "$HOME/vs/policy.conf" 2>vaultd.log & pid=$!
for _ in $(seq 1 100); do build/vaultctl ping >/dev/null 2>&1 && break; sleep 0.05; done
PYTHONNOUSERSITE=1 /usr/bin/python3 "$HOME/vs/client.py" grant >open.out 2>open.err; echo "open=$?"
PYTHONNOUSERSITE=1 /usr/bin/python3 "$HOME/vs/client.py" grant-hidden >hidden.out 2>hidden.err; echo "hidden=$?"
PYTHONNOUSERSITE=1 /usr/bin/python3 "$HOME/vs/client.py" grant-one >one.out 2>one.err; echo "one=$?"
kill "$pid"; wait "$pid"
SH
chown "$user:" "$home/vs/attack.sh"
(cd "$home" && timeout 120 runuser -u "$user" -- env -i HOME="$home" PATH=/usr/bin:/bin bash "$home/vs/attack.sh") >"$VS_TMP/attack.out" 2>&1
while IFS= read -r l; do diag "attack: $l"; done < <(cat "$VS_TMP/attack.out" "$home/vs/vaultd.log" 2>/dev/null)
want="grant X_TOKEN 1 $(printf '%s' "$tok" | sha256sum | cut -d' ' -f1)"
check "a same-uid tool asking openly gets its value (digest matches)" \
    bash -c 'grep -qx "open=0" "$0" && grep -qxF "$1" "$2"' "$VS_TMP/attack.out" "$want" "$home/vs/open.out"
check "the same tool non-dumpable before it connects is refused (opaque peer)" \
    bash -c 'grep -qx "hidden=3" "$0" && grep -q "cannot inspect this process" "$1" && [ ! -s "$2" ]' \
    "$VS_TMP/attack.out" "$home/vs/hidden.err" "$home/vs/hidden.out"
check "and the refusal is in the audit log" grep -q '"decision":"denied".*cannot inspect this process' "$home/vs/vault/audit.log"
check "a same-uid vaultd cannot inspect non-dumpable processes: it says tools ask in two steps" \
    grep -q "tools ask in two steps" "$home/vs/vaultd.log"
check "and refuses GRANTS with ONE_STEP, naming why" \
    bash -c 'grep -qx "one=3" "$0" && grep -q "cannot inspect non-dumpable processes: ask in two steps" "$1" && [ ! -s "$2" ]' \
    "$VS_TMP/attack.out" "$home/vs/one.err" "$home/vs/one.out"
check "no value in any output of the attack" absent_in "$tok" "$VS_TMP/attack.out" "$home/vs/hidden.out" "$home/vs/hidden.err" "$home/vs/one.out" "$home/vs/one.err" "$home/vs/vaultd.log"
check "no process of the user is left" bash -c '! pgrep -u "$0" >/dev/null' "$user"
vs_end
