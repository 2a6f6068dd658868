#!/bin/sh
# t_tui.sh - drive `natlens tui` in a private tmux server and read the screen.
#
# Checks: the first screen shows inner and egress addresses on one row with
# a protocol column and ICMP echo ids (snat-masq); Enter opens the ladder
# with the SYN; F1 shows help from the key table, the function bar names
# the F-keys; the other panels draw; resizes (down to 20x5) do not kill
# it; at 80x24 (NO_COLOR) the filter language gives the expected row
# counts and shows errors in place, search works, F3/F4/F6/F10 act; the
# findings' detail scrolls to the fix at 80x24; a flow seen only at the
# far capture sits in the FAR column and its ladder on the far side
# (dualnic); a connection split into pieces is one row whose ladder pairs
# every retry (asym-return); a record file's Pair panel shows the record,
# not a ladder; a 300-packet flow's ladder holds every packet of both
# sides (read again from the files), its one lost packet the only "not
# seen"; a capture read from a pipe is said not to be read again, a gzip
# one is read again; on a generated pair of 100k flows a side the flow rows
# are on screen while the status says "pairing", keys work then, a far
# flow opened then sits on the far side of its ladder, and the
# summary follows; q exits 0 with the tty modes restored and the
# alternate screen left; SIGTERM exits 143 cleanly; control bytes in a
# file name are not sent to the terminal; a bad path exits 2 naming the
# file. Polls the pane with bounded loops, no fixed sleeps for results.
#
# ASan mode: NATLENS=build-asan/natlens sh tests/t_tui.sh (or TUI_ASAN=1):
# every run's stderr is checked for sanitizer reports, and the generated
# pair is smaller so the test stays within about a minute.
set -u

ROOT=$(cd "$(dirname "$0")/.." && pwd)
if [ "${TUI_ASAN:-0}" = 1 ]; then
    NATLENS=${NATLENS:-build-asan/natlens}
fi
NATLENS=${NATLENS:-build/natlens}
GEN=${GEN:-build/gen_capture}

if ! command -v tmux >/dev/null 2>&1; then
    echo "skip: tmux is not installed (apt-get install tmux)"
    exit 77
