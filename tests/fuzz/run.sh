#!/bin/sh
# tests/fuzz/run.sh - build and run the libFuzzer targets (`make fuzz`).
#
# Builds the library sources (analyzer/*.c) with clang and
# -fsanitize=fuzzer-no-link,address,undefined into build-fuzz/, links each
# tests/fuzz/fuzz_*.c target, replays the regression files kept in
# tests/damaged/ (fuzz_<target>-*), then fuzzes each target from seeds made
# of every capture under samples/ and $CORPUS.
#
# Environment:
#   FUZZ_SECONDS  seconds per target (default 300)
#   FUZZ_RUNS     a run count instead of a time (e.g. 100000)
#   FUZZ_TARGETS  which targets (default: fuzz_decode fuzz_trace, plus
#                 fuzz_correlate and fuzz_hostmeta when their headers exist)
#   FUZZ_BUILD    build directory (default build-fuzz)
#   FUZZ_NO_SAN   UBSan checks to leave out while a known report awaits its
#                 fix (e.g. "nonnull-attribute"), so fuzzing can go deeper
# A crash, leak or timeout is copied to tests/damaged/fuzz_<target>-<sha>
# (a regression file from then on) and the script exits 1.
set -u
cd "$(dirname "$0")/../.." || exit 2
CLANG=${CLANG:-clang}
OUT=${FUZZ_BUILD:-build-fuzz}
CORPUS=${CORPUS:-$PWD/tests/corpus}
FUZZ_SECONDS=${FUZZ_SECONDS:-300}
FUZZ_RUNS=${FUZZ_RUNS:-}

if ! command -v "$CLANG" >/dev/null 2>&1; then
    echo "fuzz: skipped, clang not installed (apt-get install clang libclang-rt-14-dev)"
    exit 77
fi
PCAP_CFLAGS=$(pkg-config --cflags libpcap 2>/dev/null)
PCAP_LIBS=$(pkg-config --libs libpcap 2>/dev/null || echo -lpcap)
# the library's dependencies and include paths: the Makefile's own
LIB_LIBS=$(make -s --no-print-directory print-libs 2>/dev/null) ||
    LIB_LIBS="$PCAP_LIBS $(pkg-config --libs nettle json-c libxml-2.0 2>/dev/null) -lm"
LIB_CFLAGS=$(make -s --no-print-directory print-cflags 2>/dev/null) ||
    LIB_CFLAGS="$PCAP_CFLAGS $(pkg-config --cflags json-c libxml-2.0 2>/dev/null)"
