-- nextedit for Neovim: shows the server's next edit inline with extmarks.
--
--   require('nextedit').setup({
--     lsp = { cmd = { 'nextedit' }, init_options = { model = { backend = 'none' } } },
--     keymaps = true,     -- or { accept = '<M-l>', dismiss = '<M-e>', jump = '<M-j>', trigger = '<M-]>' }
--     tab = false,        -- true: <Tab> accepts (or jumps to) a shown suggestion, else types a tab
--   })
--
-- This module starts the server and wires the plugin into the editor: commands, <Plug> mappings,
-- the keys the user asked for (buffer-local, when the server attaches) and autocmds. The options
-- are in `nextedit.config`, positions in `nextedit.position`, the inline diff in `nextedit.render`,
-- and requests, accept and dismiss in `nextedit.request`. The inline UI needs Neovim 0.10+; with
-- older versions setup() only starts the server, whose suggestion is still offered as a code action.
local config = require('nextedit.config')
local position = require('nextedit.position')
local render = require('nextedit.render')
local request = require('nextedit.request')

local M = {}

local uv = vim.uv or vim.loop
local has_0_10 = vim.fn.has('nvim-0.10') == 1

M.namespace = render.namespace
M.request = request.request
M.clear = request.clear
M.suggestion = request.suggestion
M.accept = request.accept
M.dismiss = request.dismiss
M.jump = request.jump
M.tab = request.tab
M._minimal_change = position.minimal_change

local server_status = { state = 'starting', message = nil }

-- Before Neovim 0.11 (no vim.lsp.config), the client started for each root directory.
---@type table<string, integer>
local clients_by_root = {}

-- The keys mapped in each buffer, to remove them when setup() runs again.
---@type table<integer, {mode: string, lhs: string}[]>
local buffer_maps = {}

local function notify(message, level)
  vim.notify('nextedit: ' .. message, level or vim.log.levels.INFO)
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

-- The user's `lsp` options as a client configuration, with the status handler.
local function user_server_config()
  local server = { handlers = { ['nextedit/status'] = on_status } }
  for key, value in pairs(config.options.lsp) do
    server[key] = value
  end
  return server
end

-- The configuration shipped in lsp/nextedit.lua on the runtimepath (the one vim.lsp.config reads).
local function shipped_server_config()
  local file = vim.api.nvim_get_runtime_file('lsp/nextedit.lua', false)[1]
  if file then
    local ok, shipped = pcall(dofile, file)
    if ok and type(shipped) == 'table' then
      return shipped
    end
  end
  return { cmd = { 'nextedit' }, root_markers = { 'nextedit.toml', '.git' } }
end

local function exists(path)
  return uv.fs_stat(path) ~= nil
end

-- The nearest directory, from `directory` up, that holds `marker`; nil when none does.
local function find_upward(directory, marker)
  while true do
    if exists(directory .. '/' .. marker) then
      return directory
    end
    local parent = vim.fn.fnamemodify(directory, ':h')
    if parent == directory then
      return nil
    end
    directory = parent
  end
end

-- The root directory of a buffer, as vim.fs.root finds it: the markers are tried in order, each
-- searched upward from the file. Without any, the file's own directory (or the current directory
-- for a buffer without a file).
local function find_root(bufnr, markers)
  local name = vim.api.nvim_buf_get_name(bufnr)
  if name == '' then
    return vim.fn.getcwd()
  end
  local directory = vim.fn.fnamemodify(name, ':p:h')
  for _, marker in ipairs(markers or {}) do
    local root = find_upward(directory, marker)
    if root then
      return root
    end
  end
  return directory
end

