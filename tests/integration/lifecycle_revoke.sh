#!/usr/bin/env bash
# Revocation, lockdown and drill, through the real shim and curl against a
# local auth server: revoke takes effect on the next run and prints the
# emergency runbook filled in from the audit log; restore brings it back; a
# drill changes no store byte and adds one "drill" audit line; lockdown
# refuses the next run at once, survives a vaultd restart, refuses a lift
# without the human factor (no terminal; a wrong passphrase) and lifts with
# it (a terminal on a key-file vault; the passphrase on a passphrase vault).
. "$(dirname "$0")/../lib.sh"
vs_clean_env "$@"
vs_begin
vs_trusted_dir
chmod 711 "$VS_TMP"
V=$VAULTCTL
T=$VS_TRUSTED
SHIM="$VS_BUILD/libvaultshim.so"
HELPERS="$(cd "$(dirname "$0")/../helpers" && pwd)"
for f in /usr/bin/curl /usr/bin/python3 /usr/bin/setsid "$SHIM"; do
    [ -x "$f" ] || [ -f "$f" ] || { not_ok "missing $f (scripts/install-deps)"; vs_end; exit 1; }
done
api=$(fake_token api)
no_value() { absent_in "$api" "$@"; }

"$V" init --keyfile >/dev/null
printf '%s' "$api" | "$V" save api_token >/dev/null
AH="$T/home"; mkdir -p "$AH"
cat >"$T/policy.conf" <<CONF
tools = ( { name = "curl"; exe = "/usr/bin/curl"; files = [ "netrc" ]; } );
files = ( { name = "netrc"; path = "$AH/.netrc"; template = "machine 127.0.0.1 login agent password {{api_token}}\n"; } );
CONF
chmod 644 "$T/policy.conf"
export VAULT_CONFIG="$T/policy.conf"
check "vaultd starts" vs_start_vaultd "$T/policy.conf"
SRV="$VS_TMP/srv"; mkdir -p "$SRV"
printf '%s\n' "$api" >"$SRV/token"
/usr/bin/python3 "$HELPERS/auth_server.py" "$SRV/token" 300 >"$SRV/port" 2>/dev/null &
VS_CLEANUP_EXTRA="$VS_CLEANUP_EXTRA; kill $! 2>/dev/null"
for _ in $(seq 1 100); do [ -s "$SRV/port" ] && break; sleep 0.05; done
P=$(head -1 "$SRV/port")
# fetch: one curl run in the agent's tree; its stdout+stderr in $VS_TMP/c.out
fetch() {
    (cd "$AH" && env -i PATH=/usr/bin:/bin HOME="$AH" VAULT_SOCKET="$VAULT_SOCKET" LD_PRELOAD="$SHIM" \
        VAULT_AGENT=claude curl --netrc -fsS "http://127.0.0.1:$P/") </dev/null >"$VS_TMP/c.out" 2>&1
}
works() { fetch && grep -qx welcome "$VS_TMP/c.out"; }
refused_with() { ! fetch && grep -qE -- "$1" "$VS_TMP/c.out" || { diag "curl said: $(head -c 300 "$VS_TMP/c.out")"; return 1; }; }

check "curl works before anything" works
check "curl works a second time" works

# --- revoke: next request refused; the runbook names the last uses
run "$V" revoke api_token --reason "leaked in a log"; rc=$?
check "revoke exits 0" test "$rc" -eq 0
check "revoke prints the runbook for api_token" grep -q '^=== EMERGENCY RUNBOOK: api_token ===' "$VS_TMP/out"
check "the runbook lists the last uses: agent claude, tool curl" grep -qE '^  20[0-9-]+T[0-9:.]+Z  v1  agent claude  tool curl' "$VS_TMP/out"
check "the runbook says: revoke at the provider, rotate here" \
    bash -c 'grep -q "Revoke it at the provider" "$0" && grep -q "vaultctl rotate api_token" "$0"' "$VS_TMP/out"
since=$(grep -oE 'vaultctl audit --secret api_token --since [0-9TZ:.-]+' "$VS_TMP/out" | awk '{print $NF}')
check "the runbook fills in the review's since-time (the value's save time)" \
    bash -c '[ -n "$0" ] && grep -q "\"time\":\"$0\",\"event\":\"save\"" "$1"' "$since" "$VAULT_HOME/audit.log"
