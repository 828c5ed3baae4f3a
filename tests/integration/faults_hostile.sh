#!/usr/bin/env bash
# Hostile peers against a real vaultd, with its fd count (/proc/PID/fd) and
# RSS measured before and after each case:
#  - 2,000 connections opened and held (vaultd has 1,024 slots): a probe is
#    refused while every slot is taken, "connections open" is logged once,
#    the probe is served as soon as some close, and fds and RSS come back;
#    then 10,000 at once: afterwards fds, RSS and service are as before;
#  - vaultd out of fds where accept4 fails, where the peer's /proc files
#    cannot be opened, and where no fd can be made at all: no spin, one
#    log line, no value, service back when fds are;
#  - a client that connects and never sends: the idle sweep closes it
#    after 10 s (VAULTD_IDLE_MS);
#  - 200 clients that disconnect between GRANTS and CONFIRM: no grant
#    audit line, no value, no fd left behind;
#  - a peer that pipelines 3,000 requests before reading: all answered, in
#    order; one that never reads: dropped once 1 MB of answers waits, and
#    vaultd's log says so; one whose last request is refused while answers
#    wait: it gets them, then the refusal's reason, then the close;
#  - 200 peers that send file descriptors (SCM_RIGHTS) with a frame: none
#    stays open in vaultd.
# Bounded: about 40 s. Every process it starts is stopped by it.
. "$(dirname "$0")/../lib.sh"
vs_clean_env "$@"
vs_begin
vs_probe_vault
PY=/usr/bin/python3
HELPERS="$(cd "$(dirname "$0")/../helpers" && pwd)"
cp "$HELPERS/vs_client.py" "$T/probe.py"; chmod 644 "$T/probe.py"
check "vaultd starts" vs_start_vaultd "$T/policy.conf"

fds() { ls "/proc/$VAULTD_PID/fd" 2>/dev/null | wc -l; }
socks() { ls -l "/proc/$VAULTD_PID/fd" 2>/dev/null | grep -c 'socket:'; }
pipes() { ls -l "/proc/$VAULTD_PID/fd" 2>/dev/null | grep -c 'pipe:'; }
cpu_ticks() { awk '{print $14 + $15}' "/proc/$VAULTD_PID/stat"; }
rss() { awk '/^VmRSS/ {print $2}' "/proc/$VAULTD_PID/status"; }
# (bounded: a vaultd that never accepts leaves a client waiting in connect)
granted() { timeout 10 "$T/probe" ok 2>/dev/null | grep -qx "$want"; }
refused() { ! timeout 10 "$T/probe" ok >"$VS_TMP/r.out" 2>/dev/null && ! grep -q '^grant' "$VS_TMP/r.out"; }
grants_in_audit() { grep -c '"event":"grant".*"decision":"ok"\|"decision":"ok".*"event":"grant"' "$VAULT_HOME/audit.log"; }
# settle N: wait (at most 3 s) for the fd count to come back to $base_fds
settle() { for _ in $(seq 1 60); do [ "$(fds)" -le "$base_fds" ] && return 0; sleep 0.05; done; return 1; }

for _ in 1 2 3; do granted; done   # warm: first grants allocate caches
base_fds=$(fds); base_rss=$(rss); base_socks=$(socks); base_pipes=$(pipes)
diag "baseline: $base_fds fds, $base_rss KB RSS"

