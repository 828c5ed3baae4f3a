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
if "child" in sys.argv[1:]:
    import subprocess
    env = subprocess.run(["/usr/bin/env"], capture_output=True, text=True).stdout.splitlines()
    names = {e.split("=", 1)[0] for e in env}
    print("child marker", "yes" if "VAULTSHIM_MEDIATED" in names else "no",
          "token", "yes" if "PY_TOKEN" in names else "no")
for a in sys.argv[1:]:
    if a.startswith("exit="):
        sys.exit(int(a[5:]))
