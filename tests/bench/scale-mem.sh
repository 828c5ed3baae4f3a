#!/usr/bin/env bash
# The scale part of make bench alone: vaultd's RSS and grant p50 with
# 2 secrets / 2 tools against 10,000 secrets / 1,000 tools, the set-up of
# run.sh section 5 (vsbench-fill, one tool per copy of /bin/true). Prints
#   rss_small rss_large ratio   and   grant p50 small/large (interleaved).
# VS_SCALE_NS / VS_SCALE_NT change the sizes; VS_SCALE_ROUNDS the grant
# rounds (0: RSS only); VS_SCALE_MASSIF=FILE runs the large vaultd under
# valgrind --tool=massif writing FILE: the heap after start-up only, since
# this valgrind lacks pidfd_send_signal (syscall 424) and vaultd under it
# refuses every peer (no grants, no RSS figures in that mode).
[ -n "${VS_CLEAN_ENV:-}" ] || exec env -i VS_CLEAN_ENV=1 PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME="$HOME" \
    VS_BUILD="$VS_BUILD" LANG=C.UTF-8 VS_SCALE_NS="${VS_SCALE_NS:-}" VS_SCALE_NT="${VS_SCALE_NT:-}" \
    VS_SCALE_ROUNDS="${VS_SCALE_ROUNDS:-}" VS_SCALE_MASSIF="${VS_SCALE_MASSIF:-}" VS_SCALE_WAIT="${VS_SCALE_WAIT:-}" VS_SCALE_M="${VS_SCALE_M:-}" VS_SCALE_KEEP="${VS_SCALE_KEEP:-}" bash "$0" "$@"
set -u
: "${VS_BUILD:?VS_BUILD must name the build folder}"
B=$VS_BUILD OUT=$VS_BUILD/bench V=$VS_BUILD/vaultctl
NS=${VS_SCALE_NS:-10000} NT=${VS_SCALE_NT:-1000} ROUNDS=${VS_SCALE_ROUNDS:-3} M=${VS_SCALE_M:-500}
for f in "$OUT/vsbench" "$OUT/vsbench-fill" "$B/vaultd" "$V"; do
    [ -x "$f" ] || { echo "scale-mem: $f missing (make all build/bench/vsbench build/bench/vsbench-fill)" >&2; exit 1; }
done
TMP=$(mktemp -d /tmp/vs-scale.XXXXXX); chmod 700 "$TMP"
mkdir -p "$OUT"; T=$(mktemp -d "$OUT/scale.XXXXXX"); chmod 755 "$T"
P1="" P2=""
cleanup() {
    for p in $P1 $P2; do kill "$p" 2>/dev/null; wait "$p" 2>/dev/null; done
    [ -n "${VS_SCALE_KEEP:-}" ] && { echo "kept $TMP"; return; }
    rm -rf "$TMP" "$T"
}
trap cleanup EXIT
die() { echo "scale-mem: $*" >&2; exit 1; }
tok() { printf '%s_%s' "$1" "$(head -c 30 /dev/urandom | base64 | tr -dc 'A-Za-z0-9' | head -c 32)"; }
up() { # SOCKET LOG
    for _ in $(seq 1 600); do "$V" status --socket "$1" >/dev/null 2>&1 && return 0; sleep 0.05; done
    die "vaultd did not start: $(grep -v '^--\|^==' "$2" | tail -3)"
}
cp "$OUT/vsbench" "$T/vsbench"; cp /bin/true "$T/true-tool"; chmod 755 "$T/vsbench" "$T/true-tool"

H1=$TMP/home1 S1=$TMP/run1/vaultd.sock
mkdir -p -m 700 "$TMP/run1"
"$V" --home "$H1" init --keyfile >/dev/null || die "init failed"
tok api | "$V" --home "$H1" save api_token >/dev/null && tok gh | "$V" --home "$H1" save gh_token >/dev/null ||
    die "save failed"
cat >"$T/policy1.conf" <<CONF
protect = [ "*_TOKEN", "AWS_SECRET_ACCESS_KEY" ];
tools = (
  { name = "bench"; exe = "$T/vsbench"; env = { BENCH_TOKEN = "api_token"; }; },
  { name = "truetool"; exe = "$T/true-tool"; env = { GH_TOKEN = "gh_token"; }; files = [ "netrc" ]; }
);
files = ( { name = "netrc"; path = "$T/home/.netrc"; template = "machine x login y password {{api_token}}\n"; } );
CONF
chmod 644 "$T/policy1.conf"
"$B/vaultd" --config "$T/policy1.conf" --socket "$S1" --home "$H1" --keyfile "$H1/vault.key" 2>>"$TMP/vaultd1.log" &
P1=$!
up "$S1" "$TMP/vaultd1.log"

