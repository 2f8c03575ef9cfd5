-- Neovim 0.7.2: the code-action route. Start the server with the 0.7 API, rename `count` to `total`
-- once, run vim.lsp.buf.code_action() as a user would (vim.ui.select answered by choosing the
-- "Next edit" item), and check that the buffer has the edit.
-- Run: nvim --headless --clean -u NONE -c "luafile test_code_action_0.7.lua"
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

local server = assert(os.getenv('NEXTEDIT_BIN'), 'NEXTEDIT_BIN is not set')
local work_file = assert(os.getenv('NEXTEDIT_WORK_FILE'), 'NEXTEDIT_WORK_FILE is not set')
vim.o.swapfile = false
vim.cmd('edit ' .. vim.fn.fnameescape(work_file))
local bufnr = vim.api.nvim_get_current_buf()
local client_id = vim.lsp.start_client({
  name = 'nextedit',
  cmd = { server },
  root_dir = vim.fn.fnamemodify(work_file, ':h'),
  init_options = { model = { backend = 'none' } },
})
vim.lsp.buf_attach_client(bufnr, client_id)
local initialized = vim.wait(15000, function()
  local client = vim.lsp.get_client_by_id(client_id)
  return client ~= nil and client.initialized
end, 20)
if not check('the server starts with the 0.7 API', initialized) then
  return finish()
end
check('version ' .. tostring(vim.version().major) .. '.' .. tostring(vim.version().minor), vim.fn.has('nvim-0.7') == 1)

-- The user renames `count` on line 2.
vim.api.nvim_buf_set_text(bufnr, 1, 4, 1, 9, { 'total' })
vim.api.nvim_win_set_cursor(0, { 2, 9 })

-- vim.ui.select is the menu; choose the single-occurrence next edit as a user would.
local offered = {}
local chosen = nil
vim.ui.select = function(items, options, on_choice)
  offered = {}
  local pick = nil
  for index, item in ipairs(items) do
    local action = item.action or item[2] or item
    local title = action.title or (options.format_item and options.format_item(item)) or ''
    table.insert(offered, title)
    if pick == nil and title:match('^Next edit: ') and not title:match('rename all') then
      pick = index
    end
  end
  if pick then
    chosen = offered[pick]
    on_choice(items[pick], pick)
  else
    on_choice(nil, nil)
  end
end

-- The suggestion is computed after the change; ask again until the server offers it.
local deadline = vim.loop.now() + 15000
while chosen == nil and vim.loop.now() < deadline do
  vim.lsp.buf.code_action()
  vim.wait(1000, function() return chosen ~= nil end, 20)
end
check('the code action menu offers "Next edit"', chosen ~= nil, 'offered: ' .. vim.inspect(offered))
out('# chose: ' .. tostring(chosen))
local applied = vim.wait(10000, function()
  return vim.api.nvim_buf_get_lines(bufnr, 3, 4, false)[1] == '        total += value'
end, 20)
check('the chosen action applies the edit on line 4', applied,
  vim.inspect(vim.api.nvim_buf_get_lines(bufnr, 0, -1, false)))
-- The plugin's setup() on 0.7 only starts the server (no inline UI) and must not fail.
local test_dir = vim.fn.fnamemodify(debug.getinfo(1, 'S').source:sub(2), ':p:h')
vim.opt.runtimepath:prepend(vim.fn.fnamemodify(test_dir, ':h'))
local setup_ok, setup_error = pcall(function()
  require('nextedit').setup({ start_server = false })
end)
check("require('nextedit').setup() works on 0.7", setup_ok, tostring(setup_error))
vim.lsp.stop_client(client_id)
vim.wait(3000, function() return vim.lsp.client_is_stopped(client_id) end, 20)
finish()
