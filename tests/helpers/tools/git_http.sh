#!/usr/bin/env bash
# Set-up for a real smart-HTTP git server on loopback (the real-tool battery,
# tests/integration/shim_tools.sh): nginx (auth_basic) in front of fcgiwrap
# running git-http-backend. The caller starts and stops the two servers (so
# it can wait for them); this script only prepares their folder.
# usage: git_http.sh setup DIR PORT
#   DIR holds htpasswd (made by the caller); receives DIR/nginx.conf (from
#   nginx.conf.in: every path in DIR, listening on 127.0.0.1:PORT, the repos
#   under /git/) and a bare repository DIR/repos/repo.git with one commit on
#   main. nginx then runs as: nginx -e DIR/error.log -p DIR -c DIR/nginx.conf
#   and fcgiwrap as: fcgiwrap -c 1 -s unix:DIR/fcgi.sock
set -eu
[ "${1:-}" = setup ] && [ $# -eq 3 ] || { echo "usage: git_http.sh setup DIR PORT" >&2; exit 2; }
dir=$2 port=$3
here=$(cd "$(dirname "$0")" && pwd)
mkdir -p "$dir/repos" "$dir/tmp"
rm -rf "$dir/repos/repo.git" "$dir/tmp/work"
git init -q --bare "$dir/repos/repo.git"
git init -q "$dir/tmp/work"
git -C "$dir/tmp/work" -c user.name=test -c user.email=test@localhost commit -q --allow-empty -m first
git -C "$dir/tmp/work" push -q "$dir/repos/repo.git" HEAD:refs/heads/main
git -C "$dir/repos/repo.git" symbolic-ref HEAD refs/heads/main
git -C "$dir/repos/repo.git" config http.receivepack false
rm -f "$dir/fcgi.sock"
sed -e "s|@DIR@|$dir|g" -e "s|@PORT@|$port|g" "$here/nginx.conf.in" >"$dir/nginx.conf"
