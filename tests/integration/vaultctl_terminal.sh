#!/usr/bin/env bash
# The terminal paths, on a real pseudo-terminal: the passphrase asked twice
# without echo at init, a mismatch refused, the value of save asked without
# echo, and nothing typed ever shown on the screen or written in clear.
. "$(dirname "$0")/../lib.sh"
vs_begin
V=$VAULTCTL
PTY="$(dirname "$0")/../helpers/pty_run.py"
export VAULT_HOME="$VS_TMP/home"
pass="pty pass phrase $(fake_token p)"
value=$(fake_token ghp)
printf '%s\n' "$pass" >"$VS_TMP/pass"; printf '%s\n' "$value" >"$VS_TMP/value"
printf '%s\n' "something else entirely" >"$VS_TMP/other"

check "init asks twice, without echo" "$PTY" --transcript "$VS_TMP/t1" \
    --expect "New vault passphrase: " "$VS_TMP/pass" --expect "Repeat the passphrase: " "$VS_TMP/pass" \
    -- "$V" init --kdf interactive
check "the screen never showed the passphrase" absent_in "$pass" "$VS_TMP/t1"
check "save asks for the value without echo, then the passphrase" "$PTY" --transcript "$VS_TMP/t2" \
    --expect "Value for gh_token \(not shown\): " "$VS_TMP/value" --expect "Vault passphrase: " "$VS_TMP/pass" \
    -- "$V" save gh_token
check "the screen never showed the value or the passphrase" \
    bash -c '. "$0"; absent_in "$1" "$3" && absent_in "$2" "$3"' "$(dirname "$0")/../lib.sh" "$value" "$pass" "$VS_TMP/t2"
check "list on the terminal with the passphrase" bash -c '"$0" --transcript "$3/t3" --expect "Vault passphrase: " "$3/pass" -- "$1" list &&
    grep -q "^gh_token " "$3/t3"' "$PTY" "$V" x "$VS_TMP"
check "a wrong passphrase is refused in one line" bash -c '! "$0" --transcript "$2/t4" --expect "Vault passphrase: " "$2/other" -- "$1" list &&
    grep -q "vaultctl: list: cannot unlock: wrong passphrase" "$2/t4"' "$PTY" "$V" "$VS_TMP"
check "mismatched passphrases at init are refused" bash -c '! VAULT_HOME="$2/h2" "$0" --transcript "$2/t5" \
    --expect "New vault passphrase: " "$2/pass" --expect "Repeat the passphrase: " "$2/other" -- "$1" init --kdf interactive &&
    grep -q "vaultctl: init: the passphrases differ" "$2/t5" && [ ! -e "$2/h2/store" ]' "$PTY" "$V" "$VS_TMP"
rm -f "$VS_TMP"/t*
check "no form of the value or passphrase is left in any file" \
    bash -c '. "$0"; absent_in "$1" "$3" && absent_in "$2" "$3"' "$(dirname "$0")/../lib.sh" "$value" "$pass" "$VAULT_HOME"
vs_end
