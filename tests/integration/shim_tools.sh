#!/usr/bin/env bash
# The real-tool battery: real programs under libvaultshim.so against a real
# vaultd, with generated fake tokens and local servers on loopback.
# Refused: ordinary processes of the agent's tree (bash, dash, coreutils,
# python3, node) with leaked tokens planted under protected names and
# plaintext decoys at the managed paths (~/.netrc, ~/.aws/credentials) see no
# protected name and no managed file, through every way the tools read them;
# each case asserts no form of any value is in what it printed.
# Granted: curl --netrc, git ls-remote over smart HTTP (nginx + fcgiwrap +
# git-http-backend, Basic auth), a python3 and a node interpreter tool, the
# aws CLI with ~/.aws/credentials (a local STS checks the SigV4 key id and
# signature), gh with GH_TOKEN (a local GitHub API stand-in reached as
# gh's HTTP proxy for the dev host github.localhost); each directly and from
# bash -c, curl also from make and npm run; 20 parallel curl runs; a rotation
# taking effect on the next run. Each granted case asserts the server saw the
# vaulted value and the tool printed none.
. "$(dirname "$0")/../lib.sh"
vs_clean_env "$@"
vs_begin
vs_trusted_dir
chmod 711 "$VS_TMP"
started=$SECONDS
V=$VAULTCTL
T=$VS_TRUSTED
SHIM="$VS_BUILD/libvaultshim.so"
HELPERS="$(cd "$(dirname "$0")/../helpers" && pwd)"
TOOLS="$HELPERS/tools"
PY=/usr/bin/python3
NODE=/usr/bin/node
NPM_CLI=$(readlink -f /usr/bin/npm)   # nodesource: /usr/lib/node_modules/npm/bin/npm-cli.js
REMOTE_HTTP=/usr/lib/git-core/git-remote-http

missing=""
for f in /usr/bin/curl /usr/bin/git "$REMOTE_HTTP" /usr/lib/git-core/git-http-backend /usr/sbin/nginx \
         /usr/sbin/fcgiwrap "$PY" "$NODE" "$NPM_CLI" /usr/bin/aws /usr/bin/gh /usr/bin/dash /usr/bin/make \
         /usr/bin/openssl "$SHIM"; do
    [ -x "$f" ] || [ -f "$f" ] || missing="$missing $f"
done
if [ -n "$missing" ]; then
    not_ok "missing:$missing (scripts/install-deps installs the packages)"; vs_end; exit 1
fi

# --- values: vaulted (granted) and leaked (planted in the agent's tree)
api=$(fake_token api); ghv=$(fake_token ghp); awsid="AKIA$(fake_token x | tail -c 16 | tr a-z A-Z)"
awssec=$(fake_token awssec)
leak_api=$(fake_token leakapi); leak_gh=$(fake_token leakgh); leak_aws_env=$(fake_token leakawsenv)
leak_netrc=$(fake_token leaknetrc); leak_awsid="AKIA$(fake_token y | tail -c 16 | tr a-z A-Z)"
leak_awssec=$(fake_token leakawssec)
api2=$(fake_token rotated)
VALUES="$api $ghv $awsid $awssec $leak_api $leak_gh $leak_aws_env $leak_netrc $leak_awsid $leak_awssec $api2"
# scrub: stdin to stdout with every value replaced (for diagnostics)
scrub() { local v s=""; for v in $VALUES; do s="$s;s/$v/<VALUE>/g"; done; sed -e "${s#;}" | tr -d '\0' | tr '\n' '|'; }

"$V" init --keyfile >/dev/null
printf '%s' "$api" | "$V" save api_token >/dev/null
printf '%s' "$ghv" | "$V" save gh_token >/dev/null
printf '%s' "$awsid" | "$V" save aws_key_id >/dev/null
printf '%s' "$awssec" | "$V" save aws_secret >/dev/null

# --- the agent's home, with plaintext decoys at the managed paths
AH="$T/home"
mkdir -p "$AH/sub" "$AH/.aws" "$AH/proj"
printf 'machine 127.0.0.1 login agent password %s\n' "$leak_netrc" >"$AH/.netrc"
chmod 600 "$AH/.netrc"
printf '[default]\naws_access_key_id = %s\naws_secret_access_key = %s\n' "$leak_awsid" "$leak_awssec" \
    >"$AH/.aws/credentials"
