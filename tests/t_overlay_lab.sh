#!/bin/sh
# An overlay in network namespaces, once with VXLAN and once with Geneve:
#
#   vm (10.99.N.2) -- hosta [bridge + VTEP 192.0.2.1] ==underlay== [VTEP 192.0.2.2 +
#   gateway 10.99.N.1, SNAT to 198.51.100.1] hostb -- srv (198.51.100.80)
#
# Bounded TCP and UDP traffic from the VM to the server, captured inside the
# VM, on the underlay (hosta's leg) and at the server; hostb's conntrack is
# the truth. VXLAN
# is the kernel's; Geneve is the kernel's when `ip link add type geneve`
# works, else a user-space relay (tests/geneve_relay.py, a TAP device bridged
# to UDP 6081) - the test says which ran. Checks, per overlay: natlens finds
# every connection conntrack saw inside the underlay capture, with the right
# outer tuple and VNI; `natlens correlate vm.pcap underlay.pcap` pairs each
# VM connection with its inner flow and nothing else (precision and recall
# 1.0 against conntrack), its egress answer names the inner address, and the
# underlay's VTEP addresses appear nowhere as a translation; with the server
# capture as third, every connection is followed through all three and the
# egress is hostb's SNAT address. Root only; ~20 s.
set -u
skip() { echo "t_overlay_lab: skipped: $*"; exit 77; }
[ "$(id -u)" = 0 ] || skip "needs root (network namespaces)"
for t in ip iptables conntrack tcpdump ethtool timeout python3; do
    command -v "$t" >/dev/null 2>&1 || skip "missing tool: $t"
done
here=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${BUILD:-build}
N=${NATLENS:-$here/$BUILD/natlens}
[ -x "$N" ] || { echo "FAIL: no natlens binary at $N"; exit 1; }
P=nlov$$
probe=${P}p
ip netns add "$probe" 2>/dev/null || skip "ip netns add failed (no namespace support)"
ok=1
ip netns exec "$probe" ip link add name vx0 type vxlan id 1 dstport 4789 local 192.0.2.9 \
    remote 192.0.2.8 2>/dev/null || ok=0
ip netns exec "$probe" iptables -t nat -L -n >/dev/null 2>&1 || ok=0
ip netns del "$probe"
[ $ok = 1 ] || skip "no VXLAN or no iptables nat in a namespace"

T=$(mktemp -d /tmp/t_overlay_lab.XXXXXX)
pids=""
NSS=""
cleanup() {
    for p in $pids; do kill "$p" 2>/dev/null; done
    sleep 0.2
    for p in $pids; do kill -9 "$p" 2>/dev/null; done
    for n in $NSS; do ip netns del "$n" 2>/dev/null; done
    rm -rf "$T"
}
[ -n "${NLOV_KEEP:-}" ] && cleanup() { for p in $pids; do kill "$p" 2>/dev/null; done; for n in $NSS; do ip netns del "$n" 2>/dev/null; done; echo "kept $T"; }
trap cleanup EXIT
trap 'exit 1' INT TERM
fail=0
ok()  { echo "ok   $*"; }
bad() { echo "FAIL $*"; fail=1; }
X() { ns=$1; shift; ip netns exec "$ns" "$@"; }

# wait_listen FILE [WORDS]: until FILE holds WORDS (tcpdump: "listening on")
wait_listen() {
    i=0
    while ! grep -q "${2:-listening on}" "$1" 2>/dev/null; do
        i=$((i + 1)); [ $i -gt 50 ] && { bad "no 'listening on' in $1"; return 1; }
        sleep 0.1
    done
}
stop() {
    kill -INT "$1" 2>/dev/null
    i=0
    while kill -0 "$1" 2>/dev/null; do
        i=$((i + 1)); [ $i -gt 50 ] && { kill -9 "$1"; break; }
        sleep 0.1
    done
    wait "$1" 2>/dev/null
}

cat > "$T/srv.py" <<'EOF'
import select, socket, sys, time
t = socket.socket(); t.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
t.bind(("198.51.100.80", 8080)); t.listen(16)
u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); u.bind(("198.51.100.80", 5300))
print("listening on 8080/tcp 5300/udp", flush=True)
end = time.time() + float(sys.argv[1])
while time.time() < end:
    r, _, _ = select.select([t, u], [], [], 0.2)
    if t in r:
        c, _ = t.accept(); c.settimeout(1)
        try:
            c.sendall(b"echo:" + c.recv(4096))
        except OSError:
            pass
        c.close()
    if u in r:
        d, a = u.recvfrom(2048); u.sendto(b"echo:" + d, a)
