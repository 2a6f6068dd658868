#!/bin/sh
# natlens-capture --conntrack in a namespace lab: clients 10.72.2.222 and
# 10.72.2.223 (MASQUERADE to 203.0.113.2) and 10.72.3.5 (SNAT to
# 203.0.113.10) -- NAT router -- server 198.51.100.80.
# On the router: natlens-capture -i any --conntrack -Z nobody, and beside it
# `conntrack -E -o timestamp,id` and tcpdump. Bounded TCP (two clients on the
# same source port: the second is remapped), UDP (answered and not), ICMP
# echo (two clients with the same id: one is remapped); SIGINT stops.
# Checks: every event in the file is one conntrack -E printed and the other
# way round (tests/ctev_check.py decodes the blocks independently of
# natlens), DESTROY events (conntrack -D) carry the kernel's start and stop
# and natlens starts those flows there; `natlens flows --json` reports every mapping with conntrack's
# tuples (and conntrack -L's for the entries still listed), frame numbers
# that are event blocks in tshark too; tcpdump and tshark read the file with
# the packet count of the parallel tcpdump; then a second capture with a
# tiny event buffer, stopped (SIGSTOP) during a burst: the kernel drops
# events, natlens-capture counts and warns, the file holds LOSS blocks and
# natlens warns. Root only; about 15 s.
set -u
skip() { echo "t_capture_conntrack: skipped: $*"; exit 77; }
[ "$(id -u)" = 0 ] || skip "needs root (network namespaces)"
for t in ip iptables conntrack tcpdump tshark ethtool timeout python3; do
    command -v "$t" >/dev/null 2>&1 || skip "missing tool: $t"
done
here=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${BUILD:-build}
CAP=${NATLENS_CAPTURE:-$here/$BUILD/natlens-capture}
NL=${NATLENS:-$here/$BUILD/natlens}
[ -x "$CAP" ] && [ -x "$NL" ] || { echo "FAIL: natlens-capture or natlens not built ($CAP, $NL)"; exit 1; }
P=nlct$$
C=$P-c; R=$P-r; S=$P-s
ip netns add "$C" 2>/dev/null || skip "ip netns add failed (no namespace support)"
T=$(mktemp -d /tmp/t_capture_conntrack.XXXXXX)
chmod 755 "$T"
pids=""
cleanup() {
    for p in $pids; do kill -CONT "$p" 2>/dev/null; kill "$p" 2>/dev/null; done
    sleep 0.2
    for p in $pids; do kill -9 "$p" 2>/dev/null; done
    for n in "$C" "$R" "$S"; do ip netns del "$n" 2>/dev/null; done
    rm -rf "$T"
}
trap cleanup EXIT
trap 'exit 1' INT TERM
fail=0
ok()  { echo "ok   $*"; }
bad() { echo "FAIL $*"; fail=1; }
X() { ns=$1; shift; ip netns exec "$ns" "$@"; }
tshark_err() { grep -v -e 'Running as user' -e '^$' "$1"; }

# ---- the lab (every veth end inside our namespaces)
ip netns add "$R" && ip netns add "$S" || { echo "FAIL: netns"; exit 1; }
ip link add name "${P}c0" netns "$C" type veth peer name "${P}r0" netns "$R" || exit 1
ip link add name "${P}r1" netns "$R" type veth peer name "${P}s0" netns "$S" || exit 1
CI=${P}c0; RI=${P}r0; RO=${P}r1; SI=${P}s0
for n in "$C" "$R" "$S"; do
    X "$n" sysctl -qw net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1
    X "$n" ip link set lo up
done
for pair in "$C $CI" "$R $RI" "$R $RO" "$S $SI"; do
    set -- $pair
    X "$1" sysctl -qw "net.ipv6.conf.$2.disable_ipv6=1"
    X "$1" ethtool -K "$2" tx off sg off tso off gso off gro off >/dev/null 2>&1
    X "$1" ip link set "$2" up
