#!/usr/bin/env python3
"""pair_score.py - score `natlens correlate --json` against gen_capture's truth.

usage: pair_score.py TRUTH.json CORRELATE.json [--json] [--min-precision P] [--min-recall R]

A pair is right when the near flow and the far flow of a match are the two
views of one generated flow. Flows are compared by protocol and their two
endpoints, orientation ignored (which side is "orig" is the analyzer's call).
Prints precision, recall, how many near-only (blocked) flows were reported
unmatched, recall on flows whose ISN the NAT rewrote, and the clock-offset
error. Exit 1 when a --min-* bound is not met, 2 on unreadable input.
"""
import json
import sys


def key(proto, f):
    if f is None:
        return None
    a = (str(f.get("orig_ip")), int(f.get("orig_port") or 0))
    b = (str(f.get("resp_ip")), int(f.get("resp_port") or 0))
    return (str(proto).lower(), min(a, b), max(a, b))


def load(path):
    try:
        with open(path) as fh:
            return json.load(fh)
    except (OSError, ValueError) as e:
        print(f"pair_score: {path}: {e}", file=sys.stderr)
        sys.exit(2)


def main(argv):
    args = [a for a in argv[1:] if not a.startswith("--")]
    want_json = "--json" in argv
    minp = minr = None
    for i, a in enumerate(argv):
        if a == "--min-precision":
            minp = float(argv[i + 1])
            args.remove(argv[i + 1])
        if a == "--min-recall":
            minr = float(argv[i + 1])
            args.remove(argv[i + 1])
    if len(args) != 2:
        print(__doc__.strip().splitlines()[2], file=sys.stderr)
        return 2
    truth, got = load(args[0]), load(args[1])

    pairs = {}          # near key -> far key
    isn = set()         # near keys of ISN-rewritten flows
    blocked = set()
    for f in truth["flows"]:
        nk = key(f["proto"], f["near"])
        if f.get("far") is None:
            blocked.add(nk)
            continue
        pairs[nk] = key(f["proto"], f["far"])
        if f.get("isn_offset"):
            isn.add(nk)

    matches = got.get("matches", [])
    tp = 0
    found = set()
    for m in matches:
        near, far = m.get("near"), m.get("far")
        if not near or not far:
            continue
        nk = key(near.get("proto"), near)
        fk = key(far.get("proto"), far)
        if pairs.get(nk) == fk:
            tp += 1
            found.add(nk)
    npred = sum(1 for m in matches if m.get("near") and m.get("far"))
    precision = tp / npred if npred else 0.0
    recall = len(found) / len(pairs) if pairs else 0.0
    isn_recall = len(found & isn) / len(isn) if isn else None

    unmatched_near = set()
    caps = got.get("captures", [])
    near_name = caps[0].get("file") if caps and isinstance(caps[0], dict) else None
    for u in got.get("unmatched", []):
        cap = u.get("capture")
        fl = u.get("flow") or {}
        if cap in (0, near_name) or (isinstance(cap, str) and near_name and cap.endswith(near_name.split("/")[-1])):
            unmatched_near.add(key(fl.get("proto"), fl))
    blocked_found = len(blocked & unmatched_near)

    offset_err = None
    offs = got.get("clock_offsets") or []
    if offs and "offset_s" in offs[0]:
        offset_err = abs(float(offs[0]["offset_s"]) - float(truth.get("offset_s", 0.0)))

    res = {
        "truth_pairs": len(pairs), "predicted_pairs": npred, "correct": tp,
        "precision": round(precision, 6), "recall": round(recall, 6),
        "isn_rewritten": len(isn),
        "isn_recall": None if isn_recall is None else round(isn_recall, 6),
        "blocked": len(blocked), "blocked_reported_unmatched": blocked_found,
        "offset_error_s": offset_err,
    }
    if want_json:
        print(json.dumps(res))
    else:
        print(f"pairs: truth {len(pairs)}, predicted {npred}, correct {tp}; "
              f"precision {precision:.4f}, recall {recall:.4f}; "
              f"ISN-rewritten recall {'-' if isn_recall is None else f'{isn_recall:.4f}'} ({len(isn)}); "
              f"blocked reported unmatched {blocked_found}/{len(blocked)}; "
              f"clock offset error {'-' if offset_err is None else f'{offset_err:.6f} s'}")
    ok = (minp is None or precision >= minp) and (minr is None or recall >= minr)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv))
