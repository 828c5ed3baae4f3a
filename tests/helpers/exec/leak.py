# A tool that leaks its LEAK_TOKEN to stdout and stderr in every encoded
# form the masker knows, in pieces, then exits with the status given as
# "exit=N". Run only through vault-exec with masking on: what reaches the
# caller must hold none of these forms.
import base64, json, os, sys, urllib.parse
v = os.environ.get("LEAK_TOKEN", "")
b = v.encode()
forms = [v, base64.b64encode(b).decode(), base64.b64encode(b"x" + b).decode(), base64.b64encode(b"xy" + b).decode(),
         base64.urlsafe_b64encode(b).decode(), b.hex(), b.hex().upper(), urllib.parse.quote(v, safe=""),
         json.dumps(v)]
for f in forms:
    half = len(f) // 2
    sys.stdout.write("form: " + f[:half]); sys.stdout.flush()
    sys.stdout.write(f[half:] + "\n"); sys.stdout.flush()
sys.stderr.write("err: " + v + "\n")
print("leaked", "yes" if v else "none")
for a in sys.argv[1:]:
    if a.startswith("exit="):
        sys.exit(int(a[5:]))