done
X "$C" ip addr add 10.72.2.222/24 dev "$CI"
X "$C" ip addr add 10.72.2.223/24 dev "$CI"
X "$C" ip addr add 10.72.3.5/24 dev "$CI"
X "$C" ip route add default via 10.72.2.1
X "$R" ip addr add 10.72.2.1/24 dev "$RI"
X "$R" ip addr add 10.72.3.1/24 dev "$RI"
X "$R" ip addr add 203.0.113.2/24 dev "$RO"
X "$R" ip addr add 203.0.113.10/24 dev "$RO"
X "$R" ip route add 198.51.100.0/24 dev "$RO"
X "$R" sysctl -qw net.ipv4.ip_forward=1
X "$R" iptables -t nat -A POSTROUTING -o "$RO" -s 10.72.3.0/24 -j SNAT --to-source 203.0.113.10 \
    || skip "iptables nat unusable in a namespace"
X "$R" iptables -t nat -A POSTROUTING -o "$RO" -j MASQUERADE
X "$S" ip addr add 198.51.100.80/24 dev "$SI"
X "$S" ip route add 203.0.113.0/24 dev "$SI"

# ---- bounded servers and clients (no name lookups anywhere)
cat > "$T/srv.py" <<'EOF'
import select, socket, sys, time
t = socket.socket(); t.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
t.bind(("198.51.100.80", 8080)); t.listen(64)
u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); u.bind(("198.51.100.80", 5353))
end = time.time() + float(sys.argv[1])
while time.time() < end:
    r, _, _ = select.select([t, u], [], [], 0.2)
    if u in r:
        d, a = u.recvfrom(2048); u.sendto(d, a)
    if t in r:
        c, _ = t.accept(); c.settimeout(1)
        try:
            c.sendall(c.recv(4096))
        except Exception:
            pass
        c.close()
EOF
cat > "$T/cli.py" <<'EOF'
import socket, struct, sys, time
def tcp(src, n, sport=0, gap=0.02):
    for i in range(n):
        c = socket.socket(); c.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        c.bind((src, sport)); c.settimeout(2); c.connect(("198.51.100.80", 8080))
        c.sendall(b"hello %d" % i); c.recv(100); c.close(); time.sleep(gap)
def udp(src, port, n):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind((src, 0)); s.settimeout(0.5)
    for i in range(n):
        s.sendto(b"u%d" % i, ("198.51.100.80", port))
        if port == 5353:
            s.recv(100)
def ping(src, ident, n):
    s = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP); s.bind((src, 0))
    for i in range(n):
        h = struct.pack("!BBHHH", 8, 0, 0, ident, i) + b"natlens!"
        c = sum((h[j] << 8) + h[j + 1] for j in range(0, len(h), 2))
        c = (c >> 16) + (c & 0xffff); c = ~(c + (c >> 16)) & 0xffff
        s.sendto(h[:2] + struct.pack("!H", c) + h[4:], ("198.51.100.80", 0)); time.sleep(0.05)
what = sys.argv[1]
if what == "main":
    tcp("10.72.2.222", 8)
    tcp("10.72.3.5", 4)
    tcp("10.72.2.222", 1, 40000)     # the same source port from two clients:
    tcp("10.72.2.223", 1, 40000)     # MASQUERADE remaps the second
    udp("10.72.2.222", 5353, 3); udp("10.72.3.5", 5353, 2); udp("10.72.2.223", 9, 2)
    ping("10.72.2.222", 4242, 2); ping("10.72.2.223", 4242, 2)   # one echo id remapped
elif what == "burst":
    tcp("10.72.2.222", int(sys.argv[2]), 0, 0)
EOF

wait_listen() {
    i=0
    while ! grep -q "listening on" "$1" 2>/dev/null; do
        i=$((i + 1)); [ $i -gt 50 ] && { bad "no 'listening on' in $1"; cat "$1"; return 1; }
        sleep 0.1
    done
}
stop() {
    kill -INT "$1" 2>/dev/null
    i=0
    while kill -0 "$1" 2>/dev/null; do
        i=$((i + 1)); [ $i -gt 50 ] && { kill -9 "$1"; bad "pid $1 ignored SIGINT"; break; }
        sleep 0.1
    done
    wait "$1" 2>/dev/null
}

