-- Third-party next-edit clients, unchanged, with nextedit as their server: sidekick.nvim (its NES)
-- and copilot-lsp (its `nes` module), configured as README.md says.
-- Env (see run.sh): NEXTEDIT_CLIENT = 'sidekick' or 'copilot-lsp', NEXTEDIT_CLIENT_DIR = the
-- unpacked plugin, and what harness.lua reads.
local test_dir = vim.fn.fnamemodify(debug.getinfo(1, 'S').source:sub(2), ':p:h')
package.path = test_dir .. '/?.lua;' .. package.path
local H = require('harness')
local env = H.setup()
local kind = assert(os.getenv('NEXTEDIT_CLIENT'), 'NEXTEDIT_CLIENT is not set')
local plugin_dir = assert(os.getenv('NEXTEDIT_CLIENT_DIR'), 'NEXTEDIT_CLIENT_DIR is not set')
vim.opt.runtimepath:prepend(plugin_dir)

-- Every message the user would see: vim.notify calls, and the message history at the end.
local notified = {}
local original_notify = vim.notify
vim.notify = function(message, level, opts)
  table.insert(notified, { message = tostring(message), level = level or vim.log.levels.INFO })
  return original_notify(message, level, opts)
end

--- Messages of warning level or above, and history lines that look like errors or warnings.
local function complaints()
  local found = {}
  for _, entry in ipairs(notified) do
    if entry.level >= vim.log.levels.WARN then
      table.insert(found, entry.message)
    end
  end
  for _, line in ipairs(vim.split(vim.fn.execute('messages'), '\n')) do
    if line:match('%[WARNING%]') or line:match('%[ERROR%]') or line:match('LSP%[') or line:match('[Ee]rror')
      or line:match('unknown setting') or line:match('changed') then
      table.insert(found, line)
    end
  end
  return found
end

-- The uses of `count` are more than 6 lines apart, so each is a hunk (one suggestion) of its own.
local NAMES = {
  'def summarize(values):',
  '    count = 0',
  '    for value in values:',
  '        note = "café"; count += value',
}
for _ = 1, 7 do table.insert(NAMES, '    step()') end
table.insert(NAMES, '    print("sûm →", count)')
for _ = 1, 7 do table.insert(NAMES, '    step()') end
table.insert(NAMES, '    return count')
local CALLS = {
  'def first():',
  '    result = compute_total(values, strict)',
  '    y = 2',
  '    w = 4',
  '    report = format_summary(result, strict)',
  '',
  '',
  'def second():',
  '    result = compute_total(values, strict)',
  '    y = 2',
  '    w = 4',
  '    report = format_summary(result, strict)',
}

-- The configuration README.md documents for each client.
local copilot_init_options = {
  editorInfo = { name = 'neovim', version = '0.11.4' },
  editorPluginInfo = { name = 'nextedit', version = '0.1.0' },
  model = { backend = 'none' },
}
if kind == 'sidekick' then
  vim.lsp.config('nextedit_copilot', {
    cmd = { env.server },
    root_markers = { '.git' },
    init_options = copilot_init_options,
  })
  require('sidekick').setup({ cli = { watch = false } })
else
  vim.g.copilot_nes_debounce = 100
  vim.lsp.config('nextedit_copilot', {
    cmd = { env.server },
    root_markers = { '.git' },
    init_options = copilot_init_options,
    settings = { nextEditSuggestions = { enabled = true } },
    on_init = function(client)
      local group = vim.api.nvim_create_augroup('nextedit_copilot_nes', { clear = true })
      require('copilot-lsp.nes').lsp_on_init(client, group)
    end,
  })
end
vim.lsp.enable('nextedit_copilot')

local client, bufnr

--- The suggestion the plugin shows: { line, character, text, id }, or nil.
local function shown()
  if kind == 'sidekick' then
    local edit = require('sidekick.nes').get(bufnr)[1]
    if edit then
      return { line = edit.range.start.line, character = edit.range.start.character, text = edit.text,
        id = edit.command.arguments[1] }
    end
  else
    local state = vim.b[bufnr].nes_state
    if state then
      return { line = state.range.start.line, character = state.range.start.character, text = state.text,
        id = state.command.arguments[1] }
    end
  end
end

local function wait_for_suggestion(what, line)
  return H.wait_until(what, function()
    local suggestion = shown()
    return suggestion and (line == nil or suggestion.line == line) and suggestion
  end, 15000)
end

--- Accepts through the plugin's own function.
local function accept()
  if kind == 'sidekick' then
    H.truthy(require('sidekick.nes').apply(), 'sidekick applied the edit')
  else
    H.truthy(require('copilot-lsp.nes').apply_pending_nes(bufnr), 'copilot-lsp applied the edit')
  end
end

--- Lets the callbacks an accept scheduled run (sidekick moves the cursor a few callbacks later).
local function settle()
  local done = false
  vim.schedule(function()
    vim.schedule(function()
      vim.schedule(function() done = true end)
    end)
  end)
  H.wait_until('the scheduled callbacks', function() return done end, 2000)
end

--- Asks the plugin for a suggestion now.
local function request()
  if kind == 'sidekick' then
    require('sidekick.nes').update()
  else
    require('copilot-lsp.nes').request_nes(client)
  end
end

local function server_command(command, argument)
  local response = client:request_sync('workspace/executeCommand', { command = command, arguments = { argument } },
    5000, bufnr)
  H.truthy(response and response.result, command .. ' answered: ' .. vim.inspect(response))
  return response.result
end

