-- Requests: after a change, wait `debounce_ms`, cancel the request still in flight, and ask the
-- server for `textDocument/copilotInlineEdit`. A result for an older buffer version is dropped.
-- Accepting applies the edit and tells the server (`nextedit.accept`); the change then asks for the
-- next suggestion, so a rename can be accepted occurrence after occurrence. Dismissing tells the
-- server (`nextedit.reject`) not to offer it again.
local config = require('nextedit.config')
local position = require('nextedit.position')
local render = require('nextedit.render')

local M = {}

local uv = vim.uv or vim.loop
local has_0_11 = vim.fn.has('nvim-0.11') == 1

-- Per-buffer state: the debounce timer, the request in flight, a generation that a newer request
-- or a change increments, and the shown suggestion.
---@type table<integer, {timer: any, request: {client: any, id: integer}|nil, generation: integer, suggestion: table|nil}>
local buffers = {}

local function current(bufnr)
  if bufnr == nil or bufnr == 0 then
    return vim.api.nvim_get_current_buf()
  end
  return bufnr
end

--- The nextedit client attached to a buffer, or nil.
function M.get_client(bufnr)
  local clients
  if vim.lsp.get_clients then
    clients = vim.lsp.get_clients({ bufnr = bufnr, name = 'nextedit' })
  else
    clients = {}
    for _, client in pairs(vim.lsp.buf_get_clients(bufnr)) do
      if client.name == 'nextedit' then
        table.insert(clients, client)
      end
    end
  end
  return clients[1]
end

-- Calls a client method with the 0.11 `client:method()` form or the older `client.method()` one.
local function client_call(client, method, ...)
  if has_0_11 then
    return client[method](client, ...)
  end
  return client[method](...)
end

local function buffer_state(bufnr)
  local state = buffers[bufnr]
  if not state then
    state = { timer = nil, request = nil, generation = 0, suggestion = nil }
    buffers[bufnr] = state
  end
  return state
end

-- The version the client last sent for the buffer (its change tick before the first change).
local function buffer_version(bufnr)
  local versions = vim.lsp.util.buf_versions
  local version = versions and versions[bufnr]
  if version == nil or version == 0 then
    version = vim.api.nvim_buf_get_changedtick(bufnr)
  end
  return version
end

local function stop_timer(state)
  if state.timer then
    state.timer:stop()
    state.timer:close()
    state.timer = nil
  end
end

-- Stops the debounce timer and cancels the request in flight; their results are then ignored.
local function cancel_pending(bufnr)
  local state = buffer_state(bufnr)
  state.generation = state.generation + 1
  stop_timer(state)
  if state.request then
    pcall(client_call, state.request.client, 'cancel_request', state.request.id)
    state.request = nil
  end
end

local function command_id(edit)
  return edit.command and edit.command.arguments and edit.command.arguments[1]
end

--- Forgets the suggestion shown in a buffer, without telling the server.
function M.clear(bufnr)
  bufnr = current(bufnr)
  buffer_state(bufnr).suggestion = nil
  render.clear(bufnr)
end

local function fire(pattern)
  vim.api.nvim_exec_autocmds('User', { pattern = pattern, modeline = false })
end

