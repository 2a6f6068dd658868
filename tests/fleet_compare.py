#!/usr/bin/env python3
"""fleet_compare.py - `natlens fleet --json` (ClickHouse) against
`natlens correlate --json` (the reference) and conntrack's truth.json.

usage: fleet_compare.py FLEET.json TREE [--self-check]

TREE holds one folder per path, each with that path's records (*.ndjson)
and optionally truth.json. For every path: correlate runs on its files in
hop order (the same rule natlens fleet uses: point client*, fw*, others,
server*, then file name); the pairs (near capture, near flow id, far
capture, far flow id), the egress rows and the source changes must be the
same sets; every TCP/UDP conntrack entry of truth.json must be a pair
whose far flow carries the translated source. --self-check: also swap two
pairs of one path in the fleet document and require that to fail.
Exit 0 when everything agrees.
"""
import copy
import json
import os
import subprocess
import sys

NATLENS = os.environ.get("NATLENS", "build/natlens")


def rank(point):
    p = point.lower()
    if p.startswith("client"):
        return 0
    if p.startswith("fw") or p.startswith("firewall"):
        return 1
    if p.startswith("server"):
        return 3
    return 2


def read_path(folder):
    caps = []
    for name in sorted(os.listdir(folder)):
        if not name.endswith(".ndjson"):
            continue
        f = os.path.join(folder, name)
        flows = {}
        with open(f) as fh:
            head = json.loads(fh.readline())
            for line in fh:
                o = json.loads(line)
                if o.get("type") == "flow":
                    flows[o["id"]] = o
        caps.append({"file": f, "id": head["capture_id"], "point": head["point"],
                     "flows": flows, "name": name})
    caps.sort(key=lambda c: (rank(c["point"]), c["name"]))
    return caps


def ts(v):
    return None if v is None else round(float(v), 6)


def port_of(proto, port):
    return None if proto in ("icmp", "ipv6-icmp", "58") else port


def corr_sets(d):
    m = {(x["near_capture"], x["near"]["id"], x["far_capture"], x["far"]["id"]) for x in d["matches"]}
    e = {(x["inner_ip"], x["dest_ip"], x["dest_port"], x["proto"], x["egress_ip"], x["flows"],
          ts(x["first_ts"]), ts(x["last_ts"])) for x in d["egress"]}
    c = {(x["inner_ip"], x["dest_ip"], x["dest_port"], x["proto"], x["from_ip"], x["to_ip"],
          ts(x["at_ts"])) for x in d["ip_changes"]}
    return m, e, c


def fleet_sets(doc, path, caps):
    idx = {c["id"]: i for i, c in enumerate(caps)}
    m = {(idx[x["near_capture_id"]], x["near_id"], idx[x["far_capture_id"]], x["far_id"])
         for x in doc["matches"] if x["path"] == path}
    e = {(x["inner_ip"], x["dest_ip"], port_of(x["proto"], x["dest_port"]), x["proto"],
          x["egress_ip"], x["flows"], ts(x["first_ns"]), ts(x["last_ns"]))
         for x in doc["egress"] if x["path"] == path}
    c = set()
    for x in doc["ip_changes"]:
        if x["path"] != path:
            continue
        hp = x["has_port"] == 1
        c.add((x["inner_ip"], x["dest_ip"], port_of(x["proto"], x["dest_port"]) if hp else None,
               x["proto"] if hp else None, x["from_ip"], x["to_ip"], ts(x["at_ns"])))
    return m, e, c


def truth_check(folder, caps, fleet_m):
    tf = os.path.join(folder, "truth.json")
    if not os.path.exists(tf) or len(caps) != 2:
        return 0, []
    truth = json.load(open(tf))
    near, far = caps[0]["flows"], caps[1]["flows"]
    pairs = {(n, f) for (a, n, b, f) in fleet_m if (a, b) == (0, 1)}
    bad, n = [], 0
    for t in truth.get("nat", []):
        if t["proto"] not in ("tcp", "udp"):
            continue
        pnum = 6 if t["proto"] == "tcp" else 17
        ids = [i for i, f in near.items() if f["proto"] == pnum and
               f["orig_ip"] == t["inner_ip"] and f["orig_port"] == t["inner_port"] and
               f["resp_port"] == t["dest_port"]]
        if not ids:
            continue        # not seen at the near point (another NAT's leg)
        n += 1
        ok = False
        for (ni, fi) in pairs:
            if ni in ids:
                f = far[fi]
                ends = {(f["orig_ip"], f["orig_port"]), (f["resp_ip"], f["resp_port"])}
                ok = (t["outside_ip"], t["outside_port"]) in ends
        if not ok:
            bad.append(f"{t['inner_ip']}:{t['inner_port']} -> {t['outside_ip']}:{t['outside_port']}")
    return n, bad


def compare(doc, tree, corr_cache, quiet=False):
    problems, npaths, nm, ne, nt = [], 0, 0, 0, 0
    for path in sorted(os.listdir(tree)):
        folder = os.path.join(tree, path)
        if not os.path.isdir(folder):
            continue
        caps = read_path(folder)
        if len(caps) < 2:
            continue
        if path not in corr_cache:
            out = subprocess.run([NATLENS, "correlate", "--json"] + [c["file"] for c in caps],
                                 capture_output=True, text=True)
            if out.returncode != 0:
                problems.append(f"{path}: correlate exit {out.returncode}: {out.stderr.strip()}")
                continue
            corr_cache[path] = json.loads(out.stdout)
        cm, ce, cc = corr_sets(corr_cache[path])
        fm, fe, fc = fleet_sets(doc, path, caps)
        for what, a, b in (("pairs", cm, fm), ("egress rows", ce, fe), ("source changes", cc, fc)):
            if a != b:
                problems.append(f"{path}: {what} differ: correlate only {sorted(a - b, key=str)[:4]}, "
                                f"ClickHouse only {sorted(b - a, key=str)[:4]}")
        n, bad = truth_check(folder, caps, fm)
        if bad:
            problems.append(f"{path}: truth.json entries not paired to their translation: {bad[:4]}")
        npaths += 1
        nm += len(fm)
        ne += len(fe)
        nt += n
    if not quiet:
        print(f"{npaths} paths: {nm} pairs, {ne} egress rows, {nt} conntrack entries checked")
    return problems, npaths


def main():
    doc = json.load(open(sys.argv[1]))
    tree = sys.argv[2]
    cache = {}
    problems, npaths = compare(doc, tree, cache)
    for p in problems:
        print("FAIL:", p)
    if npaths == 0:
        print("FAIL: no path compared")
        return 1
    if "--self-check" in sys.argv[3:]:
        bad = copy.deepcopy(doc)
        # two pairs of the same capture pair trade their far flows
        ms = bad["matches"]
        for i in range(len(ms)):
            for k in range(i + 1, len(ms)):
                if (ms[i]["path"], ms[i]["near_capture_id"], ms[i]["far_capture_id"]) == \
                        (ms[k]["path"], ms[k]["near_capture_id"], ms[k]["far_capture_id"]):
                    ms[i]["far_id"], ms[k]["far_id"] = ms[k]["far_id"], ms[i]["far_id"]
                    break
            else:
                continue
            break
        p2, _ = compare(bad, tree, cache, quiet=True)
        if not p2:
            print("FAIL: self-check: a wrong pairing went unnoticed")
            return 1
        print(f"self-check: a swapped pair is caught ({p2[0][:80]}...)")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
