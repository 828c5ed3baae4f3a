#!/usr/bin/env bash
# Approvals on a key-file vault (no passphrase): the owner's terminal is the
# one vaultd was started from (its tty and session). Approved from that
# terminal's shell: the tool runs. A vaultd started with no terminal (a
# service) knows no owner's terminal: approvals are refused, and a
# `vaultctl unlock` from the agent's side does not make its terminal the
# owner's.
. "$(dirname "$0")/../lib.sh"
vs_clean_env "$@"
vs_begin
[ -x "$VS_BUILD/vault-exec" ] || { echo "not ok 1 - no vault-exec in $VS_BUILD"; exit 1; }
vs_trusted_dir
chmod 711 "$VS_TMP"
V=$VAULTCTL
T=$VS_TRUSTED
X="$VS_BUILD/vault-exec"
HELPERS="$(cd "$(dirname "$0")/../helpers" && pwd)"
PTY="$HELPERS/pty_run.py"
cc -static -O1 -o "$T/envhash" "$HELPERS/exec/envhash.c" && chmod 755 "$T/envhash" || { echo "not ok 1 - cc -static"; exit 1; }
"$V" init --keyfile >/dev/null
api=$(fake_token api)
printf '%s' "$api" | "$V" save api_token >/dev/null
printf 'vault = { approve_timeout = 5; };\ntools = ( { name = "appr"; exe = "%s"; env = { STATIC_TOKEN = "api_token"; }; approve = true; mask = false; } );\n' \
    "$T/envhash" >"$T/policy.conf"
chmod 644 "$T/policy.conf"
export VAULT_SOCKET="$VS_TMP/run/vaultd.sock"
mkdir -p -m 700 "$VS_TMP/run"
want=$(python3 -c 'import sys
h=1469598103934665603
for b in sys.argv[1].encode(): h=((h^b)*1099511628211)&0xffffffffffffffff
print("fnv %016x"%h)' "$api")

# The owner's terminal: starts vaultd there, waits for the request, approves.
cat >"$VS_TMP/owner.sh" <<'SH'
"$1" --config "$2" --socket "$VAULT_SOCKET" 2>>"$3/vaultd.log" &
echo $! >"$3/vaultd.pid"
for _ in $(seq 1 100); do id=$("$4" pending 2>/dev/null | awk '/^id /{print $2; exit}'); [ -n "$id" ] && break; sleep 0.1; done
"$4" approve "$id"
SH
"$PTY" --transcript "$VS_TMP/pty.owner" -- bash "$VS_TMP/owner.sh" "$VS_BUILD/vaultd" "$T/policy.conf" "$VS_TMP" "$V" &
OPID=$!
VS_CLEANUP_EXTRA="${VS_CLEANUP_EXTRA:+$VS_CLEANUP_EXTRA; }[ -s '$VS_TMP/vaultd.pid' ] && kill \$(cat '$VS_TMP/vaultd.pid') 2>/dev/null"
for _ in $(seq 1 100); do "$V" status >/dev/null 2>&1 && break; sleep 0.1; done
"$X" -- "$T/envhash" STATIC_TOKEN >"$VS_TMP/out" 2>"$VS_TMP/err"; rc=$?
wait "$OPID"
check "key-file vault: approved from the terminal vaultd was started from, the tool runs" bash -c '
    [ "$0" = 0 ] && grep -qx "$1" "$2" && grep -aq "approved request 1 (tty" "$3"' "$rc" "$want" "$VS_TMP/out" "$VS_TMP/pty.owner"
kill "$(cat "$VS_TMP/vaultd.pid")" 2>/dev/null
for _ in $(seq 1 50); do [ -e "$VAULT_SOCKET" ] || break; sleep 0.1; done

# vaultd with no terminal
check "vaultd started with no terminal" vs_start_vaultd "$T/policy.conf"
"$X" -- "$T/envhash" STATIC_TOKEN >"$VS_TMP/out" 2>"$VS_TMP/err" & XPID=$!
for _ in $(seq 1 50); do "$V" pending | grep -q "^id 1 " && break; sleep 0.1; done
check "no terminal known: an approval is refused (a key-file vault has no passphrase)" bash -c '
    ! "$0" approve 1 2>"$1" && grep -q "no owner.s terminal is known" "$1"' "$V" "$VS_TMP/err.ap"
wait "$XPID"; rc=$?
check "and the request expires: the tool never ran" bash -c '[ "$0" = 126 ] && [ ! -s "$1" ]' "$rc" "$VS_TMP/out"
# another terminal unlocks (a key-file vault re-reads its key file), then
# tries to approve the next request from there
cat >"$VS_TMP/agent.sh" <<'SH'
"$1" unlock && touch "$2/unlocked"
for _ in $(seq 1 100); do id=$("$1" pending 2>/dev/null | awk '/^id /{print $2; exit}'); [ -n "$id" ] && break; sleep 0.1; done
"$1" approve "$id"
SH
"$PTY" --transcript "$VS_TMP/pty.agent" -- bash "$VS_TMP/agent.sh" "$V" "$VS_TMP" & APID=$!
for _ in $(seq 1 100); do [ -e "$VS_TMP/unlocked" ] && break; sleep 0.1; done
"$X" -- "$T/envhash" STATIC_TOKEN >"$VS_TMP/out" 2>"$VS_TMP/err"; rc=$?
wait "$APID"
check "a vaultctl unlock from another terminal does not make it the owner's" bash -c '
    grep -aq "no owner.s terminal is known" "$0" && [ "$1" = 126 ] && [ ! -s "$2" ]' "$VS_TMP/pty.agent" "$rc" "$VS_TMP/out"
check "no value in the audit log or the daemon's log" absent_in "$api" "$VAULT_HOME" "$VS_TMP/vaultd.log"
vs_end
