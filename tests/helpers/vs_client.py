#!/usr/bin/env python3
"""A vaultd client in Python for tests: as an interpreter tool it does the
shim's handshake and prints digests only ("grant NAME vN SHA256"); as an
attacker it sends hostile frames.

usage: vs_client.py grant                 GRANTS, non-dumpable, CONFIRM
       vs_client.py grant-hidden          non-dumpable first, then GRANTS (must be refused)
       vs_client.py grant-one             non-dumpable, then GRANTS with ONE_STEP: the values at once
       vs_client.py grant-one-dumpable    GRANTS with ONE_STEP while still dumpable (must be refused)
       vs_client.py grant-one-confirm     grant-one, then a CONFIRM on top (must be refused)
       vs_client.py burst PATH            as the shim: non-dumpable, GRANTS with ONE_STEP and
                                          RENDER_FILE PATH sent at once, then both answers
       vs_client.py burst-render-first PATH   RENDER_FILE sent ahead of GRANTS (must be refused)
       vs_client.py burst-dumpable PATH   burst while still dumpable (must be refused, with its reason)
       vs_client.py with-files [VARIANT]  as the shim: non-dumpable, one frame GRANTS with ONE_STEP and
                                          WITH_FILES, then the GRANT_LIST and one render per PATH in it;
                                          VARIANT two-step (WITH_FILES on CONFIRM), dumpable, no-step
                                          (WITH_FILES without ONE_STEP), bad (WITH_FILES = 2),
                                          hangup (the socket closed right after the request)
       vs_client.py hostile KIND          empty|big|random|unknown-op|reply-op|truncated|fds
       vs_client.py hold N SECONDS        open N connections and hold them
       vs_client.py pipeline N [noread]   N PINGs sent before any answer is read; after 1 s, the
                                          answers: prints "answered K in order" (or "out of
                                          order"), then "closed" if vaultd closed the connection;
                                          with noread the answers are drained uncounted, only to
                                          see whether vaultd closed it; with bad an unknown op
                                          follows the PINGs, and its error is printed ("error
                                          ID: REASON") if it arrives behind their answers
Socket: $VAULT_SOCKET."""
import ctypes, hashlib, os, random, socket, struct, sys, time

OP_GRANTS, OP_CONFIRM, OP_RENDER_FILE, OP_PING = 0x01, 0x02, 0x03, 0x08
OP_OK, OP_ERROR, OP_GRANT_LIST = 0x80, 0x81, 0x82
F_NAME, F_VALUE, F_PATH, F_FILE_DATA, F_ERRCODE, F_REASON, F_VERSION, F_ONE_STEP = 1, 2, 3, 4, 5, 6, 11, 24
F_WITH_FILES = 25

def frame(op, fields=(), rid=1):
    body = b"".join(struct.pack("<HI", t, len(v)) + v for t, v in fields)
    return struct.pack("<BBHI", 1, op, 0, rid) + body

def parse(data):
    if len(data) < 8:
        raise ValueError("short reply")
    _, op, _, _ = struct.unpack_from("<BBHI", data)
    fields, at = [], 8
    while at < len(data):
        t, n = struct.unpack_from("<HI", data, at)
        fields.append((t, data[at + 6:at + 6 + n]))
        at += 6 + n
    return op, fields

def connect():
    s = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    s.connect(os.environ["VAULT_SOCKET"])
    return s

def call(s, data):
    s.send(data)
    reply = s.recv(70000)
    if not reply:
        raise ConnectionError("closed")
    return parse(reply)

def refused(fields):
    reason = dict(fields).get(F_REASON, b"").decode(errors="replace")
    print("refused: " + reason, file=sys.stderr)
    return 3

def grant(hidden_first=False):
    if hidden_first:
        ctypes.CDLL(None).prctl(4, 0, 0, 0, 0)  # PR_SET_DUMPABLE, 0: closed to a same-uid vaultd
    s = connect()
    op, fields = call(s, frame(OP_GRANTS))
    if op == OP_ERROR:
        return refused(fields)
    ctypes.CDLL(None).prctl(4, 0, 0, 0, 0)  # PR_SET_DUMPABLE, 0
    op, fields = call(s, frame(OP_CONFIRM))
    if op == OP_ERROR:
        return refused(fields)
    return show(fields)

