#!/usr/bin/env python3
"""manpage_check.py - the manual pages against the commands (t_manpage.sh).

Reads natlens.1 and natlens-capture.1 (man(7) source) and checks, per
command:
  * options: every option of `natlens CMD --help` (and natlens-capture's)
    is in the command's OPTIONS list in the man page and every listed one
    is in --help; every SYNOPSIS option (.SY/.YS) is listed, and every
    listed option (or one of its aliases) is in the SYNOPSIS;
  * the code takes every documented option (`CMD OPT [1] --help` draws no
    "unknown option"), and every option the sources parse (getopt tables
    and strings, option literals compared with strcmp) is documented;
  * the viewer's key table (tui_keys.c) is VIEWER KEYS, the finding kinds
    (diagnose.c kind_names) are FINDINGS, every getenv() is in ENVIRONMENT;
  * every member name of the JSON and NDJSON documents the commands write
    on the samples is named in OUTPUT;
  * groff -ww and mandoc -Tlint (when installed) find nothing.
Prints what differs; exits 1 on any difference, 0 when all agree.

usage: manpage_check.py --root DIR --natlens BIN --capture BIN
                        [--man FILE] [--capman FILE] [--no-json]
"""
import argparse
import glob
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile

NATLENS_CMDS = ["flows", "correlate", "report", "tui", "fleet"]
CAPTURE_CMDS = ["", "probe", "meta"]
# documented once, under "Every command", not in every synopsis
GENERAL = {"-h", "--help", "--version"}

OPT_RE = re.compile(r"(?<![\w/.-])(--?[A-Za-z][A-Za-z0-9-]*)")

errors = []


def err(msg):
    errors.append(msg)


# ---- man(7) source ---------------------------------------------------------

def troff_text(line):
    """A source line as the words it prints: macro name dropped, quotes,
    font and character escapes removed, \\- as -."""
    s = line.rstrip("\n")
    if s.startswith(".\\\"") or s.startswith("'\\\""):
        return ""
    if s.startswith(".") or s.startswith("'"):
        parts = s[1:].split(None, 1)
        s = parts[1] if len(parts) > 1 else ""
        s = s.replace('"', "")
    s = re.sub(r"\\f\[[^]]*\]|\\f\(..|\\f.", "", s)
    s = s.replace("\\-", "-").replace("\\~", " ").replace("\\ ", " ")
    s = re.sub(r"\\\(..", " ", s)
    s = re.sub(r"\\[&%c]", "", s)
    s = s.replace("\\e", "\\")
    return s


def options_in(text):
    return set(OPT_RE.findall(text))


class ManPage:
    """What one page says: synopsis options per command, option entries
    (alias groups) per command, .TP tags and text per section."""

    def __init__(self, path, prog):
        self.path = path
        self.prog = prog
        self.lines = open(path, encoding="utf-8").read().split("\n")
        self.synopsis = {}      # cmd -> set of options
        self.entries = {}       # cmd -> list of (group set, takes value)
        self.section_tags = {}  # .SH title -> list of tag texts
        self.section_text = {}  # .SH title -> text
        self.sub_text = {}      # (.SH, .SS) -> text
        self.general = set()    # options of "Every command"
        self._parse()

    def _cmd_of(self, title):
        words = title.split()
        if not words or words[0] != self.prog:
            return None
        return " ".join(words[1:])

    def _parse(self):
        sh = ss = None
        sy = None
        tag_next = False
        for raw in self.lines:
            if raw.startswith(".SH"):
                sh, ss = troff_text(raw).strip(), None
                self.section_tags.setdefault(sh, [])
                self.section_text.setdefault(sh, "")
                continue
            if raw.startswith(".SS"):
                ss = troff_text(raw).strip()
                continue
            if raw.startswith(".SY"):
                sy = self._cmd_of(troff_text(raw).strip())
                if sy is None:
                    err(f"{self.path}: .SY of another program: {raw}")
                self.synopsis.setdefault(sy, set())
                continue
            if raw.startswith(".YS"):
                sy = None
                continue
            text = troff_text(raw)
            if sy is not None:
                self.synopsis[sy] |= options_in(text)
                continue
            if sh is None:
                continue
            self.section_text[sh] += text + "\n"
            if ss is not None:
                key = (sh, ss)
                self.sub_text[key] = self.sub_text.get(key, "") + text + "\n"
            if raw.startswith(".TP"):
                tag_next = True
                continue
            if tag_next:
                tag_next = False
                self.section_tags[sh].append(text.strip())
                group = options_in(text)
                if not group:
                    continue
                rest = OPT_RE.sub("", text).replace(",", " ").split()
                entry = (group, bool(rest))
                cmd = self._cmd_of(ss) if ss else None
                if sh == "COMMANDS" and ss == "Every command":
                    self.general |= group
                elif sh == "COMMANDS" and cmd is not None:
                    self.entries.setdefault(cmd, []).append(entry)

    def listed(self, cmd):
        out = set()
        for group, _ in self.entries.get(cmd, []):
            out |= group
        return out

    def documented(self):
        out = set(self.general)
        for cmd in self.entries:
            out |= self.listed(cmd)
        for s in self.synopsis.values():
            out |= s
        return out


