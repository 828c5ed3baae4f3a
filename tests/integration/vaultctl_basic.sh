#!/usr/bin/env bash
# The owner's everyday flow with the real vaultctl: key-file and passphrase
# vaults, save, list, rotate, revoke, restore, rm, audit and its filters.
. "$(dirname "$0")/../lib.sh"
vs_begin

gh=$(fake_token ghp); npm=$(fake_token npm); gh2=$(fake_token ghp)
check "init --keyfile creates a 0700 home, 0600 store and 0400 key file" \
    bash -c '"$0" init --keyfile >/dev/null &&
             [ "$(stat -c %a "$VAULT_HOME")" = 700 ] && [ "$(stat -c %a "$VAULT_HOME/store")" = 600 ] &&
             [ "$(stat -c %a "$VAULT_HOME/vault.key")" = 400 ] && [ "$(stat -c %a "$VAULT_HOME/audit.log")" = 600 ]' "$VAULTCTL"
check "save from a pipe" bash -c 'printf "%s\n" "$1" | "$0" save gh_token >/dev/null' "$VAULTCTL" "$gh"
check "save from a file on stdin" bash -c 'printf "%s" "$1" >"$2/v"; "$0" save npm_token <"$2/v" >/dev/null; rm "$2/v"' \
    "$VAULTCTL" "$npm" "$VS_TMP"
check "stored value is exactly the input (trailing newline dropped)" \
    test "$("$PROBE" "$VAULT_HOME" "$VAULT_HOME/vault.key" gh_token)" = "$(sha256 "$gh")"
check "rotate stores a new version" bash -c 'printf "%s" "$1" | "$0" rotate gh_token | grep -q "version 2"' "$VAULTCTL" "$gh2"
check "the current value is the rotated one" \
    test "$("$PROBE" "$VAULT_HOME" "$VAULT_HOME/vault.key" gh_token)" = "$(sha256 "$gh2")"
check "list shows names, versions and status" \
    bash -c '"$0" list | grep -qE "^gh_token +2 .* active$" && "$0" list | grep -qE "^npm_token +1 "' "$VAULTCTL"
check "revoke with a reason" bash -c '"$0" revoke npm_token --reason "seen in a CI log" >/dev/null &&
    "$0" list | grep -qE "^npm_token .* revoked$"' "$VAULTCTL"
check "list --json is valid JSON with versions and revocation" bash -c '"$0" list --json | python3 -c "
import json,sys; d={s[\"name\"]:s for s in json.load(sys.stdin)}
assert d[\"gh_token\"][\"versions\"]==[1,2] and d[\"gh_token\"][\"revoked\"] is False
assert d[\"npm_token\"][\"revoked\"] is True and d[\"npm_token\"][\"revoked_reason\"]==\"seen in a CI log\"
assert d[\"gh_token\"][\"rotation_days\"]==90 and d[\"gh_token\"][\"overdue\"] is False"' "$VAULTCTL"
check "restore lifts the revocation" bash -c '"$0" restore npm_token >/dev/null && "$0" list | grep -qE "^npm_token .* active$"' "$VAULTCTL"
check "rm deletes the secret" bash -c '"$0" rm npm_token >/dev/null && ! "$0" list | grep -q npm_token &&
    [ "$("$1" "$VAULT_HOME" "$VAULT_HOME/vault.key" npm_token)" = absent ]' "$VAULTCTL" "$PROBE"
check "audit shows every admin event in order" bash -c '
    [ "$("$0" audit --json | python3 -c "import json,sys; print(\" \".join(json.loads(l)[\"event\"] for l in sys.stdin))")" = \
      "init save save rotate revoke restore rm" ]' "$VAULTCTL"
check "audit lines carry actor, names and versions" bash -c '"$0" audit --json | python3 -c "
import json,sys
lines=[json.loads(l) for l in sys.stdin]
rot=[l for l in lines if l[\"event\"]==\"rotate\"][0]
assert rot[\"secret\"]==\"gh_token\" and rot[\"version\"]==2 and rot[\"decision\"]==\"ok\"
assert rot[\"uid\"]>=0 and rot[\"pid\"]>0 and rot[\"exe\"].endswith(\"/vaultctl\")
assert all(len(l[\"mac\"])==64 and len(l[\"prev\"])==64 for l in lines)
assert [l[\"seq\"] for l in lines]==list(range(1,len(lines)+1))"' "$VAULTCTL"
check "audit --secret filters" bash -c '[ "$("$0" audit --json --secret gh_token | wc -l)" = 2 ]' "$VAULTCTL"
check "audit --since in the future shows nothing, --since 1h shows all" bash -c '
    [ "$("$0" audit --json --since 2099-01-01 | wc -l)" = 0 ] && [ "$("$0" audit --json --since 1h | wc -l)" = 7 ]' "$VAULTCTL"
check "audit --verify passes" bash -c '"$0" audit --verify | grep -q "7 lines verified, chain intact"' "$VAULTCTL"
check "help for every command exits 0" bash -c 'for c in init save rotate revoke restore rm list audit; do
    "$0" $c --help | grep -q "^usage: vaultctl $c" || exit 1; done; "$0" --help | grep -q "^usage:"' "$VAULTCTL"
check "options before the command work too" bash -c '"$0" --home "$VAULT_HOME" list >/dev/null' "$VAULTCTL"

# A passphrase vault (interactive Argon2id limits keep the test quick).
export VAULT_HOME="$VS_TMP/pass"
pass="correct horse battery"
check "init with --passphrase-fd" bash -c '"$0" init --kdf interactive --passphrase-fd 3 3<<<"$1" >/dev/null' "$VAULTCTL" "$pass"
check "save and list with the passphrase" bash -c 'printf x1 | "$0" save k --passphrase-fd 3 3<<<"$1" >/dev/null &&
    "$0" list --passphrase-fd 3 3<<<"$1" | grep -q "^k "' "$VAULTCTL" "$pass"
check "no key file is made for a passphrase vault" test ! -e "$VAULT_HOME/vault.key"
check "the store records Argon2id parameters, not the passphrase" absent_in "$pass" "$VAULT_HOME"
vs_end
