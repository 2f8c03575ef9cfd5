-- Tests of the root directory the plugin's setup() gives a client, shared by the Neovim versions:
-- before 0.11 the plugin starts one client per root itself, from 0.11 vim.lsp.enable does with the
-- root_markers of lsp/nextedit.lua. Call define() after setup() started the server.
local M = {}

local has_0_11 = vim.fn.has('nvim-0.11') == 1

-- The root directory of a client (Neovim 0.7 keeps it only in the client's config).
local function root_dir(client)
  return client.root_dir or client.config.root_dir
end

-- Opens a file and returns the nextedit client attached to it.
local function open(H, path)
  vim.cmd('edit ' .. vim.fn.fnameescape(path))
  return H.wait_for_client(vim.api.nvim_get_current_buf())
end

function M.define(H, env)
  local paths, root_client

  H.test('a file under a root marker (.git) gets its directory as root_dir', function()
    paths = H.make_project(env.work_dir .. '/roots', env.work_file)
    root_client = open(H, paths.top)
    H.eq(paths.root, root_dir(root_client), 'root_dir of project/top.py')
  end)

  H.test('a file in a subdirectory of the root shares its client', function()
    H.truthy(root_client, 'a client from the previous test')
    local client = open(H, paths.deep)
    H.eq(root_client.id, client.id, 'the client of project/sub/deep.py')
  end)

  if not has_0_11 then
    H.test('a file outside any root marker gets its own directory and client', function()
      H.truthy(root_client, 'a client from the previous test')
      local client = open(H, paths.loose)
      H.eq(paths.loose_dir, root_dir(client), 'root_dir of loose/alone.py')
      H.truthy(client.id ~= root_client.id, 'loose/alone.py has a client of its own')
    end)
  end
end

return M