check "the review command it prints runs and shows the grants of api_token" \
    bash -c '"$0" audit --secret api_token --since "$1" | grep -c "grant" | grep -qx 2' "$V" "$since"
check "the runbook asks to report if customer data may have been reached" grep -q 'customer data' "$VS_TMP/out"
check "revoke: the next curl run is refused, with the reason" refused_with 'no grant: .*secret api_token is revoked: leaked in a log'
check "restore api_token" bash -c '"$0" restore api_token >/dev/null' "$V"
check "curl works after restore" works

# --- drill: nothing changes but one audit line
store_before=$(sha256sum <"$VAULT_HOME/store")
lines_before=$(wc -l <"$VAULT_HOME/audit.log")
run "$V" drill api_token; rc=$?
check "drill exits 0" test "$rc" -eq 0
check "drill says it is a dry run and walks the runbook" \
    bash -c 'grep -q "^DRILL for api_token" "$0" && grep -q "EMERGENCY RUNBOOK: api_token (DRILL" "$0" && grep -q "vaultctl audit --secret api_token --since 20" "$0"' "$VS_TMP/out"
check "the drill's step 1 is not done, only named" grep -q '1. (a drill: not done) Stop its use here: vaultctl revoke api_token' "$VS_TMP/out"
check "drill: the store is byte for byte unchanged" test "$(sha256sum <"$VAULT_HOME/store")" = "$store_before"
check "drill: exactly one audit line more, a drill line" \
    bash -c '[ "$(wc -l <"$0")" -eq $(($1 + 1)) ] && tail -1 "$0" | grep -q "\"event\":\"drill\",\"decision\":\"ok\".*\"secret\":\"api_token\""' \
    "$VAULT_HOME/audit.log" "$lines_before"
check "curl still works after the drill" works
check "drill of an unknown secret is one clear line" err_is 1 'drill: nope: no such secret' "$V" drill nope

# --- lockdown mid-session
run "$V" lockdown; rc=$?
check "lockdown exits 0 and prints the runbook of every secret in use" \
    bash -c '[ "$0" -eq 0 ] && grep -q "refused until" "$1" && grep -q "EMERGENCY RUNBOOK: api_token" "$1"' "$rc" "$VS_TMP/out"
check "the lockdown runbook says step 1 is done for every secret, and how to keep this one stopped" \
    grep -q '1. Done: lockdown; .* vaultctl revoke api_token' "$VS_TMP/out"
check "lockdown: the next curl run is refused with a clear line" refused_with 'no grant: LOCKDOWN: every grant is refused'
check "lockdown is in the audit log" grep -q '"event":"lockdown","decision":"ok".*"reason":"every grant refused"' "$VAULT_HOME/audit.log"
check "lockdown is kept in VAULT_HOME" test -f "$VAULT_HOME/lockdown"
check "status shows the lockdown" bash -c '"$0" status | grep -q "^LOCKDOWN: every grant is refused"' "$V"
kill "$VAULTD_PID"; wait "$VAULTD_PID" 2>/dev/null
check "vaultd restarts" vs_start_vaultd "$T/policy.conf"
check "lockdown survives the restart: curl still refused" refused_with 'LOCKDOWN'
check "vaultd's log says the lockdown is on at start" grep -q 'LOCKDOWN is on' "$VS_TMP/vaultd.log"
check "lift without a terminal (setsid, stdin /dev/null) is refused by vaultctl" \
    err_is 1 'lockdown: this needs the owner at a terminal' setsid -w "$V" lockdown --lift
# The same request straight to vaultd (no vaultctl prompt): vaultd's own check.
cat >"$T/lift.py" <<'PY'
import socket, struct, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET); s.connect(sys.argv[1])
field = struct.pack("<HI", 21, 4) + struct.pack("<I", 1)
s.send(struct.pack("<BBHI", 1, 0x10, 0, 1) + field)
r = s.recv(65536); print("ok" if r[1] == 0x80 else "refused: " + r[8 + 6 + 4 + 6:].decode(errors="replace"))
PY
check "vaultd itself refuses a LOCKDOWN lift from a process with no terminal" \
    bash -c 'setsid -w /usr/bin/python3 "$0" "$1" </dev/null | grep -q "^refused: .*needs the owner at a terminal"' "$T/lift.py" "$VAULT_SOCKET"
