-- Rendering: a suggestion drawn as an inline diff with extmarks, and the jump hint.
--
-- Removed text is highlighted (NexteditDelete), inserted text is virtual text or virtual lines
-- (NexteditInsert), a sign marks the edit's line, and a hint at the end of the cursor line points
-- to an edit on another line (NexteditHint).
local config = require('nextedit.config')
local position = require('nextedit.position')

local M = {}

M.namespace = vim.api.nvim_create_namespace('nextedit')

local has_0_10 = vim.fn.has('nvim-0.10') == 1

--- Removes every nextedit extmark from a buffer.
function M.clear(bufnr)
  if vim.api.nvim_buf_is_valid(bufnr) then
    vim.api.nvim_buf_clear_namespace(bufnr, M.namespace, 0, -1)
  end
end

--- The window that shows a buffer: the current one if it does, else the first, else nil.
function M.window_of(bufnr)
  if vim.api.nvim_get_current_buf() == bufnr then
    return vim.api.nvim_get_current_win()
  end
  local window = vim.fn.bufwinid(bufnr)
  return window ~= -1 and window or nil
end

--- Whether the first line of a suggestion is visible in the buffer's window.
function M.is_on_screen(bufnr, suggestion)
  local window = M.window_of(bufnr)
  if not window then
    return false
  end
  local row = suggestion.change.start_row + 1
  return vim.api.nvim_win_call(window, function()
    return row >= vim.fn.line('w0') and row <= vim.fn.line('w$')
  end)
end

local function hint_label(suggestion)
  local label = string.format('  ⇥ next edit: line %d', suggestion.change.start_row + 1)
  local jump_key = config.options.keymaps.jump
  if jump_key then
    label = label .. string.format(' (%s to jump)', jump_key)
  end
  return label
end

--- Draws the hint at the end of the cursor line, unless the cursor is on the edit's line.
function M.draw_jump_hint(bufnr, suggestion)
  local window = M.window_of(bufnr)
  if not window then
    return
  end
  if suggestion.hint_mark then
    pcall(vim.api.nvim_buf_del_extmark, bufnr, M.namespace, suggestion.hint_mark)
    suggestion.hint_mark = nil
  end
  local cursor_row = vim.api.nvim_win_get_cursor(window)[1] - 1
  if cursor_row == suggestion.change.start_row then
    return
  end
  suggestion.hint_mark = vim.api.nvim_buf_set_extmark(bufnr, M.namespace, cursor_row, 0, {
    virt_text = { { hint_label(suggestion), 'NexteditHint' } },
    virt_text_pos = 'eol',
    hl_mode = 'combine',
  })
end

local function draw_deletion(bufnr, change)
  vim.api.nvim_buf_set_extmark(bufnr, M.namespace, change.start_row, change.start_col, {
    end_row = change.end_row,
    end_col = change.end_col,
    hl_group = 'NexteditDelete',
    priority = 200,
  })
end

-- The inserted text's first line goes inline after the deleted text, its other lines below it.
local function draw_insertion(bufnr, change)
  local lines = vim.split(change.inserted, '\n', { plain = true })
  local options = {
    virt_text = { { lines[1], 'NexteditInsert' } },
    virt_text_pos = has_0_10 and 'inline' or 'eol',
    priority = 200,
  }
  if #lines > 1 then
    local virtual_lines = {}
    for index = 2, #lines do
      table.insert(virtual_lines, { { lines[index], 'NexteditInsert' } })
    end
    options.virt_lines = virtual_lines
  end
  vim.api.nvim_buf_set_extmark(bufnr, M.namespace, change.end_row, change.end_col, options)
end

local function draw_part(bufnr, change)
  if change.deleted ~= '' then
    draw_deletion(bufnr, change)
  end
  if change.inserted ~= '' then
    draw_insertion(bufnr, change)
  end
  vim.api.nvim_buf_set_extmark(bufnr, M.namespace, change.start_row, 0, {
    sign_text = config.options.sign_text,
    sign_hl_group = 'NexteditSign',
  })
end

--- Draws every part of a suggestion and the jump hint, replacing what was drawn before.
function M.draw(bufnr, suggestion)
  M.clear(bufnr)
  suggestion.hint_mark = nil
  for _, part in ipairs(suggestion.parts) do
    draw_part(bufnr, part.change)
  end
  M.draw_jump_hint(bufnr, suggestion)
end

-- One replacement of a suggestion, with the minimal change to draw; nil for a no-op.
local function make_part(bufnr, edit, encoding)
  local range = position.to_byte_range(bufnr, edit.range, encoding)
  local old_text = position.get_text(bufnr, range)
  if old_text == edit.text then
    return nil
  end
  local prefix, deleted, inserted = position.minimal_change(old_text, edit.text)
  local start_row, start_col = position.advance(range.start_row, range.start_col, old_text:sub(1, prefix))
  local end_row, end_col = position.advance(start_row, start_col, deleted)
  return {
    edit = edit,
    range = range,
    change = {
      start_row = start_row, start_col = start_col, end_row = end_row, end_col = end_col,
      deleted = deleted, inserted = inserted,
    },
  }
end

--- The parts of a suggestion's edits in buffer order, without no-ops; nil when there is nothing
--- to show or two edits overlap.
function M.make_parts(bufnr, edits, encoding)
  local parts = {}
  for _, edit in ipairs(edits) do
    local part = make_part(bufnr, edit, encoding)
    if part then
      table.insert(parts, part)
    end
  end
  if #parts == 0 then
    return nil
  end
  table.sort(parts, function(left, right) return position.before(left.range, right.range) end)
  for index = 2, #parts do
    if position.overlaps(parts[index - 1].range, parts[index].range) then
      return nil
    end
  end
  return parts
end

--- Defines the highlight groups, as defaults that a colour scheme may override.
function M.define_highlights()
  local function link(name, definition)
    definition.default = true
    vim.api.nvim_set_hl(0, name, definition)
  end
  link('NexteditDelete', { fg = '#ff7b72', bg = '#4b1f24', strikethrough = true, ctermfg = 203, cterm = { strikethrough = true } })
  link('NexteditInsert', { fg = '#7ee787', bg = '#1f3b26', ctermfg = 114 })
  link('NexteditHint', { link = 'Comment' })
  link('NexteditSign', { link = 'DiagnosticHint' })
end

return M
