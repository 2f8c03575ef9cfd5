-- A tiny test harness for Neovim tests that need the real main loop (autocmds, typed keys).
--
-- Tests run inside one coroutine that is resumed from timers, so while a test waits the editor
-- processes input, LSP messages and autocmds as it does for a user. Each test prints `ok - name`
-- or `FAILED - name: reason`; the process exits with the number of failures.
local H = {}

local uv = vim.uv or vim.loop
local tests = {}
local passed, failed = 0, 0

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
    for _, client in ipairs(vim.lsp.get_clients and vim.lsp.get_clients() or vim.lsp.get_active_clients()) do
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
