#!/usr/bin/env bash
# libvaultshim.so's file hooks against a real vaultd: a C probe goes through
# every hooked entry point (open, open64, openat, openat64, the fortified
# __open*_2, creat*, fopen*, freopen*, the stat family and its old __xstat
# names, statx, syscall(SYS_statx/SYS_newfstatat/SYS_openat), the access
# family), built in four variants (plain, -D_FILE_OFFSET_BITS=64,
# -D_FORTIFY_SOURCE=2 -O2, both). Not granted: every entry point says ENOENT
# for the managed path, also with a plaintext decoy on disk; granted: every
# read entry point returns the rendered template, the stat family a regular
# 0600 file of the rendered size; writes are EACCES either way. Also reached
# through a relative path, "..", a symlinked folder, a dirfd and a symlink
# named like the managed file, and a managed file of a one-byte name. Each refused case asserts the token is absent.
# VS_SHIM overrides the library under test (default $VS_BUILD/libvaultshim.so).
. "$(dirname "$0")/../lib.sh"
VS_KEEP="VS_SHIM" vs_clean_env "$@"
vs_begin
vs_trusted_dir
chmod 711 "$VS_TMP"
V=$VAULTCTL
T=$VS_TRUSTED
SHIM=${VS_SHIM:-$VS_BUILD/libvaultshim.so}
SRC="$(cd "$(dirname "$0")/../helpers" && pwd)/shim-probe.c"
[ -f "$SHIM" ] || { not_ok "no shim at $SHIM"; vs_end; exit 1; }

# --- the probe in four variants; "granted" copies live in the trusted folder
variants="plain fob64 fortify fob64-fortify"
declare -A vflags=([plain]="-O0" [fob64]="-O0 -D_FILE_OFFSET_BITS=64" [fortify]="-O2 -D_FORTIFY_SOURCE=2"
                   [fob64-fortify]="-O2 -D_FORTIFY_SOURCE=2 -D_FILE_OFFSET_BITS=64")
built=1
for v in $variants; do
    # shellcheck disable=SC2086
    cc -std=c11 -D_GNU_SOURCE -U_FORTIFY_SOURCE ${vflags[$v]} -o "$VS_TMP/probe-$v" "$SRC" || built=0
    cp "$VS_TMP/probe-$v" "$T/probe-$v" && chmod 755 "$T/probe-$v"
done
check "the probe builds in its four variants" [ "$built" = 1 ]
check "the fortified variant calls __open_2 and the 64 variant the *64 names" bash -c '
    nm -D "$0" | grep -q " __open_2" && nm -D "$1" | grep -q " open64" && nm -D "$1" | grep -q " stat64"' \
    "$VS_TMP/probe-fortify" "$VS_TMP/probe-fob64"

# --- vault, policy: probe-* are tools granted the netrc file
"$V" init --keyfile >/dev/null
api=$(fake_token api)
printf '%s' "$api" | "$V" save api_token >/dev/null
mkdir -p "$T/home" "$T/other"
tools=""
for v in $variants; do
    tools="$tools{ name = \"probe-$v\"; exe = \"$T/probe-$v\"; files = [ \"netrc\" ]; },"
done
cat >"$T/policy.conf" <<CONF
tools = ( ${tools%,} );
files = ( { name = "netrc"; path = "$T/home/.netrc";
            template = "machine localhost login agent password {{api_token}}\n"; },
          { name = "one"; path = "$T/home/k"; template = "{{api_token}}\n"; } );
CONF
chmod 644 "$T/policy.conf"
check "vaultd starts with the policy" vs_start_vaultd "$T/policy.conf" --shim "$SHIM"
NETRC="$T/home/.netrc"
rendered=$(printf 'machine localhost login agent password %s\n' "$api")
rsha=$(printf '%s\n' "$rendered" | sha256sum | cut -d' ' -f1)
rsize=$(printf '%s\n' "$rendered" | wc -c | tr -d ' ')

shim() { LD_PRELOAD="$SHIM" VAULT_SOCKET="$VAULT_SOCKET" "$@"; }

READ_ENTRIES="open open-cloexec open64 openat openat-cloexec openat64 __open_2 __open64_2 __openat_2 __openat64_2
 syscall-openat fopen fopen-e fopen64 freopen freopen64 stat lstat fstatat fstatat-nofollow stat64 lstat64 fstatat64
 __xstat __lxstat __fxstatat __xstat64 __lxstat64 __fxstatat64 syscall-newfstatat statx syscall-statx access
 access-F_OK faccessat faccessat-eaccess eaccess euidaccess"
WRITE_ENTRIES="open-wronly open-rdwr open-creat open-trunc open64-wronly openat-wronly openat64-creat __open_2-wronly
 __open64_2-rdwr __openat_2-wronly __openat64_2-wronly creat creat64 syscall-openat-wronly fopen-w fopen-a fopen-r+
 fopen64-w freopen-w freopen64-a"