-- Shows the edits of one suggestion (those that share the accept command's id).
local function show(bufnr, client, edits)
  local encoding = client.offset_encoding or 'utf-16'
  local parts = render.make_parts(bufnr, edits, encoding)
  if not parts then
    return
  end
  local first = parts[1]
  local suggestion = {
    id = command_id(first.edit),
    edit = first.edit,
    range = first.range,
    change = first.change,
    parts = parts,
    client_id = client.id,
    encoding = encoding,
    version = buffer_version(bufnr),
  }
  buffer_state(bufnr).suggestion = suggestion
  render.draw(bufnr, suggestion)
  pcall(client_call, client, 'notify', 'textDocument/didShowInlineEdit', { item = first.edit })
  fire('NexteditSuggestion')
end

-- The edits of a copilotInlineEdit result that belong to its first suggestion, or nil when there
-- is none or one is for another version of the document.
local function first_suggestion_edits(result, version)
  local first = result and result.edits and result.edits[1]
  if not first then
    return nil
  end
  local id = command_id(first)
  local edits = {}
  for _, edit in ipairs(result.edits) do
    if command_id(edit) == id then
      if edit.textDocument and edit.textDocument.version and edit.textDocument.version ~= version then
        return nil
      end
      table.insert(edits, edit)
    end
  end
  return edits
end

--- Asks the server for the next edit at the cursor now.
function M.request(bufnr)
  bufnr = current(bufnr)
  local client = M.get_client(bufnr)
  local window = render.window_of(bufnr)
  if not client or not window then
    return
  end
  cancel_pending(bufnr)
  local state = buffer_state(bufnr)
  local generation = state.generation
  local version = buffer_version(bufnr)
  local position_params = vim.lsp.util.make_position_params(window, client.offset_encoding or 'utf-16')
  local params = {
    textDocument = { uri = vim.uri_from_bufnr(bufnr), version = version },
    position = position_params.position,
  }
  local function on_result(err, result)
    if state.generation ~= generation then
      return
    end
    state.request = nil
    if err or not vim.api.nvim_buf_is_valid(bufnr) or buffer_version(bufnr) ~= version then
      return
    end
    local edits = first_suggestion_edits(result, version)
    if edits then
      show(bufnr, client, edits)
    end
  end
  local ok, request_id = client_call(client, 'request', 'textDocument/copilotInlineEdit', params, on_result, bufnr)
  if ok and request_id then
    state.request = { client = client, id = request_id }
  end
end

-- Asks for the next edit once the buffer has not changed for `debounce_ms`.
local function schedule_request(bufnr)
  cancel_pending(bufnr)
  local state = buffer_state(bufnr)
  local timer = uv.new_timer()
  state.timer = timer
  timer:start(config.options.debounce_ms, 0, vim.schedule_wrap(function()
    if state.timer ~= timer then
      return
    end
    state.timer = nil
    timer:close()
    M.request(bufnr)
  end))
end

--- A change hides the shown suggestion and, with `auto_trigger`, asks for a new one.
function M.on_text_changed(bufnr)
  local state = buffers[bufnr]
  if state and state.suggestion then
    M.clear(bufnr)
  end
  if not M.get_client(bufnr) then
    return
  end
  if config.options.auto_trigger then
    schedule_request(bufnr)
  else
    cancel_pending(bufnr)
  end
end

--- Redraws the jump hint of the shown suggestion after the cursor moved.
function M.on_cursor_moved(bufnr)
  local state = buffers[bufnr]
  if state and state.suggestion then
    render.draw_jump_hint(bufnr, state.suggestion)
  end
end

--- Forgets a buffer that is unloaded or wiped out.
function M.forget(bufnr)
  if buffers[bufnr] then
    cancel_pending(bufnr)
    buffers[bufnr] = nil
  end
end

--- The suggestion shown in a buffer, or nil.
function M.suggestion(bufnr)
  bufnr = current(bufnr)
  local state = buffers[bufnr]
  local suggestion = state and state.suggestion
  if suggestion and suggestion.version ~= buffer_version(bufnr) then
    M.clear(bufnr)
    return nil
  end
  return suggestion
end

-- Runs `nextedit.accept` or `nextedit.reject` for a suggestion on the server.
local function send_command(bufnr, suggestion, command)
  local client = vim.lsp.get_client_by_id(suggestion.client_id)
  if not client then
    return
  end
  local arguments = suggestion.edit.command and suggestion.edit.command.arguments or { suggestion.id }
  local params = { command = command, arguments = arguments }
  client_call(client, 'request', 'workspace/executeCommand', params, function() end, bufnr)
end

-- Applies every part, from the last one up so the ranges before it stay valid. Returns an extmark
-- at the end of the last replacement: it follows the others' changes and gives the cursor's place.
local function apply_parts(bufnr, parts)
  local cursor_mark
  for index = #parts, 1, -1 do
    local part = parts[index]
    local range = part.range
    local lines = vim.split(part.edit.text, '\n', { plain = true })
    vim.api.nvim_buf_set_text(bufnr, range.start_row, range.start_col, range.end_row, range.end_col, lines)
    if index == #parts then
      local row, col = position.advance(range.start_row, range.start_col, part.edit.text)
      cursor_mark = vim.api.nvim_buf_set_extmark(bufnr, render.namespace, row, col, {})
    end
  end
  return cursor_mark
end

-- Puts the cursor at an extmark: after the text in insert mode, on its last character otherwise.
local function move_cursor_to_mark(bufnr, mark)
  local window = render.window_of(bufnr)
  if window then
    local mark_position = vim.api.nvim_buf_get_extmark_by_id(bufnr, render.namespace, mark, {})
    local row, col = mark_position[1], mark_position[2]
    local in_insert_mode = vim.api.nvim_get_mode().mode:sub(1, 1) == 'i'
    if not in_insert_mode and col > 0 then
      col = col - 1
    end
    pcall(vim.api.nvim_win_set_cursor, window, { row + 1, col })
  end
  pcall(vim.api.nvim_buf_del_extmark, bufnr, render.namespace, mark)
end

--- Applies the shown suggestion, tells the server, and lets the change ask for the next one.
--- Returns true when there was a suggestion.
function M.accept(bufnr)
  bufnr = current(bufnr)
  local suggestion = M.suggestion(bufnr)
  if not suggestion then
    return false
  end
  M.clear(bufnr)
  local cursor_mark = apply_parts(bufnr, suggestion.parts)
  move_cursor_to_mark(bufnr, cursor_mark)
  send_command(bufnr, suggestion, 'nextedit.accept')
  fire('NexteditAccepted')
  return true
end

--- Hides the shown suggestion and tells the server not to offer it again.
function M.dismiss(bufnr)
  bufnr = current(bufnr)
  local suggestion = M.suggestion(bufnr)
  cancel_pending(bufnr)
  if not suggestion then
    return false
  end
  M.clear(bufnr)
  send_command(bufnr, suggestion, 'nextedit.reject')
  return true
end

--- Moves the cursor to the start of the shown suggestion.
function M.jump(bufnr)
  bufnr = current(bufnr)
  local suggestion = M.suggestion(bufnr)
  local window = render.window_of(bufnr)
  if not suggestion or not window then
    return false
  end
  vim.cmd("normal! m'")
  vim.api.nvim_win_set_cursor(window, { suggestion.change.start_row + 1, suggestion.change.start_col })
  render.draw_jump_hint(bufnr, suggestion)
  return true
end

--- <Tab>: jumps to an off-screen suggestion, accepts a visible one, otherwise types a <Tab>.
--- An expression mapping: it returns the keys to type, and changes the buffer outside the textlock.
function M.tab()
  local bufnr = vim.api.nvim_get_current_buf()
  local suggestion = M.suggestion(bufnr)
  if not suggestion then
    return '<Tab>'
  end
  vim.schedule(function()
    if M.suggestion(bufnr) ~= suggestion then
      return
    end
    if render.is_on_screen(bufnr, suggestion) then
      M.accept(bufnr)
    else
      M.jump(bufnr)
    end
  end)
  return ''
end

return M
