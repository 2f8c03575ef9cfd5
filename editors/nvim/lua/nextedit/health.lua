-- :checkhealth nextedit
local M = {}

local health = vim.health or require('health')
local start = health.start or health.report_start
local ok = health.ok or health.report_ok
local warn = health.warn or health.report_warn
local error = health.error or health.report_error
local info = health.info or health.report_info

local function server_command()
  local plugin = package.loaded['nextedit']
  local configured = plugin and plugin.config and plugin.config.lsp and plugin.config.lsp.cmd
  if configured then
    return configured
  end
  if vim.lsp.config and vim.lsp.config.nextedit and vim.lsp.config.nextedit.cmd then
    return vim.lsp.config.nextedit.cmd
  end
  return { 'nextedit' }
end

-- One line that names the keys setup() maps in buffers with a nextedit client.
local function keymaps_summary(options)
  local keymaps = options.keymaps or {}
  local mapped = {}
  for _, action in ipairs({ 'accept', 'dismiss', 'jump', 'trigger' }) do
    if keymaps[action] then
      table.insert(mapped, action .. ' ' .. keymaps[action])
    end
  end
  local keys = #mapped > 0 and table.concat(mapped, ', ') or 'none (map the <Plug>(nextedit-...) mappings, or set keymaps)'
  return string.format('Keymaps: %s; <Tab> %s', keys, options.tab and 'accepts or jumps' or 'untouched')
end

function M.check()
  start('nextedit: Neovim')
  if vim.fn.has('nvim-0.10') == 1 then
    ok('Neovim ' .. tostring(vim.version()) .. ': inline suggestions and code actions')
  else
    warn('Neovim older than 0.10: only the code action route (vim.lsp.buf.code_action) works',
      { 'Upgrade to 0.10+ for the inline diff' })
  end

  start('nextedit: server')
  local command = server_command()
  if type(command) ~= 'table' then
    info('The server command is a function; it is not checked here')
  else
    local binary = command[1]
    local path = binary and vim.fn.exepath(binary) or ''
    if path == '' then
      error(string.format('`%s` is not executable or not on PATH', tostring(binary)),
        { 'Build it with `cargo build --release` and put target/release on PATH, or set lsp.cmd in setup()' })
    else
      ok('Server binary: ' .. path)
      local output = vim.fn.system({ path, '--version' })
      if vim.v.shell_error == 0 then
        ok('Version: ' .. vim.trim(output))
      else
        warn('`' .. path .. ' --version` failed: ' .. vim.trim(output))
      end
    end
  end

  start('nextedit: clients')
  -- :checkhealth shows its report in a buffer of its own, so look at every nextedit client.
  local clients = vim.lsp.get_clients and vim.lsp.get_clients({ name = 'nextedit' })
    or vim.tbl_filter(function(client) return client.name == 'nextedit' end, vim.lsp.get_active_clients())
  if #clients == 0 then
    warn('No nextedit client is running', { "Call require('nextedit').setup{} or vim.lsp.enable('nextedit'), then open a file" })
  end
  for _, client in ipairs(clients) do
    local buffer_count = vim.tbl_count(client.attached_buffers or {})
    ok(string.format('Client %d attached to %d buffer(s), root %s, position encoding %s',
      client.id, buffer_count, tostring(client.root_dir or (client.config or {}).root_dir), tostring(client.offset_encoding)))
    local capabilities = client.server_capabilities or {}
    if capabilities.codeActionProvider then
      ok('The server offers code actions')
    else
      warn('The server does not offer code actions')
    end
  end
  local plugin = package.loaded['nextedit']
  if plugin and plugin.status then
    local state, message = plugin.status()
    local text = 'Server status: ' .. tostring(state) .. (message and (' (' .. message .. ')') or '')
    if state == 'error' then
      error(text)
    else
      ok(text)
    end
  else
    info("The plugin is not set up (require('nextedit').setup{}): only code actions are available")
  end
  if plugin and plugin.config then
    info(keymaps_summary(plugin.config))
  end
end

return M