printf '[default]\nregion = us-east-1\noutput = json\n' >"$AH/.aws/config"
ln -s "$AH" "$VS_TMP/homelink"
ln -s "$AH/.netrc" "$AH/sub/netrc-link"   # another basename: not seen (shim/paths.c rule 3)
ln -s "$AH/.netrc" "$AH/sub/.netrc"       # the managed basename: followed, managed
ln -s ../.netrc "$AH/proj/.netrc"

# --- interpreter tool scripts (trusted folder, not writable by others)
cat >"$T/client.py" <<'PY'
import os, sys, urllib.request, urllib.error
port, source = sys.argv[1], sys.argv[2]
tok = os.environ.get("API_TOKEN") if source == "environ" else os.getenv("API_TOKEN")
if not tok:
    print("no token"); sys.exit(2)
req = urllib.request.Request("http://127.0.0.1:%s/" % port, headers={"Authorization": "Bearer " + tok})
try:
    print(urllib.request.urlopen(req, timeout=10).read().decode().strip())
except urllib.error.HTTPError as e:
    print("http", e.code); sys.exit(1)
PY
cat >"$T/client.js" <<'JS'
const port = process.argv[2];
const tok = process.env.API_TOKEN;
const listed = Object.keys(process.env).includes('API_TOKEN');
if (!tok) { console.log('no token'); process.exit(2); }
fetch(`http://127.0.0.1:${port}/`, { headers: { Authorization: `Bearer ${tok}` } })
  .then(async (r) => { console.log((await r.text()).trim(), listed ? 'listed' : 'unlisted'); process.exit(r.ok ? 0 : 1); })
  .catch((e) => { console.log('fetch failed', e.cause ? e.cause.code : e.message); process.exit(1); });
JS
chmod 644 "$T/client.py" "$T/client.js"

cat >"$T/policy.conf" <<CONF
protect = [ "*_TOKEN", "*_SECRET_ACCESS_KEY" ];
tools = (
  { name = "curl"; exe = "/usr/bin/curl"; files = [ "netrc" ]; },
  { name = "git-remote-http"; exe = "$REMOTE_HTTP"; files = [ "netrc" ]; },
  { name = "pyclient"; exe = "$PY"; script = "$T/client.py"; env = { API_TOKEN = "api_token"; }; },
  { name = "nodeclient"; exe = "$NODE"; script = "$T/client.js"; env = { API_TOKEN = "api_token"; }; },
  { name = "aws"; exe = "$PY"; script = "/usr/bin/aws"; files = [ "aws" ]; },
  { name = "gh"; exe = "/usr/bin/gh"; env = { GH_TOKEN = "gh_token"; }; allow_proxy = true; }
);
files = (
  { name = "netrc"; path = "$AH/.netrc"; template = "machine 127.0.0.1 login agent password {{api_token}}\n"; },
  { name = "aws"; path = "$AH/.aws/credentials";
    template = "[default]\naws_access_key_id = {{aws_key_id}}\naws_secret_access_key = {{aws_secret}}\n"; }
);
CONF
chmod 644 "$T/policy.conf"
check "vaultd starts with the tools policy" vs_start_vaultd "$T/policy.conf"

# --- servers, each stopped by vs_cleanup
SRV="$VS_TMP/srv"; mkdir -p "$SRV"
start_server() { vs_start_server "$SRV" "$@"; }

printf '%s\n' "$api" >"$SRV/token"
check "auth_server starts" start_server auth "$PY" "$HELPERS/auth_server.py" "$SRV/token" 600
AP=$SRV_PORT
printf '%s\n%s\n' "$awsid" "$awssec" >"$SRV/sts.expected"; : >"$SRV/sts.log"; : >"$SRV/gh.log"
check "the STS stand-in starts" start_server sts "$PY" "$TOOLS/tool_server.py" sts "$SRV/sts.expected" "$SRV/sts.log" 600
SP=$SRV_PORT
printf '%s\n' "$ghv" >"$SRV/gh.expected"
check "the GitHub API stand-in starts" start_server gh "$PY" "$TOOLS/tool_server.py" gh "$SRV/gh.expected" "$SRV/gh.log" 600
GHP=$SRV_PORT

