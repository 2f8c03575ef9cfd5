#!/bin/bash
# Installs code-server 4.100.3 (VS Code 1.100.3), playwright-core and Debian's Chromium into
# $NEXTEDIT_CLIENTS_CACHE/code-server. Idempotent. About 3 minutes the first time on 2 cores.
source "$(dirname "$0")/../../test/lib.sh"
CODE_SERVER_VERSION=4.100.3
RIPGREP_PACKAGE_VERSION=1.15.11
DIR=$NEXTEDIT_CLIENTS_CACHE/code-server-$CODE_SERVER_VERSION
apt_install chromium unzip ripgrep build-essential python3 pkg-config libkrb5-dev fonts-dejavu-core
if [ -f "$DIR/.installed" ]; then exit 0; fi
mkdir -p "$DIR/tmp"
export TMPDIR=$DIR/tmp
# @vscode/ripgrep's postinstall downloads rg unless its cache already has it: give it Debian's.
RG_CACHE=$TMPDIR/vscode-ripgrep-cache-$RIPGREP_PACKAGE_VERSION
mkdir -p "$RG_CACHE" "$TMPDIR/rgstage"
cp /usr/bin/rg "$TMPDIR/rgstage/rg"
tar czf "$RG_CACHE/ripgrep-v13.0.0-10-x86_64-unknown-linux-musl.tar.gz" -C "$TMPDIR/rgstage" rg
export npm_config_yes=true   # node-pty's install runs `npx node-gyp`
# npm 11 skips dependencies' install scripts unless allowed; code-server's postinstall runs nested
# `npm install`s (VS Code's own modules, node-pty, ...) that need theirs, so allow them for this
# one cache directory.
export npm_config_dangerously_allow_all_scripts=true npm_config_foreground_scripts=true
export XDG_CONFIG_HOME=$DIR/xdg-config XDG_DATA_HOME=$DIR/xdg-data
cd "$DIR"
[ -f package.json ] || echo '{"name":"nextedit-code-server-host","private":true}' > package.json
log "npm install code-server@$CODE_SERVER_VERSION playwright-core"
npm install --no-audit --no-fund --unsafe-perm "code-server@$CODE_SERVER_VERSION" playwright-core@1.65.1 >"$DIR/install.log" 2>&1 \
    || { tail -50 "$DIR/install.log" >&2; exit 1; }
./node_modules/.bin/code-server --version
touch "$DIR/.installed"
