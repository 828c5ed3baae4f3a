#!/usr/bin/env bash
# vaultctl scan with generated values planted in every form (raw, base64 at
# the 3 alignments and URL-safe, hex in both cases, URL-encoded): each find
# at the right file:line with the right name, never the value; a prefix
# alone is never reported (no oracle); exit codes; staged changes and past
# commits of a real git repository; the pre-commit hook blocking a real
# `git commit` that holds a value and letting a clean one through.
. "$(dirname "$0")/../lib.sh"
vs_clean_env "$@"
vs_begin
V=$VAULTCTL
"$V" init --keyfile >/dev/null
api=$(fake_token api)
odd="$(fake_token odd)/+:=?&% ~x"       # bytes that URL- and base64-encode differently
old=$(fake_token old); new=$(fake_token new)
printf '%s' "$api" | "$V" save api_token >/dev/null
printf '%s' "$odd" | "$V" save odd_secret >/dev/null
printf '%s' "$old" | "$V" save rotated >/dev/null
printf '%s' "$new" | "$V" rotate rotated >/dev/null
printf 'short' | "$V" save tiny >/dev/null

b64() { printf '%s' "$1" | base64 -w0; }
W="$VS_TMP/work"; mkdir -p "$W/deep/er" "$W/.git" "$W/clean"
cd "$W" || exit 1
printf 'one\ntwo\ntoken=%s\n' "$api" >raw.txt
printf 'a\n%s\n' "$(b64 "$api")" >deep/b64-0.txt
printf '\n\n\nx=%s\n' "$(b64 "Z$api")" >deep/b64-1.txt
printf '%s' "$(b64 "ZZ$odd")" >deep/er/b64-2.txt
printf 'u=%s\n' "$(printf '%s' "$odd" | base64 -w0 | tr '+/' '-_')" >deep/er/b64url.txt
printf 'l\n%s\n' "$(printf '%s' "$odd" | od -An -tx1 | tr -d ' \n')" >hex-lower.txt
printf '%s\n' "$(printf '%s' "$api" | od -An -tx1 | tr -d ' \n' | tr a-f A-F)" >hex-upper.txt
printf 'q\nq\nurl=%s\n' "$(python3 -c 'import sys,urllib.parse; print(urllib.parse.quote(sys.argv[1], safe=""))' "$odd")" >url.txt
printf 'old=%s\n' "$old" >old-version.txt
printf 'in git metadata: %s\n' "$api" >.git/config-copy
printf 'prefix=%s\nalmost=%s\nb64prefix=%s\nshort=short\n' "${api:0:20}" "${api%?}" "$(b64 "${api%??????}")" >clean/prefix.txt

run "$V" scan
sort "$VS_TMP/out" >"$VS_TMP/finds"
cat >"$VS_TMP/want" <<EOF
deep/b64-0.txt:2: secret api_token (base64)
deep/b64-1.txt:4: secret api_token (base64)
deep/er/b64-2.txt:1: secret odd_secret (base64)
deep/er/b64url.txt:1: secret odd_secret (base64url)
hex-lower.txt:2: secret odd_secret (hex)
hex-upper.txt:1: secret api_token (hex)
old-version.txt:1: secret rotated (raw)
raw.txt:3: secret api_token (raw)
url.txt:3: secret odd_secret (url-encoded)
EOF
check "every planted form is found at its file:line with its name, and nothing else" \
    bash -c 'diff "$0" "$1" >&2' "$VS_TMP/want" "$VS_TMP/finds"
check "a find exits 1 with a one-line summary on stderr" bash -c '"$0" scan >/dev/null 2>&1; [ $? = 1 ] &&
    grep -q "^vaultctl: scan: 9 finds" "$1"' "$V" "$VS_TMP/err"
check "a value too short to scan is named on stderr, not looked for" grep -q "tiny version 1: shorter than 8 bytes" "$VS_TMP/err"
export -f absent_in value_forms diag
export VS_TMP
check "the report holds no form of any value" bash -c 'for v in "$@"; do absent_in "$v" "$VS_TMP/out" "$VS_TMP/err" || exit 1; done' \
    _ "$api" "$odd" "$old" "$new"
