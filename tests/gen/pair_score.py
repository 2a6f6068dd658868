#!/usr/bin/env python3
"""pair_score.py - score `natlens correlate --json` against gen_capture's truth.

usage: pair_score.py TRUTH.json CORRELATE.json [--json] [--min-precision P] [--min-recall R]

A pair is right when the near flow and the far flow of a match are the two
views of one generated flow. Flows are compared by protocol and their two
endpoints, orientation ignored (which side is "orig" is the analyzer's call).
Prints precision, recall, how many near-only (blocked) flows were reported
unmatched, how many flows whose ISN the NAT rewrote were paired right, and
the clock-offset error. Exit 1 when a --min-* bound is not met, 2 on
unreadable input.

Documents are read item by item with ijson when it is installed (Debian
python3-ijson): correlate's JSON for 1M flows a side is ~4 GB, which
json.load would hold whole. Without ijson the documents are loaded whole.
"""
import json
import sys

try:
    import ijson
except ImportError:
    ijson = None


def key(proto, f):
    if f is None:
        return None
    a = "%s|%d" % (f.get("orig_ip"), int(f.get("orig_port") or 0))
    b = "%s|%d" % (f.get("resp_ip"), int(f.get("resp_port") or 0))
    # a short string: a million of them as dict keys stay in a few 100 MB
    return "%s %s %s" % (str(proto).lower(), min(a, b), max(a, b))


class Doc:
    """The parts of one JSON document the score needs."""

    def __init__(self, path):
        self.path = path
        self.whole = None
        try:
            if ijson is None:
                with open(path) as fh:
                    self.whole = json.load(fh)
            else:
                open(path, "rb").close()
        except (OSError, ValueError) as e:
            self.fail(e)

    def fail(self, e):
        print(f"pair_score: {self.path}: {e}", file=sys.stderr)
        sys.exit(2)

    def items(self, name):
        """The elements of the top-level array `name`, one at a time."""
        if self.whole is not None:
            yield from self.whole.get(name) or []
            return
        try:
            with open(self.path, "rb") as fh:
                yield from ijson.items(fh, name + ".item", use_float=True)
        except (OSError, ijson.JSONError) as e:
            self.fail(e)

    def value(self, name, default=None):
        """A top-level value; reading stops once it is found."""
        if self.whole is not None:
            return self.whole.get(name, default)
        try:
            with open(self.path, "rb") as fh:
                for v in ijson.items(fh, name, use_float=True):
                    return v
        except (OSError, ijson.JSONError) as e:
            self.fail(e)
        return default


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
    truth, got = Doc(args[0]), Doc(args[1])

    pairs = {}          # near key -> far key
    isn = set()         # near keys of ISN-rewritten flows
    blocked = set()
    for f in truth.items("flows"):
        nk = key(f["proto"], f["near"])
        if f.get("far") is None:
            blocked.add(nk)
            continue
        pairs[nk] = key(f["proto"], f["far"])
        if f.get("isn_offset"):
            isn.add(nk)

    tp = npred = 0
    found = set()
    for m in got.items("matches"):
        near, far = m.get("near"), m.get("far")
        if not near or not far:
            continue
        npred += 1
        nk = key(near.get("proto"), near)
        if pairs.get(nk) == key(far.get("proto"), far):
            tp += 1
            found.add(nk)
    precision = tp / npred if npred else 0.0
    recall = len(found) / len(pairs) if pairs else 0.0
    isn_paired = len(found & isn)
    isn_recall = isn_paired / len(isn) if isn else None

    blocked_found = 0
    if blocked:         # unmatched comes after matches: read only when needed
        caps = got.value("captures") or []
        near_name = caps[0].get("file") if caps and isinstance(caps[0], dict) else None
        unmatched_near = set()
        for u in got.items("unmatched"):
            cap = u.get("capture")
            fl = u.get("flow") or {}
            if cap in (0, near_name) or (isinstance(cap, str) and near_name and
                                         cap.endswith(near_name.split("/")[-1])):
                unmatched_near.add(key(fl.get("proto"), fl))
        blocked_found = len(blocked & unmatched_near)

    offset_err = None
    offs = got.value("clock_offsets") or []
    if offs and "offset_s" in offs[0]:
        offset_err = abs(float(offs[0]["offset_s"]) - float(truth.value("offset_s", 0.0)))

    res = {
        "truth_pairs": len(pairs), "predicted_pairs": npred, "correct": tp,
        "precision": round(precision, 6), "recall": round(recall, 6),
        "isn_rewritten": len(isn), "isn_paired": isn_paired,
        "isn_recall": None if isn_recall is None else round(isn_recall, 6),
        "blocked": len(blocked), "blocked_reported_unmatched": blocked_found,
        "offset_error_s": offset_err,
    }
    if want_json:
        print(json.dumps(res))
    else:
        print(f"pairs: truth {len(pairs)}, predicted {npred}, correct {tp}; "
              f"precision {precision:.4f}, recall {recall:.4f}; "
              f"ISN-rewritten paired {isn_paired}/{len(isn)}; "
              f"blocked reported unmatched {blocked_found}/{len(blocked)}; "
              f"clock offset error {'-' if offset_err is None else f'{offset_err:.6f} s'}")
    ok = (minp is None or precision >= minp) and (minr is None or recall >= minr)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv))
