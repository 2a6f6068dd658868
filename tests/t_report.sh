#!/bin/sh
# natlens report: golden Markdown and JSON reports on the samples, HTML that
# parses with balanced tags, holds SVG and no URL, hostile strings from a
# capture and its file name escaped everywhere, --redact leaves no inner
# address, deterministic output, usage errors, and (where Chromium is
# installed) the HTML renders to a non-empty PNG.
#
# Regenerate the golden files: UPDATE_GOLDEN=1 sh tests/t_report.sh
# Golden reports hold sample file sha256 sums and the analysis (correlate,
# diagnose): a change there shows up here as a diff to review.
cd "$(dirname "$0")/.." || exit 2
NATLENS=${NATLENS:-$PWD/${BUILD:-build}/natlens}
G=tests/golden/report
T=$(mktemp -d /tmp/natlens-t_report.XXXXXX)
trap 'rm -rf "$T"' EXIT
fail=0
bad() { echo "FAIL: $*"; fail=1; }

[ -x "$NATLENS" ] || { echo "no natlens binary at $NATLENS"; exit 2; }
if ! "$NATLENS" report --help >/dev/null 2>&1; then
    echo "natlens has no report command"; exit 1
fi
command -v python3 >/dev/null 2>&1 || { echo "skip: python3 is needed to check the output"; exit 77; }

# ---- golden reports --------------------------------------------------------
# name | options | captures (paths relative to the repository: they are printed)
golden() { # name ext opts captures...
    name=$1 ext=$2 opts=$3; shift 3
    out="$T/$name.$ext"
    # shellcheck disable=SC2086
    if ! "$NATLENS" report $opts -o "$out" "$@" 2>"$T/$name.err"; then
        bad "$name.$ext: report failed: $(cat "$T/$name.err")"; return
    fi
    if [ -n "$UPDATE_GOLDEN" ]; then
        mkdir -p "$G"; cp "$out" "$G/$name.$ext"; echo "updated $G/$name.$ext"; return
    fi
    if [ ! -f "$G/$name.$ext" ]; then
        bad "$name.$ext: no golden file $G/$name.$ext (UPDATE_GOLDEN=1 makes it)"; return
    fi
    if ! cmp -s "$out" "$G/$name.$ext"; then
        bad "$name.$ext differs from $G/$name.$ext:"; diff -u "$G/$name.$ext" "$out" | head -40
    fi
}
AR="samples/asym-return/client.pcap samples/asym-return/fw-out.pcap samples/asym-return/fw-in.pcap samples/asym-return/server-eth0.pcap"
SW="samples/snat-switch/client.pcap samples/snat-switch/server.pcap"
SM="samples/snat-masq/client.pcap samples/snat-masq/server.pcap"
for f in $AR $SW $SM samples/halfopen/client.pcap samples/halfopen/server.pcap; do
    [ -f "$f" ] || { echo "skip: sample $f missing (samples/lab/lab.sh makes them)"; exit 77; }
done
# shellcheck disable=SC2086
{
golden asym-return md "" $AR
golden asym-return json "" $AR
golden snat-switch md "" $SW
golden snat-switch json "" $SW
golden snat-masq-redact md "--redact" $SM
golden halfopen md "" samples/halfopen/client.pcap samples/halfopen/server.pcap
golden halfopen-client md "" samples/halfopen/client.pcap
golden halfopen-client json "" samples/halfopen/client.pcap
}
[ -n "$UPDATE_GOLDEN" ] && exit $fail

# ---- the same input gives the same bytes, wherever the output goes ----------
# shellcheck disable=SC2086
"$NATLENS" report -o "$T/again.md" $AR 2>/dev/null && mkdir -p "$T/sub" &&
    "$NATLENS" report -o "$T/sub/again.md" $AR 2>/dev/null && cmp -s "$T/again.md" "$T/sub/again.md" ||
    bad "two runs of the same report differ"

# ---- JSON: one document with the summary and the analysis ------------------
python3 - "$T/asym-return.json" "$T/halfopen-client.json" <<'EOF' || bad "JSON structure"
import json, sys
d = json.load(open(sys.argv[1]))
s = d["summary"]
assert len(s["files"]) == 4, s["files"]
assert all(len(f["sha256"]) == 64 for f in s["files"])
assert s["natlens_version"] and s["command_line"].startswith("natlens report")
assert len(d["captures"]) == 4
kinds = {f["kind"] for f in d["findings"]}
assert "asymmetric_return" in kinds, kinds
if "matches" in d:   # the correlate document (correlate_json in the library)
    assert d["matches"] and d["chains"] and d["egress"], "empty correlate members"
else:
    print("note: JSON report without the correlate members (correlate_json not in the library yet)")
one = json.load(open(sys.argv[2]))
assert len(one["summary"]["files"]) == 1 and one["flows"], "single capture: flows"
EOF

