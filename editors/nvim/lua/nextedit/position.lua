-- Positions: LSP ranges (in the client's position encoding) as buffer byte positions, the text of
-- a range, and the part of a replacement that really changes.
local M = {}

local has_0_11 = vim.fn.has('nvim-0.11') == 1

-- The byte index of UTF-16 or UTF-32 offset `character` in `line`, or nil when it is past the end.
-- Neovim 0.11 changed the signature of vim.str_byteindex.
local function str_byteindex(line, character, encoding)
  local ok, column
  if has_0_11 then
    ok, column = pcall(vim.str_byteindex, line, encoding, character, false)
  else
    ok, column = pcall(vim.str_byteindex, line, character, encoding == 'utf-16')
  end
  if ok then
    return column
  end
  return nil
end

--- Byte column of an LSP character offset on a buffer line, clamped to the line.
function M.byte_column(bufnr, row, character, encoding)
  local line = vim.api.nvim_buf_get_lines(bufnr, row, row + 1, false)[1] or ''
  if encoding == 'utf-8' then
    return math.min(character, #line)
  end
  local column = str_byteindex(line, character, encoding)
  if column == nil then
    return #line
  end
  return math.min(column, #line)
end

--- The LSP range as 0-based byte positions, clamped to the buffer.
function M.to_byte_range(bufnr, range, encoding)
  local line_count = vim.api.nvim_buf_line_count(bufnr)
  local function convert(position)
    if position.line >= line_count then
      local last = line_count - 1
      return last, #(vim.api.nvim_buf_get_lines(bufnr, last, last + 1, false)[1] or '')
    end
    return position.line, M.byte_column(bufnr, position.line, position.character, encoding)
  end
  local start_row, start_col = convert(range.start)
  local end_row, end_col = convert(range['end'])
  return { start_row = start_row, start_col = start_col, end_row = end_row, end_col = end_col }
end

--- The buffer text in a byte range.
function M.get_text(bufnr, range)
  local lines = vim.api.nvim_buf_get_text(bufnr, range.start_row, range.start_col, range.end_row, range.end_col, {})
  return table.concat(lines, '\n')
end

--- The position reached after `text` starting at (row, col).
function M.advance(row, col, text)
  local lines = vim.split(text, '\n', { plain = true })
  if #lines == 1 then
    return row, col + #text
  end
  return row + #lines - 1, #lines[#lines]
end

--- Whether `left` starts before `right` (both byte ranges).
function M.before(left, right)
  if left.start_row ~= right.start_row then
    return left.start_row < right.start_row
  end
  return left.start_col < right.start_col
end

--- Whether byte range `left` ends after byte range `right` starts.
function M.overlaps(left, right)
  return left.end_row > right.start_row or (left.end_row == right.start_row and left.end_col > right.start_col)
end

local function is_continuation_byte(text, index)
  local byte = text:byte(index)
  return byte ~= nil and byte >= 0x80 and byte < 0xC0
end

-- The length of the common prefix of two strings, in bytes, ending on a character boundary.
local function common_prefix(old_text, new_text)
  local prefix = 0
  while prefix < #old_text and prefix < #new_text and old_text:byte(prefix + 1) == new_text:byte(prefix + 1) do
    prefix = prefix + 1
  end
  while prefix > 0 and (is_continuation_byte(old_text, prefix + 1) or is_continuation_byte(new_text, prefix + 1)) do
    prefix = prefix - 1
  end
  return prefix
end

-- The length of the common suffix of two strings after `prefix` bytes, ending on a character
-- boundary.
local function common_suffix(old_text, new_text, prefix)
  local suffix = 0
  while suffix < #old_text - prefix and suffix < #new_text - prefix
    and old_text:byte(#old_text - suffix) == new_text:byte(#new_text - suffix) do
    suffix = suffix + 1
  end
  while suffix > 0
    and (is_continuation_byte(old_text, #old_text - suffix + 1) or is_continuation_byte(new_text, #new_text - suffix + 1)) do
    suffix = suffix - 1
  end
  return suffix
end

--- Splits a replacement into the part that changes: trims the common prefix and suffix, keeping
--- whole UTF-8 characters. Returns the prefix length, the deleted text and the inserted text.
function M.minimal_change(old_text, new_text)
  local prefix = common_prefix(old_text, new_text)
  local suffix = common_suffix(old_text, new_text, prefix)
  return prefix, old_text:sub(prefix + 1, #old_text - suffix), new_text:sub(prefix + 1, #new_text - suffix)
end

return M