# --- 2,000 connections held: a holder that opens N, reports, then closes
# when its release file appears (it never waits longer than 8 s: the idle
# sweep would start closing them at 10 s and blur the case).
holder() { # N RELEASE-FILE REPORT-FILE
    "$PY" - "$VAULT_SOCKET" "$@" <<'PYEOF'
import os, resource, socket, struct, sys, time
path, n, release, report = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
if hard == resource.RLIM_INFINITY or hard > n + 64:
    resource.setrlimit(resource.RLIMIT_NOFILE, (n + 64, hard))
conns = []
for _ in range(n):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    # a vaultd that never accepts must not hold us in connect: the kernel
    # bounds a Unix socket's connect by SO_SNDTIMEO
    s.setsockopt(socket.SOL_SOCKET, socket.SO_SNDTIMEO, struct.pack("ll", 2, 0))
    try:
        s.connect(path)
    except OSError:
        break
    conns.append(s)
with open(report, "w") as f:
    f.write("%d\n" % len(conns))
end = time.time() + 8
while time.time() < end and not os.path.exists(release):
    time.sleep(0.02)
PYEOF
}
wait_file() { for _ in $(seq 1 600); do [ -s "$1" ] && return 0; sleep 0.025; done; return 1; }
holder 1000 "$VS_TMP/relA" "$VS_TMP/heldA" & hA=$!
wait_file "$VS_TMP/heldA"
holder 1000 "$VS_TMP/relB" "$VS_TMP/heldB" & hB=$!
VS_CLEANUP_EXTRA="${VS_CLEANUP_EXTRA:+$VS_CLEANUP_EXTRA; }kill $hA $hB 2>/dev/null"
wait_file "$VS_TMP/heldB"
for _ in $(seq 1 60); do [ "$(fds)" -ge $((base_fds + 1024)) ] && break; sleep 0.05; done
full_fds=$(fds); full_rss=$(rss); full_socks=$(socks)
diag "held $(cat "$VS_TMP/heldA") + $(cat "$VS_TMP/heldB") connections: vaultd has $full_fds fds ($full_socks sockets), $full_rss KB RSS"
diag "that is $(( (full_fds - base_fds) / 1024 )) fds per connection (socket, pidfd, /proc/PID, stat, status, cmdline, exe)"
check "vaultd holds exactly 1,024 client connections ($((full_socks - base_socks)) sockets over baseline)" \
    test $((full_socks - base_socks)) -eq 1024
check "with every slot taken, a probe is refused and gets no value" refused
check "\"connections open\" is logged once" test "$(grep -c 'connections open' "$VS_TMP/vaultd.log")" -eq 1
touch "$VS_TMP/relB"; wait "$hB"
t0=$(date +%s%3N); ok_after=0
for _ in $(seq 1 120); do granted && { ok_after=1; break; }; sleep 0.05; done
diag "served $(( $(date +%s%3N) - t0 )) ms after the second 1,000 closed (the first 1,000 still held)"
check "once some connections close, the probe is served again" test "$ok_after" -eq 1
touch "$VS_TMP/relA"; wait "$hA"
check "after all close, the fd count is back at baseline ($base_fds)" settle
after_rss=$(rss)
diag "after: $(fds) fds, $after_rss KB RSS (baseline $base_rss, peak $full_rss)"
rss_check "RSS after is within 1 MB of baseline ($after_rss vs $base_rss KB)" "$after_rss" $((base_rss + 1024))
# a second identical cycle: retention (the same pages reused) or a leak (growth)?
holder 10000 "$VS_TMP/relC" "$VS_TMP/heldC" & hC=$!
VS_CLEANUP_EXTRA="${VS_CLEANUP_EXTRA:+$VS_CLEANUP_EXTRA; }kill $hC 2>/dev/null"
wait_file "$VS_TMP/heldC"; sleep 0.5
check "10,000 connections were opened at once ($(cat "$VS_TMP/heldC"))" test "$(cat "$VS_TMP/heldC")" -eq 10000
touch "$VS_TMP/relC"; wait "$hC"; settle
second_rss=$(rss)
diag "after a second cycle of 10,000: $second_rss KB RSS (after the first: $after_rss KB)"
rss_check "a second cycle (10,000 connections) does not grow RSS by more than 512 KB" "$second_rss" $((after_rss + 512))
check "after 10,000 connections, the fd count is back at baseline ($base_fds)" settle
ok_after=0
for _ in $(seq 1 120); do granted && { ok_after=1; break; }; sleep 0.05; done
check "and a probe is served" test "$ok_after" -eq 1