# git smart HTTP: nginx (auth_basic, htpasswd of the vaulted token) + fcgiwrap
G="$SRV/git"
start_git() {
    mkdir -p "$G" || return 1
    printf 'agent:%s\n' "$(printf '%s' "$api" | openssl passwd -apr1 -stdin)" >"$G/htpasswd" || return 1
    GP=$(vs_free_port)
    bash "$TOOLS/git_http.sh" setup "$G" "$GP" || return 1
    vs_start_git_http "$G" "$GP"
}
check "nginx + fcgiwrap + git-http-backend serve a bare repo behind Basic auth" start_git
check "git over http refuses a wrong password (the server checks)" bash -c '
    ! curl -fsS -u agent:wrong "http://127.0.0.1:$0/git/repo.git/info/refs?service=git-upload-pack" >/dev/null 2>&1' "$GP"

# --- the agent's tree
# agent CMD...: CMD with the shim, a clean environment and the leaked tokens
agent() {
    env -i PATH=/usr/bin:/bin HOME="$AH" LANG=C.UTF-8 VAULT_SOCKET="$VAULT_SOCKET" LD_PRELOAD="$SHIM" \
        API_TOKEN="$leak_api" GH_TOKEN="$leak_gh" AWS_SECRET_ACCESS_KEY="$leak_aws_env" \
        AWS_EC2_METADATA_DISABLED=true AWS_PAGER= GH_NO_UPDATE_NOTIFIER=1 GH_PROMPT_DISABLED=1 \
        GIT_TERMINAL_PROMPT=0 "$@"
}
CASES="$VS_TMP/cases"; mkdir -p "$CASES"
_case=0
no_value_in() { local v; for v in $VALUES; do absent_in "$v" "$@" || return 1; done; }
# refused DESC WANT CMD...: in the agent's tree CMD's output matches WANT (an
# extended regex: the tool really ran), shows no protected name assigned and
# no form of any value.
refused() {
    local desc=$1 want=$2 o; shift 2
    _case=$((_case + 1)); o="$CASES/r$_case"
    (cd "$AH" && agent "$@") >"$o.out" 2>"$o.err" </dev/null
    if ! no_value_in "$o.out" "$o.err"; then not_ok "$desc (a value was printed)"; return; fi
    if grep -qaE "(API_TOKEN|GH_TOKEN|AWS_SECRET_ACCESS_KEY)['\"]?[=:]" "$o.out"; then
        not_ok "$desc (a protected name was seen: $(grep -aoE "(API_TOKEN|GH_TOKEN|AWS_SECRET_ACCESS_KEY)['\"]?[=:]" "$o.out" | head -3 | tr '\n' ' '))"
        return
    fi
    if ! cat "$o.out" "$o.err" | grep -qaE -- "$want"; then
        not_ok "$desc (output not as expected: $(cat "$o.out" "$o.err" | head -c 300 | scrub))"; return
    fi
    ok "$desc"
}
# granted DESC WANT CMD...: in the agent's tree CMD exits 0, its output
# (stdout or stderr) matches WANT (the server accepted the vaulted value) and shows no value.
granted() {
    local desc=$1 want=$2 o rc; shift 2
    _case=$((_case + 1)); o="$CASES/g$_case"
    (cd "$AH/proj" && "${LAUNCH:-agent}" "$@") >"$o.out" 2>"$o.err" </dev/null; rc=$?
    if ! no_value_in "$o.out" "$o.err"; then not_ok "$desc (a value was printed)"; return; fi
    if [ "$rc" -ne 0 ] || ! cat "$o.out" "$o.err" | grep -qaE -- "$want"; then
        not_ok "$desc (exit $rc: $(cat "$o.out" "$o.err" | head -c 400 | scrub))"; return
    fi
    ok "$desc"
}
N="$AH/.netrc"

# --- refused: bash
refused "bash: echo \$API_TOKEN \$GH_TOKEN is empty" '^\[\]\[\]\[\]$' bash -c 'echo "[$API_TOKEN][$GH_TOKEN][$AWS_SECRET_ACCESS_KEY]"'
refused "bash: export -p" '^declare -x PATH=' bash -c 'export -p'
refused "bash: env" '^PATH=' bash -c env
refused "bash: printenv" '^HOME=' bash -c printenv
refused "bash: printenv NAME finds nothing" '^rc=1$' bash -c 'printenv API_TOKEN GH_TOKEN AWS_SECRET_ACCESS_KEY; echo rc=$?'
refused "bash: cat /proc/self/environ and /proc/\$\$/environ" '^HOME=' \
    bash -c 'cat /proc/self/environ | tr "\0" "\n"; tr "\0" "\n" </proc/$$/environ'
refused "bash: cat ~/.netrc (plaintext decoy on disk)" 'No such file' bash -c 'cat ~/.netrc'
refused "bash: its own redirection < ~/.netrc" 'No such file' bash -c 'while read -r l; do echo "$l"; done < ~/.netrc'
refused "bash: test -e/-f/-r ~/.netrc" '^absent absent absent$' \
    bash -c 'a=absent b=absent c=absent; [ -e ~/.netrc ] && a=exists; [ -f ~/.netrc ] && b=file; [ -r ~/.netrc ] && c=readable; echo $a $b $c'
refused "bash: set" '^HOME=' bash -c set
refused "bash: cat ~/.aws/credentials (plaintext decoy)" 'No such file' bash -c 'cat ~/.aws/credentials'
refused "bash: source ~/.netrc" 'No such file' bash -c '. ~/.netrc'

# --- refused: dash
refused "dash: echo, export -p, env" '^\[\]\[\]\[\].*' dash -c 'echo "[$API_TOKEN][$GH_TOKEN][$AWS_SECRET_ACCESS_KEY]"; export -p; env'
refused "dash: set" "^HOME='" dash -c set
refused "dash: cat ~/.netrc and < ~/.netrc" 'No such file.*' dash -c 'cat ~/.netrc; read l < ~/.netrc; echo "$l"'

# --- refused: coreutils, run directly
refused "env" '^PATH=' env
refused "env -u LD_PRELOAD env (the child loses the preload)" '^PATH=' env -u LD_PRELOAD env
refused "env -i bash -c env" '^PWD=' env -i bash -c env
refused "printenv" '^HOME=' printenv
refused "cat /proc/self/environ" 'HOME=' cat /proc/self/environ
refused "cat ~/.netrc" 'No such file' cat "$N"
refused "head ~/.netrc" 'No such file' head -c 300 "$N"
refused "cp ~/.netrc then cat the copy" "cannot stat.*No such file" bash -c 'cp ~/.netrc ~/copy; cat ~/copy'
refused "dd if=~/.netrc" 'No such file' dd if="$N" status=none
refused "tail, wc, base64, od of ~/.netrc" '^od: .*No such file' bash -c 'tail ~/.netrc; wc ~/.netrc; base64 ~/.netrc; od -c ~/.netrc' 
refused "stat ~/.netrc" 'No such file' stat "$N"
refused "cat ~/.aws/credentials" 'No such file' cat "$AH/.aws/credentials"

# --- refused: other ways to name the file
refused "relative path: cd ~ && cat .netrc" 'No such file' bash -c 'cd ~ && cat .netrc'
refused "relative path: cat ./.netrc from ~" 'No such file' cat ./.netrc
refused "..: cd ~/sub && cat ../.netrc" 'No such file' bash -c 'cd ~/sub && cat ../.netrc'
refused "..: cat ~/sub/../.netrc" 'No such file' cat "$AH/sub/../.netrc"
refused "//: cat ~//.netrc and ~/./.netrc" 'No such file.*' bash -c 'cat ~//.netrc; cat ~/./.netrc'
refused "a symlink to the netrc's folder" 'No such file' cat "$VS_TMP/homelink/.netrc"
refused "a symlink named .netrc to the netrc (absolute target)" 'No such file' cat "$AH/sub/.netrc"
refused "a symlink named .netrc to the netrc (relative target)" 'No such file' cat "$AH/proj/.netrc"
# Documented limit (shim/paths.c rule 3): a symlink with another basename is
# not seen and reaches the plaintext decoy on disk; never a vaulted value.
check "a symlink with another basename reaches no vaulted value (only the on-disk decoy, a documented limit)" \
    bash -c '. "$0"; (cd "$1" && env -i PATH=/usr/bin:/bin HOME="$1" VAULT_SOCKET="$2" LD_PRELOAD="$3" cat sub/netrc-link) \
      >"$4" 2>&1; for v in $5; do absent_in "$v" "$4" || exit 1; done' "$(dirname "$0")/../lib.sh" \
    "$AH" "$VAULT_SOCKET" "$SHIM" "$CASES/otherbase.out" "$api $ghv $awsid $awssec $api2"
refused "..: cat ~/.aws/../.aws/credentials" 'No such file' cat "$AH/.aws/../.aws/credentials"

# --- refused: python3
refused "python3: os.environ" "'HOME'" "$PY" -c 'import os; print(sorted(os.environ.items()))'
refused "python3: os.getenv, os.environb" '^getenv None None None None$' "$PY" -c \
    'import os; print("getenv", os.getenv("API_TOKEN"), os.getenv("GH_TOKEN"), os.getenv("AWS_SECRET_ACCESS_KEY"), os.environb.get(b"API_TOKEN"))'
refused "python3: the netrc module (default file)" 'FileNotFoundError|No such file' "$PY" -c 'import netrc; print(netrc.netrc().hosts)'
refused "python3: the netrc module (explicit path)" 'FileNotFoundError|No such file' "$PY" -c \
    'import netrc, os; print(netrc.netrc(os.path.expanduser("~/.netrc")).hosts)'
refused "python3: open(), os.path.exists, os.stat" '^exists False stat ENOENT open ENOENT$' "$PY" -c '
import os, errno
p = os.path.expanduser("~/.netrc")
def err(f):
    try: f(); return "ok"
    except OSError as e: return errno.errorcode[e.errno]
print("exists", os.path.exists(p), "stat", err(lambda: os.stat(p)), "open", err(lambda: print(open(p).read())))'
refused "python3: open() of ~/.aws/credentials and configparser" 'ENOENT \[\]' "$PY" -c '
import configparser, os
p = os.path.expanduser("~/.aws/credentials")
c = configparser.ConfigParser(); c.read(p)
try: open(p).read(); print("read")
except FileNotFoundError: print("ENOENT", c.sections())'
refused "python3: /proc/self/environ" "HOME=" "$PY" -c 'print(open("/proc/self/environ","rb").read().replace(b"\0", b"\n").decode())'
refused "python3: subprocess without env=" '^PATH=' "$PY" -c 'import subprocess; subprocess.run(["env"])'
refused "python3: subprocess with env=dict(os.environ)" '^PATH=' "$PY" -c \
    'import subprocess, os; subprocess.run(["env"], env=dict(os.environ, EXTRA="1"))'
refused "python3: subprocess with env= naming a protected name itself" '^PATH=' "$PY" -c \
    'import subprocess; subprocess.run(["env"], env={"PATH": "/usr/bin:/bin", "API_TOKEN": "set-by-the-agent"})'
refused "python3: os.system, os.popen" '^PATH=.*' "$PY" -c 'import os; os.system("env"); print(os.popen("cat /proc/self/environ").read())'
refused "python3: subprocess cat ~/.netrc" 'No such file' "$PY" -c 'import subprocess, os; subprocess.run(["cat", os.path.expanduser("~/.netrc")])'

# --- refused: node
refused "node: process.env" '"HOME"' "$NODE" -e 'console.log(JSON.stringify(process.env))'
refused "node: process.env.X, Object.keys, in" '^undefined undefined undefined false false$' "$NODE" -e '
const k = Object.keys(process.env);
console.log(String(process.env.API_TOKEN), String(process.env.GH_TOKEN), String(process.env.AWS_SECRET_ACCESS_KEY),
  "API_TOKEN" in process.env, k.includes("API_TOKEN") || k.includes("GH_TOKEN"))'
refused "node: fs.readFileSync, existsSync, statSync, accessSync" '^ENOENT false ENOENT ENOENT$' "$NODE" -e '
const fs = require("fs"), p = require("os").homedir() + "/.netrc";
const c = (f) => { try { f(); return "ok"; } catch (e) { return e.code; } };
console.log(c(() => console.log(fs.readFileSync(p, "utf8"))), fs.existsSync(p), c(() => fs.statSync(p)), c(() => fs.accessSync(p)))'
refused "node: fs.promises.readFile, fs.lstatSync, fs.openSync" '^ENOENT ENOENT ENOENT$' "$NODE" -e '
const fs = require("fs"), p = require("os").homedir() + "/.netrc";
const c = (f) => { try { f(); return "ok"; } catch (e) { return e.code; } };
fs.promises.readFile(p, "utf8").then(console.log, (e) => console.log(e.code, c(() => fs.lstatSync(p)), c(() => fs.openSync(p, "r"))))'
refused "node: fs.readFileSync of ~/.aws/credentials" '^ENOENT$' "$NODE" -e '
try { console.log(require("fs").readFileSync(require("os").homedir() + "/.aws/credentials", "utf8")) } catch (e) { console.log(e.code) }'
refused "node: child_process.execSync('env')" '^PATH=' "$NODE" -e 'process.stdout.write(require("child_process").execSync("env"))'
refused "node: child_process with env naming a protected name" '^PATH=' "$NODE" -e '
process.stdout.write(require("child_process").execSync("env", { env: { ...process.env, GH_TOKEN: "set-by-the-agent" } }))'
refused "node: spawnSync cat ~/.netrc" 'No such file' "$NODE" -e '
const r = require("child_process").spawnSync("cat", [require("os").homedir() + "/.netrc"]); process.stdout.write(r.stdout); process.stdout.write(r.stderr)'

# --- refused: the tools outside their grants
refused "curl outside its grant shape: curl run through ld.so gets no netrc (401)" '^who are you' \
    /lib64/ld-linux-x86-64.so.2 /usr/bin/curl --netrc -sS "http://127.0.0.1:$AP/"
refused "python3 -c is not the client tool: no API_TOKEN" '^None$' "$PY" -c 'import os; print(os.environ.get("API_TOKEN"))'
sts_before=$(wc -l <"$SRV/sts.log" 2>/dev/null || echo 0)
refused "aws with an option before the script: no credentials, the decoy ignored" 'Unable to locate credentials' \
    env PYTHONNOUSERSITE=1 "$PY" -u /usr/bin/aws sts get-caller-identity --endpoint-url "http://127.0.0.1:$SP"
check "... and the STS stand-in saw no request from it" [ "$(wc -l <"$SRV/sts.log" 2>/dev/null || echo 0)" = "$sts_before" ]
refused "gh through ld.so: not granted, GH_TOKEN scrubbed" '(not logged|authentication failed|no.*token|To get started)' \
    env GH_HOST=github.localhost HTTP_PROXY="http://127.0.0.1:$GHP" /lib64/ld-linux-x86-64.so.2 /usr/bin/gh auth status --hostname github.localhost
check "... and the GitHub stand-in never saw a token from it (the leaked GH_TOKEN)" \
    bash -c '! grep -q "another credential" "$0"' "$SRV/gh.log"

# --- granted: curl
CURL=(curl --netrc -fsS "http://127.0.0.1:$AP/")
granted "curl --netrc uses the served ~/.netrc, not the decoy" '^welcome$' "${CURL[@]}"
granted "curl --netrc-file through a symlinked folder gets the served file" '^welcome$' \
    curl --netrc-file "$VS_TMP/homelink/.netrc" -fsS "http://127.0.0.1:$AP/"
granted "curl --netrc-file through a symlink named .netrc gets the served file" '^welcome$' \
    curl --netrc-file "$AH/sub/.netrc" -fsS "http://127.0.0.1:$AP/"
granted "curl from bash -c" '^welcome$' bash -c 'curl --netrc -fsS "http://127.0.0.1:$0/"' "$AP"
printf 'all:\n\t@curl --netrc -fsS http://127.0.0.1:%s/\n' "$AP" >"$AH/proj/Makefile"
granted "curl from make" '^welcome$' make -s -C "$AH/proj"
printf '{ "name": "proj", "version": "1.0.0", "private": true,\n  "scripts": { "fetch": "curl --netrc -fsS http://127.0.0.1:%s/" } }\n' \
    "$AP" >"$AH/proj/package.json"
granted "curl from npm run (npm itself is no tool)" '^welcome$' npm run --silent fetch
granted "curl from npm run via node npm-cli.js" '^welcome$' "$NODE" "$NPM_CLI" run --silent fetch

# --- granted: git over smart HTTP
GURL="http://127.0.0.1:$GP/git/repo.git"
granted "git ls-remote over http with the served ~/.netrc" 'refs/heads/main' git ls-remote "$GURL"
granted "git ls-remote from bash -c" 'refs/heads/main' bash -c 'git ls-remote "$0"' "$GURL"
granted "git clone over http" '^cloned [0-9a-f]{40}$' bash -c '
    rm -rf ~/proj/clone; git clone -q "$0" ~/proj/clone && echo cloned "$(git -C ~/proj/clone rev-parse HEAD)"' "$GURL"
check "nginx saw user agent authenticated (200s) and no other user" bash -c '
    grep -q " agent \[.*\" 200 " "$0" && ! grep -vE " (agent|-) \[" "$0" | grep -q .' "$G/access.log"

# --- granted: python3 and node interpreter tools
granted "python3 tool: os.environ value used (Bearer)" '^welcome$' env PYTHONNOUSERSITE=1 "$PY" "$T/client.py" "$AP" environ
granted "python3 tool: os.getenv value used" '^welcome$' env PYTHONNOUSERSITE=1 "$PY" "$T/client.py" "$AP" getenv
# Started by a process outside the shim with no API_TOKEN at all, the tool
# has no slot to fill (the exec hook makes one when a shimmed process execs
# it): the entry is appended to a new environ array, which sits beside the
# entries in the shim's locked region; with 9,000 more variables it no longer
# fits there and takes a mapping of its own (shim/grants.c install).
first_shimmed() {
    env -i PATH=/usr/bin:/bin HOME="$AH" LANG=C.UTF-8 VAULT_SOCKET="$VAULT_SOCKET" LD_PRELOAD="$SHIM" "$@"
}
LAUNCH=first_shimmed granted "python3 tool with no API_TOKEN slot: the value is appended to environ" '^welcome$' \
    PYTHONNOUSERSITE=1 "$PY" "$T/client.py" "$AP" environ
fill=(); for i in $(seq 1 9000); do fill+=("F$i=1"); done
LAUNCH=first_shimmed granted "the same with 9,000 more variables" '^welcome$' \
    "${fill[@]}" PYTHONNOUSERSITE=1 "$PY" "$T/client.py" "$AP" environ
unset fill
granted "python3 tool from bash -c (the exec hook sets PYTHONNOUSERSITE)" '^welcome$' \
    bash -c 'python3 "$0" "$1" environ' "$T/client.py" "$AP"
granted "node tool: process.env.X with fetch, listed in Object.keys" '^welcome listed$' "$NODE" "$T/client.js" "$AP"
granted "node tool started with PYTHONNOUSERSITE=1 (what vaultd asks of it)" '^welcome listed$' \
    env PYTHONNOUSERSITE=1 "$NODE" "$T/client.js" "$AP"
granted "node tool from bash -c" '^welcome listed$' bash -c 'node "$0" "$1"' "$T/client.js" "$AP"

# --- granted: aws CLI with ~/.aws/credentials
sts_ok() { # N: the last N STS requests all matched
    [ "$(tail -n "$1" "$SRV/sts.log" 2>/dev/null | grep -c '^sts match$')" = "$1" ] ||
        { diag "sts: $(tail -n "$1" "$SRV/sts.log" 2>/dev/null | tr '\n' '|')"; return 1; }
}
granted "aws sts get-caller-identity signs with the served key (not the decoy)" '"Account": "123456789012"' \
    env PYTHONNOUSERSITE=1 /usr/bin/aws sts get-caller-identity --endpoint-url "http://127.0.0.1:$SP"
check "... the STS stand-in saw the served key id and a valid signature" sts_ok 1
granted "aws from bash -c" '"Arn": "arn:aws:iam::123456789012:user/vault-agent"' \
    bash -c 'aws sts get-caller-identity --endpoint-url "http://127.0.0.1:$0"' "$SP"
check "... the STS stand-in saw the served key id and a valid signature" sts_ok 1
check "the STS stand-in never saw another key id" bash -c '! grep -q mismatch "$0"' "$SRV/sts.log"

# --- granted: gh with GH_TOKEN
GH_ENV=(env GH_HOST=github.localhost HTTP_PROXY="http://127.0.0.1:$GHP")
granted "gh api user sends the granted GH_TOKEN" '"login":"vault-agent"' "${GH_ENV[@]}" gh api user
granted "gh auth status: logged in via GH_TOKEN, token masked" 'Logged in to github.localhost as vault-agent \(GH_TOKEN\)' \
    "${GH_ENV[@]}" gh auth status --hostname github.localhost
granted "gh from bash -c" '"login":"vault-agent"' "${GH_ENV[@]}" bash -c 'gh api user'
check "the GitHub stand-in saw the vaulted token and no other" bash -c 'grep -q "^gh match" "$0" && ! grep -q "another credential" "$0"' "$SRV/gh.log"

# --- 20 parallel curl runs
par="$VS_TMP/par"; mkdir -p "$par"
ppids=""
for i in $(seq 1 20); do
    (cd "$AH" && agent "${CURL[@]}") >"$par/$i.out" 2>"$par/$i.err" </dev/null &
    ppids="$ppids $!"
done
wait_parallel() {
    local p n bad=0
    for p in $ppids; do wait "$p" || bad=$((bad + 1)); done
    n=$(cat "$par"/*.out | grep -c '^welcome$')
    [ "$n" = 20 ] && [ "$bad" = 0 ] && return 0
    diag "$n of 20 saw welcome, $bad failed: $(cat "$par"/*.err | head -c 300 | scrub)"; return 1
}
check "20 parallel curl runs each see welcome" wait_parallel
check "... with no error output and no value printed" bash -c '! cat "$0"/*.err | grep -q . && . "$1" && 
    for v in $2; do absent_in "$v" "$0" || exit 1; done' "$par" "$(dirname "$0")/../lib.sh" "$VALUES"

# --- rotation: the next curl run uses the new value
check "vaultctl rotate api_token" bash -c 'printf "%s" "$0" | "$1" rotate api_token >/dev/null' "$api2" "$V"
granted "after rotation curl no longer authenticates against the old-token server" '^rejected$' \
    bash -c 'curl --netrc -sS "http://127.0.0.1:$0/" | grep -q "^who are you" && echo rejected' "$AP"
printf '%s\n' "$api2" >"$SRV/token2"
check "auth_server starts with the rotated token" start_server auth2 "$PY" "$HELPERS/auth_server.py" "$SRV/token2" 600
granted "after rotation the next curl run uses the new value" '^welcome$' curl --netrc -fsS "http://127.0.0.1:$SRV_PORT/"
granted "and so does the python3 tool" '^welcome$' env PYTHONNOUSERSITE=1 "$PY" "$T/client.py" "$SRV_PORT" environ

# --- nothing left behind
check "no value in vaultd's log or the audit log" bash -c '
    . "$0"; for v in $1; do absent_in "$v" "$VAULT_HOME/audit.log" "$5" || exit 1; done' \
    "$(dirname "$0")/../lib.sh" "$VALUES" "" "" "" "$VS_TMP/vaultd.log"
check "no vaulted or planted env value left in the agent's home" bash -c '
    . "$0"; rm -f "$2/copy"
    for v in $4; do absent_in "$v" "$2" || exit 1; done' \
    "$(dirname "$0")/../lib.sh" "$VALUES" "$AH" "$CASES" "$api $ghv $awsid $awssec $api2 $leak_api $leak_gh $leak_aws_env" \
    "$VS_TMP/vaultd.log"
diag "shim_tools.sh took $((SECONDS - started)) s"
vs_end
