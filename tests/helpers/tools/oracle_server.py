#!/usr/bin/env python3
"""Loopback stand-ins for the oracle battery (tests/integration/oracles.sh).
Each reports only whether a request carried the expected credential, never a
value: one line per request in LOG ("MODE match" / "MODE mismatch" /
"MODE none"); prints its port on stdout; serves until killed or LIFETIME s.

usage: oracle_server.py MODE TOKEN_FILE LOG [LIFETIME] [CERT KEY]

  https  an API over TLS (CERT, KEY): Basic agent:TOKEN -> 200 "welcome",
         else 401 "who are you?"
  npm    a registry: GET /-/whoami with "Bearer TOKEN" -> {"username":
         "vault-agent"}, else 401
  gh     the GitHub API as gh reaches it through this server as its HTTP
         proxy (host api.github.localhost): "token TOKEN" -> GraphQL answers
         with an empty pull request list, /user with a login; else 401
  sink   anything: logs "sink hit", "sink hit with a vaulted value" when any
         word of TOKEN_FILE (raw or base64) is in the request line, headers
         or body, else "sink hit with another credential (USER-AGENT)" when an
         Authorization or Proxy-Authorization header came; answers 502 (a
         proxy or host that must never get a vaulted value)"""
import base64, http.server, json, ssl, sys, threading

mode, token_file, log_path = sys.argv[1], sys.argv[2], sys.argv[3]
lifetime = float(sys.argv[4]) if len(sys.argv) > 4 else 300
token = open(token_file).read().strip()
values = [v for v in open(token_file).read().split() if v]  # sink: every value to watch for
lock = threading.Lock()


def log(word):
    with lock, open(log_path, "a") as f:
        f.write("%s %s\n" % (mode, word))


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def answer(self, code, body, ctype="application/json"):
        self.send_response(code)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def judge(self, want):
        got = self.headers.get("Authorization")
        log("none" if not got else ("match" if got == want else "mismatch"))
        return got == want

    def handle_any(self):
        n = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(n) if n else b""
        if mode == "sink":
            seen = (self.requestline + "\n" + str(self.headers)).encode() + body
            forms = [f for v in values for f in (v.encode(), base64.b64encode(v.encode()))]
            sent = self.headers.get("Authorization") or self.headers.get("Proxy-Authorization")
            if any(f in seen for f in forms):
                log("hit with a vaulted value")
            else:
                log("hit with another credential (%s)" % self.headers.get("User-Agent", "?") if sent else "hit")
            return self.answer(502, b"sink\n", "text/plain")
        if mode == "https":
            basic = "Basic " + base64.b64encode(("agent:" + token).encode()).decode()
            ok = self.judge(basic)
            return self.answer(200 if ok else 401, b"welcome\n" if ok else b"who are you?\n", "text/plain")
        if mode == "npm":
            if not self.judge("Bearer " + token):
                return self.answer(401, b'{"error":"unauthorized"}')
            return self.answer(200, b'{"username":"vault-agent"}')
        if mode == "gh":
            if not self.judge("token " + token):
                return self.answer(401, b'{"message":"Bad credentials"}')
            if self.path.endswith("/graphql"):
                prs = {"totalCount": 0, "nodes": [], "pageInfo": {"hasNextPage": False, "endCursor": None}}
                body = {"data": {"repository": {"pullRequests": prs, "hasIssuesEnabled": True}}}
                return self.answer(200, json.dumps(body).encode())
            return self.answer(200, b'{"login":"vault-agent"}')
        self.answer(500, b"unknown mode\n", "text/plain")

    do_GET = do_POST = do_PUT = do_CONNECT = handle_any

    def log_message(self, *args):
        pass


server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
if mode == "https":
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(sys.argv[5], sys.argv[6])
    server.socket = ctx.wrap_socket(server.socket, server_side=True)
print(server.server_address[1], flush=True)
threading.Timer(lifetime, server.shutdown).start()
server.serve_forever()
