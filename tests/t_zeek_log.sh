#!/bin/sh
# natlens flows --zeek / --zeek-json: Zeek's conn.log, read back field by
# field (tests/zeek_log_check.py: meta lines, column count and types, the
# JSON form, awk on #fields as zeek-cut does, and every row of Zeek's
# conn.log baselines in the corpus), plus: reruns give the same rows,
# --max-flows streams the same log, Zeek's Community ID baseline, and the
# checker rejects a log with a column missing.
set -u
N=${NATLENS:?}
C=${CORPUS:?}
HERE=$(cd "$(dirname "$0")" && pwd)
command -v python3 >/dev/null 2>&1 || { echo "python3 not installed"; exit 77; }
[ -f "$C/zeek/expected_conn.csv" ] || { echo "corpus zeek/expected_conn.csv missing"; exit 77; }
T=$(mktemp -d); trap 'rm -rf "$T"' EXIT
fail=0
ok()  { echo "ok   $*"; }
bad() { echo "FAIL $*"; fail=1; }

# 1. the checker on every capture of the Zeek corpus
python3 "$HERE/zeek_log_check.py" "$N" "$C" > "$T/out" 2>&1; rc=$?
tail -n 5 "$T/out"; grep '^FAIL' "$T/out" | head -n 20
[ $rc -eq 0 ] && ok "conn.log read back and compared" || bad "zeek_log_check.py exit $rc"

W=$C/zeek/wikipedia.pcap
# 2. reruns: the same bytes with SOURCE_DATE_EPOCH (it replaces the #open/#close clock)
SOURCE_DATE_EPOCH=1700000000 TZ=UTC "$N" flows --zeek "$W" > "$T/a.log"
SOURCE_DATE_EPOCH=1700000000 TZ=UTC "$N" flows --zeek "$W" > "$T/b.log"
[ "$(grep -vc '^#' "$T/a.log")" -gt 20 ] && cmp -s "$T/a.log" "$T/b.log" && grep -q '^#open	2023-11-14-22-13-20$' "$T/a.log" \
  && ok "reruns identical" || bad "reruns differ or #open not from SOURCE_DATE_EPOCH"
mkdir "$T/d" && cp "$W" "$T/d/wikipedia.pcap"
"$N" flows --zeek "$T/d/wikipedia.pcap" | grep -v '^#' | cut -f2 > "$T/uid-copy"
grep -v '^#' "$T/a.log" | cut -f2 > "$T/uid-a"
[ -s "$T/uid-a" ] && cmp -s "$T/uid-a" "$T/uid-copy" && ok "uid stays with the capture's name" \
  || bad "same capture name, different uids"
mv "$T/d/wikipedia.pcap" "$T/other.pcap"
"$N" flows --zeek "$T/other.pcap" | grep -v '^#' | cut -f2 > "$T/uid-other"
[ -s "$T/uid-other" ] && [ -z "$(sort "$T/uid-a" "$T/uid-other" | uniq -d)" ] && ok "another capture name, other uids" \
  || bad "uids repeat across captures"

# 3. --max-flows streams the same rows (a large cap evicts nothing) and a
#    small cap still writes a whole log
"$N" flows --zeek --max-flows 100000 "$W" | grep -v '^#' | sort > "$T/s.rows"
grep -v '^#' "$T/a.log" | sort > "$T/a.rows"
[ -s "$T/a.rows" ] && cmp -s "$T/s.rows" "$T/a.rows" && ok "--max-flows streams the same rows" || bad "streamed rows differ"
"$N" flows --zeek-json --max-flows 100000 "$W" | sort > "$T/sj.rows"
"$N" flows --zeek-json "$W" | sort > "$T/j.rows"
[ -s "$T/j.rows" ] && cmp -s "$T/sj.rows" "$T/j.rows" && ok "--max-flows streams the same JSON" || bad "streamed JSON differs"
"$N" flows --zeek --max-flows 2 "$W" > "$T/m2.log" 2>/dev/null
python3 - "$T/m2.log" "$HERE" <<'PY' && ok "--max-flows 2 writes a whole log" || bad "--max-flows 2 log"
import sys
sys.path.insert(0, sys.argv[2])
import zeek_log_check as z
msgs = []
rows = z.parse_tsv(open(sys.argv[1]).read(), msgs, "m2")
assert not msgs and len(rows) > 20, (msgs, len(rows))
PY

# 4. Zeek's Community ID baseline for this capture
R=$C/zeek/handshake-reorder.pcap
"$N" flows --zeek "$R" | awk -F'\t' '/^#fields/{for(i=2;i<=NF;i++) c[$i]=i-1; next} /^#/{next}
  {print $c["id.orig_h"], $c["id.orig_p"], $c["id.resp_h"], $c["id.resp_p"], $c["community_id"]}' > "$T/cid"
want=$(grep -v '^#' "$C/zeek/handshake-reorder.scripts.policy.protocols.conn.community-id-logging-flipped__conn.log.cut" \
       | awk -F'\t' '{print $1, $2, $3, $4, $7}')
grep -qxF "$want" "$T/cid" && ok "community_id as Zeek's baseline" || bad "community_id: want '$want' got $(cat "$T/cid")"

# 5. natlens reads its own conn.log back as records (reader_zeek_conn):
#    the same TCP/UDP flows, states, histories, packets and IP bytes
for cap in "$W" "$C/zeek/modbus-rst.pcap" "$C/zeek/ftp-ipv6.pcap"; do
  for mode in --zeek --zeek-json; do
    "$N" flows $mode "$cap" > "$T/rt.log"
    "$N" flows --json "$cap" > "$T/rt-a.json"
    if "$N" flows --json "$T/rt.log" > "$T/rt-b.json" 2>"$T/err"; then
      python3 - "$T/rt-a.json" "$T/rt-b.json" <<'PY' && ok "read back as records: $(basename "$cap") $mode"         || bad "records from $mode of $(basename "$cap") differ"
import json, sys
keys = ("proto", "orig_ip", "orig_port", "resp_ip", "resp_port", "conn_state", "history",
        "orig_pkts", "resp_pkts", "orig_ip_bytes", "resp_ip_bytes", "community_id")
pick = lambda d: sorted(tuple(f[k] for k in keys) for f in d["flows"] if f["proto"] in ("tcp", "udp"))
a, b = (pick(json.load(open(p))) for p in sys.argv[1:3])
assert a and a == b, [x for x in a if x not in b][:3]
PY
    else
      bad "natlens cannot read its own $mode: $(head -c 300 "$T/err")"
    fi
  done
done

# 6. the checker can fail: a natlens whose conn.log lacks the last column
cat > "$T/short.sh" <<SH
#!/bin/sh
"$N" "\$@" | awk 'BEGIN{FS=OFS="\t"} /^#close/{print; next} {NF=NF-1; print}'
SH
chmod +x "$T/short.sh"
if python3 "$HERE/zeek_log_check.py" "$T/short.sh" "$C" > "$T/out2" 2>&1; then
    bad "zeek_log_check.py passed a log without community_id"
else
    ok "zeek_log_check.py rejects a log with a column missing"
fi
exit $fail