# ---- capture with the listener, conntrack -E and tcpdump beside it
mkdir -m 777 "$T/z"
ip netns exec "$S" timeout 40 python3 "$T/srv.py" 30 & pids="$pids $!"
ip netns exec "$R" timeout 30 conntrack -E -o timestamp,id > "$T/ct-events.txt" 2>"$T/ct.err" &
ctpid=$!; pids="$pids $ctpid"
ip netns exec "$R" timeout 30 tcpdump -i any -B 65536 -U --immediate-mode -Z root -n -w "$T/td.pcap" 2>"$T/td.err" &
tpid=$!; pids="$pids $tpid"
ip netns exec "$R" timeout 30 "$CAP" -i any -B 65536 -w "$T/z/router.pcapng" --role router --conntrack -Z nobody \
    2>"$T/cap.err" &
cpid=$!; pids="$pids $cpid"
wait_listen "$T/cap.err"; wait_listen "$T/td.err"
sleep 0.5   # conntrack -E prints nothing to wait for: give it the time to subscribe
X "$C" timeout 20 python3 "$T/cli.py" main || bad "client traffic failed"
sleep 1     # the last UPDATEs (TIME_WAIT) and packets reach every listener
# DESTROY events now (timeouts are minutes): they carry the kernel's times
X "$R" conntrack -D -p udp > /dev/null 2>&1 || bad "conntrack -D failed"
sleep 0.5
stop "$cpid"; stop "$tpid"; stop "$ctpid"
X "$R" conntrack -L -o id > "$T/ct-list.txt" 2>/dev/null
cat "$T/cap.err"

grep -q "^0 packets dropped by kernel" "$T/cap.err" && ok "natlens-capture: 0 packets dropped" \
    || bad "natlens-capture dropped packets: $(cat "$T/cap.err")"
grep -q "^0 conntrack event losses" "$T/cap.err" && ok "natlens-capture: 0 conntrack event losses" \
    || bad "conntrack event losses in the main run"
[ "$(stat -c %U "$T/z/router.pcapng")" = nobody ] && ok "-Z nobody: events still recorded after the drop" \
    || bad "-Z: owner $(stat -c %U "$T/z/router.pcapng")"
[ "$(X "$R" sysctl -n net.netfilter.nf_conntrack_timestamp)" = 1 ] && ok "nf_conntrack_timestamp on in the router namespace" \
    || bad "nf_conntrack_timestamp not on"

# ---- the events against conntrack's own, the mappings against natlens's
"$NL" flows --json "$T/z/router.pcapng" > "$T/flows.json" 2>"$T/flows.err" || bad "natlens flows --json exit $?"
python3 "$here/tests/ctev_check.py" compare "$T/z/router.pcapng" "$T/ct-events.txt" "$T/flows.json" \
    "$T/ct-list.txt" > "$T/cmp.txt"
rc=$?
cat "$T/cmp.txt"
[ $rc = 0 ] && ok "every event and mapping in the file is conntrack's own" || bad "events/mappings differ from conntrack"
rec=$(sed -n 's/^\([0-9]*\) conntrack events recorded$/\1/p' "$T/cap.err")
got=$(sed -n 's/^events: file \([0-9]*\), conntrack -E \([0-9]*\).*/\1 \2/p' "$T/cmp.txt")
[ "$rec" = "${got%% *}" ] && [ -n "$rec" ] && [ "$rec" -gt 50 ] && ok "natlens-capture says $rec events, the file holds $rec (conntrack -E: ${got##* })" \
    || bad "events: natlens-capture says '$rec', file/conntrack '$got'"
