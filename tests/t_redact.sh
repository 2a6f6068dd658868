#!/bin/sh
# t_redact.sh - --redact leaves nothing that names the user's side.
#
# Inputs: every lab sample (samples/*/ with truth.json) as the tests use
# them: all its captures in path order, first + last, each alone, the
# sample's conntrack file beside its client capture, the asym-return chains
# of t_report and t_correlate_samples, every record sample (samples/records)
# alone and the record pairings of t_records_correlate. Each capture also
# gets a pcapng twin carrying natlens-capture host context (written with
# editcap: hostname, kernel, session, interfaces with MACs and addresses,
# a route), and every case runs again with the twins; two client sides go
# through `flows --ndjson` and are read back beside their server.
#
# Originals are collected from the unredacted output and the files
# themselves, not written down here: every inner (private-range) address
# and unicast MAC anywhere in `flows --json`, `correlate --json` and
# `correlate` text, the client side's own addresses, every community_id,
# host context strings (read back with `natlens-capture meta`), record
# names (VM, gateway, router, interface), each input's path, directory and
# base name. Then every redacted output - correlate text and JSON, flows
# text, JSON and CSV (and streamed with --max-flows), report HTML, Markdown
# and JSON - must hold none of them; the translated egress addresses (the
# answer) must still be there; in the JSON documents every original maps to
# one placeholder and back (walked side by side with the unredacted ones);
# the asym-return fix names the server by the placeholder its flows have;
# flows --zeek, --zeek-json and --ndjson refuse --redact.
cd "$(dirname "$0")/.." || exit 2
NATLENS=${NATLENS:-$PWD/${BUILD:-build}/natlens}
CAPTURE=${CAPTURE:-$(dirname "$NATLENS")/natlens-capture}
[ -x "$NATLENS" ] || { echo "natlens binary not built ($NATLENS)"; exit 2; }
command -v python3 >/dev/null 2>&1 || { echo "skip: python3 is needed"; exit 77; }
command -v editcap >/dev/null 2>&1 || { echo "skip: editcap (wireshark-common) writes the host context twins"; exit 77; }
[ -x "$CAPTURE" ] || { echo "skip: natlens-capture not built ($CAPTURE)"; exit 77; }
ls samples/*/truth.json >/dev/null 2>&1 || { echo "skip: no samples/*/truth.json"; exit 77; }
T=$(mktemp -d /tmp/natlens-t_redact.XXXXXX)
trap 'rm -rf "$T"' EXIT
python3 - "$NATLENS" "$CAPTURE" "$T" <<'PYEOF'
import concurrent.futures, glob, ipaddress, json, os, re, subprocess, sys, threading

NAT, CAP, T = sys.argv[1:4]
bad = []
lock = threading.Lock()
stats = {"addrs": set(), "macs": set(), "cids": set(), "strings": set(), "runs": 0}

def run(*args, ok=(0, 1)):
    p = subprocess.run([NAT, *args], capture_output=True, text=True, errors="replace", timeout=120)
    stats["runs"] += 1
    if p.returncode not in ok:
        bad.append("%s: exit %d: %s" % (" ".join(args), p.returncode, p.stderr.strip()[:300]))
        return None
    return p.stdout

INNER = [ipaddress.ip_network(n) for n in ("10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16",
         "100.64.0.0/10", "169.254.0.0/16", "127.0.0.0/8", "fc00::/7", "fe80::/10", "::1/128")]
def inner(a):
    try:
        ip = ipaddress.ip_address(a)
    except ValueError:
        return False
    return any(ip.version == n.version and ip in n for n in INNER)

V4 = re.compile(r"(?<![0-9A-Za-z.:])(\d{1,3}(?:\.\d{1,3}){3})(?![0-9A-Za-z]|\.\d)")
V6 = re.compile(r"(?<![0-9A-Za-z.:])([0-9A-Fa-f]{0,4}(?::[0-9A-Fa-f]{0,4}){2,7})(?![0-9A-Za-z:])")
MAC = re.compile(r"(?<![0-9A-Fa-f:])([0-9A-Fa-f]{2}(?::[0-9A-Fa-f]{2}){5})(?![0-9A-Fa-f:])")
CID = re.compile(r"1:[A-Za-z0-9+/]{27}=")

def addrs_in(text):
    out = set()
    for m in V4.finditer(text):
        out.add(m.group(1))
    for m in V6.finditer(text):
        try:
            out.add(str(ipaddress.ip_address(m.group(1))))
        except ValueError:
            pass
    return {a for a in out if inner(a)}

def macs_in(text):
    return {m.lower() for m in MAC.findall(text)
            if int(m[:2], 16) & 1 == 0 and m != "00:00:00:00:00:00"}