check "a prefix, the value less one byte and a partial base64 are not reported (no oracle): exit 0" \
    bash -c '"$0" scan clean >"$1/o" 2>/dev/null && [ ! -s "$1/o" ]' "$V" "$VS_TMP"
check "a file argument works and exits 1 on a find" bash -c '"$0" scan raw.txt >"$1/o" 2>/dev/null; [ $? = 1 ] &&
    [ "$(cat "$1/o")" = "raw.txt:3: secret api_token (raw)" ]' "$V" "$VS_TMP"
check "usage errors exit 2" bash -c '"$0" scan --staged raw.txt 2>/dev/null; a=$?; "$0" scan --bogus 2>/dev/null; b=$?;
    "$0" scan no-such-file 2>/dev/null; c=$?; [ $a = 2 ] && [ $b = 2 ] && [ $c = 2 ]' "$V"

# A real repository: a value in a past commit, another staged now.
R="$VS_TMP/repo"; mkdir -p "$R/src"; cd "$R" || exit 1
g() { git -c user.name=t -c user.email=t@example.invalid -c init.defaultBranch=main -c commit.gpgsign=false "$@"; }
g init -q .
printf 'ok\n' >README; g add README; g commit -qm first
printf 'a\nb\nkey = "%s"\n' "$api" >src/conf.py; g add src/conf.py; g commit -qm leak
leak=$(git rev-parse --short HEAD)
printf 'a\nb\n' >src/conf.py; g add src/conf.py; g commit -qm "remove the key"
check "a clean tree and index: scan --staged exits 0" bash -c '"$0" scan --staged >/dev/null 2>&1' "$V"
check "--history finds the value in the past commit as commit:path:line" bash -c '
    out=$("$0" scan --history 2>/dev/null); [ $? = 1 ] && [ "$out" = "$1:src/conf.py:3: secret api_token (raw)" ]' "$V" "$leak"
printf 'x\n%s\n' "$(b64 "$odd")" >staged.txt; g add staged.txt
printf 'not staged: %s\n' "$api" >unstaged.txt
check "--staged finds the staged value (and not the unstaged file)" bash -c '
    out=$("$0" scan --staged 2>/dev/null); [ $? = 1 ] && [ "$out" = "staged.txt:2: secret odd_secret (base64)" ]' "$V"

# The pre-commit hook.
printf '#!/bin/sh\necho mine\n' >.git/hooks/pre-commit; chmod 755 .git/hooks/pre-commit
check "--install-hook refuses to replace another hook (exit 2, hook unchanged)" bash -c '
    "$0" scan --install-hook >/dev/null 2>&1; [ $? = 2 ] && grep -q "echo mine" .git/hooks/pre-commit' "$V"
rm .git/hooks/pre-commit
check "--install-hook installs it, and again says it is there" bash -c '
    "$0" scan --install-hook | grep -q "hook installed" && "$0" scan --install-hook | grep -q "already installed" &&
    [ -x .git/hooks/pre-commit ]' "$V"
count() { git rev-list --count HEAD; }
n=$(count)
run g commit -qm "add staged"
check "a real git commit holding a value is blocked, naming file and secret" bash -c '
    [ "$(git rev-list --count HEAD)" = "$0" ] && cat "$1" "$2" | grep -q "^staged.txt:2: secret odd_secret (base64)"' "$n" "$VS_TMP/out" "$VS_TMP/err"
check "the blocked commit's output holds no form of the value" absent_in "$odd" "$VS_TMP/out" "$VS_TMP/err"
g rm -q --cached staged.txt; printf 'fine\n' >fine.txt; g add fine.txt
check "a clean commit goes through the hook" bash -c 'g() { git -c user.name=t -c user.email=t@example.invalid "$@"; };
    g commit -qm clean >/dev/null 2>&1 && [ "$(git rev-list --count HEAD)" = "$(($0 + 1))" ]' "$n"
vs_end
