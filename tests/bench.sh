#!/bin/sh
# tests/bench.sh - `make bench`: natlens on the NAT-pool pair of issue 11 at
# several sizes, beside tcpdump and tshark, ending with one Markdown table
# and the issue's targets (PASS/FAIL with the measured ratio; made by
# tests/bench_table.py). Exit 0 whatever the targets say; 2 when the bench
# itself cannot run.
#
# Inputs (tests/gen/gen_capture, deterministic, seed 1), kept in BENCH_DIR
# under names holding the generator's checksum, so reruns compare like with
# like and a changed generator never reuses old files:
#   --field --pool 3     "pool3":   SNAT pool of three addresses
#   --field --pool flow  "perflow": one far address per flow
#   at each of BENCH_SIZES flows a side; a mixed ~BENCH_PACKETS-packet
#   capture (TCP with options, UDP, ICMP, IPv6); SYN-only captures of 1M and
#   BENCH_DISTINCT distinct flows for the memory bound of --max-flows.
# Per shape and size: natlens flows (text, --json) on the near capture,
# correlate (text, --json) and report -o x.html on the pair, the viewer's
# time to its first flow row (natlens tui in a detached tmux session of
# 200x50, capture-pane polled every 20 ms), tcpdump -r F -w /dev/null and
# tshark -q -z conv,tcp on the near capture; pairing precision/recall, ISN
# rewrites paired and clock-offset error from correlate --json against the
# truth file (tests/gen/pair_score.py).
#
# Environment (defaults in brackets):
#   NATLENS, BUILD [build]         binary under test
#   BENCH_DIR [/tmp/natlens-bench] cache of inputs, results/ with every run's table
#   BENCH_SIZES ["10k 100k 1m"]    flows a side (k, m suffixes; none: no pair)
#   BENCH_SHAPES ["pool3 perflow"]
#   BENCH_RUNS [3]                 runs per command; a command over 10 s runs once
#   BENCH_TIMEOUT [600]            seconds per command before it is stopped (a FAIL)
#   BENCH_TUI_TIMEOUT [120]        seconds to wait for the viewer's first row
#   BENCH_MEMCAP_MB [6144]         address-space cap per command (ulimit -v)
#   BENCH_PACKETS [1000000]        packets of the mixed capture
#   BENCH_DISTINCT [10000000]      distinct SYN flows of the big --max-flows run
#   BENCH_KEEP_BIG [0]             1: keep inputs of 1M flows and more (~1.3 GB a side)
#   BENCH_SKIP                     words: flows json correlate report tui tcpdump
#                                  tshark score mixed distinct
#   BENCH_QUICK=1                  sizes 10k, one run, mixed 200k packets, distinct 1M
cd "$(dirname "$0")/.." || exit 2
BUILD=${BUILD:-build}
NATLENS=${NATLENS:-$PWD/$BUILD/natlens}
BENCH_DIR=${BENCH_DIR:-/tmp/natlens-bench}
if [ "${BENCH_QUICK:-0}" = 1 ]; then
    : "${BENCH_SIZES:=10k}" "${BENCH_RUNS:=1}" "${BENCH_PACKETS:=200000}" "${BENCH_DISTINCT:=1000000}"
fi
SIZES=${BENCH_SIZES:-10k 100k 1m}
[ "$SIZES" = none ] && SIZES=""
SHAPES=${BENCH_SHAPES:-pool3 perflow}
RUNS=${BENCH_RUNS:-3}
TIMEOUT=${BENCH_TIMEOUT:-600}
TUI_TIMEOUT=${BENCH_TUI_TIMEOUT:-120}
MEMCAP=${BENCH_MEMCAP_MB:-6144}
PACKETS=${BENCH_PACKETS:-1000000}
DISTINCT=${BENCH_DISTINCT:-10000000}
KEEP_BIG=${BENCH_KEEP_BIG:-0}
SKIP=" ${BENCH_SKIP:-} "
TIME=/usr/bin/time
ROW_RE='10\.20\.[0-9]{1,3}\.[0-9]{1,3}[:.][0-9]+.*198\.51\.100\.[0-9]{1,3}[:.][0-9]+'

