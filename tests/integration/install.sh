#!/usr/bin/env bash
# make install into a DESTDIR: the tree holds the programs, launchers, shim,
# man pages, the systemd user unit (ExecStart at PREFIX), the example policy
# and Containerfile, with sane modes; the installed vaultd finds the
# installed shim (a tool run through the installed vault-run, with the
# installed shim in LD_PRELOAD, is granted) and the installed man pages open.
. "$(dirname "$0")/../lib.sh"
vs_clean_env "$@"
BUILT=$VS_BUILD # make's own build folder (vs_begin may switch VS_BUILD to a trusted copy)
vs_begin
# An ASan-built probe aborts when the shim is preloaded ahead of the ASan
# runtime; the check is the sanitizer's, not ours.
export ASAN_OPTIONS=verify_asan_link_order=0
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
# The DESTDIR must be a trusted path for vaultd (root-owned, not under /tmp).
D=$(mktemp -d /run/vs-install.XXXXXX) && chmod 755 "$D"
VS_CLEANUP_EXTRA="${VS_CLEANUP_EXTRA:+$VS_CLEANUP_EXTRA; }rm -rf '$D'"
P=/opt/vaultshim
check "make install DESTDIR=... PREFIX=$P" bash -c 'make -s -C "$0" BUILD="$1" DESTDIR="$2" PREFIX="$3" install >"$4" 2>&1' \
    "$ROOT" "$BUILT" "$D" "$P" "$VS_TMP/install.log" || diag "$(tail -5 "$VS_TMP/install.log")"
I="$D$P"
# make valgrind: the installed vaultctl is the shadow build folder's wrapper,
# which runs vaultctl.real beside it under memcheck; put that copy of the
# real vaultctl beside the installed one too.
[ -n "${VS_VALGRIND:-}" ] && cp -p "$BUILT/vaultctl.real" "$I/bin/"
for f in bin/vaultd bin/vaultctl bin/vault-run bin/vault-entrypoint; do
    check "installed $f (0755)" bash -c '[ -x "$0" ] && [ "$(stat -c %a "$0")" = 755 ]' "$I/$f"
done
if [ -f "$ROOT/vaultd/exec/main.c" ]; then
    check "installed bin/vault-exec (0755)" bash -c '[ "$(stat -c %a "$0")" = 755 ]' "$I/bin/vault-exec"
fi
check "installed lib/vaultshim/libvaultshim.so (0644)" bash -c '[ "$(stat -c %a "$0")" = 644 ]' "$I/lib/vaultshim/libvaultshim.so"
for m in man1/vaultctl.1 man1/vault-run.1 man5/vaultshim.conf.5 man8/vaultd.8 man8/vault-entrypoint.8; do
    check "installed share/man/$m, opens with man -l" bash -c 'LC_ALL=C.UTF-8 man -l "$0" 2>/dev/null | grep -q "^NAME"' "$I/share/man/$m"
done
check "installed share/vaultshim/vaultshim.conf and Containerfile.example" \
    test -f "$I/share/vaultshim/vaultshim.conf" -a -f "$I/share/vaultshim/Containerfile.example"
check "the user unit's ExecStart names the installed vaultd" \
    grep -qx "ExecStart=$P/bin/vaultd --socket %t/vaultshim/vaultd.sock" "$I/lib/systemd/user/vaultd.service"
check "nothing installed is writable by group or others" bash -c '! find "$0" -perm /022 ! -type l | grep -q .' "$I"

# The installed programs work together, from their installed places (the
# DESTDIR stands for PREFIX: every path is relative to the programs).
V="$I/bin/vaultctl"
"$V" init --keyfile >/dev/null
tok=$(fake_token gh)
printf '%s' "$tok" | "$V" save gh_token >/dev/null
mkdir -p "$I/test-work" && chmod 755 "$I/test-work"
cp "$VS_BUILD/tests/helpers/vs-probe-client" "$I/test-work/probe" && chmod 755 "$I/test-work/probe"
printf 'protect = [ "*_TOKEN" ];\ntools = ( { name = "probe"; exe = "%s"; env = { GH_TOKEN = "gh_token"; }; } );\n' \
    "$I/test-work/probe" >"$I/test-work/policy.conf"
chmod 644 "$I/test-work/policy.conf"
export VAULT_SOCKET="$VS_TMP/run/vaultd.sock"
mkdir -p -m 700 "$VS_TMP/run"
"$I/bin/vaultd" --config "$I/test-work/policy.conf" --socket "$VAULT_SOCKET" 2>"$VS_TMP/vaultd.log" &
VS_CLEANUP_EXTRA="$VS_CLEANUP_EXTRA; kill $! 2>/dev/null"
for _ in $(seq 1 100); do "$V" ping >/dev/null 2>&1 && break; sleep 0.05; done
check "the installed vaultd starts" bash -c '"$0" ping >/dev/null' "$V"
run env -u VAULTSHIM_LIB -u VAULTCTL "$I/bin/vault-run" --agent install -- bash -c \
    'echo "preload=$LD_PRELOAD"; "$0" ok' "$I/test-work/probe"
check "the installed vault-run preloads the installed shim" grep -qx "preload=$(readlink -f "$I/lib/vaultshim/libvaultshim.so")" "$VS_TMP/out"
check "the installed vaultd accepts the installed shim: the tool is granted" \
    grep -qx "grant GH_TOKEN 1 $(sha256 "$tok")" "$VS_TMP/out"
check "nothing printed the token" absent_in "$tok" "$VS_TMP/out" "$VS_TMP/err" "$VS_TMP/vaultd.log"
vs_end
