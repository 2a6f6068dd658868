#!/bin/sh
# t_records_present.sh - a record point in the report (md, html, json) and
# in the viewer: a column of records, not packets.
#
# On a VM capture beside its NAT's or cloud's records (the bundled samples:
# Cloud NAT log, Cloud NAT log with port exhaustion, AWS flow log with
# REJECT, conntrack with [UNREPLIED]):
#  - the report's captures table names the record format and its entries;
#  - the flow table shows each record's own fields (file:line, gateway,
#    VM, interface, action, NAT status, conntrack flags, what it pins) and
#    never a packet state, a packet count or a loss the record does not pin
#    (no "OTH", no "0/0", no "lost 5" against a record);
#  - the egress table says "recorded by the NAT" or "likely";
#  - the record findings (nat_port_exhausted, rejected_by_rule,
#    nat_no_reply) carry evidence naming file:line;
#  - the JSON report carries every record flow's facts (record_points);
#  - the viewer's rows say what the record says, its Pair panel shows the
#    record (legs, names, time window and granularity, what it pins) and
#    no packet ladder against it, and the filter knows record words.
# Every check fails on a natlens without record presentation.
set -u
cd "$(dirname "$0")/.." || exit 2
ROOT=$PWD
NATLENS=${NATLENS:-$ROOT/${BUILD:-build}/natlens}
case $NATLENS in /*) ;; *) NATLENS=$ROOT/$NATLENS ;; esac
[ -x "$NATLENS" ] || { echo "FAIL: no natlens binary at $NATLENS"; exit 1; }
command -v python3 >/dev/null 2>&1 || { echo "skip: python3 is needed to read the reports"; exit 77; }

SM=samples/snat-masq/client.pcap
HO=samples/halfopen/client.pcap
AR=samples/asym-return/client.pcap
NAT=samples/records/gcp_nat/nat-log.json
EXH=samples/records/gcp_nat/nat-log-exhausted.json
AWS=samples/records/aws_flow/flow-reject.log
CT=samples/asym-return/conntrack-fw.txt
for f in $SM $HO $AR $NAT $EXH $AWS $CT; do
    [ -f "$f" ] || { echo "FAIL: sample $f is missing"; exit 1; }
done

TMP=$(mktemp -d "${TMPDIR:-/tmp}/t_records_present.XXXXXX")
SOCKS=""
cleanup() {
    for s in $SOCKS; do tmux -L "$s" kill-server >/dev/null 2>&1; done
    rm -rf "$TMP"
}
trap cleanup EXIT
trap 'exit 1' INT TERM

fails=0
fail() { echo "FAIL: $*"; fails=$((fails + 1)); }
ok() { echo "ok: $*"; }

# ---- 1. reports ---------------------------------------------------------------
report() { # name ext captures...
    name=$1 ext=$2; shift 2
    if ! "$NATLENS" report -o "$TMP/$name.$ext" "$@" 2>"$TMP/$name.$ext.err"; then
        fail "report $name.$ext: $(head -c 300 "$TMP/$name.$ext.err")"
    fi
}
for ext in md html json; do
    report nat $ext $SM $NAT
    report exh $ext $SM $EXH
    report aws $ext $HO $AWS
    report ct $ext $AR $CT
done

cat > "$TMP/check.py" <<'EOF'
"""Checks on the reports in DIR; prints ok:/FAIL: lines, exits 1 on a failure."""
import html, json, re, sys
from html.parser import HTMLParser

D = sys.argv[1]
fails = 0

def check(name, cond, detail=""):
    global fails
    if cond:
        print("ok: " + name)
    else:
        fails += 1
        print("FAIL: " + name + (": " + detail if detail else ""))

def md(name):
    try:
        return open("%s/%s.md" % (D, name), encoding="utf-8").read()
    except OSError:
        return ""

def md_unesc(s):
    return re.sub(r"\\(.)", r"\1", s)

def md_table(text, first_header):
    """Rows (lists of cells, unescaped) of the first table whose header starts with first_header."""
    lines = text.splitlines()
    for i, l in enumerate(lines):
        if l.startswith("| " + first_header):
            head = [md_unesc(c.strip()) for c in re.split(r"(?<!\\)\|", l)[1:-1]]
            rows = []
            for r in lines[i + 2:]:
                if not r.startswith("|"):
                    break
                rows.append(dict(zip(head, [md_unesc(c.strip()) for c in re.split(r"(?<!\\)\|", r)[1:-1]])))
            return head, rows
    return [], []

class Text(HTMLParser):
    """Table rows of an HTML report as text cells."""
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.rows, self.cell, self.row, self.stack, self.errors = [], None, None, [], []
    def handle_starttag(self, tag, attrs):
        if tag not in ("meta", "br", "hr"):
            self.stack.append(tag)
        if tag == "tr":
            self.row = []
        elif tag in ("td", "th"):
            self.cell = ""
    def handle_startendtag(self, tag, attrs):
        pass
    def handle_endtag(self, tag):
        if not self.stack or self.stack[-1] != tag:
            self.errors.append(tag)
        else:
            self.stack.pop()
        if tag in ("td", "th") and self.row is not None:
            self.row.append(self.cell or "")
            self.cell = None
        elif tag == "tr" and self.row is not None:
            self.rows.append(self.row)
            self.row = None
    def handle_data(self, data):
        if self.cell is not None:
            self.cell += data

def html_rows(name):
    try:
        p = Text()
        p.feed(open("%s/%s.html" % (D, name), encoding="utf-8").read())
        return p
    except OSError:
        return None

def js(name):
    try:
        return json.load(open("%s/%s.json" % (D, name), encoding="utf-8"))
    except (OSError, ValueError):
        return {}

# -- captures table: the record format and its entries, not packets
for name, title, n in (("nat", "GCP Cloud NAT log", 6), ("exh", "GCP Cloud NAT log", 18),
                       ("aws", "AWS VPC Flow Logs", 5)):
    _, caps = md_table(md(name), "# |")
    rec = [r for r in caps if r.get("file", "").endswith((".json", ".log"))]
    check("%s.md: captures table names %s and %d entries" % (name, title, n),
          rec and title in rec[0].get("format", "") and ("%d entries" % n) in " ".join(rec[0].values()),
          str(rec[:1]))

# -- flow table: the record's fields; no state or count it does not pin
def flow_rows(name):
    head, rows = md_table(md(name), "client side")
    return head, rows

head, rows = flow_rows("nat")
says = [r.get("what the record says", "") for r in rows]
check("nat.md: flow rows show each record's line, gateway, VM and NAT status",
      any(s.startswith("nat-log.json:2 ") and "gateway nat-gw-1" in s and "VM vm-app-3" in s and "NAT OK" in s
          and "pins" in s for s in says), str(says[:2]))
rec_rows = [r for r in rows if r.get("what the record says")]
check("nat.md: no record shows a TCP state or a loss it does not pin (OTH, lost count)",
      rec_rows and all("OTH" not in r.get("state", "OTH") and r.get("lost") == "\u2014" for r in rec_rows),
      str([(r.get("state"), r.get("lost")) for r in rec_rows][:3]))

head, rows = flow_rows("exh")
only = [r for r in rows if "record only" in r.get("seen at", "")]
check("exh.md: the DROPPED entries are records (no NAT port), with no state or packet count",
      len(only) == 12 and all("DROPPED" in r.get("what the record says", "") and r.get("pkts") == "\u2014"
                              and r.get("state") == "record" for r in only),
      str(len(only)) + " " + str(only[:1]))

head, rows = flow_rows("aws")
says = " ".join(r.get("what the record says", "") for r in rows)
check("aws.md: the flow log's action, interface and counts it pins (a reply rejected on the way back)",
      "REJECT (the reply, on the way back)" in says and "interface eni-0a1b2c3d4e5f60718" in says
      and "4/4 packets" in says and "a 1-minute interval" in says, says[:300])
check("aws.md: no loss counted against a flow log", rows and all(r.get("lost") == "\u2014" for r in rows),
      str([r.get("lost") for r in rows]))

# -- egress: how each row is known
_, eg = md_table(md("nat"), "inner host")
check("nat.md: egress rows 'recorded by the NAT'",
      eg and all(r.get("known by") == "recorded by the NAT" for r in eg), str(eg[:1]))
_, eg = md_table(md("aws"), "inner host")
check("aws.md: egress rows from a flow log are 'likely'",
      eg and all(r.get("known by", "").startswith("likely") for r in eg), str(eg[:1]))

# -- findings with file:line evidence
def evidence(text, kind):
    """Evidence rows (capture cell, what) under the findings of one kind."""
    out = []
    for block in re.split(r"\n### ", text):
        if block.split("\n", 1)[0].find(kind.replace("_", "\\_")) < 0:
            continue
        for l in block.splitlines():
            if l.startswith("| ") and not l.startswith("| capture"):
                cells = [md_unesc(c.strip()) for c in re.split(r"(?<!\\)\|", l)[1:-1]]
                if len(cells) == 4:
                    out.append((cells[0], cells[3]))
    return out

ev = evidence(md("exh"), "nat_port_exhausted")
check("exh.md: nat_port_exhausted evidence names nat-log-exhausted.json:7 .. :18",
      [c for c, _ in ev] == ["nat-log-exhausted.json:%d" % i for i in range(7, 19)], str(ev[:2]))
ev = evidence(md("aws"), "rejected_by_rule")
check("aws.md: rejected_by_rule evidence names flow-reject.log:6 and flow-reject.log:3",
      {"flow-reject.log:6", "flow-reject.log:3"} <= {c for c, _ in ev}, str(ev))
ev = evidence(md("ct"), "nat_no_reply")
check("ct.md: nat_no_reply evidence names conntrack-fw.txt:3", ("conntrack-fw.txt:3") in [c for c, _ in ev],
      str(ev))

# -- HTML: the same facts, balanced
for name, needs in (("exh", ["nat-log-exhausted.json:7", "DROPPED: no NAT port", "recorded by the NAT",
                             "18 entries"]),
                    ("aws", ["flow-reject.log:6", "REJECT (the reply, on the way back)", "likely"])):
    p = html_rows(name)
    cells = [c for r in (p.rows if p else []) for c in r]
    missing = [n for n in needs if not any(n in c for c in cells)]
    rec_cells = [r for r in (p.rows if p else []) if r and any("\u00b7 pins" in c for c in r)]
    check("%s.html: record fields and file:line evidence in table cells, tags balanced" % name,
          p is not None and not missing and not p.errors and not p.stack, "missing %s, errors %s" %
          (missing, p.errors[:3] if p else "no file"))
    check("%s.html: no record row shows OTH or a packet count it does not pin" % name,
          rec_cells and all(not any(c in ("OTH", "0/0") or c.endswith("/OTH") for c in r) for r in rec_cells),
          str(rec_cells[:1]))

# -- JSON: every record flow's facts; a record file has entries, not packets
for name, fmt, recs in (("nat", "gcp_nat", 12), ("exh", "gcp_nat", 24), ("aws", "aws_flow", 4)):
    d = js(name)
    pts = d.get("record_points", [])
    files = d.get("summary", {}).get("files", [])
    ok = (len(pts) == 1 and pts[0].get("format") == fmt and pts[0].get("capture") == 1 and
          len(pts[0].get("records", [])) == recs and
          all(r.get("line") and "pins" in r for r in pts[0].get("records", [])) and
          len(files) == 2 and files[1].get("format") == fmt and files[1].get("packets") is None and
          files[1].get("entries"))
    check("%s.json: record_points holds the %d record flows of %s; the file has entries, not packets" %
          (name, recs, fmt), ok, json.dumps(pts)[:200] + " " + json.dumps(files[1:])[:200])
d = js("exh")
dropped = [r for p in d.get("record_points", []) for r in p.get("records", []) if r.get("nat_status") == "DROPPED"]
check("exh.json: the 12 DROPPED records with their VM and gateway",
      len(dropped) == 12 and all(r.get("vm") == "vm-app-3" and r.get("gateway") == "nat-gw-1" for r in dropped),
      str(len(dropped)))
sys.exit(1 if fails else 0)
EOF
python3 "$TMP/check.py" "$TMP" || fails=$((fails + 1))

# ---- 2. the viewer ----------------------------------------------------------------
if ! command -v tmux >/dev/null 2>&1; then
    echo "note: tmux is not installed: the viewer checks did not run"
    [ $fails -eq 0 ] && { echo "skip: tmux is not installed (the report checks passed)"; exit 77; }
    echo "t_records_present: $fails check(s) failed"; exit 1
fi
RUN=0
T=true
snap() { $T capture-pane -p -t tui > "$TMP/screen" 2>/dev/null; }
wait_for() { # ERE [tenths]
    n=${2:-100}
    while [ "$n" -gt 0 ]; do
        snap
        grep -Eq -- "$1" "$TMP/screen" && return 0
        sleep 0.1
        n=$((n - 1))
    done
    return 1
}
start() { # W H captures...
    w=$1 h=$2; shift 2
    $T kill-server >/dev/null 2>&1
    RUN=$((RUN + 1))
    SOCKS="$SOCKS nlrec-$$-$RUN"
    T="tmux -L nlrec-$$-$RUN -f /dev/null"
    $T new-session -d -s tui -x "$w" -y "$h" \
        "env TERM=screen LANG=C.UTF-8 LC_ALL=C.UTF-8 NO_COLOR=1 '$NATLENS' tui $*; sleep 60"
}
keys() { $T send-keys -t tui "$@"; }
seen() { cat "$TMP/screen"; echo "----"; }
# rows of the flows panel: lines with an arrow under the header
flow_rows() { sed -n '4,$p' "$TMP/screen" | grep -c '→'; }
filter_expect() { # EXPR COUNT
    keys F4 C-u
    keys -l -- "$1"
    keys Enter
    if wait_for "$2 flows? match" 30 && [ "$(flow_rows)" -eq "$2" ]; then
        ok "viewer: filter '$1' keeps $2 rows"
    else
        fail "viewer: filter '$1': expected $2 rows, saw $(flow_rows)"
    fi
}

# rows with a record in the FAR column: paired (two arrows) or record only
# (the NEAR column is "—"). A packet flow seen at the capture only (client.pcap's
# ICMP echoes: Cloud NAT logs no ICMP) keeps its own state, OTH included.
# Byte-wise awk: the test must not depend on the runner's locale.
record_rows() {
    sed -n '4,$p' "$TMP/screen" | awk '{ a = index($0, "→"); d = index($0, "—");
        n = gsub(/→/, "→"); if (n >= 2 || (n == 1 && d > 0 && d < a)) print }'
}
start 120 30 "'$ROOT/$SM' '$ROOT/$EXH'"
if wait_for '12 records only' 100 && wait_for 'SF/NAT OK' 10 &&
   [ "$(grep -c 'DROPPED' "$TMP/screen")" -eq 12 ] && [ "$(record_rows | wc -l)" -eq 18 ] &&
   ! record_rows | grep -Eq '(^| |/)OTH( |/|$)' && ! grep -q '/OTH' "$TMP/screen" &&
   ! grep -Eq 'DROPPED +0 +0' "$TMP/screen"; then
    ok "viewer: record rows say NAT OK / DROPPED, no OTH and no zero counts; 12 records only"
else
    fail "viewer: record rows"; seen
fi
keys Enter
if wait_for 'RECORD +nat-log-exhausted\.json line 1' 30 &&
   grep -Eq 'outer leg +203\.0\.113\.2:40000 → 198\.51\.100\.80:80' "$TMP/screen" &&
   grep -Eq 'gateway +nat-gw-1' "$TMP/screen" && grep -q 'times to 1 s' "$TMP/screen" &&
   grep -q 'pins .*no TCP state' "$TMP/screen" && grep -q 'recorded by the NAT' "$TMP/screen" &&
   ! grep -q 'not seen at nat-log' "$TMP/screen" && ! grep -q 'lost ' "$TMP/screen"; then
    ok "viewer: the Pair panel shows the record (legs, gateway, window, pins), no ladder against it"
else
    fail "viewer: Pair panel of a record"; seen
fi
if grep -Eq 'SYN seq=[0-9]+' "$TMP/screen" && grep -q 'its packets (the record holds none)' "$TMP/screen"; then
    ok "viewer: the capture's own packets under the record"
else
    fail "viewer: the capture's packets are not listed under the record"; seen
fi
keys Escape
wait_for 'NEAR client\.pcap' 30 || fail "viewer: Esc does not return to the flows"
filter_expect "nat dropped" 12
filter_expect "record and not nat exhausted" 6
# vm-app-3 (10.72.2.223): 3 OK entries (lines 2, 4, 6) and the 12 DROPPED ones
filter_expect "vm-app-3" 15
keys q

start 120 30 "'$ROOT/$HO' '$ROOT/$AWS'"
if wait_for 'S0/REJECT' 100 && grep -q 'SF/ACCEPT' "$TMP/screen"; then
    ok "viewer: flow-log rows say ACCEPT / REJECT"
else
    fail "viewer: flow-log rows"; seen
fi
filter_expect "action reject" 2
keys Enter
if wait_for 'RECORD +flow-reject\.log line 3' 30 &&
   grep -Eq 'action +REJECT \(the reply, on the way back\)' "$TMP/screen" &&
   grep -Eq 'interface +eni-0a1b2c3d4e5f60718' "$TMP/screen" &&
   grep -q 'a 1-minute aggregation interval' "$TMP/screen" &&
   grep -q 'likely: a tuple in the record' "$TMP/screen"; then
    ok "viewer: a flow log's record in the Pair panel (action, interface, interval, likely)"
else
    fail "viewer: Pair panel of a flow log"; seen
fi
keys q

if [ $fails -ne 0 ]; then
    echo "t_records_present: $fails check(s) failed"
    exit 1
fi
echo "t_records_present: all checks passed"
exit 0
