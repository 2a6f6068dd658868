#!/bin/sh
# t_ladder.sh - one connection is one connection in the report's ladders
# (issue 12, section 2), Markdown and HTML, on samples/asym-return:
#   - client.pcap + server.pcap: the client's four SYNs of port 41001 pair
#     with the server's copies, whichever of the server's pieces (Zeek
#     splits the 5-tuple after each RST) holds them; each SYN-ACK the client
#     got from 192.168.0.250 sits on the same row as the server's SYN-ACK;
#   - no "not seen here" for a packet the capture holds: every such cell is
#     checked against the capture itself with tcpdump (a packet of the same
#     port with the same TCP flags within 50 ms of the row's time would
#     make the claim false); also on the four-capture chain (client,
#     firewall outside, firewall inside, server-eth0).
# Fails on a report that pairs only the connections' first pieces.
set -u
cd "$(dirname "$0")/.." || exit 2
NATLENS=${NATLENS:-$PWD/${BUILD:-build}/natlens}
A=samples/asym-return
[ -x "$NATLENS" ] || { echo "skip: $NATLENS not built"; exit 77; }
command -v python3 >/dev/null 2>&1 || { echo "skip: python3 is needed"; exit 77; }
command -v tcpdump >/dev/null 2>&1 || { echo "skip: tcpdump is needed (the oracle)"; exit 77; }
for f in client fw-out fw-in server-eth0 server; do
    [ -f $A/$f.pcap ] || { echo "skip: $A/$f.pcap missing"; exit 77; }
done
T=$(mktemp -d /tmp/t_ladder.XXXXXX)
trap 'rm -rf "$T"' EXIT
fail=0

"$NATLENS" report -o "$T/two.md" $A/client.pcap $A/server.pcap 2>"$T/err" &&
"$NATLENS" report -o "$T/two.html" $A/client.pcap $A/server.pcap 2>>"$T/err" &&
"$NATLENS" report -o "$T/four.md" $A/client.pcap $A/fw-out.pcap $A/fw-in.pcap $A/server-eth0.pcap \
    2>>"$T/err" || { echo "FAIL: natlens report: $(cat "$T/err")"; exit 1; }
# the oracle's view of every capture: time, client port, TCP flags
for f in client fw-out fw-in server-eth0 server; do
    timeout 30 tcpdump -nn -tt -r $A/$f.pcap tcp 2>/dev/null >"$T/$f.txt"
done

python3 - "$T" <<'EOF' || fail=1
import html, re, sys
T = sys.argv[1]
bad = 0

def fail(msg):
    global bad
    bad += 1
    print("FAIL: " + msg)

# --- the oracle: packets of each capture by (port, flags) ---------------
FL = {"SYN": "S", "FIN": "F", "RST": "R", "PSH": "P", "URG": "U", "ACK": "."}
def pkts(name):
    out = []
    for line in open(f"{T}/{name}.txt"):
        m = re.match(r"(\d+\.\d+) .*?IP6? (\S+) > (\S+): Flags \[([^\]]*)\]", line)
        if not m:
            continue
        ports = {m.group(2).rsplit(".", 1)[-1], m.group(3).rstrip(":").rsplit(".", 1)[-1]}
        out.append((float(m.group(1)), ports, frozenset(m.group(4))))
    return out
CAPS = {c: pkts(c) for c in ("client", "fw-out", "fw-in", "server-eth0", "server")}

def label_flags(lbl):
    tok = re.sub(r"^[←→\s]+", "", lbl).split(" ")[0]
    return frozenset(FL[x] for x in tok.split(",") if x in FL)

def holds(cap, port, flags, t):
    return any(abs(pt - t) <= 0.05 and port in ports and fl == flags
               for pt, ports, fl in CAPS[cap])

def first_time(cap, port):
    return min(pt for pt, ports, _ in CAPS[cap] if port in ports)

# --- Markdown: the fenced text ladders ----------------------------------
def md_ladders(path):
    """[(port, caps, rows)] rows: (ms, [cell per column])"""
    text = open(path).read()
    sec = text.split("## 4. Failed handshakes", 1)[1].split("\n## ", 1)[0]
    out = []
    for m in re.finditer(r"\*\*\d+\.\*\* \S+?:(\d+) .*?\n\n```text\n(.*?)```", sec, re.S):
        lines = m.group(2).rstrip("\n").split("\n")
        caps = [c.strip().removesuffix(".pcap") for c in lines[0].split("│")[1:]]
        rows = []
        for ln in lines[3:]:
            cells = [c.strip() for c in ln.split("│")]
            ms = re.match(r"\+([\d.]+) (ms|s)", cells[0])
            t = float(ms.group(1)) / (1000 if ms.group(2) == "ms" else 1)
            rows.append((t, cells[1:]))
        out.append((m.group(1), caps, rows))
    return out