# ---- --help ----------------------------------------------------------------

def run(argv, timeout=30):
    try:
        p = subprocess.run(argv, stdin=subprocess.DEVNULL, capture_output=True,
                           timeout=timeout, text=True, errors="replace")
    except subprocess.TimeoutExpired:
        return 124, "", "timeout"
    return p.returncode, p.stdout, p.stderr


def help_blocks(text, prog, cmds):
    """Options of each command in a --help text. A block starts at a
    synopsis line ("usage: natlens flows ...", "  natlens-capture probe
    ...") and ends at the next one or a blank line."""
    blocks = {}
    cur = None
    syn = re.compile(r"^\s*(?:usage:\s*)?" + re.escape(prog) + r"(?=\s|$)\s*(\S*)")
    for line in text.split("\n"):
        if not line.strip():
            cur = None
            continue
        m = syn.match(line)
        if m:
            word = m.group(1)
            if word in cmds and word:
                cur = word
                line = line[m.end():]
            elif "" in cmds:    # natlens-capture: no command word = capture
                cur = ""
                line = line[m.start(1):]
            else:
                cur = None
            if cur is not None:
                blocks.setdefault(cur, set())
        # `...` quotes another command line: a reference, not an option
        line = re.sub(r"`[^`]*`", "", line)
        if cur is not None:
            blocks[cur] |= options_in(line)
    return blocks


def name(prog, cmd):
    return f"{prog} {cmd}".strip()


def check_help(man, bin_path, prog, cmds, invocations, subset_invocations):
    full = {c: set() for c in cmds}
    for argv in invocations:
        rc, out, e = run([bin_path] + argv)
        if rc != 0 or not out.strip():
            err(f"`{prog} {' '.join(argv)}` exited {rc} (wants 0 and the help on stdout)")
            continue
        for c, opts in help_blocks(out, prog, cmds).items():
            full[c] |= opts
    for c in cmds:
        h = full[c] - GENERAL
        listed = man.listed(c) - GENERAL
        syn = man.synopsis.get(c)
        who = name(prog, c)
        if syn is None:
            err(f"{man.path}: no SYNOPSIS (.SY) for `{who}`")
            syn = set()
        if not listed:
            err(f"{man.path}: no OPTIONS entries (.SS \"{who}\", .TP) for `{who}`")
        for o in sorted(h - listed):
            err(f"`{who} --help` shows {o}; {man.path} does not list it under {who}")
        for o in sorted(listed - h):
            err(f"{man.path} lists {o} under {who}; `{who} --help` does not show it")
        for o in sorted((syn - GENERAL) - listed):
            err(f"{man.path}: SYNOPSIS of {who} has {o}, its OPTIONS do not")
        for group, _ in man.entries.get(c, []):
            if not (group & syn) and not (group <= GENERAL):
                err(f"{man.path}: {'/'.join(sorted(group))} of {who} is not in its SYNOPSIS")
    for argv in subset_invocations:
        rc, out, e = run([bin_path] + argv)
        if rc != 0:
            err(f"`{prog} {' '.join(argv)}` exited {rc}")
            continue
        for c, opts in help_blocks(out, prog, cmds).items():
            for o in sorted(opts - GENERAL - man.listed(c)):
                err(f"`{prog} {' '.join(argv)}` shows {o} for {c}; {man.path} does not list it")


