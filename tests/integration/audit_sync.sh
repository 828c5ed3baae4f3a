#!/usr/bin/env bash
# The policy's audit_sync (docs/audit-durability.md), against a real vaultd
# and a real allowlisted probe:
#  1. "interval": a grant, then vaultd SIGKILLed at once (long before its
#     period's fsync): the grant's line is in the log, the chain verifies.
#  2. fsyncs counted by strace -f -c on vaultd: "each" does one per round
#     (>= one per sequential grant), "interval" far fewer for the same work.
#  3. fsync failing (tests/helpers/preload/fault-inject.c, VS_FAULT_WHILE):
#     interval mode refuses every later grant with one line naming the audit
#     log, writes no line for them, says so once on stderr, and grants again
#     once fsync works.
#  4. the default (no key, or audit_sync = "each") is unchanged: no answer
#     leaves before the fsync of its line (strace: the fsync comes between
#     the line's write and the answer's send).
export ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}verify_asan_link_order=0"
. "$(dirname "$0")/../lib.sh"
vs_clean_env "$@"
vs_begin
vs_probe_vault
for t in strace pgrep; do
    command -v "$t" >/dev/null || { not_ok "$t is missing (scripts/install-deps)"; vs_end; exit 1; }
done
FI="$VS_TMP/fault-inject.so"
check "the fault-injection library builds" cc -std=c11 -Wall -Wextra -Werror -shared -fPIC -o "$FI" \
    "$(dirname "$0")/../helpers/preload/fault-inject.c" -ldl
base=$(cat "$T/policy.conf")
mkpolicy() { # NAME EXTRA-LINES: $T/NAME.conf, the probe policy plus EXTRA
    printf '%s\n%s\n' "$base" "$2" >"$T/$1.conf"
    chmod 644 "$T/$1.conf"
}
mkpolicy each ''
mkpolicy each-explicit 'audit_sync = "each";'
mkpolicy interval 'audit_sync = "interval";'
mkpolicy interval-long 'audit_sync = "interval"; audit_sync_ms = 60000;'
mkpolicy interval-short 'audit_sync = "interval"; audit_sync_ms = 100;'
mkpolicy bad 'audit_sync = "sometimes";'