# --- HTML: the SVG ladders (a row: a tick, then its cells 8 px above) ---
COLX = lambda k: 96 + 250 * k + 125
def html_ladders(path):
    text = open(path).read()
    sec = text.split('<section id="ladders">', 1)[1].split("</section>", 1)[0]
    out = []
    for fig in sec.split("<figure>")[1:]:
        port = re.search(r":(\d+) \S+ ", html.unescape(re.sub(r"<[^>]+>", "", fig.split("</figcaption>")[0]))).group(1)
        texts = [(float(x), float(y), cls, html.unescape(s)) for x, y, cls, s in
                 re.findall(r'<text x="([\d.]+)" y="([\d.]+)" class="([^"]+)"[^>]*>([^<]*)</text>', fig)]
        caps = [s.removesuffix(".pcap") for x, y, cls, s in texts if y == 14.0 and cls == "lbl" and s != "time"]
        rows = []
        for x, y, cls, s in texts:
            if cls != "tick" or not s.startswith(("+", "-")):
                continue
            v, unit = s.split(" ")
            cells = [""] * len(caps)
            for x2, y2, cls2, s2 in texts:
                if y2 == y - 8:
                    for k in range(len(caps)):
                        if abs(x2 - COLX(k)) < 1:
                            cells[k] = s2
            rows.append((float(v) / (1000 if unit == "ms" else 1), cells))
        out.append((port, caps, rows))
    return out

def check_not_seen(name, ladders):
    n = 0
    for port, caps, rows in ladders:
        t0 = first_time("client", port)
        for t, cells in rows:
            for k, cell in enumerate(cells):
                if "not seen" not in cell:
                    continue
                other = [c for c in cells if c and "not seen" not in c]
                if not other:
                    fail(f"{name} :{port}: a 'not seen' row without a packet")
                    continue
                flags = label_flags(other[0])
                n += 1
                if holds(caps[k], port, flags, t0 + t):
                    fail(f"{name} :{port} +{t:.6f} s: '{other[0]}' said not seen at {caps[k]}, "
                         f"which holds it")
    return n

def check_41001(name, ladders):
    lad = [l for l in ladders if l[0] == "41001"]
    if not lad:
        fail(f"{name}: no ladder for port 41001")
        return
    port, caps, rows = lad[0]
    syn_both = sum(1 for _, c in rows if all(re.search(r"\bSYN seq=0\b", x) for x in c))
    sa_one_row = sum(1 for _, c in rows
                     if "SYN,ACK" in c[0] and re.search(r"from 192\.168\.0\.250:80", c[0], re.I)
                     and "SYN,ACK" in c[1])
    sa_alone = sum(1 for _, c in rows if ("SYN,ACK" in c[0]) != ("SYN,ACK" in c[1]))
    if syn_both != 4:
        fail(f"{name}: {syn_both} of 4 SYN retries of 41001 paired with the server's copies")
    if sa_one_row != 4 or sa_alone:
        fail(f"{name}: the SYN-ACKs from 192.168.0.250 share a row with the server's in "
             f"{sa_one_row} of 4 rows ({sa_alone} drawn alone)")

two_md, two_html = md_ladders(f"{T}/two.md"), html_ladders(f"{T}/two.html")
four_md = md_ladders(f"{T}/four.md")
for name, lads in (("two.md", two_md), ("two.html", two_html), ("four.md", four_md)):
    if len(lads) < 2:
        fail(f"{name}: {len(lads)} ladders, expected the two failed handshakes")
for name, lads in (("two.md", two_md), ("two.html", two_html)):
    check_41001(name, lads)
counts = [check_not_seen(n, l) for n, l in (("two.md", two_md), ("two.html", two_html),
                                             ("four.md", four_md))]
# the claims that remain are true ones: the server never got the client's
# first RST (its capture dropped it), 41002's SYN-ACKs never reached the
# client (gateway 2 dropped them), the RSTs to 192.168.0.250 bypassed the
# firewall
if min(counts) == 0:
    fail(f"a report without any 'not seen here' ({counts}): the true absences above must "
         "still be said (and the oracle would have checked nothing)")
print(f"checked {counts} 'not seen here' cells against the captures")
sys.exit(1 if bad else 0)
EOF
[ $fail -eq 0 ] && echo "ok: asym-return ladders pair pieces and parts, every 'not seen' is true"
exit $fail
