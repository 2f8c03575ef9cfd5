-- The plugin's options: the defaults, and the user's options merged over them by setup().
--
-- Other modules read `require('nextedit.config').options` when they need a value, never at load
-- time, so that a second setup() call takes effect everywhere.
local M = {}

-- The keys that `keymaps = true` maps, in normal and insert mode.
M.default_keymaps = {
  accept = '<M-l>',
  dismiss = '<M-e>',
  jump = '<M-j>',
  trigger = '<M-]>',
}

M.defaults = {
  -- Start the server from setup(). Set to false when it is started elsewhere (lspconfig,
  -- vim.lsp.enable); the plugin then uses any client named `nextedit`.
  start_server = true,
  lsp = {
    cmd = nil, -- The default is the `cmd` of lsp/nextedit.lua, { 'nextedit' }.
    init_options = nil,
  },
  debounce_ms = 75,
  auto_trigger = true,
  -- Keys mapped buffer-locally when the server attaches: nil or false maps none, true maps
  -- `default_keymaps`, a table maps the actions it names ({ accept = '<C-y>' }).
  keymaps = nil,
  -- True maps <Tab> buffer-locally: it accepts (or jumps to) a shown suggestion, else types a tab.
  tab = false,
  sign_text = '»',
}

-- The keymaps option as a table of action to lhs, without the actions left unmapped.
local function resolve_keymaps(option)
  if option == true then
    return vim.deepcopy(M.default_keymaps)
  end
  local keymaps = {}
  if type(option) == 'table' then
    for action in pairs(M.default_keymaps) do
      local lhs = option[action]
      if type(lhs) == 'string' and lhs ~= '' then
        keymaps[action] = lhs
      end
    end
  end
  return keymaps
end

--- Merges the user's options over the defaults and makes them the current options.
function M.set(user_options)
  user_options = user_options or {}
  local options = vim.tbl_deep_extend('force', vim.deepcopy(M.defaults), user_options)
  -- A table is the whole set of keys, not a change to the defaults.
  options.keymaps = resolve_keymaps(user_options.keymaps)
  M.options = options
  return options
end

-- Until setup() runs, the defaults are in force.
M.set({})

return M
