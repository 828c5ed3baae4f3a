#!/usr/bin/env bash
# vaultd's life: refusing to start on unsafe or conflicting set-ups, a
# passphrase vault that starts locked, unlock and reload with the human
# factor, SIGHUP, and failing closed when the audit log cannot be written.
. "$(dirname "$0")/../lib.sh"
vs_clean_env "$@"
vs_begin
vs_trusted_dir
V=$VAULTCTL
T=$VS_TRUSTED
D="$VS_BUILD/vaultd"
cp "$VS_BUILD/tests/helpers/vs-probe-client" "$T/probe"; chmod 755 "$T/probe"
pass="lifecycle pass phrase"
"$V" init --kdf interactive --passphrase-fd 3 3<<<"$pass" >/dev/null
tok=$(fake_token tok)
printf '%s' "$tok" | "$V" save tok --passphrase-fd 3 3<<<"$pass" >/dev/null
printf 'tools = ( { name = "probe"; exe = "%s"; env = [ "tok" ]; } );\n' "$T/probe" >"$T/policy.conf"
chmod 644 "$T/policy.conf"
sock="$VS_TMP/run/vaultd.sock"
mkdir -m 700 "$VS_TMP/run"

# --- refusing to start
check "a missing policy is refused in one line" err_is 1 "^vaultd: .*nope.conf" "$D" --config "$T/nope.conf" --socket "$sock"
printf 'tools = ( { name = "probe"; exe = "%s"; env = [ "not_in_vault" ]; } );\n' "$T/probe" >"$T/bad.conf"
printf 'tools = ( { name = "probe" exe = 1; } );\n' >"$T/syntax.conf"
check "a policy with a syntax error is refused with file:line" err_is 1 "^vaultd: .*syntax.conf:1: " \
    "$D" --config "$T/syntax.conf" --socket "$sock"
chmod 666 "$T/policy.conf"
check "a policy writable by others is refused" err_is 1 "^vaultd: .*policy.conf.*(mode|writable)" \
    "$D" --config "$T/policy.conf" --socket "$sock"
chmod 644 "$T/policy.conf"
mkdir -m 755 "$VS_TMP/open"
check "a socket folder open to others is refused" err_is 1 "^vaultd: socket folder .*unsafe owner or mode" \
    "$D" --config "$T/policy.conf" --socket "$VS_TMP/open/vaultd.sock"
check "no vault is refused" err_is 1 "^vaultd: .*no vault here" env VAULT_HOME="$VS_TMP/none" "$D" --config "$T/policy.conf" --socket "$sock"
check "an unknown option is a one-line error" err_is 1 "^vaultd: unknown option --frob" "$D" --frob

# --- a passphrase vault starts locked
check "vaultd starts" vs_start_vaultd "$T/policy.conf"
check "the socket is 0600 in a 0700 folder by default" bash -c '[ "$(stat -c %a "$VAULT_SOCKET")" = 600 ] &&
    [ "$(stat -c %a "$(dirname "$VAULT_SOCKET")")" = 700 ]'
check "a second vaultd on the same socket is refused" err_is 1 "^vaultd: another vaultd answers at " \
    "$D" --config "$T/policy.conf" --socket "$VAULT_SOCKET"
check "status says locked" bash -c '"$0" status | grep -q "^state: locked"' "$V"
check "a tool gets nothing while locked" bash -c '! "$0" ok >/dev/null 2>"$1" && grep -q "locked" "$1"' "$T/probe" "$VS_TMP/err"
check "unlock with a wrong passphrase is refused" bash -c '! "$0" unlock --passphrase-fd 3 3<<<"wrong pass phrase" 2>"$1" &&
    grep -q "cannot unlock" "$1"' "$V" "$VS_TMP/err"
