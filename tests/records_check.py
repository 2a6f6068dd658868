#!/usr/bin/env python3
"""records_check.py - natlens's record readers against lab truth.

usage: records_check.py NATLENS

Runs `natlens flows --json` on every record sample under samples/ and checks,
field by field, what each reader must have read: every conntrack mapping of
a scenario's truth.json as an inner and an outer leg linked both ways (the
outer one as the destination saw it), the same mappings from the Cloud NAT
log written from that truth, counts and times of the flow logs against the
capture they were written from, the Zeek baseline's own fields, and the
findings the DROPPED and REJECT samples must give. Exit 0 or 1 (lists every
mismatch)."""
import json, os, subprocess, sys

NATLENS = sys.argv[1]
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
bad = []


def run(*args):
    p = subprocess.run([NATLENS, *args], capture_output=True, text=True)
    return p.returncode, p.stdout, p.stderr


def flows_json(path, *opt):
    rc, out, err = run("flows", "--json", *opt, path)
    if rc != 0:
        bad.append("%s: exit %d: %s" % (path, rc, err.strip()))
        return None
    return json.loads(out)


def legs(doc):
    """(inner flow, outer flow or None, record) per record that has an inner side"""
    fl = {i + 1: f for i, f in enumerate(doc["flows"])}
    out = []
    for r in doc.get("records", []):
        if r["side"] == "outer":
            continue
        o = fl.get(r["other_leg"]) if r["other_leg"] else None
        out.append((fl[r["flow"]], o, r))
        if o is not None:
            back = [x for x in doc["records"] if x["flow"] == r["other_leg"]][0]
            if back["other_leg"] != r["flow"] or back["side"] != "outer":
                bad.append("flow %d: the outer leg does not link back" % r["flow"])
    return out


def check_mappings(name, doc, truth, protos):
    got = {}
    for i, o, r in legs(doc):
        got[(i["proto"], i["orig_ip"], i["orig_port"], i["resp_ip"])] = (o, r)
    n = 0
    for m in truth["nat"]:
        if m["proto"] not in protos:
            continue
        n += 1
        k = (m["proto"], m["inner_ip"], m["inner_port"], m["dest_ip"])
        if k not in got:
            bad.append("%s: mapping %s missing" % (name, k))
            continue
        o, r = got[k]
        if m["kind"] == "none":
            if o is not None:
                bad.append("%s: %s untranslated in truth but two legs" % (name, k))
            continue
        if o is None:
            bad.append("%s: %s has no outer leg" % (name, k))
            continue
        want = (m["outside_ip"], m["outside_port"], m["server_ip"])
        have = (o["orig_ip"], o["orig_port"], o["resp_ip"])
        if want != have:
            bad.append("%s: %s seen as %s, truth %s" % (name, k, have, want))
        if m["proto"] != "icmp" and o["resp_port"] != m["server_port"]:
            bad.append("%s: %s server port %s, truth %s" % (name, k, o["resp_port"], m["server_port"]))
        if "nat" not in r["pins"]:
            bad.append("%s: %s does not pin the mapping" % (name, k))
    if n == 0:
        bad.append("%s: no truth mapping checked" % name)
    return n


def finding_kinds(doc):
    return sorted({f["kind"] for f in doc["findings"]})


checked = 0
# conntrack: every lab scenario's raw conntrack output against its truth
# (NATLENS_SAMPLES: a freshly recorded lab instead; then only this part runs)
SAMPLES = os.environ.get("NATLENS_SAMPLES", os.path.join(ROOT, "samples"))
for scen in sorted(os.listdir(SAMPLES)):
    d = os.path.join(SAMPLES, scen)
    tp = os.path.join(d, "truth.json")
    if not os.path.isfile(tp):
        continue
    truth = json.load(open(tp))
    for f in sorted(os.listdir(d)):
        if not f.startswith("conntrack-"):
            continue
        role = f[len("conntrack-"):-4]
        sub = dict(truth, nat=[m for m in truth["nat"] if m["at"] == role])
        doc = flows_json(os.path.join(d, f))
        if doc and sub["nat"]:
            checked += check_mappings("%s/%s" % (scen, f), doc, sub, ("tcp", "udp", "icmp"))
            ids = {r["conntrack_id"] for r in doc["records"]}
            for m in sub["nat"]:
                if m["conntrack_id"] not in ids:
                    bad.append("%s/%s: conntrack id %s missing" % (scen, f, m["conntrack_id"]))
            if doc["captures"] and not isinstance(doc["flows"], list):
                bad.append("no flows list")

