-- Tests of the nextedit plugin against the real server (symbolic engine only), on Neovim 0.10
-- (the server started per root by the plugin) and 0.11 (vim.lsp.config/vim.lsp.enable).
-- Run: nvim --headless --clean -u NONE -c "luafile test_plugin.lua"  (see run.sh for the env)
local test_dir = vim.fn.fnamemodify(debug.getinfo(1, 'S').source:sub(2), ':p:h')
package.path = test_dir .. '/?.lua;' .. package.path
local H = require('harness')
local root_tests = require('root_tests')
local env = H.setup()
local server, work_file = env.server, env.work_file
vim.o.lines = 30
vim.o.columns = 100

local nextedit = require('nextedit')
local position = require('nextedit.position')

local lsp_options = { cmd = { server }, init_options = { model = { backend = 'none' }, predict = { debounce_ms = 10 } } }
local default_keys = { '<M-l>', '<M-e>', '<M-j>', '<M-]>' }

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

-- The mapping of `lhs` in `mode` with its details (buffer-local first), or nil.
local function mapping(lhs, mode)
  local details = vim.fn.maparg(lhs, mode, false, true)
  if vim.tbl_isempty(details) then
    return nil
  end
  return details
end

-- Whether any global mapping of `mode` has `lhs` (as maparg normalises it).
local function has_global_mapping(lhs, mode)
  local normalised = vim.fn.maparg(lhs, mode, false, true).lhs or lhs
  for _, map in ipairs(vim.api.nvim_get_keymap(mode)) do
    if map.lhs == normalised or map.lhs == lhs then
      return true
    end
  end
  return false
end

-- Opens a copy of the fixture under another name, waits for the client, and returns its buffer.
local function open_copy(name)
  local path = env.work_dir .. '/' .. name
  vim.fn.writefile(vim.fn.readfile(work_file), path)
  vim.cmd('edit ' .. vim.fn.fnameescape(path))
  H.wait_for_client(0)
  return vim.api.nvim_get_current_buf()
end

H.test('position: byte_column converts UTF-16 and UTF-32 offsets and clamps', function()
  local bufnr = vim.api.nvim_create_buf(false, true)
  vim.api.nvim_buf_set_lines(bufnr, 0, -1, false, { 'a😀é = 1' })
  -- 😀 is 4 bytes, 2 UTF-16 units and 1 UTF-32 unit; é is 2 bytes and one unit in both.
  H.eq(5, position.byte_column(bufnr, 0, 3, 'utf-16'), 'after 😀 in UTF-16')
  H.eq(5, position.byte_column(bufnr, 0, 2, 'utf-32'), 'after 😀 in UTF-32')
  H.eq(7, position.byte_column(bufnr, 0, 4, 'utf-16'), 'after é in UTF-16')
  H.eq(4, position.byte_column(bufnr, 0, 4, 'utf-8'), 'UTF-8 offsets are bytes')
  H.eq(11, position.byte_column(bufnr, 0, 99, 'utf-16'), 'past the end clamps to the line')
  local range = position.to_byte_range(bufnr, { start = { line = 0, character = 1 }, ['end'] = { line = 5, character = 0 } }, 'utf-16')
  H.eq({ start_row = 0, start_col = 1, end_row = 0, end_col = 11 }, range, 'a range past the last line clamps')
  vim.api.nvim_buf_delete(bufnr, { force = true })
end)

H.test('position: minimal_change keeps whole UTF-8 characters', function()
  H.eq({ 4, 'count', 'total' }, { position.minimal_change('    count = 0', '    total = 0') }, 'a rename')
  -- é (C3 A9) and è (C3 A8) share their first byte: the change is the whole character.
  H.eq({ 1, 'é', 'è' }, { position.minimal_change('xé', 'xè') }, 'a character that shares a lead byte')
  H.eq({ 3, '', ', b' }, { position.minimal_change('f(a)', 'f(a, b)') }, 'an insertion')
  H.eq(nextedit._minimal_change, position.minimal_change, 'the function the plugin exports')
end)

