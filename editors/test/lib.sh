# Shared helpers for the real-editor tests. Source it from editors/*/test/run.sh.
# Everything is installed under $NEXTEDIT_CLIENTS_CACHE (idempotent: a finished install leaves a
# stamp file and is skipped next time). Editor state goes to a scratch dir, never to $HOME.
set -euo pipefail
EDITORS_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
REPO_DIR=$(cd "$EDITORS_DIR/.." && pwd)
: "${NEXTEDIT_CLIENTS_CACHE:=$HOME/.cache/nextedit-clients}"
: "${NEXTEDIT_ARTIFACTS:=$REPO_DIR/target/artifacts}"
: "${NEXTEDIT_BIN:=$REPO_DIR/target/release/nextedit}"
mkdir -p "$NEXTEDIT_CLIENTS_CACHE" "$NEXTEDIT_ARTIFACTS"
NEXTEDIT_CLIENTS_CACHE=$(cd "$NEXTEDIT_CLIENTS_CACHE" && pwd)
NEXTEDIT_ARTIFACTS=$(cd "$NEXTEDIT_ARTIFACTS" && pwd)
export NEXTEDIT_CLIENTS_CACHE NEXTEDIT_ARTIFACTS NEXTEDIT_BIN

TESTS_PASSED=0
TESTS_FAILED=0

log() { printf '[%s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }

pass() { TESTS_PASSED=$((TESTS_PASSED + 1)); echo "ok - $*"; }
fail() { TESTS_FAILED=$((TESTS_FAILED + 1)); echo "FAILED - $*"; }

# Prints the closing line and exits non-zero when a test failed or none ran.
finish() {
    echo "$TESTS_PASSED passed, $TESTS_FAILED failed"
    if [ "$TESTS_FAILED" -ne 0 ] || [ "$TESTS_PASSED" -eq 0 ]; then exit 1; fi
    exit 0
}

# A fresh scratch dir for editor config, cache, state and temp files.
make_scratch() {
    local name=$1
    SCRATCH=$(mktemp -d "${TMPDIR:-/tmp}/nextedit-$name-XXXXXX")
    export XDG_CONFIG_HOME=$SCRATCH/xdg/config XDG_CACHE_HOME=$SCRATCH/xdg/cache \
        XDG_DATA_HOME=$SCRATCH/xdg/data XDG_STATE_HOME=$SCRATCH/xdg/state
    mkdir -p "$XDG_CONFIG_HOME" "$XDG_CACHE_HOME" "$XDG_DATA_HOME" "$XDG_STATE_HOME" "$SCRATCH/tmp"
}

require_server() {
    if [ ! -x "$NEXTEDIT_BIN" ]; then
        echo "NEXTEDIT_BIN=$NEXTEDIT_BIN is not an executable; build it with cargo build --release" >&2
        echo "0 passed, 1 failed"
        exit 1
    fi
    NEXTEDIT_BIN=$(cd "$(dirname "$NEXTEDIT_BIN")" && pwd)/$(basename "$NEXTEDIT_BIN")
    export NEXTEDIT_BIN
}

apt_updated=0
# Installs Debian packages that are missing (root only, as in CI).
apt_install() {
    local missing=()
    local package
    for package in "$@"; do
        dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q 'install ok installed' \
            || missing+=("$package")
    done
    [ ${#missing[@]} -eq 0 ] && return 0
    log "apt-get install ${missing[*]}"
    if [ "$apt_updated" = 0 ]; then apt-get update -qq; apt_updated=1; fi
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

# Waits until tmux session $1 shows a line matching the extended regex $2, for at most $3 seconds.
# Polls the screen: the screen is the event here.
tmux_wait_for() {
    local session=$1 pattern=$2 seconds=$3
    local deadline=$((SECONDS + seconds))
    while [ $SECONDS -lt $deadline ]; do
        tmux capture-pane -p -t "$session" | grep -qE -- "$pattern" && return 0
        sleep 0.1
    done
    echo "timeout waiting for /$pattern/ on the screen of $session" >&2
    tmux capture-pane -p -t "$session" >&2 || true
    return 1
}
