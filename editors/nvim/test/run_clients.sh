#!/bin/bash
# Third-party next-edit clients in Neovim 0.11.4 headless, unchanged, with nextedit as their server:
#   sidekick.nvim v2.1.0; sidekick.nvim 8ad0ede with the one-line upstream fix of its request ids;
#   copilot-lsp 1b6d827. Each is unpacked from the pinned archives in ../shared/clients/nvim-plugins
#   (beside the checkout; NEXTEDIT_CLIENT_ARCHIVES overrides it) and runs test_clients.lua.
# Env: NEXTEDIT_BIN, NEXTEDIT_CLIENTS_CACHE, NEXTEDIT_CLIENT_ARCHIVES.
source "$(dirname "$0")/../../test/lib.sh"
require_server
HERE=$(cd "$(dirname "$0")" && pwd)
bash "$HERE/install.sh"
apt_install patch
NVIM_011=$NEXTEDIT_CLIENTS_CACHE/nvim-0.11.4/venv/bin/nvim
ARCHIVES=${NEXTEDIT_CLIENT_ARCHIVES:-$REPO_DIR/../shared/clients/nvim-plugins}

make_scratch nvim-clients
trap 'rm -rf "$SCRATCH"' EXIT
source "$HERE/headless.sh"

# Unpacks $1 (an archive name) into $SCRATCH/plugins/$2 and prints the plugin's directory.
unpack() {
    local archive=$ARCHIVES/$1 into=$SCRATCH/plugins/$2
    mkdir -p "$into"
    tar -xzf "$archive" -C "$into"
    find "$into" -mindepth 1 -maxdepth 1 -type d | head -n1
}

if [ ! -d "$ARCHIVES" ]; then
    fail "the plugin archives are not at $ARCHIVES (set NEXTEDIT_CLIENT_ARCHIVES)"
    finish
fi

# $1 = label, $2 = client kind, $3 = plugin dir.
run_client() {
    NEXTEDIT_CLIENT=$2 NEXTEDIT_CLIENT_DIR=$3
    export NEXTEDIT_CLIENT NEXTEDIT_CLIENT_DIR
    run_headless "$1" "$NVIM_011" test_clients.lua
}

run_client sidekick-2.1.0 sidekick "$(unpack sidekick.nvim-v2.1.0.tar.gz sidekick-2.1.0)"
SIDEKICK_HEAD=$(unpack sidekick.nvim-8ad0ede.tar.gz sidekick-8ad0ede)
patch -s -p1 -d "$SIDEKICK_HEAD" < "$ARCHIVES/sidekick-head-request-id.patch"
run_client sidekick-8ad0ede sidekick "$SIDEKICK_HEAD"
run_client copilot-lsp copilot-lsp "$(unpack copilot-lsp-1b6d827.tar.gz copilot-lsp)"
finish
