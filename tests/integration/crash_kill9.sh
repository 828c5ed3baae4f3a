#!/usr/bin/env bash
# kill -9 of vaultctl at random points of 200 saves and rotates: the store
# always opens, holds every acknowledged write, and holds either the old or
# the new value of an interrupted one, never a mix; the audit chain verifies.
. "$(dirname "$0")/../lib.sh"
vs_begin
V=$VAULTCTL
"$V" init --keyfile >/dev/null
key="$VAULT_HOME/vault.key"
declare -A current   # name -> sha256 of the value the store must hold
known=0
names=()
acked=0 killed=0 lost=0 mixed=0 unopenable=0
# Kill within the time one write takes on this build (ASan is slower).
ms_now() { echo $(( $(date +%s%N) / 1000000 )); }
slowest=1
for c in 1 2 3; do
    t0=$(ms_now); printf 'x' | "$V" save "calibrate$c" >/dev/null; t=$(( $(ms_now) - t0 ))
    [ "$t" -gt "$slowest" ] && slowest=$t
done
diag "one write takes up to ${slowest} ms here; kills land at random within 1.5 times that"
for i in $(seq 1 200); do
    # Every third operation rotates a name known to exist; the rest save new names.
    if [ $((i % 3)) -eq 0 ] && [ "$known" -gt 0 ]; then
        name=${names[$((RANDOM % known))]}; op=rotate
    else
        name="s$i"; op=save
    fi
    value=$(fake_token v)
    old=${current[$name]:-absent}
    new=$(sha256 "$value")
    delay_us=$(( (RANDOM * 32768 + RANDOM) % (slowest * 1500) + 100 ))
    delay=$(printf '%d.%06d' $((delay_us / 1000000)) $((delay_us % 1000000)))
    # The subshell (two commands, so bash does not exec) absorbs the
    # "Killed" notice of timeout re-raising the signal.
    ( timeout -s KILL "$delay" "$V" "$op" "$name" <<<"$value" >/dev/null 2>"$VS_TMP/err"; exit $? ) 2>/dev/null
    rc=$?
    if ! "$V" list >/dev/null 2>>"$VS_TMP/open-errors"; then unopenable=$((unopenable + 1)); fi
    got=$("$PROBE" "$VAULT_HOME" "$key" "$name" 2>/dev/null)
    if [ "$rc" -eq 0 ]; then
        acked=$((acked + 1))
        [ "$got" = "$new" ] || lost=$((lost + 1))
    elif [ "$rc" -eq 137 ]; then
        killed=$((killed + 1))
        [ "$got" = "$new" ] || [ "$got" = "$old" ] || mixed=$((mixed + 1))
    else
        diag "op $i: $op exited $rc: $(cat "$VS_TMP/err")"
        unopenable=$((unopenable + 1))
    fi
    if [ "$got" != absent ]; then
        [ -n "${current[$name]:-}" ] || { names+=("$name"); known=$((known + 1)); }
        current[$name]=$got
    fi
done
diag "200 operations: $acked acknowledged, $killed killed mid-way, $(grep -c "\"event\":\"recover\"" "$VAULT_HOME/audit.log") recovered between store and audit write"
check "the store opened after every kill" test "$unopenable" -eq 0
check "no acknowledged write was lost" test "$lost" -eq 0
check "an interrupted write left the old or the new value, never another" test "$mixed" -eq 0
check "kills landed (the test exercised interruption)" test "$killed" -gt 0
check "writes completed (the test exercised acknowledgement)" test "$acked" -gt 0
# Every name the model knows still holds its value at the end.
bad=0
for name in "${!current[@]}"; do
    [ "$("$PROBE" "$VAULT_HOME" "$key" "$name")" = "${current[$name]}" ] || bad=$((bad + 1))
done
check "every value is intact at the end" test "$bad" -eq 0
check "the audit chain verifies (interrupted writes logged as recover)" bash -c '"$0" audit --verify >/dev/null' "$V"
check "no temp file is left after the next write" bash -c 'echo x | "$0" save final >/dev/null && ! ls -A "$VAULT_HOME" | grep -q tmp' "$V"
vs_end
