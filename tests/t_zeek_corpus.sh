#!/bin/sh
# natlens names connections as Zeek's conn.log does: every row of Zeek's
# published baselines (corpus zeek/expected_conn*.csv, Zeek's tunnel
# baselines included) against `natlens flows --json`, comparing
# conn_state, history, packets, bytes, missed bytes and tunnel parents,
# plus generated captures for Zeek rules no baseline covers (multi-flag,
# scaled retransmissions, zero window, reuse and timers, second-packet
# flip, DNS idle removal), and the conn.log writer's tunnel_parents (the
# carrying flows' uids). Rows natlens cannot match are listed with their
# reason in tests/zeek_compare.py (EXPECTED_DIFFERENCES); an excused row
# that starts matching fails the test too, and conn_state and history must
# agree on 99 % of all rows.
set -u
N=${NATLENS:?}
C=${CORPUS:?}
HERE=$(cd "$(dirname "$0")" && pwd)
command -v python3 >/dev/null 2>&1 || { echo "python3 not installed"; exit 77; }
[ -f "$C/zeek/expected_conn.csv" ] || { echo "corpus zeek/expected_conn.csv missing"; exit 77; }
T=$(mktemp -d); trap 'rm -rf "$T"' EXIT
fail=0

# 1. the comparison itself
python3 "$HERE/zeek_compare.py" "$N" "$C" > "$T/out" 2>&1
rc=$?
cat "$T/out"
[ $rc -eq 0 ] || { echo "FAIL zeek_compare.py exit $rc"; fail=1; }

# 2. Zeek rules no baseline exercises, on generated captures
python3 "$HERE/zeek_compare.py" --synthetic "$N" "$C" > "$T/synth" 2>&1
rc=$?
cat "$T/synth"
[ $rc -eq 0 ] || { echo "FAIL synthetic cases"; fail=1; }

# 3. the conn.log writer names tunnel parents by the carrying flows' uids
python3 "$HERE/zeek_compare.py" --zeek-parents "$N" "$C" > "$T/parents" 2>&1
rc=$?
tail -n 3 "$T/parents"
grep -v '^ok' "$T/parents" | head -n 20
[ $rc -eq 0 ] || { echo "FAIL conn.log tunnel_parents"; fail=1; }

# 4. the comparison can fail: a natlens that finds no flows must not pass
cat > "$T/empty.sh" <<'SH'
#!/bin/sh
echo '{"captures":[],"flows":[],"findings":[],"probes":[]}'
SH
chmod +x "$T/empty.sh"
if python3 "$HERE/zeek_compare.py" "$T/empty.sh" "$C" > "$T/out2" 2>&1; then
    echo "FAIL zeek_compare.py passed a natlens without flows"; fail=1
else
    echo "ok   zeek_compare.py rejects a natlens without flows"
fi
exit $fail