EOF
cat > "$T/cli.py" <<'EOF'
import socket, sys, time
for i in range(int(sys.argv[1])):
    c = socket.create_connection(("198.51.100.80", 8080), timeout=2)
    c.sendall(b"hello %d " % i + b"x" * (200 * i)); c.recv(4096); c.close()
    time.sleep(0.05)
for i in range(int(sys.argv[2])):
    u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); u.settimeout(2)
    u.sendto(b"query %d" % i, ("198.51.100.80", 5300)); u.recv(2048); u.close()
EOF

# overlay KIND SUBNET_INDEX PORT: build, run, capture, check one overlay
overlay() {
    kind=$1; k=$2; port=$3
    vm=$P-$kind-vm; ha=$P-$kind-a; hb=$P-$kind-b; srv=$P-$kind-s
    NSS="$NSS $vm $ha $hb $srv"
    for n in $vm $ha $hb $srv; do
        ip netns add "$n" || { bad "netns $n"; return; }
        X "$n" sysctl -qw net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1
        X "$n" ip link set lo up
    done
    # veth pairs, both ends in our namespaces
    ip link add name v0 netns "$vm" type veth peer name vma netns "$ha"
    ip link add name u0 netns "$ha" type veth peer name u1 netns "$hb"
    ip link add name o0 netns "$hb" type veth peer name s0 netns "$srv"
    for p in "$vm v0" "$ha vma" "$ha u0" "$hb u1" "$hb o0" "$srv s0"; do
        set -- $p
        X "$1" ethtool -K "$2" tx off sg off tso off gso off gro off >/dev/null 2>&1
        X "$1" ip link set "$2" up
    done
    X "$ha" ip addr add 192.0.2.1/24 dev u0
    X "$hb" ip addr add 192.0.2.2/24 dev u1
    X "$hb" ip addr add 198.51.100.1/24 dev o0
    X "$srv" ip addr add 198.51.100.80/24 dev s0
    X "$hb" sysctl -qw net.ipv4.ip_forward=1
    X "$hb" iptables -t nat -A POSTROUTING -o o0 -j MASQUERADE
    # the overlay: hosta bridges the VM into the tunnel, hostb routes it
    X "$ha" ip link add name br0 type bridge
    X "$ha" ip link set br0 type bridge mcast_snooping 0
    X "$ha" ip link set vma master br0
    X "$ha" ip link set br0 up
    method=kernel
    if [ "$kind" = vxlan ]; then
        for h in "$ha 192.0.2.1 192.0.2.2" "$hb 192.0.2.2 192.0.2.1"; do
            set -- $h
            X "$1" ip link add name tun0 type vxlan id 42 dstport 4789 local "$2" remote "$3" ||
                { bad "vxlan device"; return; }
        done
    elif X "$ha" ip link add name tun0 type geneve id 42 remote 192.0.2.2 2>/dev/null &&
         X "$hb" ip link add name tun0 type geneve id 42 remote 192.0.2.1 2>/dev/null; then
        :
    else
        method="user-space relay (tests/geneve_relay.py: no geneve driver in this kernel)"
        X "$ha" ip link del tun0 2>/dev/null
        for h in "$ha 192.0.2.1 192.0.2.2" "$hb 192.0.2.2 192.0.2.1"; do
            set -- $h
            X "$1" ip tuntap add dev tun0 mode tap || { bad "tap device"; return; }
            ip netns exec "$1" timeout 25 python3 "$here/tests/geneve_relay.py" tun0 "$2" "$3" 42 20 \
                >"$T/relay-$1.log" 2>&1 &
            pids="$pids $!"
        done
    fi
    echo "$kind: $method"
    X "$ha" ip link set tun0 mtu 1450
    X "$ha" ip link set tun0 master br0
    X "$ha" ip link set tun0 up
    X "$hb" ip link set tun0 mtu 1450
    X "$hb" ip addr add "10.99.$k.1/24" dev tun0
    X "$hb" ip link set tun0 up
    X "$vm" ip link set v0 mtu 1450
    X "$vm" ip addr add "10.99.$k.2/24" dev v0
    X "$vm" ip route add default via "10.99.$k.1"
    X "$srv" ip route add default via 198.51.100.1
    sleep 0.3

    ip netns exec "$srv" timeout 20 python3 "$T/srv.py" 15 >"$T/$kind-srv.log" 2>&1 & pids="$pids $!"
    ip netns exec "$vm" timeout 20 tcpdump -i v0 -U --immediate-mode -Z root -n -s 0 \
        -w "$T/$kind-vm.pcap" 2>"$T/$kind-td-vm.err" & vpid=$!; pids="$pids $vpid"
    ip netns exec "$ha" timeout 20 tcpdump -i u0 -U --immediate-mode -Z root -n -s 0 \
        -w "$T/$kind-underlay.pcap" 2>"$T/$kind-td-u.err" & upid=$!; pids="$pids $upid"
    ip netns exec "$srv" timeout 20 tcpdump -i s0 -U --immediate-mode -Z root -n -s 0 \
        -w "$T/$kind-server.pcap" 2>"$T/$kind-td-s.err" & spid=$!; pids="$pids $spid"
    wait_listen "$T/$kind-td-vm.err"; wait_listen "$T/$kind-td-u.err"; wait_listen "$T/$kind-td-s.err"
    wait_listen "$T/$kind-srv.log"
    [ "$method" = kernel ] || { wait_listen "$T/relay-$ha.log" "geneve relay on"; wait_listen "$T/relay-$hb.log" "geneve relay on"; }
    sleep 0.3
    X "$vm" timeout 10 python3 "$T/cli.py" 4 2 || bad "$kind: traffic through the overlay failed"
    sleep 0.3
    X "$hb" conntrack -L 2>/dev/null > "$T/$kind-conntrack.txt"
    stop "$vpid"; stop "$upid"; stop "$spid"

    "$N" flows --json "$T/$kind-underlay.pcap" > "$T/$kind-flows.json" 2>"$T/$kind-flows.err" ||
        bad "$kind: natlens flows exit $?"
    "$N" correlate --json "$T/$kind-vm.pcap" "$T/$kind-underlay.pcap" > "$T/$kind-corr.json" \
        2>"$T/$kind-corr.err"
    rc=$?
    [ $rc -le 1 ] || bad "$kind: natlens correlate exit $rc: $(head -3 "$T/$kind-corr.err")"
    "$N" correlate --json "$T/$kind-vm.pcap" "$T/$kind-underlay.pcap" "$T/$kind-server.pcap" \
        > "$T/$kind-path.json" 2>"$T/$kind-path.err"
    rc=$?
    [ $rc -le 1 ] || bad "$kind: natlens correlate (3 captures) exit $rc: $(head -3 "$T/$kind-path.err")"
    # the underlay's outer addresses are the path, not a NAT, and its tunnel
    # flows are transport, not lone flows
    "$N" correlate "$T/$kind-vm.pcap" "$T/$kind-underlay.pcap" > "$T/$kind-corr.txt" 2>/dev/null
    grep -q "via $kind 192\.0\.2\.1 .*VNI" "$T/$kind-corr.txt" || bad "$kind: no 'via $kind' path in the text"
    grep -q "from elsewhere\|never arrived" "$T/$kind-corr.txt" && bad "$kind: tunnel flows listed as lone"
    grep -q "^  .*  snat\|^  .*  dnat" "$T/$kind-corr.txt" && bad "$kind: the underlay shown as a NAT"
    python3 - "$kind" "$port" "$k" "$T" <<'EOF' || fail=1
import json, re, sys
kind, port, k, T = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
vm_ip = "10.99.%s.2" % k
bad = 0
def check(cond, msg):
    global bad
    print(("ok   " if cond else "FAIL ") + "%s: %s" % (kind, msg))
    bad |= not cond
# conntrack's view of every connection from the VM (the truth)
truth = set()
for line in open("%s/%s-conntrack.txt" % (T, kind)):
    m = re.match(r"(tcp|udp)\s+\d+\s+\d+\s+(?:\S+\s+)?src=(\S+) dst=(\S+) sport=(\d+) dport=(\d+)", line)
    if m and m.group(2) == vm_ip:
        truth.add((m.group(1), m.group(2), int(m.group(4)), m.group(3), int(m.group(5))))
check(len(truth) == 6, "conntrack saw 6 connections from the VM (%d)" % len(truth))

flows = json.load(open("%s/%s-flows.json" % (T, kind)))["flows"]
by_id = {f["id"]: f for f in flows}
# each direction has its own source port (a hash of the inner flow), so
# the way out and the way back are carrier flows of their own
carriers = [f for f in flows if f.get("carries") == kind]
check(carriers and all(f["proto"] == "udp" and f["resp_port"] == port and
                       {f["orig_ip"], f["resp_ip"]} == {"192.0.2.1", "192.0.2.2"} for f in carriers),
      "%d carrier flows between 192.0.2.1 and 192.0.2.2, UDP port %d" % (len(carriers), port))
key = lambda f: (f["proto"], f["orig_ip"], f["orig_port"], f["resp_ip"], f["resp_port"])
inner = {key(f): f for f in flows if f.get("tunnel")}
found = 0
for t in sorted(truth):
    f = inner.get(t)
    if not f:
        print("     missing in the underlay capture: %s" % (t,))
        continue
    tu = f["tunnel"]
    outer = tu["path"][0] if tu.get("path") else {}
    right = (tu.get("kind") == kind and tu.get("vni") == 42 and tu.get("depth") == 1 and
             outer.get("orig_ip") == "192.0.2.1" and outer.get("resp_ip") == "192.0.2.2" and
             outer.get("resp_port") == port and by_id.get(outer.get("flow"), {}).get("carries") == kind)
    if not right:
        print("     wrong tunnel facts for %s: %s" % (t, json.dumps(tu)))
    found += right
check(found == len(truth), "%d/%d connections found inside the underlay capture with outer tuple "
      "and VNI 42" % (found, len(truth)))

corr = json.load(open("%s/%s-corr.json" % (T, kind)))
correct, wrong = set(), []
for m in corr.get("matches", []):
    n, f = m["near"], m["far"]
    if key(n) in truth and key(f) == key(n) and m.get("translation") == "none":
        correct.add(key(n))
    else:
        wrong.append("%s paired with %s (%s)" % (key(n), key(f), m.get("translation")))
prec = len(correct) / (len(correct) + len(wrong)) if correct or wrong else 1.0
rec = len(correct & truth) / len(truth) if truth else 1.0
for w in wrong:
    print("     " + w)
check(prec == 1.0 and rec == 1.0, "correlate vm.pcap underlay.pcap: precision %.2f recall %.2f "
      "(%d pairs)" % (prec, rec, len(correct)))
eg = corr.get("egress", [])
check(eg and all(e.get("inner_ip") == vm_ip and e.get("egress_ip") == vm_ip for e in eg),
      "egress names the inner address %s: %s" % (vm_ip, sorted({(e.get("inner_ip"), e.get("egress_ip")) for e in eg})))
under = [m for m in corr.get("matches", []) for s in ("near", "far")
         if m[s]["orig_ip"].startswith("192.0.2.") or m[s]["resp_ip"].startswith("192.0.2.")]
under += [e for e in eg if str(e.get("egress_ip", "")).startswith("192.0.2.")]
under += [c for c in corr.get("ip_changes", []) if "192.0.2." in json.dumps(c)]
check(not under, "the underlay's VTEP addresses appear in no pair, egress or source change")
# the whole path: VM -> underlay (inner flow, no translation) -> server
# (SNAT at hostb); conntrack's reply destination is what the server sees
nat = {}
for line in open("%s/%s-conntrack.txt" % (T, kind)):
    m = re.match(r"(tcp|udp)\s+\d+\s+\d+\s+(?:\S+\s+)?src=(\S+) dst=(\S+) sport=(\d+) dport=(\d+)"
                 r".*?src=(\S+) dst=(\S+) sport=(\d+) dport=(\d+)", line)
    if m and m.group(2) == vm_ip:
        nat[(m.group(1), m.group(2), int(m.group(4)), m.group(3), int(m.group(5)))] = \
            (m.group(1), m.group(7), int(m.group(9)), m.group(6), int(m.group(8)))
path = json.load(open("%s/%s-path.json" % (T, kind)))
whole = 0
for ch in path.get("chains", []):
    fl = ch.get("flows", [])
    if len(fl) == 3 and all(fl) and key(fl[0]) in nat and key(fl[1]) == key(fl[0]) and \
            key(fl[2]) == nat[key(fl[0])]:
        whole += 1
check(whole == len(nat) == len(truth), "correlate vm underlay server: %d/%d connections followed "
      "through all three captures" % (whole, len(nat)))
peg = path.get("egress", [])
check(peg and all(e.get("inner_ip") == vm_ip and e.get("egress_ip") == "198.51.100.1" for e in peg),
      "egress of the whole path: %s" % sorted({(e.get("inner_ip"), e.get("egress_ip")) for e in peg}))
notes = [f.get("summary", "") for f in corr.get("findings", []) if "192.0.2." in json.dumps(f)]
for s in notes:
    print("     note (presenter): finding about the underlay: %s" % s)
sys.exit(bad)
EOF
}

overlay vxlan 0 4789
overlay geneve 1 6081
[ $fail = 0 ] && echo "t_overlay_lab: all checks passed"
exit $fail
