#!/usr/bin/env bash
# End-to-end flows that must keep working: as an unprivileged user of its
# own, under scripts/vault-run, real tools against real servers on
# loopback, all started and stopped here: npm whoami and npm publish against
# a local verdaccio (installed from the npm registry into
# build/e2e-cache/verdaccio on the first run, then reused; its user and
# token made through its API with a generated password; the token vaulted,
# ~/.npmrc served by the shim), git clone and push over http (nginx +
# fcgiwrap + git http-backend, Basic auth from the served ~/.netrc), python
# requests and node fetch tools with API_TOKEN against the auth server;
# each also from bash -c, from make and from npm run; 50 parallel runs;
# a rotation seen by the next run. Every flow checks the server's side and
# that nothing it printed holds a value.
ORIG_BUILD=${VS_BUILD:-}
. "$(dirname "$0")/../lib.sh"
vs_clean_env "$@"
vs_begin
. "$(dirname "$0")/lib/e2e_lib.sh"
started=$SECONDS
e2e_need /usr/bin/curl /usr/bin/git "$REMOTE_HTTP" /usr/lib/git-core/git-http-backend /usr/sbin/nginx \
    /usr/sbin/fcgiwrap "$PY" "$NODE" "$NPM_CLI" /usr/bin/make /usr/bin/setpriv /usr/sbin/useradd /usr/bin/openssl \
    "$VS_BUILD/libvaultshim.so"
"$PY" -c 'import requests' 2>/dev/null || { not_ok "python3-requests is missing (scripts/install-deps)"; vs_end; exit 1; }

check "a user of its own for the flows" e2e_user
vs_trusted_dir
T=$VS_TRUSTED
cp "$E2E_DIR/tools/pyreq.py" "$E2E_DIR/tools/fetch.js" "$T/" && chmod 644 "$T/pyreq.py" "$T/fetch.js"

# --- verdaccio, from the npm registry, cached under the build folder
CACHE="$(cd "${ORIG_BUILD:-$VS_BUILD}" && pwd)/e2e-cache/verdaccio"
install_verdaccio() {
    [ -f "$CACHE/node_modules/verdaccio/bin/verdaccio" ] && return 0
    mkdir -p "$CACHE" || return 1
    # The registry mirror here serves no "cjs" dist-tag, which an old
    # dependency asks for: pin it (what the tag names upstream).
    cat >"$CACHE/package.json" <<'JSON'
{ "name": "vs-e2e-verdaccio", "private": true, "dependencies": { "verdaccio": "6.x" },
  "overrides": { "node-fetch@cjs": "2.7.0", "verdaccio-audit": { "node-fetch": "2.7.0" } } }
JSON
    (cd "$CACHE" && npm install --no-audit --no-fund --loglevel=error) >"$VS_TMP/verdaccio-install.log" 2>&1 ||
        { diag "npm install verdaccio: $(tail -3 "$VS_TMP/verdaccio-install.log" | tr '\n' '|')"; return 1; }
}
check "verdaccio is installed from the npm registry (cached in build/e2e-cache)" install_verdaccio

start_verdaccio() {
    local vd="$VS_TMP/verdaccio" code
    mkdir -p "$vd/storage" || return 1
    VP=$(vs_free_port)
    cat >"$vd/config.yaml" <<YAML
storage: $vd/storage
auth:
  htpasswd:
    file: $vd/htpasswd
    max_users: 10
uplinks: {}
packages:
  '**':
    access: \$all
    publish: \$authenticated
log: { type: file, path: $vd/verdaccio.log, level: warn }
YAML
    node "$CACHE/node_modules/verdaccio/bin/verdaccio" --config "$vd/config.yaml" --listen "127.0.0.1:$VP" \
        </dev/null >"$vd/out" 2>&1 &
    local pid=$!
    vs_add_cleanup "kill $pid 2>/dev/null; wait $pid 2>/dev/null"
    for _ in $(seq 1 300); do
        code=$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$VP/-/ping")
        [ "$code" = 200 ] && return 0
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.05
    done
    diag "verdaccio did not start: $(tail -3 "$vd/out" | tr '\n' '|')"
    return 1
}
check "verdaccio serves on loopback" start_verdaccio
# the user and its token, made through verdaccio's API (root, not the agent)
make_npm_user() {
    local pw reply
    pw=$(fake_token pw)
    reply=$(curl -sS -X PUT -H 'content-type: application/json' \
        --data-binary "{\"name\":\"agent\",\"password\":\"$pw\",\"type\":\"user\"}" \
        "http://127.0.0.1:$VP/-/user/org.couchdb.user:agent") || return 1
    npmv=$(printf '%s' "$reply" | "$PY" -c 'import json,sys; print(json.load(sys.stdin).get("token",""))')
    [ -n "$npmv" ]
}
check "a verdaccio user with a token (generated password)" make_npm_user

