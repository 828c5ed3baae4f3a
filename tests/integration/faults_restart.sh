#!/usr/bin/env bash
# Fault: vaultd restarted while 16 clients ask in a loop. Each client is the
# allowlisted probe run again and again; every attempt is recorded with its
# start and end time. Two gaps: SIGTERM then start (socket removed), and
# SIGKILL then start (a stale socket file left behind). Proves: no attempt
# ever prints a value unless it was granted properly (fail closed), every
# attempt that lies wholly inside a gap is refused with a one-line reason,
# and every client is granted again after each restart. Bounded: about 15 s.
. "$(dirname "$0")/../lib.sh"
vs_clean_env "$@"
vs_begin
vs_probe_vault
NCLIENTS=16
now_ms() { date +%s%3N; }

check "vaultd starts" vs_start_vaultd "$T/policy.conf"
check "the probe is granted before the faults" bash -c '"$0" ok | grep -qx "$1"' "$T/probe" "$want"

# client N: loop until $VS_TMP/stop exists (at most 40 s); one line per
# attempt: START_MS END_MS EXIT GRANTED(0/1/bad) STDERR-LINES
client() {
    local n=$1 out="$VS_TMP/c$1" deadline=$(( $(now_ms) + 40000 )) s e rc g
    : >"$out"
    while [ ! -e "$VS_TMP/stop" ] && [ "$(now_ms)" -lt "$deadline" ]; do
        s=$(now_ms)
        "$T/probe" ok >"$VS_TMP/c$n.out" 2>"$VS_TMP/c$n.err"; rc=$?
        e=$(now_ms)
        if [ ! -s "$VS_TMP/c$n.out" ]; then g=0
        elif grep -qx "$want" "$VS_TMP/c$n.out" && [ "$(grep -c '^grant' "$VS_TMP/c$n.out")" = 1 ]; then g=1
        else g=bad; fi
        echo "$s $e $rc $g $(wc -l <"$VS_TMP/c$n.err")" >>"$out"
        [ "$g" = 0 ] && cp "$VS_TMP/c$n.err" "$VS_TMP/c$n.refusal"
    done
}
pids=()
for n in $(seq 1 $NCLIENTS); do client "$n" & pids+=($!); done
VS_CLEANUP_EXTRA="${VS_CLEANUP_EXTRA:+$VS_CLEANUP_EXTRA; }touch '$VS_TMP/stop'; kill ${pids[*]} 2>/dev/null"
sleep 2

# gap 1: SIGTERM, 1.5 s down, start
kill -TERM "$VAULTD_PID"; wait "$VAULTD_PID" 2>/dev/null
g1s=$(now_ms); sleep 1.5; g1e=$(now_ms)
check "vaultd restarts after SIGTERM (socket removed)" vs_start_vaultd "$T/policy.conf"
sleep 2
# gap 2: SIGKILL (stale socket file stays), 1.5 s down, start
kill -KILL "$VAULTD_PID"; wait "$VAULTD_PID" 2>/dev/null
g2s=$(now_ms)
check "after SIGKILL the stale socket file is still there" test -S "$VAULT_SOCKET"
sleep 1.5; g2e=$(now_ms)
check "vaultd restarts over the stale socket after SIGKILL" vs_start_vaultd "$T/policy.conf"
restarted=$(now_ms)
sleep 2.5
touch "$VS_TMP/stop"
wait "${pids[@]}" 2>/dev/null

cat "$VS_TMP"/c[0-9]* >"$VS_TMP/all"
total=$(wc -l <"$VS_TMP/all")
granted=$(awk '$4 == 1' "$VS_TMP/all" | wc -l)
bad=$(awk '$4 == "bad" || ($4 == 1 && $3 != 0) || ($4 == 0 && $3 == 0)' "$VS_TMP/all" | wc -l)
in_gap=$(awk -v a="$g1s" -v b="$g1e" -v c="$g2s" -v d="$g2e" \
    '($1 >= a && $2 <= b) || ($1 >= c && $2 <= d)' "$VS_TMP/all" | wc -l)
in_gap_granted=$(awk -v a="$g1s" -v b="$g1e" -v c="$g2s" -v d="$g2e" \
    '(($1 >= a && $2 <= b) || ($1 >= c && $2 <= d)) && $4 != 0' "$VS_TMP/all" | wc -l)
refused_quiet=$(awk '$4 == 0 && $5 != 1' "$VS_TMP/all" | wc -l)
diag "$NCLIENTS clients, $total attempts, $granted granted, $in_gap wholly inside the two gaps"
check "no attempt printed a wrong or partial value, and exit status matches (0 iff granted)" test "$bad" -eq 0
check "attempts were made inside the gaps" test "$in_gap" -ge "$NCLIENTS"
check "every attempt inside a gap was refused, no value" test "$in_gap_granted" -eq 0
check "every refusal printed exactly one stderr line" test "$refused_quiet" -eq 0
diag "a refusal in a gap: $(head -c 200 "$VS_TMP/c1.refusal" 2>/dev/null)"
check "each client's last refusal names the cause (vaultd not answering / connect)" bash -c '
    for f in "$0"/c*.refusal; do grep -qiE "not answering|connect|refused|no such file" "$f" || exit 1; done' "$VS_TMP"
recovered=0
for n in $(seq 1 $NCLIENTS); do
    awk -v r="$restarted" '$1 >= r && $4 == 1' "$VS_TMP/c$n" | grep -q . && recovered=$((recovered + 1))
done
check "all $NCLIENTS clients were granted again after the restarts ($recovered)" test "$recovered" -eq "$NCLIENTS"
check "no value in the audit log or the daemon log" absent_in "$api" "$VAULT_HOME" "$VS_TMP/vaultd.log"
check "the audit chain verifies across the restarts" bash -c '"$0" audit --verify >/dev/null' "$V"
check "vaultd's log has no sanitizer report" bash -c '! grep -qE "Sanitizer|runtime error" "$0"' "$VS_TMP/vaultd.log"
vs_end