# --- fd exhaustion, in three places. vaultd's fd limit is lowered, then
# 300 clients connect and wait. The limit bounds fd numbers, and the fds
# below vaultd's lowest free one are all taken, so:
#  - limit = lowest free fd: accept4 itself fails with EMFILE. The
#    connection stays queued and the listen socket readable, so a
#    level-triggered loop would wake for it forever: vaultd must refuse it
#    (the client reads EOF) instead;
#  - limit = lowest free fd + 2: accept4 succeeds, then opening the peer's
#    /proc files fails (a peer takes 7 fds: socket, pidfd, /proc/PID,
#    stat, status, cmdline, exe);
#  - limit 3, under every fd vaultd holds: no new fd can be made at all, as
#    when the system's file table is full (ENFILE). vaultd stops listening
#    and looks again once a second; the clients wait in connect.
# Each time: no spin, one log line, a probe that gets no value, and service
# back once the limit is raised.
lowest_free_fd() { local n=0; while [ -e "/proc/$VAULTD_PID/fd/$n" ]; do n=$((n + 1)); done; echo "$n"; }
out_of_fds_case() { # LIMIT WHAT RELEASE-FILE REPORT-FILE
    local lim=$1 what=$2 logged0 hD c0 c1
    logged0=$(grep -c 'out of file descriptors' "$VS_TMP/vaultd.log")
    prlimit --pid "$VAULTD_PID" --nofile="$lim:20000"
    holder 300 "$3" "$4" & hD=$!
    VS_CLEANUP_EXTRA="${VS_CLEANUP_EXTRA:+$VS_CLEANUP_EXTRA; }kill $hD 2>/dev/null"
    wait_file "$4"; sleep 0.3
    c0=$(cpu_ticks); sleep 2; c1=$(cpu_ticks)
    diag "out of fds, $what (limit $lim, $(fds) open, $(socks) sockets): vaultd used $((c1 - c0)) CPU ticks (of $(getconf CLK_TCK)/s) in 2 s idle"
    check "out of fds, $what: vaultd does not spin (under 0.2 s of CPU in 2 s)" test $((c1 - c0)) -lt $(( $(getconf CLK_TCK) / 5 ))
    check "out of fds, $what: \"out of file descriptors\" is logged once" \
        test "$(grep -c 'out of file descriptors' "$VS_TMP/vaultd.log")" -eq $((logged0 + 1))
    check "out of fds, $what: a probe gets no value" refused
    prlimit --pid "$VAULTD_PID" --nofile=20000:20000
    touch "$3"; wait "$hD"
    check "out of fds, $what: after they close, fds back at baseline" settle
    check "out of fds, $what: the probe is served again" granted
}
out_of_fds_case "$(lowest_free_fd)" "accept4 fails" "$VS_TMP/relD" "$VS_TMP/heldD"
out_of_fds_case $(( $(lowest_free_fd) + 2 )) "the peer's files fail" "$VS_TMP/relE" "$VS_TMP/heldE"
out_of_fds_case 3 "no fd at all" "$VS_TMP/relF" "$VS_TMP/heldF"

# --- silent client: closed by the idle sweep after 10 s
idle=$("$PY" - "$VAULT_SOCKET" <<'PYEOF'
import socket, sys, time
s = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
s.connect(sys.argv[1])
s.settimeout(20)
t = time.time()
try:
    data = s.recv(100)
except OSError:
    data = None
print("%.1f %s" % (time.time() - t, "closed" if data == b"" else "other"))
PYEOF
)
diag "a silent client: $idle (seconds until vaultd closed it)"
check "a silent client is closed by the idle sweep after 10-12 s" \
    awk -v x="$idle" 'BEGIN { split(x, a, " "); exit !(a[2] == "closed" && a[1] >= 9.5 && a[1] <= 12.5) }'
