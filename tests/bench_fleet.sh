#!/bin/sh
# tests/bench_fleet.sh - the fleet path against natlens correlate pair by
# pair: FLEET_PAIRS generated client/server pairs (1,000 captures at the
# default 500, FLEET_FLOWS flows each, tests/gen/gen_fleet.sh), reduced to
# NDJSON by `natlens flows --ndjson`, loaded into two ClickHouse shards on
# loopback and paired there by `natlens fleet`; beside it `natlens
# correlate` on each pair of pcaps. Prints one Markdown table (wall time,
# peak memory) and how many paths the two agree on (tests/fleet_compare.py).
#
# Environment: NATLENS, BUILD, BENCH_DIR (cache of generated captures,
# /tmp/natlens-bench), FLEET_PAIRS (500), FLEET_FLOWS (300).
# The machine may be shared: the figures are indicative.
cd "$(dirname "$0")/.." || exit 2
BUILD=${BUILD:-build}
NATLENS=${NATLENS:-$PWD/$BUILD/natlens}
BENCH_DIR=${BENCH_DIR:-/tmp/natlens-bench}
PAIRS=${FLEET_PAIRS:-500}
FLOWS=${FLEET_FLOWS:-300}
TIME=/usr/bin/time
export NATLENS
for t in clickhouse-server clickhouse-client python3 "$TIME"; do
    command -v "$t" >/dev/null 2>&1 || { echo "bench_fleet: $t missing (make deps-test)"; exit 2; }
done
[ -x "$NATLENS" ] && [ -x "$BUILD/gen_capture" ] || { echo "bench_fleet: make all $BUILD/gen_capture first"; exit 2; }

sum=$(cat tests/gen/gen_capture.c tests/gen/gen_fleet.sh | cksum | cut -d' ' -f1)
gen=$BENCH_DIR/fleet-$PAIRS-$FLOWS-$sum
if [ ! -f "$gen/.done" ]; then
    rm -rf "$gen"
    echo "generating $PAIRS pairs of $FLOWS flows in $gen ..."
    sh tests/gen/gen_fleet.sh "$BUILD/gen_capture" "$gen" "$PAIRS" "$FLOWS" || exit 2
    touch "$gen/.done"
fi
tmp=$(mktemp -d /tmp/natlens-bench-fleet.XXXXXX) || exit 2
. analyzer/sql/clickhouse/shards.sh
cleanup() { ch_shards_stop "$tmp/ch"; rm -rf "$tmp"; }
trap cleanup EXIT
trap 'exit 130' INT TERM HUP

# sum of wall seconds and the largest peak RSS (KiB) of many runs
acc() { awk '{ t += $1; if ($2 > m) m = $2 } END { printf "%.1f %d\n", t, m }' "$1"; }
mb() { awk -v k="$1" 'BEGIN { printf "%.0f MB", k / 1024 }'; }

# 1. reduce: every capture to NDJSON
tree=$tmp/tree
: >"$tmp/reduce.t"
for d in "$gen"/p*; do
    n=$(basename "$d")
    mkdir -p "$tree/$n"
    for side in client server; do
        $TIME -a -o "$tmp/reduce.t" -f "%e %M" "$NATLENS" flows --ndjson "$tree/$n/$side.ndjson" \
            "$d/$side.pcap" || exit 1
    done
done
set -- $(acc "$tmp/reduce.t"); red_t=$1 red_m=$2
pcap_mb=$(du -sm "$gen" | cut -f1)
nd_mb=$(du -sm "$tree" | cut -f1)
nflows=$(cat "$tree"/*/*.ndjson | grep -c '"type":"flow"')

# 2. ClickHouse: two shards, load, pair
ch_shards_start "$tmp/ch" || exit 1
S1=127.0.0.1:$CH_PORT1
for p in $CH_PORT1 $CH_PORT2; do "$NATLENS" fleet --server 127.0.0.1:$p --init || exit 1; done
# load alone first (the pairing runs too: time it again without loading)
$TIME -o "$tmp/load.t" -f "%e %M" "$NATLENS" fleet --server "$S1" "$tree" >/dev/null 2>"$tmp/load.err" ||
    { cat "$tmp/load.err"; exit 1; }
$TIME -o "$tmp/pair.t" -f "%e %M" "$NATLENS" fleet --server "$S1" --json >"$tmp/fleet.json" 2>"$tmp/pair.err" ||
    { cat "$tmp/pair.err"; exit 1; }
set -- $(cat "$tmp/pair.t"); pair_t=$1
set -- $(cat "$tmp/load.t"); load_t=$(awk -v a="$1" -v b="$pair_t" 'BEGIN { printf "%.1f", a - b }'); fleet_m=$2
hwm=""
for n in 1 2; do
    k=$(awk '/VmHWM/ { print $2 }' /proc/"$(cat "$tmp/ch/s$n/pid")"/status)
    hwm="$hwm $(mb "$k")"
done

# 3. the reference: natlens correlate, pair by pair
: >"$tmp/corr.t"
for d in "$gen"/p*; do
    $TIME -a -o "$tmp/corr.t" -f "%e %M" "$NATLENS" correlate --json "$d/client.pcap" "$d/server.pcap" \
        >/dev/null || exit 1
done
set -- $(acc "$tmp/corr.t"); corr_t=$1 corr_m=$2

# 4. do they agree?
python3 tests/fleet_compare.py "$tmp/fleet.json" "$tree" >"$tmp/cmp.out" 2>&1
bad=$(grep -c '^FAIL' "$tmp/cmp.out")
summary=$(head -n 1 "$tmp/cmp.out")

echo
echo "Fleet: $PAIRS pairs = $((PAIRS * 2)) captures, $nflows flows, $pcap_mb MB of pcap -> $nd_mb MB of NDJSON; $(nproc) cores (shared machine: indicative)"
echo
echo "| step | wall time | peak memory |"
echo "|---|---|---|"
echo "| \`natlens flows --ndjson\`, $((PAIRS * 2)) captures one by one | ${red_t} s | $(mb "$red_m") (largest run) |"
echo "| \`natlens fleet\`: load into ClickHouse 18.16, 2 shards | ${load_t} s | natlens $(mb "$fleet_m"); servers:$hwm |"
echo "| \`natlens fleet\`: pairing + egress SQL across both shards | ${pair_t} s | (servers as above) |"
echo "| \`natlens correlate\`, $PAIRS pairs one by one | ${corr_t} s | $(mb "$corr_m") (largest run) |"
echo
echo "agreement: $summary; paths where ClickHouse and correlate differ: $bad"
[ "$bad" -eq 0 ] || head -n 5 "$tmp/cmp.out"