fi
case $NATLENS in /*) ;; *) NATLENS=$ROOT/$NATLENS ;; esac
case $GEN in /*) ;; *) GEN=$ROOT/$GEN ;; esac
if [ ! -x "$NATLENS" ]; then
    echo "FAIL: $NATLENS is not built"
    exit 1
fi
ASAN=0
case $NATLENS in *asan*) ASAN=1 ;; esac
if [ $ASAN = 1 ]; then
    ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=0}
    UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
    export ASAN_OPTIONS UBSAN_OPTIONS
fi

S=$ROOT/samples/snat-masq
A=$S/client.pcap
B=$S/server.pcap
R=$ROOT/samples/asym-return
for f in "$A" "$B" "$R/client.pcap" "$R/server.pcap"; do
    if [ ! -f "$f" ]; then
        echo "FAIL: $f is missing"
        exit 1
    fi
done

TMP=$(mktemp -d "${TMPDIR:-/tmp}/t_tui.XXXXXX")
# one private server per run: reusing a socket right after kill-server
# races with the old server's shutdown ("server exited unexpectedly")
RUN=0
SOCKS=""
T=true
cleanup() {
    for s in $SOCKS; do
        tmux -L "$s" kill-server >/dev/null 2>&1
    done
    rm -rf "$TMP"
}
trap cleanup EXIT
trap 'exit 1' INT TERM

fails=0
fail() {
    echo "FAIL: $*"
    if [ -f "$TMP/screen" ]; then
        echo "---- screen ----"
        cat "$TMP/screen"
        echo "----------------"
    fi
    [ -s "$TMP/err" ] && { echo "---- stderr ----"; head -n 40 "$TMP/err"; }
    fails=$((fails + 1))
}
ok() { echo "ok: $*"; }

# The session runs this script: it records the exit status and whether
# the tty modes came back, then stays alive so the pane can be read.
cat > "$TMP/run.sh" <<'EOF'
#!/bin/sh
out=$1; shift
s0=$(stty -g)
"$@" 2>"$out/err"
echo "EXIT=$?" > "$out/exit.tmp"
[ "$(stty -g)" = "$s0" ] && echo same > "$out/tty"
mv "$out/exit.tmp" "$out/exit"
echo TUI-DONE
sleep 120
EOF

snap() { $T capture-pane -p -t tui > "$TMP/screen" 2>/dev/null; }

# wait_for ERE [tenths]: poll the pane until a line matches
wait_for() {
    n=${2:-100}
    while [ "$n" -gt 0 ]; do
        snap
        grep -Eq -- "$1" "$TMP/screen" && return 0
        sleep 0.1
        n=$((n - 1))
    done
    return 1
}

wait_exit() {
    n=${1:-100}
    while [ "$n" -gt 0 ]; do
        [ -f "$TMP/exit" ] && return 0
        sleep 0.1
        n=$((n - 1))
    done
    return 1
}

# no sanitizer report in the last run's stderr
sanitizer_clean() {
    if grep -qE 'AddressSanitizer|LeakSanitizer|UndefinedBehaviorSanitizer|runtime error:' "$TMP/err" 2>/dev/null; then
        fail "sanitizer report in $1"
        return 1
    fi
    return 0
}

start() { # start W H [env...] -- args
    w=$1; h=$2; shift 2
    rm -f "$TMP/exit" "$TMP/tty" "$TMP/err"
    $T kill-server >/dev/null 2>&1
    RUN=$((RUN + 1))
    SOCKS="$SOCKS nltui-$$-$RUN"
    T="tmux -L nltui-$$-$RUN -f /dev/null"
    $T new-session -d -s tui -x "$w" -y "$h" \
        "env TERM=screen LANG=C.UTF-8 LC_ALL=C.UTF-8 $* sh '$TMP/run.sh' '$TMP' '$NATLENS' tui $START_ARGS"
}

keys() { $T send-keys -t tui "$@"; }

# quit with a key and check the exit
quit_ok() { # what [key]
    keys "${2:-q}"
    if wait_exit 100 && grep -q 'EXIT=0' "$TMP/exit"; then
        sanitizer_clean "$1"
    else
        fail "$1: ${2:-q} did not exit 0 ($(cat "$TMP/exit" 2>/dev/null))"
    fi
}

# rows of the flows panel on screen: lines with an arrow between the title
# lines and the function bar
flow_rows() {
    sed -n '4,$p' "$TMP/screen" | grep -c '→'
}

# wait_fixed STRING [tenths]: poll the pane until it holds STRING
wait_fixed() {
    n=${2:-100}
    while [ "$n" -gt 0 ]; do
        snap
        grep -Fq -- "$1" "$TMP/screen" && return 0
        sleep 0.1
        n=$((n - 1))
    done
    return 1
}

# filter EXPR COUNT: apply a filter, expect COUNT rows and the count said.
# The prompt showing EXPR means the old status is gone (every key clears
# it), so the count read after Enter is the new filter's.
filter_expect() {
    keys F4 C-u
    keys -l -- "$1"
    wait_fixed "Filter: $1" 30 || fail "filter prompt does not show '$1'"
    keys Enter
    if wait_for "$2 flows? match" 30 && [ "$(flow_rows)" -eq "$2" ]; then
        ok "filter '$1': $2 rows"
    else
        fail "filter '$1': expected $2 rows, saw $(flow_rows)"
    fi
}

# ---- 1. 100x30, snat-masq ---------------------------------------------------
START_ARGS="'$A' '$B'"
start 100 30
if wait_for 'natlens' 30; then ok "first screen within 3 s"; else fail "no first screen"; fi
if wait_for '10\.72\.2\.222:[0-9]+ → 198\.51\.100\.80.*203\.0\.113\.2' 100; then
    ok "inner 10.72.2.222 and egress 203.0.113.2 on one row"
else
    fail "flows panel: no row with 10.72.2.222 and 203.0.113.2"
fi
grep -q 'snat' "$TMP/screen" || fail "flows panel: no snat translation shown"
if grep -q 'PROTO' "$TMP/screen" && grep -Eq ' udp +snat' "$TMP/screen" && grep -Eq ' icmp +snat' "$TMP/screen"; then
    ok "protocol column"
else
    fail "flows panel: no protocol column with udp and icmp"
fi
if grep -q '10\.72\.2\.223 → 198\.51\.100\.80 echo id=777' "$TMP/screen" &&
   grep -q 'echo id=36379' "$TMP/screen" && ! grep -Eq '198\.51\.100\.80:(0|777) ' "$TMP/screen"; then
    ok "ICMP shows its echo id, no ports"
else
    fail "ICMP flows: no 'echo id=' or a port shown"
fi
if grep -q 'F10Quit' "$TMP/screen" && grep -q 'F1Help' "$TMP/screen" && grep -q 'F4Filter' "$TMP/screen"; then
    ok "function bar names F1, F4, F10"
else
    fail "function bar without F1Help/F4Filter/F10Quit"
fi

keys Enter
if wait_for 'SYN seq=[0-9]+' 50; then ok "Enter opens the ladder with the SYN"; else fail "no SYN in the ladder"; fi
grep -q 'SYN,ACK' "$TMP/screen" || fail "ladder without the SYN,ACK"
grep -q '\*203\.0\.113\.2' "$TMP/screen" || fail "ladder header does not mark the translated source with *"
grep -Eq '─+▶' "$TMP/screen" || fail "ladder without arrows"
grep -Eq 'kept 10 of 10 / 10 of 10 packets' "$TMP/screen" || fail "ladder footer does not say what was kept"

keys Escape
wait_for 'NEAR client\.pcap' 30 || fail "Esc does not return to the flows panel"

keys F1
if wait_for 'F10 q +quit' 30 && grep -q 'F4 f' "$TMP/screen"; then ok "F1: help from the key table"; else fail "F1: help does not name F10 q / F4 f"; fi
keys Escape
wait_for 'NEAR client\.pcap' 30 || fail "Esc does not close help"

keys 3
wait_for 'SEEN AS' 30 || fail "NAT panel"
grep -Eq '198\.51\.100\.80:80/tcp +203\.0\.113\.2 +2 ' "$TMP/screen" || fail "NAT map row"
grep -Eq '^ allow 203\.0\.113\.2 +\(8 flows; seen at server\.pcap\)' "$TMP/screen" || fail "NAT map: no allow line first"
keys / '80/tcp' Enter
wait_for '^▶ .*198\.51\.100\.80:80/tcp' 30 || fail "NAT map: search does not find the :80/tcp row"
keys Enter
if wait_for '^▶ +10\.72\.2\.222:[0-9]+ → 198\.51\.100\.80:80 ' 30 && wait_fixed '2 flows (Esc clears' 30 &&
   [ "$(flow_rows)" -eq 2 ]; then
    ok "NAT map: the answer first; Enter filters the flows of a row"
else
    fail "NAT map: Enter does not filter the flows to the row"
fi
keys Escape 3
keys 4
wait_for 'INNER → DESTINATION' 30 || fail "timeline panel"
grep -q 'A 203\.0\.113\.2' "$TMP/screen" || fail "timeline legend"
keys 5
wait_for 'no findings|error|warning' 30 || fail "findings panel"
keys 1
wait_for 'NEAR client\.pcap' 30 || fail "key 1"
ok "panels 3, 4, 5 draw"

# resizes, smaller than 80x24 too, then back
for size in "80 24" "60 15" "20 5" "132 43" "100 30"; do
    set -- $size
    $T resize-window -t tui -x "$1" -y "$2" >/dev/null 2>&1
    sleep 0.2
    [ -f "$TMP/exit" ] && break
done
if wait_for 'NEAR client\.pcap' 50 && [ ! -f "$TMP/exit" ]; then
    ok "resize to 80x24, 60x15, 20x5, 132x43 and back"
else
    fail "resize broke the viewer"
fi

keys q
if wait_exit 50; then
    if grep -q 'EXIT=0' "$TMP/exit"; then ok "q exits 0"; else fail "q: $(cat "$TMP/exit")"; fi
    [ -f "$TMP/tty" ] && ok "tty modes restored" || fail "tty modes not restored"
    sanitizer_clean "snat-masq 100x30"
    wait_for 'TUI-DONE' 30 || fail "shell output after exit not visible"
    if grep -Eq 'F10Quit|NEAR client' "$TMP/screen"; then fail "viewer left on screen after exit"; else ok "screen restored"; fi
else
    fail "q did not exit"
fi

# ---- 2. 80x24, NO_COLOR: filter language, search, F-keys ----------------------
start 80 24 NO_COLOR=1
if wait_for '10\.72\.2\.222:[0-9]+ → 198\.51\.100\.80.*203\.0\.113\.2' 100; then
    ok "80x24 (NO_COLOR): inner and egress on one row"
else
    fail "80x24: no row with inner and egress"
fi
if [ "$(flow_rows)" -eq 8 ] && ! grep -Eq ':[0-9]*…|…[0-9]+ ' "$TMP/screen"; then
    ok "80x24: all 8 rows, no port cut"
else
    fail "80x24: expected 8 rows with whole ports"
fi
keys f
wait_for 'Filter:' 30 || fail "f opens no filter prompt"
keys Escape
filter_expect '10.72.2.223:' 3
grep -q '10\.72\.2\.222:' "$TMP/screen" && fail "text filter 10.72.2.223: still shows 10.72.2.222"
filter_expect 'port 7000' 2
filter_expect 'proto icmp' 2
filter_expect 'host 10.72.2.223' 4
filter_expect 'nat pat' 3
filter_expect 'state SF' 6
filter_expect 'proto tcp and not port 40000' 2
filter_expect 'host 10.72.2.222 or proto icmp' 5
filter_expect '(proto udp or proto icmp) and nat pat' 2
filter_expect 'net 203.0.113.0/24 and not nat pat' 5
# errors in place: the prompt stays open and says what is wrong
keys F4 C-u
keys -l -- 'port x'
keys Enter
if wait_for "Filter: port x.*not a port number: 'x'" 30; then
    ok "filter error shown in place"
else
    fail "filter 'port x': no error on the prompt line"
fi
keys C-u
keys -l -- 'state XX'
if wait_for "unknown state 'XX'" 30; then ok "filter error while typing"; else fail "filter 'state XX': no error"; fi
keys Escape
wait_fixed 'F10Quit' 30 || fail "Esc does not close the filter prompt"
keys Escape
if wait_fixed 'filter cleared' 30 && [ "$(flow_rows)" -eq 8 ]; then ok "Esc clears the filter"; else fail "Esc does not clear the filter"; fi
keys F3
wait_for 'Search:' 30 || fail "F3 opens no search prompt"
keys '7000'
wait_for 'Search: 7000' 30 || fail "search prompt does not take input"
keys Enter
keys Enter
wait_for 'UDP len=' 30 && ok "F3 search then Enter opens the UDP flow's ladder" || fail "search did not land on :7000"
keys Escape F6
wait_for 'sorted by' 30 && ok "F6 sorts" || fail "F6 does not sort"
keys 2
wait_for 'TIME near clock' 30 || fail "key 2 does not open the ladder"
quit_ok "80x24 run" F10

# ---- 3. far-only flows in the FAR column; one connection is one row -----------
# dualnic: the client captured eth0 only; the server saw the flows of both
# NICs, so the eth1 ones are far-only
D=$ROOT/samples/dualnic
START_ARGS="'$D/client-eth0.pcap' '$D/server.pcap'"
start 132 30
if wait_for '^ .—  +203\.0\.113\.20:36952 → 198\.51\.100\.80:80 ' 100; then
    ok "far-only flows sit in the FAR column"
else
    fail "dualnic: the far-only flow is not in the FAR column"
fi
filter_expect 'far-only' 4
keys Enter
if wait_for 'not at client-eth0\.pcap' 30 && grep -q 'only at server\.pcap: no twin at client-eth0\.pcap' "$TMP/screen" &&
   grep -Eq 'TIME near clock client-eth0\.pcap +transit +server\.pcap' "$TMP/screen" &&
   grep -Eq '▶ +SYN seq=' "$TMP/screen" && ! grep -q 'not seen' "$TMP/screen"; then
    ok "its ladder: near clock client-eth0.pcap, the packets on the server.pcap side, nothing 'not seen'"
else
    fail "far-only ladder: wrong side or title"
fi
quit_ok "dualnic 132x30"

# asym-return: the server's capture splits the retried handshake into
# pieces (Zeek's rule after a RST); the viewer shows one connection and
# its ladder pairs every SYN retry with its copy in whichever piece
START_ARGS="'$R/client.pcap' '$R/server.pcap'"
start 132 30
wait_for 'NEAR client\.pcap' 100 || fail "asym-return: no flows"
filter_expect '41001' 1
keys Enter
if wait_for 'SYN seq=1863602837' 30 &&
   [ "$(grep -c 'SYN seq=1863602837 mss=1460 .*SYN seq=1863602837' "$TMP/screen")" -eq 4 ] &&
   ! grep -q 'SYN seq=.*not seen' "$TMP/screen"; then
    ok "41001: all 4 SYN retries paired across the server's pieces, none 'not seen'"
else
    fail "41001: a SYN retry the server holds is not paired"
fi
keys Escape Escape
filter_expect 'far-only' 0
filter_expect 'broken' 2
filter_expect 'state S0' 2
quit_ok "asym-return 132x30"

start 80 24 NO_COLOR=1
wait_for 'NEAR client\.pcap' 100 || fail "asym-return 80x24: no flows"
keys 5
if wait_for 'asymmetric_return' 30 && ! grep -q 'ip rule add from 192\.168\.0\.250 table 100' "$TMP/screen"; then
    ok "80x24 findings: the fix is below the fold"
else
    fail "80x24 findings: panel not drawn, or the fix already visible (nothing to scroll)"
fi
keys j
wait_for 'lines 2-' 30 && ok "j scrolls the detail one line" || fail "j does not scroll the detail"
keys End
if wait_for 'ip rule add from 192\.168\.0\.250 table 100' 30; then
    ok "End scrolls the detail to the fix"
else
    fail "80x24: the fix is not reachable with End"
fi
keys Home
wait_for 'lines 1-' 30 || fail "Home does not go back to the top of the detail"
keys NPage NPage NPage NPage
wait_for 'ip rule add from 192\.168\.0\.250 table 100' 30 && ok "PgDn reaches the fix" || fail "PgDn does not reach the fix"
quit_ok "asym-return 80x24"

# a record file has flows but no packets: the Pair panel shows the record
# (its line, both legs of the mapping) instead of an empty ladder
if [ -f "$R/conntrack-fw.txt" ]; then
    START_ARGS="'$R/conntrack-fw.txt'"
    start 100 24
    wait_for 'FLOW conntrack-fw\.txt' 100 || fail "conntrack records: no flows panel"
    keys Enter
    if wait_for 'RECORD +conntrack-fw\.txt line 2' 30 && wait_for 'outer leg +198\.51\.100\.10:41001 → 192\.168\.0\.250:80' 10; then
        ok "a record flow's Pair panel shows the record, not a ladder"
    else
        fail "record flow: the Pair panel does not show the record"
    fi
    quit_ok "conntrack records"
fi

# ---- 3b. long flows: the ladder reads every packet again from the files -------
# The viewer keeps packet records as `flows` does (a flow keeps at most 24);
# opening a flow of 300 packets reads them again (libpcap, BPF on the
# tuple), on both sides; the one packet the generator dropped on the way is
# the only "not seen". A capture read from a pipe cannot be read again and
# says so; a compressed one goes through the stream layer again.
if [ -x "$GEN" ] && "$GEN" --pair -f 3 --ppf 300 -o "$TMP/long-near.pcap" -O "$TMP/long-far.pcap" \
        -t "$TMP/long.json" > /dev/null 2>&1; then
    START_ARGS="'$TMP/long-near.pcap' '$TMP/long-far.pcap'"
    start 160 40
    wait_for '^ [0-9]+ paired ' 100 || fail "long flows: no summary"
    filter_expect 'proto udp' 1
    keys Enter
    if wait_fixed 'kept 300 of 300 / 299 of 299 packets (both read again)' 100; then
        ok "a 300-packet flow's ladder holds every packet of both sides, read again"
    else
        fail "long flow: the ladder does not hold all 300/299 packets"
    fi
    # page through every rung: exactly one packet is not at the far side
    : > "$TMP/rungs"
    keys Home
    n=0
    while [ $n -lt 30 ]; do
        snap
        sed -n '6,38p' "$TMP/screen" >> "$TMP/rungs"
        grep -Eq ' 300/300 ' "$TMP/screen" && break
        keys NPage
        sleep 0.15
        n=$((n + 1))
    done
    if [ "$(sort -u "$TMP/rungs" | grep -c 'not seen at long-far\.pcap')" -eq 1 ] &&
       ! grep -q 'not seen at long-near\.pcap' "$TMP/rungs" &&
       [ "$(sort -u "$TMP/rungs" | grep -c 'UDP len=.*UDP len=')" -eq 299 ]; then
        ok "long flow: 299 packets paired, the one lost packet 'not seen at long-far.pcap'"
    else
        fail "long flow: expected 299 paired rungs and one 'not seen' ($(sort -u "$TMP/rungs" | grep -c 'UDP len=.*UDP len=') paired)"
    fi
    quit_ok "long flows"

    # the bound: at most 100000 packets a capture are read again, said
    if "$GEN" --pair -f 1 --ppf 120000 -o "$TMP/big-near.pcap" -O "$TMP/big-far.pcap" \
            -t "$TMP/big.json" > /dev/null 2>&1; then
        START_ARGS="'$TMP/big-near.pcap' '$TMP/big-far.pcap'"
        start 180 40
        wait_for '^ [0-9]+ paired ' 200 || fail "120k-packet flow: no summary"
        keys Enter
        if wait_for 'big-near\.pcap: the first 100000 of [0-9]+ packets, read again \(at most 100000 a capture\)' 300 &&
           grep -Eq 'kept 100000 of 1[0-9]{5} / 100000 of 1[0-9]{5} packets \(both read again\)' "$TMP/screen"; then
            ok "a 120k-packet flow: 100000 packets a side read again, the bound said"
        else
            fail "120k-packet flow: the bound of 100000 packets is not said"
        fi
        quit_ok "120k-packet flow"
        rm -f "$TMP/big-near.pcap" "$TMP/big-far.pcap"
    fi

    if command -v gzip > /dev/null 2>&1 && command -v mkfifo > /dev/null 2>&1; then
        gzip -c "$TMP/long-far.pcap" > "$TMP/long-far.pcap.gz"
        mkfifo "$TMP/long-near.fifo"
        # the writer ends when the viewer has read the pipe (or at exit)
        ( timeout 60 cat "$TMP/long-near.pcap" > "$TMP/long-near.fifo" ) &
        catpid=$!
        START_ARGS="'$TMP/long-near.fifo' '$TMP/long-far.pcap.gz'"
        start 160 40
        wait_for '^ [0-9]+ paired ' 100 || fail "pipe and gzip: no summary"
        filter_expect 'proto udp' 1
        keys Enter
        if wait_fixed 'kept 24 of 300 / 299 of 299 packets (long-far.pcap.gz read again)' 100 &&
           grep -q 'long-near.fifo: read from standard input or a pipe, it cannot be read again; the ladder shows the packets kept (24 of 300)' "$TMP/screen"; then
            ok "a pipe is not read again (said); a gzip capture is, through the stream layer"
        else
            fail "pipe and gzip: expected 24 of 300 kept at the pipe, said, and 299 of 299 read again from the .gz"
        fi
        quit_ok "pipe and gzip"
        kill "$catpid" 2> /dev/null
        wait "$catpid" 2> /dev/null
    fi
else
    echo "note: $GEN not built (make $GEN): the long-flow checks did not run"
fi

# ---- 4. 100k flows a side: the rows come before the pairing -------------------
if [ -x "$GEN" ]; then
    FLOWS=100000
    [ $ASAN = 1 ] && FLOWS=20000
    if "$GEN" --pair -f $FLOWS --ppf 4 -o "$TMP/near.pcap" -O "$TMP/far.pcap" -t "$TMP/truth.json" \
            > /dev/null 2>&1; then
        START_ARGS="'$TMP/near.pcap' '$TMP/far.pcap'"
        start 160 40
        # the sequence of what the status line says, sampled every 0.1 s
        # (wait_for below has its own counter: this loop counts in `left`)
        t0=$(date +%s)
        seq=""
        row_while_pairing=0
        keys_ok=0
        left=1200
        while [ $left -gt 0 ]; do
            snap
            st=""
            if grep -q 'pairing 2 captures' "$TMP/screen"; then
                st=pairing
                if grep -Eq '^▶.{0,3}10\.[0-9.]+:[0-9]+ → ' "$TMP/screen"; then
                    if [ $row_while_pairing = 0 ]; then
                        row_while_pairing=1
                        # keys work while pairing: help, the ladder, back
                        keys F1
                        wait_for 'F10 q +quit' 20 && keys Escape &&
                            keys 2 && wait_for "pairing 2 captures… the other side's packets follow" 20 &&
                            keys 1 && keys_ok=1
                        # a flow of the far capture opened while pairing: its
                        # ladder puts it on the far side, in its own clock,
                        # never "near clock far.pcap" (issue 12, section 2)
                        keys F3
                        wait_for 'Search:' 20 && keys -l -- '203.0.113.' && keys Enter
                        wait_for '^▶.*203\.0\.113\.' 20 && keys Enter
                        if wait_for 'TIME (own|near) clock' 20; then
                            if grep -Eq 'TIME near clock +far\.pcap' "$TMP/screen"; then
                                fail "a far flow's ladder while pairing is titled 'near clock far.pcap'"
                            elif grep -q 'pairing 2 captures' "$TMP/screen" &&
                                 ! { grep -Eq 'TIME own clock +near\.pcap +transit +far\.pcap' "$TMP/screen" &&
                                     grep -Eq '^ +— pairing… +203\.0\.113\.' "$TMP/screen"; }; then
                                fail "a far flow's ladder while pairing: not on the far side in its own clock"
                            else
                                ok "a far flow's ladder while pairing sits on the far side"
                            fi
                        else
                            fail "could not open a far flow's ladder while pairing"
                        fi
                        keys 1
                        # the checks above may outlast the pairing: it was seen
                        case " $seq " in *" pairing "*) ;; *) seq="$seq pairing" ;; esac
                        continue
                    fi
                fi
            elif grep -q 'looking for problems' "$TMP/screen"; then
                st=looking
            elif grep -Eq '^ [0-9]+ paired ' "$TMP/screen"; then
                st=done
            fi
            case " $seq " in *" $st "*) ;; *) [ -n "$st" ] && seq="$seq $st" ;; esac
            [ "$st" = done ] && break
            sleep 0.1
            left=$((left - 1))
        done
        seq=${seq# }
        if [ $row_while_pairing = 1 ]; then
            ok "100k pair: flow rows on screen while pairing"
        else
            fail "100k pair: no flow row while the status said pairing (seen: $seq)"
        fi
        [ $keys_ok = 1 ] && ok "keys work while pairing (F1, 2, 1)" || fail "keys while pairing"
        case $seq in
        "pairing looking done"|"pairing done") ok "status sequence: $seq ($(( $(date +%s) - t0 )) s)" ;;
        *) fail "status sequence: '$seq' (want pairing [looking] done)" ;;
        esac
        if grep -Eq '^ [0-9]+ paired .*broken' "$TMP/screen" && grep -q 'FAR far\.pcap' "$TMP/screen"; then
            ok "100k pair: summary and paired rows after pairing"
        else
            fail "100k pair: no summary after pairing"
        fi
        quit_ok "100k pair"
    else
        fail "could not generate the 100k pair with $GEN"
    fi
else
    echo "note: $GEN not built (make $GEN): the 100k-pair check did not run"
fi

# ---- 5. SIGTERM restores the terminal; hostile file name is escaped -----------
EVIL="$TMP/evil$(printf '\033')[2J$(printf '\007').pcap"
cp "$A" "$EVIL"
START_ARGS="'$EVIL'"
start 100 30
# the name comes escaped from the library (text_safe.h: \x1b), the drawing
# layer would show '?': either way no control byte reaches the terminal
if wait_for 'evil(\?|\\x1b)\[2J(\?|\\x07)\.pcap' 100; then
    ok "control bytes in a file name shown escaped"
else
    fail "file name with control bytes not escaped"
fi
wait_for 'FLOW evil' 30 || fail "one capture: no flows panel"
wait_for '^ [0-9]+ flows ' 100 || fail "one capture: no summary"
pane_pid=$($T display -p -t tui '#{pane_pid}')
tui_pid=""
n=30
while [ -z "$tui_pid" ] && [ $n -gt 0 ]; do
    for p in $(pgrep -P "$pane_pid" 2>/dev/null); do
        case $(cat /proc/$p/comm 2>/dev/null) in natlens) tui_pid=$p ;; esac
    done
    [ -n "$tui_pid" ] || { sleep 0.1; n=$((n - 1)); }
done
if [ -n "$tui_pid" ]; then
    kill -TERM "$tui_pid"
    if wait_exit 50 && grep -q 'EXIT=143' "$TMP/exit" && [ -f "$TMP/tty" ]; then
        ok "SIGTERM: exit 143, tty restored"
    else
        fail "SIGTERM: $(cat "$TMP/exit" 2>/dev/null) tty=$(cat "$TMP/tty" 2>/dev/null)"
    fi
else
    fail "could not find the natlens process"
fi

# ---- 6. bad input: exit 2 naming the file, before the screen is taken ---------
"$NATLENS" tui "$TMP/no-such.pcap" "$B" </dev/null >/dev/null 2>"$TMP/err2"
rc=$?
if [ $rc -eq 2 ] && grep -q 'no-such\.pcap' "$TMP/err2"; then
    ok "missing capture: exit 2 naming it"
else
    fail "missing capture: exit $rc, stderr: $(cat "$TMP/err2")"
fi

if [ $fails -ne 0 ]; then
    echo "t_tui: $fails check(s) failed"
    exit 1
fi
echo "t_tui: all checks passed"
exit 0