# ---- host context twins ------------------------------------------------------
GENERIC_IF = re.compile(r"^(lo|any|(eth|ens|enp|eno|wlan|wlp|veth|docker|br|bond)[0-9a-fsponu._@-]*)$")
twins = {}
def make_twin(path, idx):
    scen = os.path.basename(os.path.dirname(path))
    stem = os.path.splitext(os.path.basename(path))[0]
    flows = json.loads(run("flows", "--json", path) or '{"flows":[]}')["flows"]
    macs = sorted({f[k] for f in flows for k in ("orig_mac", "resp_mac") if f.get(k)})
    addrs = sorted({f[k] for f in flows for k in ("orig_ip", "resp_ip") if inner(f[k])})
    site_if = "%s-up%d" % (scen[:6], idx)
    meta = {"natlens_hostmeta": 1, "tool": "natlens-capture test",
            "hostname": "%s-%s-%d.corp.example" % (scen, stem, idx), "role": stem,
            "session": "case-%s-%d" % (scen, idx),
            "kernel": "Linux 6.1.0-%d-amd64 #1 SMP PREEMPT_DYNAMIC Debian 6.1.%d-1 (2024-02-01) x86_64" % (idx, idx),
            "capture_iface": "eth0",
            "ifaces": [{"index": 1, "name": "lo", "mac": None, "addrs": ["127.0.0.1", "::1"]},
                       {"index": 2, "name": "eth0", "mac": macs[0] if macs else "02:00:5e:10:00:%02x" % idx,
                        "addrs": addrs[:1]},
                       {"index": 3, "name": site_if, "mac": "02:aa:bb:00:%02x:01" % idx,
                        "addrs": ["10.250.%d.1" % idx, "fd00:250::%x" % idx]}],
            "route": [{"dst": "default", "gateway": "192.168.250.1", "dev": "eth0"},
                      {"dst": "10.250.0.0/16", "dev": site_if}]}
    os.makedirs(os.path.join(T, "twin", scen), exist_ok=True)
    out = os.path.join(T, "twin", scen, stem + ".pcapng")
    p = subprocess.run(["editcap", "-F", "pcapng", "--capture-comment", json.dumps(meta), path, out],
                       capture_output=True, text=True)
    if p.returncode != 0:
        bad.append("editcap %s: %s" % (path, p.stderr.strip()))
        return path
    return out

# ---- the cases -------------------------------------------------------------------
multi, single = [], []
for truth in sorted(glob.glob("samples/*/truth.json")):
    d = os.path.dirname(truth)
    caps = [os.path.join(d, c["file"]) for c in json.load(open(truth))["captures"]]
    caps = [c for c in caps if os.path.exists(c)]
    multi.append(caps)
    if len(caps) > 2:
        multi.append([caps[0], caps[-1]])
    single.extend(caps)
    for ct in sorted(glob.glob(os.path.join(d, "conntrack-*.txt"))):
        multi.append([caps[0], ct])
A = "samples/asym-return/"
multi.append([A + "client.pcap", A + "fw-out.pcap", A + "fw-in.pcap", A + "server-eth0.pcap"])
multi.append([A + "client.pcap", A + "fw-out.pcap", A + "fw-in.pcap", A + "server.pcap"])
records = sorted(f for f in glob.glob("samples/records/*/*") if not f.endswith((".py", ".md")))
single.extend(records)
R, VM = "samples/records/", "samples/snat-masq/client.pcap"
for rec in ("gcp_nat/nat-log.json", "gcp_nat/nat-log-exhausted.json", "gcp_flow/vpc-flows.json",
            "aws_flow/flow-default.log", "azure_flow/vnet-flow.json"):
    multi.append([VM, R + rec])
multi.append(["samples/halfopen/client.pcap", R + "aws_flow/flow-reject.log"])

pcaps = sorted({f for c in multi + [[s] for s in single] for f in c if f.endswith(".pcap")})
for i, p in enumerate(pcaps):
    twins[p] = make_twin(p, i + 1)
tw = lambda files: [twins.get(f, f) for f in files]
multi += [tw(c) for c in multi if any(f in twins for f in c)]
single += [twins[f] for f in single if f in twins]
# a client side reduced to NDJSON flow records (flows --ndjson), read back
for d in ("snat-masq", "asym-return"):
    for src in ("samples/%s/client.pcap" % d, twins["samples/%s/client.pcap" % d]):
        nd = os.path.join(T, "%s-%s.ndjson" % (d, os.path.basename(src).replace(".", "-")))
        if run("flows", "--ndjson", nd, src) is not None:
            multi.append([nd, "samples/%s/server.pcap" % d])
            single.append(nd)

# ---- what must not appear ------------------------------------------------------
file_json = {}
def flows_doc(f):
    if f not in file_json:
        file_json[f] = json.loads(run("flows", "--json", f) or '{"flows":[]}')
    return file_json[f]

