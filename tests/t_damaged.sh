#!/bin/sh
# t_damaged.sh - natlens on damaged and hostile inputs must end by itself,
# exit 0 (valid JSON, a warning with the byte offset for a cut file) or 2
# (a message naming the file), never crash, hang or print raw bytes.
#
# Variants (tests/gen/damage.py) of a few real captures: cuts inside
# records and headers, flipped bytes, lying record and block lengths,
# broken file headers, other link types; plus an empty file, text, random
# bytes, a directory, a missing file, /dev/null, and every regression file
# kept in tests/damaged/; captures and a record file compressed (gzip, zstd,
# xz, lz4), cut and corrupted. With build-asan/natlens present (make asan) the
# same set runs again under ASan/UBSan and any report fails the test.
cd "$(dirname "$0")/.." || exit 2
CORPUS=${CORPUS:-$PWD/tests/corpus}
NATLENS=${NATLENS:-$PWD/${BUILD:-build}/natlens}
if [ ! -x "$NATLENS" ]; then
    echo "natlens binary not built ($NATLENS)"
    exit 77
fi
if ! command -v python3 >/dev/null 2>&1; then
    echo "python3 missing (needed to make the damaged files and check JSON)"
    exit 77
fi
tmp=$(mktemp -d /tmp/natlens-damaged.XXXXXX) || exit 2
trap 'rm -rf "$tmp"' EXIT INT TERM

srcs=""
for f in zeek/wikipedia.pcap zeek/pcapng-multi-interface.pcapng tcpdump/tcp-handshake-nano.pcap \
         zeek/linux-sll2.pcap pcapng/hadrielk/output_be/advanced/test100.pcapng; do
    [ -f "$CORPUS/$f" ] && srcs="$srcs $CORPUS/$f"
done
# two small two-sided samples, when the repository has them
for f in $(find samples -type f \( -name '*.pcap' -o -name '*.pcapng' \) -size -2048k 2>/dev/null | sort | head -n 2); do
    srcs="$srcs $f"
done
if [ -z "$srcs" ]; then
    echo "no captures found under $CORPUS or samples/"
    exit 77
