#!/usr/bin/env bash
# A full disk (a small tmpfs) during save and rotate: one clear error line,
# the old store and audit log intact byte for byte, and the vault usable
# again once there is room. Needs root for the mount (CI runs as root).
. "$(dirname "$0")/../lib.sh"
vs_begin
V=$VAULTCTL
mnt="$VS_TMP/small"
mkdir -p "$mnt"
if ! mount -t tmpfs -o size=512k,mode=700 tmpfs "$mnt" 2>"$VS_TMP/mount.err"; then
    not_ok "mount a small tmpfs (needs root): $(cat "$VS_TMP/mount.err")"
    vs_end; exit 1
fi
VS_CLEANUP_EXTRA="${VS_CLEANUP_EXTRA:+$VS_CLEANUP_EXTRA; }umount '$mnt' 2>/dev/null"
export VAULT_HOME="$mnt/home"
"$V" init --keyfile >/dev/null
first=$(fake_token a)
printf '%s' "$first" | "$V" save first >/dev/null
snapshot() { sha256sum "$VAULT_HOME/store" "$VAULT_HOME/audit.log"; }
before=$(snapshot)

# Fill the file system with 4 KiB files, then free two pages for the case
# where the audit line fits but a large store does not.
mkdir "$mnt/fill"
n=0
while dd if=/dev/zero of="$mnt/fill/$n" bs=4k count=1 status=none 2>/dev/null; do n=$((n + 1)); done
check "the file system is full" bash -c '! dd if=/dev/zero of="$0/probe" bs=4k count=1 status=none 2>/dev/null' "$mnt"
rm -f "$mnt/probe"

run bash -c 'printf x | "$0" save probe' "$V"; diag "message: $(cat "$VS_TMP/err")"
check "save on a full disk fails with one line naming the cause" \
    err_is 1 "^vaultctl: save: .*[Nn]o space left on device" bash -c 'printf "%s" "$1" | "$0" save second' "$V" "$(fake_token b)"
check "rotate on a full disk fails the same way" \
    err_is 1 "^vaultctl: rotate: .*[Nn]o space left on device" bash -c 'printf x | "$0" rotate first' "$V"
check "store and audit log are unchanged" test "$(snapshot)" = "$before"

rm -f "$mnt/fill/0" "$mnt/fill/1"
big=$(head -c 12000 /dev/urandom | base64 -w0 | head -c 16000)
check "a store too large for the room left fails cleanly" \
    err_is 1 "^vaultctl: save: .*[Nn]o space left on device" bash -c 'printf "%s" "$1" | "$0" save big' "$V" "$big"
check "store and audit log are still unchanged" test "$(snapshot)" = "$before"
check "no temp file is left behind" bash -c '! ls -A "$VAULT_HOME" | grep -q tmp'
check "the vault still opens and verifies" bash -c '"$0" list >/dev/null && "$0" audit --verify >/dev/null' "$V"
check "the first value is intact" test "$("$PROBE" "$VAULT_HOME" "$VAULT_HOME/vault.key" first)" = "$(sha256 "$first")"

rm -rf "$mnt/fill"
second=$(fake_token b)
check "with room again, save works" bash -c 'printf "%s" "$1" | "$0" save second >/dev/null' "$V" "$second"
check "and stores the right value" test "$("$PROBE" "$VAULT_HOME" "$VAULT_HOME/vault.key" second)" = "$(sha256 "$second")"
check "the audit chain verifies" bash -c '"$0" audit --verify >/dev/null' "$V"
vs_end