-- vim.lsp.start reuses a client with the same name and root directory (which Neovim 0.8 and 0.9
-- keep only in the client's config).
local function same_root(client, client_config)
  local root_dir = client.root_dir or (client.config or {}).root_dir
  return client.name == client_config.name and root_dir == client_config.root_dir
end

-- Starts the client of the buffer's root, or attaches the buffer to it when it runs already.
local function attach_to_root_client(bufnr, server, markers)
  local client_config = vim.tbl_extend('force', server, { root_dir = find_root(bufnr, markers) })
  if vim.lsp.start then
    vim.lsp.start(client_config, { bufnr = bufnr, reuse_client = same_root })
    return
  end
  -- Neovim 0.7 has no vim.lsp.start: keep one client per root by hand.
  local client_id = clients_by_root[client_config.root_dir]
  if not client_id or not vim.lsp.get_client_by_id(client_id) then
    client_id = vim.lsp.start_client(client_config)
    clients_by_root[client_config.root_dir] = client_id
  end
  vim.lsp.buf_attach_client(bufnr, client_id)
end

-- Before 0.11: lsp/nextedit.lua with the user's options over it, a client per root directory, and
-- every normal buffer attached to the client of its root.
local function start_server_per_root()
  local server = vim.tbl_deep_extend('force', shipped_server_config(), user_server_config())
  local markers = server.root_markers
  server.name = 'nextedit'
  server.root_markers = nil
  server.workspace_required = nil
  vim.api.nvim_create_autocmd('FileType', {
    group = vim.api.nvim_create_augroup('nextedit_start', { clear = true }),
    callback = function(event)
      if vim.bo[event.buf].buftype == '' then
        attach_to_root_client(event.buf, server, markers)
      end
    end,
  })
end

local function start_server()
  if vim.lsp.config and vim.lsp.enable then
    -- vim.lsp.config merges these options over lsp/nextedit.lua.
    vim.lsp.config('nextedit', user_server_config())
    vim.lsp.enable('nextedit')
    return
  end
  start_server_per_root()
end

local actions = {
  accept = { run = function() request.accept() end, description = 'accept the next edit' },
  dismiss = { run = function() request.dismiss() end, description = 'dismiss the next edit' },
  jump = { run = function() request.jump() end, description = 'jump to the next edit' },
  trigger = { run = function() request.request() end, description = 'suggest the next edit' },
}

local function plug(action)
  return '<Plug>(nextedit-' .. action .. ')'
end

-- <Plug>(nextedit-accept), -dismiss, -jump, -trigger and -tab, in normal and insert mode, for the
-- user to map to keys of their choice.
local function define_plug_mappings()
  for name, action in pairs(actions) do
    vim.keymap.set({ 'n', 'i' }, plug(name), action.run, { desc = 'nextedit: ' .. action.description, silent = true })
  end
  vim.keymap.set({ 'n', 'i' }, plug('tab'), request.tab,
    { expr = true, desc = 'nextedit: accept or jump to the next edit', silent = true })
end

-- The keys the options ask for, each with the <Plug> mapping it types.
local function wanted_maps()
  local maps = {}
  for name, lhs in pairs(config.options.keymaps) do
    table.insert(maps, { lhs = lhs, rhs = plug(name), description = actions[name].description })
  end
  if config.options.tab then
    table.insert(maps, { lhs = '<Tab>', rhs = plug('tab'), description = 'accept or jump to the next edit' })
  end
  return maps
end

local function map_buffer(bufnr)
  if buffer_maps[bufnr] or not vim.api.nvim_buf_is_valid(bufnr) then
    return
  end
  local mapped = {}
  for _, map in ipairs(wanted_maps()) do
    for _, mode in ipairs({ 'n', 'i' }) do
      vim.keymap.set(mode, map.lhs, map.rhs,
        { buffer = bufnr, remap = true, silent = true, desc = 'nextedit: ' .. map.description })
      table.insert(mapped, { mode = mode, lhs = map.lhs })
    end
  end
  buffer_maps[bufnr] = mapped
end

-- Whether a buffer-local mapping set by map_buffer() is still in place (not replaced by the user).
local function is_ours(bufnr, map)
  local current = vim.api.nvim_buf_call(bufnr, function()
    return vim.fn.maparg(map.lhs, map.mode, false, true)
  end)
  return current.buffer == 1 and (current.desc or ''):match('^nextedit: ') ~= nil
end

-- Removes the buffer-local keys mapped by an earlier setup(), unless something replaced them.
local function unmap_buffers()
  for bufnr, mapped in pairs(buffer_maps) do
    if vim.api.nvim_buf_is_valid(bufnr) then
      for _, map in ipairs(mapped) do
        if is_ours(bufnr, map) then
          vim.keymap.del(map.mode, map.lhs, { buffer = bufnr })
        end
      end
    end
  end
  buffer_maps = {}
end

-- Maps the keys in every buffer that a nextedit client is attached to already.
local function map_attached_buffers()
  for _, client in ipairs(vim.lsp.get_clients({ name = 'nextedit' })) do
    for bufnr in pairs(client.attached_buffers or {}) do
      map_buffer(bufnr)
    end
  end
end

local function on_lsp_attach(event)
  local client = vim.lsp.get_client_by_id(event.data and event.data.client_id)
  if client and client.name == 'nextedit' then
    map_buffer(event.buf)
  end
end

local function create_autocmds()
  local group = vim.api.nvim_create_augroup('nextedit', { clear = true })
  vim.api.nvim_create_autocmd('ColorScheme', { group = group, callback = render.define_highlights })
  vim.api.nvim_create_autocmd('LspAttach', { group = group, callback = on_lsp_attach })
  vim.api.nvim_create_autocmd({ 'TextChanged', 'TextChangedI', 'TextChangedP' }, {
    group = group,
    callback = function(event) request.on_text_changed(event.buf) end,
  })
  vim.api.nvim_create_autocmd({ 'CursorMoved', 'CursorMovedI' }, {
    group = group,
    callback = function(event) request.on_cursor_moved(event.buf) end,
  })
  vim.api.nvim_create_autocmd({ 'BufWipeout', 'BufUnload' }, {
    group = group,
    callback = function(event)
      request.forget(event.buf)
      buffer_maps[event.buf] = nil
    end,
  })
end

local function create_commands()
  vim.api.nvim_create_user_command('NexteditAccept', actions.accept.run, {})
  vim.api.nvim_create_user_command('NexteditDismiss', actions.dismiss.run, {})
  vim.api.nvim_create_user_command('NexteditJump', actions.jump.run, {})
  vim.api.nvim_create_user_command('NexteditTrigger', actions.trigger.run, {})
end

--- Sets up the plugin. See the top of this file and config.lua for the options.
function M.setup(options)
  M.config = config.set(options)
  if config.options.start_server then
    start_server()
  end
  if not has_0_10 then
    -- Inline rendering needs extmark features of 0.10; the code action route works without it.
    return
  end
  render.define_highlights()
  define_plug_mappings()
  create_autocmds()
  create_commands()
  unmap_buffers()
  map_attached_buffers()
end

return M
