#!/bin/bash
# End-to-end test of the VS Code extension in code-server 4.100.3 (VS Code 1.100.3), driven by
# Playwright in Debian's Chromium. Installs what it needs (cached), builds the extension, installs it
# from its folder, and runs the symbolic scenario; with NEXTEDIT_MODEL set (a GGUF file) it also
# runs the real-model scenario. Also lints the extension (eslint, failing on any error), runs its
# plain-node unit tests, and packages the bundle (esbuild's dist/extension.js, no node_modules) into
# a .vsix with @vscode/vsce.
# Env: NEXTEDIT_BIN, NEXTEDIT_CLIENTS_CACHE, NEXTEDIT_ARTIFACTS, NEXTEDIT_MODEL (optional GGUF path),
# NEXTEDIT_VSCODE_MODEL_SCENARIO=0 to skip the real-model scenario even with a model.
source "$(dirname "$0")/../../test/lib.sh"
require_server
HERE=$(cd "$(dirname "$0")" && pwd)
EXTENSION_DIR=$(cd "$HERE/.." && pwd)
CODE_SERVER_DIR=$NEXTEDIT_CLIENTS_CACHE/code-server-4.100.3

# The install (mostly compiling code-server's native modules) and the extension build run side by side.
log "installing code-server, Chromium and playwright-core; building the extension"
bash "$HERE/install.sh" &
INSTALL_PID=$!
BUILD_STATUS=0
(cd "$EXTENSION_DIR" && npm ci --no-audit --no-fund --loglevel=error && npm run --silent build && npm run --silent build:unit) >&2 || BUILD_STATUS=$?
INSTALL_STATUS=0
wait $INSTALL_PID || INSTALL_STATUS=$?
if [ $INSTALL_STATUS != 0 ]; then fail "installing code-server"; finish; fi
if [ $BUILD_STATUS != 0 ]; then fail "building the extension"; finish; fi

# eslint (eslint.config.mjs: typescript-eslint's recommended rules): any error fails the run.
if (cd "$EXTENSION_DIR" && npm run --silent lint) > "$NEXTEDIT_ARTIFACTS/vscode-eslint.txt" 2>&1; then
    pass "eslint reports no errors"
else
    fail "eslint reports errors (the list is in $NEXTEDIT_ARTIFACTS/vscode-eslint.txt)"
    cat "$NEXTEDIT_ARTIFACTS/vscode-eslint.txt"
fi

# Unit tests in plain node (no editor) of the modules that don't import vscode: which settings reach
# the server, and the inline diff's trim.
for unit_test in settings inlineDiff; do
    UNIT_STATUS=0
    TAP=$NEXTEDIT_ARTIFACTS/vscode-unit-$unit_test.tap
    (cd "$EXTENSION_DIR" && node --test --test-reporter=tap "test/$unit_test.test.js") > "$TAP" 2>&1 || UNIT_STATUS=$?
    while read -r line; do
        case $line in
            "ok "*) pass "$unit_test: ${line#ok * - }" ;;
            "not ok "*) fail "$unit_test: ${line#not ok * - }" ;;
        esac
    done < <(grep -E '^(not )?ok [0-9]+ - ' "$TAP" || true)
    if [ $UNIT_STATUS != 0 ]; then
        grep -qE '^not ok ' "$TAP" || fail "$unit_test: node --test test/$unit_test.test.js exited with $UNIT_STATUS"
        cat "$TAP" >&2
    fi
done
VSIX=$NEXTEDIT_ARTIFACTS/nextedit-vscode.vsix
rm -f "$VSIX"
# vsce runs the manifest's vscode:prepublish (type-check, then a minified bundle) before it packs.
(cd "$EXTENSION_DIR" && npx --no-install vsce package --no-dependencies --allow-missing-repository --skip-license --out "$VSIX") >"$NEXTEDIT_ARTIFACTS/vsce.log" 2>&1 || true
if unzip -Z1 "$VSIX" 2>/dev/null > "$NEXTEDIT_ARTIFACTS/vsix-files.txt" && grep -qx 'extension/dist/extension.js' "$NEXTEDIT_ARTIFACTS/vsix-files.txt"; then
    pass "the extension packages into $VSIX ($(stat -c %s "$VSIX") bytes)"
else
    fail "vsce package"
    cat "$NEXTEDIT_ARTIFACTS/vsce.log"
    finish
fi
# The bundle is the whole extension: no dependencies, sources, tests or per-module output.
if grep -E '^extension/(node_modules|src|test|out)/|\.(ts|map)$' "$NEXTEDIT_ARTIFACTS/vsix-files.txt"; then
    fail "the .vsix ships only the bundle, package.json, the README and media/"
else
    pass "the .vsix ships only the bundle, package.json, the README and media/ ($(wc -l < "$NEXTEDIT_ARTIFACTS/vsix-files.txt") files)"
fi

