-- Neovim 0.11+: lsp/nextedit.lua works with vim.lsp.config/vim.lsp.enable, without the plugin.
-- The suggestion is then reachable as a code action, which is applied here.
-- Run: nvim --headless --clean -u NONE -c "luafile test_lsp_config.lua"  (see run.sh for the env)
local test_dir = vim.fn.fnamemodify(debug.getinfo(1, 'S').source:sub(2), ':p:h')
package.path = test_dir .. '/?.lua;' .. package.path
local H = require('harness')
local env = H.setup()

local bufnr, client, action

-- Asks for code actions at the end of `total` on line 2 until the server offers the next edit.
local function wait_for_next_edit_action()
  local titles = {}
  local function next_edit_action()
    local response = client:request_sync('textDocument/codeAction', {
      textDocument = { uri = vim.uri_from_bufnr(bufnr) },
      range = { start = { line = 1, character = 9 }, ['end'] = { line = 1, character = 9 } },
      context = { diagnostics = {} },
    }, 5000, bufnr)
    titles = {}
    for _, candidate in ipairs(response and response.result or {}) do
      table.insert(titles, candidate.title)
      if H.is_next_edit_title(candidate.title) then
        return candidate
      end
    end
  end
  local ok, action = pcall(H.wait_until, 'a "Next edit" code action', next_edit_action, 15000)
  H.truthy(ok, 'the server offers a "Next edit" code action; offered: ' .. vim.inspect(titles))
  return action
end

H.test('lsp/nextedit.lua is found on the runtimepath', function()
  vim.lsp.config('nextedit', { cmd = { env.server }, init_options = { model = { backend = 'none' } } })
  vim.lsp.enable('nextedit')
  H.eq({ 'nextedit.toml', '.git' }, vim.lsp.config.nextedit.root_markers, 'root_markers')
end)

H.test('vim.lsp.enable starts the server for a Python buffer', function()
  vim.cmd('edit ' .. vim.fn.fnameescape(env.work_file))
  bufnr = vim.api.nvim_get_current_buf()
  client = H.wait_for_client(bufnr)
  H.out('# position encoding ' .. tostring(client.offset_encoding))
end)

H.test('the server offers a "Next edit" code action', function()
  H.truthy(client, 'a client from the previous test')
  H.rename_first_count(bufnr)
  action = wait_for_next_edit_action()
end)

H.test('the action is a preferred refactor.rewrite', function()
  H.truthy(action, 'an action from the previous test')
  H.eq('refactor.rewrite', action.kind, 'the action kind')
  H.eq(true, action.isPreferred, 'isPreferred')
end)

H.test('applying it changes line 4', function()
  H.truthy(action, 'an action from the previous test')
  vim.lsp.util.apply_workspace_edit(action.edit, client.offset_encoding)
  H.eq(H.RENAMED_LINE_4, vim.api.nvim_buf_get_lines(bufnr, 3, 4, false)[1], 'line 4 after applying the action')
  H.stop_client(client)
end)

H.run()
