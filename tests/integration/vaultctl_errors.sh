#!/usr/bin/env bash
# Every vaultctl error path: the exit code (1 error, 2 usage) and one stderr
# line that names the cause. Nothing is changed by a failed command.
. "$(dirname "$0")/../lib.sh"
vs_begin
V=$VAULTCTL

check "no vault yet" err_is 1 "^vaultctl: list: .*no vault here \(run vaultctl init\)$" "$V" list
check "unknown command" err_is 2 "^vaultctl: unknown command 'frob'" "$V" frob
check "unknown option" err_is 2 "^vaultctl: list: unknown option --frob$" "$V" list --frob
check "option of another command" err_is 2 "^vaultctl: save: --json does not apply here" "$V" save x --json
check "missing argument" err_is 2 "^usage: vaultctl save NAME$" "$V" save
check "extra argument" err_is 2 "^usage: vaultctl rm NAME$" "$V" rm a b
check "bad --kdf" err_is 2 "^vaultctl: init: --kdf takes interactive, moderate or sensitive$" "$V" init --kdf fast
check "relative --home" err_is 2 "^vaultctl: list: --home needs an absolute path$" "$V" list --home rel
check "bad --passphrase-fd" err_is 2 "^vaultctl: list: --passphrase-fd needs a file descriptor number$" "$V" list --passphrase-fd x
check "short passphrase at init" err_is 1 "^vaultctl: init: passphrase shorter than 8 characters$" \
    bash -c '"$0" init --kdf interactive --passphrase-fd 3 3<<<short' "$V"
check "empty passphrase" err_is 1 "^vaultctl: init: empty passphrase$" bash -c '"$0" init --passphrase-fd 3 3</dev/null' "$V"
check "no terminal and no --passphrase-fd" err_is 1 "no terminal to ask on" setsid "$V" init </dev/null
check "a failed init leaves no vault behind" test ! -e "$VAULT_HOME/store"

"$V" init --keyfile >/dev/null
tok=$(fake_token tok)
printf '%s' "$tok" | "$V" save t >/dev/null
snapshot() { sha256sum "$VAULT_HOME/store" "$VAULT_HOME/audit.log"; }
before=$(snapshot)
check "init twice" err_is 1 "^vaultctl: init: key file .* already exists$" "$V" init --keyfile
check "init twice with a passphrase" err_is 1 "^vaultctl: init: a vault already exists in " \
    bash -c '"$0" init --kdf interactive --passphrase-fd 3 3<<<"long enough pass"' "$V"
check "invalid name" err_is 2 "^vaultctl: save: invalid secret name" bash -c 'echo x | "$0" save "a b"' "$V"
check "empty value" err_is 1 "^vaultctl: save: empty value refused$" bash -c 'printf "" | "$0" save e' "$V"
check "a lone newline is an empty value" err_is 1 "^vaultctl: save: empty value refused$" bash -c 'echo | "$0" save e' "$V"
check "value over 16384 bytes" err_is 1 "^vaultctl: save: value over 16384 bytes$" \
    bash -c 'head -c 16385 /dev/zero | tr "\0" a | "$0" save big' "$V"
check "save of an existing name" err_is 1 "^vaultctl: save: t: already exists \(use vaultctl rotate\)$" \
    bash -c 'echo x | "$0" save t' "$V"
check "rotate of a missing name" err_is 1 "^vaultctl: rotate: nope: no such secret$" bash -c 'echo x | "$0" rotate nope' "$V"
check "revoke of a missing name" err_is 1 "^vaultctl: revoke: nope: no such secret$" "$V" revoke nope
check "restore of a secret not revoked" err_is 1 "^vaultctl: restore: t: not revoked$" "$V" restore t
check "rm of a missing name" err_is 1 "^vaultctl: rm: nope: no such secret$" "$V" rm nope
check "a reason with control characters" err_is 2 "^vaultctl: revoke: --reason: at most 256 printable" \
    "$V" revoke t --reason "$(printf 'a\nb')"
check "bad --since" err_is 2 "^vaultctl: audit: yesterday: not a time" "$V" audit --since yesterday
check "bad --secret" err_is 2 "^vaultctl: audit: --secret: invalid secret name$" "$V" audit --secret "a/b"
check "failed commands changed nothing" test "$(snapshot)" = "$before"

check "exactly 16384 bytes is accepted" bash -c 'head -c 16384 /dev/zero | tr "\0" a | "$0" save big >/dev/null' "$V"
before=$(snapshot)
cp "$VAULT_HOME/vault.key" "$VS_TMP/key.saved"
head -c 32 /dev/urandom >"$VS_TMP/other.key"; chmod 400 "$VS_TMP/other.key"
check "wrong key file" err_is 1 "^vaultctl: list: cannot unlock: wrong passphrase or key file" \
    env VAULT_KEYFILE="$VS_TMP/other.key" "$V" list
chmod 444 "$VS_TMP/other.key"
check "key file readable by others" err_is 1 "^vaultctl: list: key file: unsafe mode 0444" \
    env VAULT_KEYFILE="$VS_TMP/other.key" "$V" list
check "missing key file" err_is 1 "^vaultctl: list: key file .*/missing.key is missing$" \
    env VAULT_KEYFILE="$VS_TMP/missing.key" "$V" list
head -c 31 /dev/urandom >"$VS_TMP/short.key"; chmod 400 "$VS_TMP/short.key"
check "short key file" err_is 1 "must hold exactly 32 bytes$" env VAULT_KEYFILE="$VS_TMP/short.key" "$V" list
ln -s "$VAULT_HOME/vault.key" "$VS_TMP/link.key"
check "symlinked key file" err_is 1 "^vaultctl: list: open key file .*link.key" env VAULT_KEYFILE="$VS_TMP/link.key" "$V" list
check "passphrase given to a key-file vault is not asked for" bash -c '"$0" list --passphrase-fd 3 3</dev/null >/dev/null' "$V"
chmod 755 "$VAULT_HOME"
check "home readable by others" err_is 1 "unsafe folder \(owner uid [0-9]+, mode 0755; want uid [0-9]+, mode 0700\)$" "$V" list
chmod 700 "$VAULT_HOME"; chmod 644 "$VAULT_HOME/store"
check "store readable by others" err_is 1 "^vaultctl: list: store: unsafe mode 0644" "$V" list
chmod 600 "$VAULT_HOME/store"
cp "$VAULT_HOME/store" "$VS_TMP/store.good"
printf 'not a store at all' >"$VAULT_HOME/store"
check "not a store" err_is 1 "^vaultctl: list: not a vaultshim store \(bad magic\)$" "$V" list
head -c 100 "$VS_TMP/store.good" >"$VAULT_HOME/store"
check "truncated store" err_is 1 "^vaultctl: list: store truncated \(100 bytes\)$" "$V" list
python3 - "$VS_TMP/store.good" "$VAULT_HOME/store" <<'PY'
import sys; d = bytearray(open(sys.argv[1], 'rb').read()); d[200] ^= 1; open(sys.argv[2], 'wb').write(d)
PY
check "tampered store" err_is 1 "^vaultctl: list: store tampered or damaged: MAC mismatch$" "$V" list
check "tampered store is refused for writes too" err_is 1 "MAC mismatch$" bash -c 'echo x | "$0" save n' "$V"
cp "$VS_TMP/store.good" "$VAULT_HOME/store"
check "the good store opens again" bash -c '"$0" list >/dev/null' "$V"
check "the untouched files are byte for byte the same" test "$(snapshot)" = "$before"
vs_end
