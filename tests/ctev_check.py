#!/usr/bin/env python3
"""ctev_check.py - check natlens-capture --conntrack files against conntrack(8).

An independent reader of the block layout documented in include/natlens/ctev.h
and natlens-capture(1) (struct, no natlens code), used by
tests/t_capture_conntrack.sh:

  ctev_check.py blocks FILE.pcapng
      one JSON line per conntrack block, in file order, with its frame number
      as Wireshark counts (packets and custom blocks), and a last line
      {"summary": ...}: packets, custom blocks, events, losses, start/end.

  ctev_check.py compare FILE.pcapng CT_EVENTS.txt FLOWS.json [CT_LIST.txt]
      CT_EVENTS.txt: `conntrack -E -o timestamp,id` run beside the capture.
      Every event in the file is one conntrack printed (same type, id, both
      tuples) and the other way round; receive times within 1 s of
      conntrack's; the kernel's start and stop on DESTROY events only, the
      start before the NEW event was read and natlens's first_ts; every NAT
      mapping natlens reports (FLOWS.json: `natlens flows --json FILE`) is
      the one conntrack printed for that id
      (inner = original tuple, outer = reply destination -> reply source),
      its "frame" is an event block of that id; with CT_LIST.txt
      (`conntrack -L -o id` at the end) every listed entry natlens knows has
      the same mapping. Prints the figures, exits 1 on any difference.
"""
import json
import re
import socket
import struct
import sys

PEN = 32473
KINDS = {1: "EVENT", 2: "LOSS", 3: "START", 4: "END"}
EVENTS = {1: "NEW", 2: "UPDATE", 3: "DESTROY"}
ICMP = (1, 58)


def addr(b):
    return socket.inet_ntop(socket.AF_INET if len(b) == 4 else socket.AF_INET6, b)


def tuple_of(body, off, alen, proto):
    src, dst = addr(body[off:off + alen]), addr(body[off + alen:off + 2 * alen])
    l4 = body[off + 2 * alen:off + 2 * alen + 4]
    if proto in ICMP:
        t, c, i = struct.unpack("!BBH", l4)
        return (src, dst, "type=%d" % t, "code=%d" % c, "id=%d" % i), off + 2 * alen + 4
    sp, dp = struct.unpack("!HH", l4)
    return (src, dst, "sport=%d" % sp, "dport=%d" % dp), off + 2 * alen + 4


def decode(data):
    """data: the custom data after the PEN. None when not ours."""
    if len(data) < 8 or data[:4] != b"NLCT":
        return None
    ver, kind, blen = struct.unpack("!BBH", data[4:8])
    body = data[8:8 + blen]
    if ver != 1 or len(body) != blen:
        return {"kind": "BAD"}
    k = KINDS.get(kind, "UNKNOWN")
    if k == "EVENT":
        ev, fam, proto, state, present, zone = struct.unpack("!BBBBHH", body[:8])
        recv, start, stop, cid, status, mark, timeout = struct.unpack("!QQQIIII", body[8:48])
        alen = 4 if fam == 4 else 16
        orig, off = tuple_of(body, 48, alen, proto)
        reply, off = tuple_of(body, off, alen, proto)
        d = {"kind": k, "event": EVENTS.get(ev, "?"), "proto": proto, "id": cid if present & 4 else None,
             "orig": orig, "reply": reply, "recv_ns": recv, "start_ns": start if present & 1 else None,
             "stop_ns": stop if present & 2 else None, "status": status, "mark": mark if present & 16 else None,
             "zone": zone if present & 32 else None, "tcp_state": state}
        return d
    if k == "LOSS":
        ts, over = struct.unpack("!QI", body[:12])
        return {"kind": k, "ts_ns": ts, "overruns": over}
    if k == "START":
        ts, tst, acct, _, rcv, over = struct.unpack("!QBBHII", body[:20])
        return {"kind": k, "ts_ns": ts, "tstamp": tst, "acct": acct, "rcvbuf": rcv, "overruns": over}
    if k == "END":
        ts, n, over = struct.unpack("!QQI", body[:20])
        return {"kind": k, "ts_ns": ts, "events": n, "overruns": over}
    return {"kind": k}