def show(fields):
    name = None
    for t, v in fields:
        if t == F_NAME:
            name = v.decode()
        elif t == F_VALUE:
            digest = hashlib.sha256(v).hexdigest()
        elif t == F_VERSION:
            print("grant %s %d %s" % (name, struct.unpack("<I", v)[0], digest))
    return 0

def grant_one(dumpable=False, confirm_after=False):
    if not dumpable:
        ctypes.CDLL(None).prctl(4, 0, 0, 0, 0)  # PR_SET_DUMPABLE, 0
    s = connect()
    op, fields = call(s, frame(OP_GRANTS, [(F_ONE_STEP, struct.pack("<I", 1))]))
    if op == OP_ERROR:
        return refused(fields)
    if op != OP_GRANT_LIST:
        print("unexpected reply op=0x%02x" % op, file=sys.stderr)
        return 4
    rc = show(fields)
    if confirm_after:
        op, fields = call(s, frame(OP_CONFIRM))
        if op == OP_ERROR:
            return refused(fields)
        print("a CONFIRM after ONE_STEP was answered op=0x%02x" % op, file=sys.stderr)
        return 5
    return rc

def receive(s):
    """One answer; a socket vaultd closed with frames of ours unread reports
    ECONNRESET once, ahead of the answer still queued (as the C client)."""
    for attempt in (0, 1):
        try:
            reply = s.recv(70000)
            break
        except ConnectionResetError:
            if attempt == 1:
                raise
    if not reply:
        raise ConnectionError("closed")
    return parse(reply)

def burst(path, dumpable=False, render_first=False):
    if not dumpable:
        ctypes.CDLL(None).prctl(4, 0, 0, 0, 0)  # PR_SET_DUMPABLE, 0
    s = connect()
    grants = frame(OP_GRANTS, [(F_ONE_STEP, struct.pack("<I", 1))])
    render = frame(OP_RENDER_FILE, [(F_PATH, path.encode())], rid=2)
    for data in ((render, grants) if render_first else (grants, render)):
        try:
            s.send(data)
        except OSError:
            break  # vaultd already refused and closed: its answer is queued

    rc = 0
    for _ in range(2):
        try:
            op, fields = receive(s)
        except (ConnectionError, OSError):
            break  # closed after a refusal: nothing more comes
        if op == OP_ERROR:
            rc = refused(fields)
        elif op == OP_GRANT_LIST:
            show(fields)
        elif op == OP_OK:
            data = dict(fields).get(F_FILE_DATA, b"")
            print("file %s" % hashlib.sha256(data).hexdigest())
    return rc

def with_files(variant=""):
    one = struct.pack("<I", 1)
    if variant != "dumpable":
        ctypes.CDLL(None).prctl(4, 0, 0, 0, 0)  # PR_SET_DUMPABLE, 0
    s = connect()
    if variant == "two-step":
        op, fields = call(s, frame(OP_GRANTS))
        if op == OP_ERROR:
            return refused(fields)
        s.send(frame(OP_CONFIRM, [(F_WITH_FILES, one)]))
    else:
        req = [(F_WITH_FILES, struct.pack("<I", 2) if variant == "bad" else one)]
        if variant != "no-step":
            req.insert(0, (F_ONE_STEP, one))
        s.send(frame(OP_GRANTS, req))
    if variant == "hangup":  # gone before any answer, alive while vaultd decides
        s.close()
        time.sleep(1)
        return 0
    op, fields = receive(s)
    if op == OP_ERROR:
        return refused(fields)
    if op != OP_GRANT_LIST:
        print("unexpected reply op=0x%02x" % op, file=sys.stderr)
        return 4
    show(fields)
    for _ in range(sum(1 for t, _ in fields if t == F_PATH)):
        op, fields = receive(s)
        if op == OP_ERROR:
            return refused(fields)
        print("file %s" % hashlib.sha256(dict(fields).get(F_FILE_DATA, b"")).hexdigest())
    s.settimeout(0.5)  # nothing more may come: one answer per file
    try:
        extra = s.recv(70000)
    except socket.timeout:
        extra = b""
    if extra:
        print("an answer more than the files: op=0x%02x" % parse(extra)[0], file=sys.stderr)
        return 6
    return 0

