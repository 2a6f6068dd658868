#!/bin/sh
# t_records.sh - record files as capture points: every reader against lab
# truth field by field (tests/records_check.py), bad lines warned about with
# file:line and skipped, other files refused with exit 2.
cd "$(dirname "$0")/.." || exit 2
NATLENS=${NATLENS:-$PWD/${BUILD:-build}/natlens}
[ -x "$NATLENS" ] || { echo "natlens binary not built ($NATLENS)"; exit 77; }
command -v python3 >/dev/null 2>&1 || { echo "python3 missing"; exit 77; }
tmp=$(mktemp -d /tmp/natlens-records.XXXXXX) || exit 2
trap 'rm -rf "$tmp"' EXIT INT TERM
fail=0
python3 tests/records_check.py "$NATLENS" || fail=1

# a garbled line in the middle: warned about by file:line, the rest read
for f in samples/snat-masq/conntrack-router.txt samples/records/gcp_nat/nat-log.json \
         samples/records/aws_flow/flow-nat-gateway.log samples/records/zeek_conn/ftp-ipv6.conn.log; do
    b=$(basename "$f")
    n=$(wc -l < "$f")
    half=$((n / 2 + 1))
    { head -n $((half - 1)) "$f"; printf 'src=\001garbage\033[31m {"x":\n'; tail -n +"$half" "$f"; } > "$tmp/$b"
    want=$("$NATLENS" flows --json "$f" | python3 -c 'import json,sys; print(len(json.load(sys.stdin)["flows"]))')
    got=$("$NATLENS" flows --json "$tmp/$b" 2> "$tmp/err" | python3 -c 'import json,sys; print(len(json.load(sys.stdin)["flows"]))')
    if [ "$got" != "$want" ]; then echo "FAIL $b: $got flows with a bad line, $want without"; fail=1; fi
    grep -q "$b:$half: " "$tmp/err" || { echo "FAIL $b: no warning naming $b:$half"; cat "$tmp/err"; fail=1; }
    if LC_ALL=C tr -d '\n\200-\377' < "$tmp/err" | LC_ALL=C grep -q '[[:cntrl:]]'; then
        echo "FAIL $b: control bytes from the file reached stderr"; fail=1
    fi
done

# files of another kind: exit 2 and a message naming the file
printf 'hello world\nthis is not a record file\n' > "$tmp/notes.txt"
printf '{"some": "json", "that": ["is", "no", "log"]}\n' > "$tmp/other.json"
printf '#fields\tts\tuid\tid.orig_h\n' > "$tmp/empty-zeek.log"
for f in "$tmp/notes.txt" "$tmp/other.json" "$tmp/empty-zeek.log"; do
    "$NATLENS" flows "$f" > /dev/null 2> "$tmp/err"; rc=$?
    [ $rc -eq 2 ] && grep -q "$(basename "$f")" "$tmp/err" ||
        { echo "FAIL $(basename "$f"): exit $rc, stderr: $(cat "$tmp/err")"; fail=1; }
done
[ $fail -eq 0 ] && echo "record readers: all checks passed"
exit $fail