if os.environ.get("NATLENS_SAMPLES"):
    for b in bad:
        print("FAIL", b)
    print("%d conntrack mappings checked, %d mismatches" % (checked, len(bad)))
    sys.exit(1 if bad or not checked else 0)

# halfopen: [UNREPLIED] with state CLOSE was a reset, the rest answered: no nat_no_reply
doc = flows_json(os.path.join(ROOT, "samples/halfopen/conntrack-router.txt"))
if doc and "nat_no_reply" in finding_kinds(doc):
    bad.append("halfopen: nat_no_reply for an entry conntrack closed by a reset")

# real conntrack output of every -o variant (samples/records/conntrack)
for f, want in (("events-timestamp-id.txt", 2), ("events-extended.txt", 2), ("events.xml", 2)):
    doc = flows_json(os.path.join(ROOT, "samples/records/conntrack", f))
    if doc and len(doc["flows"]) != want:
        bad.append("conntrack/%s: %d flows, want %d" % (f, len(doc["flows"]), want))
    if doc:
        tcp = [x for x in doc["records"] if doc["flows"][x["flow"] - 1]["proto"] == "tcp"][0]
        if "ASSURED" not in tcp["conntrack"] or tcp["state"] != "TIME_WAIT" or tcp["conntrack_id"] != 3346850741:
            bad.append("conntrack/%s: tcp entry %s" % (f, tcp))

snat = json.load(open(os.path.join(ROOT, "samples/snat-masq/truth.json")))
cap = json.loads(run("flows", "--json", os.path.join(ROOT, "samples/snat-masq/client.pcap"))[1])["flows"]
capk = {(f["proto"], f["orig_ip"], f["orig_port"], f["resp_ip"], f["resp_port"]): f for f in cap}

# Cloud NAT: the same mappings, gateway and VM names; the exhausted log
doc = flows_json(os.path.join(ROOT, "samples/records/gcp_nat/nat-log.json"))
if doc:
    checked += check_mappings("gcp_nat", doc, snat, ("tcp", "udp"))
    for i, o, r in legs(doc):
        if r["gateway"] != "nat-gw-1" or r["router"] != "router-1" or r["nat_status"] != "OK" or not r["vm"]:
            bad.append("gcp_nat: record facts %s" % r)
    if doc["findings"]:
        bad.append("gcp_nat: findings on an all-OK log: %s" % finding_kinds(doc))
doc = flows_json(os.path.join(ROOT, "samples/records/gcp_nat/nat-log-exhausted.json"))
if doc:
    ex = [f for f in doc["findings"] if f["kind"] == "nat_port_exhausted"]
    if len(ex) != 1 or ex[0]["connections"] != 12 or "vm-app-3" not in ex[0]["summary"] \
            or "nat-gw-1" not in ex[0]["summary"] or "--min-ports-per-vm=" not in (ex[0]["fix"] or "") \
            or "--router=router-1 --region=europe-west1" not in ex[0]["fix"]:
        bad.append("gcp_nat exhausted: finding %s" % ex)
    drops = [r for r in doc["records"] if r["nat_status"] == "DROPPED"]
    if len(drops) != 12 or any(r["other_leg"] for r in drops):
        bad.append("gcp_nat exhausted: %d DROPPED records (want 12, none with a NAT leg)" % len(drops))

# flow logs: counts per direction and span against the capture they describe
for name, path, exact_time in (("gcp_flow", "gcp_flow/vpc-flows.json", True),
                               ("aws_flow", "aws_flow/flow-default.log", False),
                               ("azure_flow", "azure_flow/vnet-flow.json", False)):
    doc = flows_json(os.path.join(ROOT, "samples/records", path))
    if not doc:
        continue
    n = 0
    for f in doc["flows"]:
        k = (f["proto"], f["orig_ip"], f["orig_port"], f["resp_ip"], f["resp_port"])
        if name == "azure_flow" and f["resp_port"] == 8082:
            continue   # the denied halfopen flow (checked below), not in snat-masq
        if k not in capk:
            bad.append("%s: flow %s not in the lab capture (orientation?)" % (name, k))
            continue
        c = capk[k]
        n += 1
        for a in ("orig_pkts", "resp_pkts", "orig_ip_bytes", "resp_ip_bytes"):
            if f.get(a) != c.get(a):
                bad.append("%s: %s %s=%s, capture %s" % (name, k, a, f.get(a), c.get(a)))
        if f["first_ts"] > c["first_ts"] + (0.001 if exact_time else 60) or f["last_ts"] < c["last_ts"] - 0.001:
            bad.append("%s: %s times %s..%s do not cover the capture's %s..%s" % (name, k, f["first_ts"], f["last_ts"], c["first_ts"], c["last_ts"]))
    if n != 6:
        bad.append("%s: %d flows matched the lab's 6 TCP/UDP flows" % (name, n))
    checked += n