def host_context(f):
    """Names, inner addresses and MACs of the file's host context."""
    if not f.endswith(".pcapng"):
        return set(), set(), set()
    p = subprocess.run([CAP, "meta", f], capture_output=True, text=True)
    if p.returncode != 0:
        bad.append("natlens-capture meta %s: exit %d" % (f, p.returncode))
        return set(), set(), set()
    m = json.loads(p.stdout)
    out = {m[k] for k in ("hostname", "kernel", "session") if m.get(k)}
    names = {i.get("name") for i in m.get("ifaces", [])} | {r.get("dev") for r in m.get("route", [])}
    out |= {n for n in names if n and not GENERIC_IF.match(n)}
    return out, addrs_in(p.stdout), macs_in(p.stdout)

def forbidden(files, unred_texts):
    addrs, macs, cids, strings = set(), set(), set(), set()
    keep = set()
    for text in unred_texts:
        addrs |= addrs_in(text)
        macs |= macs_in(text)
        cids |= set(CID.findall(text))
    for f in files:
        doc = flows_doc(f)
        text = json.dumps(doc)
        addrs |= addrs_in(text)
        macs |= macs_in(text)
        cids |= set(CID.findall(text))
        for r in doc.get("records", []):
            strings |= {r[k] for k in ("vm", "gateway", "router", "interface") if r.get(k)}
        hs, ha, hm = host_context(f)
        strings |= hs
        addrs |= ha
        macs |= hm
        strings |= {f, os.path.abspath(f), os.path.basename(f)}
        if f.endswith(".ndjson"):   # the capture it was made from
            for line in open(f, encoding="utf-8"):
                rec = json.loads(line)
                if rec.get("type") == "capture" and rec.get("file"):
                    strings |= {rec["file"], os.path.basename(rec["file"])}
        if os.path.dirname(f):
            strings.add(os.path.dirname(f))
    if len(files) > 1:
        corr = json.loads(unred_texts[0])
        client = {fl["orig_ip"] for fl in flows_doc(files[0])["flows"]}
        client |= {e["inner_ip"] for e in corr["egress"]}
        keep = {e["egress_ip"] for e in corr["egress"] if e["egress_ip"] != e["inner_ip"]} - client
        addrs = (addrs - keep) | client
    return addrs, macs, cids, strings, keep

def leaks(text, addrs, macs, cids, strings):
    found = []
    for a in addrs:
        pat = (r"(?<![0-9A-Za-z.:])" + re.escape(a) + r"(?![0-9A-Za-z]|\.\d)") if ":" not in a else \
              (r"(?<![0-9A-Fa-f:])" + re.escape(a) + r"(?![0-9A-Fa-f:])")
        if re.search(pat, text):
            found.append(a)
    low = text.lower()
    found += [m for m in macs if m in low]
    found += [c for c in cids if c in text]
    # a name inside a longer name is another name ("router-1" in "cloud-router-1");
    # natlens's own words and two-letter names are left in free text
    # (natlens(1)): the host fields that print them are checked below
    found += [s for s in strings if len(s) >= 3 and s not in OWN_WORDS and
              re.search(r"(?<![A-Za-z0-9_-])" + re.escape(s) + r"(?![A-Za-z0-9_-])", text)]
    return found

OWN_WORDS = {"client", "server", "router", "nat", "fw", "firewall", "gateway", "host", "localhost",
             "lb", "backend", "proxy", "vm", "inner", "outer", "none", "unknown", "default"}

def host_fields(name, files, text):
    """The JSON report's host context: names replaced whatever their length."""
    try:
        doc = json.loads(text)
    except ValueError:
        return
    for f, entry in zip(files, doc["summary"]["files"]):
        p = subprocess.run([CAP, "meta", f], capture_output=True, text=True) if f.endswith(".pcapng") else None
        if not p or p.returncode != 0 or not entry.get("host"):
            continue
        m = json.loads(p.stdout)
        for k in ("hostname", "session", "kernel"):
            if m.get(k) and entry["host"].get(k) == m[k]:
                bad.append("%s report.json: host %s %r kept" % (name, k, m[k]))

def pair_walk(a, b, amap, bmap, where):
    """Same-shape JSON: each original address string maps to one placeholder."""
    if isinstance(a, dict) and isinstance(b, dict):
        for k in a:
            if k in b:
                pair_walk(a[k], b[k], amap, bmap, where)
    elif isinstance(a, list) and isinstance(b, list) and len(a) == len(b):
        for x, y in zip(a, b):
            pair_walk(x, y, amap, bmap, where)
    elif isinstance(a, str) and isinstance(b, str) and a != b and addrs_in(a) == {a}:
        if amap.setdefault(a, b) != b:
            bad.append("%s: %s redacted as both %s and %s" % (where, a, amap[a], b))
        if bmap.setdefault(b, a) != a:
            bad.append("%s: %s stands for both %s and %s" % (where, b, bmap[b], a))

