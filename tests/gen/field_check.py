#!/usr/bin/env python3
"""field_check.py - check that a `gen_capture --field` pair has the shape of issue 11.

usage: field_check.py TRUTH.json NEAR.pcap FAR.pcap

The captures are decoded by tshark (an independent decoder, with IP and
TCP checksum validation), not by natlens and not by hand. Checked against
the truth file and the shape's definition:
  - every packet belongs to a flow of the truth file, checksums good, no
    TCP option in any segment (header length 20);
  - 10 packets a flow at the near point, 11 at the far point for flows
    whose SYN-ACK was lost (two SYN-ACKs far, one near), 10 otherwise;
  - exactly one flow in 20 with its client ISN rewritten (far SYN seq =
    near SYN seq + isn_offset), one in 100 with the SYN-ACK lost;
  - the SNAT pool: 3 addresses each serving a stretch of flows in turn,
    or one address per flow; source ports remapped;
  - 30 servers on 4 ports, at most 2000 inner hosts, 64 distinct request
    payloads and 64 distinct responses;
  - the far clock 2.5 s ahead (every packet within 0.2 ms of it), a new
    connection every 0.5 ms, both files in time order.
Prints one line per check; exit 0 when all hold, 1 otherwise, 2 on
unusable input.
"""
import json
import subprocess
import sys

FIELDS = ["frame.time_epoch", "ip.src", "tcp.srcport", "ip.dst", "tcp.dstport", "tcp.flags",
          "tcp.seq_raw", "tcp.ack_raw", "tcp.hdr_len", "ip.checksum.status",
          "tcp.checksum.status", "tcp.payload"]


def decode(path):
    cmd = ["tshark", "-n", "-r", path, "-o", "ip.check_checksum:TRUE", "-o", "tcp.check_checksum:TRUE",
           "-o", "tcp.analyze_sequence_numbers:FALSE", "-T", "fields", "-E", "separator=/t"]
    for f in FIELDS:
        cmd += ["-e", f]
    try:
        out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
    except (OSError, subprocess.CalledProcessError) as e:
        print(f"field_check: tshark on {path}: {e}", file=sys.stderr)
        sys.exit(2)
    pkts = []
    for line in out.splitlines():
        v = line.split("\t")
        v += [""] * (len(FIELDS) - len(v))
        pkts.append({"t": float(v[0]), "src": (v[1], int(v[2] or 0)), "dst": (v[3], int(v[4] or 0)),
                     "flags": int(v[5] or "0", 16), "seq": int(v[6] or 0), "ack": int(v[7] or 0),
                     "hl": int(v[8] or 0), "ipsum": v[9], "tcpsum": v[10], "payload": v[11]})
    return pkts


def tup(f):
    return (f["orig_ip"], f["orig_port"]), (f["resp_ip"], f["resp_port"])