say() { echo "bench: $*" >&2; }
die() { say "$*"; exit 2; }
# paths go into a tmux command line and the table: plain characters only
case "$BENCH_DIR$NATLENS" in *[!A-Za-z0-9/._+-]*) die "BENCH_DIR and NATLENS: letters, digits, / . _ + - only" ;; esac
for v in "$RUNS" "$TIMEOUT" "$TUI_TIMEOUT" "$MEMCAP" "$PACKETS" "$DISTINCT"; do
    case $v in '' | *[!0-9]*) die "BENCH_RUNS, _TIMEOUT, _TUI_TIMEOUT, _MEMCAP_MB, _PACKETS, _DISTINCT: numbers" ;; esac
done
[ -x "$NATLENS" ] || die "$NATLENS not built (make all)"
[ -x "$TIME" ] || die "$TIME missing (apt-get install time): it gives the peak RSS"
command -v timeout > /dev/null || die "timeout (coreutils) missing"
mkdir -p "$BENCH_DIR/results" || exit 2
run=$(mktemp -d "$BENCH_DIR/run.XXXXXX") || exit 2   # big outputs: on BENCH_DIR's disk
tsock="nlbench$$"
cleanup() {
    tmux -L "$tsock" kill-server 2>/dev/null
    rm -rf "$run"
}
trap cleanup EXIT
trap 'exit 2' INT TERM
skipped() { case $SKIP in *" $1 "*) return 0 ;; esac; return 1; }
# a Python that reads multi-GB JSON item by item (Debian python3-ijson) if any
PY=python3
if ! $PY -c 'import ijson' 2> /dev/null && /usr/bin/python3 -c 'import ijson' 2> /dev/null; then
    PY=/usr/bin/python3
fi
flows_n() { # 10k -> 10000, 1m -> 1000000
    case $1 in
    *[kK]) echo $(( ${1%?} * 1000 )) ;;
    *[mM]) echo $(( ${1%?} * 1000000 )) ;;
    *[!0-9]* | '') echo "" ;;
    *) echo "$1" ;;
    esac
}
avail_mb() { df -Pm "$1" | awk 'NR == 2 { print $4 }'; }
load1() { cut -d' ' -f1 /proc/loadavg; }

# ---- generator (cached by checksum) and inputs
sum=$(cat tests/gen/gen.h tests/gen/gen_*.c | cksum | cut -d' ' -f1)
GEN=$BENCH_DIR/gen_capture-$sum
if [ ! -x "$GEN" ]; then
    cc -O2 -o "$GEN" tests/gen/gen_*.c $(pkg-config --libs libpcap 2> /dev/null || echo -lpcap) ||
        die "cannot build tests/gen/gen_*.c"
fi
# inputs of an older generator are never used again: remove them
for f in "$BENCH_DIR"/field-* "$BENCH_DIR"/mixed-* "$BENCH_DIR"/distinct-* "$BENCH_DIR"/pair-* \
         "$BENCH_DIR"/gen_capture-*; do
    [ -e "$f" ] || continue
    case $f in *"-$sum"*) ;; *) say "removing stale $f"; rm -f "$f" ;; esac
done
gen() { # OUT ARGS...: generate once (OUT last written), keep
    out=$1; shift
    [ -s "$out" ] && [ -s "$out.done" ] && return 0
    say "generating $out"
    "$GEN" "$@" 2> "$out.log" || { cat "$out.log" >&2; rm -f "$out"; die "gen_capture $*"; }
    echo ok > "$out.done"
}