# --- the other servers, the vault, the policy, vaultd
api=$(fake_token api); api2=$(fake_token rotated)
printf '%s\n' "$api" >"$VS_TMP/api.token"
check "the auth server starts" start_server auth "$PY" "$HELPERS/auth_server.py" "$VS_TMP/api.token" 900
AP=$SRV_PORT
check "nginx + fcgiwrap + git http-backend behind Basic auth (pushes allowed)" e2e_git "$api"
check "a vault with the api and npm tokens" e2e_vault api_token="$api" npm_token="$npmv"
VALUES="$api $api2 $npmv"
e2e_policy <<CONF
protect = [ "*_TOKEN" ];
tools = (
  { name = "curl"; exe = "/usr/bin/curl"; files = [ "netrc" ]; allow_args = [ "--netrc -fsS http://127.0.0.1:*/" ]; },
  { name = "git-remote-http"; exe = "$REMOTE_HTTP";
    hide_files = [ "$UH/.gitconfig", "$UH/.config/git/config", "*/.git/config" ]; files = [ "netrc" ]; allow_args = [ "* http://127.0.0.1:$GP/git/*" ]; },
  { name = "npm"; exe = "$NODE"; script = "$NPM_CLI"; hide_files = [ "*/.npmrc" ]; files = [ "npmrc" ]; allow_args = [ "whoami", "publish" ]; },
  { name = "pyreq"; exe = "$PY"; script = "$T/pyreq.py"; env = { API_TOKEN = "api_token"; };
    allow_args = [ "http://127.0.0.1:*/" ]; },
  { name = "fetch"; exe = "$NODE"; script = "$T/fetch.js"; env = { API_TOKEN = "api_token"; };
    allow_args = [ "http://127.0.0.1:*/" ]; }
);
files = (
  { name = "netrc"; path = "$UH/.netrc"; template = "machine 127.0.0.1 login agent password {{api_token}}\n"; },
  { name = "npmrc"; path = "$UH/.npmrc";
    template = "//127.0.0.1:$VP/:_authToken={{npm_token}}\nregistry=http://127.0.0.1:$VP/\nupdate-notifier=false\n"; }
);
CONF
check "vaultd serves the agent's user" e2e_vaultd

# --- the agent's project: a package, a Makefile, npm scripts
P="$UH/proj"
pkg="vs-e2e-pkg-$(od -An -N3 -tx1 /dev/urandom | tr -d ' \n')"
AURL="http://127.0.0.1:$AP/"
GURL="http://127.0.0.1:$GP/git/repo.git"
as_user mkdir -p "$P/pub"
as_user git config --global user.name agent
as_user git config --global user.email agent@localhost
cat >"$P/pub/package.json" <<JSON
{ "name": "$pkg", "version": "1.0.0", "description": "e2e", "main": "index.js", "license": "MIT" }
JSON
echo 'module.exports = 1;' >"$P/pub/index.js"
cat >"$P/Makefile" <<MK
whoami:
	@npm whoami
clone:
	@rm -rf mk-clone && git clone -q $GURL mk-clone && git -C mk-clone rev-parse HEAD
py:
	@python3 $T/pyreq.py $AURL
node:
	@node $T/fetch.js $AURL
MK
cat >"$P/package.json" <<JSON
{ "name": "proj", "version": "1.0.0", "private": true,
  "scripts": { "clone": "rm -rf run-clone && git clone -q $GURL run-clone && git -C run-clone rev-parse HEAD",
               "py": "python3 $T/pyreq.py $AURL", "curl": "curl --netrc -fsS $AURL",
               "node": "node $T/fetch.js $AURL", "whoami": "npm whoami" } }
JSON
chown -R "$U:$UG" "$P"

