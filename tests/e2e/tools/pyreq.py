"""An allowlisted interpreter tool of the e2e tests: python requests with
the token vaultd grants as API_TOKEN (Bearer). Prints the server's answer.
usage: python3 pyreq.py URL"""
import os, sys
import requests

tok = os.environ.get("API_TOKEN")
if not tok:
    print("no token")
    sys.exit(2)
r = requests.get(sys.argv[1], headers={"Authorization": "Bearer " + tok}, timeout=30)
print(r.text.strip())
sys.exit(0 if r.ok else 1)
