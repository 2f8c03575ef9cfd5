-- The nextedit server in nvim-lspconfig's legacy configuration format, so that older setups can use
-- `require('lspconfig').nextedit.setup{}` when this plugin is on the runtimepath.
local function find_root(fname)
  local found = vim.fs and vim.fs.find and vim.fs.find({ 'nextedit.toml', '.git' }, { upward = true, path = fname })[1]
  if found then
    return vim.fn.fnamemodify(found, ':h')
  end
  return vim.fn.getcwd()
end

return {
  default_config = {
    cmd = { 'nextedit' },
    filetypes = nil,
    root_dir = find_root,
    single_file_support = true,
    init_options = {},
  },
  docs = {
    description = [[
nextedit, a language server that predicts the next edit. The suggestion arrives as a code action
titled "Next edit: ..."; the nextedit plugin (`require('nextedit').setup{}`) shows it inline.
Set `init_options = { model = { backend = 'none' } }` to run only the symbolic engine.
]],
  },
}