check "and the fd count is at baseline" settle

# --- disconnect between GRANTS and CONFIRM
before=$(grants_in_audit)
leaked=0
for _ in $(seq 1 200); do
    VS_PROBE=no-confirm "$T/probe" ok >"$VS_TMP/nc.out" 2>/dev/null
    grep -q '^grant .* [0-9a-f]\{64\}$' "$VS_TMP/nc.out" && leaked=$((leaked + 1))
done
check "200 clients gone between GRANTS and CONFIRM: no value reached any" test "$leaked" -eq 0
check "and no grant audit line was written for them" test "$(grants_in_audit)" -eq "$before"
check "the fd count is back at baseline" settle
check "the daemon still serves" granted

# --- a peer that sends requests faster than it reads the answers: vaultd
# never blocks on it; the answers wait in a bounded queue (outq.c), in
# order, and a peer with more than 1 MB of answers waiting is dropped
out=$(timeout 60 "$PY" "$T/probe.py" pipeline 3000)
check "3,000 PINGs sent before any answer is read: all answered, in order" test "$out" = "answered 3000 in order"
# (run as a copy of python whose name holds a newline: the log names the
# peer's exe, and a name the agent chose must not start a line of its own)
forged="$T/py"$'\n'"vaultd: forged"
cp "$PY" "$forged"
out=$(timeout 60 "$forged" "$T/probe.py" pipeline 150000 noread)
check "150,000 PINGs whose answers are never read: the peer is dropped" bash -c 'grep -qx closed <<<"$0"' "$out"
check "and vaultd's log says which peer it dropped, and why" \
    grep -q "dropped pid [0-9]* (.*/py?vaultd: forged): it reads too slowly: more than [0-9]* bytes of answers waiting" \
    "$VS_TMP/vaultd.log"
check "the newline in the peer's exe path did not start a line of vaultd's log" \
    bash -c '! grep -q "^vaultd: forged" "$0"' "$VS_TMP/vaultd.log"
rm -f "$forged"
check "the fd count is back at baseline" settle
# A refusal behind answers that wait for room: the peer gets them all, then
# the refusal's reason, then the close (not a bare close that loses both)
out=$(timeout 60 "$PY" "$T/probe.py" pipeline 3000 bad)
diag "pipeline then an unknown op: $(tr '\n' ' ' <<<"$out")"
check "3,000 PINGs then an unknown op, nothing read until then: all 3,000 answered, in order" \
    bash -c 'grep -qx "answered 3000 in order" <<<"$0"' "$out"
check "then the unknown op's own error, with its reason" bash -c 'grep -qx "error [0-9]*: unknown op 127" <<<"$0"' "$out"
check "then vaultd closes the connection" bash -c 'grep -qx closed <<<"$0"' "$out"
check "the fd count is back at baseline" settle
check "the daemon still serves" granted

# --- peers that send file descriptors
for _ in $(seq 1 200); do timeout 5 "$PY" "$T/probe.py" hostile fds >/dev/null 2>&1; done
check "200 peers sent an fd with a frame: the fd count is back at baseline" settle
check "no pipe end stays open in vaultd ($(pipes) pipes, baseline $base_pipes)" test "$(pipes)" -eq "$base_pipes"
check "the daemon still serves" granted
end_rss=$(rss)
diag "end: $(fds) fds, $end_rss KB RSS (baseline $base_fds fds, $base_rss KB)"
rss_check "the later cases did not grow RSS by more than 512 KB over the connection cycles" "$end_rss" $((second_rss + 512))
check "no value in the audit log or the daemon log" absent_in "$api" "$VAULT_HOME" "$VS_TMP/vaultd.log"
check "the audit chain verifies" bash -c '"$0" audit --verify >/dev/null' "$V"
check "vaultd's log has no sanitizer report" bash -c '! grep -qE "Sanitizer|runtime error" "$0"' "$VS_TMP/vaultd.log"
vs_end
