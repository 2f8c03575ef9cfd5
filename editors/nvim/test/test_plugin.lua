-- Neovim 0.11+ tests of the nextedit plugin against the real server (symbolic engine only).
-- Run: nvim --headless --clean -u NONE -c "luafile test_plugin.lua"  (see run.sh for the env)
local test_dir = vim.fn.fnamemodify(debug.getinfo(1, 'S').source:sub(2), ':p:h')
local plugin_dir = vim.fn.fnamemodify(test_dir, ':h')
package.path = test_dir .. '/?.lua;' .. package.path
vim.opt.runtimepath:prepend(plugin_dir)
local H = require('harness')

local server = assert(os.getenv('NEXTEDIT_BIN'), 'NEXTEDIT_BIN is not set')
local work_file = assert(os.getenv('NEXTEDIT_WORK_FILE'), 'NEXTEDIT_WORK_FILE is not set')
vim.o.swapfile = false
vim.o.lines = 30
vim.o.columns = 100

local nextedit = require('nextedit')

local function lines()
  return vim.api.nvim_buf_get_lines(0, 0, -1, false)
end

local function marks()
  return vim.api.nvim_buf_get_extmarks(0, nextedit.namespace, 0, -1, { details = true })
end

local function find_mark(predicate)
  for _, mark in ipairs(marks()) do
    if predicate(mark[4], mark) then
      return mark
    end
  end
end

local function virtual_text(details)
  local parts = {}
  for _, chunk in ipairs(details.virt_text or {}) do
    table.insert(parts, chunk[1])
  end
  return table.concat(parts)
end

-- Renames `count` on line 2 (to `total` unless told), as a user would in normal mode.
local function rename_first_count(new_name)
  new_name = new_name or 'total'
  vim.api.nvim_win_set_cursor(0, { 2, 4 })
  H.type('ciw' .. new_name .. '<Esc>')
  H.eq('    ' .. new_name .. ' = 0', lines()[2], 'line 2 after the rename')
end

-- Waits for a suggestion on `row` (0-based), and, when `text` is given, one that inserts it: a
-- suggestion for a name still being typed (`am` of `amount`) may show briefly on a slow machine.
local function wait_for_suggestion(row, text)
  return H.wait_until('a suggestion on line ' .. (row + 1), function()
    local suggestion = nextedit.suggestion(0)
    return suggestion and suggestion.change.start_row == row and (text == nil or suggestion.edit.text == text) and suggestion
  end, 15000)
end

H.test('setup starts the server and maps no <Tab>', function()
  nextedit.setup({
    lsp = { cmd = { server }, init_options = { model = { backend = 'none' }, predict = { debounce_ms = 10 } } },
  })
  vim.cmd('edit ' .. vim.fn.fnameescape(work_file))
  H.wait_until('the nextedit client to attach', function()
    local client = vim.lsp.get_clients({ bufnr = 0, name = 'nextedit' })[1]
    return client and client.initialized
  end, 15000)
  for _, mode in ipairs({ 'i', 'n' }) do
    local description = vim.fn.maparg('<Tab>', mode, false, true).desc or ''
    H.truthy(not description:match('nextedit'), mode .. '-mode <Tab> is not mapped by nextedit')
  end
  H.truthy(vim.fn.maparg('<M-l>', 'n') ~= '', 'the accept keymap')
  H.eq(2, vim.fn.exists(':NexteditAccept'), ':NexteditAccept exists')
end)

H.test('a rename renders the next occurrence with extmarks', function()
  rename_first_count()
  local suggestion = wait_for_suggestion(3)
  H.eq('count', suggestion.change.deleted, 'deleted text')
  H.eq('total', suggestion.change.inserted, 'inserted text')
  local deleted = H.truthy(find_mark(function(details) return details.hl_group == 'NexteditDelete' end), 'a deletion extmark')
  H.eq({ 3, 8, 3, 13 }, { deleted[2], deleted[3], deleted[4].end_row, deleted[4].end_col }, 'deletion extmark range')
  local inserted = H.truthy(find_mark(function(details) return virtual_text(details) == 'total' end), 'an insertion extmark')
  H.eq('inline', inserted[4].virt_text_pos, 'insertion shown inline')
  H.eq({ 3, 13 }, { inserted[2], inserted[3] }, 'insertion extmark position')
  H.truthy(find_mark(function(details) return details.sign_text ~= nil and details.sign_text:match('»') end), 'a sign on the line of the edit')
  local hint = H.truthy(find_mark(function(details) return virtual_text(details):match('next edit: line 4') end), 'a jump hint')
  H.eq(1, hint[2], 'the jump hint is on the cursor line')
end)