# ---- measuring
rows=$run/rows.tsv      # group flows label wall_s rss_mb flows_read runs status note
scores=$run/scores.tsv  # group flows pair_score-json
: > "$rows"; : > "$scores"
# run_once OUT CMD...: one run under the memory cap and timeout; sets
# R_WALL (s), R_RSS (MB), R_RC
run_once() {
    out=$1; shift
    rm -f "$run/t"
    s=$(date +%s%N)
    sh -c 'ulimit -v $(( $1 * 1024 )); shift; exec "$@"' sh "$MEMCAP" \
        "$TIME" -f '%M %x' -o "$run/t" timeout -k 5 "$TIMEOUT" "$@" > "$out" 2> "$run/err"
    e=$(date +%s%N)
    R_WALL=$(awk -v d=$((e - s)) 'BEGIN { printf "%.3f", d / 1e9 }')
    set -- $(tail -n 1 "$run/t" 2> /dev/null)
    R_RSS=$(awk -v k="${1:-0}" 'BEGIN { printf "%.1f", k / 1024 }')
    R_RC=${2:-255}
    # a command that ignores SIGTERM is killed 5 s later, and timeout with
    # it: time then says "terminated by signal" and its figures are
    # timeout's own, not the command's
    if grep -q "terminated by signal" "$run/t" 2> /dev/null; then
        R_RC=137; R_RSS=""
    fi
    [ $(( (e - s) / 1000000000 )) -ge "$TIMEOUT" ] && R_RC=124
    return 0
}
# first line of stderr, printable characters only, for a note
err_line() { head -n 1 "$run/err" | tr -cd ' -~' | cut -c1-70; }
row() { # group flows label wall rss flows_read runs status note
    printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$@" >> "$rows"
    printf 'bench:   %-34s %9s s %9s MB  %s %s\n' "$3" "$4" "$5" "$8" "$9" >&2
}
# measure GROUP FLOWS FLOWS_READ LABEL OUT CMD...: median wall of up to RUNS
# runs (one when a run takes over 10 s), the largest peak RSS
measure() {
    g=$1; n=$2; nr=$3; label=$4; out=$5; shift 5
    walls=""; rss=0; i=0; status=ok; note=""
    while [ $i -lt "$RUNS" ]; do
        run_once "$out" "$@"
        i=$((i + 1))
        walls="$walls $R_WALL"
        [ -n "$R_RSS" ] && rss=$(awk -v a="$rss" -v b="$R_RSS" 'BEGIN { print (b > a) ? b : a }')
        case $R_RC in
        0 | 1) ;;
        124 | 137) status=timeout; note="stopped after $TIMEOUT s"
                   [ -z "$R_RSS" ] && note="$note (killed: peak RSS unknown)"
                   break ;;
        *) status=fail; note="exit $R_RC: $(err_line)"; break ;;
        esac
        awk -v w="$R_WALL" 'BEGIN { exit !(w > 10) }' && break
    done
    wall=$(echo $walls | tr ' ' '\n' | sort -n | awk '{ a[NR] = $1 } END {
        printf "%.3f", (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2 }')
    [ $i -gt 1 ] && note="${note:+$note; }median of $i"
    row "$g" "$n" "$label" "$wall" "$rss" "$nr" "$i" "$status" "$note"
}
# tui_first_row GROUP FLOWS NEAR FAR: seconds from starting the viewer to
# the first flow row on its screen; peak RSS up to then (time's report when
# q ends it)
tui_first_row() {
    g=$1; n=$2; near=$3; far=$4
    rm -f "$run/tui.t"
    start=$(date +%s%N)
    tmux -L "$tsock" new-session -d -s ttfs -x 200 -y 50 \
        "ulimit -v $((MEMCAP * 1024)); exec $TIME -f '%M %x' -o $run/tui.t $NATLENS tui $near $far 2> $run/tui.err" ||
        { row "$g" "$n" "natlens tui: first flow row" "" "" "$((2 * n))" 1 fail "tmux failed"; return; }
    shown=""; ended=""
    while :; do
        now=$(date +%s%N)
        [ $(( (now - start) / 1000000000 )) -ge "$TUI_TIMEOUT" ] && break
        if tmux -L "$tsock" capture-pane -p -t ttfs 2> /dev/null | grep -qE "$ROW_RE"; then
            shown=$now; break
        fi
        tmux -L "$tsock" has-session -t ttfs 2> /dev/null || { ended=1; break; }
        sleep 0.02
    done
    tmux -L "$tsock" send-keys -t ttfs q 2> /dev/null
    i=0
    while [ ! -s "$run/tui.t" ] && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
    tmux -L "$tsock" kill-server 2> /dev/null
    rss=""; note="tmux 200x50, polled every 20 ms"
    if [ -s "$run/tui.t" ]; then
        rss=$(tail -n 1 "$run/tui.t" | awk '{ printf "%.1f", $1 / 1024 }')
        note="$note; RSS when q ended it"
    else
        note="$note; q did not end it within 10 s"
    fi
    if [ -n "$shown" ]; then
        row "$g" "$n" "natlens tui: first flow row" \
            "$(awk -v d=$((shown - start)) 'BEGIN { printf "%.3f", d / 1e9 }')" "$rss" "$((2 * n))" 1 ok "$note"
    elif [ -n "$ended" ]; then
        row "$g" "$n" "natlens tui: first flow row" "" "$rss" "$((2 * n))" 1 fail \
            "ended before a flow row: $(tr -cd ' -~' < "$run/tui.err" | cut -c1-60)"
    else
        row "$g" "$n" "natlens tui: first flow row" "$TUI_TIMEOUT" "$rss" "$((2 * n))" 1 timeout \
            "no flow row within $TUI_TIMEOUT s"
    fi
}