# start POLICY [WRAPPER...]: vaultd (under WRAPPER, e.g. strace) on a
# private socket; DPID is vaultd's own pid, WPID the wrapper's (or vaultd).
start() {
    local policy=$1; shift
    export VAULT_SOCKET="$VS_TMP/run/vaultd.sock"
    mkdir -p -m 700 "$VS_TMP/run"
    rm -f "$VAULT_SOCKET"
    "$@" "$VS_BUILD/vaultd" --config "$policy" --socket "$VAULT_SOCKET" 2>>"$VS_TMP/vaultd.log" &
    WPID=$! DPID=$!
    vs_add_cleanup "kill $WPID 2>/dev/null; wait $WPID 2>/dev/null"
    for _ in $(seq 1 200); do
        if "$V" status >/dev/null 2>&1; then
            # strace forks vaultd; env execs it (then it is WPID itself)
            [ $# -eq 0 ] || DPID=$(pgrep -P "$WPID" | head -1)
            [ -n "$DPID" ] || DPID=$WPID
            return 0
        fi
        kill -0 "$WPID" 2>/dev/null || break
        sleep 0.05
    done
    diag "vaultd did not start: $(tail -3 "$VS_TMP/vaultd.log")"
    return 1
}
stop() { # SIGTERM to vaultd, then wait for the wrapper (strace writes its summary)
    kill -TERM "$DPID" 2>/dev/null
    for _ in $(seq 1 200); do kill -0 "$WPID" 2>/dev/null || break; sleep 0.05; done
    wait "$WPID" 2>/dev/null
}
ok_lines() { grep -c '"event":"grant".*"decision":"ok"' "$VAULT_HOME/audit.log"; }
lines() { wc -l <"$VAULT_HOME/audit.log"; }

check "a bad audit_sync is refused at start with file:line and the key" \
    err_is 1 "^vaultd: .*bad.conf:[0-9]+: audit_sync must be \"each\" or \"interval\", not \"sometimes\"\$" \
    "$VS_BUILD/vaultd" --config "$T/bad.conf" --socket "$VS_TMP/badrun/vaultd.sock"

# --- 1. interval: a grant, then kill -9 at once
check "vaultd starts with audit_sync = \"interval\" (audit_sync_ms = 60000)" start "$T/interval-long.conf"
before=$(ok_lines)
"$T/probe" ok >"$VS_TMP/out" 2>"$VS_TMP/err" & ppid=$!
wait "$ppid"; prc=$?
kill -KILL "$DPID"; wait "$WPID" 2>/dev/null
check "interval: the probe was granted" bash -c '[ "$0" = 0 ] && grep -qx "$1" "$2"' "$prc" "$want" "$VS_TMP/out"
check "interval: after kill -9 right after the grant, its audit line is in the log" \
    bash -c 'grep "\"event\":\"grant\"" "$0" | grep "\"decision\":\"ok\"" | grep -q "\"pid\":$1,"' \
    "$VAULT_HOME/audit.log" "$ppid"
check "interval: and only one grant line more than before" test "$(ok_lines)" -eq $((before + 1))
check "interval: vaultctl audit --verify passes after the kill" bash -c '"$0" audit --verify >/dev/null' "$V"

# --- 2. fsyncs per mode, counted by strace on vaultd: N sequential grants
# (each its own round), then 4 clients at once
N=60
count_run() { # POLICY OUT: start under strace -c, N grants + 4x15 concurrent, stop
    local policy=$1 out=$2 g=0 c
    start "$policy" strace -f -c -e trace=fsync,fdatasync -o "$out" || return 1
    local b=$(ok_lines)
    for _ in $(seq 1 "$N"); do "$T/probe" ok >/dev/null 2>&1 && g=$((g + 1)); done
    local pids=()
    for c in 1 2 3 4; do ( for _ in $(seq 1 15); do "$T/probe" ok >/dev/null 2>&1; done ) & pids+=($!); done
    for c in "${pids[@]}"; do wait "$c"; done
    GRANTED=$(( $(ok_lines) - b ))
    SEQ_GRANTED=$g
    stop
    FSYNCS=$(awk '$NF == "fsync" || $NF == "fdatasync" { n += $4 } END { print n + 0 }' "$out")
}
count_run "$T/each.conf" "$VS_TMP/strace.each"
each_fsyncs=$FSYNCS each_granted=$GRANTED each_seq=$SEQ_GRANTED
count_run "$T/interval.conf" "$VS_TMP/strace.interval"
int_fsyncs=$FSYNCS int_granted=$GRANTED int_seq=$SEQ_GRANTED
diag "each: $each_granted grants, $each_fsyncs fsyncs; interval (1000 ms): $int_granted grants, $int_fsyncs fsyncs"
check "both modes granted every request ($each_granted, $int_granted of $((N + 60)))" \
    test "$each_seq" -eq "$N" -a "$int_seq" -eq "$N" -a "$each_granted" -eq $((N + 60)) -a "$int_granted" -eq $((N + 60))
check "each: at least one fsync per sequential grant (one per round): $each_fsyncs for $N" test "$each_fsyncs" -ge "$N"
check "each: 4 concurrent clients share rounds: at most one fsync per grant overall" \
    test "$each_fsyncs" -le $((each_granted + 10))
check "interval: far fewer fsyncs for the same grants ($int_fsyncs, at most a quarter of each's $each_fsyncs)" \
    test $((int_fsyncs * 4)) -le "$each_fsyncs"
check "the chain verifies after both runs" bash -c '"$0" audit --verify >/dev/null' "$V"

# --- 3. fsync fails (EIO) for a while: interval refuses, then recovers
fail="$VS_TMP/fsync-fails"
check "vaultd starts in interval mode (100 ms) under the fault injector" \
    start "$T/interval-short.conf" env LD_PRELOAD="$FI" VS_FAULT=fsync:1 VS_FAULT_WHILE="$fail" VS_FAULT_REPORT="$VS_TMP/hit"
check "granted while fsync works" bash -c '"$0" ok | grep -qx "$1"' "$T/probe" "$want"
sleep 0.6 # that grant's own fsync (due within 100 ms) runs before the fault is on
: >"$fail"
check "granted once more: its line is written, its fsync not yet run" bash -c '"$0" ok | grep -qx "$1"' "$T/probe" "$want"
for _ in $(seq 1 100); do [ -s "$VS_TMP/hit" ] && break; sleep 0.05; done
check "the period's fsync ran and failed (EIO injected)" test -s "$VS_TMP/hit"
n_before=$(lines)
refused=0 oneline=0 named=0
for i in 1 2 3; do
    "$T/probe" ok >"$VS_TMP/out" 2>"$VS_TMP/err"; rc=$?
    [ "$rc" -eq 3 ] && ! grep -q '^grant' "$VS_TMP/out" && refused=$((refused + 1))
    [ "$(wc -l <"$VS_TMP/err")" -eq 1 ] && oneline=$((oneline + 1))
    grep -qE '^refused: audit log cannot be synced: Input/output error' "$VS_TMP/err" && named=$((named + 1))
    sleep 0.15 # the loop's retries run meanwhile (and fail)
done
diag "refusal: $(cat "$VS_TMP/err")"
check "every later grant is refused (3 of 3), no value released" test "$refused" -eq 3
check "each refusal is one line naming the audit log and the cause" test "$oneline" -eq 3 -a "$named" -eq 3
check "no line was written for the refused grants" test "$(lines)" -eq "$n_before"
check "vaultd said so once on stderr, not per grant or per retry" \
    test "$(grep -c 'audit log cannot be synced' "$VS_TMP/vaultd.log")" -eq 1
check "the fsync was retried meanwhile (more than one injected failure)" test "$(wc -l <"$VS_TMP/hit")" -gt 1
rm -f "$fail"
check "once fsync works again, the next grant is granted" bash -c '"$0" ok | grep -qx "$1"' "$T/probe" "$want"
check "vaultd says grants resume" grep -q "audit log synced again: grants resume" "$VS_TMP/vaultd.log"
check "and the next one too" bash -c '"$0" ok | grep -qx "$1"' "$T/probe" "$want"
stop
check "the chain verifies" bash -c '"$0" audit --verify >/dev/null' "$V"

# --- 4. the default is unchanged: each answer's fsync comes between its
# line's write and the answer's send (strace -f of vaultd, in order)
order_ok() { # STRACE-FILE: every sendmsg/sendto after a write to the log is preceded by an fsync
    awk '
        / write\(/ && index($0, "\"{\\\"seq\\\"") > 0 { pending = 1 }
        / f(data)?sync\(/ && / = 0/ { pending = 0 }
        / (sendto|sendmsg)\(/ && pending { bad++ }
        / (sendto|sendmsg)\(/ { sends++ }
        END { printf "%d %d\n", sends, bad }' "$1"
}
for p in each each-explicit; do
    start "$T/$p.conf" strace -f -s 24 -e trace=write,fsync,fdatasync,sendto,sendmsg -o "$VS_TMP/order.$p" ||
        not_ok "vaultd starts with $p.conf under strace"
    for _ in 1 2 3 4 5; do "$T/probe" ok >/dev/null 2>&1; done
    stop
    read -r sends bad < <(order_ok "$VS_TMP/order.$p")
    check "$p: no answer is sent between a line's write and its fsync ($sends sends, $bad early)" \
        test "$sends" -ge 10 -a "$bad" -eq 0
done
start "$T/interval.conf" strace -f -s 24 -e trace=write,fsync,fdatasync,sendto,sendmsg -o "$VS_TMP/order.interval" ||
    not_ok "vaultd starts with interval.conf under strace"
for _ in 1 2 3 4 5; do "$T/probe" ok >/dev/null 2>&1; done
stop
read -r sends bad < <(order_ok "$VS_TMP/order.interval")
check "interval (the same check, which must see the difference): answers sent before the fsync ($bad of $sends)" \
    test "$bad" -ge 5
check "the chain verifies at the end" bash -c '"$0" audit --verify >/dev/null' "$V"
check "vaultd's log has no sanitizer report (ASan build)" bash -c '! grep -qE "Sanitizer|runtime error" "$0" || { grep -E -m5 -A12 "Sanitizer|runtime error" "$0" >&2; false; }' "$VS_TMP/vaultd.log"
check "no value in the audit log or vaultd's log" bash -c '. "$0"; absent_in "$1" "$VAULT_HOME" "$2"' \
    "$(dirname "$0")/../lib.sh" "$api" "$VS_TMP/vaultd.log"
vs_end
