#!/usr/bin/env python3
"""The leak battery's loopback listeners (tests/e2e/leak_battery.sh).

  sink DIR   a server the attacker controls: records every byte it receives
             (HTTP requests, proxy requests, CONNECT lines, bodies) into
             DIR/CASE.bin, where CASE is set by a marker request
             "GET /__case__/CASE" (the battery sends one before each case).
             Answers 401 with a Basic challenge to a request without
             credentials, 200 "sink" otherwise.
  slow SECS  a server that holds each request SECS seconds before answering
             200: it keeps an allowlisted tool running while the battery
             attacks it. Records nothing (the tool's grant is legitimate).

Prints its port on stdout; serves until killed or for at most LIFETIME
seconds. usage: sink.py sink DIR [LIFETIME] | sink.py slow SECS [LIFETIME]"""
import os, re, socket, sys, threading, time

mode, arg = sys.argv[1], sys.argv[2]
lifetime = float(sys.argv[3]) if len(sys.argv) > 3 else 600
current = ["none"]
lock = threading.Lock()


def record(data):
    with lock:
        with open(os.path.join(arg, current[0] + ".bin"), "ab") as f:
            f.write(data)


def read_request(conn):
    """Reads one request: headers, then a Content-Length body. Returns bytes."""
    data = b""
    conn.settimeout(5)
    try:
        while b"\r\n\r\n" not in data and len(data) < 1 << 20:
            chunk = conn.recv(65536)
            if not chunk:
                return data
            data += chunk
        head = data.split(b"\r\n\r\n", 1)[0]
        m = re.search(rb"(?im)^content-length:\s*(\d+)", head)
        want = len(head) + 4 + (int(m.group(1)) if m else 0)
        while len(data) < want:
            chunk = conn.recv(65536)
            if not chunk:
                break
            data += chunk
    except OSError:
        pass
    return data


def handle(conn):
    with conn:
        data = read_request(conn)
        m = re.match(rb"GET /__case__/([A-Za-z0-9_.-]+) ", data)
        if mode == "sink":
            if m:
                with lock:
                    current[0] = m.group(1).decode()
            else:
                record(data)
        else:
            time.sleep(float(arg))
        body = b"sink\n"
        # Like a real attacker's server, the sink asks for credentials
        # (401, Basic) from a client that sent none, so tools that answer
        # a challenge (git, npm) offer theirs.
        status = b"200 OK" if mode == "slow" or m or re.search(rb"(?im)^(proxy-)?authorization:", data) \
            else b"401 Unauthorized\r\nWWW-Authenticate: Basic realm=\"sink\""
        try:
            conn.sendall(b"HTTP/1.1 %s\r\nContent-Length: %d\r\nConnection: close\r\n\r\n%s" % (status, len(body), body))
        except OSError:
            pass


srv = socket.socket()
srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
srv.bind(("127.0.0.1", 0))
srv.listen(64)
print(srv.getsockname()[1], flush=True)
threading.Timer(lifetime, lambda: os._exit(0)).start()
while True:
    c, _ = srv.accept()
    threading.Thread(target=handle, args=(c,), daemon=True).start()
