-- nextedit for Neovim: shows the server's next edit inline with extmarks.
--
--   require('nextedit').setup({
--     lsp = { cmd = { 'nextedit' }, init_options = { model = { backend = 'none' } } },
--     keymaps = { accept = '<M-l>', dismiss = '<M-e>', jump = '<M-j>', trigger = '<M-]>' },
--     tab = false,        -- true: <Tab> accepts (or jumps to) a shown suggestion, else types a tab
--   })
--
-- After a change the plugin waits `debounce_ms`, cancels the request still in flight, and asks the
-- server for `textDocument/copilotInlineEdit`. A result for an older buffer version is dropped.
-- The suggestion is drawn with extmarks: removed text highlighted (NexteditDelete), inserted text as
-- virtual text or virtual lines (NexteditInsert), a sign on its line, and a hint at the cursor
-- when the edit is on another line (NexteditHint). Accepting applies the edit, tells the server
-- (`nextedit.accept`), and the change asks for the next suggestion, so a rename can be accepted
-- occurrence after occurrence. The inline UI needs Neovim 0.10+; with older versions setup() only
-- starts the server, whose suggestion is still offered as a code action.

local M = {}

local namespace = vim.api.nvim_create_namespace('nextedit')
local uv = vim.uv or vim.loop
local has_0_10 = vim.fn.has('nvim-0.10') == 1
local has_0_11 = vim.fn.has('nvim-0.11') == 1

local default_config = {
  -- Start the server from setup(). Set to false when it is started elsewhere (lspconfig,
  -- vim.lsp.enable); the plugin then uses any client named `nextedit`.
  start_server = true,
  lsp = {
    cmd = nil, -- default: the `cmd` of lsp/nextedit.lua, { 'nextedit' }
    init_options = nil,
  },
  debounce_ms = 75,
  auto_trigger = true,
  tab = false,
  keymaps = {
    accept = '<M-l>',
    dismiss = '<M-e>',
    jump = '<M-j>',
    trigger = '<M-]>',
  },
  sign_text = '»',
}

local config = vim.deepcopy(default_config)

-- Per-buffer state: the pending request and the shown suggestion.
---@type table<integer, {timer: any, request: {client: any, id: integer}|nil, generation: integer, suggestion: table|nil}>
local buffers = {}

local server_status = { state = 'starting', message = nil }

local function notify(message, level)
  vim.notify('nextedit: ' .. message, level or vim.log.levels.INFO)
end

local function get_client(bufnr)
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

local function buffer_version(bufnr)
  local versions = vim.lsp.util.buf_versions
  local version = versions and versions[bufnr]
  if version == nil or version == 0 then
    version = vim.api.nvim_buf_get_changedtick(bufnr)
  end
  return version
end

