#!/usr/bin/env bash
# EIO during writes: tests/helpers/preload/fault-inject.c, built here as an
# LD_PRELOAD library, makes the Nth write (to a file), fsync or rename of
# vaultctl fail with EIO, for every N the operation reaches. Each failure:
# exit 1 and one stderr line naming the cause, the store and audit log the
# same bytes as before (sha256), the vault opens, the chain verifies, the
# old value is intact, no temp file stays. The first N the operation does
# not reach: it succeeds and stores the new value.
export ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}verify_asan_link_order=0"
. "$(dirname "$0")/../lib.sh"
vs_clean_env "$@"
vs_begin
V=$VAULTCTL
key="$VAULT_HOME/vault.key"
FI="$VS_TMP/fault-inject.so"
check "the fault-injection library builds" cc -std=c11 -Wall -Wextra -Werror -shared -fPIC -o "$FI" \
    "$(dirname "$0")/../helpers/preload/fault-inject.c" -ldl
"$V" init --keyfile >/dev/null
old=$(fake_token old)
printf '%s' "$old" | "$V" save kept >/dev/null
snapshot() { sha256sum "$VAULT_HOME/store" "$VAULT_HOME/audit.log" | cut -d' ' -f1 | tr '\n' ' '; }

# one_op OP NAME FUNC N: the op under VS_FAULT=FUNC:N; sets outcome to
# "failed-clean", "failed-BAD: why", "succeeded" or "succeeded-BAD: why"
one_op() {
    local op=$1 name=$2 func=$3 n=$4 before value after got
    before=$(snapshot)
    value=$(fake_token new)
    rm -f "$VS_TMP/hit"
    printf '%s' "$value" | env LD_PRELOAD="$FI" VS_FAULT="$func:$n" VS_FAULT_REPORT="$VS_TMP/hit" \
        "$V" "$op" "$name" >"$VS_TMP/out" 2>"$VS_TMP/err"
    local rc=$?
    after=$(snapshot)
    if [ -s "$VS_TMP/hit" ]; then
        outcome=failed-clean
        local why=""
        [ "$rc" -eq 1 ] || why="exit $rc"
        [ "$(wc -l <"$VS_TMP/err")" -eq 1 ] && grep -qE "^vaultctl: $op: .*Input/output error" "$VS_TMP/err" ||
            why="$why stderr: $(head -c 200 "$VS_TMP/err")"
        [ "$after" = "$before" ] || why="$why store or audit log changed"
        "$V" list >/dev/null 2>&1 || why="$why the vault does not open"
        "$V" audit --verify >/dev/null 2>&1 || why="$why the chain does not verify"
        [ "$("$PROBE" "$VAULT_HOME" "$key" kept)" = "$(sha256 "$old")" ] || why="$why the old value changed"
        ls -A "$VAULT_HOME" | grep -q tmp && why="$why a temp file stayed"
        [ -z "$why" ] || outcome="failed-BAD: $why"
        messages+=("$(cat "$VS_TMP/err")")
    else
        outcome=succeeded
        got=$("$PROBE" "$VAULT_HOME" "$key" "$name")
        [ "$rc" -eq 0 ] && [ "$got" = "$(sha256 "$value")" ] || outcome="succeeded-BAD: exit $rc, $(head -c 200 "$VS_TMP/err")"
        if [ "$op" = rotate ]; then old=$value; else "$V" rm "$name" >/dev/null 2>&1; fi
    fi
}

messages=()
for op in save rotate; do
    for func in write fsync rename; do
        fails=0 bad=0 done_ok=0
        for n in $(seq 1 12); do
            if [ "$op" = save ]; then one_op save "fresh$n" "$func" "$n"; else one_op rotate kept "$func" "$n"; fi
            case $outcome in
                failed-clean) fails=$((fails + 1)) ;;
                succeeded) done_ok=1; break ;;
                *) bad=$((bad + 1)); diag "$op, $func #$n: $outcome" ;;
            esac
        done
        check "$op: EIO on each of its $fails ${func} calls: one clear line, store and audit log unchanged, vault opens" \
            test "$bad" -eq 0 -a "$fails" -ge 1
        check "$op: with the fault past its last ${func} call, it succeeds" test "$done_ok" -eq 1
    done
done
printf '%s\n' "${messages[@]}" | sort | uniq -c | sed 's/^/# /'
check "at the end the vault opens and the chain verifies" bash -c '"$0" list >/dev/null && "$0" audit --verify >/dev/null' "$V"
vs_end