def blocks(path):
    b = open(path, "rb").read()
    off, frame, endian = 0, 0, "<"
    out, summ = [], {"packets": 0, "custom": 0, "events": 0, "losses": 0, "start": 0, "end": 0, "bad": 0}
    while off + 12 <= len(b):
        if b[off:off + 4] == b"\x0a\x0d\x0d\x0a":
            endian = "<" if struct.unpack_from("<I", b, off + 8)[0] == 0x1A2B3C4D else ">"
        typ, ln = struct.unpack_from(endian + "II", b, off)
        if ln < 12 or ln % 4 or off + ln > len(b):
            summ["bad"] += 1
            break
        if typ in (2, 3, 6):
            frame += 1
            summ["packets"] += 1
        elif typ in (0xBAD, 0x40000BAD):
            frame += 1
            summ["custom"] += 1
            pen = struct.unpack_from(endian + "I", b, off + 8)[0]
            d = decode(b[off + 12:off + ln - 4]) if pen == PEN else None
            if d:
                d["frame"], d["offset"] = frame, off
                out.append(d)
                key = {"EVENT": "events", "LOSS": "losses", "START": "start", "END": "end"}.get(d["kind"], "bad")
                summ[key] += 1
        off += ln
    return out, summ


CT_LINE = re.compile(r"^\[(\d+\.\d+)\]\s+\[(NEW|UPDATE|DESTROY)\]\s+(\S+)\s+(\d+)\s")


def ct_tuples(words, proto):
    """The two tuples of conntrack's text, as tuple_of() gives them."""
    keys = ("type", "code", "id") if proto in ICMP else ("sport", "dport")
    tups, cur = [], None
    for w in words:
        if "=" not in w:
            continue
        k, v = w.split("=", 1)
        if k == "src":
            cur = {"src": v}
            tups.append(cur)
        elif cur is not None and k in ("dst",) + keys and k not in cur:
            cur[k] = v
    res = []
    for t in tups[:2]:
        res.append(tuple([t["src"], t["dst"]] + ["%s=%s" % (k, t[k]) for k in keys]))
    return res


def ct_events(path):
    evs = []
    for line in open(path):
        m = CT_LINE.match(line)
        if not m:
            continue
        proto = int(m.group(4))
        words = line.split()
        ids = [w for w in words if w.startswith("id=")]
        tups = ct_tuples(words, proto)
        evs.append({"ts": float(m.group(1)), "event": m.group(2), "proto": proto,
                    "id": int(ids[-1][3:]), "orig": tups[0], "reply": tups[1]})
    return evs


def ct_list(path):
    ents = {}
    for line in open(path):
        w = line.split()
        if len(w) < 4 or not w[0].isalpha():
            continue
        proto = int(w[1])
        ids = [x for x in w if x.startswith("id=")]
        if not ids:
            continue
        tups = ct_tuples(w, proto)
        ents[int(ids[-1][3:])] = (proto, tups[0], tups[1])
    return ents


def flow_tuple(f, proto):
    if proto in ICMP:
        return (f["orig_ip"], f["resp_ip"], f["orig_port"])
    return (f["orig_ip"], f["resp_ip"], "sport=%d" % f["orig_port"], "dport=%d" % f["resp_port"])


def want_legs(proto, orig, reply):
    """conntrack's tuples as natlens's two legs: inner = original, outer =
    reply destination -> reply source (ICMP: the echo ids)."""
    if proto in ICMP:
        return (orig[0], orig[1], int(orig[4][3:])), (reply[1], reply[0], int(reply[4][3:]))
    return orig, (reply[1], reply[0], "sport=" + reply[3].split("=")[1], "dport=" + reply[2].split("=")[1])