UNKNOWN = re.compile(r"unrecognized option|unknown option|invalid option", re.I)


def check_accepted(man, bin_path, prog, cmds):
    """Every documented option is one the command takes."""
    for c in cmds:
        for group, value in man.entries.get(c, []):
            for o in sorted(group):
                argv = [bin_path] + ([c] if c else []) + [o] + (["1"] if value else []) + ["--help"]
                rc, out, e = run(argv)
                if UNKNOWN.search(e) or rc == 124:
                    err(f"{man.path} lists {o} under {name(prog, c)}; the command does not take it "
                        f"({e.strip().splitlines()[0] if e.strip() else 'rc ' + str(rc)})")


# ---- the sources ------------------------------------------------------------

def source_options(files):
    found = {}
    for f in files:
        src = open(f, encoding="utf-8", errors="replace").read()
        src_nc = re.sub(r"/\*.*?\*/", "", src, flags=re.S)
        for m in re.finditer(r'\{\s*"([a-z][a-z0-9-]*)"\s*,\s*(?:no|required|optional)_argument', src_nc):
            found.setdefault("--" + m.group(1), f)
        # compared with an argument (hand-written loops); literals elsewhere
        # are other programs' arguments (clickhouse-client's --query)
        for m in re.finditer(r'str(?:n)?cmp\s*\(\s*[^,()]+\s*,\s*"(--[a-z][a-z0-9-]*)=?"', src_nc):
            found.setdefault(m.group(1), f)
        for m in re.finditer(r'getopt_long\s*\([^;"]*"([^"]*)"', src_nc):
            for ch in m.group(1):
                if ch.isalnum():
                    found.setdefault("-" + ch, f)
        for m in re.finditer(r'str(?:n)?cmp\s*\(\s*[^,()]+\s*,\s*"(-[A-Za-z])"', src_nc):
            found.setdefault(m.group(1), f)
    return found


def check_sources(man, files):
    doc = man.documented()
    for o, f in sorted(source_options(files).items()):
        if o not in doc:
            err(f"{f} parses {o}; {man.path} documents it nowhere (SYNOPSIS or OPTIONS)")


def check_getenv(man, files):
    env_tags = " ".join(man.section_tags.get("ENVIRONMENT", []))
    for f in files:
        for v in re.findall(r'getenv\s*\(\s*"([A-Za-z_][A-Za-z0-9_]*)"', open(f, errors="replace").read()):
            if not re.search(r"(?<![A-Za-z0-9_])" + v + r"(?![A-Za-z0-9_])", env_tags):
                err(f"{f} reads ${v}; {man.path} ENVIRONMENT does not name it")


def c_strings(block):
    return re.findall(r'"((?:[^"\\]|\\.)*)"', block)


def check_keys(man, root):
    src = open(os.path.join(root, "analyzer/tui/tui_keys.c"), errors="replace").read()
    table = src[src.index("const tui_key tui_keys[]"):]
    table = table[:table.index("};")]
    labels = set(m.group(1) for m in re.finditer(r'\{\{[^}]*\}\s*,\s*"((?:[^"\\]|\\.)*)"', table))
    labels = set(l.replace("\\\\", "\\") for l in labels)
    tags = set(man.section_tags.get("VIEWER KEYS", []))
    if not labels:
        err("tui_keys.c: no key table found")
    for k in sorted(labels - tags):
        err(f"tui_keys.c has the key '{k}'; {man.path} VIEWER KEYS does not list it")
    for k in sorted(tags - labels):
        err(f"{man.path} VIEWER KEYS lists '{k}'; tui_keys.c's table has no such label")


def check_kinds(man, root):
    src = open(os.path.join(root, "analyzer/diagnose.c"), errors="replace").read()
    m = re.search(r"kind_names\s*\[[^]]*\]\s*=\s*\{(.*?)\};", src, re.S)
    kinds = set(c_strings(m.group(1))) if m else set()
    tags = set(man.section_tags.get("FINDINGS", []))
    if not kinds:
        err("diagnose.c: kind_names not found")
    for k in sorted(kinds - tags):
        err(f"diagnose.c has the finding kind {k}; {man.path} FINDINGS does not describe it")
    for k in sorted(tags - kinds):
        err(f"{man.path} FINDINGS describes {k}; diagnose.c has no such kind")


