#!/bin/sh
# Install the named Debian packages when missing. As root: apt-get install.
# Otherwise: print the exact command and exit 2 (README promise).
missing=""
for p in "$@"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || missing="$missing $p"
done
[ -z "$missing" ] && exit 0
if [ "$(id -u)" = 0 ]; then
    echo "natlens: installing missing packages:$missing" >&2
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq >&2 || true
    apt-get install -y -qq $missing >&2 || { echo "natlens: apt-get install failed" >&2; exit 2; }
    exit 0
fi
echo "natlens: missing packages. Run:" >&2
echo "  sudo apt-get install -y$missing" >&2
exit 2