python3 - "$T/flows.json" "$T/cmp.txt" <<'EOF' && ok "flows --json: captures[].conntrack, remapped port and echo id, UNREPLIED udp/9" || bad "flows --json content"
import json, sys
d = json.load(open(sys.argv[1]))
c = d["captures"][0]["conntrack"]
assert c["listener"] and c["losses"] == 0 and c["bad_blocks"] == 0 and c["events"] > 50, c
fl = {f["id"]: f for f in d["flows"]}
maps = [(fl[r["flow"]], fl[r["other_leg"]], r) for r in d["records"] if r["side"] == "inner" and r["other_leg"]]
pairs = {(i["orig_ip"], i["orig_port"], i["proto"]): (o["orig_ip"], o["orig_port"]) for i, o, _ in maps}
# the two clients on source port 40000: one kept it, the other was remapped
a, b = pairs[("10.72.2.222", 40000, "tcp")], pairs[("10.72.2.223", 40000, "tcp")]
assert a[0] == b[0] == "203.0.113.2" and a[1] != b[1], (a, b)
# ICMP: both echo ids 4242 through one address: two different outside ids
e = [o for (ip, port, p), o in pairs.items() if p == "icmp" and port == 4242]
assert len(e) == 2 and e[0][0] == e[1][0] == "203.0.113.2" and e[0][1] != e[1][1], e
assert all(o[0] == "203.0.113.10" for (ip, _, _), o in pairs.items() if ip == "10.72.3.5"), pairs
un = [r for i, o, r in maps if i["resp_port"] == 9]
assert un and all("UNREPLIED" in r["conntrack"] for r in un), un
assert all(r["frame"] and r["line"] is None for _, _, r in maps)
EOF

# ---- frames: natlens's record frames are custom blocks in tshark too
tshark -r "$T/z/router.pcapng" -T fields -e frame.number -e frame.encap_type > "$T/ts-frames.txt" 2>"$T/ts.err"
[ $? = 0 ] && ! tshark_err "$T/ts.err" >/dev/null && ok "tshark reads the file cleanly" || bad "tshark -r: $(tshark_err "$T/ts.err")"
python3 - "$T/flows.json" "$T/ts-frames.txt" <<'EOF' && ok "every record's frame number is a custom block frame in tshark" || bad "frame numbers differ from tshark's"
import json, sys
d = json.load(open(sys.argv[1]))
cb = {int(l.split("\t")[0]) for l in open(sys.argv[2]) if l.split("\t")[1].strip() == ""}
fr = {r["frame"] for r in d["records"]}
assert fr and fr <= cb, sorted(fr - cb)[:5]
EOF

# ---- packet counts: tcpdump and tshark on our file, the parallel tcpdump
n_td=$(tcpdump -nn -r "$T/td.pcap" 2>/dev/null | wc -l)
n_td_ours=$(tcpdump -nn -r "$T/z/router.pcapng" 2>"$T/tdr.err" | wc -l)
n_ts_pkts=$(awk -F'\t' '$2 != ""' "$T/ts-frames.txt" | wc -l)
n_ts_all=$(wc -l < "$T/ts-frames.txt")
n_cap=$(sed -n 's/^\([0-9]*\) packets captured$/\1/p' "$T/cap.err")
n_blocks=$(python3 "$here/tests/ctev_check.py" blocks "$T/z/router.pcapng" | tail -n 1 |
           python3 -c 'import json,sys; s=json.load(sys.stdin)["summary"]; print(s["packets"], s["custom"])')
# tcpdump says where it reads from and that SLL2 interface indexes are this host's
grep -v -e "^reading from file" -e "^Warning: interface names might be incorrect" "$T/tdr.err" | grep -q . \
    && bad "tcpdump -r complains: $(cat "$T/tdr.err")"
echo "packets: natlens-capture $n_cap, tcpdump -r ours $n_td_ours, tshark ours $n_ts_pkts (+$((n_ts_all - n_ts_pkts)) custom blocks = $n_ts_all frames), parallel tcpdump $n_td; blocks (packets custom) $n_blocks"
[ "$n_td_ours" = "$n_td" ] && [ "$n_ts_pkts" = "$n_td" ] && [ "$n_cap" = "$n_td" ] && [ "$n_td" -gt 100 ] \
    && ok "tcpdump and tshark read $n_td packets, as many as the parallel tcpdump" \
    || bad "packet counts differ"