SAN="address,undefined"
NOSAN=""
[ -n "${FUZZ_NO_SAN:-}" ] && NOSAN="-fno-sanitize=$FUZZ_NO_SAN"
CF="-O1 -g -fno-omit-frame-pointer -std=c11 -D_GNU_SOURCE -Iinclude $LIB_CFLAGS -DNATLENS_VERSION=\"fuzz\""
mkdir -p "$OUT/obj" "$OUT/artifacts" "$OUT/corpus" "$OUT/seeds" || exit 2
if [ "$(cat "$OUT/obj/.san" 2>/dev/null)" != "${FUZZ_NO_SAN:-}" ]; then
    rm -f "$OUT"/obj/*.o
    echo "${FUZZ_NO_SAN:-}" > "$OUT/obj/.san"
fi

# ---- library, rebuilt file by file when a source or any header is newer
newest_hdr=$(ls -t include/natlens/*.h analyzer/*.h 2>/dev/null | head -n 1)
objs=""
for src in analyzer/*.c; do
    obj="$OUT/obj/$(basename "$src" .c).o"
    if [ ! -f "$obj" ] || [ "$src" -nt "$obj" ] || { [ -n "$newest_hdr" ] && [ "$newest_hdr" -nt "$obj" ]; }; then
        # shellcheck disable=SC2086
        $CLANG $CF -fsanitize=fuzzer-no-link,$SAN -fno-sanitize-recover=undefined $NOSAN -c -o "$obj" "$src" || {
            echo "fuzz: compiling $src failed"; exit 2; }
    fi
    objs="$objs $obj"
done
rm -f "$OUT/libnatlens-fuzz.a"
# shellcheck disable=SC2086
ar rcs "$OUT/libnatlens-fuzz.a" $objs || exit 2

# ---- targets
if [ -z "${FUZZ_TARGETS:-}" ]; then
    FUZZ_TARGETS="fuzz_decode fuzz_trace fuzz_records"
    for x in correlate:fuzz_correlate hostmeta:fuzz_hostmeta; do
        if [ -f "include/natlens/${x%%:*}.h" ]; then
            FUZZ_TARGETS="$FUZZ_TARGETS ${x#*:}"
        else
            echo "fuzz: ${x#*:} skipped (include/natlens/${x%%:*}.h missing)"
        fi
    done
fi
for t in $FUZZ_TARGETS; do
    # shellcheck disable=SC2086
    $CLANG $CF -fsanitize=fuzzer,$SAN -fno-sanitize-recover=undefined $NOSAN -o "$OUT/$t" "tests/fuzz/$t.c" \
        "$OUT/libnatlens-fuzz.a" $LIB_LIBS || { echo "fuzz: linking $t failed"; exit 2; }
done

# ---- seeds: every capture we have (small ones whole, frames for decode)
captures=$(find samples "$CORPUS" -type f \( -name '*.pcap' -o -name '*.pcapng' -o -name '*.cap' \) 2>/dev/null | sort)
mkdir -p "$OUT/seeds/fuzz_decode" "$OUT/seeds/fuzz_trace" "$OUT/seeds/fuzz_correlate" "$OUT/seeds/fuzz_hostmeta" \
    "$OUT/seeds/fuzz_records"
# records: byte 0 picks the reader (reader.c's table order; 255 detects), then the file
rec_seed() { # reader-index file
    { printf "\\$(printf '%03o' "$1")"; cat "$2"; } > "$OUT/seeds/fuzz_records/$1-$(echo "$2" | tr '/' '_')"
}
for f in samples/*/conntrack-*.txt samples/records/conntrack/*; do [ -f "$f" ] && rec_seed 0 "$f" && rec_seed 255 "$f"; done
for f in samples/records/gcp_nat/*; do [ -f "$f" ] && rec_seed 1 "$f"; done
for f in samples/records/gcp_flow/*; do [ -f "$f" ] && rec_seed 2 "$f"; done
for f in samples/records/aws_flow/*; do [ -f "$f" ] && rec_seed 3 "$f" && rec_seed 255 "$f"; done
for f in samples/records/azure_flow/*; do [ -f "$f" ] && rec_seed 4 "$f"; done
for f in samples/records/zeek_conn/*; do [ -f "$f" ] && rec_seed 5 "$f" && rec_seed 255 "$f"; done
# pair_seed OUT A B: a fuzz_correlate input (4-byte LE length of A, A, B)
pair_seed() {
    python3 -c 'import sys,struct; a=open(sys.argv[2],"rb").read(); b=open(sys.argv[3],"rb").read(); open(sys.argv[1],"wb").write(struct.pack("<I",len(a))+a+b)' "$@"
}
if [ ! -f "$OUT/seeds/.done" ]; then
    cc -O2 -o "$OUT/seed_frames" tests/fuzz/seed_frames.c $PCAP_LIBS || exit 2
    # shellcheck disable=SC2086
    "$OUT/seed_frames" "$OUT/seeds/fuzz_decode" $captures
    # every encapsulation, nested and hostile ones (tests/fuzz/tunnel_seeds.py)
    python3 tests/fuzz/tunnel_seeds.py "$OUT/seeds/fuzz_decode" || exit 2
    for c in $captures; do
        sz=$(wc -c < "$c")
        [ "$sz" -le 65536 ] || continue
        cp "$c" "$OUT/seeds/fuzz_trace/$(echo "$c" | tr '/' '_')"
    done
    # compressed captures: the decoders of analyzer/source_stream.c
    for c in $(ls samples/*/client.pcap 2>/dev/null | head -n 2); do
        for z in gzip zstd xz lz4; do
            command -v $z >/dev/null 2>&1 &&
                $z -c "$c" > "$OUT/seeds/fuzz_trace/$(echo "$c" | tr '/' '_').$z" 2>/dev/null
        done
    done
    if cc -O2 -o "$OUT/gen_capture" tests/gen/gen_*.c $PCAP_LIBS 2>/dev/null; then
        "$OUT/gen_capture" -n 120 -f 8 -s 3 -o "$OUT/seeds/fuzz_trace/gen-mixed.pcap" 2>/dev/null
        "$OUT/gen_capture" --pair -f 6 -o "$OUT/seeds/fuzz_trace/gen-near.pcap" \
            -O "$OUT/seeds/fuzz_trace/gen-far.pcap" --offset 3 2>/dev/null
    fi
    # correlate: the generated NAT pair, two-sided samples, a capture with itself
    s=$OUT/seeds/fuzz_trace
    [ -f "$s/gen-near.pcap" ] && pair_seed "$OUT/seeds/fuzz_correlate/gen-pair" "$s/gen-near.pcap" "$s/gen-far.pcap"
    for d in samples/*/; do
        if [ -f "$d/client.pcap" ] && [ -f "$d/server.pcap" ]; then
            set -- "$d/client.pcap" "$d/server.pcap"
        else
            set -- $(find "$d" -maxdepth 1 -type f \( -name '*.pcap' -o -name '*.pcapng' \) -size -64k | sort | head -n 2)
        fi
        [ $# -eq 2 ] && pair_seed "$OUT/seeds/fuzz_correlate/$(basename "$d")" "$1" "$2"
    done
    for c in "$CORPUS/zeek/wikipedia.pcap" "$CORPUS/tcpdump/tcp-handshake-nano.pcap" "$CORPUS/zeek/pcapng-multi-interface.pcapng"; do
        [ -f "$c" ] && pair_seed "$OUT/seeds/fuzz_correlate/self-$(basename "$c")" "$c" "$c"
    done
    # hostmeta: documents shaped like natlens-capture's (iproute2 JSON)
    h=$OUT/seeds/fuzz_hostmeta
    printf '%s' '{"natlens_hostmeta":1,"hostname":"fw1","role":"firewall","ifaces":[{"index":1,"name":"lo","mac":"00:00:00:00:00:00","addrs":["127.0.0.1/8"]},{"index":2,"name":"eth0","mac":"02:00:00:00:00:01","addrs":["203.0.113.1/24"]}],"route":[{"dst":"default","gateway":"203.0.113.254","dev":"eth0","protocol":"static","flags":[]},{"dst":"10.0.0.0/8","dev":"eth1","metric":100,"flags":[]},{"type":"local","dst":"203.0.113.1","table":"local","dev":"eth0","flags":[]},{"type":"blackhole","dst":"192.0.2.0/24","flags":[]},{"dst":"198.51.100.0/24","table":"42","nexthops":[{"gateway":"10.0.0.2","dev":"eth1"}]}],"route6":[{"dst":"2001:db8::/32","dev":"eth0","metric":256,"flags":[]},{"type":"unreachable","dst":"::/0","dev":"lo"}],"rule":[{"priority":0,"src":"all","table":"local"},{"priority":100,"src":"10.0.0.0","srclen":8,"table":"42"},{"priority":32766,"src":"all","table":"main"},{"priority":32767,"src":"all","table":"default"}],"rule6":[],"nat_rules":"*nat
-A POSTROUTING -o eth0 -j MASQUERADE
COMMIT
","clock":{"synced":true},"errors":[]}' > "$h/full.json"
    printf '%s' '{"addr":[{"ifindex":3,"ifname":"veth0","addr_info":[{"family":"inet","local":"10.1.2.3","prefixlen":24}]}],"route":[{"dst":"0.0.0.0/1","type":"throw"},{"dst":"default","dev":"veth0"}],"hostname":"aé\"b"}' > "$h/addr.json"
    printf '%s' '[1,2.5e-3,true,false,null,"x",{"a":{"b":[[]]}}]' > "$h/misc.json"
    touch "$OUT/seeds/.done"
fi

# third-party leaks natlens cannot free (see the file)
LSAN_OPTIONS=suppressions=$PWD/tests/fuzz/lsan.supp${LSAN_OPTIONS:+:$LSAN_OPTIONS}
export LSAN_OPTIONS
status=0
summary=""
for t in $FUZZ_TARGETS; do
    mkdir -p "$OUT/corpus/$t"
    dict=""
    case $t in
        fuzz_decode) maxlen=4096; ext=bin ;;
        fuzz_hostmeta) maxlen=16384; ext=json; dict="-dict=tests/fuzz/hostmeta.dict" ;;
        fuzz_records) maxlen=16384; ext=bin; dict="-dict=tests/fuzz/records.dict" ;;
        fuzz_correlate) maxlen=131072; ext=bin; dict="-dict=tests/fuzz/pcap.dict" ;;
        *) maxlen=65536; ext=pcap; dict="-dict=tests/fuzz/pcap.dict" ;;
    esac
    # regressions first: every file kept from earlier crashes must pass
    regs=$(ls tests/damaged/"$t"-* 2>/dev/null)
    if [ -n "$regs" ]; then
        # shellcheck disable=SC2086
        if ! "$OUT/$t" -runs=1 $regs > "$OUT/$t.regress.log" 2>&1; then
            echo "FUZZ  $t: a regression file still fails, see $OUT/$t.regress.log"
            grep -m 5 -E "ERROR|runtime error|Running:" "$OUT/$t.regress.log"
            status=1
        fi
    fi
    if [ -n "$FUZZ_RUNS" ]; then limit="-runs=$FUZZ_RUNS"; else limit="-max_total_time=$FUZZ_SECONDS"; fi
    echo "fuzz: $t ($limit)"
    # shellcheck disable=SC2086
    "$OUT/$t" $limit -max_len=$maxlen $dict -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
        -artifact_prefix="$OUT/artifacts/$t-" "$OUT/corpus/$t" "$OUT/seeds/$t" > "$OUT/$t.log" 2>&1
    rc=$?
    execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$OUT/$t.log" | tail -n 1)
    rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$OUT/$t.log" | tail -n 1)
    cov=$(grep -E '^#[0-9]+' "$OUT/$t.log" | tail -n 1 | sed -n 's/.*cov: \([0-9]*\).*ft: \([0-9]*\).*/cov \1 ft \2/p')
    summary="$summary
$t: ${execs:-?} execs (${rate:-?}/s), ${cov:-?}, corpus $(ls "$OUT/corpus/$t" | wc -l), exit $rc"
    for a in "$OUT"/artifacts/"$t"-*; do
        [ -f "$a" ] || continue
        sha=$(sha1sum "$a" | cut -c1-12)
        kind=$(basename "$a" | sed "s/^$t-//; s/-.*//")
        keep="tests/damaged/$t-$kind-$sha.$ext"
        cp "$a" "$keep" && rm -f "$a"
        echo "FUZZ  $t found a $kind: kept as $keep"
        grep -m 1 -E "ERROR: |runtime error|SUMMARY" "$OUT/$t.log"
        grep -E '^ *#[0-9]+ 0x' "$OUT/$t.log" | head -n 12
        status=1
    done
    if [ $rc -ne 0 ] && [ $status -eq 0 ]; then
        echo "FUZZ  $t exited $rc, see $OUT/$t.log"; tail -n 20 "$OUT/$t.log"; status=1
    fi
done
echo "fuzz summary:$summary"
exit $status