# ---- the NAT-pool pair at each size
have_tshark=0; command -v tshark > /dev/null 2>&1 && ! skipped tshark && have_tshark=1
have_tcpdump=0; command -v tcpdump > /dev/null 2>&1 && ! skipped tcpdump && have_tcpdump=1
have_tmux=0; command -v tmux > /dev/null 2>&1 && ! skipped tui && have_tmux=1
load_start=$(load1)
say "natlens $NATLENS; inputs in $BENCH_DIR; load $load_start (figures on a busy machine are indicative)"
for size in $SIZES; do
    n=$(flows_n "$size")
    [ -n "$n" ] && [ "$n" -gt 0 ] || die "BENCH_SIZES: '$size' is not a size (10k, 1m, 5000)"
    for shape in $SHAPES; do
        case $shape in
        pool3) pool=3 ;;
        perflow) pool=flow ;;
        *) die "BENCH_SHAPES: '$shape' is not pool3 or perflow" ;;
        esac
        base=$BENCH_DIR/field-$shape-$n-s1-$sum
        near=$base-near.pcap; far=$base-far.pcap; truth=$base-truth.json
        # ~1.3 KB a flow a side and 0.3 KB of truth unless cached, ~4.5 KB of
        # correlate --json while it is scored, and a margin
        need=$(( n * 4500 / 1000000 + 500 ))
        [ -s "$near.done" ] || need=$(( need + n * 2900 / 1000000 ))
        have=$(avail_mb "$BENCH_DIR")
        if [ "$have" -lt "$need" ]; then
            say "skipping $shape $size: $need MB needed in $BENCH_DIR, $have MB free"
            row "$shape" "$n" "(skipped)" "" "" "$n" 0 skipped "not enough disk: $need MB needed, $have MB free"
            continue
        fi
        (cd "$(dirname "$base")" && gen "$near" --field --pool $pool -f "$n" -s 1 \
            -o "$(basename "$near")" -O "$(basename "$far")" -t "$(basename "$truth")") || exit 2
        say "$shape, $n flows a side (load $(load1))"
        skipped flows || measure "$shape" "$n" "$n" "natlens flows" /dev/null "$NATLENS" flows "$near"
        skipped flows || skipped json ||
            measure "$shape" "$n" "$n" "natlens flows --json" /dev/null "$NATLENS" flows --json "$near"
        if ! skipped correlate; then
            measure "$shape" "$n" $((2 * n)) "natlens correlate" /dev/null "$NATLENS" correlate "$near" "$far"
            if ! skipped json; then
                measure "$shape" "$n" $((2 * n)) "natlens correlate --json" "$run/corr.json" \
                    "$NATLENS" correlate --json "$near" "$far"
                if ! skipped score && [ -s "$run/corr.json" ]; then
                    sc=$($PY tests/gen/pair_score.py --json "$truth" "$run/corr.json" 2> "$run/score.err") ||
                        sc="error: $(head -n 1 "$run/score.err" | tr -cd ' -~')"
                    printf '%s\t%s\t%s\n' "$shape" "$n" "$sc" >> "$scores"
                    say "  pairing: $sc"
                fi
                rm -f "$run/corr.json"
            fi
        fi
        skipped report ||
            measure "$shape" "$n" $((2 * n)) "natlens report -o x.html" /dev/null \
                "$NATLENS" report -o "$run/x.html" "$near" "$far"
        rm -f "$run/x.html"
        [ $have_tmux = 1 ] && tui_first_row "$shape" "$n" "$near" "$far"
        [ $have_tcpdump = 1 ] && measure "$shape" "$n" "$n" "tcpdump -r F -w /dev/null" /dev/null \
            tcpdump -r "$near" -w /dev/null
        [ $have_tshark = 1 ] && measure "$shape" "$n" "$n" "tshark -q -z conv,tcp" /dev/null \
            tshark -q -z conv,tcp -r "$near"
        if [ "$n" -ge 1000000 ] && [ "$KEEP_BIG" != 1 ]; then
            rm -f "$base"-*      # ~2.6 GB a pair: made again in about a minute when needed
        fi
    done
