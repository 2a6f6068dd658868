#!/bin/sh
# t_asan.sh - the unit tests and natlens itself under AddressSanitizer and
# UndefinedBehaviorSanitizer (`make asan` -> build-asan/), plus the fuzz
# regression files in tests/damaged/ replayed through the fuzz targets
# (tests/fuzz/replay_main.c, no libFuzzer needed). Any report fails.
cd "$(dirname "$0")/.." || exit 2
CORPUS=${CORPUS:-$PWD/tests/corpus}
if ! command -v clang >/dev/null 2>&1; then
    echo "clang not installed (apt-get install clang libclang-rt-14-dev)"
    exit 77
fi
tmp=$(mktemp -d /tmp/natlens-asan.XXXXXX) || exit 2
trap 'rm -rf "$tmp"' EXIT INT TERM
# ASAN_SKIP_BUILD=1 uses build-asan/ as it is (already built)
if [ "${ASAN_SKIP_BUILD:-0}" != 1 ] && ! make --no-print-directory -j2 asan > "$tmp/build.log" 2>&1; then
    echo "FAIL make asan:"; tail -n 30 "$tmp/build.log"
    exit 1
fi
ASAN_OPTIONS=detect_leaks=1:abort_on_error=0:allocator_may_return_null=1
# third-party leaks natlens cannot free (see the file)
LSAN_OPTIONS=suppressions=$PWD/tests/fuzz/lsan.supp
export LSAN_OPTIONS
UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
export ASAN_OPTIONS UBSAN_OPTIONS
fails=0
sanitized() { grep -qE 'AddressSanitizer|LeakSanitizer|UndefinedBehaviorSanitizer|runtime error:' "$1"; }
report() { # what log
    echo "FAIL $1"; grep -E -A 25 'ERROR: |runtime error:' "$2" | head -n 40; fails=$((fails + 1))
}

# unit tests
for t in build-asan/tests/test_*; do
    [ -x "$t" ] || continue
    timeout 120 "$t" > "$tmp/log" 2>&1
    rc=$?
    if [ $rc -ne 0 ] || sanitized "$tmp/log"; then report "$t (exit $rc)" "$tmp/log"; else echo "ok   $t"; fi
done

# natlens on real captures: link types, tunnels, IPv6, fragments, pcapng
N=build-asan/natlens
for f in zeek/wikipedia.pcap zeek/pcapng-multi-interface.pcapng zeek/linux-sll2.pcap zeek/vlan-mpls.pcap \
         zeek/teredo.pcap zeek/gre.pcap zeek/pppoe.pcap zeek/ipv6-atomic-frag.pcap zeek/tcp-padding.pcap \
         tcpdump/bigtcp-ipv6.pcap tcpdump/LINKTYPE_RAW_ipv6.pcap tcpdump/802.1ad_QinQ.pcap \
         suricata/decode-sll2-02/input.pcap arkime/tcp_handshake_synthetic.pcap; do
    [ -f "$CORPUS/$f" ] || continue
    for mode in --json --csv ""; do
        # shellcheck disable=SC2086
        timeout 120 "$N" flows $mode "$CORPUS/$f" > /dev/null 2> "$tmp/log"
        rc=$?
        if [ $rc -ne 0 ] || sanitized "$tmp/log"; then report "natlens flows $mode $f (exit $rc)" "$tmp/log"; fi
    done
    echo "ok   natlens flows $f"
done
# router captures carrying conntrack event blocks (natlens-capture --conntrack)
for f in samples/records/capture/*.pcapng; do
    [ -f "$f" ] || continue
    timeout 120 "$N" flows --json "$f" > /dev/null 2> "$tmp/log"
    rc=$?
    if [ $rc -ne 0 ] || sanitized "$tmp/log"; then report "natlens flows --json $f (exit $rc)" "$tmp/log"
    else echo "ok   natlens flows $f"; fi
done
# record files streamed with --max-flows: nothing is ever live, the list
# of live flows stays empty (qsort(NULL, 0) was undefined behaviour)
for f in samples/records/conntrack/events-extended.txt samples/records/zeek_conn/ftp-ipv6.conn.log; do
    [ -f "$f" ] || continue
    for mode in --json --csv; do
        timeout 120 "$N" flows --max-flows 10 $mode "$f" > /dev/null 2> "$tmp/log"
        rc=$?
        if [ $rc -ne 0 ] || sanitized "$tmp/log"; then report "natlens flows --max-flows 10 $mode $f (exit $rc)" "$tmp/log"; fi
    done
    echo "ok   natlens flows --max-flows 10 $f"
done
# two-sided samples through correlate, when both exist
if "$N" correlate --help > /dev/null 2>&1; then
    for d in samples/*/; do
        if [ -f "$d/client.pcap" ] && [ -f "$d/server.pcap" ]; then
            set -- "$d/client.pcap" "$d/server.pcap"
        else
            set -- $(find "$d" -maxdepth 1 -type f \( -name '*.pcap' -o -name '*.pcapng' \) | sort | head -n 2)
        fi
        [ $# -eq 2 ] || continue
        timeout 120 "$N" correlate --json "$1" "$2" > /dev/null 2> "$tmp/log"
        rc=$?
        if [ $rc -gt 1 ] || sanitized "$tmp/log"; then report "natlens correlate $1 $2 (exit $rc)" "$tmp/log"
        else echo "ok   natlens correlate $d"; fi
    done
fi

# fuzz regression files, replayed without libFuzzer
for t in fuzz_decode fuzz_trace fuzz_correlate fuzz_records; do
    [ -f "tests/fuzz/$t.c" ] || continue
    regs=$(ls tests/damaged/"$t"-* 2>/dev/null)
    [ -n "$regs" ] || continue
    if ! clang -O1 -g -fsanitize=address,undefined -fno-sanitize-recover=undefined -std=c11 -D_GNU_SOURCE \
            -Iinclude -o "$tmp/$t" "tests/fuzz/$t.c" tests/fuzz/replay_main.c build-asan/libnatlens.a \
            $(make -s --no-print-directory print-libs 2>/dev/null || echo -lpcap -lnettle -ljson-c -lxml2 -lm) \
            > "$tmp/log" 2>&1; then
        report "building the $t replayer" "$tmp/log"; cat "$tmp/log"; continue
    fi
    # shellcheck disable=SC2086
    timeout 120 "$tmp/$t" $regs > "$tmp/log" 2>&1
    rc=$?
    if [ $rc -ne 0 ] || sanitized "$tmp/log"; then report "$t regressions (exit $rc)" "$tmp/log"
    else echo "ok   $t: $(echo "$regs" | wc -w) regression files"; fi
done
[ $fails -eq 0 ]
