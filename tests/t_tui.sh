#!/bin/sh
# t_tui.sh - drive `natlens tui` in a private tmux server and read the screen.
#
# Checks: the first screen shows inner and egress addresses on one row
# (snat-masq), Enter opens the ladder with the SYN, ? shows help naming the
# quit key, the other panels draw, resizes (down to 60x15) do not kill it,
# 80x24 with NO_COLOR works, filter and search work, q exits 0 with the tty
# modes restored and the alternate screen left, SIGTERM exits 143 cleanly,
# control bytes in a file name are not sent to the terminal, a bad path
# exits 2 naming the file. Polls the pane with bounded loops, no fixed sleeps.
set -u

NATLENS=${NATLENS:-build/natlens}
ROOT=$(cd "$(dirname "$0")/.." && pwd)

if ! command -v tmux >/dev/null 2>&1; then
    echo "skip: tmux is not installed (apt-get install tmux)"
    exit 77
fi
case $NATLENS in /*) ;; *) NATLENS=$ROOT/$NATLENS ;; esac
if [ ! -x "$NATLENS" ]; then
    echo "FAIL: $NATLENS is not built"
    exit 1
fi

S=$ROOT/samples/snat-masq
A=$S/client.pcap
B=$S/server.pcap
if [ ! -f "$A" ] || [ ! -f "$B" ]; then
    echo "FAIL: samples/snat-masq is missing"
    exit 1
fi

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
    [ -s "$TMP/err" ] && { echo "---- stderr ----"; cat "$TMP/err"; }
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
grep -q 'qQuit' "$TMP/screen" || fail "function bar without qQuit"

keys Enter
if wait_for 'SYN seq=[0-9]+' 50; then ok "Enter opens the ladder with the SYN"; else fail "no SYN in the ladder"; fi
grep -q 'SYN,ACK' "$TMP/screen" || fail "ladder without the SYN,ACK"
grep -q '\*203\.0\.113\.2' "$TMP/screen" || fail "ladder header does not mark the translated source with *"
grep -Eq '─+▶' "$TMP/screen" || fail "ladder without arrows"

keys Escape
wait_for 'NEAR client\.pcap' 30 || fail "Esc does not return to the flows panel"

keys '?'
if wait_for 'q/F10 +quit' 30; then ok "help names the quit key"; else fail "help does not name q"; fi
keys Escape
wait_for 'NEAR client\.pcap' 30 || fail "Esc does not close help"

keys 3
wait_for 'SEEN AS' 30 || fail "NAT panel"
grep -Eq '198\.51\.100\.80:80/tcp +203\.0\.113\.2 +2 ' "$TMP/screen" || fail "NAT map row"
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
    wait_for 'TUI-DONE' 30 || fail "shell output after exit not visible"
    if grep -Eq 'qQuit|NEAR client' "$TMP/screen"; then fail "viewer left on screen after exit"; else ok "screen restored"; fi
else
    fail "q did not exit"
fi

# ---- 2. 80x24, NO_COLOR, filter and search ------------------------------------
start 80 24 NO_COLOR=1
if wait_for '10\.72\.2\.222:[0-9]+ → 198\.51\.100\.80.*203\.0\.113\.2' 100; then
    ok "80x24 (NO_COLOR): inner and egress on one row"
else
    fail "80x24: no row with inner and egress"
fi
keys f
wait_for 'Filter:' 30 || fail "f opens no filter prompt"
keys '10.72.2.223:' Enter
if wait_for '\["10\.72\.2\.223:"\]' 30 && grep -q '10\.72\.2\.223:' "$TMP/screen" && ! grep -q '10\.72\.2\.222:' "$TMP/screen"; then
    ok "filter by text"
else
    fail "filter 10.72.2.223: still shows other hosts"
fi
keys Escape
wait_for '10\.72\.2\.222:' 30 || fail "Esc does not clear the filter"
keys / '7000'
wait_for 'Search: 7000' 30 || fail "/ opens no search prompt"
keys Enter
keys Enter
wait_for 'UDP len=' 30 && ok "search then Enter opens the UDP flow's ladder" || fail "search did not land on :7000"
keys Escape s
wait_for 'sorted by' 30 || fail "s does not sort"
keys 2
wait_for 'TIME near clock' 30 || fail "key 2 does not open the ladder"
keys q
wait_exit 50 && grep -q 'EXIT=0' "$TMP/exit" || fail "80x24 run: q did not exit 0"

# ---- 3. SIGTERM restores the terminal; hostile file name is escaped -----------
EVIL="$TMP/evil$(printf '\033')[2J$(printf '\007').pcap"
cp "$A" "$EVIL"
START_ARGS="'$EVIL'"
start 100 30
if wait_for 'evil\?\[2J\?\.pcap' 100; then
    ok "control bytes in a file name shown as ?"
else
    fail "file name with control bytes not escaped"
fi
wait_for 'FLOW evil' 30 || fail "one capture: no flows panel"
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

# ---- 4. bad input: exit 2 naming the file, before the screen is taken ---------
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
