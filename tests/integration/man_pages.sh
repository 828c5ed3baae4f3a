#!/usr/bin/env bash
# The man pages: each renders with no groff or man warning; vaultctl.1 has
# an entry for every command the built `vaultctl --help` lists (so a command
# added on any branch needs its page entry); vaultshim.conf.5 names every
# policy key that config/vaultshim.conf uses or lists; vaultd.8 every option
# of `vaultd --help`.
. "$(dirname "$0")/../lib.sh"
vs_clean_env "$@"
vs_begin
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
M="$ROOT/man"
for t in groff man; do
    command -v "$t" >/dev/null || { not_ok "$t is missing (scripts/install-deps: groff-base, man-db)"; vs_end; exit 1; }
done
PAGES="vaultd.8 vaultctl.1 vault-run.1 vaultshim.conf.5 vault-entrypoint.8"
for p in $PAGES; do
    if [ ! -f "$M/$p" ]; then not_ok "man/$p exists"; continue; fi
    check "man/$p: groff -man -ww: no warning" bash -c '[ -z "$(groff -man -ww -z "$0" 2>&1)" ]' "$M/$p"
    check "man/$p: man --warnings: no warning, has NAME and SYNOPSIS or DESCRIPTION" bash -c '
        out=$(LC_ALL=C.UTF-8 MANWIDTH=80 man --warnings -l "$0" 2>"$1") && [ ! -s "$1" ] &&
        grep -q "^NAME" <<<"$out" && grep -qE "^(SYNOPSIS|DESCRIPTION)" <<<"$out"' "$M/$p" "$VS_TMP/man.err"
done

# vaultctl: every command of the built --help has a tagged entry
cmds=$("$VAULTCTL" --help 2>&1 | awk '/^commands:/ {f = 1; next} f && /^$/ {exit} f {print $1}')
check "vaultctl --help lists commands" [ "$(wc -w <<<"$cmds")" -ge 5 ]
missing=""
for c in $cmds; do
    sed 's/\\-/-/g' "$M/vaultctl.1" | grep -qE "^\.BI? \"?$c( |\"|$)" || missing="$missing $c"
done
check "vaultctl.1 documents every command of vaultctl --help ($(wc -w <<<"$cmds")):${missing:- none missing}" [ -z "$missing" ]

# vaultshim.conf: the keys set (strings and comments removed), the keys
# commented out as examples, and the keys the comments list.
keys=$( { sed -e 's/"[^"]*"//g' -e 's/#.*//' "$ROOT/config/vaultshim.conf" | grep -oE '\b[a-z][a-z0-9_]*[[:space:]]*[=:]' | grep -oE '^[a-z0-9_]+'
          grep -oE '^[[:space:]]*#[[:space:]]*[a-z][a-z0-9_]*[[:space:]]*=' "$ROOT/config/vaultshim.conf" | grep -oE '[a-z][a-z0-9_]*'
          grep -oE '^#   [a-z][a-z0-9_]+  ' "$ROOT/config/vaultshim.conf" | grep -oE '[a-z][a-z0-9_]+'; } | sort -u)
check "config/vaultshim.conf has keys to check" [ "$(wc -w <<<"$keys")" -ge 15 ]
missing=""
for k in $keys; do
    grep -qE "^\.B $k\$" "$M/vaultshim.conf.5" || missing="$missing $k"
done
check "vaultshim.conf.5 has an entry for every policy key in config/vaultshim.conf ($(wc -w <<<"$keys")):${missing:- none missing}" [ -z "$missing" ]

# vaultd: every long option of --help
opts=$("$VS_BUILD/vaultd" --help 2>&1 | grep -oE -- '--[a-z][a-z-]*' | sort -u)
missing=""
for o in $opts; do
    grep -qF -- "$(sed 's/-/\\-/g' <<<"$o")" "$M/vaultd.8" || missing="$missing $o"
done
check "vaultd.8 documents every option of vaultd --help:${missing:- none missing}" [ -z "$missing" ]

# the launchers: every option of their usage line
for pair in "vault-entrypoint:vault-entrypoint.8" "vault-run:vault-run.1"; do
    opts=$(VAULTSHIM_LIB="$VS_BUILD/libvaultshim.so" VAULTCTL="$VAULTCTL" bash "$ROOT/scripts/${pair%%:*}" --help 2>&1 | grep -oE -- '--[a-z][a-z-]*' | sort -u)
    missing=""
    for o in $opts; do
        grep -qF -- "$(sed 's/-/\\-/g' <<<"$o")" "$M/${pair#*:}" || missing="$missing $o"
    done
    check "${pair#*:} documents every option of ${pair%%:*} --help ($(wc -w <<<"$opts")):${missing:- none missing}" \
        bash -c '[ -z "$0" ] && [ "$1" -ge 2 ]' "$missing" "$(wc -w <<<"$opts")"
done
vs_end
