#!/usr/bin/python3
"""Turn conntrack's own view of a lab run into truth.json (standard library only).

The NAT table in truth.json comes strictly from conntrack output: the event
stream (`conntrack -E -o timestamp,id`) gives each connection's NEW time and
tuples, `conntrack -L -o extended,id` at the end of the run adds entries whose
NEW event was missed (start_ts is then null). Nothing is taken from what
lab.sh intended to do. Everything else (captures, events, attempts, ISN
offsets, time shift) comes from meta.jsonl lines written by lab.sh, each a
JSON object with one key: {"captures": [...]}, {"events": {...}},
{"attempts": {...}}, {"isn_offsets": [...]}, {"time_shift_s": x},
{"interfaces": {...}}, {"notes": "..."}.

usage: ct2truth.py SCENARIO OUT.json META.jsonl [ROLE:EVENTS.txt:LIST.txt ...]
"""
import json
import re
import sys

TS_RE = re.compile(r"^\[(\d+\.\d+)\]\s+\[(NEW|UPDATE|DESTROY)\]\s+(.*)$")
KV_RE = re.compile(r"(\w+)=(\S+)")


def parse_entry(body):
    """Split one conntrack line body into proto, orig tuple, reply tuple, state, ct id."""
    toks = body.split()
    proto = toks[0]
    # Tuples: key=value tokens in order; the second 'src=' starts the reply tuple.
    kvs = KV_RE.findall(body)
    # With "-o id" the conntrack id is the last id= on the line (ICMP tuples carry
    # their own echo id= as well: three in all).
    ctid = None
    nid = sum(1 for k, _ in kvs if k == "id")
    if nid == (3 if proto == "icmp" else 1):
        last = max(i for i, (k, _) in enumerate(kvs) if k == "id")
        ctid = int(kvs[last][1])
        kvs = kvs[:last] + kvs[last + 1:]
    orig, reply, cur = {}, {}, None
    for k, v in kvs:
        if k == "src":
            cur = orig if not orig else reply
        if cur is not None and k in ("src", "dst"):
            cur[k] = v
        elif cur is not None and k in ("sport", "dport", "type", "code", "id"):
            cur[k] = int(v)
    state = None
    m = re.search(r"\b(SYN_SENT|SYN_RECV|ESTABLISHED|FIN_WAIT|CLOSE_WAIT|LAST_ACK|TIME_WAIT|CLOSE|SYN_SENT2)\b", body)
    if m:
        state = m.group(1)
    return proto, orig, reply, state, ctid, "[UNREPLIED]" in body, "[ASSURED]" in body


def ports(proto, t):
    if proto == "icmp":
        return int(t.get("id", 0)), None
    return int(t.get("sport", 0)), int(t.get("dport", 0))


def nat_record(role, proto, orig, reply, ctid):
    isp, idp = ports(proto, orig)
    rsp, rdp = ports(proto, reply)
    if proto == "icmp":
        # For ICMP the "port" is the echo identifier; the reply carries it back.
        outside_ip, outside_port = reply["dst"], int(reply.get("id", 0))
        server_ip, server_port = reply["src"], None
        dest_port = None
        snat = outside_ip != orig["src"] or outside_port != isp
    else:
        outside_ip, outside_port = reply["dst"], rdp
        server_ip, server_port = reply["src"], rsp
        dest_port = idp
        snat = outside_ip != orig["src"] or outside_port != isp
    dnat = server_ip != orig["dst"] or (server_port is not None and server_port != dest_port)
    kind = "snat+dnat" if snat and dnat else "snat" if snat else "dnat" if dnat else "none"
    return {
        "at": role,
        "proto": proto,
        "kind": kind,
        "inner_ip": orig["src"],
        "inner_port": isp,
        "dest_ip": orig["dst"],
        "dest_port": dest_port,
        "outside_ip": outside_ip,
        "outside_port": outside_port,
        "server_ip": server_ip,
        "server_port": server_port,
        "start_ts": None,
        "end_ts": None,
        "replied": False,
        "assured": False,
        "last_state": None,
        "conntrack_id": ctid,
        "orig": orig,
        "reply": reply,
    }


def load_ct(role, evfile, listfile):
    recs = {}
    order = []
    try:
        lines = open(evfile).read().splitlines()
    except OSError:
        lines = []
    for line in lines:
        m = TS_RE.match(line.strip())
        if not m:
            continue
        ts, what, body = float(m.group(1)), m.group(2), m.group(3)
        proto, orig, reply, state, ctid, unrep, assured = parse_entry(body)
        if proto not in ("tcp", "udp", "icmp") or ctid is None:
            continue
        key = ctid
        if key not in recs:
            recs[key] = nat_record(role, proto, orig, reply, ctid)
            order.append(key)
        r = recs[key]
        if what == "NEW" and r["start_ts"] is None:
            r["start_ts"] = ts
        if what == "DESTROY":
            r["end_ts"] = ts
        if not unrep:
            r["replied"] = True
        if assured:
            r["assured"] = True
        if state:
            r["last_state"] = state
    try:
        lines = open(listfile).read().splitlines() if listfile else []
    except OSError:
        lines = []
    for line in lines:
        toks = line.split()
        if len(toks) < 3 or toks[0] != "ipv4":
            continue
        body = " ".join(toks[2:])
        proto, orig, reply, state, ctid, unrep, assured = parse_entry(body)
        if proto not in ("tcp", "udp", "icmp") or ctid is None:
            continue
        if ctid not in recs:
            recs[ctid] = nat_record(role, proto, orig, reply, ctid)
            recs[ctid]["source"] = "conntrack -L (NEW event missed)"
            order.append(ctid)
        r = recs[ctid]
        if not unrep:
            r["replied"] = True
        if assured:
            r["assured"] = True
        if state:
            r["last_state"] = state
    return [recs[k] for k in order]


def main():
    if len(sys.argv) < 4:
        sys.exit(__doc__)
    scenario, out, meta = sys.argv[1:4]
    truth = {"scenario": scenario, "captures": [], "nat": [], "events": [], "attempts": [],
             "isn_offsets": [], "time_shift_s": 0.0}
    for spec in sys.argv[4:]:
        parts = spec.split(":")
        role, ev = parts[0], parts[1]
        lst = parts[2] if len(parts) > 2 else None
        truth["nat"].extend(load_ct(role, ev, lst))
    truth["nat"].sort(key=lambda r: (r["start_ts"] is None, r["start_ts"] or 0))
    for line in open(meta).read().splitlines():
        if not line.strip():
            continue
        obj = json.loads(line)
        for k, v in obj.items():
            if k in ("events", "attempts") and isinstance(v, dict):
                truth[k].append(v)
            elif k in ("captures", "isn_offsets") and isinstance(v, list):
                truth[k].extend(v)
            elif k == "notes":
                truth.setdefault("notes", []).append(v)
            else:
                truth[k] = v
    truth["events"].sort(key=lambda e: e.get("ts", 0))
    with open(out, "w") as f:
        json.dump(truth, f, indent=1, sort_keys=False)
        f.write("\n")


if __name__ == "__main__":
    main()
