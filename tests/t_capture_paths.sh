#!/bin/sh
# t_capture_paths: natlens-capture (run as root) executes the system's own
# `ip` and `iptables-save`, never what an inherited PATH points at. Fake
# tools that leave a mark are put first on PATH; natlens-capture records a
# file in a namespace of our own; the marks must be absent and the stored
# host context must be the real tools' output (the namespace's loopback in
# "addr", iptables-save's nat table).
set -u
skip() { echo "skip: $*"; exit 77; }
[ "$(id -u)" = 0 ] || skip "needs root (network namespaces)"
command -v ip >/dev/null 2>&1 || skip "missing tool: ip"
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${BUILD:-build}
CAP=${NATLENS_CAPTURE:-$ROOT/$BUILD/natlens-capture}
case $CAP in /*) ;; *) CAP=$ROOT/$CAP ;; esac
[ -x "$CAP" ] || { echo "FAIL: no natlens-capture at $CAP"; exit 1; }
NS=nlpath$$
ip netns add "$NS" 2>/dev/null || skip "ip netns add failed"
T=$(mktemp -d /tmp/t_capture_paths.XXXXXX)
pid=""
trap '[ -n "$pid" ] && kill "$pid" 2>/dev/null; ip netns del "$NS" 2>/dev/null; rm -rf "$T"' EXIT
fails=0
fail() { echo "FAIL: $*"; fails=$((fails + 1)); }
ip -n "$NS" link set lo up

mkdir "$T/evil"
for tool in ip iptables-save; do
    cat > "$T/evil/$tool" <<EOF
#!/bin/sh
echo "\$0 \$*" >> "$T/ran"
echo '{"evil":"from PATH"}'
EOF
    chmod 755 "$T/evil/$tool"
done

ip netns exec "$NS" env PATH="$T/evil:$PATH" timeout 20 "$CAP" -i lo -w "$T/cap.pcapng" 2> "$T/err" &
pid=$!
i=0
while ! grep -q "listening on" "$T/err" 2>/dev/null; do
    i=$((i + 1)); [ $i -gt 100 ] && break; sleep 0.1
done
# ip netns exec and env exec in place; timeout's child is natlens-capture
kill -INT "$(pgrep -P "$pid" | head -1)" 2>/dev/null
wait "$pid"
pid=""
if [ -s "$T/ran" ]; then
    fail "a tool was run from PATH:"; sed 's/^/    /' "$T/ran"
fi
"$CAP" meta "$T/cap.pcapng" > "$T/meta.json" 2>"$T/merr" || fail "meta: $(cat "$T/merr")"
grep -q 'from PATH' "$T/meta.json" && fail "the host context holds the fake tool's output"
python3 - "$T/meta.json" <<'EOF' || fail "the host context lacks the real tools' output"
import json, sys
d = json.load(open(sys.argv[1]))
assert isinstance(d.get("addr"), list) and any(i.get("ifname") == "lo" for i in d["addr"]), d.get("errors")
assert isinstance(d.get("route"), list), d.get("errors")
if d.get("nat_rules") is None:
    assert not any("command not found" in e for e in d.get("errors", [])), d.get("errors")
EOF
[ $fails -eq 0 ] && echo "ok: ip and iptables-save came from the system's fixed places"
exit $fails