H.test('setup without the keymaps option maps no key', function()
  nextedit.setup({ lsp = lsp_options })
  vim.cmd('edit ' .. vim.fn.fnameescape(work_file))
  H.wait_for_client(0)
  for _, mode in ipairs({ 'n', 'i' }) do
    for _, lhs in ipairs(default_keys) do
      H.eq(nil, mapping(lhs, mode), mode .. '-mode mapping of ' .. lhs)
    end
    -- Neovim 0.11 maps insert-mode <Tab> itself (vim.snippet): only check that it is not ours.
    local tab = mapping('<Tab>', mode) or {}
    H.truthy(not (tab.desc or ''):match('nextedit') and tab.rhs ~= '<Plug>(nextedit-tab)', mode .. '-mode <Tab> is not mapped by nextedit')
    for _, map in ipairs(vim.api.nvim_buf_get_keymap(0, mode)) do
      H.truthy(not (map.desc or ''):match('nextedit'), 'no buffer-local nextedit mapping: ' .. vim.inspect(map))
    end
  end
  for _, action in ipairs({ 'accept', 'dismiss', 'jump', 'trigger', 'tab' }) do
    H.truthy(mapping('<Plug>(nextedit-' .. action .. ')', 'n'), '<Plug>(nextedit-' .. action .. ')')
  end
  H.eq(2, vim.fn.exists(':NexteditAccept'), ':NexteditAccept exists')
end)

H.test('keymaps = true maps the default keys in the buffers of the server only', function()
  nextedit.setup({ lsp = lsp_options, keymaps = true })
  -- The buffer the client attached to before setup(), and one it attaches to after (LspAttach).
  local attached_before = vim.api.nvim_get_current_buf()
  local attached_after = open_copy('keys.py')
  for _, bufnr in ipairs({ attached_before, attached_after }) do
    vim.api.nvim_set_current_buf(bufnr)
    for _, mode in ipairs({ 'n', 'i' }) do
      local accept = H.truthy(mapping('<M-l>', mode), mode .. '-mode <M-l> in buffer ' .. bufnr)
      H.eq({ 1, '<Plug>(nextedit-accept)' }, { accept.buffer, accept.rhs }, mode .. '-mode <M-l>')
      H.eq('<Plug>(nextedit-trigger)', H.truthy(mapping('<M-]>', mode), '<M-]>').rhs, mode .. '-mode <M-]>')
      for _, lhs in ipairs(default_keys) do
        H.truthy(not has_global_mapping(lhs, mode), 'no global ' .. mode .. '-mode mapping of ' .. lhs)
      end
    end
  end
  -- A buffer without the server gets no key.
  vim.cmd('enew')
  H.eq(nil, mapping('<M-l>', 'n'), '<M-l> in a scratch buffer')
  vim.cmd('edit ' .. vim.fn.fnameescape(work_file))
  H.eq(attached_before, vim.api.nvim_get_current_buf(), 'back in stats.py')
end)