[ "$n_ts_all" = "$(( ${n_blocks% *} + ${n_blocks#* } ))" ] && ok "tshark lists each custom block as a frame of its own (no time, no packet)" \
    || bad "tshark frames $n_ts_all vs blocks $n_blocks"

# ---- text output
"$NL" flows "$T/z/router.pcapng" > "$T/flows.txt" 2>&1
grep -q "^NAT MAPPINGS (from the conntrack events in the capture)" "$T/flows.txt" &&
    grep -q "10.72.3.5:[0-9]* .*203.0.113.10:[0-9]* *frame [0-9]" "$T/flows.txt" &&
    ok "natlens flows: NAT MAPPINGS from the kernel's events" || { bad "natlens flows text"; sed -n '/NAT MAP/,$p' "$T/flows.txt" | head; }

# ---- the kernel drops events: a tiny buffer, the listener stopped during a burst
ip netns exec "$R" timeout 30 "$CAP" -i "$RO" -w "$T/loss.pcapng" --conntrack --conntrack-buffer 4 \
    2>"$T/loss.err" &
lpid=$!; pids="$pids $lpid"
wait_listen "$T/loss.err"
# $lpid is timeout(1) (ip netns exec execs it); the capture is its child
cap=$(cat "/proc/$lpid/task/$lpid/children" 2>/dev/null | awk '{print $1}')
[ -n "$cap" ] || { bad "no natlens-capture child under $lpid"; cap=$lpid; }
pids="$pids $cap"
kill -STOP "$cap"
X "$C" timeout 20 python3 "$T/cli.py" burst 40 || bad "burst traffic failed"
sleep 0.3
kill -CONT "$cap"
sleep 0.5
stop "$lpid"
cat "$T/loss.err"
losses=$(sed -n 's/^\([0-9]*\) conntrack event losses.*/\1/p' "$T/loss.err")
[ -n "$losses" ] && [ "$losses" -gt 0 ] && grep -q "warning: the kernel dropped conntrack events" "$T/loss.err" \
    && ok "overrun: natlens-capture warned and counted $losses losses" || bad "overrun not reported: $(cat "$T/loss.err")"
nloss=$(python3 "$here/tests/ctev_check.py" blocks "$T/loss.pcapng" | tail -n 1 |
        python3 -c 'import json,sys; print(json.load(sys.stdin)["summary"]["losses"])')
[ "$nloss" = "$losses" ] && ok "overrun: $nloss LOSS blocks in the file" || bad "LOSS blocks $nloss, reported $losses"
"$NL" flows --json "$T/loss.pcapng" > "$T/loss.json" 2>"$T/loss-nl.err" || bad "natlens flows on the loss file exit $?"
grep -Eq "the kernel dropped conntrack events $losses times? while capturing \(first before byte offset [0-9]+" "$T/loss-nl.err" \
    && ok "natlens warns: $(grep -o 'the kernel dropped.*' "$T/loss-nl.err" | head -1)" || bad "natlens loss warning: $(cat "$T/loss-nl.err")"
python3 -c 'import json,sys; c=json.load(open(sys.argv[1]))["captures"][0]["conntrack"]; sys.exit(c["losses"] != int(sys.argv[2]))' \
    "$T/loss.json" "$losses" && ok "flows --json: captures[].conntrack.losses = $losses" || bad "JSON losses"

# CT_KEEP=DIR keeps the files (how samples/records/capture/ was made)
if [ -n "${CT_KEEP:-}" ]; then
    mkdir -p "$CT_KEEP" && cp "$T/z/router.pcapng" "$T/ct-events.txt" "$T/ct-list.txt" "$T/loss.pcapng" "$CT_KEEP/"
fi
[ $fail = 0 ] && echo "t_capture_conntrack: all checks passed" || echo "t_capture_conntrack: FAILED"
exit $fail
