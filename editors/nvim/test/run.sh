#!/bin/bash
# Real-editor tests of the Neovim integration:
#   1. Neovim 0.11.4 headless: the plugin (positions, setup, opt-in keys, extmarks, jump, accept
#      and chaining, dismiss, opt-in <Tab>, :checkhealth nextedit, root directories);
#   2. Neovim 0.10.4 headless: the same plugin tests, where setup() starts a client per root with
#      vim.lsp.start (no vim.lsp.config before 0.11);
#   3. Neovim 0.11.4 headless: lsp/nextedit.lua with vim.lsp.config/vim.lsp.enable, code action;
#   4. Neovim 0.7.2 (Debian) headless: the code-action route with vim.lsp.buf.code_action(), and
#      setup() starting a client per root with vim.lsp.start_client;
#   5. Neovim 0.11.4 in tmux: the rendered suggestion on screen, saved as text and PNG.
# Env: NEXTEDIT_BIN, NEXTEDIT_CLIENTS_CACHE, NEXTEDIT_ARTIFACTS.
source "$(dirname "$0")/../../test/lib.sh"
require_server
HERE=$(cd "$(dirname "$0")" && pwd)
PLUGIN_DIR=$(cd "$HERE/.." && pwd)
bash "$HERE/install.sh"
NVIM_011=$NEXTEDIT_CLIENTS_CACHE/nvim-0.11.4/venv/bin/nvim
NVIM_010=$NEXTEDIT_CLIENTS_CACHE/nvim-0.10/bin/nvim
NVIM_07=/usr/bin/nvim

make_scratch nvim
trap 'rm -rf "$SCRATCH"' EXIT

source "$HERE/headless.sh"

run_headless plugin-0.11 "$NVIM_011" test_plugin.lua
run_headless plugin-0.10 "$NVIM_010" test_plugin.lua
run_headless lsp-config-0.11 "$NVIM_011" test_lsp_config.lua
run_headless code-action-0.7 "$NVIM_07" test_code_action_0.7.lua

# The rendered suggestion in a real terminal UI.
WORK=$SCRATCH/tmux
mkdir -p "$WORK"
cp "$EDITORS_DIR/test/fixtures/stats.py" "$WORK/stats.py"
cat > "$WORK/init.lua" <<EOF
vim.opt.runtimepath:prepend('$PLUGIN_DIR')
vim.o.termguicolors = true
vim.o.swapfile = false
vim.o.signcolumn = 'yes'
vim.o.number = true
vim.cmd.colorscheme('habamax')
vim.api.nvim_create_autocmd('LspAttach', { callback = function() vim.g.nextedit_attached = 'attached'; vim.cmd.redrawstatus() end })
vim.o.statusline = "%f %= nextedit %{get(g:, 'nextedit_attached', 'starting')} "
require('nextedit').setup({
  lsp = { cmd = { '$NEXTEDIT_BIN' }, init_options = { model = { backend = 'none' } } },
})
EOF
SOCKET=nextedit-nvim-$$
T="tmux -L $SOCKET"
screen() { $T capture-pane -p -t nv; }
wait_for() {
    local deadline=$((SECONDS + $2))
    while [ $SECONDS -lt $deadline ]; do
        screen | grep -qE -- "$1" && return 0
        sleep 0.1
    done
    echo "timeout waiting for /$1/ on the screen:" >&2; screen >&2
    return 1
}
(cd "$WORK" && COLORTERM=truecolor $T new-session -d -s nv -x 90 -y 16 "$NVIM_011 -u init.lua -i NONE stats.py")
if wait_for 'nextedit attached' 20; then
    $T send-keys -t nv 2G '^' c i w total Escape
    if wait_for 'next edit: line 4' 20 && wait_for 'counttotal \+= value' 5; then
        pass "tmux: Neovim shows the suggestion inline with a jump hint"
    else
        fail "tmux: Neovim shows the suggestion inline with a jump hint"
    fi
    $T capture-pane -e -p -t nv > "$NEXTEDIT_ARTIFACTS/nvim-suggestion.ansi"
    screen > "$NEXTEDIT_ARTIFACTS/nvim-suggestion.txt"
    cat "$NEXTEDIT_ARTIFACTS/nvim-suggestion.txt"
    python3 "$EDITORS_DIR/test/screen_to_html.py" "$NEXTEDIT_ARTIFACTS/nvim-suggestion.ansi" "$SCRATCH/nvim.html" "Neovim"
    if [ -x /usr/bin/chromium ]; then
        /usr/bin/chromium --headless --no-sandbox --disable-gpu --hide-scrollbars --window-size=830,330 \
            --screenshot="$NEXTEDIT_ARTIFACTS/nvim-suggestion.png" "file://$SCRATCH/nvim.html" >/dev/null 2>&1 \
            && echo "# screenshot $NEXTEDIT_ARTIFACTS/nvim-suggestion.png"
    fi
    $T send-keys -t nv ':qa!' Enter
else
    fail "tmux: the server attaches in the Neovim UI"
fi
$T kill-server 2>/dev/null || true
finish
