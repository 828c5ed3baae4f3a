#!/usr/bin/env bash
# The owner at their terminal (run on a pty by pty_run.py): unlocks the
# vault (the passphrase typed at the prompt), waits for a held request,
# saves `vaultctl pending`, then answers it.
#   owner.sh VAULTCTL OUT ACTION [OPTIONS...]
#   ACTION: approve (OPTIONS go to vaultctl approve), deny, same-tty
#   (a vault-exec started on this very terminal, then approved here),
#   nested (vaultctl approve run by a child process of the shell, as an
#   agent started from this shell would run it), unlock-only.
V=$1 out=$2 action=$3; shift 3
"$V" unlock || exit 3
echo UNLOCKED
if [ "$action" = same-tty ]; then
    "$OWNER_TARGET_X" -- "$OWNER_TARGET" STATIC_TOKEN >"$out.same-tty" 2>&1 &
fi
[ "$action" = unlock-only ] && exit 0
id=
for _ in $(seq 1 100); do
    id=$("$V" pending | awk '/^id /{print $2; exit}')
    [ -n "$id" ] && break
    sleep 0.1
done
[ -n "$id" ] || { echo NO-REQUEST; exit 4; }
"$V" pending >"$out.pending"
case $action in
approve|same-tty) "$V" approve "$id" "$@" ;;
deny) "$V" deny "$id" ;;
nested) bash -c '"$0" approve "$1"; exit $?' "$V" "$id" ;;
esac
echo "ANSWERED $?"
wait