fi
# shellcheck disable=SC2086
python3 tests/gen/damage.py "$tmp/v" $srcs > "$tmp/list" || { echo "damage.py failed"; exit 1; }
mkdir -p "$tmp/dir.pcap"
# record files (samples/records, conntrack logs): cut mid-line, garbled bytes,
# a huge line, deep JSON nesting; each must be read up to the damage or refused
python3 - "$tmp/rec" samples/records/*/* samples/snat-masq/conntrack-router.txt >> "$tmp/list" <<'PYEOF'
import os, random, sys
out = sys.argv[1]; os.makedirs(out, exist_ok=True)
rnd = random.Random(16)
for src in sys.argv[2:]:
    if src.endswith(".py") or not os.path.isfile(src):
        continue
    b = open(src, "rb").read()
    base = os.path.basename(src)
    variants = {"cut": b[: len(b) // 2], "cut1": b[: len(b) * 9 // 10]}
    g = bytearray(b)
    for _ in range(max(1, len(g) // 200)):
        g[rnd.randrange(len(g))] = rnd.randrange(256)
    variants["garbled"] = bytes(g)
    variants["longline"] = b[:200] + b"A" * 70000 + b"\n" + b[200:]
    variants["deep"] = b[:100] + b"[" * 5000 + b"\n" + b[100:]
    for k, v in variants.items():
        p = os.path.join(out, "%s.%s" % (k, base))
        open(p, "wb").write(v)
        print("any", p)
PYEOF
# compressed inputs (analyzer/source_stream.c): each codec whose tool is
# installed, on two captures and a record file: intact, cut in half, cut
# inside the codec's header, bytes flipped in the middle; class "any" (a
# cut that leaves nothing decodable is exit 2, naming the file)
n=0
for s in $(echo $srcs | cut -d' ' -f1-2) samples/records/conntrack/events-extended.txt; do
    [ -f "$s" ] || continue
    n=$((n + 1))
    for c in gzip zstd xz lz4; do
        command -v $c >/dev/null 2>&1 || continue
        z=$tmp/v/z$n-$(basename "$s").$c
        $c -c "$s" > "$z" 2>/dev/null || continue
        len=$(wc -c < "$z")
        head -c $((len / 2)) "$z" > "$z.cut"
        head -c 9 "$z" > "$z.head"
        python3 -c 'import sys; b=bytearray(open(sys.argv[1],"rb").read()); m=len(b)//2
for k in range(m, min(m+16, len(b))): b[k]^=0xa5
open(sys.argv[2],"wb").write(b)' "$z" "$z.flip"
        for v in "$z" "$z.cut" "$z.head" "$z.flip"; do echo "any $v"; done
    done
done >> "$tmp/list"
# conntrack event blocks inside a capture (natlens-capture --conntrack): one
# event block cut at the end of the file, its block length lying, its body
# garbage, its own body length lying, an unknown layout version; each must
# be read (exit 0) with a warning naming the byte offset (class ctblock)
if [ -f samples/records/capture/router-conntrack.pcapng ]; then
    python3 - "$tmp/ct" samples/records/capture/router-conntrack.pcapng >> "$tmp/list" <<'PYEOF'
import os, random, struct, sys
out = sys.argv[1]; os.makedirs(out, exist_ok=True)
b = bytearray(open(sys.argv[2], "rb").read())
blocks, off = [], 0
while off + 12 <= len(b):
    t, n = struct.unpack_from("<II", b, off)
    blocks.append((off, t, n)); off += n
ev = [(o, n) for o, t, n in blocks if t == 0xBAD and b[o + 12:o + 16] == b"NLCT" and b[o + 17] == 1]
mid, last = ev[len(ev) // 2], ev[-1]
rnd = random.Random(17)
def put(name, data):
    p = os.path.join(out, name); open(p, "wb").write(bytes(data)); print("ctblock", p)
put("ct-cut.pcapng", b[:last[0] + last[1] // 2])             # the file ends inside an event
v = bytearray(b); struct.pack_into("<I", v, mid[0] + 4, mid[1] + 64); put("ct-blocklen.pcapng", v)
v = bytearray(b); struct.pack_into("<I", v, mid[0] + 4, 16); put("ct-blocklen-short.pcapng", v)
v = bytearray(b)
for i in range(mid[0] + 20, mid[0] + mid[1] - 4):
    v[i] = rnd.randrange(256)
v[mid[0] + 20] = 0xee                                      # never a valid event type
put("ct-garbage.pcapng", v)
v = bytearray(b); struct.pack_into(">H", v, mid[0] + 18, 0xfff0); put("ct-bodylen.pcapng", v)
v = bytearray(b); v[mid[0] + 16] = 9; put("ct-version.pcapng", v)
PYEOF
fi
{
    echo "any $tmp/dir.pcap"
    echo "any $tmp/does-not-exist.pcap"
    echo "any /dev/null"
    for f in tests/damaged/*; do
        [ -f "$f" ] || continue
        case $(basename "$f") in fuzz_decode-*|README*|*.md|*.txt) continue ;; esac
        echo "any $f"
    done
} >> "$tmp/list"

fails=0
runs=0
# check BIN TAG: run every listed file, judge exit status and output
check() {
    bin=$1; tag=$2
    : > "$tmp/json-$tag"
    n=0
    while read -r cls f; do
        n=$((n + 1)); runs=$((runs + 1))
        out="$tmp/out-$tag-$n"; err="$tmp/err-$tag-$n"
        timeout 10 "$bin" flows --json "$f" > "$out" 2> "$err"
        rc=$?
        bad=""
        case $rc in
            0) echo "$out $f" >> "$tmp/json-$tag" ;;
            2) b=$(basename "$f")
               grep -qF "$b" "$err" || bad="exit 2 without naming the file on stderr" ;;
            124|137) bad="did not end within 10 s" ;;
            *) bad="exit status $rc" ;;
        esac
        if { [ "$cls" = cut ] || [ "$cls" = ctblock ]; } && [ -z "$bad" ]; then
            if [ $rc -ne 0 ]; then
                bad="$cls file not analysed up to the damage (exit $rc)"
            elif ! grep -qiE '(offset|byte)[^0-9]{0,20}[0-9]+' "$err"; then
                bad="$cls file without a warning naming the offset"
            fi
        fi
        if grep -qE 'AddressSanitizer|LeakSanitizer|UndefinedBehaviorSanitizer|runtime error:' "$err"; then
            bad="sanitizer report"
        fi
        # raw bytes on the terminal: anything but printable text, tab, newline, UTF-8
        if LC_ALL=C tr -d '\t\n\200-\377' < "$err" | LC_ALL=C grep -q '[[:cntrl:]]'; then
            bad="${bad:+$bad; }control bytes on stderr"
        fi
        if [ -n "$bad" ]; then
            fails=$((fails + 1))
            echo "FAIL [$tag] $f: $bad"
            head -c 600 "$err" | LC_ALL=C tr -c '[:print:]\n' '?' | sed 's/^/    /'
        fi
    done < "$tmp/list"
    # every exit-0 output must be one JSON document
    python3 - "$tmp/json-$tag" <<'EOF' || fails=$((fails + 1))
import json, sys
bad = 0
for line in open(sys.argv[1]):
    out, src = line.rstrip("\n").split(" ", 1)
    try:
        with open(out, "rb") as fh:
            doc = json.loads(fh.read().decode("utf-8"))
        if not isinstance(doc, dict) or "flows" not in doc:
            raise ValueError("no \"flows\" member")
    except (ValueError, UnicodeDecodeError) as e:
        bad += 1
        print(f"FAIL invalid JSON for {src}: {e}")
sys.exit(1 if bad else 0)
EOF
}

# correlate with a damaged near side: every cut and every 4th other variant
# against an intact capture (only once `natlens correlate` exists)
check_corr() {
    bin=$1; tag=$2
    good=$(echo $srcs | cut -d' ' -f1)
    n=0
    while read -r cls f; do
        n=$((n + 1))
        [ "$cls" = cut ] || [ $((n % 4)) -eq 0 ] || continue
        runs=$((runs + 1))
        err="$tmp/cerr-$tag-$n"
        timeout 10 "$bin" correlate --json "$f" "$good" > "$tmp/cout" 2> "$err"
        rc=$?
        bad=""
        case $rc in
            0) python3 -c 'import json,sys; json.load(open(sys.argv[1]))' "$tmp/cout" 2>/dev/null ||
                   bad="invalid JSON" ;;
            2) grep -qF "$(basename "$f")" "$err" || bad="exit 2 without naming the file on stderr" ;;
            124|137) bad="did not end within 10 s" ;;
            *) bad="exit status $rc" ;;
        esac
        if grep -qE 'AddressSanitizer|LeakSanitizer|UndefinedBehaviorSanitizer|runtime error:' "$err"; then
            bad="sanitizer report"
        fi
        if [ -n "$bad" ]; then
            fails=$((fails + 1))
            echo "FAIL [$tag correlate] $f: $bad"
            head -c 600 "$err" | LC_ALL=C tr -c '[:print:]\n' '?' | sed 's/^/    /'
        fi
    done < "$tmp/list"
}
has_correlate() { "$1" correlate --help > /dev/null 2>&1; }

check "$NATLENS" plain
has_correlate "$NATLENS" && check_corr "$NATLENS" plain
if [ -x build-asan/natlens ]; then
    ASAN_OPTIONS=detect_leaks=1:allocator_may_return_null=1
    LSAN_OPTIONS=suppressions=$PWD/tests/fuzz/lsan.supp   # third-party leaks (see the file)
    export LSAN_OPTIONS
    UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
    export ASAN_OPTIONS UBSAN_OPTIONS
    check "$PWD/build-asan/natlens" asan
    has_correlate "$PWD/build-asan/natlens" && check_corr "$PWD/build-asan/natlens" asan
    checked="plain and ASan/UBSan builds"
else
    checked="plain build only (make asan for the sanitizer pass)"
fi
echo "$runs runs on $(wc -l < "$tmp/list") damaged inputs, $checked: $fails failures"
[ $fails -eq 0 ]
