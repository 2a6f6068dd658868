#!/bin/sh
# t_compressed: captures and record files compressed with gzip, zstd, xz or
# lz4 are read directly, recognised by content (the files here are named
# without any compression extension, some with a misleading one), from a
# regular file, a FIFO and standard input, with the same result as the
# plain file; a natlens-capture pcapng keeps its host context. Other
# compressors are named in a clear error (exit 2). Damage inside
# compressed data (a cut, flipped bytes) gives a warning naming where and
# the analysis of what was read.
set -u
NATLENS=${NATLENS:-build/natlens}
BUILD=${BUILD:-build}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
case $NATLENS in /*) ;; *) NATLENS=$ROOT/$NATLENS ;; esac
GEN=$ROOT/$BUILD/tests/gen_hostmeta
[ -x "$NATLENS" ] || { echo "skip: $NATLENS not built"; exit 77; }
command -v python3 >/dev/null 2>&1 || { echo "skip: python3 not found"; exit 77; }
T=$(mktemp -d /tmp/t_compressed.XXXXXX)
trap 'rm -rf "$T"' EXIT
fails=0
fail() { echo "FAIL: $*"; fails=$((fails + 1)); }

have() { command -v "$1" >/dev/null 2>&1; }
codecs=""
for c in gzip zstd xz lz4; do
    if have $c; then codecs="$codecs $c"; else echo "note: $c tool missing, $c not checked"; fi
done
[ -n "$codecs" ] || { echo "skip: no compressor installed (gzip, zstd, xz, lz4)"; exit 77; }
compress() { # codec in out
    case $1 in
        gzip) gzip -c "$2" > "$3" ;;
        zstd) zstd -q -c "$2" > "$3" ;;
        xz)   xz -c "$2" > "$3" ;;
        lz4)  lz4 -q -c "$2" > "$3" ;;
    esac
}

# same NAME A B: two flows --json documents equal but for file names
same() {
    python3 - "$2" "$3" <<'EOF' || fail "$1: not the same analysis as the plain file"
import json, sys
def norm(p):
    d = json.load(open(p))
    for c in d["captures"]:
        c.pop("file", None)
    for f in d.get("findings", []):
        for e in f.get("evidence", []):
            e.pop("capture", None)
        f.pop("summary", None)
        f.pop("fix", None)
    return d
a, b = norm(sys.argv[1]), norm(sys.argv[2])
if a != b or not a["flows"]:
    print("differs in:", [k for k in a if a[k] != b.get(k)])
    sys.exit(1)
EOF
}

S=$ROOT/samples/halfopen
cp "$S/server.pcap" "$T/plain.pcap"
inputs="$T/plain.pcap"
if [ -x "$GEN" ]; then
    printf '%s' '{"natlens_hostmeta":1,"hostname":"srv","role":"server","ifaces":[{"index":2,"name":"eth0"}]}' > "$T/m.json"
    "$GEN" "$S/server.pcap" "$T/m.json" "$T/plain.pcapng" && inputs="$inputs $T/plain.pcapng"
fi
rec=$ROOT/samples/records/conntrack/events-extended.txt
[ -f "$rec" ] && cp "$rec" "$T/plain.records" && inputs="$inputs $T/plain.records"

for p in $inputs; do
    "$NATLENS" flows --json "$p" > "$T/want.json" 2>/dev/null || { fail "$p: plain file not read"; continue; }
    for c in $codecs; do
        z=$T/$(basename "$p").$c.bin        # the name says nothing
        compress $c "$p" "$z"
        "$NATLENS" flows --json "$z" > "$T/got.json" 2> "$T/err"
        rc=$?
        [ $rc = 0 ] || { fail "$c $(basename "$p"): exit $rc: $(head -c 300 "$T/err")"; continue; }
        same "$c $(basename "$p") (file)" "$T/got.json" "$T/want.json"
        case $p in *.pcapng)
            grep -q '"host_context": *true' "$T/got.json" || fail "$c pcapng: host context lost" ;;
        esac
        "$NATLENS" flows --json - < "$z" > "$T/got.json" 2>/dev/null
        same "$c $(basename "$p") (stdin)" "$T/got.json" "$T/want.json"
        rm -f "$T/fifo"; mkfifo "$T/fifo"
        timeout 20 sh -c 'cat "$1" > "$2"' x "$z" "$T/fifo" &
        timeout 15 "$NATLENS" flows --json "$T/fifo" > "$T/got.json" 2>/dev/null
        [ $? = 124 ] && fail "$c $(basename "$p") (FIFO): hangs"
        same "$c $(basename "$p") (FIFO)" "$T/got.json" "$T/want.json"
        wait
    done
done

# a misleading name: gzip content called .pcap, plain content called .gz
if have gzip; then
    gzip -c "$T/plain.pcap" > "$T/lies.pcap"
    cp "$T/plain.pcap" "$T/lies.gz"
    "$NATLENS" flows --json "$T/plain.pcap" > "$T/want.json"
    for f in lies.pcap lies.gz; do
        "$NATLENS" flows --json "$T/$f" > "$T/got.json" 2>/dev/null || fail "$f: not read"
        same "$f" "$T/got.json" "$T/want.json"
    done
    # concatenated gzip members are one stream (as gzip -d reads them)
    head -c 5000 "$T/plain.pcap" > "$T/a"; tail -c +5001 "$T/plain.pcap" > "$T/b"
    { gzip -c "$T/a"; gzip -c "$T/b"; } > "$T/two-members"
    "$NATLENS" flows --json "$T/two-members" > "$T/got.json" 2>/dev/null
    same "two gzip members" "$T/got.json" "$T/want.json"
fi

# other compressors: named, exit 2
check_other() { # name file
    "$NATLENS" flows "$2" > /dev/null 2> "$T/err"
    rc=$?
    [ $rc = 2 ] || fail "$1: exit $rc, wanted 2"
    grep -qi "$1" "$T/err" || fail "$1: the message does not name the compression: $(cat "$T/err")"
    grep -qF "$(basename "$2")" "$T/err" || fail "$1: the message does not name the file"
}
have bzip2 && { bzip2 -c "$T/plain.pcap" > "$T/x.cap"; check_other bzip2 "$T/x.cap"; }
have zip && { (cd "$T" && zip -q x.zip plain.pcap); cp "$T/x.zip" "$T/zipped.pcap"; check_other zip "$T/zipped.pcap"; }
printf '7z\274\257\047\034\000\004xxxxxxxxxxxxxxxxxxxxxxxxx' > "$T/seven.pcap"; check_other 7z "$T/seven.pcap"

# damage inside compressed data: warning naming where, what came before analysed
# (zstd and lz4 write whole blocks of up to 128 KiB: the capture must span
# several for a cut to leave something decodable)
big=$T/big.pcap
if have mergecap; then
    set --
    for i in 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19 20; do set -- "$@" "$ROOT/samples/mss-clamp/client.pcap"; done
    mergecap -a -F pcap -w "$big" "$@" || cp "$ROOT/samples/dualnic/client.pcap" "$big"
else
    cp "$ROOT/samples/dualnic/client.pcap" "$big"
fi
full=$("$NATLENS" flows --json "$big" | python3 -c 'import json,sys; print(json.load(sys.stdin)["captures"][0]["packets"])')
for c in $codecs; do
    case $c in
        lz4) lz4 -q -B4 -c "$big" > "$T/big.$c" ;;   # 64 KiB blocks
        *) compress $c "$big" "$T/big.$c" ;;
    esac
    n=$(wc -c < "$T/big.$c")
    # every cut: exit 0 with a warning naming where (or 2 when nothing
    # before it could be decoded); at least one cut leaves part of it
    partial=0
    for cut in $((n * 2 / 3)) $((n * 7 / 8)) $((n - 40)) $((n - 10)); do
        head -c $cut "$T/big.$c" > "$T/cut.$c"
        "$NATLENS" flows --json "$T/cut.$c" > "$T/got.json" 2> "$T/err"
        rc=$?
        [ $rc = 0 ] || [ $rc = 2 ] || fail "$c cut at $cut: exit $rc"
        grep -qiE "cut inside $c data.*compressed byte [0-9]+" "$T/err" ||
            fail "$c cut at $cut: no warning naming where: $(cat "$T/err")"
        [ $rc = 0 ] || continue
        got=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["captures"][0]["packets"])' "$T/got.json")
        [ "$got" -gt 0 ] && [ "$got" -lt "$full" ] && partial=1
    done
    [ $partial = 1 ] || fail "$c: no cut left the packets before it analysed"
    # flip bytes in the middle of the compressed data
    python3 - "$T/big.$c" "$T/flip.$c" <<'EOF'
import sys
b = bytearray(open(sys.argv[1], "rb").read())
for k in range(len(b) // 2, len(b) // 2 + 24):
    b[k] ^= 0x5a
open(sys.argv[2], "wb").write(b)
EOF
    timeout 10 "$NATLENS" flows --json "$T/flip.$c" > "$T/got.json" 2> "$T/err"
    rc=$?
    [ $rc = 0 ] || [ $rc = 2 ] || fail "$c flipped: exit $rc"
    grep -qiE "(damaged|cut).*(offset|byte) [0-9]+" "$T/err" || fail "$c flipped: no warning naming where: $(cat "$T/err")"
done
[ $fails -eq 0 ] && echo "ok: gzip/zstd/xz/lz4 read by content; other compressors named; damage located"
exit $fails
