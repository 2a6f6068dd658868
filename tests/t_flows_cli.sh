#!/bin/sh
# natlens flows: the command-line contract. Exit statuses, messages that
# name the file, JSON/CSV shape, BPF filters, stdin, pcapng, damage offsets.
set -u
N=${NATLENS:?}
C=${CORPUS:?}
T=$(mktemp -d); trap 'rm -rf "$T"' EXIT
fail=0
ok()  { echo "ok   $*"; }
bad() { echo "FAIL $*"; fail=1; }

W=$C/zeek/wikipedia.pcap
# 1. JSON is one valid document with the contract's keys
"$N" flows --json "$W" > "$T/w.json" 2>"$T/err" || bad "flows --json exit $?"
python3 - "$T/w.json" <<'PY' && ok "json contract" || bad "json contract"
import json, sys
d = json.load(open(sys.argv[1]))
assert set(["captures", "flows", "findings", "probes"]) <= set(d), d.keys()
c = d["captures"][0]
for k in ["file", "link_type", "packets", "first_ts", "last_ts"]:
    assert k in c, k
assert c["packets"] == 136 and c["link_type"] == "EN10MB", c
keys = ["proto","orig_ip","orig_port","resp_ip","resp_port","conn_state","history","orig_pkts",
        "resp_pkts","orig_bytes","resp_bytes","first_ts","last_ts","community_id"]
assert len(d["flows"]) > 20
for f in d["flows"]:
    for k in keys:
        assert k in f, (k, f)
    assert isinstance(f["orig_ip"], str) and isinstance(f["first_ts"], float)
    assert f["community_id"].startswith("1:")
PY
# 2. CSV: a header and one row per flow
"$N" flows --csv "$W" > "$T/w.csv" || bad "csv exit"
rows=$(($(wc -l < "$T/w.csv") - 1))
jf=$(python3 -c "import json,sys; print(len(json.load(open('$T/w.json'))['flows']))")
[ "$rows" = "$jf" ] && head -1 "$T/w.csv" | grep -q '^proto,orig_ip' && ok "csv rows $rows" || bad "csv rows $rows vs json $jf"
# 3. BPF filter, in one word or several (tcpdump style)
"$N" flows --json "$W" tcp port 80 > "$T/f.json" || bad "bpf exit"
python3 -c "
import json; d=json.load(open('$T/f.json'))
assert d['flows'] and all(f['proto']=='tcp' and 80 in (f['orig_port'],f['resp_port']) for f in d['flows'])
assert d['captures'][0]['packets'] == 78, d['captures'][0]['packets']" && ok "bpf filter" || bad "bpf filter"
"$N" flows "$W" 'tcp port' 2>"$T/err" >/dev/null; rc=$?
[ $rc = 2 ] && grep -q "filter" "$T/err" && ok "bad bpf exits 2" || bad "bad bpf rc=$rc"
# 4. stdin
cat "$W" | "$N" flows --json - > "$T/s.json" && cmp -s "$T/s.json" "$T/w.json" 2>/dev/null || \
  python3 -c "
import json; a=json.load(open('$T/s.json')); b=json.load(open('$T/w.json'))
assert a['flows']==b['flows']" && ok "stdin" || bad "stdin"
# 5. not a capture / missing / directory: exit 2, message names the file
echo "hello" > "$T/notes.txt"
for f in "$T/notes.txt" "$T/missing.pcap" "$T" ; do
  "$N" flows "$f" >/dev/null 2>"$T/err"; rc=$?
  [ $rc = 2 ] && grep -qF "$f" "$T/err" && ok "rejects $(basename "$f")" || bad "rc=$rc for $f: $(cat "$T/err")"
done
: > "$T/empty.pcap"
"$N" flows "$T/empty.pcap" >/dev/null 2>"$T/err"; [ $? = 2 ] && ok "empty file exits 2" || bad "empty file"
"$N" flows >/dev/null 2>&1; [ $? = 2 ] && ok "no args exits 2" || bad "no args"
"$N" bogus >/dev/null 2>&1; [ $? = 2 ] && ok "unknown command exits 2" || bad "unknown command"
# 6. a cut capture: analysed up to the damage, warning names the byte offset
head -c 3000 "$W" > "$T/cut.pcap"
"$N" flows --json "$T/cut.pcap" > "$T/cut.json" 2>"$T/err"; rc=$?
[ $rc = 0 ] && grep -q "byte offset 2727" "$T/err" && \
  python3 -c "import json; d=json.load(open('$T/cut.json')); assert d['captures'][0]['packets']==13 and d['captures'][0]['damage_offset']==2727" \
  && ok "cut file warns at offset 2727" || bad "cut file rc=$rc $(cat "$T/err")"
# 7. pcapng and nanosecond timestamps
"$N" flows --json "$C/tcpdump/tcp-handshake-nano.pcap" > "$T/n.json" || bad "nano exit"
python3 -c "
import json; d=json.load(open('$T/n.json'))
raw=open('$T/n.json').read()
assert d['flows'] and '.' in raw" && ok "nano pcap" || bad "nano pcap"
"$N" flows --json "$C/tcpdump/of13_ericsson.pcapng" > "$T/ng.json" && \
  python3 -c "import json; d=json.load(open('$T/ng.json')); assert d['captures'][0]['packets']>0" && ok "pcapng" || bad "pcapng"
# 8. text output: no escape codes when not a terminal or with NO_COLOR
NO_COLOR=1 "$N" flows "$W" > "$T/t.txt" || bad "text exit"
grep -q "$(printf '\033')" "$T/t.txt" && bad "escape codes in text output" || ok "no colour off a tty"
grep -q "208.80.152.2:80" "$T/t.txt" && ok "text table rows" || bad "text table rows"
# 9. packet counts agree with tshark for every corpus capture libpcap reads
find "$C" -name '*.tshark.txt' | sort > "$T/list"
while read -r tx; do
  cap=${tx%.tshark.txt}
  want=$(sed -n 's/^## packet count by tshark: //p' "$tx")
  [ -n "$want" ] || continue
  # tshark shows pcapng Custom Blocks as frames; they carry no packet
  desc=${cap%.pcapng}.txt
  if [ -f "$desc" ]; then
    cb=$(awk '$1=="CB:"||$1=="DCB:"{n+=$2} END{print n+0}' "$desc")
    want=$((want - cb))
  fi
  got=$("$N" flows --json "$cap" 2>/dev/null | python3 -c "import json,sys; print(json.load(sys.stdin)['captures'][0]['packets'])" 2>/dev/null)
  if [ "$got" != "$want" ]; then
    # libpcap 1.10 refuses pcapng files whose interfaces differ in link type
    # (and snap lengths): natlens must say so and name the offset
    if "$N" flows "$cap" 2>&1 >/dev/null | grep -q "libpcap cannot read this pcapng further.*different from the"; then
      echo "note $cap: libpcap refuses mixed interfaces (tshark: $want packets, natlens: $got)"; continue
    fi
    # and pcapng files without an interface block at all
    if [ -z "$got" ] && "$N" flows "$cap" 2>&1 >/dev/null | grep -q "no Interface Description Blocks"; then
      echo "note $cap: no interface block; libpcap refuses it (tshark: $want packets)"; continue
    fi
    bad "packets $cap: natlens=$got tshark=$want"
  fi
done < "$T/list"
ok "packet counts vs tshark"
exit $fail