check "unlock with the passphrase" bash -c '"$0" unlock --passphrase-fd 3 3<<<"$1" | grep -q unlocked' "$V" "$pass"
check "the tool is granted now" bash -c '"$0" ok | grep -qx "grant tok 1 $1"' "$T/probe" "$(sha256 "$tok")"
check "reload without the passphrase is refused (human factor)" bash -c '! "$0" reload --passphrase-fd 3 3</dev/null 2>/dev/null' "$V"
check "reload with the passphrase is accepted" bash -c '"$0" reload --passphrase-fd 3 3<<<"$1" | grep -q reloaded' "$V" "$pass"
printf 'tools = ( { name = "probe"; exe = "%s"; env = [ "tok" ]; allow_args = [ "never" ]; } );\n' "$T/probe" >"$T/policy.conf"
kill -HUP "$VAULTD_PID"; sleep 0.3
check "SIGHUP does not reload a passphrase vault's policy" bash -c '"$0" ok >/dev/null' "$T/probe"
check "and says so in its log" grep -q "SIGHUP: policy not reloaded" "$VS_TMP/vaultd.log"
check "lock stops every grant" bash -c '"$0" lock >/dev/null && ! "$1" ok >/dev/null 2>&1' "$V" "$T/probe"
kill -TERM "$VAULTD_PID"; wait "$VAULTD_PID" 2>/dev/null

# --- a key-file vault: unlocked at start, SIGHUP reloads, audit failure closes
export VAULT_HOME="$VS_TMP/kf"
"$V" init --keyfile >/dev/null
printf '%s' "$tok" | "$V" save tok >/dev/null
printf 'tools = ( { name = "probe"; exe = "%s"; env = [ "tok" ]; } );\n' "$T/probe" >"$T/policy.conf"
check "a key-file policy naming a secret not in the vault is refused with file:line" \
    err_is 1 "^vaultd: .*bad.conf:1: .*unknown secret \"not_in_vault\"" "$D" --config "$T/bad.conf" --socket "$VS_TMP/run/kf.sock"
check "vaultd starts unlocked on a key-file vault" vs_start_vaultd "$T/policy.conf"
check "status says unlocked" bash -c '"$0" status | grep -q "^state: unlocked"' "$V"
check "granted" bash -c '"$0" ok | grep -q "^grant tok "' "$T/probe"
printf 'tools = ( { name = "probe"; exe = "%s"; env = [ "tok" ]; allow_args = [ "never" ]; } );\n' "$T/probe" >"$T/policy.conf"
kill -HUP "$VAULTD_PID"; sleep 0.3
check "SIGHUP reloads a key-file vault's policy" bash -c '! "$0" ok >/dev/null 2>&1 && "$0" never >/dev/null' "$T/probe"
size=$(stat -c %s "$VAULT_HOME/audit.log")
prlimit --pid "$VAULTD_PID" --fsize="$size:unlimited"   # the soft limit only: it can be raised again
check "with the audit log unwritable, the grant is refused" bash -c '! "$0" never >"$1" 2>"$2" && ! grep -q ^grant "$1" &&
    grep -q "audit" "$2"' "$T/probe" "$VS_TMP/out" "$VS_TMP/err"
check "and vaultd says why" grep -q "audit log cannot be written" "$VS_TMP/vaultd.log"
check "the log holds no partial line" bash -c '[ "$(tail -c 1 "$VAULT_HOME/audit.log" | od -An -c | tr -d " ")" = "\n" ]'
prlimit --pid "$VAULTD_PID" --fsize=unlimited
check "once writable again, grants resume" bash -c '"$0" never | grep -q "^grant tok "' "$T/probe"
check "vaultd is non-dumpable (its /proc files belong to root, its core limit is 0)" \
    bash -c 'grep -q "^Max core file size *0 *0" /proc/$0/limits' "$VAULTD_PID"
check "the audit chain verifies" bash -c '"$0" audit --verify >/dev/null' "$V"
check "SIGTERM stops it cleanly" bash -c 'kill -TERM "$0"; for _ in $(seq 1 100); do kill -0 "$0" 2>/dev/null || exit 0; sleep 0.05; done; exit 1' "$VAULTD_PID"
check "vaultd's log has no sanitizer report (ASan build)" bash -c '! grep -qE "Sanitizer|runtime error" "$0"' "$VS_TMP/vaultd.log"
check "no value in any log" bash -c '. "$0"; absent_in "$1" "$VAULT_HOME" "$2"' "$(dirname "$0")/../lib.sh" "$tok" "$VS_TMP/vaultd.log"
vs_end
