#!/usr/bin/env bash
# make bench-load (and the end of make bench): LOAD_CLIENTS (16) concurrent
# clients x LOAD_PER_CLIENT (100,000) grants each against a real vaultd, in
# process (connect, GRANTS, CONFIRM, values in hand; tests/bench/vsbench
# grant K M full). Any refused or failed grant fails the run. Reports the
# latency percentiles, the rate, and vaultd's RSS and fd count after a
# warm-up and after the load (the audit log grows by one line per grant;
# its size is reported too). Appends to $VS_BUILD/bench/results.txt.
# VS_BENCH_QUICK (make bench's smoke run): 2,000 grants per client by default.
PER_CLIENT_DEFAULT=100000; [ -n "${VS_BENCH_QUICK:-}" ] && PER_CLIENT_DEFAULT=2000
[ -n "${VS_CLEAN_ENV:-}" ] || exec env -i VS_CLEAN_ENV=1 PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME="$HOME" \
    VS_BUILD="$VS_BUILD" LANG=C.UTF-8 LOAD_CLIENTS="${LOAD_CLIENTS:-16}" LOAD_PER_CLIENT="${LOAD_PER_CLIENT:-$PER_CLIENT_DEFAULT}" \
    bash "$0" "$@"
set -u
: "${VS_BUILD:?VS_BUILD must name the build folder}"
B=$VS_BUILD
OUT=$B/bench
K=$LOAD_CLIENTS M=$LOAD_PER_CLIENT
TMP=$(mktemp -d /tmp/vs-load.XXXXXX)
chmod 700 "$TMP"
mkdir -p "$OUT"
T=$(mktemp -d "$OUT/load.XXXXXX")   # files vaultd must trust: not under /tmp
chmod 755 "$T"
VAULTD_PID=""
cleanup() {
    [ -n "$VAULTD_PID" ] && { kill "$VAULTD_PID" 2>/dev/null; wait "$VAULTD_PID" 2>/dev/null; }
    rm -rf "$TMP" "$T"
}
trap cleanup EXIT
die() { echo "bench-load: $*" >&2; exit 1; }
export VAULT_HOME="$TMP/home" VAULT_KEYFILE= VAULT_SOCKET="$TMP/run/vaultd.sock"
mkdir -p -m 700 "$TMP/run"
cp "$OUT/vsbench" "$T/vsbench" && chmod 755 "$T/vsbench" || die "no $OUT/vsbench (make bench builds it)"
"$B/vaultctl" init --keyfile >/dev/null || die "vaultctl init failed"
printf 'api_%s' "$(head -c 24 /dev/urandom | base64 | tr -dc A-Za-z0-9)" | "$B/vaultctl" save api_token >/dev/null ||
    die "vaultctl save failed"
printf 'tools = ( { name = "bench"; exe = "%s"; env = { BENCH_TOKEN = "api_token"; }; } );\n' "$T/vsbench" >"$T/policy.conf"
chmod 644 "$T/policy.conf"
"$B/vaultd" --config "$T/policy.conf" --socket "$VAULT_SOCKET" 2>>"$TMP/vaultd.log" &
VAULTD_PID=$!
for _ in $(seq 1 100); do "$B/vaultctl" status >/dev/null 2>&1 && break; sleep 0.05; done
"$B/vaultctl" status >/dev/null 2>&1 || die "vaultd did not start: $(tail -3 "$TMP/vaultd.log")"
rss() { awk '/^VmRSS/ {print $2}' "/proc/$VAULTD_PID/status"; }
fds() { ls "/proc/$VAULTD_PID/fd" | wc -l; }

"$T/vsbench" grant "$K" 100 >/dev/null || die "warm-up failed: $(tail -2 "$TMP/vaultd.log")"
rss0=$(rss) fds0=$(fds)
o=$("$T/vsbench" grant "$K" "$M" full) || die "a grant failed under load (the run stops at the first): $(tail -2 "$TMP/vaultd.log")"
sleep 0.2
rss1=$(rss) fds1=$(fds)
audit_mb=$(( $(stat -c %s "$VAULT_HOME/audit.log") / 1048576 ))
read -r _ _ _ _ _ _ _ rate <<<"$(head -1 <<<"$o")"
read -r _ _ p50 _ p90 _ p99 _ p999 _ pmax _ n _ wall <<<"$(sed -n 2p <<<"$o")"
grants=$(grep -c '"event":"grant"' "$VAULT_HOME/audit.log")
{
    echo "# load: $K clients x $M grants = $n, $(date -u +%FT%TZ), $(nproc) cores"
    printf '%-46s %s\n' "load: grants, errors" "$n, 0 (audit grant lines: $grants)" \
        "load: wall time, rate" "$wall s, $rate grants/s" \
        "load: latency us p50 / p90 / p99 / p99.9 / max" "$p50 / $p90 / $p99 / $p999 / $pmax" \
        "load: vaultd RSS KB after warm-up, after load" "$rss0, $rss1 ($((rss1 - rss0)) KB)" \
        "load: vaultd fds after warm-up, after load" "$fds0, $fds1" \
        "load: audit log size" "$audit_mb MB"
    printf '%-46s %s\n' "load: memory verdict (growth <= 512 KB)" "$([ $((rss1 - rss0)) -le 512 ] && echo within || echo over)"
} | tee -a "$OUT/results.txt"
[ "$grants" -ge "$n" ] || die "the audit log holds $grants grant lines for $n grants"