# ---- the documents ----------------------------------------------------------

def json_keys(doc, acc):
    if isinstance(doc, dict):
        for k, v in doc.items():
            acc.add(k)
            json_keys(v, acc)
    elif isinstance(doc, list):
        for v in doc:
            json_keys(v, acc)


def word_in(word, text):
    return re.search(r"(?<![A-Za-z0-9_])" + re.escape(word) + r"(?![A-Za-z0-9_])", text) is not None


def check_json(man, natlens, root):
    out_text = man.section_text.get("OUTPUT", "")
    nd_text = man.sub_text.get(("OUTPUT", "Flow records (NDJSON)"), "")
    if not nd_text:
        err(f"{man.path}: no OUTPUT subsection 'Flow records (NDJSON)'")
    s = os.path.join(root, "samples")
    runs = []
    for p in sorted(glob.glob(os.path.join(s, "*", "*.pcap"))):
        runs.append(["flows", "--json", p])
    for p in sorted(glob.glob(os.path.join(s, "records", "*", "*"))):
        if not p.endswith((".py", ".md")):
            runs.append(["flows", "--json", p])
    for d in sorted(glob.glob(os.path.join(s, "*", "client.pcap"))):
        srv = os.path.join(os.path.dirname(d), "server.pcap")
        if os.path.exists(srv):
            runs.append(["correlate", "--json", d, srv])
    for names in (["client", "fw-in", "fw-out", "server"], ["client", "lb-in", "lb-out", "backend1"]):
        for sc in ("asym-return", "lb"):
            ps = [os.path.join(s, sc, n + ".pcap") for n in names]
            if all(os.path.exists(p) for p in ps):
                runs.append(["correlate", "--json"] + ps)
    nat = os.path.join(s, "records", "gcp_nat", "nat-log-exhausted.json")
    masq = os.path.join(s, "snat-masq", "client.pcap")
    if os.path.exists(nat) and os.path.exists(masq):
        runs.append(["correlate", "--json", masq, nat])
        runs.append(["report", "-o", "-", "--format", "json", masq, nat])
    for sc in ("asym-return", "halfopen"):
        runs.append(["report", "-o", "-", "--format", "json",
                     os.path.join(s, sc, "client.pcap"), os.path.join(s, sc, "server.pcap")])
    runs.append(["report", "-o", "-", "--format", "json", os.path.join(s, "halfopen", "client.pcap")])
    if len(runs) < 10:
        err(f"only {len(runs)} sample runs: samples/ missing?")
    # the public corpus: tunnels, link types, damage (a file natlens refuses
    # is only not looked at)
    optional = []
    for p in sorted(glob.glob(os.path.join(root, "tests", "corpus", "*", "*.pcap*"))):
        if p.endswith((".pcap", ".pcapng")):
            optional.append(["flows", "--json", p])
    keys = set()
    for argv in runs + optional:
        rc, out, e = run([natlens] + argv, timeout=120)
        if rc not in (0, 1) and argv in optional:
            continue
        if rc not in (0, 1):
            err(f"`natlens {' '.join(argv)}` exited {rc}: {e.strip()[:200]}")
            continue
        try:
            json_keys(json.loads(out), keys)
        except ValueError as ex:
            err(f"`natlens {' '.join(argv)}`: not JSON ({ex})")
    for k in sorted(keys):
        if not word_in(k, out_text):
            err(f"the JSON documents have '{k}'; {man.path} OUTPUT does not name it")
    # NDJSON: per-direction fields are documented without their prefix,
    # Zeek's TCP endpoint state as tcp_*
    nd = set()
    with tempfile.TemporaryDirectory() as tmp:
        for sc in ("asym-return/server.pcap", "snat-switch/client.pcap", "dualnic/client.pcap"):
            o = os.path.join(tmp, "r.ndjson")
            rc, out, e = run([natlens, "flows", "--ndjson", o, os.path.join(s, sc)])
            if rc != 0:
                err(f"`natlens flows --ndjson` on {sc} exited {rc}")
                continue
            for line in open(o):
                json_keys(json.loads(line), nd)
    for k in sorted(nd):
        base = re.sub(r"^(orig|resp)_", "", k)
        if base.startswith("tcp_") and word_in("tcp_*", nd_text.replace("tcp_*", "tcp_* ")):
            continue
        if not (word_in(k, nd_text) or word_in(base, nd_text)):
            err(f"the flow records have '{k}'; {man.path} OUTPUT, Flow records, does not name it")


