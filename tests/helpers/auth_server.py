#!/usr/bin/env python3
"""A loopback HTTP server for tests that requires a credential and reports
only whether it matched: 200 "welcome" for Basic auth agent:TOKEN or
"Authorization: Bearer TOKEN", 401 otherwise. The expected token is read
from a file (never argv). Prints the port on stdout, serves until killed or
for at most LIFETIME seconds.

usage: auth_server.py TOKEN_FILE [LIFETIME]"""
import base64, http.server, sys, threading

token = open(sys.argv[1]).read().strip()
basic = "Basic " + base64.b64encode(("agent:" + token).encode()).decode()
bearer = "Bearer " + token

class Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        ok = self.headers.get("Authorization") in (basic, bearer)
        body = b"welcome\n" if ok else b"who are you?\n"
        self.send_response(200 if ok else 401)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
    def log_message(self, *args):
        pass

server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
print(server.server_address[1], flush=True)
threading.Timer(float(sys.argv[2]) if len(sys.argv) > 2 else 300, server.shutdown).start()
server.serve_forever()
