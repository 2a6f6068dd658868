#!/bin/sh
# t_capture_burst: natlens-capture loses no more than tcpdump on the same
# interface at the same time (#13 items 9-11). Two namespaces joined by a
# veth pair with offloads left on (as veth and most NICs come), UDP from
# one to the other, natlens-capture and tcpdump (its defaults, -w) on the
# receiving end:
#   1. a burst of 1000 datagrams while both writers are stopped (SIGSTOP)
#      for 0.3 s: the kernel ring alone must hold it (immediate mode's ring
#      held 256 slots and kept 248);
#   2. --rotate-size 1 through 6000 datagrams of 1000 bytes in bursts of
#      200: every rotated file together holds what tcpdump's file holds
#      (fsync and host context used to stall the loop at each rotation);
#   3. a full disk (a 96 KiB tmpfs): exit 1, the "packets captured" count
#      equals the packets in the file, and the statistics block is there.
# Root only; namespaces deleted on exit; every process bounded by timeout.
set -u
skip() { echo "skip: $*"; exit 77; }
[ "$(id -u)" = 0 ] || skip "needs root (network namespaces)"
for t in ip tcpdump timeout python3 pgrep; do
    command -v "$t" >/dev/null 2>&1 || skip "missing tool: $t"
done
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${BUILD:-build}
CAP=${NATLENS_CAPTURE:-$ROOT/$BUILD/natlens-capture}
case $CAP in /*) ;; *) CAP=$ROOT/$CAP ;; esac
NL=${NATLENS:-$ROOT/$BUILD/natlens}
case $NL in /*) ;; *) NL=$ROOT/$NL ;; esac
[ -x "$CAP" ] || { echo "FAIL: no natlens-capture at $CAP"; exit 1; }
P=nlbu$$; A=$P-a; B=$P-b
ip netns add "$A" 2>/dev/null || skip "ip netns add failed (no namespace support)"
T=$(mktemp -d /tmp/t_capture_burst.XXXXXX)
mkdir "$T/z"
pids=""
cleanup() {
    for p in $pids; do kill -CONT "$p" 2>/dev/null; kill "$p" 2>/dev/null; done
    umount "$T/z" 2>/dev/null
    ip netns del "$A" 2>/dev/null; ip netns del "$B" 2>/dev/null
    rm -rf "$T"
}
trap cleanup EXIT
trap 'exit 1' INT TERM
fails=0
fail() { echo "FAIL: $*"; fails=$((fails + 1)); }
ok() { echo "ok: $*"; }

ip netns add "$B" || { echo "FAIL: netns"; exit 1; }
ip link add name "${P}a" netns "$A" type veth peer name "${P}b" netns "$B" || { echo "FAIL: veth"; exit 1; }
for n in "$A" "$B"; do
    ip netns exec "$n" sysctl -qw net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1
    ip -n "$n" link set lo up
done
ip -n "$A" addr add 10.9.0.1/24 dev "${P}a"; ip -n "$A" link set "${P}a" up
ip -n "$B" addr add 10.9.0.2/24 dev "${P}b"; ip -n "$B" link set "${P}b" up
IF=${P}b
cat > "$T/send.py" <<'EOF'
import socket, sys, time
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 4 << 20)
n, burst, gap, size = int(sys.argv[1]), int(sys.argv[2]), float(sys.argv[3]), int(sys.argv[4])
sent = 0
while sent < n:
    for i in range(min(burst, n - sent)):
        s.sendto(b"b" * size, ("10.9.0.2", 9))
        sent += 1
    if gap:
        time.sleep(gap)
EOF
# start NAME CMD...: in namespace B, bounded; waits for "listening on"
start() {
    name=$1; shift
    ip netns exec "$B" timeout 60 "$@" 2> "$T/$name.err" &
    eval "pid_$name=$!"
    pids="$pids $!"
    i=0
    while ! grep -q "listening on" "$T/$name.err" 2>/dev/null; do
        i=$((i + 1)); [ $i -gt 100 ] && { fail "$name: no 'listening on'"; cat "$T/$name.err"; return 1; }
        sleep 0.1
    done
}
# the process doing the work under `ip netns exec timeout` (its child)
worker() { c=$(pgrep -P "$1" | head -1); echo "${c:-$1}"; }
stop() { # PID...: SIGINT the capturing processes, wait for them
    for p in "$@"; do kill -INT "$(worker "$p")" 2>/dev/null; done
    for p in "$@"; do wait "$p" 2>/dev/null; done
}
count() { tcpdump -nn -r "$1" udp port 9 2>/dev/null | wc -l; }

# ---- 1. a burst while the writers are stopped
start nl "$CAP" -i "$IF" -w "$T/burst.pcapng" || exit 1
start td tcpdump -i "$IF" -Z root -n -w "$T/burst-td.pcap" || exit 1
sleep 0.3
for p in $pid_nl $pid_td; do kill -STOP "$(worker "$p")"; done
ip netns exec "$A" timeout 20 python3 "$T/send.py" 1000 1000 0 100
sleep 0.3
for p in $pid_nl $pid_td; do kill -CONT "$(worker "$p")"; done
sleep 1
stop "$pid_nl" "$pid_td"
n=$(count "$T/burst.pcapng"); t=$(count "$T/burst-td.pcap")
echo "burst of 1000 while the writers were stopped: natlens-capture $n, tcpdump $t"
[ "$t" -gt 0 ] || fail "burst: tcpdump saw nothing (lab broken)"
if [ "$n" -ge "$t" ] && [ "$n" -ge 1000 ]; then ok "burst: natlens-capture kept all 1000"
else fail "burst: natlens-capture kept $n, tcpdump $t"; sed 's/^/    /' "$T/nl.err"; fi

# ---- 2. rotation through a bursty stream
start nl "$CAP" -i "$IF" -w "$T/rot.pcapng" --rotate-size 1 || exit 1
start td tcpdump -i "$IF" -Z root -n -w "$T/rot-td.pcap" || exit 1
sleep 0.3
ip netns exec "$A" timeout 30 python3 "$T/send.py" 6000 200 0.02 1000
sleep 1
stop "$pid_nl" "$pid_td"
n=0; files=0
for f in "$T"/rot.*.pcapng; do
    [ -f "$f" ] || continue
    files=$((files + 1)); n=$((n + $(count "$f")))
done
t=$(count "$T/rot-td.pcap")
echo "rotation: $files files, natlens-capture $n, tcpdump $t of 6000"
[ "$files" -ge 5 ] || fail "rotation: only $files files for 6 MB"
if [ "$n" -ge "$t" ] && [ "$t" -gt 0 ]; then ok "rotation: the rotated files hold at least what tcpdump's holds"
else fail "rotation: natlens-capture $n < tcpdump $t"; sed 's/^/    /' "$T/nl.err"; fi

# ---- 3. a full disk
if mount -t tmpfs -o size=96k "nlbu$$" "$T/z" 2>/dev/null; then
    start nl "$CAP" -i "$IF" -w "$T/z/full.pcapng" || exit 1
    ip netns exec "$A" timeout 20 python3 "$T/send.py" 300 1 0.002 1000
    sleep 0.5
    stop "$pid_nl"
    wait "$pid_nl" 2>/dev/null
    said=$(sed -n 's/^\([0-9]*\) packets captured$/\1/p' "$T/nl.err")
    infile=$(tcpdump -nn -r "$T/z/full.pcapng" 2>/dev/null | wc -l)
    grep -q "No space left on device" "$T/nl.err" || fail "full disk: no 'No space left' message"
    if [ -n "$said" ] && [ "$said" = "$infile" ] && [ "$infile" -gt 0 ]; then
        ok "full disk: 'N packets captured' ($said) equals the packets in the file"
    else
        fail "full disk: stderr says '$said' packets captured, the file holds $infile"; sed 's/^/    /' "$T/nl.err"
    fi
    if [ -x "$NL" ]; then
        "$NL" flows --json "$T/z/full.pcapng" > "$T/full.json" 2>/dev/null
        python3 -c 'import json,sys; c=json.load(open(sys.argv[1]))["captures"][0]; sys.exit(0 if "capture_dropped" in c else 1)' "$T/full.json" &&
            ok "full disk: the statistics block was written" || fail "full disk: no statistics block in the file"
    elif command -v capinfos >/dev/null 2>&1; then
        capinfos "$T/z/full.pcapng" 2>/dev/null | grep -q "Number of stat entries = 1" &&
            ok "full disk: the statistics block was written" || fail "full disk: no statistics block in the file"
    fi
    umount "$T/z"
else
    echo "note: cannot mount a tmpfs here: full-disk part skipped"
fi
[ $fails -eq 0 ] && echo "ok: natlens-capture kept at least what tcpdump kept"
exit $fails