# every_entry OUT WORD ENTRIES: each entry point has a line "ENTRY WORD..."
every_entry() {
    local out=$1 word=$2 e bad=""
    for e in $3; do grep -qE "^${e//+/\\+} $word( |\$)" "$out" || bad="$bad $e"; done
    [ -z "$bad" ] || { diag "entry points not '$word':$bad: $(grep -E "^(${bad# }) " "$out" | head -5 | tr '\n' '|' | sed "s/${api}/<TOKEN>/g")"; return 1; }
}

# not_granted DESC DIR PATH [--dirfd D]: the untrusted probe copy from DIR
not_granted() {
    local desc=$1 cwd=$2 path=$3; shift 3
    local ok=1
    for v in $variants; do
        local out="$VS_TMP/ng-$v"
        (cd "$cwd" && shim "$VS_TMP/probe-$v" "$@" "$path") >"$out" 2>"$out.err" || ok=0
        every_entry "$out" ENOENT "$READ_ENTRIES" || { diag "variant $v"; ok=0; }
        (cd "$cwd" && shim "$VS_TMP/probe-$v" --write "$@" "$path") >"$out.w" 2>>"$out.err" || ok=0
        every_entry "$out.w" EACCES "$WRITE_ENTRIES" || { diag "variant $v (writes)"; ok=0; }
        every_entry "$out.w" ENOENT access-W_OK || ok=0
        grep -q "vaultctl save" "$out.err" || { diag "no stderr line naming vaultctl save ($v)"; ok=0; }
        absent_in "$api" "$out" "$out.w" "$out.err" || ok=0
    done
    check "$desc" [ "$ok" = 1 ]
}

granted() {
    local desc=$1 cwd=$2 path=$3; shift 3
    local ok=1
    for v in $variants; do
        local out="$VS_TMP/g-$v"
        (cd "$cwd" && shim "$T/probe-$v" "$@" "$path") >"$out" 2>"$out.err" || ok=0
        every_entry "$out" "ok $rsha $rsize 100600" "open open64 openat openat64 __open_2 __open64_2 __openat_2 __openat64_2
            syscall-openat fopen fopen-e fopen64 freopen freopen64" || { diag "variant $v (reads)"; ok=0; }
        every_entry "$out" "ok $rsha $rsize 100600 cloexec" "open-cloexec openat-cloexec" || ok=0
        grep -qx "fopen-e-flags cloexec" "$out" || { diag "fopen \"re\" not cloexec ($v)"; ok=0; }
        every_entry "$out" "ok reg 600 $rsize mine" "stat lstat fstatat fstatat-nofollow stat64 lstat64 fstatat64
            __xstat __lxstat __fxstatat __xstat64 __lxstat64 __fxstatat64 syscall-newfstatat statx syscall-statx" ||
            { diag "variant $v (stat)"; ok=0; }
        every_entry "$out" ok "access access-F_OK faccessat faccessat-eaccess eaccess euidaccess syscall-getpid" || ok=0
        (cd "$cwd" && shim "$T/probe-$v" --write "$@" "$path") >"$out.w" 2>>"$out.err" || ok=0
        every_entry "$out.w" EACCES "$WRITE_ENTRIES access-W_OK" || { diag "variant $v (writes)"; ok=0; }
        absent_in "$api" "$out" "$out.w" "$out.err" || ok=0
    done
    check "$desc" [ "$ok" = 1 ]
}

# --- not granted, no file on disk
not_granted "not granted, nothing on disk: every entry point ENOENT, writes EACCES" / "$NETRC"
# --- a plaintext decoy on disk (the probe's writes must leave it alone)
decoy=$(fake_token decoy)
printf 'machine localhost login agent password %s\n' "$decoy" >"$NETRC"; chmod 600 "$NETRC"
dsum=$(sha256sum "$NETRC")
not_granted "not granted, a plaintext file on disk: still ENOENT everywhere" / "$NETRC"
check "the decoy's token never came out" absent_in "$decoy" "$VS_TMP"/ng-*
check "and the refused writes left the file on disk as it was" bash -c '[ "$(sha256sum "$0")" = "$1" ]' "$NETRC" "$dsum"
check "cat through the shim fails with ENOENT and prints no token" bash -c '
    ! LD_PRELOAD="$0" VAULT_SOCKET="$1" cat "$2" >"$3" 2>&1 && grep -q "No such file" "$3"' \
    "$SHIM" "$VAULT_SOCKET" "$NETRC" "$VS_TMP/cat.out"
check "cat's output holds no token" absent_in "$decoy" "$VS_TMP/cat.out"
check "ls and test -e through the shim do not see it" bash -c '
    LD_PRELOAD="$0" VAULT_SOCKET="$1" bash -c "! test -e \"\$0\" && ! ls \"\$0\" 2>/dev/null" "$2"' \
    "$SHIM" "$VAULT_SOCKET" "$NETRC"
not_granted "not granted, a relative path" "$T/home" ".netrc"
not_granted "not granted, a path with .." "$T/other" "../home/.netrc"
not_granted "not granted, a path with . and //" / "$T/home/.//./.netrc"
ln -s "$T/home" "$T/homelink"
not_granted "not granted, through a symlinked folder" / "$T/homelink/.netrc"
not_granted "not granted, the *at calls on a dirfd" "$T/home" ".netrc" --dirfd "$T/home"
ln -s "$NETRC" "$T/other/.netrc"
not_granted "not granted, a symlink named .netrc to the managed file" "$T/other" ".netrc"
# The hooks' first filter compares a path's last two bytes with those of
# each managed basename; a one-byte name's are "/k", or the path is "k"
not_granted "not granted, a managed file of a one-byte name, relative" "$T/home" "k"
not_granted "not granted, a managed file of a one-byte name, absolute" / "$T/home/k"

# --- unmanaged paths are untouched
printf 'hello\n' >"$T/other/plain.txt"
psha=$(sha256sum "$T/other/plain.txt" | cut -d' ' -f1)
check "an unmanaged path works normally through every entry point" bash -c '
    for v in $3; do LD_PRELOAD="$0" VAULT_SOCKET="$1" "$4/probe-$v" "$2" >"$4/u-$v" || exit 1
      [ "$(grep -c " ok $5 6 " "$4/u-$v")" = 16 ] && [ "$(grep -c " ok reg 644 6 mine" "$4/u-$v")" = 16 ] &&
      [ "$(grep -cE "^[A-Za-z_0-9-]+ ok$" "$4/u-$v")" = 7 ] || exit 1; done' \
    "$SHIM" "$VAULT_SOCKET" "$T/other/plain.txt" "$variants" "$VS_TMP" "$psha"
check "an unmanaged file of the same basename elsewhere works normally" bash -c '
    rm "$2/other/.netrc"; printf "x\n" >"$2/other/.netrc"
    LD_PRELOAD="$0" VAULT_SOCKET="$1" cat "$2/other/.netrc" | grep -qx x' "$SHIM" "$VAULT_SOCKET" "$T"
check "a missing unmanaged path stays ENOENT" bash -c '
    LD_PRELOAD="$0" VAULT_SOCKET="$1" "$2" /nonexistent/x | grep -q "^open ENOENT"' "$SHIM" "$VAULT_SOCKET" "$VS_TMP/probe-plain"

# --- granted: the probe is the tool
granted "granted, a plaintext decoy on disk: every read entry point serves the rendered file" / "$NETRC"
check "the decoy's token never came out of a granted probe" absent_in "$decoy" "$VS_TMP"/g-*
check "the refused writes left the decoy as it was" bash -c '[ "$(sha256sum "$0")" = "$1" ]' "$NETRC" "$dsum"
rm -f "$NETRC"
granted "granted, nothing on disk" / "$NETRC"
granted "granted, a relative path" "$T/home" ".netrc"
granted "granted, a path with .." "$T/other" "../home/.netrc"
granted "granted, through a symlinked folder" / "$T/homelink/.netrc"
granted "granted, the *at calls on a dirfd" "$T/home" ".netrc" --dirfd "$T/home"
rm -f "$T/other/.netrc"; ln -s "$NETRC" "$T/other/.netrc"
granted "granted, a symlink named .netrc to the managed file" "$T/other" ".netrc"

# --- the file comes with the grant: the shim's one request says WITH_FILES
# and vaultd renders in that round (one fsync for the grant and the render).
# A shim sending RENDER_FILE frames of its own lost the race for that round
# about half the time. strace on vaultd counts the frames it reads.
if command -v strace >/dev/null; then
    strace -f -p "$VAULTD_PID" -e trace=accept4,recvmsg -o "$VS_TMP/frames" 2>"$VS_TMP/strace.err" & spid=$!
    for _ in $(seq 1 100); do grep -q attached "$VS_TMP/strace.err" && break; sleep 0.05; done
    runs=0
    for _ in 1 2 3 4 5; do
        shim "$T/probe-plain" "$NETRC" | grep -q "^open ok $rsha " && runs=$((runs + 1))
    done
    sleep 0.2 # the last hang-up read
    kill "$spid"; wait "$spid" 2>/dev/null
    conns=$(grep -cE 'accept4\(.* = [0-9]+$' "$VS_TMP/frames")
    frames=$(grep -cE 'recvmsg\(.* = [1-9][0-9]*$' "$VS_TMP/frames")
    check "a granted tool with a file sends one request for both (vaultd read $frames frames on $conns connections, $runs runs)" \
        test "$runs" -eq 5 -a "$conns" -eq 5 -a "$frames" -eq 5
else
    not_ok "strace is missing (scripts/install-deps)"
fi
check "no token in vaultd's log" absent_in "$api" "$VS_TMP/vaultd.log"
vs_end
