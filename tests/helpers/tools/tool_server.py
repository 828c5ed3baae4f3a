#!/usr/bin/env python3
"""Loopback stand-ins for the AWS STS and GitHub APIs, for the real-tool
battery (tests/integration/shim_tools.sh). Reports only whether a request
carried the expected credential, never a value.

usage: tool_server.py MODE EXPECTED_FILE LOG [LIFETIME]

  sts  the aws CLI's `sts get-caller-identity --endpoint-url`: the SigV4
       Authorization header's Credential= key id must equal line 1 of
       EXPECTED_FILE, and the signature, recomputed with the secret on line 2,
       must match. Answers a GetCallerIdentity document, or 403.
  gh   gh as an HTTP client through this server as its proxy (absolute URIs,
       host api.github.localhost): "Authorization: token T" with T = line 1.
       Answers /user, / (with X-Oauth-Scopes) and /graphql (viewer login).

Appends one line per request to LOG: "MODE match" or "MODE mismatch REASON"
(gh: "no credential" when none or an empty one was sent, as `gh auth status`
sends without a token, else "another credential").
Prints its port on stdout; serves until killed or for LIFETIME seconds."""
import hashlib, hmac, http.server, json, re, sys, threading
from urllib.parse import urlsplit

mode, expected_file, log_path = sys.argv[1], sys.argv[2], sys.argv[3]
lines = open(expected_file).read().split("\n")
expected = lines[0].strip()
secret = lines[1].strip() if len(lines) > 1 else ""
log_lock = threading.Lock()


def log(line):
    with log_lock, open(log_path, "a") as f:
        f.write(mode + " " + line + "\n")


def sigv4_check(method, path, query, headers, body):
    auth = headers.get("Authorization") or ""
    m = re.match(r"AWS4-HMAC-SHA256 Credential=([^/]+)/([^,]+), *SignedHeaders=([^,]+), *Signature=([0-9a-f]+)$", auth)
    if not m:
        return "no SigV4 Authorization header"
    key_id, scope, signed, signature = m.groups()
    if key_id != expected:
        return "another key id"
    if not secret:
        return None
    date, region, service, _ = scope.split("/")
    canon_headers = "".join("%s:%s\n" % (h, " ".join((headers.get(h) or "").split()))
                            for h in signed.split(";"))
    canon_query = "&".join(sorted(q for q in query.split("&") if q))
    canon = "\n".join([method, path or "/", canon_query, canon_headers, signed,
                       hashlib.sha256(body).hexdigest()])
    to_sign = "\n".join(["AWS4-HMAC-SHA256", headers.get("X-Amz-Date") or "", scope,
                         hashlib.sha256(canon.encode()).hexdigest()])
    k = ("AWS4" + secret).encode()
    for part in (date, region, service, "aws4_request"):
        k = hmac.new(k, part.encode(), hashlib.sha256).digest()
    if not hmac.compare_digest(hmac.new(k, to_sign.encode(), hashlib.sha256).hexdigest(), signature):
        return "bad signature"
    return None


STS_OK = (b'<GetCallerIdentityResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/">'
          b'<GetCallerIdentityResult><Arn>arn:aws:iam::123456789012:user/vault-agent</Arn>'
          b'<UserId>AIDAVAULTAGENT</UserId><Account>123456789012</Account></GetCallerIdentityResult>'
          b'<ResponseMetadata><RequestId>00000000-0000-0000-0000-000000000001</RequestId>'
          b'</ResponseMetadata></GetCallerIdentityResponse>')
STS_DENIED = (b'<ErrorResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><Error><Type>Sender</Type>'
              b'<Code>InvalidClientTokenId</Code><Message>The security token included in the request is '
              b'invalid.</Message></Error><RequestId>00000000-0000-0000-0000-000000000002</RequestId></ErrorResponse>')


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def answer(self, code, body, ctype, extra=()):
        self.send_response(code)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        for k, v in extra:
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(body)

    def handle_any(self):
        n = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(n) if n else b""
        url = urlsplit(self.path)
        if mode == "sts":
            why = sigv4_check(self.command, url.path, url.query, self.headers, body)
            log("match" if why is None else "mismatch " + why)
            if why is None:
                self.answer(200, STS_OK, "text/xml")
            else:
                self.answer(403, STS_DENIED, "text/xml")
            return
        auth = self.headers.get("Authorization") or ""
        given = re.sub(r"^token\b", "", auth).strip()
        ok = given == expected
        log(("match " if ok else "mismatch no credential " if not given else "mismatch another credential ")
            + (url.hostname or "-") + url.path)
        if not ok:
            self.answer(401, b'{"message":"Bad credentials"}', "application/json")
        elif url.path.endswith("/graphql"):
            self.answer(200, b'{"data":{"viewer":{"login":"vault-agent"}}}', "application/json")
        else:
            self.answer(200, b'{"login":"vault-agent","id":1}', "application/json",
                        [("X-Oauth-Scopes", "repo, read:org")])

    do_GET = do_POST = do_HEAD = handle_any

    def log_message(self, *args):
        pass


server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
print(server.server_address[1], flush=True)
threading.Timer(float(sys.argv[4]) if len(sys.argv) > 4 else 300, server.shutdown).start()
server.serve_forever()
