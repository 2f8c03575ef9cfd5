# Sourced by run.sh and run_clients.sh (after lib.sh, with HERE and SCRATCH set): run_headless.

# Runs a headless test script: $1 = label, $2 = nvim binary, $3 = script. Counts its ok/FAILED lines.
run_headless() {
    local label=$1 nvim=$2 script=$3
    local work=$SCRATCH/$label
    mkdir -p "$work"
    cp "$EDITORS_DIR/test/fixtures/stats.py" "$work/stats.py"
    cp "$EDITORS_DIR/test/fixtures/stats.py" "$work/second.py"
    log "$label: $($nvim --version | head -n1)"
    local output=$SCRATCH/$label.out status=0
    (cd "$work" && NEXTEDIT_WORK_FILE=$work/stats.py timeout 180 \
        "$nvim" --headless --clean -u NONE -i NONE -c "luafile $HERE/$script") > "$output" 2>&1 || status=$?
    # Headless Neovim may interleave mode messages with the output; keep the result lines.
    grep -oE '(ok - |FAILED - |# ).*' "$output" | sed "s/^/$label: /" || true
    local ok_count failed_count
    ok_count=$(grep -cE 'ok - ' "$output" || true)
    failed_count=$(grep -cE 'FAILED - ' "$output" || true)
    TESTS_PASSED=$((TESTS_PASSED + ok_count))
    TESTS_FAILED=$((TESTS_FAILED + failed_count))
    if [ $status != 0 ] && [ "$failed_count" = 0 ]; then
        fail "$label exited with $status"
        tail -30 "$output"
    elif [ $status != 0 ]; then
        grep -A12 'FAILED - ' "$output" | head -60
    fi
}