check "still refused after the failed lifts" refused_with 'LOCKDOWN'
check "failed lifts are in the audit log" grep -q '"event":"lockdown","decision":"denied"' "$VAULT_HOME/audit.log"
printf 'lift\n' >"$VS_TMP/answer"
check "lift at a terminal, typing lift, succeeds" /usr/bin/python3 "$HELPERS/pty_run.py" --transcript "$VS_TMP/pty.out" \
    --expect 'Type lift to confirm' "$VS_TMP/answer" -- "$V" lockdown --lift --socket "$VAULT_SOCKET"
check "the lift says grants resume" grep -q 'lockdown lifted' "$VS_TMP/pty.out"
check "curl works after the lift" works
check "the lockdown file is gone" test ! -e "$VAULT_HOME/lockdown"
kill "$VAULTD_PID"; wait "$VAULTD_PID" 2>/dev/null
run "$V" lockdown; rc=$?
check "lockdown while vaultd is down records it in VAULT_HOME" \
    bash -c '[ "$0" -eq 0 ] && grep -q "vaultd is not running: lockdown recorded" "$1" && test -f "$2/lockdown"' "$rc" "$VS_TMP/out" "$VAULT_HOME"
check "vaultd starts" vs_start_vaultd "$T/policy.conf"
check "and starts in lockdown: curl refused" refused_with 'LOCKDOWN'
check "lift at a terminal again" /usr/bin/python3 "$HELPERS/pty_run.py" --transcript "$VS_TMP/pty2.out" \
    --expect 'Type lift to confirm' "$VS_TMP/answer" -- "$V" lockdown --lift --socket "$VAULT_SOCKET"
check "curl works again" works

# --- a passphrase vault: the passphrase is the human factor
kill "$VAULTD_PID"; wait "$VAULTD_PID" 2>/dev/null
export VAULT_HOME="$VS_TMP/home2"
printf 'correct horse battery\n' >"$VS_TMP/pass"; printf 'wrong horse\n' >"$VS_TMP/wrong"
check "a passphrase vault" bash -c '"$0" init --kdf interactive --passphrase-fd 3 3<"$1" >/dev/null' "$V" "$VS_TMP/pass"
check "vaultd starts on it" vs_start_vaultd "$T/policy.conf" --home "$VAULT_HOME"
check "unlock" bash -c '"$0" unlock --passphrase-fd 3 3<"$1" >/dev/null' "$V" "$VS_TMP/pass"
check "lockdown" bash -c '"$0" lockdown >/dev/null' "$V"
check "lift with a wrong passphrase is refused" \
    bash -c '! "$0" lockdown --lift --passphrase-fd 3 3<"$1" 2>"$2" && test -f "$3/lockdown"' "$V" "$VS_TMP/wrong" "$VS_TMP/e2" "$VAULT_HOME"
check "lift with no passphrase at all is refused by vaultd" \
    bash -c 'setsid -w /usr/bin/python3 "$0" "$1" </dev/null | grep -q "^refused: .*needs the vault passphrase"' "$T/lift.py" "$VAULT_SOCKET"
check "lift with the passphrase succeeds" bash -c '"$0" lockdown --lift --passphrase-fd 3 3<"$1" | grep -q "lockdown lifted" && test ! -e "$2/lockdown"' \
    "$V" "$VS_TMP/pass" "$VAULT_HOME"
check "no value in any output, log or audit line" \
    no_value "$VS_TMP/out" "$VS_TMP/err" "$VS_TMP/c.out" "$VS_TMP/pty.out" "$VS_TMP/vaultd.log" "$VS_TMP/home/audit.log"
check "the audit chain verifies" bash -c 'VAULT_HOME="$1/home" "$0" audit --verify >/dev/null' "$V" "$VS_TMP"
kill "$VAULTD_PID" 2>/dev/null; wait "$VAULTD_PID" 2>/dev/null
check "vaultd's log has no sanitizer report (ASan build)" bash -c '! grep -qE "Sanitizer|runtime error" "$0"' "$VS_TMP/vaultd.log"
vs_end
