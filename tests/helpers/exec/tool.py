#!/usr/bin/python3
# A Python tool for mediated runs: prints the sha256 of its PY_TOKEN and of
# the file AWS_SHARED_CREDENTIALS_FILE names ("none" when absent), never a
# value. Exits with the status given as "exit=N".
import hashlib, os, sys
v = os.environ.get("PY_TOKEN")
print("env", hashlib.sha256(v.encode()).hexdigest() if v else "none")
p = os.environ.get("AWS_SHARED_CREDENTIALS_FILE")
if p:
    with open(p, "rb") as f:
        print("file", hashlib.sha256(f.read()).hexdigest())
else:
    print("file none")
for a in sys.argv[1:]:
    if a.startswith("exit="):
        sys.exit(int(a[5:]))