def main(argv):
    if len(argv) != 4:
        print(__doc__.strip().splitlines()[2], file=sys.stderr)
        return 2
    truth = json.load(open(argv[1]))
    near, far = decode(argv[2]), decode(argv[3])
    flows = truth["flows"]
    n = len(flows)
    ok = True

    def need(cond, what):
        nonlocal ok
        print(("ok   " if cond else "FAIL ") + what)
        ok = ok and bool(cond)

    # flows by their tuple, either direction
    by_near, by_far = {}, {}
    for f in flows:
        a, b = tup(f["near"])
        by_near[(a, b)] = by_near[(b, a)] = f["id"]
        a, b = tup(f["far"])
        by_far[(a, b)] = by_far[(b, a)] = f["id"]
    need(len(by_near) == 2 * n and len(by_far) == 2 * n, f"{n} distinct near and far tuples")

    def per_flow(pkts, index, side):
        got = {}
        stray = 0
        for p in pkts:
            fid = index.get((p["src"], p["dst"]))
            if fid is None:
                stray += 1
                continue
            got.setdefault(fid, []).append(p)
        need(stray == 0, f"{side}: every packet belongs to a truth flow ({stray} do not)")
        return got

    pn, pf = per_flow(near, by_near, "near"), per_flow(far, by_far, "far")
    for side, pkts in (("near", near), ("far", far)):
        need(all(p["ipsum"] == "1" and p["tcpsum"] == "1" for p in pkts),
             f"{side}: IP and TCP checksums good ({len(pkts)} packets)")
        need(all(p["hl"] == 20 for p in pkts), f"{side}: no TCP options (every header 20 bytes)")
        need(all(pkts[i]["t"] <= pkts[i + 1]["t"] for i in range(len(pkts) - 1)), f"{side}: in time order")

    lost = {f["id"] for f in flows if f["syn_ack_lost"]}
    rew = {f["id"]: f["isn_offset"] for f in flows if f["isn_offset"]}
    need(all(len(pn.get(f["id"], [])) == 10 for f in flows), "near: 10 packets a flow")
    need(all(len(pf.get(f["id"], [])) == 10 + (f["id"] in lost) for f in flows),
         "far: 10 packets a flow, 11 when the SYN-ACK was lost")

    def count(pkts, flags):
        return sum(1 for p in pkts if p["flags"] & 0x17 == flags)
    need(all(count(pn[i], 0x12) == 1 and count(pf[i], 0x12) == 1 + (i in lost) for i in pn),
         "SYN-ACKs: one near, two far when lost")
    need(len(lost) == n // 100 == truth["syn_ack_lost"], f"SYN-ACK lost on {len(lost)} of {n} flows (1%)")
    need(len(rew) == n // 20 == truth["isn_rewritten"], f"ISN rewritten on {len(rew)} of {n} flows (5%)")
    bad = 0
    for f in flows:
        i = f["id"]
        sn = [p for p in pn[i] if p["flags"] & 0x12 == 0x02][0]["seq"]
        sf = [p for p in pf[i] if p["flags"] & 0x12 == 0x02][0]["seq"]
        bad += (sf - sn) % 2**32 != f["isn_offset"]
    need(bad == 0, f"far SYN seq = near SYN seq + isn_offset ({bad} flows differ)")

    pool = truth["pool"]
    far_src = [f["far"]["orig_ip"] for f in sorted(flows, key=lambda x: x["id"])]
    if pool == "per-flow":
        need(len(set(far_src)) == n, f"one far address per flow ({len(set(far_src))} for {n})")
    else:
        st = truth["stretch"]
        want = [pool[(i // st) % len(pool)] for i in range(n)]
        need(len(pool) == 3 and set(far_src) == set(pool) and far_src == want,
             f"pool of {len(pool)} addresses, each a stretch of {st} flows in turn")
    same = sum(1 for f in flows if f["far"]["orig_port"] == f["near"]["orig_port"])
    need(same <= n // 100, f"source ports remapped ({same} kept)")

    servers = {f["near"]["resp_ip"] for f in flows}
    ports = {f["near"]["resp_port"] for f in flows}
    hosts = {f["near"]["orig_ip"] for f in flows}
    need(len(servers) == truth["servers"] == 30 and len(ports) == 4 == len(truth["server_ports"]),
         f"{len(servers)} servers on {len(ports)} ports")
    need(len(hosts) <= truth["hosts"] == 2000 and len(hosts) >= min(n, 2000) // 2,
         f"{len(hosts)} inner hosts (of 2000)")
    reqs, resps = {}, set()
    for i, pk in pn.items():
        c2s = [p["payload"] for p in pk if p["payload"] and p["src"][0].startswith("10.")]
        s2c = "".join(p["payload"] for p in pk if p["payload"] and not p["src"][0].startswith("10."))
        reqs.setdefault(c2s[0] if c2s else "", []).append(i)
        resps.add(s2c)
    need(len(reqs) == 64 == truth["payloads"] and len(resps) == 64,
         f"{len(reqs)} distinct requests, {len(resps)} distinct responses "
         f"(largest share {max(len(v) for v in reqs.values())} flows)")

    off = truth["offset_s"]
    skew = []
    for i in pn:
        a = sorted(pn[i], key=lambda p: p["t"])
        b = sorted(pf[i], key=lambda p: p["t"])
        syn_n, syn_f = a[0]["t"], b[0]["t"]
        fin_n = [p["t"] for p in a if p["flags"] & 0x01 and p["src"][0].startswith("10.")][0]
        fin_f = [p["t"] for p in b if p["flags"] & 0x01 and p["dst"][0].startswith("198.51.100.")][0]
        skew += [syn_f - syn_n - off, fin_f - fin_n - off]
    need(off == 2.5 and all(0 <= s <= 0.0002 for s in skew),
         f"far clock {off} s ahead, client packets {min(skew)*1e6:.0f}..{max(skew)*1e6:.0f} us later far")
    syns = sorted(p["t"] for p in near if p["flags"] & 0x12 == 0x02)
    gap = (syns[-1] - syns[0]) / (len(syns) - 1)
    need(abs(gap - 0.0005) < 0.00001, f"a new connection every {gap*1e3:.3f} ms")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv))