def compare(pcap, ctfile, flowsfile, listfile=None):
    fails = []
    bl, summ = blocks(pcap)
    ours = [d for d in bl if d["kind"] == "EVENT"]
    theirs = ct_events(ctfile)
    key = lambda d: (d["event"], d["id"], d["proto"], tuple(d["orig"]), tuple(d["reply"]))
    a, b = sorted(map(key, ours)), sorted(map(key, theirs))
    ids = {d["id"] for d in theirs}
    print("events: file %d, conntrack -E %d (%d entries); losses in the file %d; packets %d, custom blocks %d"
          % (len(ours), len(theirs), len(ids), summ["losses"], summ["packets"], summ["custom"]))
    if a != b:
        sa, sb = set(a), set(b)
        for x in sorted(sa - sb)[:5]:
            fails.append("in the file, not in conntrack -E: %s" % (x,))
        for x in sorted(sb - sa)[:5]:
            fails.append("in conntrack -E, not in the file: %s" % (x,))
        if sa == sb:
            fails.append("same events, different multiplicities")
    # receive times: two listeners of the same kernel, a few ms apart at most
    byk = {}
    for d in theirs:
        byk.setdefault(key(d), []).append(d["ts"])
    worst = 0.0
    for d in ours:
        ts = byk.get(key(d))
        if ts:
            worst = max(worst, min(abs(d["recv_ns"] / 1e9 - t) for t in ts))
    print("receive times: at most %.6f s from conntrack -E's" % worst)
    if worst > 1.0:
        fails.append("receive times differ by %.3f s" % worst)
    # the kernel's own times (nf_conntrack_timestamp): on DESTROY events only;
    # the start comes before the NEW event was read, the stop after it
    new_recv = {d["id"]: d["recv_ns"] for d in ours if d["event"] == "NEW"}
    starts = {}
    ahead = []
    for d in ours:
        if d["event"] != "DESTROY":
            if d["start_ns"] is not None or d["stop_ns"] is not None:
                fails.append("id %s: kernel times on a %s event" % (d["id"], d["event"]))
            continue
        if d["start_ns"] is None or d["stop_ns"] is None:
            fails.append("id %s: DESTROY without the kernel's start and stop" % d["id"])
            continue
        starts[d["id"]] = d["start_ns"]
        if d["id"] in new_recv:
            ahead.append(new_recv[d["id"]] - d["start_ns"])
        if not d["start_ns"] <= new_recv.get(d["id"], d["start_ns"]) <= d["stop_ns"]:
            fails.append("id %s: NEW read outside the kernel's start..stop" % d["id"])
    if starts:
        print("kernel times: %d DESTROY events with start and stop; NEW read %.0f..%.0f us after the start"
              % (len(starts), min(ahead) / 1e3 if ahead else 0, max(ahead) / 1e3 if ahead else 0))
    # natlens's mappings against conntrack's tuples, per id
    doc = json.load(open(flowsfile))
    flows = {f["id"]: f for f in doc["flows"]}
    ct_by_id = {d["id"]: d for d in theirs}
    frames = {}
    for d in ours:
        frames.setdefault(d["id"], set()).add(d["frame"])
    maps = 0
    seen = set()
    for r in doc.get("records", []):
        if r["side"] != "inner":
            continue
        cid = r["conntrack_id"]
        f = flows[r["flow"]]
        c = ct_by_id.get(cid)
        if c is None:
            fails.append("natlens record of conntrack id %s unknown to conntrack -E" % cid)
            continue
        seen.add(cid)
        win, wout = want_legs(c["proto"], c["orig"], c["reply"])
        if flow_tuple(f, c["proto"]) != win:
            fails.append("id %d inner leg %s, conntrack %s" % (cid, flow_tuple(f, c["proto"]), win))
        if r["other_leg"] is None:
            if win != wout:
                fails.append("id %d: conntrack translated it, natlens has one leg" % cid)
        else:
            maps += 1
            o = flow_tuple(flows[r["other_leg"]], c["proto"])
            if o != wout:
                fails.append("id %d outer leg %s, conntrack %s" % (cid, o, wout))
        if cid in starts and abs(f["first_ts"] - starts[cid] / 1e9) > 2e-6:
            fails.append("id %d: first_ts %.6f is not the kernel's start %.6f" % (cid, f["first_ts"], starts[cid] / 1e9))
        if cid in starts and "DESTROY" not in r["conntrack"]:
            fails.append("id %d: destroyed, natlens does not say so" % cid)
        if r.get("frame") not in frames.get(cid, ()):
            fails.append("id %d: frame %s is not one of its event blocks %s" % (cid, r.get("frame"),
                                                                               sorted(frames.get(cid, ()))))
    missing = ids - seen
    for cid in sorted(missing)[:5]:
        fails.append("conntrack -E id %d has no natlens record" % cid)
    print("natlens mappings: %d NAT mappings, %d of %d conntrack entries, each the same tuples"
          % (maps, len(seen), len(ids)))
    if listfile:
        ents = ct_list(listfile)
        n = 0
        for cid, (proto, orig, reply) in ents.items():
            if cid not in seen:
                continue
            c = ct_by_id[cid]
            if (tuple(orig), tuple(reply)) != (tuple(c["orig"]), tuple(c["reply"])):
                fails.append("id %d: conntrack -L %s/%s, events %s/%s" % (cid, orig, reply, c["orig"], c["reply"]))
            n += 1
        print("conntrack -L: %d entries listed at the end, %d known to natlens, same tuples" % (len(ents), n))
    for f in fails:
        print("FAIL " + f)
    return 1 if fails else 0


def main():
    if len(sys.argv) >= 3 and sys.argv[1] == "blocks":
        bl, summ = blocks(sys.argv[2])
        for d in bl:
            print(json.dumps(d))
        print(json.dumps({"summary": summ}))
        return 0
    if len(sys.argv) in (5, 6) and sys.argv[1] == "compare":
        return compare(*sys.argv[2:])
    print(__doc__)
    return 2


if __name__ == "__main__":
    sys.exit(main())
