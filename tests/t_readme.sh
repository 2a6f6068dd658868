#!/bin/sh
# The README's example outputs are real: every ``` block that starts with
# "$ natlens ..." is what that command prints today (from the repository's
# root; a block ending in "..." shows the first lines). When natlens's text
# changes on purpose, refresh them with
#   python3 tests/readme_examples.py --natlens build/natlens --update
set -u
N=${NATLENS:?}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
command -v python3 >/dev/null 2>&1 || { echo "python3 not installed"; exit 77; }
T=$(mktemp -d); trap 'rm -rf "$T"' EXIT
fail=0
python3 "$ROOT/tests/readme_examples.py" --natlens "$N" || fail=1
# the check can fail: one changed line in a copy of the README
awk '/^\$ natlens correlate / {print; getline; sub(/2 captures/, "3 captures")} {print}' \
    "$ROOT/README.md" > "$T/README.md"
if cmp -s "$ROOT/README.md" "$T/README.md"; then
    echo "FAIL could not change a copy of the README"; fail=1
elif python3 "$ROOT/tests/readme_examples.py" --natlens "$N" --readme "$T/README.md" > "$T/out"; then
    echo "FAIL a changed example was not caught"; fail=1
else
    echo "ok   a changed example is caught"
fi
# the first screen (up to the first ---): exactly two set-up commands, make
# demo and make test, then the plain-tcpdump recipe for both ends
first_screen() { # README -> its code lines before the first ---, fences out
    awk '/^---/ {exit} /^```/ {inb = !inb; next} inb {print}' "$1"
}
first_screen "$ROOT/README.md" > "$T/first"
setup=$(grep -c '^make ' "$T/first")
if [ "$setup" != 2 ] || ! grep -q '^make demo ' "$T/first" || ! grep -q '^make test ' "$T/first"; then
    echo "FAIL the README's first screen does not set up with exactly make demo and make test:"
    sed 's/^/     /' "$T/first"; fail=1
elif [ "$(grep -c '^tcpdump .* -w client.pcap' "$T/first")" != 1 ] ||
     [ "$(grep -c '^tcpdump .* -w server.pcap' "$T/first")" != 1 ] ||
     ! grep -q '^natlens correlate client.pcap server.pcap' "$T/first"; then
    echo "FAIL the README's first screen lacks the tcpdump recipe for both ends:"
    sed 's/^/     /' "$T/first"; fail=1
else
    echo "ok   first screen: make demo, make test, tcpdump on both ends"
fi
# ... and that check can fail: a third set-up command
awk '/^make test / {print; print "make install   # a third"; next} {print}' "$ROOT/README.md" > "$T/R3.md"
if [ "$(first_screen "$T/R3.md" | grep -c '^make ')" = 2 ]; then
    echo "FAIL a third set-up command on the first screen is not counted"; fail=1
fi
exit $fail