local function accepted()
  return server_command('nextedit.debugDocument', { uri = vim.uri_from_bufnr(bufnr) }).feedback.accepted
end

local function lines()
  return vim.api.nvim_buf_get_lines(bufnr, 0, -1, false)
end

local function open(name, text)
  local path = env.work_dir .. '/' .. name
  vim.fn.writefile(text, path)
  vim.cmd('edit ' .. vim.fn.fnameescape(path))
  bufnr = vim.api.nvim_get_current_buf()
end

H.test(kind .. ': starts without a warning', function()
  open('names.py', NAMES)
  client = H.wait_until('the nextedit_copilot client to attach', function()
    local found = vim.lsp.get_clients({ bufnr = bufnr, name = 'nextedit_copilot' })[1]
    return found and found.initialized and found
  end, 15000)
  H.eq('utf-16', client.offset_encoding, 'the position encoding of a client that identifies itself the Copilot way')
  -- A round trip: what the server said at startup has arrived.
  accepted()
  H.eq({}, complaints(), 'warnings and errors')
end)

H.test(kind .. ': a rename after non-ASCII text is shown, accepted exactly, recorded and chained', function()
  H.truthy(client, 'a client from the previous test')
  -- The user renames `count` on line 2.
  H.type('2G^ciwtotal<Esc>')
  local suggestion = wait_for_suggestion('the suggestion on line 4', 3)
  -- In UTF-16 units: `        note = "café"; ` is 23 (24 bytes).
  H.eq({ line = 3, character = 23, text = 'total' }, { line = suggestion.line, character = suggestion.character,
    text = suggestion.text }, 'the suggestion')
  accept()
  H.wait_until('line 4 renamed', function() return lines()[4] == '        note = "café"; total += value' end, 5000)
  H.wait_until('the accept recorded', function() return accepted() >= 1 end, 5000)
  -- The next occurrence follows, after `"sûm →"` (non-ASCII again).
  suggestion = wait_for_suggestion('the next suggestion on line 12', 11)
  H.eq(19, suggestion.character, 'the next suggestion\'s column in UTF-16 units')
  accept()
  H.wait_until('line 12 renamed', function() return lines()[12] == '    print("sûm →", total)' end, 5000)
  H.wait_until('both accepts recorded', function() return accepted() == 2 end, 5000)
  wait_for_suggestion('the last suggestion on line 20', 19)
  accept()
  local expected = vim.deepcopy(NAMES)
  for index, line in ipairs(expected) do
    expected[index] = line:gsub('count', 'total')
  end
  H.wait_until('every occurrence renamed', function() return vim.deep_equal(expected, lines()) end, 5000)
  settle()
  H.wait_until('three accepts recorded', function() return accepted() == 3 end, 5000)
end)

H.test(kind .. ': a suggestion of two changes is applied whole', function()
  open('calls.py', CALLS)
  H.wait_until('the client to attach to calls.py', function()
    return vim.lsp.get_clients({ bufnr = bufnr, name = 'nextedit_copilot' })[1]
  end, 10000)
  -- `, cache` added to both calls of first(): second() gets a suggestion of two changes.
  H.type('2G$i, cache<Esc>5G$i, cache<Esc>')
  -- The server's minimal edits of the same suggestion, applied to a copy: what accepting must give.
  local predicted
  H.wait_until('the plugin to show the server\'s current suggestion', function()
    local suggestion = shown()
    predicted = server_command('nextedit.predict', { uri = vim.uri_from_bufnr(bufnr) })
    return suggestion and predicted.id == suggestion.id
  end, 15000)
  H.eq(2, #predicted.edits, 'the changes of the suggestion')
  local copy = vim.api.nvim_create_buf(false, true)
  vim.api.nvim_buf_set_lines(copy, 0, -1, false, lines())
  vim.lsp.util.apply_text_edits(predicted.edits, copy, 'utf-16')
  local expected = vim.api.nvim_buf_get_lines(copy, 0, -1, false)
  local whole = vim.deepcopy(CALLS)
  for _, line in ipairs({ 2, 5, 9, 12 }) do
    whole[line] = whole[line]:gsub('strict%)', 'strict, cache)')
  end
  H.eq(whole, expected, 'the suggestion applied')
  accept()
  H.wait_until('the whole suggestion applied', function() return vim.deep_equal(expected, lines()) end, 5000)
  settle()
end)

H.test(kind .. ': a keystroke during a request shows no error', function()
  -- Slow the job down (the rename waits for the debounce) so the request is still waiting when
  -- the keystroke arrives.
  client:notify('workspace/didChangeConfiguration', {
    settings = { model = { backend = 'none' }, predict = { debounce_ms = 1500 }, symbolic = { prefer_over_model = 1.0 } },
  })
  open('names2.py', NAMES)
  H.wait_until('the client to attach to names2.py', function()
    return vim.lsp.get_clients({ bufnr = bufnr, name = 'nextedit_copilot' })[1]
  end, 10000)
  vim.api.nvim_buf_set_text(bufnr, 1, 4, 1, 9, { 'total' })
  request()
  vim.api.nvim_buf_set_text(bufnr, 0, 0, 0, 0, { '#' })
  H.wait_until('the request to end', function()
    for _, pending in pairs(client.requests) do
      if pending.method == 'textDocument/copilotInlineEdit' and pending.type == 'pending' then
        return false
      end
    end
    return true
  end, 10000)
  -- The change arrives and is answered before anything else could show.
  accepted()
  H.eq({}, complaints(), 'warnings and errors')
end)

H.run()
