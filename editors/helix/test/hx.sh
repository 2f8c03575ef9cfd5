#!/bin/sh
# Runs the Helix that install.sh unpacked, with trixie's glibc loader. The language servers it starts
# run on the system's own glibc.
R=${NEXTEDIT_CLIENTS_CACHE:-$HOME/.cache/nextedit-clients}/helix-25.01/root
export HELIX_RUNTIME=$R/usr/lib/hx/runtime
exec "$R/usr/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2" --library-path "$R/usr/lib/x86_64-linux-gnu" "$R/usr/bin/hx" "$@"
