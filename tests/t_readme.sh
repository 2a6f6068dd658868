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
exit $fail