H.test('a rename renders the next hunk with extmarks', function()
  rename_first_count()
  local suggestion = wait_for_suggestion(3)
  -- One suggestion is one hunk: the occurrences on lines 4, 5 and 6 go together.
  H.eq(3, #suggestion.parts, 'the parts of the hunk')
  H.eq({ 3, 4, 5 }, vim.tbl_map(function(part) return part.change.start_row end, suggestion.parts), 'the rows of the parts')
  H.eq('count', suggestion.change.deleted, 'deleted text')
  H.eq('total', suggestion.change.inserted, 'inserted text')
  local deletions = vim.tbl_filter(function(mark) return mark[4].hl_group == 'NexteditDelete' end, marks())
  H.eq(3, #deletions, 'a deletion extmark per occurrence')
  local deleted = H.truthy(find_mark(function(details) return details.hl_group == 'NexteditDelete' end), 'a deletion extmark')
  H.eq({ 3, 8, 3, 13 }, { deleted[2], deleted[3], deleted[4].end_row, deleted[4].end_col }, 'deletion extmark range')
  local inserted = H.truthy(find_mark(function(details) return virtual_text(details) == 'total' end), 'an insertion extmark')
  H.eq('inline', inserted[4].virt_text_pos, 'insertion shown inline')
  H.eq({ 3, 13 }, { inserted[2], inserted[3] }, 'insertion extmark position')
  H.truthy(find_mark(function(details) return details.sign_text ~= nil and details.sign_text:match('»') end), 'a sign on the line of the edit')
  local hint = H.truthy(find_mark(function(details) return virtual_text(details):match('next edit: line 4') end), 'a jump hint')
  H.truthy(virtual_text(hint[4]):match('%(<M%-j> to jump%)'), 'the hint names the jump key: ' .. virtual_text(hint[4]))
  H.eq(1, hint[2], 'the jump hint is on the cursor line')
end)

H.test('jump moves the cursor to the suggestion', function()
  H.type('<M-j>')
  H.eq({ 4, 8 }, vim.api.nvim_win_get_cursor(0), 'cursor after jump')
  H.truthy(nextedit.suggestion(0), 'the suggestion is still shown after the jump')
  H.eq(nil, find_mark(function(details) return virtual_text(details):match('next edit: line') end), 'no jump hint on the edit line')
end)

H.test('accept applies the whole hunk', function()
  H.type('<M-l>')
  H.eq({ H.RENAMED_LINE_4, '    print("sum:", total)', '    return total' }, { lines()[4], lines()[5], lines()[6] }, 'lines 4 to 6 after accept')
end)

H.test('dismiss removes the suggestion and its extmarks', function()
  -- Another rename, so that there is a suggestion to dismiss: the parameter, used on line 3.
  vim.api.nvim_win_set_cursor(0, { 1, 14 })
  H.type('ciwitems<Esc>')
  H.eq('def summarize(items):', lines()[1], 'line 1 after the rename')
  wait_for_suggestion(2, 'items')
  H.truthy(#marks() > 0, 'extmarks before dismiss')
  H.type('<M-e>')
  H.eq(nil, nextedit.suggestion(0), 'suggestion after dismiss')
  H.eq(0, #marks(), 'extmarks after dismiss')
  H.eq('    for value in values:', lines()[3], 'line 3 is untouched')
end)

H.test('<Tab> accepts when enabled and types a tab otherwise', function()
  nextedit.setup({ start_server = false, tab = true, lsp = lsp_options })
  H.eq('<Plug>(nextedit-tab)', H.truthy(mapping('<Tab>', 'n'), 'normal-mode <Tab> mapping').rhs, '<Tab> rhs')
  H.eq(1, mapping('<Tab>', 'n').buffer, 'buffer-local <Tab>')
  H.eq(nil, mapping('<M-l>', 'n'), 'the keys of the previous setup() are gone')
  -- The same in a buffer that is not the current one.
  local keys_buffer = vim.fn.bufnr(env.work_dir .. '/keys.py')
  H.truthy(keys_buffer > 0, 'keys.py is loaded')
  local keys_maps = vim.api.nvim_buf_call(keys_buffer, function()
    return { accept = mapping('<M-l>', 'i'), tab = mapping('<Tab>', 'n') }
  end)
  H.eq(nil, keys_maps.accept, 'insert-mode <M-l> in keys.py after setup() again')
  H.eq('<Plug>(nextedit-tab)', (keys_maps.tab or {}).rhs, '<Tab> in keys.py')
  -- A fresh copy of the file: rename `count` again, the next one is on line 4. (Another new name:
  -- the server suppresses a rejected rename in every document.)
  vim.cmd('edit ' .. vim.fn.fnameescape(vim.fn.fnamemodify(work_file, ':h') .. '/second.py'))
  H.wait_for_client(0)
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

H.test('a keymaps table maps the keys it names and no other', function()
  nextedit.setup({ start_server = false, lsp = lsp_options, keymaps = { accept = '<C-y>', jump = false } })
  local accept = H.truthy(mapping('<C-y>', 'i'), 'insert-mode <C-y>')
  H.eq({ 1, '<Plug>(nextedit-accept)' }, { accept.buffer, accept.rhs }, 'insert-mode <C-y>')
  for _, lhs in ipairs(default_keys) do
    H.eq(nil, mapping(lhs, 'n'), 'normal-mode ' .. lhs)
  end
end)

H.test(':checkhealth nextedit reports the server and the client', function()
  vim.cmd('checkhealth nextedit')
  local report = table.concat(vim.api.nvim_buf_get_lines(0, 0, -1, false), '\n')
  vim.cmd('bwipeout')
  H.truthy(report:match('Server binary: '), 'the report names the server binary:\n' .. report)
  H.truthy(report:match('Client %d+ attached'), 'the report names the attached client:\n' .. report)
  H.truthy(not report:match('ERROR'), 'the report has no error:\n' .. report)
  H.truthy(report:match('Keymaps: accept <C%-y>;'), 'the report names the keys:\n' .. report)
end)

root_tests.define(H, env)

H.run()
