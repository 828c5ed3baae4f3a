#!/usr/bin/env bash
# Invariant 1 for the owner's side: no secret value (raw, base64, hex or
# reversed) in any file under VAULT_HOME, on any vaultctl output, or in
# argv; vaultctl holding a passphrase cannot be read by same-uid processes.
. "$(dirname "$0")/../lib.sh"
vs_begin
V=$VAULTCTL
out="$VS_TMP/outputs"; mkdir "$out"
"$V" init --keyfile >"$out/init" 2>&1
values=()
for i in 1 2 3 4 5; do
    v=$(fake_token "k$i"); values+=("$v")
    printf '%s' "$v" | "$V" save "secret$i" >>"$out/save" 2>&1
done
for i in 1 2; do
    v=$(fake_token "r$i"); values+=("$v")
    printf '%s\n' "$v" | "$V" rotate "secret$i" >>"$out/rotate" 2>&1
done
"$V" revoke secret3 --reason "drill" >"$out/revoke" 2>&1
"$V" restore secret3 >"$out/restore" 2>&1
"$V" rm secret5 >"$out/rm" 2>&1
"$V" list >"$out/list" 2>&1
"$V" list --json >"$out/list.json" 2>&1
"$V" audit >"$out/audit" 2>&1
"$V" audit --json >"$out/audit.json" 2>&1
"$V" audit --verify >"$out/verify" 2>&1
printf '%s' "${values[0]}" | "$V" save secret1 >"$out/dup" 2>&1
for i in "${!values[@]}"; do
    check "value $((i + 1)) is in no file under VAULT_HOME" absent_in "${values[$i]}" "$VAULT_HOME"
    check "value $((i + 1)) is on no vaultctl output" absent_in "${values[$i]}" "$out"
done
check "the outputs are not empty (the sweep read something)" test "$(cat "$out"/* | wc -c)" -gt 1000

tok=$(fake_token argv)
check "a value given in argv is refused as a usage error" err_is 2 "^usage: vaultctl save NAME$" "$V" save from_argv "$tok"
check "and nothing was saved" test "$("$PROBE" "$VAULT_HOME" "$VAULT_HOME/vault.key" from_argv)" = absent

# vaultctl as an ordinary user, blocked reading its passphrase: its /proc
# files must belong to root (non-dumpable), so the agent's processes of the
# same uid can neither ptrace it nor read its memory or environment.
user=nobody
pdir="$VS_TMP/pass-vault"; mkdir -m 700 "$pdir"; chown "$user" "$pdir" "$VS_TMP"
mkfifo "$VS_TMP/fifo"; chown "$user" "$VS_TMP/fifo"
setpriv --reuid="$user" --regid="$(id -g "$user")" --clear-groups env VAULT_HOME="$pdir/h" \
    "$V" init --kdf interactive --passphrase-fd 3 3<"$VS_TMP/fifo" >/dev/null 2>&1 &
pid=$!
exec 4>"$VS_TMP/fifo"
# under memcheck (make valgrind) vaultctl takes seconds to reach that read
settle=0.3
[ -n "${VS_VALGRIND:-}" ] && settle=8
sleep "$settle"
owner=$(stat -c %U "/proc/$pid/environ" 2>/dev/null)
runs_as=$(stat -c %U "/proc/$pid" 2>/dev/null)
printf 'nobody pass phrase\n' >&4; exec 4>&-
wait "$pid"; init_rc=$?
check "vaultctl waiting for a passphrase is non-dumpable (/proc/PID owned by root, process runs as $user)" \
    test "$owner" = root
check "the unprivileged init then succeeds" test "$init_rc" -eq 0
check "the probe itself is sound: a plain process of $user owns its /proc files" \
    bash -c 'setpriv --reuid="$0" --regid="$(id -g "$0")" --clear-groups sleep 1 & p=$!; sleep 0.2;
             [ "$(stat -c %U /proc/$p/environ)" = "$0" ]; r=$?; wait $p; exit $r' "$user"
diag "runs as: ${runs_as:-?}"
vs_end