def check(name, files, outs, forb, unred_json=None):
    addrs, macs, cids, strings, keep = forb
    for fmt, text in outs.items():
        if text is None:
            continue
        hit = leaks(text, addrs, macs, cids, strings)
        if hit:
            bad.append("%s %s: left %s" % (name, fmt, sorted(hit)[:6]))
        if fmt.endswith("json"):
            try:
                doc = json.loads(text)
            except ValueError as e:
                bad.append("%s %s: not JSON: %s" % (name, fmt, e))
                continue
            if unred_json and fmt in unred_json:
                pair_walk(unred_json[fmt], doc, {}, {}, name + " " + fmt)
    if outs.get("report.json"):
        host_fields(name, files, outs["report.json"])
    for k in keep:
        for fmt in ("correlate", "report.md"):
            if outs.get(fmt) is not None and k not in outs[fmt]:
                bad.append("%s %s: the egress address %s is gone" % (name, fmt, k))
    with lock:
        stats["addrs"] |= addrs; stats["macs"] |= macs; stats["cids"] |= cids; stats["strings"] |= strings

def report(files, fmt):
    p = os.path.join(T, "rep-%d.%s" % (abs(hash((tuple(files), fmt))), fmt))
    if run("report", "--redact", "-o", p, *files) is None:
        return None
    with open(p, encoding="utf-8") as fh:
        return fh.read()

def case_multi(files):
    name = "correlate " + " ".join(files)
    cj, ct = run("correlate", "--json", *files), run("correlate", *files)
    if cj is None or ct is None:
        return
    forb = forbidden(files, [cj, ct])
    outs = {"correlate.json": run("correlate", "--json", "--redact", *files),
            "correlate": run("correlate", "--redact", *files)}
    for fmt in ("html", "md", "json"):
        outs["report." + fmt] = report(files, fmt)
    unred = {"correlate.json": json.loads(cj)}
    check(name, files, outs, forb, unred)
    if files[-1].endswith("asym-return/server.pcapng") and outs["correlate.json"]:
        d = json.loads(outs["correlate.json"])
        srv = {c["flows"][-1]["orig_ip"] for c in d["chains"] if c["flows"][-1]}
        srv |= {c["flows"][-1]["resp_ip"] for c in d["chains"] if c["flows"][-1]}
        fixes = [f["fix"] for f in d["findings"] if f["kind"] == "asymmetric_return"]
        named = {m for fx in fixes for m in re.findall(r"ip rule add from (\S+) table", fx)}
        if not fixes or not named or not named <= srv:
            bad.append("%s: fix names %s, the server's flows say %s" % (name, sorted(named), sorted(srv)))

def case_single(f):
    name = "flows " + f
    fj, ft = run("flows", "--json", f), run("flows", f)
    if fj is None or ft is None:
        return
    forb = forbidden([f], [fj, ft])
    outs = {"flows.json": run("flows", "--json", "--redact", f),
            "flows": run("flows", "--redact", f),
            "flows.csv": run("flows", "--csv", "--redact", f)}
    if f.endswith((".pcap", ".pcapng")):
        # streamed: flows are written before the capture is read to its end
        outs["flows.stream.json"] = run("flows", "--json", "--max-flows", "2", "--redact", f)
    for fmt in ("html", "md", "json"):
        outs["report." + fmt] = report([f], fmt)
    check(name, [f], outs, forb, {"flows.json": json.loads(fj)})

with concurrent.futures.ThreadPoolExecutor(max_workers=2) as ex:
    list(ex.map(case_multi, multi))
    list(ex.map(case_single, single))

# a Zeek log and NDJSON records need real addresses: refused, nothing written
for opt in (["--zeek"], ["--zeek-json"], ["--ndjson", "-"]):
    p = subprocess.run([NAT, "flows", *opt, "--redact", VM], capture_output=True, text=True)
    if p.returncode != 2 or p.stdout:
        bad.append("flows %s --redact: exit %d, %d bytes out (want 2, nothing)" %
                   (opt[0], p.returncode, len(p.stdout)))

# the test must have had something to find
for k, least in (("addrs", 30), ("macs", 20), ("cids", 100), ("strings", 50)):
    if len(stats[k]) < least:
        bad.append("only %d distinct %s collected: the test cannot fail" % (len(stats[k]), k))
print("%d cases (%d multi-capture), %d runs: %d inner addresses, %d MACs, %d community ids, "
      "%d names and paths checked" % (len(multi) + len(single), len(multi), stats["runs"],
      len(stats["addrs"]), len(stats["macs"]), len(stats["cids"]), len(stats["strings"])))
if bad:
    for b in bad[:40]:
        print("FAIL:", b)
    if len(bad) > 40:
        print("... %d more" % (len(bad) - 40))
    sys.exit(1)
PYEOF
