#!/usr/bin/env python3
"""correlate_samples_check.py - check `natlens correlate --json` of a lab
sample (samples/<scenario>/) against conntrack's own NAT mapping.

usage: correlate_samples_check.py TRUTH.json CORRELATE.json

truth.json (samples/lab/README.md): "nat" entries map the client's view
(proto, inner_ip:inner_port -> dest_ip:dest_port) to the server's view
(outside_ip:outside_port -> server_ip:server_port); ICMP ports are echo ids.
The correlate run must have been given the truth's first capture as near
(capture 0) and its last as far.

Checks (exit 1 when one fails, 2 on unreadable input):
  - translation: a right pair's translation equals conntrack's "kind".
  - pairs: a match is right when its near flow is a conntrack entry's client
    view and its far flow that entry's server view (orientation ignored,
    port reuse told apart by start time). Expected pairs are the entries
    whose two views both appear in the captures. Precision and recall 1.0.
    Matches of flows conntrack never saw (a leaked SYN-ACK) are listed,
    not counted.
  - egress: per inner ip, destination, port and protocol, the set of egress
    addresses equals the set of outside addresses of the expected pairs.
  - events "snat_switch": an ip_change from -> to after the rule change, at
    the start of the first flow conntrack mapped to the new address (within
    50 ms: the capture's and conntrack's clocks are one host's), and no
    later than that flow (a loaded lab starts it late, that is no error).
  - time_shift_s: the clock offset within 10 ms.
  - isn_offsets: the match's seq_offset.orig equals K; no other match
    reports a sequence offset.
Prints one summary line (and the details of any failure).
"""
import json
import sys


def load(path):
    try:
        with open(path) as fh:
            return json.load(fh)
    except (OSError, ValueError) as e:
        print(f"correlate_samples_check: {path}: {e}", file=sys.stderr)
        sys.exit(2)


def ep(ip, port, proto):
    return (str(ip), None if proto == "icmp" else (None if port is None else int(port)))


def fkey(proto, a, b):
    """Orientation-free key of a flow: protocol and its two endpoints."""
    return (proto, tuple(sorted([a, b], key=repr)))


def flow_key(f):
    p = str(f.get("proto")).lower()
    if p == "icmp":
        # echo flows: both "ports" carry the identifier; key on the
        # identifier at the client end only
        return (p, tuple(sorted([(f["orig_ip"], int(f["orig_port"])), (f["resp_ip"], None)], key=repr)))
    return fkey(p, ep(f["orig_ip"], f["orig_port"], p), ep(f["resp_ip"], f["resp_port"], p))


def truth_keys(n):
    p = n["proto"]
    if p == "icmp":
        near = (p, tuple(sorted([(n["inner_ip"], int(n["inner_port"])), (n["dest_ip"], None)], key=repr)))
        far = (p, tuple(sorted([(n["outside_ip"], int(n["outside_port"])), (n["server_ip"], None)], key=repr)))
        return near, far
    near = fkey(p, ep(n["inner_ip"], n["inner_port"], p), ep(n["dest_ip"], n["dest_port"], p))
    far = fkey(p, ep(n["outside_ip"], n["outside_port"], p), ep(n["server_ip"], n["server_port"], p))
    return near, far