# ---- HTML: parses, balanced, drawings, nothing from outside -----------------
cat >"$T/check_html.py" <<'EOF'
import re, sys
from html.parser import HTMLParser
VOID = {"meta", "br", "img", "input", "link", "hr", "col", "wbr", "area", "base", "source"}
class P(HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.stack, self.errors, self.tags = [], [], set()
    def handle_starttag(self, tag, attrs):
        self.tags.add(tag)
        if tag in ("script", "iframe", "object", "embed", "link", "img"):
            self.errors.append("element <%s>" % tag)
        for k, v in attrs:
            if k.startswith("on") or (v and "javascript:" in v.lower()):
                self.errors.append("attribute %s=%r" % (k, v))
        if tag not in VOID:
            self.stack.append(tag)
    def handle_startendtag(self, tag, attrs):
        self.tags.add(tag)
    def handle_endtag(self, tag):
        if not self.stack or self.stack[-1] != tag:
            self.errors.append("unbalanced </%s> (open: %s)" % (tag, self.stack[-3:]))
            return
        self.stack.pop()
raw = open(sys.argv[1], encoding="utf-8").read()
p = P(); p.feed(raw); p.close()
err = p.errors + (["unclosed: %s" % p.stack] if p.stack else [])
if re.search(r"https?://", raw, re.I): err.append("outside URL")
if re.search(r"<script", raw, re.I): err.append("raw <script")
if "svg" not in p.tags: err.append("no <svg>")
for need in sys.argv[2:]:
    if need not in raw: err.append("missing %r" % need)
if err:
    print(sys.argv[1] + ": " + "; ".join(err[:8])); sys.exit(1)
EOF
# shellcheck disable=SC2086
"$NATLENS" report -o "$T/asym-return.html" $AR 2>/dev/null || bad "HTML report failed"
python3 "$T/check_html.py" "$T/asym-return.html" "@media print" "<svg class=\"ladder\"" \
    "<svg class=\"timeline\"" "asymmetric_return" || bad "asym-return HTML"

# ---- hostile strings: a capture with markup in its payload, host metadata
# and file name must come out escaped in every format ----------------------
cat >"$T/hostile.py" <<'EOF'
import json, struct, sys
def block(t, body):
    body += b"\0" * (-len(body) % 4)
    return struct.pack("<II", t, len(body) + 12) + body + struct.pack("<I", len(body) + 12)
def csum(b):
    b += b"\0" * (len(b) % 2)
    s = sum(struct.unpack("!%dH" % (len(b) // 2), b))
    while s >> 16: s = (s & 0xFFFF) + (s >> 16)
    return ~s & 0xFFFF
def frame(seq, flags, payload=b"", ipid=1):
    src, dst = bytes([10, 9, 8, 7]), bytes([192, 0, 2, 80])
    opts = struct.pack("!BBH", 2, 4, 1460) if flags & 2 else b""
    tcp = struct.pack("!HHIIBBHHH", 40000, 80, seq, 0, (20 + len(opts)) // 4 << 4, flags, 64240, 0, 0) + opts + payload
    tcp = tcp[:16] + struct.pack("!H", csum(src + dst + struct.pack("!BBH", 0, 6, len(tcp)) + tcp)) + tcp[18:]
    ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(tcp), ipid, 0x4000, 64, 6, 0, src, dst)
    ip = ip[:10] + struct.pack("!H", csum(ip)) + ip[12:]
    return bytes.fromhex("024e4c000002024e4c0000010800") + ip + tcp
def epb(us, f):
    return block(6, struct.pack("<IIIII", 0, us >> 32, us & 0xFFFFFFFF, len(f), len(f)) + f)
meta = json.dumps({"natlens_hostmeta": 1, "hostname": "<img src=x onerror=alert(2)>host",
                   "role": "client</td><script>alert(3)</script>",
                   "kernel": "6.1 | `rm -rf` *bold* [link](x)"}).encode()
t0 = 1700000000000000
with open(sys.argv[1], "wb") as f:
    f.write(block(0x0A0D0D0A, struct.pack("<IHHq", 0x1A2B3C4D, 1, 0, -1)) + block(1, struct.pack("<HHI", 1, 0, 262144))
            + block(0xBAD, struct.pack("<I", 32473) + b"NLHMETA1" + struct.pack("<I", len(meta)) + meta)
            + epb(t0, frame(1000, 2)) + epb(t0 + 1000000, frame(1000, 2, ipid=2))
            + epb(t0 + 1100000, frame(1001, 0x18, b"<script>alert(1)</script>", 3))
            + epb(t0 + 3000000, frame(1000, 2, ipid=4)))
EOF
EVIL="$T/evil<script>x|\`*_&'\".pcapng"
python3 "$T/hostile.py" "$EVIL" || bad "could not write the hostile capture"
TITLE='<script>alert(4)</script> | `title`'
"$NATLENS" report --title "$TITLE" -o "$T/evil.html" "$EVIL" 2>/dev/null || bad "hostile HTML report failed"
"$NATLENS" report --title "$TITLE" -o "$T/evil.md" "$EVIL" 2>/dev/null || bad "hostile Markdown report failed"
"$NATLENS" report --title "$TITLE" -o "$T/evil.json" "$EVIL" 2>/dev/null || bad "hostile JSON report failed"
python3 "$T/check_html.py" "$T/evil.html" "len=25 &quot;&lt;script&gt;" "&lt;img src=x onerror=alert(2)&gt;" \
    "&lt;script&gt;alert(3)" "&lt;script&gt;alert(4)" "evil&lt;script&gt;x" || bad "hostile strings in HTML"
python3 - "$T/evil.md" "$T/evil.json" <<'EOF' || bad "hostile strings in Markdown/JSON"
import json, re, sys
md = open(sys.argv[1], encoding="utf-8").read()
errs = []
# outside fenced blocks (whose content Markdown shows verbatim) no tag may
# appear; inside them no backtick may close the fence early
fenced, outside = False, []
for line in md.splitlines():
    if line.startswith("```"):
        fenced = not fenced
        continue
    if fenced and "`" in line: errs.append("backtick inside a fence: %r" % line)
    if not fenced: outside.append(line)
if re.search(r"<(script|img)", "\n".join(outside), re.I): errs.append("raw tag in Markdown")
rows = [l for l in md.splitlines() if l.startswith("| 1 | ")]
if not rows or len(re.findall(r"(?<!\\)\|", rows[0])) != 10: errs.append("captures row broken: %r" % rows[:1])
if "\\`rm -rf\\`" not in md or "\\*bold\\*" not in md: errs.append("Markdown punctuation not escaped")
d = json.load(open(sys.argv[2]))
if d["summary"]["files"][0]["host"]["hostname"] != "<img src=x onerror=alert(2)>host": errs.append("JSON host")
if errs: print("; ".join(errs)); sys.exit(1)
EOF

# ---- --redact: no inner address left anywhere -------------------------------
for ext in html md json; do
    # shellcheck disable=SC2086
    "$NATLENS" report --redact -o "$T/red.$ext" $SM 2>/dev/null || bad "--redact $ext failed"
    # shellcheck disable=SC2086
    "$NATLENS" report --redact -o "$T/red-ar.$ext" $AR 2>/dev/null || bad "--redact $ext failed"
done
python3 - "$T"/red.* "$T"/red-ar.* <<'EOF' || bad "--redact left inner addresses"
import re, sys
inner = re.compile(r"(?<![\d.])(10\.\d+\.\d+\.\d+|192\.168\.\d+\.\d+|172\.(1[6-9]|2\d|3[01])\.\d+\.\d+|198\.51\.100\.10)(?![\d])")
bad = 0
for p in sys.argv[1:]:
    s = open(p, encoding="utf-8").read()
    m = inner.search(s)
    if m: print(p, "holds", m.group(0)); bad = 1
    if "inner-1" not in s and not p.endswith("red.json"): print(p, "has no pseudonym"); bad = 1
sys.exit(bad)
EOF

# ---- usage ------------------------------------------------------------------
"$NATLENS" report -o "$T/x.txt" samples/halfopen/client.pcap 2>/dev/null; [ $? -eq 2 ] || bad "unknown extension: exit 2"
"$NATLENS" report --format md -o "$T/x.txt" samples/halfopen/client.pcap 2>/dev/null && head -c 2 "$T/x.txt" | grep -q '^# ' ||
    bad "--format md overrides the extension"
"$NATLENS" report -o "$T/y.md" "$T/does-not-exist.pcap" 2>"$T/err"; rc=$?
[ $rc -eq 2 ] && grep -q does-not-exist "$T/err" || bad "unreadable capture: exit 2 naming it (got $rc)"
[ -e "$T/y.md" ] && bad "a failed report left a file behind"
"$NATLENS" report samples/halfopen/client.pcap 2>/dev/null; [ $? -eq 2 ] || bad "missing -o: exit 2"

# ---- render (where Chromium is installed) -----------------------------------
CHROME=$(command -v chromium || command -v chromium-browser || true)
if [ -n "$CHROME" ]; then
    mkdir -p "$T/prof"
    timeout 60 "$CHROME" --headless --no-sandbox --disable-gpu --disable-background-networking \
        --disable-component-update --disable-sync --no-first-run --user-data-dir="$T/prof" \
        --screenshot="$T/asym-return.png" --window-size=1200,2000 "file://$T/asym-return.html" >/dev/null 2>&1
    sz=$(wc -c <"$T/asym-return.png" 2>/dev/null || echo 0)
    if [ "$sz" -lt 20000 ] || [ "$(head -c 4 "$T/asym-return.png" | od -An -c | tr -d ' ')" != '211PNG' ]; then
        bad "Chromium rendered no PNG ($sz bytes)"
    else
        echo "rendered asym-return.html: $sz bytes of PNG"
    fi
else
    echo "note: chromium not installed: HTML rendering not checked"
fi

[ $fail -eq 0 ] && echo "t_report: all checks passed"
exit $fail
