#!/usr/bin/env python3
"""The agent's own vaultd client (leak battery, socket class). Every mode
ends by printing, raw, any value vaultd sent, so a grant that should not
happen shows up in the output the battery scans.

usage: sock_attack.py valid | broken | replay | forkexec TOOL ARGS...
Socket: $VAULT_SOCKET."""
import ctypes, os, random, socket, struct, sys, time

OP_GRANTS, OP_CONFIRM, OP_ERROR = 0x01, 0x02, 0x81
F_VALUE, F_REASON = 2, 6


def frame(op, fields=(), rid=1):
    body = b"".join(struct.pack("<HI", t, len(v)) + v for t, v in fields)
    return struct.pack("<BBHI", 1, op, 0, rid) + body


def connect():
    s = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    s.connect(os.environ["VAULT_SOCKET"])
    s.setsockopt(socket.SOL_SOCKET, socket.SO_PASSCRED, 1)
    return s


def show(tag, reply):
    """Prints the op, the reason and every value, raw."""
    if not reply:
        print(tag, "closed"); return
    op = reply[1] if len(reply) > 1 else -1
    at, out = 8, []
    while at + 6 <= len(reply):
        t, n = struct.unpack_from("<HI", reply, at)
        v = reply[at + 6:at + 6 + n]
        if t == F_VALUE:
            out.append("VALUE=" + v.decode(errors="replace"))
        elif t == F_REASON:
            out.append("reason=" + v.decode(errors="replace"))
        at += 6 + n
    print(tag, "op=0x%02x" % op, " ".join(out), flush=True)


def ask(s, data, tag):
    try:
        s.send(data)
        s.settimeout(5)
        reply = s.recv(70000)
    except OSError as e:
        print(tag, "error", e); return b""
    show(tag, reply)
    return reply


def handshake(s, tag):
    """GRANTS, non-dumpable, CONFIRM: what a granted shim does."""
    r = ask(s, frame(OP_GRANTS), tag + " grants")
    if r and r[1] != OP_ERROR:
        ctypes.CDLL(None).prctl(4, 0, 0, 0, 0)
        ask(s, frame(OP_CONFIRM), tag + " confirm")


def main():
    mode = sys.argv[1]
    if mode == "valid":
        handshake(connect(), "valid")
    elif mode == "broken":
        for name, data in (("truncated", frame(OP_GRANTS, [(7, b"agent")])[:-2]), ("unknown-op", frame(0x7f)),
                           ("random", os.urandom(random.randint(1, 2000))), ("bad-version", b"\x09" + frame(OP_GRANTS)[1:]),
                           ("huge-field", frame(OP_GRANTS)[:8] + struct.pack("<HI", 7, 1 << 30))):
            ask(connect(), data, "broken " + name)
        handshake(connect(), "after-broken")
    elif mode == "replay":
        # CONFIRM with no GRANTS before it; a second GRANTS; a recorded
        # GRANTS frame replayed on a new connection.
        ask(connect(), frame(OP_CONFIRM), "confirm-first")
        s = connect()
        rec = frame(OP_GRANTS, rid=7)
        ask(s, rec, "grants")
        ask(s, rec, "grants-again")
        ctypes.CDLL(None).prctl(4, 0, 0, 0, 0)
        ask(s, frame(OP_CONFIRM, rid=7), "confirm")
        ask(s, frame(OP_CONFIRM, rid=7), "confirm-again")
        handshake(connect(), "replayed")
    elif mode == "forkexec":
        # connect, fork: the parent execs the allowlisted tool (same pid as
        # the connection), the child speaks on the inherited socket.
        s = connect()
        os.set_inheritable(s.fileno(), True)
        pid = os.fork()
        if pid > 0:
            os.execv(sys.argv[2], sys.argv[2:])
        time.sleep(1.0)
        handshake(s, "child")
        os._exit(0)


main()
