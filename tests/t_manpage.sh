#!/bin/sh
# The manual pages are the commands' contract: natlens.1 and
# natlens-capture.1 list every option of every command, both ways against
# `--help` and against what the code parses, the viewer's keys, the
# finding kinds, the environment and every member of the JSON documents
# (tests/manpage_check.py says what it compares). Then the check is shown
# to fail: an option only in --help, an option only in the man page, an
# option missing from a SYNOPSIS, an option the code does not take.
set -u
N=${NATLENS:?}
NC=${NATLENS_CAPTURE:?}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
command -v python3 >/dev/null 2>&1 || { echo "python3 not installed"; exit 77; }
CHECK="python3 $ROOT/tests/manpage_check.py --root $ROOT --natlens $N --capture $NC"
T=$(mktemp -d); trap 'rm -rf "$T"' EXIT
fail=0
ok()  { echo "ok   $*"; }
bad() { echo "FAIL $*"; fail=1; }

# ---- the real pages against the real commands ----
if $CHECK > "$T/out" 2>&1; then
    ok "natlens.1 and natlens-capture.1 agree with the commands"
else
    bad "the manual pages and the commands differ:"
    sed 's/^/     /' "$T/out"
fi
grep '^note:' "$T/out"

# ---- the check must be able to fail (no JSON runs: options only) ----
must_fail() { # what, then the checker's extra arguments
    what=$1; shift
    if $CHECK --no-json "$@" > "$T/m.out" 2>&1; then
        bad "not caught: $what"
    elif grep -q "$expect" "$T/m.out"; then
        ok "caught: $what"
    else
        bad "$what: failed for another reason:"; sed 's/^/     /' "$T/m.out" | head -20
    fi
}

# an option in --help only: a wrapper adds one to `natlens flows --help`
cat > "$T/natlens" <<EOF
#!/bin/sh
if [ "\$1 \$2" = "flows --help" ]; then "$N" "\$@"; echo "  --zz-bogus    new"; exit 0; fi
exec "$N" "\$@"
EOF
chmod +x "$T/natlens"
expect="shows --zz-bogus"
REAL=$CHECK
CHECK="python3 $ROOT/tests/manpage_check.py --root $ROOT --natlens $T/natlens --capture $NC"
must_fail "an option added to flows --help only"
CHECK=$REAL

# an option in the man page only (its OPTIONS list and its SYNOPSIS)
awk '{print} /^\.SS "natlens flows"/ {print ".TP\n.B \\-\\-zz\\-bogus\nNew."}
     /^\.OP \\-\\-localtime$/ {print ".OP \\-\\-zz\\-bogus"}' "$ROOT/natlens.1" > "$T/added.1"
grep -q 'zz' "$T/added.1" || bad "could not add an option to a copy of natlens.1"
expect="lists --zz-bogus under natlens flows"
must_fail "an option added to natlens.1 only" --man "$T/added.1"
expect="does not take it"
must_fail "an option the code does not take" --man "$T/added.1"

# an option dropped from the man page (both places)
grep -v -e '^\.OP \\-\\-localtime$' -e '^\.B \\-\\-localtime$' "$ROOT/natlens.1" > "$T/dropped.1"
expect="shows --localtime"
must_fail "an option removed from natlens.1" --man "$T/dropped.1"

# an option dropped from a SYNOPSIS only
grep -v '^\.OP \\-\\-init$' "$ROOT/natlens.1" > "$T/nosyn.1"
expect="is not in its SYNOPSIS"
must_fail "an option missing from the fleet SYNOPSIS" --man "$T/nosyn.1"

# natlens-capture: an option dropped from the probe section
grep -v '^\.B \\-\\-all\\-sources$' "$ROOT/natlens-capture.1" > "$T/cap.1"
expect="shows --all-sources"
must_fail "an option removed from natlens-capture.1" --capman "$T/cap.1"

# an option the code parses that no page documents (a copy of the sources)
mkdir -p "$T/root"
cp -R "$ROOT/analyzer" "$ROOT/capture" "$ROOT/natlens.1" "$ROOT/natlens-capture.1" "$T/root/"
sed -i 's/strcmp(a, "--all") == 0/strcmp(a, "--all") == 0 || strcmp(a, "--zz-every") == 0/' \
    "$T/root/analyzer/cli/cmd_correlate.c"
grep -q zz-every "$T/root/analyzer/cli/cmd_correlate.c" || bad "could not add an option to a copy of cmd_correlate.c"
expect="parses --zz-every"
must_fail "an option the code parses and no page documents" --root "$T/root"

# a viewer key and a finding kind the page forgets
awk 'BEGIN{skip=0} /^\.B C\\-l$/ {skip=1; next} skip && /^\.TP/ {skip=0} !skip' \
    "$ROOT/natlens.1" > "$T/nokey.1"
expect="has the key 'C-l'"
must_fail "a viewer key missing from VIEWER KEYS" --man "$T/nokey.1"
sed 's/^\.B same_capture$/.B same_file/' "$ROOT/natlens.1" > "$T/kind.1"
expect="kind same_capture"
must_fail "a finding kind missing from FINDINGS" --man "$T/kind.1"

# a page that renders wrong: a literal form feed (Python's "\f" in an edit
# script) and a font escape printed as text
sed '0,/^One JSON document/s//One\x0cJSON document/' "$ROOT/natlens.1" > "$T/ff.1"
[ "$(tr -cd '\014' < "$T/ff.1" | wc -c)" = 1 ] || bad "could not add a form feed to a copy of natlens.1"
expect="control byte(s) 0x0c"
must_fail "a form feed in natlens.1" --man "$T/ff.1"
if command -v groff >/dev/null 2>&1; then
    sed '0,/^One JSON document/s//One \\efBJSON document/' "$ROOT/natlens.1" > "$T/esc.1"
    grep -q 'efBJSON' "$T/esc.1" || bad "could not add an escape to a copy of natlens.1"
    expect="shows a font or character escape"
    must_fail "a font escape that renders as text" --man "$T/esc.1"
else
    echo "note: groff not installed, rendering not checked"
fi

exit $fail
