-- A tiny test harness for Neovim tests that need the real main loop (autocmds, typed keys).
--
-- Tests run inside one coroutine that is resumed from timers, so while a test waits the editor
-- processes input, LSP messages and autocmds as it does for a user. Each test prints `ok - name`
-- or `FAILED - name: reason`; the process exits with the number of failures. It runs on every
-- Neovim the tests use (0.7 to 0.11).
local H = {}

local uv = vim.uv or vim.loop
local tests = {}
local passed, failed = 0, 0

--- The line that renaming `count` to `total` on line 2 of the fixture (stats.py) leads to on line 4.
H.RENAMED_LINE_4 = '        total += value'

--- Reads the environment run.sh sets, and prepares the editor: the plugin (editors/nvim) first on
--- the runtimepath, no swap files. Returns { server, work_file, work_dir, plugin_dir }.
function H.setup()
  local harness_dir = vim.fn.fnamemodify(debug.getinfo(1, 'S').source:sub(2), ':p:h')
  local plugin_dir = vim.fn.fnamemodify(harness_dir, ':h')
  vim.opt.runtimepath:prepend(plugin_dir)
  vim.o.swapfile = false
  local work_file = assert(os.getenv('NEXTEDIT_WORK_FILE'), 'NEXTEDIT_WORK_FILE is not set')
  return {
    server = assert(os.getenv('NEXTEDIT_BIN'), 'NEXTEDIT_BIN is not set'),
    work_file = work_file,
    work_dir = vim.fn.fnamemodify(work_file, ':h'),
    plugin_dir = plugin_dir,
  }
end

--- The clients that match `filter` ({ bufnr = ..., name = ... }), with the API of any version.
function H.get_clients(filter)
  if vim.lsp.get_clients then
    return vim.lsp.get_clients(filter)
  end
  local clients = {}
  local candidates = filter.bufnr and vim.lsp.buf_get_clients(filter.bufnr) or vim.lsp.get_active_clients()
  for _, client in pairs(candidates) do
    if filter.name == nil or client.name == filter.name then
      table.insert(clients, client)
    end
  end
  return clients
end

--- Waits until an initialized nextedit client is attached to the buffer, and returns it.
function H.wait_for_client(bufnr, timeout_ms)
  return H.wait_until('the nextedit client to attach', function()
    local client = H.get_clients({ bufnr = bufnr, name = 'nextedit' })[1]
    return client and client.initialized and client
  end, timeout_ms or 15000)
end

--- Stops a client and waits until it is stopped.
function H.stop_client(client)
  client.stop(client)
  H.wait_until('the client to stop', function() return vim.lsp.client_is_stopped(client.id) end, 5000)
end

--- Renames `count` to `total` on line 2 through the API, as a change from the user.
function H.rename_first_count(bufnr)
  vim.api.nvim_buf_set_text(bufnr, 1, 4, 1, 9, { 'total' })
end

--- Whether a code action title is the single-occurrence next edit (not "rename all").
function H.is_next_edit_title(title)
  return title:match('^Next edit: ') ~= nil and title:match('rename all') == nil
end

--- Makes a project under `parent`: project/.git, project/top.py, project/sub/deep.py, and a file
--- outside any root marker, loose/alone.py. Returns the paths.
function H.make_project(parent, source_file)
  local text = vim.fn.readfile(source_file)
  local paths = {
    root = parent .. '/project',
    top = parent .. '/project/top.py',
    deep = parent .. '/project/sub/deep.py',
    loose_dir = parent .. '/loose',
    loose = parent .. '/loose/alone.py',
  }
  vim.fn.mkdir(paths.root .. '/.git', 'p')
  vim.fn.mkdir(paths.root .. '/sub', 'p')
  vim.fn.mkdir(paths.loose_dir, 'p')
  for _, file in ipairs({ paths.top, paths.deep, paths.loose }) do
    vim.fn.writefile(text, file)
  end
  return paths
end

function H.out(text)
  io.stdout:write(text .. '\n')
  io.stdout:flush()
end

function H.test(name, body)
  table.insert(tests, { name = name, body = body })
end

--- Waits until `condition()` returns a truthy value, polling from a timer; fails after `timeout_ms`.
function H.wait_until(what, condition, timeout_ms)
  local co = coroutine.running()
  assert(co, 'wait_until must run inside a test')
  local deadline = uv.now() + (timeout_ms or 10000)
  local function poll()
    local ok, value = pcall(condition)
    if ok and value then
      coroutine.resume(co, true, value)
    elseif uv.now() > deadline then
      coroutine.resume(co, false, ok and 'timeout' or value)
    else
      vim.defer_fn(poll, 20)
    end
  end
  vim.defer_fn(poll, 0)
  local ok, value = coroutine.yield()
  if not ok then
    error(string.format('waiting for %s: %s', what, tostring(value)), 2)
  end
  return value
end

--- Types keys as a user would (they go through mappings) and waits until Neovim consumed them.
function H.type(keys)
  vim.api.nvim_input(keys)
  H.wait_until('typed keys to be processed', function()
    return vim.fn.getchar(1) == 0 and vim.api.nvim_get_mode().blocking == false
  end, 5000)
end

function H.eq(expected, actual, what)
  if not vim.deep_equal(expected, actual) then
    error(string.format('%s: expected %s, got %s', what or 'value', vim.inspect(expected), vim.inspect(actual)), 2)
  end
end

function H.truthy(value, what)
  if not value then
    error((what or 'value') .. ' is not true', 2)
  end
  return value
end

function H.run()
  local co = coroutine.create(function()
    for _, test in ipairs(tests) do
      local ok, err = xpcall(test.body, debug.traceback)
      if ok then
        passed = passed + 1
        H.out('ok - ' .. test.name)
      else
        failed = failed + 1
        H.out('FAILED - ' .. test.name .. ': ' .. tostring(err))
      end
    end
    H.out(string.format('%d passed, %d failed', passed, failed))
    for _, client in ipairs(H.get_clients({})) do
      client.stop(client)
    end
    vim.cmd(failed == 0 and 'qall!' or ('cquit ' .. failed))
  end)
  vim.schedule(function()
    local ok, err = coroutine.resume(co)
    if not ok then
      H.out('FAILED - harness: ' .. tostring(err))
      vim.cmd('cquit 99')
    end
  end)
end

return H
