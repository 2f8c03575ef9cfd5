-- nextedit: a language server that predicts the next edit (a rename propagated to the next
-- occurrence, a repeated change, or what a local model proposes).
--
-- Neovim 0.11+:
--
--   vim.lsp.enable('nextedit')
--
-- The server attaches to every filetype. Settings are its initialization options, for example
-- `init_options = { model = { backend = 'none' } }` runs only the symbolic engine. The suggestion is
-- offered as a code action (`vim.lsp.buf.code_action()`, title "Next edit: ..."), and the plugin
-- (`require('nextedit').setup{}`) shows it inline through `textDocument/copilotInlineEdit`.
---@type vim.lsp.Config
return {
  cmd = { 'nextedit' },
  root_markers = { 'nextedit.toml', '.git' },
  workspace_required = false,
  init_options = {},
}
