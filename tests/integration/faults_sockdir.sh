#!/usr/bin/env bash
# A socket folder with the wrong owner or mode is refused at start, with one
# line naming it, and vaultd leaves no socket behind; the same folder made
# right is accepted. (The mode 0755 case is in vaultd_lifecycle.sh.) The
# owner cases need root to give a folder away (CI runs as root).
. "$(dirname "$0")/../lib.sh"
vs_clean_env "$@"
vs_begin
vs_probe_vault
D="$VS_BUILD/vaultd"
other=$(id -u nobody 2>/dev/null || echo 65534)
refused_at() { # DIR: vaultd refuses DIR/vaultd.sock in one line and creates no socket
    err_is 1 "^vaultd: socket folder $1: unsafe owner or mode" timeout 10 "$D" --config "$T/policy.conf" \
        --socket "$1/vaultd.sock" && [ ! -e "$1/vaultd.sock" ]
}
mk() { mkdir -m "$2" "$VS_TMP/$1" && chmod "$2" "$VS_TMP/$1"; echo "$VS_TMP/$1"; }

d=$(mk owned 700); chown "$other" "$d"
check "a 0700 folder owned by another user (uid $other) is refused" refused_at "$d"
d=$(mk grouped 700); chown "0:$other" "$d"; chmod 770 "$d"
check "a 0770 folder (group may write) is refused" refused_at "$d"
d=$(mk search 701)
check "a 0701 folder (others may search) is refused" refused_at "$d"
d=$(mk sticky 1700)
check "a 1700 folder (extra mode bits) is refused" refused_at "$d"
d=$(mk real 700); ln -s "$d" "$VS_TMP/link"
check "a symlink to a good folder is refused (O_NOFOLLOW)" \
    err_is 1 "^vaultd: socket folder $VS_TMP/link" timeout 10 "$D" --config "$T/policy.conf" --socket "$VS_TMP/link/vaultd.sock"
chown 0:0 "$VS_TMP/owned"; chown "$(id -u)" "$VS_TMP/owned"
check "the first folder given back to us is accepted: vaultd starts and serves" bash -c '
    "$0" --config "$1" --socket "$2/vaultd.sock" 2>/dev/null & pid=$!
    for _ in $(seq 1 100); do "$3" status --socket "$2/vaultd.sock" >/dev/null 2>&1 && break; sleep 0.05; done
    "$3" status --socket "$2/vaultd.sock" >/dev/null 2>&1; rc=$?; kill $pid; wait $pid 2>/dev/null; exit $rc' \
    "$D" "$T/policy.conf" "$VS_TMP/owned" "$V"
vs_end