# Runs one scenario in a fresh code-server: $1 = scenario name, $2 = JSON of extra user settings.
run_scenario() {
    local scenario=$1 extra_settings=$2
    make_scratch "vscode-$scenario"
    local extensions=$SCRATCH/extensions user_data=$SCRATCH/user-data workspace=$SCRATCH/workspace
    mkdir -p "$extensions" "$user_data/User" "$workspace"
    # Installed from its folder: the extension folder packed into the .vsix (production files only).
    unzip -q "$VSIX" 'extension/*' -d "$SCRATCH/unpacked"
    mv "$SCRATCH/unpacked/extension" "$extensions/nextedit.nextedit-0.1.0"
    cp "$EDITORS_DIR/test/fixtures/stats.py" "$EDITORS_DIR/test/fixtures/far.py" "$EDITORS_DIR/test/fixtures/geo.py" "$workspace/"
    # What a cloned repository could put in .vscode/settings.json: drive.js checks that none of it
    # reaches the server or chooses the binary (these settings are user-only).
    mkdir -p "$workspace/.vscode"
    cat > "$workspace/.vscode/settings.json" <<'EOF'
{
  "nextedit.openai.endpoint": "http://127.0.0.1:9/from-the-workspace",
  "nextedit.model.backend": "openai",
  "nextedit.server.path": "/from-the-workspace/nextedit"
}
EOF
    python3 - "$user_data/User/settings.json" "$NEXTEDIT_BIN" "$extra_settings" <<'EOF'
import json, sys
settings = {
    "workbench.startupEditor": "none",
    "update.mode": "none",
    "extensions.autoUpdate": False,
    "extensions.autoCheckUpdates": False,
    "chat.disableAIFeatures": True,
    "security.workspace.trust.enabled": False,
    "workbench.tips.enabled": False,
    "editor.minimap.enabled": False,
    # Word completions would open the suggest widget while the rename is typed; Tab is then its key.
    "editor.wordBasedSuggestions": "off",
    "telemetry.telemetryLevel": "off",
    "nextedit.server.path": sys.argv[2],
    "nextedit.trace.server": "messages",
}
settings.update(json.loads(sys.argv[3]))
json.dump(settings, open(sys.argv[1], "w"), indent=2)
EOF
    local port
    port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
    local event_log=$SCRATCH/events.log
    : > "$event_log"
    log "starting code-server on port $port ($scenario)"
    NEXTEDIT_VSCODE_EVENT_LOG=$event_log TMPDIR=$SCRATCH/tmp setsid \
        "$CODE_SERVER_DIR/node_modules/.bin/code-server" --auth none --bind-addr "127.0.0.1:$port" \
        --user-data-dir "$user_data" --extensions-dir "$extensions" --disable-telemetry \
        --disable-update-check --disable-workspace-trust --disable-getting-started-override \
        "$workspace" > "$SCRATCH/code-server.log" 2>&1 &
    local code_server_pid=$!
    local status=0
    # code-server prints this line once it listens.
    local deadline=$((SECONDS + 60))
    until grep -q 'HTTP server listening' "$SCRATCH/code-server.log" 2>/dev/null; do
        if [ $SECONDS -ge $deadline ] || ! kill -0 "$code_server_pid" 2>/dev/null; then
            cat "$SCRATCH/code-server.log" >&2; status=1; break
        fi
        sleep 0.2
    done
    if [ $status = 0 ]; then
        mkdir -p "$SCRATCH/browser-profile"
        CS_URL="http://127.0.0.1:$port/?folder=$workspace" WORK_FILE=$workspace/stats.py \
            EVENT_LOG=$event_log ARTIFACTS=$NEXTEDIT_ARTIFACTS SCENARIO=$scenario \
            PLAYWRIGHT=$CODE_SERVER_DIR/node_modules/playwright-core BROWSER_PROFILE=$SCRATCH/browser-profile \
            node "$HERE/drive.js" | tee "$SCRATCH/drive.out" || status=1
        TESTS_PASSED=$((TESTS_PASSED + $(grep -c '^ok - ' "$SCRATCH/drive.out" || true)))
        TESTS_FAILED=$((TESTS_FAILED + $(grep -c '^FAILED - ' "$SCRATCH/drive.out" || true)))
        [ $status = 0 ] || grep -q '^FAILED - ' "$SCRATCH/drive.out" || fail "$scenario: the driver failed"
    fi
    kill -- -"$code_server_pid" 2>/dev/null || true
    wait "$code_server_pid" 2>/dev/null || true
    cp "$event_log" "$NEXTEDIT_ARTIFACTS/vscode-$scenario-events.log"
    if [ $status != 0 ]; then
        echo "--- code-server log" >&2; tail -30 "$SCRATCH/code-server.log" >&2
        local output_log
        output_log=$(find "$user_data/logs" -name '*nextedit*' 2>/dev/null | head -n1)
        [ -n "$output_log" ] && { echo "--- nextedit output channel" >&2; tail -60 "$output_log" >&2; }
    fi
    rm -rf "$SCRATCH"
}

run_scenario symbolic '{"nextedit.model.backend": "none", "nextedit.predict.debounce_ms": 50}'
MODEL_PATH=${NEXTEDIT_MODEL_PATH:-${NEXTEDIT_MODEL:-}}
if [ "${NEXTEDIT_VSCODE_MODEL_SCENARIO:-1}" = 0 ]; then
    echo "# the real-model scenario is turned off (NEXTEDIT_VSCODE_MODEL_SCENARIO=0)"
elif [ -n "$MODEL_PATH" ] && [ -f "$MODEL_PATH" ]; then
    run_scenario model "$(python3 -c 'import json, sys; print(json.dumps({"nextedit.model.backend": "llama", "nextedit.model.path": sys.argv[1], "nextedit.symbolic.enabled": False, "nextedit.predict.min_confidence": 0}))' "$MODEL_PATH")"
else
    echo "# the real-model scenario needs NEXTEDIT_MODEL (a GGUF file; scripts/fetch-model prints its path); not run"
fi
finish