done

# ---- the mixed capture: decoding of varied traffic
if ! skipped mixed && [ "$PACKETS" -gt 0 ]; then
    MIX=$BENCH_DIR/mixed-$PACKETS-$sum.pcap
    gen "$MIX" -n "$PACKETS" -f $((PACKETS / 50)) -s 1 -o "$MIX"
    mf=$(sed -n 's/^gen_capture: [0-9]* packets, \([0-9]*\) flows.*/\1/p' "$MIX.log")
    say "mixed capture, $PACKETS packets, $mf flows"
    g="mixed $((PACKETS / 1000))k packets"
    measure "$g" "$mf" "$mf" "natlens flows" /dev/null "$NATLENS" flows "$MIX"
    skipped json || measure "$g" "$mf" "$mf" "natlens flows --json" /dev/null "$NATLENS" flows --json "$MIX"
    [ $have_tcpdump = 1 ] && measure "$g" "$mf" "$mf" "tcpdump -r F -w /dev/null" /dev/null tcpdump -r "$MIX" -w /dev/null
    [ $have_tshark = 1 ] && measure "$g" "$mf" "$mf" "tshark -q -z conv,tcp" /dev/null tshark -q -z conv,tcp -r "$MIX"
fi

# ---- many distinct flows: memory bounded by --max-flows
note_last() { # append TEXT to the note of the last row
    awk -F'\t' -v OFS='\t' -v t="$1" -v last="$(wc -l < "$rows")" \
        'NR == last { $9 = ($9 == "" ? t : $9 "; " t) } { print }' "$rows" > "$run/rows.new" &&
        mv "$run/rows.new" "$rows"
}
if ! skipped distinct && [ "$DISTINCT" -gt 0 ]; then
    dl=$DISTINCT
    [ "$DISTINCT" -gt 1000000 ] && dl="1000000 $DISTINCT"
    for d in $dl; do
        D=$BENCH_DIR/distinct-$d-$sum.pcap
        gen "$D" --distinct -n "$d" -o "$D"
        say "distinct SYN flows: $d"
        measure "distinct SYN" "$d" "$d" "natlens flows --max-flows 100000" "$run/flows.txt" \
            "$NATLENS" flows --max-flows 100000 "$D"
        # the summary line says how many flows were accounted
        got=$(grep " packets, .* flows, " "$run/flows.txt" | tail -n 1 | sed -n 's/.* \([0-9][0-9]*\) flows.*/\1/p')
        note_last "${got:-?} of $d flows reported"
        [ "$d" = 1000000 ] &&
            measure "distinct SYN" "$d" "$d" "natlens flows (no cap)" /dev/null "$NATLENS" flows "$D"
        [ "$d" -ge 10000000 ] && [ "$KEEP_BIG" != 1 ] && rm -f "$D" "$D.done" "$D.log"
    done
    rm -f "$run/flows.txt"
fi

# ---- the table
cpu=$(sed -n 's/^model name[^:]*: //p' /proc/cpuinfo | head -n 1)
rev=$(git rev-parse --short HEAD 2> /dev/null || echo unknown)
stamp=$(date -u +%Y%m%dT%H%M%SZ)
out=$BENCH_DIR/results/bench-$stamp
$PY tests/bench_table.py "$rows" "$scores" \
    "machine=$(nproc) x ${cpu:-unknown CPU}, $(free -g | awk '/^Mem:/ { print $2 }') GB, $(uname -sr)" \
    "date=$(date -u '+%Y-%m-%d %H:%M UTC')" "load=$load_start at the start, $(load1) at the end" \
    "natlens=$rev" "generator=$sum" "runs=$RUNS" "timeout=$TIMEOUT" "memcap=$MEMCAP" \
    "tui_timeout=$TUI_TIMEOUT" > "$out.md" || die "tests/bench_table.py failed"
cp "$rows" "$out-rows.tsv"; cp "$scores" "$out-scores.tsv"
cat "$out.md"
say "table in $out.md, raw figures in $out-rows.tsv and $out-scores.tsv"
exit 0