def check_render(path):
    """The source holds no control byte but newline (a Python "\\f" once
    became a form feed), and the rendered page shows no font escape as text
    (\\fB printed instead of bold, a doubled backslash)."""
    with open(path, "rb") as f:
        raw = f.read()
    for n, line in enumerate(raw.split(b"\n"), 1):
        bad = sorted({c for c in line if c < 0x20 or c == 0x7f})
        if bad:
            err(f"{path}:{n}: control byte(s) {', '.join('0x%02x' % c for c in bad)} in the source")
    if not shutil.which("groff"):
        return
    env = dict(os.environ, MANWIDTH="100", LC_ALL="C.UTF-8")
    p = subprocess.run(["groff", "-man", "-Tutf8", "-P-cbou", path], capture_output=True,
                       env=env, timeout=60)
    text = p.stdout.decode("utf-8", "replace")
    for n, line in enumerate(text.splitlines(), 1):
        m = re.search(r"\\f[BIRP(\[]|\\\(|\\-|\f", line)
        if m:
            err(f"{path}: rendered line {n} shows a font or character escape: {line.strip()[:120]}")


def check_lint(path):
    check_render(path)
    if shutil.which("groff"):
        rc, out, e = run(["groff", "-man", "-Tutf8", "-ww", "-z", path])
        if rc != 0 or e.strip():
            err(f"groff -ww {path}: {e.strip()[:500]}")
    else:
        print(f"note: groff not installed, {path} not checked with it")
    if shutil.which("mandoc"):
        rc, out, e = run(["mandoc", "-Tlint", "-W", "warning", path])
        msgs = (out + e).strip()
        if rc != 0 or msgs:
            err(f"mandoc -Tlint {path}: {msgs[:800]}")
    else:
        print(f"note: mandoc not installed, {path} not linted with it")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--root", required=True)
    ap.add_argument("--natlens", required=True)
    ap.add_argument("--capture", required=True)
    ap.add_argument("--man")
    ap.add_argument("--capman")
    ap.add_argument("--no-json", action="store_true")
    a = ap.parse_args()
    root = a.root
    man = ManPage(a.man or os.path.join(root, "natlens.1"), "natlens")
    cap = ManPage(a.capman or os.path.join(root, "natlens-capture.1"), "natlens-capture")

    check_help(man, a.natlens, "natlens", NATLENS_CMDS,
               [[c, "--help"] for c in NATLENS_CMDS], [["--help"]])
    check_help(cap, a.capture, "natlens-capture", CAPTURE_CMDS,
               [["--help"], ["probe", "--help"], ["meta", "--help"]], [])
    check_accepted(man, a.natlens, "natlens", NATLENS_CMDS)
    check_accepted(cap, a.capture, "natlens-capture", CAPTURE_CMDS)
    an_src = sorted(glob.glob(os.path.join(root, "analyzer/cli/*.c")) +
                    glob.glob(os.path.join(root, "analyzer/tui/tui_main.c")))
    cap_src = sorted(glob.glob(os.path.join(root, "capture/*.c")))
    check_sources(man, an_src)
    check_sources(cap, cap_src)
    check_getenv(man, sorted(glob.glob(os.path.join(root, "analyzer/**/*.c"), recursive=True)))
    check_getenv(cap, cap_src)
    check_keys(man, root)
    check_kinds(man, root)
    if not a.no_json:
        check_json(man, a.natlens, root)
    check_lint(man.path)
    check_lint(cap.path)
    for e in errors:
        print("FAIL: " + e)
    if errors:
        print(f"{len(errors)} differences between the manual pages and the commands")
        return 1
    print("manual pages agree with --help, the sources and the documents")
    return 0


if __name__ == "__main__":
    sys.exit(main())
