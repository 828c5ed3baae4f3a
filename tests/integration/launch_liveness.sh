#!/usr/bin/env bash
# The launchers fail closed: `vaultctl run` and `vault-run` start the command
# only once vaultd has answered them. A hung vaultd (stopped), one that
# closes the connection unanswered (what a vaultd that cannot inspect the
# caller does), a crashed one (its socket file left behind): each is refused
# with one line, within the launcher's bound, and the command does not run.
# A vaultd that answers late but within the bound is waited for.
. "$(dirname "$0")/../lib.sh"
vs_clean_env "$@"
vs_begin
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
V=$VAULTCTL
RUN=$ROOT/scripts/vault-run
export VAULTCTL=$V VAULTSHIM_LIB=$VS_BUILD/libvaultshim.so
vs_trusted_dir
"$V" init --keyfile >/dev/null
printf 'protect = [ "*_TOKEN" ];\ntools = ( );\n' >"$VS_TRUSTED/policy.conf"
chmod 644 "$VS_TRUSTED/policy.conf"
check "vaultd starts" vs_start_vaultd "$VS_TRUSTED/policy.conf"
S=$VAULT_SOCKET

# refused LAUNCHER-WORDS...: exit 1, one line naming the socket, the command
# (touch) not run, and an answer within 15 s (the launchers wait 5 s at most).
refused() {
    rm -f "$VS_TMP/ran"
    run timeout 15 "$@" -- touch "$VS_TMP/ran"; local rc=$?
    [ "$rc" = 1 ] || { diag "exit $rc (124: still waiting after 15 s): $(head -c 300 "$VS_TMP/err")"; return 1; }
    [ "$(wc -l <"$VS_TMP/err")" = 1 ] || { diag "stderr: $(head -c 300 "$VS_TMP/err")"; return 1; }
    grep -qE "^vaultctl: run: vaultd not answering at $S$" "$VS_TMP/err" || { diag "stderr: $(cat "$VS_TMP/err")"; return 1; }
    [ ! -e "$VS_TMP/ran" ] || { diag "the command ran"; return 1; }
}
ran() { rm -f "$VS_TMP/ran"; timeout 15 "$@" -- touch "$VS_TMP/ran" && [ -e "$VS_TMP/ran" ]; }

check "vaultd answering: vaultctl run runs the command" ran "$V" run
check "vaultd answering: vault-run runs the command" ran "$RUN"

# --- hung: stopped, its socket still accepting into the backlog
kill -STOP "$VAULTD_PID"
vs_add_cleanup "kill -CONT $VAULTD_PID 2>/dev/null"
check "vaultd stopped: vaultctl run refuses with one line, the command not run" refused "$V" run
check "vaultd stopped: vault-run refuses the same way" refused "$RUN"
check "vaultd stopped: vaultctl run --agent refuses too" refused "$V" run --agent hung
waited() { local start=$SECONDS; refused "$@" && [ $((SECONDS - start)) -ge 4 ]; }
check "... after about 5 s, not at once (it waited for an answer)" waited "$V" run
# A stopped vaultd whose backlog is full: connect itself would wait forever.
vs_fill_backlog "$S"
check "vaultd stopped, its backlog full: vaultctl run refuses within the bound" refused "$V" run
kill "$VS_FLOOD_PID" 2>/dev/null; wait "$VS_FLOOD_PID" 2>/dev/null

# --- slow: answers after a second; the launcher waits and runs the command
(sleep 1; kill -CONT "$VAULTD_PID") &
waker=$!
check "vaultd answering after 1 s: the command runs" ran "$V" run
wait "$waker"
check "vaultd is serving again" bash -c '"$0" status >/dev/null' "$V"

# --- closes unanswered: a listener that accepts and closes each connection,
# as vaultd does when it cannot inspect the caller (entrypoint.sh runs the
# real case: a vaultd without its capabilities)
C=$VS_TMP/closer.sock
python3 - "$C" <<'PY' &
import socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
s.bind(sys.argv[1]); s.listen(8); s.settimeout(30)
for _ in range(20):
    try:
        c, _ = s.accept()
    except socket.timeout:
        break
    c.close()
PY
closer=$!
vs_add_cleanup "kill $closer 2>/dev/null"
for _ in $(seq 1 100); do [ -S "$C" ] && break; sleep 0.05; done
S=$C
check "a listener that closes unanswered: vaultctl run refuses" refused "$V" run --socket "$C"
check "... and vault-run" refused "$RUN" --socket "$C"
kill "$closer" 2>/dev/null; wait "$closer" 2>/dev/null

# --- --agent: the session request shares the PING's connection. A server
# that answers the PING and then refuses the session, drops the connection
# or says nothing: one line each, the command not run.
A=$VS_TMP/agentsrv.sock
python3 - "$A" <<'PY' &
import socket, struct, sys, time
def frame(op, fields=(), rid=1):
    body = b"".join(struct.pack("<HI", t, len(v)) + v for t, v in fields)
    return struct.pack("<BBHI", 1, op, 0, rid) + body
s = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
s.bind(sys.argv[1]); s.listen(8); s.settimeout(60)
for mode in ("refuse", "drop", "silent"):
    c, _ = s.accept()
    c.settimeout(10)
    ping = c.recv(65536)
    c.send(frame(0x80, (), struct.unpack("<I", ping[4:8])[0]))
    req = c.recv(65536)
    rid = struct.unpack("<I", req[4:8])[0]
    if mode == "refuse":
        c.send(frame(0x81, ((5, struct.pack("<I", 16)), (6, b"no sessions today")), rid))
    elif mode == "silent":
        time.sleep(8)
    c.close()
PY
agentsrv=$!
vs_add_cleanup "kill $agentsrv 2>/dev/null"
for _ in $(seq 1 100); do [ -S "$A" ] && break; sleep 0.05; done
# said LINE LAUNCHER...: exit 1, exactly LINE on stderr, the command not run.
said() {
    local want=$1; shift
    rm -f "$VS_TMP/ran"
    run timeout 15 "$@" -- touch "$VS_TMP/ran"; local rc=$?
    [ "$rc" = 1 ] && [ "$(cat "$VS_TMP/err")" = "$want" ] && [ ! -e "$VS_TMP/ran" ] ||
        { diag "exit $rc: $(head -c 300 "$VS_TMP/err")"; return 1; }
}
check "--agent, the session refused after the PING: vaultd's reason, one line" \
    said "vaultctl: run: no sessions today" "$V" run --socket "$A" --agent x
check "--agent, the connection dropped after the PING: one line" \
    said "vaultctl: run: vaultd at $A closed the connection" "$V" run --socket "$A" --agent x
check "--agent, no answer to the session request: one line after the bound" \
    said "vaultctl: run: vaultd at $A did not answer the session request in time" "$V" run --socket "$A" --agent x
kill "$agentsrv" 2>/dev/null; wait "$agentsrv" 2>/dev/null

# --- crashed: killed, its socket file left behind
S=$VAULT_SOCKET
kill -KILL "$VAULTD_PID"; wait "$VAULTD_PID" 2>/dev/null
check "vaultd killed (socket file left): the file is still there" [ -S "$S" ]
start=$SECONDS
check "... vaultctl run refuses" refused "$V" run
check "... vault-run refuses" refused "$RUN"
check "... at once (connection refused)" [ $((SECONDS - start)) -le 3 ]
vs_end
