#!/usr/bin/env python3
"""bench_table.py - the Markdown table of `make bench` and issue 11's targets.

usage: bench_table.py ROWS.tsv SCORES.tsv [key=value ...]

ROWS.tsv (written by tests/bench.sh), one measured command a line:
  group  flows  label  wall_s  rss_mb  flows_read  runs  status  note
  (group: pool3, perflow, or another input; status: ok, timeout, fail, skipped)
SCORES.tsv: group  flows  pair_score.py --json output (or "error: ...").
key=value: machine, date, load, natlens, generator, runs, timeout, memcap,
tui_timeout (for the header lines).

Prints the table, then the targets with PASS/FAIL and the measured ratio,
one column per shape and size. Always exits 0 once its input is readable.
"""
import json
import sys

SHAPES = {"pool3": "pool of 3", "perflow": "pool per flow"}
FLOWS, TCPDUMP, TSHARK = "natlens flows", "tcpdump -r F -w /dev/null", "tshark -q -z conv,tcp"
CORR, CORRJ, REPORT, TUI = ("natlens correlate", "natlens correlate --json", "natlens report -o x.html",
                            "natlens tui: first flow row")


def size_name(n):
    n = int(n)
    if n >= 1000000 and n % 1000000 == 0:
        return "%dM" % (n // 1000000)
    if n >= 1000 and n % 1000 == 0:
        return "%dk" % (n // 1000)
    return str(n)


def num(x):
    try:
        return float(x)
    except (TypeError, ValueError):
        return None


def load_rows(path):
    rows = []
    with open(path) as fh:
        for line in fh:
            v = line.rstrip("\n").split("\t")
            if len(v) < 9:
                continue
            rows.append({"group": v[0], "flows": int(v[1] or 0), "label": v[2], "wall": num(v[3]),
                         "rss": num(v[4]), "read": int(v[5] or 0), "runs": v[6], "status": v[7],
                         "note": v[8]})
    return rows


def load_scores(path):
    sc = {}
    with open(path) as fh:
        for line in fh:
            v = line.rstrip("\n").split("\t", 2)
            if len(v) < 3:
                continue
            try:
                sc[(v[0], int(v[1]))] = json.loads(v[2])
            except ValueError:
                sc[(v[0], int(v[1]))] = {"error": v[2]}
    return sc


def md(s):
    return str(s).replace("|", "\\|")


class Bench:
    def __init__(self, rows, scores, meta):
        self.rows, self.scores, self.meta = rows, scores, meta
        self.by = {(r["group"], r["flows"], r["label"]): r for r in rows}
        self.cols = []          # (shape, flows) of the pair, in shape then size order
        for sh in SHAPES:
            for n in sorted({r["flows"] for r in rows if r["group"] == sh}):
                self.cols.append((sh, n))

    def get(self, g, n, label):
        return self.by.get((g, n, label))

    def wall_text(self, r):
        if r["status"] == "timeout":
            return "> %.0f" % r["wall"] if r["wall"] is not None else "timeout"
        if r["status"] in ("fail", "skipped") or r["wall"] is None:
            return "—"
        return "%.3f" % r["wall"] if r["wall"] < 10 else "%.1f" % r["wall"]

    def ratio(self, a, b):
        """a/b as (value, bound) with bound '>' when a timed out, '<' when b did."""
        if not a or not b or a["wall"] is None or b["wall"] is None or b["wall"] <= 0:
            return None, ""
        if a["status"] not in ("ok", "timeout") or b["status"] not in ("ok", "timeout"):
            return None, ""
        if a["status"] == "timeout" and b["status"] == "timeout":
            return None, ""
        bound = ">" if a["status"] == "timeout" else "<" if b["status"] == "timeout" else ""
        return a["wall"] / b["wall"], bound

    # ---- the measurements
    def table(self):
        out = ["| input | flows a side | command | wall (s) | peak RSS (MB) | bytes a flow | × flows | notes |",
               "|---|---:|---|---:|---:|---:|---:|---|"]
        order = {sh: i for i, sh in enumerate(SHAPES)}
        rows = sorted(self.rows, key=lambda r: (order.get(r["group"], len(order)),
                                                r["flows"] if r["group"] in order else 0))
        for r in rows:
            fl = self.get(r["group"], r["flows"], FLOWS)
            x, bound = self.ratio(r, fl)
            xs = "" if x is None else "%s%.1f×" % (bound, x)
            rss = "" if r["rss"] is None or r["rss"] == 0 else "%.1f" % r["rss"]
            bpf = "" if not rss or not r["read"] else "{:,}".format(round(r["rss"] * 1048576 / r["read"]))
            out.append("| %s | %s | %s | %s | %s | %s | %s | %s |" % (
                md(SHAPES.get(r["group"], r["group"])), size_name(r["flows"]), md(r["label"]),
                self.wall_text(r), rss, bpf, xs, md(r["note"])))
        return out

    # ---- the targets
    @staticmethod
    def failed(*rows):
        """The first natlens command among rows that failed (an error, or out
        of memory under the cap): its target is not met. A failed tcpdump or
        tshark leaves the target unmeasured instead."""
        for r in rows:
            if r and r["label"].startswith("natlens") and r["status"] == "fail":
                return r
        return None

    def cell_ratio(self, g, n, a_label, b_label, limit, at_most=True):
        """Target: wall(a) / wall(b) at most (or at least) limit. A ratio known
        only as a bound (a command stopped at the timeout) that does not show
        the target met counts as not met."""
        a, b = self.get(g, n, a_label), self.get(g, n, b_label)
        bad = self.failed(a, b)
        if bad:
            return "%s failed" % bad["label"].replace("natlens ", ""), False
        x, bound = self.ratio(a, b)
        if x is None:
            return "not measured", None
        ok = x <= limit and bound != ">" if at_most else x >= limit and bound != "<"
        met_or_missed = ok or (at_most and x > limit and bound != "<") or \
            (not at_most and x < limit and bound != ">")
        return "%s%.2f×%s" % (bound, x, "" if met_or_missed else " (stopped)"), ok

    def targets(self):
        cols = self.cols
        head = "| target | " + " | ".join("%s, %s" % (SHAPES[s], size_name(n)) for s, n in cols) + " |"
        out = [head, "|---|" + "---|" * len(cols)]
        tally = {"PASS": 0, "FAIL": 0, "not measured": 0}

        def line(name, cells):
            txt = []
            for c in cells:
                if c is None:
                    txt.append("—")
                    continue
                val, ok = c
                if ok is None:
                    tally["not measured"] += 1
                    txt.append(val)
                else:
                    verdict = "PASS" if ok else "FAIL"
                    tally[verdict] += 1
                    txt.append("%s %s" % (val, "**FAIL**" if not ok else "PASS"))
            out.append("| %s | %s |" % (name, " | ".join(txt)))

        line("correlate ≤ 3× one flows run", [self.cell_ratio(s, n, CORR, FLOWS, 3) for s, n in cols])
        line("report ≤ 4× one flows run", [self.cell_ratio(s, n, REPORT, FLOWS, 4) for s, n in cols])
        cells = []
        for s, n in cols:
            r = self.get(s, n, TUI)
            if r and r["status"] == "fail":
                cells.append(("failed", False))
            elif not r or r["wall"] is None or r["status"] not in ("ok", "timeout"):
                cells.append(("not measured", None))
            elif r["status"] == "timeout":
                cells.append(("> %.0f s" % r["wall"], False))
            else:
                cells.append(("%.2f s" % r["wall"], r["wall"] <= 1.0))
        line("viewer's first flow row ≤ 1 s", cells)
        line("flows ≤ 2× tcpdump's copy", [self.cell_ratio(s, n, FLOWS, TCPDUMP, 2) for s, n in cols])
        line("flows ≥ 20× faster than tshark",
             [self.cell_ratio(s, n, TSHARK, FLOWS, 20, at_most=False) for s, n in cols])

        def score(key, fmt, test):
            cells = []
            for s, n in cols:
                sc = self.scores.get((s, n))
                cj = self.get(s, n, CORRJ)
                if not sc and cj and cj["status"] != "ok":
                    cells.append(("correlate --json %s" % ("stopped" if cj["status"] == "timeout"
                                                           else "failed"), False))
                elif not sc:
                    cells.append(("not measured", None))
                elif "error" in sc or sc.get(key) is None:
                    cells.append(("error", False))
                else:
                    cells.append((fmt(sc), test(sc)))
            return cells
        line("pairing precision ≥ 0.999", score("precision", lambda d: "%.4f" % d["precision"],
                                                 lambda d: d["precision"] >= 0.999))
        line("pairing recall ≥ 0.999", score("recall", lambda d: "%.4f" % d["recall"],
                                              lambda d: d["recall"] >= 0.999))
        line("every rewritten ISN paired", score("isn_paired",
                                                 lambda d: "%d of %d" % (d["isn_paired"], d["isn_rewritten"]),
                                                 lambda d: d["isn_paired"] == d["isn_rewritten"]))
        line("clock offset within 1 ms", score("offset_error_s",
                                               lambda d: "%.3f ms" % (d["offset_error_s"] * 1e3)
                                               if d["offset_error_s"] >= 1e-4
                                               else "%.2f µs" % (d["offset_error_s"] * 1e6),
                                               lambda d: d["offset_error_s"] <= 0.001))
        cells = []
        for s, n in cols:
            r = self.get(s, n, CORR)
            if n < 1000000 or not r:
                cells.append(None)
            elif not r["rss"]:
                cells.append((r["status"], False))
            else:                   # a stopped run's peak is a lower bound
                cells.append(("%s%.0f MB" % ("" if r["status"] == "ok" else "≥", r["rss"]),
                              r["status"] == "ok" and r["rss"] * 1048576 <= 1.5e9 * n / 1e6))
        if any(cells):
            line("correlate ≤ 1.5 GB at 1M flows a side", cells)
        # time per flow, smallest to largest size of each shape
        for label in (FLOWS, CORR, CORRJ, REPORT):
            cells = [None] * len(cols)
            for sh in SHAPES:
                ns = [n for s, n in cols if s == sh]
                if len(ns) < 2:
                    continue
                lo, hi = self.get(sh, ns[0], label), self.get(sh, ns[-1], label)
                i = cols.index((sh, ns[-1]))
                span = "%s→%s" % (size_name(ns[0]), size_name(ns[-1]))
                bad = self.failed(lo, hi)
                if bad:
                    cells[i] = ("failed at %s (%s)" % (size_name(bad["flows"]), span), False)
                    continue
                if not lo or not hi or lo["status"] != "ok" or lo["wall"] is None or hi["wall"] is None \
                        or hi["status"] not in ("ok", "timeout"):
                    cells[i] = ("not measured", None)
                    continue
                g = (hi["wall"] / ns[-1]) / (lo["wall"] / ns[0])
                if hi["status"] == "timeout":
                    txt = ">%.2f× (%s)" % (g, span) if g > 1.3 else "stopped at %s (%s)" % (
                        size_name(ns[-1]), span)
                    cells[i] = (txt, False)
                else:
                    cells[i] = ("%.2f× (%s)" % (g, span), g <= 1.3)
            if any(cells):
                line("time per flow grows ≤ 1.3×: %s" % label.replace("natlens ", ""), cells)
        return out, tally

    def render(self):
        m = self.meta
        out = ["### natlens on issue 11's NAT-pool pair", "",
               "Machine: %s; %s; load average %s. natlens %s, generator checksum %s." % (
                   m.get("machine", "?"), m.get("date", "?"), m.get("load", "?"), m.get("natlens", "?"),
                   m.get("generator", "?")),
               "",
               "Input: `tests/gen/gen_capture --field` (seed 1), N short TCP connections a side (10 packets, "
               "one every 0.5 ms) from ~2,000 inner hosts to 30 servers on 4 ports, no TCP options, "
               "64 request payloads, 5% of ISNs rewritten, 1% of SYN-ACKs lost before the near point, "
               "far clock +2.5 s; *pool of 3*: SNAT to 3 addresses, each serving a stretch of 500 flows, "
               "ports remapped; *pool per flow*: every flow its own far address. `flows`, tcpdump and "
               "tshark read the near capture; correlate, report and the viewer read both.",
               "Wall time: median of up to %s run(s) (one when a run takes over 10 s); peak RSS from "
               "`/usr/bin/time -f %%M`; bytes a flow = peak RSS / flows read; × flows = wall / wall of "
               "`natlens flows` on the same input. Each command is stopped after %s s and capped at %s MB "
               "of address space; the viewer's first flow row is awaited %s s (tmux 200×50, polled every "
               "20 ms)." % (m.get("runs", "?"), m.get("timeout", "?"), m.get("memcap", "?"),
                            m.get("tui_timeout", "?")),
               ""]
        out += self.table()
        if self.cols:
            t, tally = self.targets()
            out += ["", "#### Targets (issue 11)", ""] + t
            out += ["", "%d PASS, %d FAIL, %d not measured." % (tally["PASS"], tally["FAIL"],
                                                               tally["not measured"])]
        return "\n".join(out) + "\n"


def main(argv):
    if len(argv) < 3:
        print(__doc__.strip().splitlines()[2], file=sys.stderr)
        return 2
    meta = dict(a.split("=", 1) for a in argv[3:] if "=" in a)
    try:
        b = Bench(load_rows(argv[1]), load_scores(argv[2]), meta)
    except OSError as e:
        print("bench_table: %s" % e, file=sys.stderr)
        return 2
    sys.stdout.write(b.render())
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