H.test('jump moves the cursor to the suggestion', function()
  H.type('<M-j>')
  H.eq({ 4, 8 }, vim.api.nvim_win_get_cursor(0), 'cursor after jump')
  H.truthy(nextedit.suggestion(0), 'the suggestion is still shown after the jump')
  H.eq(nil, find_mark(function(details) return virtual_text(details):match('next edit: line') end), 'no jump hint on the edit line')
end)

H.test('accept applies the edit and chains to the next suggestion', function()
  H.type('<M-l>')
  H.eq('        total += value', lines()[4], 'line 4 after accept')
  local next_suggestion = wait_for_suggestion(4)
  H.eq('count', next_suggestion.change.deleted, 'the chained suggestion removes count')
  H.eq('total', next_suggestion.change.inserted, 'the chained suggestion inserts total')
  H.type(':NexteditAccept<CR>')
  H.eq('    print("sum:", total)', lines()[5], 'line 5 after the second accept')
end)

H.test('dismiss removes the suggestion and its extmarks', function()
  wait_for_suggestion(5)
  H.truthy(#marks() > 0, 'extmarks before dismiss')
  H.type('<M-e>')
  H.eq(nil, nextedit.suggestion(0), 'suggestion after dismiss')
  H.eq(0, #marks(), 'extmarks after dismiss')
  H.eq('    return count', lines()[6], 'line 6 is untouched')
end)

H.test('<Tab> accepts when enabled and types a tab otherwise', function()
  nextedit.setup({ start_server = false, tab = true, lsp = { cmd = { server }, init_options = { model = { backend = 'none' } } } })
  H.truthy(vim.fn.maparg('<Tab>', 'n') ~= '', 'normal-mode <Tab> mapping')
  -- A fresh copy of the file: rename `count` again, the next one is on line 4. (Another new name:
  -- the server suppresses a rejected rename in every document.)
  vim.cmd('edit ' .. vim.fn.fnameescape(vim.fn.fnamemodify(work_file, ':h') .. '/second.py'))
  H.wait_until('the nextedit client to attach to second.py', function()
    return vim.lsp.get_clients({ bufnr = 0, name = 'nextedit' })[1] ~= nil
  end, 10000)
  rename_first_count('amount')
  local suggestion = wait_for_suggestion(3, 'amount')
  H.eq('amount', suggestion.edit.text, 'the suggestion renames count to amount')
  H.type('<Tab>')
  H.wait_until('line 4 to be renamed by <Tab>', function() return lines()[4] == '        amount += value' end, 5000)
  -- Without a suggestion <Tab> keeps its normal behaviour: in insert mode it inserts a tab.
  nextedit.clear(0)
  H.type('GA<Tab>x<Esc>')
  -- A tab, or spaces to the next tab stop when the filetype sets expandtab.
  local last = lines()[#lines()]
  H.truthy(last:match('^    print%(summarize%(%[1, 2, 3%]%)%)[ \t]+x$'), 'a tab typed before x: ' .. vim.inspect(last))
end)

H.test(':checkhealth nextedit reports the server and the client', function()
  vim.cmd('checkhealth nextedit')
  local report = table.concat(vim.api.nvim_buf_get_lines(0, 0, -1, false), '\n')
  vim.cmd('bwipeout')
  H.truthy(report:match('Server binary: '), 'the report names the server binary:\n' .. report)
  H.truthy(report:match('Client %d+ attached'), 'the report names the attached client:\n' .. report)
  H.truthy(not report:match('ERROR'), 'the report has no error:\n' .. report)
end)

H.run()
