#!/usr/bin/env python3
"""readme_examples.py - the README's example outputs are what natlens prints.

A README code block whose first line is "$ natlens ARGS" shows what that
command prints, run from the repository's root, on a terminal of 100
columns without colour (run() says how). A block whose last line is
"..." shows the first lines only. Trailing blanks are not compared (editors
strip them).

usage: readme_examples.py --natlens BIN [--readme FILE] [--update]
  --update   rewrite the blocks with today's output (same number of lines
             for a block cut with "...")
Exit: 0 all blocks agree (or were updated), 1 a block differs, 2 bad usage.
"""
import argparse
import difflib
import os
import pty
import select
import shlex
import subprocess
import sys
import time

COLUMNS = 100


def blocks(lines):
    """(start, end) line indexes of ``` blocks whose first line is a natlens
    command; start is the "$ natlens" line, end the closing fence."""
    i = 0
    while i < len(lines):
        if lines[i].startswith("```") and i + 1 < len(lines) and lines[i + 1].startswith("$ natlens "):
            j = i + 2
            while j < len(lines) and not lines[j].startswith("```"):
                j += 1
            yield i + 1, j
            i = j + 1
        else:
            i += 1


def run(natlens, cmdline, root):
    """The command as a 100-column terminal shows it: standard output is a
    pseudo-terminal (text is wrapped to the terminal, never in a pipe) with
    COLUMNS=100 and NO_COLOR=1; standard error a pipe."""
    argv = shlex.split(cmdline[2:])
    env = dict(os.environ, COLUMNS=str(COLUMNS), NO_COLOR="1")
    master, slave = pty.openpty()
    p = subprocess.Popen([natlens] + argv[1:], cwd=root, stdout=slave, stderr=subprocess.PIPE,
                         stdin=subprocess.DEVNULL, env=env)
    os.close(slave)
    out = b""
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        r, _, _ = select.select([master], [], [], 1.0)
        if not r:
            if p.poll() is not None:
                break
            continue
        try:
            chunk = os.read(master, 65536)
        except OSError:          # EIO: the child closed the terminal
            break
        if not chunk:
            break
        out += chunk
    os.close(master)
    if p.poll() is None:
        p.kill()
    err = p.stderr.read().decode("utf-8", "replace")
    rc = p.wait()
    text = out.decode("utf-8", "replace").replace("\r\n", "\n")
    return rc, text.rstrip("\n").split("\n"), err


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--natlens", required=True)
    ap.add_argument("--readme")
    ap.add_argument("--update", action="store_true")
    a = ap.parse_args()
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    path = a.readme or os.path.join(root, "README.md")
    lines = open(path, encoding="utf-8").read().split("\n")
    out = list(lines)
    bad = n = 0
    # from the last block up, so replacing one keeps the others' indexes
    for start, end in reversed(list(blocks(lines))):
        n += 1
        cmd = lines[start]
        shown = lines[start + 1:end]
        cut = bool(shown) and shown[-1].strip() in ("...", "\u2026")
        rc, got, err = run(a.natlens, cmd, root)
        if rc not in (0, 1):
            print(f"{path}:{start + 1}: `{cmd[2:]}` exited {rc}: {err.strip()[:300]}")
            bad += 1
            continue
        want = [l.rstrip() for l in (shown[:-1] if cut else shown)]
        have = [l.rstrip() for l in (got[:len(want)] if cut else got)]
        if want == have:
            continue
        if a.update:
            out[start + 1:end] = have + ([shown[-1]] if cut else [])
            print(f"{path}:{start + 1}: updated `{cmd[2:]}`")
            continue
        bad += 1
        print(f"{path}:{start + 1}: `{cmd[2:]}` prints something else today:")
        for d in difflib.unified_diff(want, have, "README", "today", lineterm="", n=1):
            print("    " + d)
    if a.update:
        open(path, "w", encoding="utf-8").write("\n".join(out))
        return 0
    if n == 0:
        print(f"{path}: no example blocks ('$ natlens ...') found")
        return 1
    print(f"{n - bad} of {n} README examples print what the README shows")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
