#!/bin/bash
# Installs Helix 25.01 from Debian trixie into $NEXTEDIT_CLIENTS_CACHE/helix-25.01 without touching the
# system's apt state: hx, libc6 and libgcc-s1 are downloaded with a private apt configuration,
# unpacked, and hx runs through trixie's own loader (see hx.sh). Idempotent.
source "$(dirname "$0")/../../test/lib.sh"
apt_install tmux debian-archive-keyring
DIR=$NEXTEDIT_CLIENTS_CACHE/helix-25.01
HERE=$(cd "$(dirname "$0")" && pwd)
if [ ! -x "$DIR/root/usr/bin/hx" ]; then
    log "installing Helix 25.01 from Debian trixie into $DIR"
    mkdir -p "$DIR"
    # The Debian mirror this machine already uses, read from its apt sources.
    MIRROR=$( (grep -rhoE '^(deb|URIs:)[^#]*https?://[^ ]+/debian/?' /etc/apt/sources.list /etc/apt/sources.list.d/ 2>/dev/null || true) \
        | grep -oE 'https?://[^ ]+/debian/?' | head -n1)
    [ -n "$MIRROR" ] || { echo "no Debian mirror found in /etc/apt" >&2; exit 1; }
    A=$DIR/apt-alt
    mkdir -p "$A/etc/apt/sources.list.d" "$A/etc/apt/preferences.d" "$A/var/lib/apt/lists/partial" \
        "$A/var/cache/apt/archives/partial" "$A/var/lib/dpkg"
    touch "$A/var/lib/dpkg/status"
    echo "deb [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] $MIRROR trixie main" > "$A/etc/apt/sources.list"
    O=(-o APT::Sandbox::User=root -o "Dir::Etc=$A/etc/apt" -o "Dir::State=$A/var/lib/apt" -o "Dir::Cache=$A/var/cache/apt" -o "Dir::State::status=$A/var/lib/dpkg/status")
    apt-get "${O[@]}" -qq update
    rm -rf "$DIR/debs" && mkdir -p "$DIR/debs"
    (cd "$DIR/debs" && apt-get "${O[@]}" -qq download hx libc6 libgcc-s1)
    rm -rf "$DIR/root" && mkdir "$DIR/root"
    for deb in "$DIR"/debs/*.deb; do dpkg-deb -x "$deb" "$DIR/root"; done
fi
"$HERE/hx.sh" --version >&2