def main(argv):
    if len(argv) != 3:
        print(__doc__.strip().splitlines()[2], file=sys.stderr)
        return 2
    truth, got = load(argv[1]), load(argv[2])
    name = truth.get("scenario", argv[1])
    problems = []

    by_near = {}
    for n in truth.get("nat", []):
        nk, fk = truth_keys(n)
        by_near.setdefault(nk, []).append((n, fk))

    def entry_for(nk, ts):
        cands = by_near.get(nk) or []
        if not cands:
            return None
        return min(cands, key=lambda c: abs((c[0].get("start_ts") or ts) - ts))

    matches = [m for m in got.get("matches", []) if m.get("near_capture", 0) == 0]
    near_seen, far_seen = [], set()
    for m in matches:
        near_seen.append((flow_key(m["near"]), m["near"]["first_ts"]))
        far_seen.add(flow_key(m["far"]))
    for u in got.get("unmatched", []):
        if u["capture"] == 0:
            near_seen.append((flow_key(u["flow"]), u["flow"]["first_ts"]))
        elif u["capture"] == 1:
            far_seen.add(flow_key(u["flow"]))

    # expected: entries whose client view and server view were both captured
    expected = set()
    for nk, ts in near_seen:
        e = entry_for(nk, ts)
        if e and e[1] in far_seen:
            expected.add((nk, e[1], e[0].get("conntrack_id"), e[0].get("start_ts")))

    correct, wrong, unknown = set(), [], []
    for m in matches:
        nk, fk = flow_key(m["near"]), flow_key(m["far"])
        e = entry_for(nk, m["near"]["first_ts"])
        if e is None:
            # conntrack never saw this client view (a leaked SYN-ACK, a
            # packet the firewall dropped): not scored here; had it taken
            # another flow's twin, that flow's missed pair fails recall
            unknown.append(f"{nk} <-> {fk}")
            continue
        if e[1] == fk:
            correct.add((nk, fk, e[0].get("conntrack_id"), e[0].get("start_ts")))
            if e[0].get("kind") and m.get("translation") != e[0]["kind"]:
                problems.append(f"{nk}: translation {m.get('translation')}, conntrack says {e[0]['kind']}")
        else:
            wrong.append(f"{nk} paired with {fk}, conntrack says {e[1]}")
    precision = len(correct) / (len(correct) + len(wrong)) if correct or wrong else 1.0
    recall = len(correct & expected) / len(expected) if expected else 1.0
    if wrong:
        problems += ["wrong pair: " + w for w in wrong]
    for miss in sorted(expected - correct, key=repr):
        problems.append(f"missed pair: {miss[0]} -> {miss[1]}")
    if not expected:
        problems.append("no expected pairs at all: wrong captures given?")

    # egress addresses per (inner, destination, port, proto)
    want = {}
    for nk, fk, cid, st in expected:
        for n, k in by_near.get(nk, []):
            if k == fk and n.get("conntrack_id") == cid:
                port = None if n["proto"] == "icmp" else n["dest_port"]
                want.setdefault((n["inner_ip"], n["dest_ip"], port, n["proto"]), set()).add(n["outside_ip"])
    have = {}
    for e in got.get("egress", []):
        port = None if e["proto"] == "icmp" else e["dest_port"]
        k = (e["inner_ip"], e["dest_ip"], port, e["proto"])
        if k in want:
            have.setdefault(k, set()).add(e["egress_ip"])
    for k in want:
        if have.get(k) != want[k]:
            problems.append(f"egress {k}: got {sorted(have.get(k, []))}, conntrack {sorted(want[k])}")
    egress_ok = all(have.get(k) == want[k] for k in want)

    # source switch
    notes = []
    for ev in truth.get("events", []):
        if ev.get("what") != "snat_switch":
            continue
        hits = [c for c in got.get("ip_changes", [])
                if c["from_ip"] == ev["from"] and c["to_ip"] == ev["to"]]
        if not hits:
            problems.append(f"no ip_change {ev['from']} -> {ev['to']}")
            continue
        d = min(abs(c["at_ts"] - ev["ts"]) for c in hits)
        notes.append(f"switch found {d:.3f} s after the rule change")
        firsts = [n["start_ts"] for n in truth.get("nat", [])
                  if n.get("outside_ip") == ev["to"] and n.get("start_ts") and n["start_ts"] >= ev["ts"]]
        if not firsts:
            problems.append(f"truth holds no flow on {ev['to']} after the switch")
            continue
        first = min(firsts)
        e = min(abs(c["at_ts"] - first) for c in hits)
        if e > 0.05:
            problems.append(f"ip_change {e:.3f} s from the first flow conntrack mapped to {ev['to']}")
        if min(c["at_ts"] for c in hits) < ev["ts"] - 0.05:
            problems.append("ip_change before the rule change")

    # clock
    shift = float(truth.get("time_shift_s") or 0.0)
    caps = truth.get("captures") or []
    if truth.get("time_shift_capture") and caps and truth["time_shift_capture"] == caps[0]["file"]:
        shift = -shift
    offs = got.get("clock_offsets") or []
    off = offs[0].get("offset_s") if offs else None
    if off is None:
        problems.append("clock offset unknown")
    else:
        err = abs(off - shift)
        notes.append(f"offset {off:.6f} s (error {err * 1e3:.3f} ms)")
        if err > 0.010:
            problems.append(f"clock offset {off} s, expected {shift} s (> 10 ms off)")

    # sequence offsets
    isn = {}
    for o in truth.get("isn_offsets", []):
        p = o["proto"]
        isn[fkey(p, ep(o["client_ip"], o["client_port"], p), ep(o["server_ip"], o["server_port"], p))] = o["k"]
    seen_isn = 0
    for m in matches:
        fk = flow_key(m["far"])
        got_k = (m.get("seq_offset") or {}).get("orig")
        if fk in isn:
            seen_isn += 1
            if got_k is None or (got_k & 0xffffffff) != isn[fk]:
                problems.append(f"seq_offset of {fk}: {got_k}, truth {isn[fk]}")
        elif got_k:
            problems.append(f"seq_offset {got_k} on {fk}, which was not rewritten")
    if isn:
        notes.append(f"seq offsets {seen_isn}/{len(isn)}")
        if seen_isn != len(isn):
            problems.append(f"only {seen_isn} of {len(isn)} rewritten flows matched")

    print(f"{name}: expected {len(expected)}, matched {len(matches)}, correct {len(correct)}, "
          f"wrong {len(wrong)}, without conntrack entry {len(unknown)}; "
          f"precision {precision:.3f} recall {recall:.3f}; egress {'ok' if egress_ok else 'DIFFERS'}"
          + ("; " + "; ".join(notes) if notes else ""))
    for u in unknown:
        print(f"  note: matched without a conntrack entry: {u}")
    for p in problems:
        print(f"  FAIL: {p}")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
