#!/usr/bin/env bash
# vault-run's command-line forms: the two common ones (`-- CMD...`,
# `--agent NAME -- CMD...`) go straight to `vaultctl run`, the others through
# the script's own parsing; every form must end the same way it always did
# (arguments exact, the agent and session set or not, the same errors and
# exit statuses), and vaultctl is found without VAULTCTL (beside the script,
# through a symlink, in ../build/).
. "$(dirname "$0")/../lib.sh"
vs_clean_env "$@"
vs_begin
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
RUN=$ROOT/scripts/vault-run
SHIM=$(readlink -f "$VS_BUILD/libvaultshim.so")
export VAULTCTL VAULTSHIM_LIB=$SHIM
vs_trusted_dir
"$VAULTCTL" init --keyfile >/dev/null
printf 'protect = [ "*_TOKEN" ];\ntools = ( );\n' >"$VS_TRUSTED/policy.conf"
chmod 644 "$VS_TRUSTED/policy.conf"
check "vaultd starts" vs_start_vaultd "$VS_TRUSTED/policy.conf"
tok=$(fake_token gh)

# show ARGS...: what the command run by vault-run ARGS sees.
show() {
    env GH_TOKEN="$tok" "$RUN" "$@" /bin/sh -c 'printf "[%s]" "$@"; echo; echo "agent=${VAULT_AGENT-unset}";
        echo "session=${VAULT_SESSION:+set}"; echo "preload=$LD_PRELOAD"; echo "socket=$VAULT_SOCKET";
        echo "gh=${GH_TOKEN-unset}"' sh a "b c" '' "d'e"
}
args='[a][b c][][d'\''e]'
# same OUT AGENT SESSION: the arguments exact, the agent and session as wanted,
# the shim preloaded, the socket set, the protected name gone.
same() {
    local out=$1
    [ "$(sed -n 1p <<<"$out")" = "$args" ] && [ "$(sed -n 2p <<<"$out")" = "agent=$2" ] &&
        [ "$(sed -n 3p <<<"$out")" = "session=$3" ] && [ "$(sed -n 4p <<<"$out")" = "preload=$SHIM" ] &&
        [ "$(sed -n 5p <<<"$out")" = "socket=$VAULT_SOCKET" ] && [ "$(sed -n 6p <<<"$out")" = "gh=unset" ] ||
        { diag "got: $out"; return 1; }
}
check "-- CMD: arguments exact, no agent, shim, socket, protected name gone" same "$(show --)" unset ""
check "--agent NAME -- CMD: the agent and a session" same "$(show --agent claude --)" claude set
check "--agent=NAME -- CMD (parsed form): the same" same "$(show --agent=claude --)" claude set
check "--agent '' -- CMD: no agent, no session" same "$(show --agent '' --)" unset ""
check "--socket PATH -- CMD" same "$(VAULT_SOCKET=/nonexistent show --socket "$VAULT_SOCKET" --)" unset ""
check "--socket=PATH --agent NAME -- CMD" same "$(VAULT_SOCKET=/nonexistent show --socket="$VAULT_SOCKET" --agent x --)" x set
check "CMD without --" same "$(show)" unset ""
check "a bad agent label: exit 1, vault-run's line" err_is 1 '^vault-run: --agent: letters, digits, _ \. - only$' \
    "$RUN" --agent 'a b' -- true
check "--agent NAME with no -- and no CMD: usage, exit 2" err_is 2 '^usage: vault-run ' "$RUN" --agent x
check "-- and no CMD: usage, exit 2" err_is 2 '^usage: vault-run ' "$RUN" --
check "--agent NAME -- and no CMD: usage, exit 2" err_is 2 '^usage: vault-run ' "$RUN" --agent x --
check "-h: usage, exit 2" err_is 2 '^usage: vault-run ' "$RUN" -h
check "VAULTSHIM_LIB missing: exit 1, one line" err_is 1 '^vault-run: VAULTSHIM_LIB=/nonexistent.so: no such file$' \
    env VAULTSHIM_LIB=/nonexistent.so "$RUN" -- true
check "... with --agent too" err_is 1 '^vault-run: VAULTSHIM_LIB=/nonexistent.so: no such file$' \
    env VAULTSHIM_LIB=/nonexistent.so "$RUN" --agent x -- true
check "a missing command: vaultctl's line, exit 127" err_is 127 '^vaultctl: run: no-such-cmd: No such file or directory$' \
    "$RUN" -- no-such-cmd
check "the command's exit status is vault-run's" bash -c '"$0" -- sh -c "exit 7"; [ $? = 7 ]' "$RUN"

# Finding vaultctl without VAULTCTL: beside the script (the installed
# layout), through a symlink to the script, else in ../build/.
mkdir -p "$VS_TRUSTED/bin" "$VS_TRUSTED/elsewhere" "$VS_TRUSTED/tree/scripts" "$VS_TRUSTED/tree/build"
cp "$RUN" "$VAULTCTL" "$VS_TRUSTED/bin/"
ln -s "$VS_TRUSTED/bin/vault-run" "$VS_TRUSTED/elsewhere/vault-run"
cp "$RUN" "$VS_TRUSTED/tree/scripts/"; cp "$VAULTCTL" "$VS_TRUSTED/tree/build/"
found() { env -u VAULTCTL PATH=/usr/bin:/bin "$1" -- /bin/sh -c 'echo "preload=$LD_PRELOAD"' | grep -qx "preload=$SHIM"; }
check "vaultctl beside the script" found "$VS_TRUSTED/bin/vault-run"
check "vaultctl beside the script a symlink points to" found "$VS_TRUSTED/elsewhere/vault-run"
check "vaultctl in ../build/ of a source tree" found "$VS_TRUSTED/tree/scripts/vault-run"
rm "$VS_TRUSTED/bin/vaultctl"
check "no vaultctl anywhere: one line, exit 1" err_is 1 '^vault-run: vaultctl not found$' \
    env -u VAULTCTL PATH=/usr/bin:/bin "$VS_TRUSTED/bin/vault-run" -- true
vs_end