-- Byte column of an LSP character offset on a buffer line, clamped to the line.
local function byte_column(bufnr, row, character, encoding)
  local line = vim.api.nvim_buf_get_lines(bufnr, row, row + 1, false)[1] or ''
  if encoding == 'utf-8' then
    return math.min(character, #line)
  end
  local ok, column
  if has_0_11 then
    ok, column = pcall(vim.str_byteindex, line, encoding, character, false)
  else
    ok, column = pcall(vim.str_byteindex, line, character, encoding == 'utf-16')
  end
  if not ok or column == nil then
    return #line
  end
  return math.min(column, #line)
end

-- The LSP range as 0-based byte positions, clamped to the buffer.
local function to_byte_range(bufnr, range, encoding)
  local line_count = vim.api.nvim_buf_line_count(bufnr)
  local function convert(position)
    if position.line >= line_count then
      local last = line_count - 1
      return last, #(vim.api.nvim_buf_get_lines(bufnr, last, last + 1, false)[1] or '')
    end
    return position.line, byte_column(bufnr, position.line, position.character, encoding)
  end
  local start_row, start_col = convert(range.start)
  local end_row, end_col = convert(range['end'])
  return { start_row = start_row, start_col = start_col, end_row = end_row, end_col = end_col }
end

local function get_text(bufnr, r)
  return table.concat(vim.api.nvim_buf_get_text(bufnr, r.start_row, r.start_col, r.end_row, r.end_col, {}), '\n')
end

-- The position reached after `text` starting at (row, col).
local function advance(row, col, text)
  local lines = vim.split(text, '\n', { plain = true })
  if #lines == 1 then
    return row, col + #text
  end
  return row + #lines - 1, #lines[#lines]
end

local function is_continuation_byte(text, index)
  local byte = text:byte(index)
  return byte ~= nil and byte >= 0x80 and byte < 0xC0
end

-- Splits a replacement into the part that changes: trims the common prefix and suffix, keeping
-- whole UTF-8 characters.
local function minimal_change(old_text, new_text)
  local prefix = 0
  while prefix < #old_text and prefix < #new_text and old_text:byte(prefix + 1) == new_text:byte(prefix + 1) do
    prefix = prefix + 1
  end
  while prefix > 0 and (is_continuation_byte(old_text, prefix + 1) or is_continuation_byte(new_text, prefix + 1)) do
    prefix = prefix - 1
  end
  local suffix = 0
  while suffix < #old_text - prefix and suffix < #new_text - prefix
    and old_text:byte(#old_text - suffix) == new_text:byte(#new_text - suffix) do
    suffix = suffix + 1
  end
  while suffix > 0 and (is_continuation_byte(old_text, #old_text - suffix + 1) or is_continuation_byte(new_text, #new_text - suffix + 1)) do
    suffix = suffix - 1
  end
  return prefix, old_text:sub(prefix + 1, #old_text - suffix), new_text:sub(prefix + 1, #new_text - suffix)
end

local function clear_marks(bufnr)
  if vim.api.nvim_buf_is_valid(bufnr) then
    vim.api.nvim_buf_clear_namespace(bufnr, namespace, 0, -1)
  end
end

local function cancel_pending(bufnr)
  local state = buffer_state(bufnr)
  state.generation = state.generation + 1
  if state.timer then
    state.timer:stop()
    state.timer:close()
    state.timer = nil
  end
  if state.request then
    pcall(client_call, state.request.client, 'cancel_request', state.request.id)
    state.request = nil
  end
end

--- Forgets the suggestion shown in a buffer, without telling the server.
function M.clear(bufnr)
  bufnr = (bufnr == nil or bufnr == 0) and vim.api.nvim_get_current_buf() or bufnr
  buffer_state(bufnr).suggestion = nil
  clear_marks(bufnr)
end

local function window_of(bufnr)
  if vim.api.nvim_get_current_buf() == bufnr then
    return vim.api.nvim_get_current_win()
  end
  local window = vim.fn.bufwinid(bufnr)
  return window ~= -1 and window or nil
end

local function draw_jump_hint(bufnr, suggestion)
  local window = window_of(bufnr)
  if not window then
    return
  end
  if suggestion.hint_mark then
    pcall(vim.api.nvim_buf_del_extmark, bufnr, namespace, suggestion.hint_mark)
    suggestion.hint_mark = nil
  end
  local cursor_row = vim.api.nvim_win_get_cursor(window)[1] - 1
  if cursor_row == suggestion.change.start_row then
    return
  end
  local label = string.format('  ⇥ next edit: line %d', suggestion.change.start_row + 1)
  if config.keymaps.jump then
    label = label .. string.format(' (%s to jump)', config.keymaps.jump)
  end
  suggestion.hint_mark = vim.api.nvim_buf_set_extmark(bufnr, namespace, cursor_row, 0, {
    virt_text = { { label, 'NexteditHint' } },
    virt_text_pos = 'eol',
    hl_mode = 'combine',
  })
end

local function draw_part(bufnr, change)
  if change.deleted ~= '' then
    vim.api.nvim_buf_set_extmark(bufnr, namespace, change.start_row, change.start_col, {
      end_row = change.end_row,
      end_col = change.end_col,
      hl_group = 'NexteditDelete',
      priority = 200,
    })
  end
  if change.inserted ~= '' then
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
    vim.api.nvim_buf_set_extmark(bufnr, namespace, change.end_row, change.end_col, options)
  end
  vim.api.nvim_buf_set_extmark(bufnr, namespace, change.start_row, 0, {
    sign_text = config.sign_text,
    sign_hl_group = 'NexteditSign',
  })
end

local function draw(bufnr, suggestion)
  clear_marks(bufnr)
  suggestion.hint_mark = nil
  for _, part in ipairs(suggestion.parts) do
    draw_part(bufnr, part.change)
  end
  draw_jump_hint(bufnr, suggestion)
end

-- One replacement of a suggestion, with the minimal change to draw; nil for a no-op.
local function make_part(bufnr, edit, encoding)
  local range = to_byte_range(bufnr, edit.range, encoding)
  local old_text = get_text(bufnr, range)
  if old_text == edit.text then
    return nil
  end
  local prefix, deleted, inserted = minimal_change(old_text, edit.text)
  local start_row, start_col = advance(range.start_row, range.start_col, old_text:sub(1, prefix))
  local end_row, end_col = advance(start_row, start_col, deleted)
  return {
    edit = edit,
    range = range,
    change = {
      start_row = start_row, start_col = start_col, end_row = end_row, end_col = end_col,
      deleted = deleted, inserted = inserted,
    },
  }
end

local function before(left, right)
  if left.start_row ~= right.start_row then
    return left.start_row < right.start_row
  end
  return left.start_col < right.start_col
end

-- Shows the edits of one suggestion (those that share the accept command's id).
local function show(bufnr, client, edits)
  local encoding = client.offset_encoding or 'utf-16'
  local parts = {}
  for _, edit in ipairs(edits) do
    local part = make_part(bufnr, edit, encoding)
    if part then
      table.insert(parts, part)
    end
  end
  if #parts == 0 then
    return
  end
  table.sort(parts, function(left, right) return before(left.range, right.range) end)
  for index = 2, #parts do
    local previous, range = parts[index - 1].range, parts[index].range
    if previous.end_row > range.start_row or (previous.end_row == range.start_row and previous.end_col > range.start_col) then
      return
    end
  end
  local first = parts[1]
  local suggestion = {
    id = first.edit.command and first.edit.command.arguments and first.edit.command.arguments[1],
    edit = first.edit,
    range = first.range,
    change = first.change,
    parts = parts,
    client_id = client.id,
    encoding = encoding,
    version = buffer_version(bufnr),
  }
  buffer_state(bufnr).suggestion = suggestion
  draw(bufnr, suggestion)
  pcall(client_call, client, 'notify', 'textDocument/didShowInlineEdit', { item = first.edit })
  vim.api.nvim_exec_autocmds('User', { pattern = 'NexteditSuggestion', modeline = false })
end

--- Asks the server for the next edit at the cursor now.
function M.request(bufnr)
  bufnr = (bufnr == nil or bufnr == 0) and vim.api.nvim_get_current_buf() or bufnr
  local client = get_client(bufnr)
  local window = window_of(bufnr)
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
  local ok, request_id = client_call(client, 'request', 'textDocument/copilotInlineEdit', params, function(err, result)
    if state.generation ~= generation then
      return
    end
    state.request = nil
    if err or not vim.api.nvim_buf_is_valid(bufnr) or buffer_version(bufnr) ~= version then
      return
    end
    local first = result and result.edits and result.edits[1]
    if not first then
      return
    end
    local id = first.command and first.command.arguments and first.command.arguments[1]
    local edits = {}
    for _, edit in ipairs(result.edits) do
      local edit_id = edit.command and edit.command.arguments and edit.command.arguments[1]
      if edit_id == id then
        if edit.textDocument and edit.textDocument.version and edit.textDocument.version ~= version then
          return
        end
        table.insert(edits, edit)
      end
    end
    show(bufnr, client, edits)
  end, bufnr)
  if ok and request_id then
    state.request = { client = client, id = request_id }
  end
end

local function schedule_request(bufnr)
  cancel_pending(bufnr)
  local state = buffer_state(bufnr)
  local timer = uv.new_timer()
  state.timer = timer
  timer:start(config.debounce_ms, 0, vim.schedule_wrap(function()
    if state.timer ~= timer then
      return
    end
    state.timer = nil
    timer:close()
    M.request(bufnr)
  end))
end

local function on_text_changed(bufnr)
  local state = buffers[bufnr]
  if state and state.suggestion then
    M.clear(bufnr)
  end
  if not get_client(bufnr) then
    return
  end
  if config.auto_trigger then
    schedule_request(bufnr)
  else
    cancel_pending(bufnr)
  end
end

--- The suggestion shown in a buffer, or nil.
function M.suggestion(bufnr)
  bufnr = (bufnr == nil or bufnr == 0) and vim.api.nvim_get_current_buf() or bufnr
  local state = buffers[bufnr]
  local suggestion = state and state.suggestion
  if suggestion and suggestion.version ~= buffer_version(bufnr) then
    M.clear(bufnr)
    return nil
  end
  return suggestion
end

local function send_command(bufnr, suggestion, command)
  local client = vim.lsp.get_client_by_id(suggestion.client_id)
  if not client then
    return
  end
  local arguments = suggestion.edit.command and suggestion.edit.command.arguments or { suggestion.id }
  client_call(client, 'request', 'workspace/executeCommand', { command = command, arguments = arguments }, function() end, bufnr)
end

--- Applies the shown suggestion, tells the server, and lets the change ask for the next one.
--- Returns true when there was a suggestion.
function M.accept(bufnr)
  bufnr = (bufnr == nil or bufnr == 0) and vim.api.nvim_get_current_buf() or bufnr
  local suggestion = M.suggestion(bufnr)
  if not suggestion then
    return false
  end
  M.clear(bufnr)
  -- Apply from the last replacement up, so the ranges before it stay valid; an extmark at the end
  -- of the last one follows the others' changes and gives the cursor's place.
  local cursor_mark
  for index = #suggestion.parts, 1, -1 do
    local part = suggestion.parts[index]
    local range = part.range
    local lines = vim.split(part.edit.text, '\n', { plain = true })
    vim.api.nvim_buf_set_text(bufnr, range.start_row, range.start_col, range.end_row, range.end_col, lines)
    if index == #suggestion.parts then
      local row, col = advance(range.start_row, range.start_col, part.edit.text)
      cursor_mark = vim.api.nvim_buf_set_extmark(bufnr, namespace, row, col, {})
    end
  end
  local window = window_of(bufnr)
  if window then
    local position = vim.api.nvim_buf_get_extmark_by_id(bufnr, namespace, cursor_mark, {})
    local row, col = position[1], position[2]
    local in_insert_mode = vim.api.nvim_get_mode().mode:sub(1, 1) == 'i'
    if not in_insert_mode and col > 0 then
      col = col - 1
    end
    pcall(vim.api.nvim_win_set_cursor, window, { row + 1, col })
  end
  pcall(vim.api.nvim_buf_del_extmark, bufnr, namespace, cursor_mark)
  send_command(bufnr, suggestion, 'nextedit.accept')
  vim.api.nvim_exec_autocmds('User', { pattern = 'NexteditAccepted', modeline = false })
  return true
end

--- Hides the shown suggestion and tells the server not to offer it again.
function M.dismiss(bufnr)
  bufnr = (bufnr == nil or bufnr == 0) and vim.api.nvim_get_current_buf() or bufnr
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
  bufnr = (bufnr == nil or bufnr == 0) and vim.api.nvim_get_current_buf() or bufnr
  local suggestion = M.suggestion(bufnr)
  local window = window_of(bufnr)
  if not suggestion or not window then
    return false
  end
  vim.cmd("normal! m'")
  vim.api.nvim_win_set_cursor(window, { suggestion.change.start_row + 1, suggestion.change.start_col })
  draw_jump_hint(bufnr, suggestion)
  return true
end

local function is_on_screen(bufnr, suggestion)
  local window = window_of(bufnr)
  if not window then
    return false
  end
  local row = suggestion.change.start_row + 1
  return vim.api.nvim_win_call(window, function()
    return row >= vim.fn.line('w0') and row <= vim.fn.line('w$')
  end)
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
    if is_on_screen(bufnr, suggestion) then
      M.accept(bufnr)
    else
      M.jump(bufnr)
    end
  end)
  return ''
end

--- The server's state from `nextedit/status`: 'starting', 'loading', 'ready', 'error' or 'off'.
function M.status()
  return server_status.state, server_status.message
end

local function on_status(_, params)
  if type(params) == 'table' and type(params.state) == 'string' then
    server_status = { state = params.state, message = params.message }
    vim.api.nvim_exec_autocmds('User', { pattern = 'NexteditStatus', modeline = false })
    if params.state == 'error' and params.message then
      notify(params.message, vim.log.levels.ERROR)
    end
  end
end

local function define_highlights()
  local function link(name, definition)
    definition.default = true
    vim.api.nvim_set_hl(0, name, definition)
  end
  link('NexteditDelete', { fg = '#ff7b72', bg = '#4b1f24', strikethrough = true, ctermfg = 203, cterm = { strikethrough = true } })
  link('NexteditInsert', { fg = '#7ee787', bg = '#1f3b26', ctermfg = 114 })
  link('NexteditHint', { link = 'Comment' })
  link('NexteditSign', { link = 'DiagnosticHint' })
end

local function server_config()
  local server = { handlers = { ['nextedit/status'] = on_status } }
  if config.lsp.cmd then
    server.cmd = config.lsp.cmd
  end
  if config.lsp.init_options then
    server.init_options = config.lsp.init_options
  end
  for key, value in pairs(config.lsp) do
    if key ~= 'cmd' and key ~= 'init_options' then
      server[key] = value
    end
  end
  return server
end

local function start_server()
  local server = server_config()
  if vim.lsp.config and vim.lsp.enable then
    vim.lsp.config('nextedit', server)
    vim.lsp.enable('nextedit')
    return
  end
  -- Before 0.11: start one client per root and attach it to every normal buffer.
  server.name = 'nextedit'
  server.cmd = server.cmd or { 'nextedit' }
  vim.api.nvim_create_autocmd('FileType', {
    group = vim.api.nvim_create_augroup('nextedit_start', { clear = true }),
    callback = function(event)
      if vim.bo[event.buf].buftype ~= '' then
        return
      end
      local root = vim.fn.getcwd()
      if vim.lsp.start then
        vim.lsp.start(vim.tbl_extend('force', server, { root_dir = root }), { bufnr = event.buf })
      else
        M._client_id = M._client_id or vim.lsp.start_client(vim.tbl_extend('force', server, { root_dir = root }))
        vim.lsp.buf_attach_client(event.buf, M._client_id)
      end
    end,
  })
end

local function set_keymaps()
  local function map(lhs, action, description)
    if lhs and lhs ~= '' then
      vim.keymap.set({ 'n', 'i' }, lhs, action, { desc = 'nextedit: ' .. description, silent = true })
    end
  end
  map(config.keymaps.accept, function() M.accept() end, 'accept the next edit')
  map(config.keymaps.dismiss, function() M.dismiss() end, 'dismiss the next edit')
  map(config.keymaps.jump, function() M.jump() end, 'jump to the next edit')
  map(config.keymaps.trigger, function() M.request() end, 'suggest the next edit')
  if config.tab then
    vim.keymap.set({ 'n', 'i' }, '<Tab>', M.tab, { expr = true, desc = 'nextedit: accept or jump to the next edit', silent = true })
  end
end

--- Sets up the plugin. See the top of this file for the options.
function M.setup(options)
  config = vim.tbl_deep_extend('force', vim.deepcopy(default_config), options or {})
  if options and options.keymaps == false then
    config.keymaps = {}
  end
  M.config = config
  if config.start_server then
    start_server()
  end
  if not has_0_10 then
    -- Inline rendering needs extmark features of 0.10; the code action route works without it.
    return
  end
  define_highlights()
  set_keymaps()
  local group = vim.api.nvim_create_augroup('nextedit', { clear = true })
  vim.api.nvim_create_autocmd('ColorScheme', { group = group, callback = define_highlights })
  vim.api.nvim_create_autocmd({ 'TextChanged', 'TextChangedI', 'TextChangedP' }, {
    group = group,
    callback = function(event) on_text_changed(event.buf) end,
  })
  vim.api.nvim_create_autocmd({ 'CursorMoved', 'CursorMovedI' }, {
    group = group,
    callback = function(event)
      local state = buffers[event.buf]
      if state and state.suggestion then
        draw_jump_hint(event.buf, state.suggestion)
      end
    end,
  })
  vim.api.nvim_create_autocmd({ 'BufWipeout', 'BufUnload' }, {
    group = group,
    callback = function(event)
      if buffers[event.buf] then
        cancel_pending(event.buf)
        buffers[event.buf] = nil
      end
    end,
  })
  vim.api.nvim_create_user_command('NexteditAccept', function() M.accept() end, {})
  vim.api.nvim_create_user_command('NexteditDismiss', function() M.dismiss() end, {})
  vim.api.nvim_create_user_command('NexteditJump', function() M.jump() end, {})
  vim.api.nvim_create_user_command('NexteditTrigger', function() M.request() end, {})
end

M.namespace = namespace
M._minimal_change = minimal_change

return M