H2=$TMP/home2 S2=$TMP/run2/vaultd.sock
mkdir -p -m 700 "$TMP/run2"; mkdir -p "$T/tools"; chmod 755 "$T/tools"
"$V" --home "$H2" init --keyfile >/dev/null && tok api | "$V" --home "$H2" save api_token >/dev/null &&
    "$OUT/vsbench-fill" "$H2" "$H2/vault.key" "$NS" s || die "scale vault set-up failed"
for ((i = 0; i < NT; i++)); do cp /bin/true "$T/tools/t$i"; done
chmod 755 "$T/tools"/*
{ echo 'protect = [ "*_TOKEN", "AWS_SECRET_ACCESS_KEY" ];'
  echo 'tools = ('
  echo "  { name = \"bench\"; exe = \"$T/vsbench\"; env = { BENCH_TOKEN = \"api_token\"; }; }"
  for ((i = 0; i < NT; i++)); do echo ", { name = \"t$i\"; exe = \"$T/tools/t$i\"; env = { T${i}_KEY = \"s$((i * (NS / NT)))\"; }; }"; done
  echo ');'; } >"$T/policy2.conf"
chmod 644 "$T/policy2.conf"
if [ -n "${VS_SCALE_MASSIF:-}" ]; then
    valgrind --tool=massif --massif-out-file="$VS_SCALE_MASSIF" "$B/vaultd" --config "$T/policy2.conf" --socket "$S2" \
        --home "$H2" --keyfile "$H2/vault.key" 2>>"$TMP/vaultd2.log" &
else
    "$B/vaultd" --config "$T/policy2.conf" --socket "$S2" --home "$H2" --keyfile "$H2/vault.key" 2>>"$TMP/vaultd2.log" &
fi
P2=$!
if [ -n "${VS_SCALE_MASSIF:-}" ]; then # loaded: it says so; then stop it so massif writes
    for _ in $(seq 1 1200); do grep -q 'listening on' "$TMP/vaultd2.log" && break; sleep 0.1; done
    grep -q 'listening on' "$TMP/vaultd2.log" || die "vaultd under massif did not start"
    kill "$P2"; wait "$P2"; P2=""
    echo "massif: $VS_SCALE_MASSIF (ms_print it)"; exit 0
fi
up "$S2" "$TMP/vaultd2.log"

rss() { awk '/^VmRSS/ { print $2 }' "/proc/$1/status"; }
s0=$(rss "$P1") l0=$(rss "$P2")
small=() large=() cpu1=() cpu2=()
oncpu() { awk '{ print $1 }' "/proc/$1/schedstat"; } # ns vaultd ran, all threads
med() { printf '%s\n' "$@" | sort -g | awk '{ a[NR] = $1 } END { print a[int((NR + 1) / 2)] }'; }
for ((r = 0; r < ROUNDS; r++)); do
    c=$(oncpu "$P1"); read -r _ _ _ p _ <<<"$(VAULT_SOCKET="$S1" "$T/vsbench" grant 1 $M)"; small+=("$p")
    cpu1+=($((($(oncpu "$P1") - c) / M / 100)))
    c=$(oncpu "$P2"); read -r _ _ _ p _ <<<"$(VAULT_SOCKET="$S2" "$T/vsbench" grant 1 $M)"; large+=("$p")
    cpu2+=($((($(oncpu "$P2") - c) / M / 100)))
done
r1=$(rss "$P1") r2=$(rss "$P2")
sleep 2.5
s2=$(rss "$P1") l2=$(rss "$P2")
echo "rss_kib after start: small=$s0 large=$l0; 2.5 s after the grants (idle trim): small=$s2 large=$l2"
echo "rss_kib small=$r1 large=$r2 ratio=$(awk -v a="$r1" -v b="$r2" 'BEGIN { printf "%.3f", b / a }') right after the grants, as run.sh ($NS secrets/$NT tools vs 2/2)"
if [ "$ROUNDS" -gt 0 ]; then
    echo "grant_p50_us small=$(med "${small[@]}") large=$(med "${large[@]}") (small: ${small[*]}; large: ${large[*]})"
    # vaultd's own CPU time per grant (schedstat), in units of 0.1 us:
    # less sensitive than wall time to the other load on a shared machine
    echo "vaultd_cpu_per_grant_0.1us small=$(med "${cpu1[@]}") large=$(med "${cpu2[@]}") (small: ${cpu1[*]}; large: ${cpu2[*]})"
fi
[ -n "${VS_SCALE_WAIT:-}" ] && { echo "pids $P1 $P2; waiting"; sleep "$VS_SCALE_WAIT"; }
exit 0