agent_run() {
    as_user env VAULTSHIM_LIB="$VS_BUILD/libvaultshim.so" VAULTCTL="$VAULTCTL" GIT_TERMINAL_PROMPT=0 \
        "$REPO/scripts/vault-run" --agent e2e-flows --socket "$SOCK" -- "$@"
}
CASES="$VS_TMP/cases"; mkdir -p "$CASES"
_flow=0
# flow DESC WANT CMD...: in the project folder under vault-run, CMD exits 0,
# its output matches WANT, and nothing it printed holds a value.
flow() {
    local desc=$1 want=$2 o rc v; shift 2
    _flow=$((_flow + 1)); o="$CASES/f$_flow"
    (cd "$P" && agent_run bash -c 'cd ~/proj && exec "$@"' flow "$@") >"$o.out" 2>&1 </dev/null; rc=$?
    for v in $VALUES; do
        e2e_absent "$v" "$o.out" || { not_ok "$desc (a value was printed)"; return; }
    done
    if [ "$rc" -ne 0 ] || ! grep -qE -- "$want" "$o.out"; then
        not_ok "$desc (exit $rc: $(head -c 300 "$o.out" | tr '\n' '|'))"
        diag "last refusal: $(grep '"denied"' "$VAULT_HOME/audit.log" | tail -1 | grep -o '"reason":"[^"]*"')"
        return
    fi
    ok "$desc"
}

# --- npm against verdaccio
flow "npm whoami against verdaccio with the served ~/.npmrc" '^agent$' npm whoami
flow "npm publish to verdaccio" "\+ $pkg@1.0.0" bash -c 'cd pub && npm publish'
check "... verdaccio has the package, published by agent" bash -c '
    curl -fsS "http://127.0.0.1:$0/$1" | grep -q "\"1.0.0\""' "$VP" "$pkg"
flow "npm whoami from bash -c" '^agent$' bash -c 'npm whoami'
flow "npm whoami from make" '^agent$' make -s whoami

# --- git over http with the served ~/.netrc
flow "git clone over http" '^[0-9a-f]{40}$' bash -c 'rm -rf c1 && git clone -q "$0" c1 && git -C c1 rev-parse HEAD' "$GURL"
flow "git push over http" '^pushed$' bash -c '
    cd c1 && echo change >file && git add file && git commit -qm "from the agent" && git push -q origin HEAD:main && echo pushed'
check "... the server's repository has the agent's commit" bash -c '
    [ "$(git -C "$0/repos/repo.git" log -1 --format=%s main)" = "from the agent" ]' "$G"
flow "git clone from bash -c" '^[0-9a-f]{40}$' bash -c 'bash -c "rm -rf c2 && git clone -q $0 c2 && git -C c2 rev-parse HEAD"' "$GURL"
flow "git clone from make" '^[0-9a-f]{40}$' make -s clone
flow "git clone from npm run" '^[0-9a-f]{40}$' npm run --silent clone
check "nginx saw only user agent authenticated" bash -c '
    grep -q " agent \[.*\" 200 " "$0" && ! grep -vE " (agent|-) \[" "$0" | grep -q .' "$G/access.log"

# --- python requests and node fetch with API_TOKEN
flow "python requests tool (Bearer API_TOKEN)" '^welcome$' env PYTHONNOUSERSITE=1 python3 "$T/pyreq.py" "$AURL"
flow "python requests from bash -c" '^welcome$' bash -c 'python3 "$0" "$1"' "$T/pyreq.py" "$AURL"
flow "python requests from make" '^welcome$' make -s py
flow "python requests from npm run" '^welcome$' npm run --silent py
flow "node fetch tool (Bearer API_TOKEN)" '^welcome$' node "$T/fetch.js" "$AURL"
flow "node fetch from bash -c" '^welcome$' bash -c 'node "$0" "$1"' "$T/fetch.js" "$AURL"
flow "node fetch from make" '^welcome$' make -s node
flow "curl --netrc from npm run" '^welcome$' npm run --silent curl
flow "node fetch from npm run" '^welcome$' npm run --silent node
flow "npm whoami from npm run" '^agent$' npm run --silent whoami

# --- 50 parallel runs of a granted tool
par="$VS_TMP/par"; mkdir -p "$par"
ppids=""
for i in $(seq 1 50); do
    (cd "$P" && agent_run curl --netrc -fsS "$AURL") >"$par/$i.out" 2>"$par/$i.err" </dev/null &
    ppids="$ppids $!"
done
parallel_ok() {
    local p n bad=0 v
    for p in $ppids; do wait "$p" || bad=$((bad + 1)); done
    n=$(cat "$par"/*.out | grep -c '^welcome$')
    for v in $VALUES; do e2e_absent "$v" "$par" || { diag "a value was printed"; return 1; }; done
    [ "$n" = 50 ] && [ "$bad" = 0 ] && return 0
    diag "$n of 50 saw welcome, $bad failed: $(cat "$par"/*.err | sort | uniq -c | head -3 | tr '\n' '|')"
    return 1
}
check "50 parallel curl runs under vault-run all authenticate, nothing printed" parallel_ok

# --- rotation: the next run uses the new value
check "vaultctl rotate api_token" bash -c 'printf "%s" "$0" | "$1" rotate api_token >/dev/null' "$api2" "$VAULTCTL"
flow "after rotation the old server no longer accepts the tool (it sends the new value)" '^no$' \
    bash -c 'env PYTHONNOUSERSITE=1 python3 "$0" "$1" >/dev/null && echo yes || echo no' "$T/pyreq.py" "$AURL"
printf '%s\n' "$api2" >"$VS_TMP/api2.token"
check "an auth server for the rotated token starts" start_server auth2 "$PY" "$HELPERS/auth_server.py" "$VS_TMP/api2.token" 900
flow "after rotation the next python run authenticates with the new value" '^welcome$' \
    env PYTHONNOUSERSITE=1 python3 "$T/pyreq.py" "http://127.0.0.1:$SRV_PORT/"
flow "after rotation the next node run authenticates with the new value" '^welcome$' \
    node "$T/fetch.js" "http://127.0.0.1:$SRV_PORT/"

check "no value in vaultd's log or the audit log" bash -c '! grep -qaF -e "$1" -e "$2" -e "$3" "$0" "$4"' \
    "$VS_TMP/vaultd.log" $VALUES "$VAULT_HOME/audit.log"
diag "flows.sh took $((SECONDS - started)) s"
echo "$((_tap_n - _tap_failed)) passed, $_tap_failed failed"
vs_end