def hostile(kind):
    s = connect()
    if kind == "empty":
        s.send(b"")
    elif kind == "big":
        try:
            s.send(os.urandom(1 << 20))  # 1 MiB
        except OSError:
            return 0  # the kernel refused it: nothing reached vaultd
    elif kind == "random":
        s.send(os.urandom(random.randint(1, 4000)))
    elif kind == "unknown-op":
        s.send(frame(0x7f))
    elif kind == "reply-op":
        s.send(frame(OP_GRANT_LIST))
    elif kind == "truncated":
        s.send(frame(OP_GRANTS, [(7, b"agent")])[:-2])
    elif kind == "fds":
        r, w = os.pipe()
        s.sendmsg([frame(OP_PING)], [(socket.SOL_SOCKET, socket.SCM_RIGHTS, struct.pack("i", r))])
    s.settimeout(5)
    try:
        reply = s.recv(70000)
    except OSError:
        return 0
    if reply:
        op, fields = parse(reply)
        print("reply op=0x%02x %s" % (op, dict(fields).get(F_REASON, b"").decode(errors="replace")))
    return 0

def hold(n, seconds):
    conns = []
    for _ in range(n):
        try:
            conns.append(connect())
        except OSError:
            break
    print("held %d" % len(conns), flush=True)
    time.sleep(seconds)
    return 0

def pipeline(n, read=True, bad=False):
    s = connect()
    sent, closed, error = 0, False, None
    try:
        for i in range(n):
            s.send(frame(OP_PING, rid=i + 1))
            sent += 1
        if bad:
            s.send(frame(0x7f, rid=n + 1))
    except OSError:
        closed = True
    time.sleep(1)
    ids = []
    s.settimeout(2)
    try:
        while read and len(ids) < sent:
            r = s.recv(70000)
            if not r:
                closed = True
                break
            ids.append(struct.unpack_from("<I", r, 4)[0])
        if bad and read:
            r = s.recv(70000)
            if r and parse(r)[0] == OP_ERROR:
                reason = dict(parse(r)[1]).get(F_REASON, b"").decode(errors="replace")
                error = "error %d: %s" % (struct.unpack_from("<I", r, 4)[0], reason)
            if not r or not s.recv(70000):
                closed = True
        if not read:
            while s.recv(70000):
                pass
            closed = True
    except socket.timeout:
        pass
    except OSError:
        closed = True
    order = "in order" if ids == list(range(1, len(ids) + 1)) else "out of order"
    print("answered %d %s" % (len(ids), order))
    if error is not None:
        print(error)
    if closed:
        print("closed")
    return 0

if __name__ == "__main__":
    mode = sys.argv[1] if len(sys.argv) > 1 else "grant"
    if mode == "grant":
        sys.exit(grant())
    if mode == "grant-hidden":
        sys.exit(grant(hidden_first=True))
    if mode == "grant-one":
        sys.exit(grant_one())
    if mode == "grant-one-dumpable":
        sys.exit(grant_one(dumpable=True))
    if mode == "grant-one-confirm":
        sys.exit(grant_one(confirm_after=True))
    if mode == "burst":
        sys.exit(burst(sys.argv[2]))
    if mode == "burst-render-first":
        sys.exit(burst(sys.argv[2], render_first=True))
    if mode == "burst-dumpable":
        sys.exit(burst(sys.argv[2], dumpable=True))
    if mode == "with-files":
        sys.exit(with_files(sys.argv[2] if len(sys.argv) > 2 else ""))
    if mode == "hostile":
        sys.exit(hostile(sys.argv[2]))
    if mode == "pipeline":
        sys.exit(pipeline(int(sys.argv[2]), read=len(sys.argv) < 4 or sys.argv[3] != "noread",
                          bad=len(sys.argv) > 3 and sys.argv[3] == "bad"))
    if mode == "hold":
        sys.exit(hold(int(sys.argv[2]), float(sys.argv[3])))
    sys.exit("unknown mode")
