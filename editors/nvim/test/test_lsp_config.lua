-- Neovim 0.11+: lsp/nextedit.lua works with vim.lsp.config/vim.lsp.enable, without the plugin.
-- The suggestion is then reachable as a code action, which is applied here.
-- Run: nvim --headless --clean -u NONE -c "luafile test_lsp_config.lua"
local function out(text)
  io.stdout:write(text .. '\n')
end
local passed, failed = 0, 0
local function check(name, condition, detail)
  if condition then
    passed = passed + 1
    out('ok - ' .. name)
  else
    failed = failed + 1
    out('FAILED - ' .. name .. (detail and (': ' .. detail) or ''))
  end
  return condition
end
local function finish()
  out(string.format('%d passed, %d failed', passed, failed))
  vim.cmd(failed == 0 and 'qall!' or 'cquit 1')
end

local test_dir = vim.fn.fnamemodify(debug.getinfo(1, 'S').source:sub(2), ':p:h')
vim.opt.runtimepath:prepend(vim.fn.fnamemodify(test_dir, ':h'))
local server = assert(os.getenv('NEXTEDIT_BIN'), 'NEXTEDIT_BIN is not set')
local work_file = assert(os.getenv('NEXTEDIT_WORK_FILE'), 'NEXTEDIT_WORK_FILE is not set')
vim.o.swapfile = false

vim.lsp.config('nextedit', { cmd = { server }, init_options = { model = { backend = 'none' } } })
vim.lsp.enable('nextedit')
check('lsp/nextedit.lua is found on the runtimepath',
  vim.deep_equal(vim.lsp.config.nextedit.root_markers, { 'nextedit.toml', '.git' }),
  vim.inspect(vim.lsp.config.nextedit))
vim.cmd('edit ' .. vim.fn.fnameescape(work_file))
local bufnr = vim.api.nvim_get_current_buf()
local client = nil
vim.wait(15000, function()
  client = vim.lsp.get_clients({ bufnr = bufnr, name = 'nextedit' })[1]
  return client ~= nil and client.initialized
end, 20)
if not check('vim.lsp.enable starts the server for a Python buffer', client ~= nil and client.initialized) then
  return finish()
end
out('# position encoding ' .. tostring(client.offset_encoding))

vim.api.nvim_buf_set_text(bufnr, 1, 4, 1, 9, { 'total' })
local action = nil
local titles = {}
local deadline = vim.uv.now() + 15000
while action == nil and vim.uv.now() < deadline do
  local response = client:request_sync('textDocument/codeAction', {
    textDocument = { uri = vim.uri_from_bufnr(bufnr) },
    range = { start = { line = 1, character = 9 }, ['end'] = { line = 1, character = 9 } },
    context = { diagnostics = {} },
  }, 5000, bufnr)
  titles = {}
  for _, candidate in ipairs(response and response.result or {}) do
    table.insert(titles, candidate.title)
    if action == nil and candidate.title:match('^Next edit: ') and not candidate.title:match('rename all') then
      action = candidate
    end
  end
  if action == nil then
    vim.wait(200)
  end
end
check('the server offers a "Next edit" code action', action ~= nil, vim.inspect(titles))
if action then
  check('the action is a preferred refactor.rewrite', action.kind == 'refactor.rewrite' and action.isPreferred == true,
    vim.inspect(action))
  vim.lsp.util.apply_workspace_edit(action.edit, client.offset_encoding)
  check('applying it changes line 4', vim.api.nvim_buf_get_lines(bufnr, 3, 4, false)[1] == '        total += value',
    vim.inspect(vim.api.nvim_buf_get_lines(bufnr, 0, -1, false)))
end
client:stop()
vim.wait(3000, function() return client:is_stopped() end, 20)
finish()