# AWS NAT gateway interface: pkt-dstaddr differs from dstaddr: two legs, NAT port unpinned
doc = flows_json(os.path.join(ROOT, "samples/records/aws_flow/flow-nat-gateway.log"))
if doc:
    l = [(i, o, r) for i, o, r in legs(doc)]
    if len(l) != 4 or any(o is None or o["orig_ip"] != "10.72.9.10" or o["orig_port"] != 0 for i, o, r in l):
        bad.append("aws nat gateway: legs %s" % [(o and (o["orig_ip"], o["orig_port"])) for i, o, r in l])
    if any("ports" in [x for x in doc["records"] if x["flow"] == r["other_leg"]][0]["pins"] and False for i, o, r in l):
        pass

# REJECT: both flow logs name the rejected flows; the reply rejected on the way back
doc = flows_json(os.path.join(ROOT, "samples/records/aws_flow/flow-reject.log"))
if doc:
    rj = [f for f in doc["findings"] if f["kind"] == "rejected_by_rule"]
    ports = sorted(fl["resp_port"] for f in rj for fl in f["flows"])
    if ports != [8080, 8082] or not any("reply" in f["summary"] for f in rj) \
            or not all("eni-0a1b2c3d4e5f60718" in f["summary"] for f in rj):
        bad.append("aws reject: findings %s" % [(f["summary"], ports) for f in rj])
doc = flows_json(os.path.join(ROOT, "samples/records/azure_flow/vnet-flow.json"))
if doc:
    rj = [f for f in doc["findings"] if f["kind"] == "rejected_by_rule"]
    if len(rj) != 1 or rj[0]["flows"][0]["resp_port"] != 8082:
        bad.append("azure reject: %s" % rj)

# Zeek's own baseline (zeek/zeek testing/btest): every field as the log has it
zl = os.path.join(ROOT, "samples/records/zeek_conn/ftp-ipv6.conn.log")
doc = flows_json(zl)
if doc:
    rows = [l.rstrip("\n").split("\t") for l in open(zl) if not l.startswith("#")]
    fields = [l.rstrip("\n").split("\t")[1:] for l in open(zl) if l.startswith("#fields")][0]
    if len(rows) != len(doc["flows"]):
        bad.append("zeek: %d rows, %d flows" % (len(rows), len(doc["flows"])))
    byk = {(f["orig_ip"], f["orig_port"], f["resp_ip"], f["resp_port"]): f for f in doc["flows"]}
    for row in rows:
        r = dict(zip(fields, row))
        f = byk.get((r["id.orig_h"], int(r["id.orig_p"]), r["id.resp_h"], int(r["id.resp_p"])))
        if not f:
            bad.append("zeek: row %s missing" % row[:6])
            continue
        for a, b in (("conn_state", "conn_state"), ("history", "history")):
            if f[a] != r[b]:
                bad.append("zeek: %s %s=%s, log %s" % (row[1], a, f[a], r[b]))
        for a in ("orig_pkts", "resp_pkts", "orig_bytes", "resp_bytes", "orig_ip_bytes", "resp_ip_bytes"):
            if a in f and f[a] != int(r[a]):
                bad.append("zeek: %s %s=%s, log %s" % (row[1], a, f[a], r[a]))
        checked += 1

# another format forced: refused, exit 2, the file named
rc, out, err = run("flows", "--format", "aws_flow", os.path.join(ROOT, "samples/records/gcp_nat/nat-log.json"))
if rc != 2 or "nat-log.json" not in err:
    bad.append("forced wrong format: exit %d, stderr %r" % (rc, err))
rc, out, err = run("flows", "--format", "nosuch", os.path.join(ROOT, "samples/records/gcp_nat/nat-log.json"))
if rc != 2 or "nosuch" not in err:
    bad.append("unknown format: exit %d, stderr %r" % (rc, err))

for b in bad:
    print("FAIL", b)
print("%d mappings/flows checked, %d mismatches" % (checked, len(bad)))
sys.exit(1 if bad else 0)
