#!/bin/bash
# End-to-end test of nextedit in Helix 25.01, driven through tmux as a user would type: open a Python
# file, rename `count` to `total` once, see the hint diagnostic on the next occurrence, open the code
# action menu (space a), choose "Next edit", save, and check the file.
# Env: NEXTEDIT_BIN, NEXTEDIT_CLIENTS_CACHE, NEXTEDIT_ARTIFACTS.
source "$(dirname "$0")/../../test/lib.sh"
require_server
HERE=$(cd "$(dirname "$0")" && pwd)
bash "$HERE/install.sh"

make_scratch helix
WORK=$SCRATCH/work
mkdir -p "$WORK" "$XDG_CONFIG_HOME/helix"
cp "$EDITORS_DIR/test/fixtures/stats.py" "$WORK/stats.py"
# The shipped languages.toml, pointed at the server under test and run without a model.
sed -e "s|^command = \"nextedit\"|command = \"$NEXTEDIT_BIN\"|" \
    -e 's|backend = "llama"|backend = "none"|' \
    "$EDITORS_DIR/helix/languages.toml" > "$XDG_CONFIG_HOME/helix/languages.toml"
grep -q "command = \"$NEXTEDIT_BIN\"" "$XDG_CONFIG_HOME/helix/languages.toml"
grep -q 'backend = "none"' "$XDG_CONFIG_HOME/helix/languages.toml"

# The snippet adds nextedit to each language's servers and keeps Helix's defaults: for every language
# it names, `hx --health` lists the servers it has without the snippet, then nextedit.
# Prints the commands of the language servers that `hx --health $1` lists (one a line, without colours).
configured_servers() {
    "$HERE/hx.sh" --health "$1" 2>&1 | sed -e 's/\x1b\[[0-9;]*m//g' \
        | awk '/^Configured language servers:/ { on = 1; next } on && /^  / { sub(/^ +[^ ]+ /, ""); sub(/: .*/, ""); print; next } { on = 0 }'
}
mkdir -p "$SCRATCH/no-config"
snippet_ok=1
for language in $(sed -n 's/^name = "\(.*\)"$/\1/p' "$EDITORS_DIR/helix/languages.toml"); do
    defaults=$(XDG_CONFIG_HOME=$SCRATCH/no-config configured_servers "$language" | paste -sd' ')
    with_snippet=$(configured_servers "$language" | paste -sd' ')
    if [ -z "$defaults" ] || [ "$with_snippet" != "$defaults $NEXTEDIT_BIN" ]; then
        echo "# $language: Helix's defaults are [$defaults], with the snippet [$with_snippet]" >&2
        snippet_ok=0
    fi
done
if [ $snippet_ok = 1 ]; then
    pass "languages.toml keeps each language's default servers and adds nextedit after them"
else
    fail "languages.toml keeps each language's default servers and adds nextedit after them"
fi

SOCKET=nextedit-helix-$$
T="tmux -L $SOCKET"
cleanup() { $T kill-server 2>/dev/null || true; rm -rf "$SCRATCH"; }
trap cleanup EXIT
screen() { $T capture-pane -p -t hx; }
wait_for() { tmux_wait_for "hx" "$1" "$2"; }
tmux_wait_for() {
    local pattern=$2 seconds=$3 deadline=$((SECONDS + $3))
    while [ $SECONDS -lt $deadline ]; do
        screen | grep -qE -- "$pattern" && return 0
        sleep 0.1
    done
    echo "timeout waiting for /$pattern/ on the screen:" >&2
    screen >&2
    return 1
}

# Show hint diagnostics at the end of their line, as the README recommends.
cat > "$XDG_CONFIG_HOME/helix/config.toml" <<'EOF'
[editor]
end-of-line-diagnostics = "hint"

[editor.inline-diagnostics]
cursor-line = "hint"
EOF
# Waits until no line of the screen matches the extended regex $1, for at most $2 seconds.
wait_gone() {
    local deadline=$((SECONDS + $2))
    while [ $SECONDS -lt $deadline ]; do
        screen | grep -qE -- "$1" || return 0
        sleep 0.1
    done
    echo "timeout waiting for /$1/ to leave the screen" >&2
    return 1
}
cd "$WORK"
$T new-session -d -s hx -x 110 -y 30 "$HERE/hx.sh -c $XDG_CONFIG_HOME/helix/config.toml stats.py"
if wait_for 'def summarize' 20; then pass "Helix opens the file"; else fail "Helix opens the file"; finish; fi

# Wait until the server is initialized (it lists its commands), so that it sees the rename as an edit.
server_ready=0
for attempt in 1 2 3 4 5 6 7 8 9 10; do
    $T send-keys -t hx ':lsp-workspace-command' Enter
    if tmux_wait_for hx 'nextedit\.accept' 3 2>/dev/null; then server_ready=1; $T send-keys -t hx Escape; break; fi
    $T send-keys -t hx Escape
done
# The picker must be closed before the next keys, or it eats them.
wait_gone 'nextedit\.accept' 5
if [ $server_ready = 1 ]; then pass "the server starts and lists its commands"; else fail "the server starts and lists its commands"; screen; finish; fi

# Rename `count` to `total` on line 2: go to the line, select the word, change it.
$T send-keys -t hx ':2' Enter
$T send-keys -t hx g s e c
$T send-keys -t hx -l total
$T send-keys -t hx Escape
if wait_for '^ *2 +total = 0' 10; then pass "the rename is typed"; else fail "the rename is typed"; fi

# With diagnostics = true the next edit shows as a hint at the end of line 4.
if wait_for 'count \+= value +[^ ]' 20; then
    pass "the hint diagnostic appears on the next occurrence"
else
    fail "the hint diagnostic appears on the next occurrence"
fi
screen > "$NEXTEDIT_ARTIFACTS/helix-hint.txt"

# The code action menu lists the next edit.
$T send-keys -t hx ':4' Enter
$T send-keys -t hx Space a
if wait_for 'Next edit' 15; then pass "space a shows Next edit"; else fail "space a shows Next edit"; finish; fi
screen > "$NEXTEDIT_ARTIFACTS/helix-code-actions.txt"
cat "$NEXTEDIT_ARTIFACTS/helix-code-actions.txt"

# Choose the next-hunk action: the menu lists one action a row with the first one selected;
# move down to the first "Next edit" row that is not "rename all".
INDEX=$(grep -E '^[^A-Za-z]*Next edit: ' "$NEXTEDIT_ARTIFACTS/helix-code-actions.txt" | grep -n . | grep -v 'rename all' | head -n1 | cut -d: -f1)
echo "# choosing Next edit item ${INDEX:-1}"
for ((i = 1; i < ${INDEX:-1}; i++)); do $T send-keys -t hx C-n; done
$T send-keys -t hx Enter
$T send-keys -t hx ':w' Enter
deadline=$((SECONDS + 10))
until grep -q '^        total += value$' "$WORK/stats.py" || [ $SECONDS -ge $deadline ]; do sleep 0.1; done
screen > "$NEXTEDIT_ARTIFACTS/helix-after.txt"
if [ "$(sed -n 2p "$WORK/stats.py")" = "    total = 0" ] && [ "$(sed -n 4p "$WORK/stats.py")" = "        total += value" ]; then
    pass "choosing Next edit applies it and the saved file has the edit"
else
    fail "choosing Next edit applies it and the saved file has the edit"
    cat "$WORK/stats.py"; screen
fi
$T send-keys -t hx ':q!' Enter
finish
