#!/bin/bash
# natlens capture lab: builds small real topologies in network namespaces,
# runs bounded traffic through real NAT (iptables + conntrack), captures it
# with tcpdump at several points and writes conntrack's own view as
# truth.json. See samples/lab/README.md.
#
# usage: samples/lab/lab.sh OUTDIR [scenario...]     (root; default: all)
#
# Rules kept here (why: "Traps met" in samples/lab/README.md): every address and
# veth end lives in a namespace this script creates (nothing in the root
# namespace); traffic goes only between those namespaces; every process is
# wrapped in `timeout`; the EXIT trap kills only PIDs started here and
# deletes only namespaces created here. tcpdump is started directly (never
# inside a subshell) so that SIGINT reaches it.
set -u

LAB=$(cd "$(dirname "$0")" && pwd)
PY=/usr/bin/python3
[ -x "$PY" ] || PY=$(command -v python3)
ALL="nonat snat-masq dualnic snat-switch snat-pool isn-rewrite mss-clamp time-shift asym-return halfopen lb"

if [ $# -lt 1 ] || [ "$1" = "-h" ] || [ "$1" = "--help" ]; then
    echo "usage: $0 OUTDIR [scenario...]   scenarios: $ALL" >&2
    exit 2
fi
[ "$(id -u)" = 0 ] || { echo "lab.sh: must run as root (network namespaces)" >&2; exit 2; }
for t in ip iptables conntrack tcpdump ethtool timeout editcap "$PY"; do
    command -v "$t" >/dev/null 2>&1 || { echo "lab.sh: missing tool: $t" >&2; exit 2; }
done

OUT=$1; shift
SCEN=${*:-$ALL}
mkdir -p "$OUT" || exit 2
OUT=$(cd "$OUT" && pwd)
P=${NLLAB_PREFIX:-nllab$(( $$ % 100000 ))}   # namespace prefix, unique per run
TDOPT="-U --immediate-mode -Z root -n -s 0"
TMO=60                               # hard bound for every helper process
NSS=()                               # namespaces of the current scenario
PIDS=()                              # every background PID we started
CAP=()                               # tcpdump PIDs of the current scenario
CT=()                                # conntrack -E PIDs of the current scenario
SRV=()                               # server PIDs of the current scenario
MACN=16

cleanup() {
    local p n
    for p in "${PIDS[@]}"; do kill -TERM "$p" 2>/dev/null; done
    for p in "${PIDS[@]}"; do wait "$p" 2>/dev/null; done
    for n in "${NSS[@]}"; do ip netns del "$n" 2>/dev/null; done
    [ -n "${W:-}" ] && rm -rf "$W"
}
trap cleanup EXIT
trap 'exit 130' INT TERM HUP

now() { date +%s.%6N; }
log() { echo "lab: $*" >&2; }
X() { local n=$1; shift; ip netns exec "$P-$n" "$@"; }

mkns() {
    local n N
    for n in "$@"; do
        N=$P-$n
        ip netns add "$N" || exit 1
        NSS+=("$N")
        # IPv6 off (no ND/MLD noise), reverse-path filter off (the asymmetric
        # scenarios need it off, the others do not care).
        ip netns exec "$N" sysctl -qw net.ipv6.conf.all.disable_ipv6=1 \
            net.ipv6.conf.default.disable_ipv6=1 net.ipv4.conf.all.rp_filter=0 \
            net.ipv4.conf.default.rp_filter=0 >/dev/null
        ip -n "$N" link set lo up
    done
}
router() { local n; for n in "$@"; do X "$n" sysctl -qw net.ipv4.ip_forward=1; done; }
ifprep() { # ns if: wire-like frames (no offloads), no rp_filter, up
    X "$1" ethtool -K "$2" tx off sg off tso off gso off gro off >/dev/null 2>&1
    X "$1" sysctl -qw "net.ipv4.conf.$2.rp_filter=0" "net.ipv6.conf.$2.disable_ipv6=1" >/dev/null 2>&1
    ip -n "$P-$1" link set "$2" up
}
veth() { # nsA ifA nsB ifB   (both ends created inside the namespaces)
    local ma mb
    ma=$(printf '02:4e:4c:00:%02x:%02x' $((MACN / 256)) $((MACN % 256))); MACN=$((MACN + 1))
    mb=$(printf '02:4e:4c:00:%02x:%02x' $((MACN / 256)) $((MACN % 256))); MACN=$((MACN + 1))
    ip -n "$P-$1" link add name "$2" address "$ma" type veth peer name "$4" address "$mb" netns "$P-$3" || exit 1
    ifprep "$1" "$2"; ifprep "$3" "$4"
}
bridge() { # ns br port...
    local n=$1 b=$2 p; shift 2
    ip -n "$P-$n" link add name "$b" type bridge mcast_snooping 0 stp_state 0 forward_delay 0 || exit 1
    for p in "$@"; do ip -n "$P-$n" link set "$p" master "$b"; done
    ifprep "$n" "$b"
}
ad() { ip -n "$P-$1" addr add "$3" dev "$2" || exit 1; }
rt() { local n=$1; shift; ip -n "$P-$n" route add "$@" || exit 1; }
meta() { echo "$1" >>"$W/meta.jsonl"; }
capmeta() { # file point ns if
    meta "{\"captures\":[{\"file\":\"$1\",\"point\":\"$2\",\"host\":\"$3\",\"interface\":\"$4\"}]}"
}

begin() { # scenario-name outdir
    NAME=$1; D=$2
    rm -rf "$D"; mkdir -p "$D" || exit 1
    W=$(mktemp -d /tmp/nllab.XXXXXX)
    : >"$W/meta.jsonl"; : >"$W/run.log"
    CAP=(); CT=(); SRV=(); MACN=16
    log "$NAME -> $D"
}

wait_caps() { # every tcpdump says "listening on" (bounded 10 s)
    local i n
    for i in $(seq 100); do
        n=$(cat "$W"/cap-*.err 2>/dev/null | grep -c "listening on")
        [ "$n" -ge "${#CAP[@]}" ] && { sleep 0.3; return 0; }
        sleep 0.1
    done
    log "$NAME: tcpdump did not start:"; cat "$W"/cap-*.err >&2
    exit 1
}

stop_all() { # stop captures (SIGINT), then conntrack, then servers
    local p n
    sleep 0.4
    for p in "${CAP[@]}"; do kill -INT "$p" 2>/dev/null; done
    for p in "${CAP[@]}"; do wait "$p" 2>/dev/null; done
    for p in "${CT[@]}"; do kill -INT "$p" 2>/dev/null; done
    for p in "${CT[@]}"; do wait "$p" 2>/dev/null; done
    for p in "${SRV[@]}"; do kill -TERM "$p" 2>/dev/null; done
    for p in "${SRV[@]}"; do wait "$p" 2>/dev/null; done
    PIDS=()     # all reaped: never signal a PID that may have been reused
    for p in "$W"/cap-*.err; do
        n=${p##*/cap-}; n=${n%.err}
        echo "tcpdump $n.pcap: $(grep -E 'captured|dropped by kernel' "$p" | tr '\n' ' ')" >>"$W/run.log"
    done
}

ctlist() { # ns role: final conntrack table
    X "$1" conntrack -L -o extended,id >"$W/ctl-$2.txt" 2>/dev/null
}

finish() { # ctspec...: write truth.json, raw conntrack logs, run log; delete namespaces
    local n s args=() role
    for s in "$@"; do
        role=${s%%:*}
        args+=("$role:$W/ct-$role.txt:$W/ctl-$role.txt")
        { echo "# conntrack -E -o timestamp,id in the '$role' namespace"; cat "$W/ct-$role.txt"
          echo "# conntrack -L -o extended,id at the end of the run"; cat "$W/ctl-$role.txt"; } >"$D/conntrack-$role.txt"
    done
    "$PY" "$LAB/ct2truth.py" "$NAME" "$D/truth.json" "$W/meta.jsonl" "${args[@]}" || exit 1
    { echo; echo "## Run log"; echo; echo '```'; cat "$W/run.log"; echo '```'; } >>"$D/README.md"
    for n in "${NSS[@]}"; do ip netns del "$n" 2>/dev/null; done
    NSS=()
    rm -rf "$W"; W=
}

# Client helpers run in the foreground, bounded by timeout, result to run.log.
tcpc() { local n=$1; shift; X "$n" timeout 15 "$PY" "$LAB/peer.py" tcp-client "$@" >>"$W/run.log" 2>&1; }
udpc() { local n=$1; shift; X "$n" timeout 15 "$PY" "$LAB/peer.py" udp-client "$@" >>"$W/run.log" 2>&1; }
pingc() { local n=$1; shift; X "$n" timeout 15 "$PY" "$LAB/peer.py" ping "$@" >>"$W/run.log" 2>&1; }

# ---------------------------------------------------------------- nonat
sc_nonat() {
    begin nonat "$OUT/nonat"
    mkns cl r srv; router r
    veth cl eth0 r lan; veth srv eth0 r wan
    ad cl eth0 10.72.1.2/24; rt cl default via 10.72.1.1
    ad r lan 10.72.1.1/24; ad r wan 198.51.100.1/24
    ad srv eth0 198.51.100.80/24; rt srv default via 198.51.100.1
    # No NAT; this rule only makes the router's conntrack track the flows.
    X r iptables -A FORWARD -m conntrack --ctstate NEW,ESTABLISHED,RELATED -j ACCEPT
    ip netns exec $P-r timeout $TMO conntrack -E -o timestamp,id >"$W/ct-router.txt" 2>/dev/null & CT+=($!); PIDS+=($!)
    ip netns exec $P-cl timeout $TMO tcpdump $TDOPT -i eth0 -w "$D/client.pcap" 2>"$W/cap-client.err" & CAP+=($!); PIDS+=($!)
    ip netns exec $P-srv timeout $TMO tcpdump $TDOPT -i eth0 -w "$D/server.pcap" 2>"$W/cap-server.err" & CAP+=($!); PIDS+=($!)
    capmeta client.pcap client cl eth0; capmeta server.pcap server srv eth0
    ip netns exec $P-srv timeout 30 "$PY" "$LAB/peer.py" tcp-server --port 80 --count 3 --timeout 25 --resp 1500 & SRV+=($!); PIDS+=($!)
    ip netns exec $P-srv timeout 30 "$PY" "$LAB/peer.py" udp-server --port 7000 --count 2 --timeout 25 & SRV+=($!); PIDS+=($!)
    wait_caps
    tcpc cl --dst 198.51.100.80 --port 80 --req 40
    tcpc cl --dst 198.51.100.80 --port 80 --req 400
    tcpc cl --dst 198.51.100.80 --port 80 --bind 10.72.1.2:40100 --req 40
    udpc cl --dst 198.51.100.80 --port 7000
    udpc cl --dst 198.51.100.80 --port 7000
    pingc cl --dst 198.51.100.80 --count 2 --interval 0.1 --timeout 1
    stop_all; ctlist r router
    cat >"$D/README.md" <<'EOF'
# nonat — routed, no translation

    client 10.72.1.2 --- (10.72.1.1) router (198.51.100.1) --- server 198.51.100.80

No NAT. The router has one `-m conntrack` rule so its conntrack tracks the
flows; truth.json lists them with `kind: none`.
Traffic: 3 TCP request/response to :80 (one from bound port 40100), 2 UDP
request/response to :7000, 1 ICMP echo (2 requests).
Captures: client.pcap (client eth0), server.pcap (server eth0).
EOF
    finish router
}

# ---------------------------------------------------------------- snat-masq
# Also the base of isn-rewrite and time-shift (each a fresh run).
snat_masq_run() { # name dir
    begin "$1" "$2"
    mkns c1 c2 r srv; router r
    veth c1 eth0 r p1; veth c2 eth0 r p2; bridge r br0 p1 p2
    veth srv eth0 r wan
    ad c1 eth0 10.72.2.222/24; rt c1 default via 10.72.2.1
    ad c2 eth0 10.72.2.223/24; rt c2 default via 10.72.2.1
    ad r br0 10.72.2.1/24; ad r wan 203.0.113.2/24; rt r 198.51.100.0/24 dev wan
    ad srv eth0 198.51.100.80/24; rt srv 203.0.113.0/24 dev eth0
    X r iptables -t nat -A POSTROUTING -o wan -j MASQUERADE
    ip netns exec $P-r timeout $TMO conntrack -E -o timestamp,id >"$W/ct-router.txt" 2>/dev/null & CT+=($!); PIDS+=($!)
    ip netns exec $P-r timeout $TMO tcpdump $TDOPT -i br0 -w "$D/client.pcap" 2>"$W/cap-client.err" & CAP+=($!); PIDS+=($!)
    ip netns exec $P-srv timeout $TMO tcpdump $TDOPT -i eth0 -w "$D/server.pcap" 2>"$W/cap-server.err" & CAP+=($!); PIDS+=($!)
    capmeta client.pcap "lan (router br0: sees both clients)" r br0
    capmeta server.pcap server srv eth0
    ip netns exec $P-srv timeout 30 "$PY" "$LAB/peer.py" tcp-server --port 80 --count 4 --timeout 25 --resp 1200 & SRV+=($!); PIDS+=($!)
    ip netns exec $P-srv timeout 30 "$PY" "$LAB/peer.py" udp-server --port 7000 --count 4 --timeout 25 & SRV+=($!); PIDS+=($!)
    wait_caps
    # Same source port on both clients: the second must be remapped.
    tcpc c1 --dst 198.51.100.80 --port 80 --bind 10.72.2.222:40000 --req 40
    tcpc c2 --dst 198.51.100.80 --port 80 --bind 10.72.2.223:40000 --req 40
    tcpc c1 --dst 198.51.100.80 --port 80 --req 300
    tcpc c2 --dst 198.51.100.80 --port 80 --req 1000
    udpc c1 --dst 198.51.100.80 --port 7000 --bind 10.72.2.222:5000 --count 2
    udpc c2 --dst 198.51.100.80 --port 7000 --bind 10.72.2.223:5000 --count 2
    pingc c1 --dst 198.51.100.80 --count 2 --interval 0.1 --timeout 1 --ident 777
    pingc c2 --dst 198.51.100.80 --count 2 --interval 0.1 --timeout 1 --ident 777
    stop_all; ctlist r router
    cat >"$D/README.md" <<EOF
# $1 — two clients behind a masquerading router

    client1 10.72.2.222 --+
                          +-- br0 (10.72.2.1) router (wan 203.0.113.2, MASQUERADE) --- server 198.51.100.80
    client2 10.72.2.223 --+

Both clients use source port 40000 (TCP) and 5000 (UDP) and ICMP echo id 777,
so the router must remap one of each. Traffic: 4 TCP HTTP-like request/response
to :80 (TCP timestamps on), 2 UDP flows of 2 request/response each to :7000,
2 ICMP echo flows (2 requests each).
Captures: client.pcap on the router's LAN bridge br0 (one capture that sees
both clients, inside addresses), server.pcap on the server's eth0.
EOF
}

sc_snat_masq() { snat_masq_run snat-masq "$OUT/snat-masq"; finish router; }

sc_isn_rewrite() {
    snat_masq_run isn-rewrite "$OUT/isn-rewrite"
    "$PY" "$LAB/isn_rewrite.py" "$D/server.pcap" "$W/server-rw.pcap" "$W/isn.json" || exit 1
    mv "$W/server-rw.pcap" "$D/server.pcap"
    meta "{\"isn_offsets\":$("$PY" -c 'import json,sys; d=json.load(open(sys.argv[1])); [x.update(capture="server.pcap") for x in d]; print(json.dumps(d))' "$W/isn.json")}"
    cat >>"$D/README.md" <<'EOF'

**ISN rewrite:** after the run server.pcap was rewritten by `isn_rewrite.py`
(as an ISN-randomising firewall would): per TCP connection a constant K was
added to the client->server sequence numbers and to the server's ACK numbers
and SACK edges, and TCP checksums recomputed. K per connection is in
truth.json `isn_offsets` (client_ip/client_port as seen in server.pcap).
EOF
    finish router
}

sc_time_shift() {
    snat_masq_run time-shift "$OUT/time-shift"
    editcap -t 437.25 -F pcap "$D/server.pcap" "$W/server-ts.pcap" >/dev/null || exit 1
    mv "$W/server-ts.pcap" "$D/server.pcap"
    meta '{"time_shift_s":437.25}'
    meta '{"time_shift_capture":"server.pcap"}'
    cat >>"$D/README.md" <<'EOF'

**Time shift:** after the run server.pcap was shifted with
`editcap -t 437.25 -F pcap` (server clock 437.25 s ahead). truth.json
`time_shift_s` = 437.25; conntrack times (nat[].start_ts) are unshifted.
EOF
    finish router
}

# ---------------------------------------------------------------- dualnic
sc_dualnic() {
    begin dualnic "$OUT/dualnic"
    mkns cl na nb inet srv; router na nb
    veth cl eth0 na lan; veth cl eth1 nb lan
    veth na wan inet pa; veth nb wan inet pb; veth srv eth0 inet ps
    bridge inet br0 pa pb ps
    ad cl eth0 10.72.2.222/24; ad cl eth1 192.168.5.10/24; rt cl default via 10.72.2.1 dev eth0
    ad na lan 10.72.2.1/24; ad na wan 203.0.113.10/24; rt na 198.51.100.0/24 dev wan
    ad nb lan 192.168.5.1/24; ad nb wan 203.0.113.20/24; rt nb 198.51.100.0/24 dev wan
    ad srv eth0 198.51.100.80/24; rt srv 203.0.113.0/24 dev eth0
    X na iptables -t nat -A POSTROUTING -o wan -j SNAT --to-source 203.0.113.10
    X nb iptables -t nat -A POSTROUTING -o wan -j SNAT --to-source 203.0.113.20
    ip netns exec $P-na timeout $TMO conntrack -E -o timestamp,id >"$W/ct-nat_a.txt" 2>/dev/null & CT+=($!); PIDS+=($!)
    ip netns exec $P-nb timeout $TMO conntrack -E -o timestamp,id >"$W/ct-nat_b.txt" 2>/dev/null & CT+=($!); PIDS+=($!)
    ip netns exec $P-cl timeout $TMO tcpdump $TDOPT -i any -w "$D/client.pcap" 2>"$W/cap-client.err" & CAP+=($!); PIDS+=($!)
    ip netns exec $P-cl timeout $TMO tcpdump $TDOPT -i eth0 -w "$D/client-eth0.pcap" 2>"$W/cap-client-eth0.err" & CAP+=($!); PIDS+=($!)
    ip netns exec $P-cl timeout $TMO tcpdump $TDOPT -i eth1 -w "$D/client-eth1.pcap" 2>"$W/cap-client-eth1.err" & CAP+=($!); PIDS+=($!)
    ip netns exec $P-srv timeout $TMO tcpdump $TDOPT -i eth0 -w "$D/server.pcap" 2>"$W/cap-server.err" & CAP+=($!); PIDS+=($!)
    capmeta client.pcap "client (-i any, LINUX_SLL2)" cl any
    capmeta client-eth0.pcap "client eth0 (towards NAT A)" cl eth0
    capmeta client-eth1.pcap "client eth1 (towards NAT B)" cl eth1
    capmeta server.pcap server srv eth0
    meta "{\"interfaces\":{\"client.pcap\":$(X cl ip -o link | awk -F': ' '{sub(/@.*/,"",$2); printf "%s\"%s\":\"%s\"", (n++?",":"{"), $1, $2} END {print "}"}')}}"
    ip netns exec $P-srv timeout 30 "$PY" "$LAB/peer.py" tcp-server --port 80 --count 5 --timeout 25 --resp 900 & SRV+=($!); PIDS+=($!)
    ip netns exec $P-srv timeout 30 "$PY" "$LAB/peer.py" udp-server --port 7000 --count 3 --timeout 25 & SRV+=($!); PIDS+=($!)
    wait_caps
    tcpc cl --dst 198.51.100.80 --port 80
    tcpc cl --dst 198.51.100.80 --port 80 --req 200
    udpc cl --dst 198.51.100.80 --port 7000
    pingc cl --dst 198.51.100.80 --count 2 --interval 0.1 --timeout 1
    sleep 0.5
    X cl ip route add 198.51.100.80/32 via 192.168.5.1 dev eth1
    meta "{\"events\":{\"what\":\"route_added\",\"ts\":$(now),\"host\":\"client\",\"route\":\"198.51.100.80/32 via 192.168.5.1 dev eth1\",\"egress_before\":\"203.0.113.10\",\"egress_after\":\"203.0.113.20\"}}"
    echo "route added: 198.51.100.80/32 via 192.168.5.1 dev eth1" >>"$W/run.log"
    sleep 0.3
    tcpc cl --dst 198.51.100.80 --port 80
    tcpc cl --dst 198.51.100.80 --port 80 --req 200
    udpc cl --dst 198.51.100.80 --port 7000
    pingc cl --dst 198.51.100.80 --count 2 --interval 0.1 --timeout 1
    sleep 0.5
    X cl ip route del 198.51.100.80/32 via 192.168.5.1 dev eth1
    meta "{\"events\":{\"what\":\"route_deleted\",\"ts\":$(now),\"host\":\"client\",\"route\":\"198.51.100.80/32 via 192.168.5.1 dev eth1\",\"egress_before\":\"203.0.113.20\",\"egress_after\":\"203.0.113.10\"}}"
    echo "route deleted" >>"$W/run.log"
    sleep 0.3
    tcpc cl --dst 198.51.100.80 --port 80
    udpc cl --dst 198.51.100.80 --port 7000
    stop_all; ctlist na nat_a; ctlist nb nat_b
    cat >"$D/README.md" <<'EOF'
# dualnic — egress changes when a host route is added

    client eth0 10.72.2.222  --- (10.72.2.1) NAT A (wan 203.0.113.10, SNAT) ---+
                                                                              switch --- server 198.51.100.80
    client eth1 192.168.5.10 --- (192.168.5.1) NAT B (wan 203.0.113.20, SNAT) -+

Default route via NAT A. Mid-run the client gets
`198.51.100.80/32 via 192.168.5.1 dev eth1` (events: route_added), and later
loses it again (route_deleted). Phase 1: 2 TCP + 1 UDP + 1 ICMP via NAT A
(seen as 203.0.113.10); phase 2: 2 TCP + 1 UDP + 1 ICMP via NAT B (from
192.168.5.10, seen as 203.0.113.20); phase 3: 1 TCP + 1 UDP via NAT A again.
Captures: client.pcap (client `-i any`, LINUX_SLL2; interface index map in
truth.json `interfaces`), client-eth0.pcap, client-eth1.pcap, server.pcap.
truth.json `nat[].at` says which NAT (nat_a / nat_b) tracked the flow.
EOF
    finish nat_a nat_b
}

# ---------------------------------------------------------------- snat-switch
sc_snat_switch() {
    begin snat-switch "$OUT/snat-switch"
    mkns cl r srv; router r
    veth cl eth0 r lan; veth srv eth0 r wan
    ad cl eth0 10.72.2.222/24; rt cl default via 10.72.2.1
    ad r lan 10.72.2.1/24; ad r wan 203.0.113.10/24; ad r wan 203.0.113.11/24; rt r 198.51.100.0/24 dev wan
    ad srv eth0 198.51.100.80/24; rt srv 203.0.113.0/24 dev eth0
    X r iptables -t nat -A POSTROUTING -o wan -j SNAT --to-source 203.0.113.10
    ip netns exec $P-r timeout $TMO conntrack -E -o timestamp,id >"$W/ct-router.txt" 2>/dev/null & CT+=($!); PIDS+=($!)
    ip netns exec $P-cl timeout $TMO tcpdump $TDOPT -i eth0 -w "$D/client.pcap" 2>"$W/cap-client.err" & CAP+=($!); PIDS+=($!)
    ip netns exec $P-srv timeout $TMO tcpdump $TDOPT -i eth0 -w "$D/server.pcap" 2>"$W/cap-server.err" & CAP+=($!); PIDS+=($!)
    capmeta client.pcap client cl eth0; capmeta server.pcap server srv eth0
    ip netns exec $P-srv timeout 30 "$PY" "$LAB/peer.py" tcp-server --port 80 --count 4 --timeout 25 --resp 700 & SRV+=($!); PIDS+=($!)
    ip netns exec $P-srv timeout 30 "$PY" "$LAB/peer.py" tcp-server --port 9000 --count 1 --timeout 25 --echo & SRV+=($!); PIDS+=($!)
    ip netns exec $P-srv timeout 30 "$PY" "$LAB/peer.py" udp-server --port 7000 --count 2 --timeout 25 & SRV+=($!); PIDS+=($!)
    wait_caps
    # Long-lived flow: 14 messages 0.4 s apart, spans the switch.
    ip netns exec $P-cl timeout 20 "$PY" "$LAB/peer.py" tcp-client --dst 198.51.100.80 --port 9000 \
        --bind 10.72.2.222:45000 --chunks 14 --interval 0.4 --timeout 10 >>"$W/run.log" 2>&1 & LONG=$!; PIDS+=($!)
    sleep 0.3
    tcpc cl --dst 198.51.100.80 --port 80
    tcpc cl --dst 198.51.100.80 --port 80 --req 200
    udpc cl --dst 198.51.100.80 --port 7000
    pingc cl --dst 198.51.100.80 --count 2 --interval 0.1 --timeout 1
    sleep 0.5
    X r iptables -t nat -R POSTROUTING 1 -o wan -j SNAT --to-source 203.0.113.11
    SW=$(now)
    # New flows must get the new address: drop every entry except the long-lived one.
    X r conntrack -D -p tcp --orig-port-dst 80 >/dev/null 2>&1
    X r conntrack -D -p udp >/dev/null 2>&1
    X r conntrack -D -p icmp >/dev/null 2>&1
    meta "{\"events\":{\"what\":\"snat_switch\",\"ts\":$SW,\"ts_sec\":${SW%.*},\"ts_usec\":$((10#${SW#*.})),\"host\":\"router\",\"from\":\"203.0.113.10\",\"to\":\"203.0.113.11\",\"rule\":\"iptables -t nat -R POSTROUTING 1 -o wan -j SNAT --to-source 203.0.113.11\",\"flushed\":\"conntrack -D for tcp dport 80, udp, icmp\",\"kept\":[{\"proto\":\"tcp\",\"inner_ip\":\"10.72.2.222\",\"inner_port\":45000,\"dest_ip\":\"198.51.100.80\",\"dest_port\":9000}]}}"
    echo "snat switched to 203.0.113.11 at $SW" >>"$W/run.log"
    sleep 0.3
    tcpc cl --dst 198.51.100.80 --port 80
    tcpc cl --dst 198.51.100.80 --port 80 --req 200
    udpc cl --dst 198.51.100.80 --port 7000
    pingc cl --dst 198.51.100.80 --count 2 --interval 0.1 --timeout 1
    wait $LONG
    stop_all; ctlist r router
    cat >"$D/README.md" <<'EOF'
# snat-switch — SNAT address changes mid-capture

    client 10.72.2.222 --- (10.72.2.1) router (wan 203.0.113.10 + .11, SNAT) --- server 198.51.100.80

SNAT to 203.0.113.10; mid-run the rule is replaced by SNAT to 203.0.113.11
(truth.json events: snat_switch with ts/ts_sec/ts_usec) and conntrack entries
are deleted except the long-lived TCP flow 10.72.2.222:45000 -> :9000 (14
echo messages 0.4 s apart), which spans the switch and keeps 203.0.113.10.
Before: 2 TCP :80, 1 UDP :7000, 1 ICMP echo via .10; after: the same via .11.
The deleted entries show as DESTROY events in conntrack-router.txt.
Captures: client.pcap (client eth0), server.pcap (server eth0).
EOF
    finish router
}

# ---------------------------------------------------------------- snat-pool
sc_snat_pool() {
    begin snat-pool "$OUT/snat-pool"
    mkns c1 c2 c3 r srv; router r
    veth c1 eth0 r p1; veth c2 eth0 r p2; veth c3 eth0 r p3; bridge r br0 p1 p2 p3
    veth srv eth0 r wan
    local i c s
    for i in 1 2 3; do ad c$i eth0 10.72.2.22$i/24; rt c$i default via 10.72.2.1; done
    ad r br0 10.72.2.1/24; ad r wan 203.0.113.2/24
    for i in 20 21 22 23; do ad r wan 203.0.113.$i/24; done
    rt r 198.51.100.0/24 dev wan
    for i in 80 81 82 83; do ad srv eth0 198.51.100.$i/24; done
    rt srv 203.0.113.0/24 dev eth0
    X r iptables -t nat -A POSTROUTING -o wan -j SNAT --to-source 203.0.113.20-203.0.113.23
    ip netns exec $P-r timeout $TMO conntrack -E -o timestamp,id >"$W/ct-router.txt" 2>/dev/null & CT+=($!); PIDS+=($!)
    ip netns exec $P-r timeout $TMO tcpdump $TDOPT -i br0 -w "$D/client.pcap" 2>"$W/cap-client.err" & CAP+=($!); PIDS+=($!)
    ip netns exec $P-srv timeout $TMO tcpdump $TDOPT -i eth0 -w "$D/server.pcap" 2>"$W/cap-server.err" & CAP+=($!); PIDS+=($!)
    capmeta client.pcap "lan (router br0: sees all clients)" r br0
    capmeta server.pcap "server (one host, addresses 198.51.100.80-83)" srv eth0
    ip netns exec $P-srv timeout 30 "$PY" "$LAB/peer.py" tcp-server --port 80 --count 12 --timeout 25 --resp 500 & SRV+=($!); PIDS+=($!)
    # One UDP socket per address: a wildcard socket would answer from .80 only.
    ip netns exec $P-srv timeout 30 "$PY" "$LAB/peer.py" udp-server --addr 198.51.100.80 --port 7000 --count 3 --timeout 25 & SRV+=($!); PIDS+=($!)
    ip netns exec $P-srv timeout 30 "$PY" "$LAB/peer.py" udp-server --addr 198.51.100.83 --port 7000 --count 3 --timeout 25 & SRV+=($!); PIDS+=($!)
    wait_caps
    for c in 1 2 3; do
        for s in 80 81 82 83; do tcpc c$c --dst 198.51.100.$s --port 80; done
        udpc c$c --dst 198.51.100.80 --port 7000
        udpc c$c --dst 198.51.100.83 --port 7000
    done
    stop_all; ctlist r router
    cat >"$D/README.md" <<'EOF'
# snat-pool — SNAT to an address range

    clients 10.72.2.221-223 --- br0 (10.72.2.1) router (SNAT --to-source 203.0.113.20-203.0.113.23) --- server 198.51.100.80-83

Each client makes one TCP request/response to each of the 4 server addresses
(12 TCP) and one UDP exchange to .80 and to .83 (6 UDP). Linux picks the pool
address from a hash of client and server address, so several pool addresses
appear; which one each flow got is in truth.json `nat` (from conntrack).
Captures: client.pcap on the router's LAN bridge br0 (all clients),
server.pcap on the server's eth0 (all 4 addresses).
EOF
    finish router
}

# ---------------------------------------------------------------- mss-clamp
sc_mss_clamp() {
    begin mss-clamp "$OUT/mss-clamp"
    mkns cl r srv; router r
    veth cl eth0 r lan; veth srv eth0 r wan
    ad cl eth0 10.72.2.222/24; rt cl default via 10.72.2.1
    ad r lan 10.72.2.1/24; ad r wan 203.0.113.2/24; rt r 198.51.100.0/24 dev wan
    ad srv eth0 198.51.100.80/24; rt srv 203.0.113.0/24 dev eth0
    X r iptables -t nat -A POSTROUTING -o wan -j MASQUERADE
    X r iptables -t mangle -A FORWARD -p tcp --tcp-flags SYN,RST SYN -j TCPMSS --set-mss 1200
    ip netns exec $P-r timeout $TMO conntrack -E -o timestamp,id >"$W/ct-router.txt" 2>/dev/null & CT+=($!); PIDS+=($!)
    ip netns exec $P-cl timeout $TMO tcpdump $TDOPT -i eth0 -w "$D/client.pcap" 2>"$W/cap-client.err" & CAP+=($!); PIDS+=($!)
    ip netns exec $P-srv timeout $TMO tcpdump $TDOPT -i eth0 -w "$D/server.pcap" 2>"$W/cap-server.err" & CAP+=($!); PIDS+=($!)
    capmeta client.pcap client cl eth0; capmeta server.pcap server srv eth0
    ip netns exec $P-srv timeout 30 "$PY" "$LAB/peer.py" tcp-server --port 80 --count 3 --timeout 25 --resp 6000 & SRV+=($!); PIDS+=($!)
    wait_caps
    tcpc cl --dst 198.51.100.80 --port 80 --req 4000
    tcpc cl --dst 198.51.100.80 --port 80 --req 100
    tcpc cl --dst 198.51.100.80 --port 80 --req 3000
    stop_all; ctlist r router
    meta '{"mss_clamp":1200}'
    cat >"$D/README.md" <<'EOF'
# mss-clamp — TCPMSS on the router

    client 10.72.2.222 --- (10.72.2.1) router (MASQUERADE to 203.0.113.2, TCPMSS --set-mss 1200) --- server 198.51.100.80

`iptables -t mangle -A FORWARD -p tcp --tcp-flags SYN,RST SYN -j TCPMSS --set-mss 1200`
rewrites the MSS option of SYN and SYN-ACK: the client's SYN says 1460 in
client.pcap and 1200 in server.pcap; the server's SYN-ACK the other way round.
3 TCP transfers (requests of ~4000/100/3000 bytes, 6000-byte responses), so
segments are at most 1200 bytes of payload (1188 with timestamps).
Captures: client.pcap (client eth0), server.pcap (server eth0).
EOF
    finish router
}

# ---------------------------------------------------------------- asym-return
sc_asym_return() {
    begin asym-return "$OUT/asym-return"
    mkns cl inet fw gw2 web; router fw gw2
    veth cl eth0 inet pc; veth fw wan inet pf; veth gw2 wan inet pg; bridge inet br0 pc pf pg
    veth fw lan web eth0; veth gw2 lan web eth1
    ad cl eth0 198.51.100.10/24; rt cl 203.0.113.0/24 dev eth0; rt cl default via 198.51.100.1
    ad fw wan 203.0.113.5/24; rt fw 198.51.100.0/24 dev wan; ad fw lan 192.168.0.1/24
    ad gw2 wan 198.51.100.1/24; ad gw2 lan 192.168.1.1/24; rt gw2 192.168.0.0/24 via 192.168.1.250
    ad web eth0 192.168.0.250/24; ad web eth1 192.168.1.250/24; rt web default via 192.168.1.1 dev eth1
    X fw iptables -t nat -A PREROUTING -d 203.0.113.5 -p tcp --dport 80 -j DNAT --to-destination 192.168.0.250:80
    # The server answers each SYN (retries included) and never retransmits
    # a SYN-ACK on its own: a timer retry of phase b's SYN-ACK would leak
    # out by gateway 2 once phase c lifts the drop (phases blur).
    X web sysctl -qw net.ipv4.tcp_synack_retries=0
    ip netns exec $P-fw timeout $TMO conntrack -E -o timestamp,id >"$W/ct-fw.txt" 2>/dev/null & CT+=($!); PIDS+=($!)
    ip netns exec $P-cl timeout $TMO tcpdump $TDOPT -i eth0 -w "$D/client.pcap" 2>"$W/cap-client.err" & CAP+=($!); PIDS+=($!)
    ip netns exec $P-fw timeout $TMO tcpdump $TDOPT -i wan -w "$D/fw-out.pcap" 2>"$W/cap-fw-out.err" & CAP+=($!); PIDS+=($!)
    ip netns exec $P-fw timeout $TMO tcpdump $TDOPT -i lan -w "$D/fw-in.pcap" 2>"$W/cap-fw-in.err" & CAP+=($!); PIDS+=($!)
    ip netns exec $P-web timeout $TMO tcpdump $TDOPT -i eth0 -w "$D/server-eth0.pcap" 2>"$W/cap-server-eth0.err" & CAP+=($!); PIDS+=($!)
    ip netns exec $P-web timeout $TMO tcpdump $TDOPT -i eth1 -w "$D/server-eth1.pcap" 2>"$W/cap-server-eth1.err" & CAP+=($!); PIDS+=($!)
    ip netns exec $P-web timeout $TMO tcpdump $TDOPT -i any -w "$D/server.pcap" 2>"$W/cap-server.err" & CAP+=($!); PIDS+=($!)
    capmeta client.pcap client cl eth0
    capmeta fw-out.pcap "firewall outside (wan, 203.0.113.5)" fw wan
    capmeta fw-in.pcap "firewall inside (lan, 192.168.0.1)" fw lan
    capmeta server-eth0.pcap "server eth0 (192.168.0.250, towards firewall)" web eth0
    capmeta server-eth1.pcap "server eth1 (192.168.1.250, towards gateway 2)" web eth1
    capmeta server.pcap "server (-i any, LINUX_SLL2)" web any
    meta "{\"interfaces\":{\"server.pcap\":$(X web ip -o link | awk -F': ' '{sub(/@.*/,"",$2); printf "%s\"%s\":\"%s\"", (n++?",":"{"), $1, $2} END {print "}"}')}}"
    ip netns exec $P-web timeout 40 "$PY" "$LAB/peer.py" tcp-server --port 80 --count 6 --timeout 35 --resp 800 & SRV+=($!); PIDS+=($!)
    wait_caps
    local t0 t1
    attempt() { # phase port expected description
        t0=$(now)
        X cl timeout 10 "$PY" "$LAB/peer.py" tcp-client --dst 203.0.113.5 --port 80 --bind 198.51.100.10:$2 --timeout 3.5 >"$W/att.out" 2>&1
        t1=$(now)
        cat "$W/att.out" >>"$W/run.log"
        meta "{\"attempts\":{\"phase\":\"$1\",\"proto\":\"tcp\",\"client_ip\":\"198.51.100.10\",\"client_port\":$2,\"dest_ip\":\"203.0.113.5\",\"dest_port\":80,\"server_ip\":\"192.168.0.250\",\"server_port\":80,\"expected\":\"$3\",\"client_result\":\"$(awk '{print $4}' "$W/att.out")\",\"start_ts\":$t0,\"end_ts\":$t1,\"what\":\"$4\"}}"
    }
    phase() { meta "{\"events\":{\"what\":\"phase\",\"phase\":\"$1\",\"ts\":$(now),\"change\":\"$2\"}}"; echo "phase $1: $2" >>"$W/run.log"; }
    phase a "none: server default route via gateway 2 (192.168.1.1)"
    attempt a 41001 asymmetric_return "SYN-ACK leaves server eth1 via gateway 2 untranslated (src 192.168.0.250); client answers it with RST and keeps retransmitting its SYN"
    X gw2 iptables -A FORWARD -i lan -s 192.168.0.0/24 -j DROP
    phase b "gateway 2: iptables -A FORWARD -i lan -s 192.168.0.0/24 -j DROP"
    attempt b 41002 handshake_broken "SYN-ACK leaves server eth1 and is dropped at gateway 2; client only retransmits SYNs"
    X gw2 iptables -D FORWARD -i lan -s 192.168.0.0/24 -j DROP
    X web ip route add default via 192.168.0.1 dev eth0 table 100
    X web ip rule add from 192.168.0.250 table 100
    phase c "server: ip rule add from 192.168.0.250 table 100; ip route add default via 192.168.0.1 dev eth0 table 100 (gateway 2 drop removed)"
    attempt c 41003 ok "policy routing: SYN-ACK leaves eth0 to the firewall, which un-DNATs it"
    attempt c 41013 ok "policy routing (second connection)"
    X web ip rule del from 192.168.0.250 table 100
    X web iptables -t mangle -A PREROUTING -i eth0 -m conntrack --ctstate NEW -j CONNMARK --set-mark 1
    X web iptables -t mangle -A OUTPUT -j CONNMARK --restore-mark
    X web ip rule add fwmark 1 table 100
    phase d "server: source rule removed; CONNMARK --set-mark 1 on NEW from eth0, --restore-mark in OUTPUT, ip rule add fwmark 1 table 100"
    attempt d 41004 ok "connmark: replies of connections that came in on eth0 are routed back via eth0"
    unset -f attempt phase
    stop_all; ctlist fw fw
    X web ip -o link | awk -F': ' '{sub(/@.*/,"",$2); print $1, $2}' >"$D/server.ifaces.txt"
    cat >"$D/README.md" <<'EOF'
# asym-return — DNAT plus a second default gateway ("source in, source out" broken)

    client 198.51.100.10 ---+--- (203.0.113.5 wan) firewall (lan 192.168.0.1) --- eth0 192.168.0.250 web server
                            |                     DNAT 203.0.113.5:80 -> 192.168.0.250:80  |
                            +--- (198.51.100.1 wan) gateway 2 (lan 192.168.1.1) --- eth1 192.168.1.250
    (client, firewall wan and gateway-2 wan share one switch; the server's default route is via 192.168.1.1)

No SNAT on the firewall, so the server sees the client's real address and its
default route sends replies to gateway 2 (which routes 198.51.100.0/24 without
NAT, and 192.168.0.0/24 back to the server's eth1). Four phases in one run,
one or two attempts each, from fixed client ports (truth.json `attempts`,
phase switches in `events`):

| phase | client port | change | expected |
|---|---|---|---|
| a | 41001 | none | asymmetric_return: SYN-ACK arrives from 192.168.0.250 (not 203.0.113.5), client RSTs it, retransmits SYN; times out after 3.5 s |
| b | 41002 | gateway 2 drops what leaks from 192.168.0.0/24 | handshake_broken: client only retransmits SYNs (0,1,2,3 s) |
| c | 41003, 41013 | `ip rule add from 192.168.0.250 table 100` + `ip route add default via 192.168.0.1 dev eth0 table 100` | ok |
| d | 41004 | connmark instead of the source rule | ok |

Captures: client.pcap (client eth0), fw-out.pcap (firewall outside),
fw-in.pcap (firewall inside), server-eth0.pcap, server-eth1.pcap, server.pcap
(server `-i any`, LINUX_SLL2; index -> name map in server.ifaces.txt and
truth.json `interfaces`). Conntrack ground truth from the firewall: DNAT
entries; the phase-a/b entries stay UNREPLIED (`replied: false`) because the
firewall never sees the SYN-ACK.
EOF
    finish fw
}

# ---------------------------------------------------------------- lb
sc_lb() {
    begin lb "$OUT/lb"
    mkns cl lb b1 b2 b3; router lb
    veth cl eth0 lb wan
    veth b1 eth0 lb p1; veth b2 eth0 lb p2; veth b3 eth0 lb p3; bridge lb br0 p1 p2 p3
    ad cl eth0 198.51.100.10/24; rt cl 203.0.113.0/24 dev eth0
    ad lb wan 198.51.100.1/24; ad lb wan 203.0.113.80/24; ad lb br0 10.9.0.1/24
    local i
    for i in 1 2 3; do ad b$i eth0 10.9.0.1$i/24; rt b$i default via 10.9.0.1; done
    # The bridge must not run iptables itself (br_netfilter): its NAT would
    # then show in the br0 capture half done (replies to the client's
    # address on the inside). Round robin over new connections (nth counts
    # connections in the nat table), then source NAT to the inner address.
    X lb sysctl -qw net.bridge.bridge-nf-call-iptables=0 2>/dev/null
    X lb iptables -t nat -A PREROUTING -d 203.0.113.80 -p tcp --dport 80 -m statistic --mode nth --every 3 --packet 0 -j DNAT --to-destination 10.9.0.11:80
    X lb iptables -t nat -A PREROUTING -d 203.0.113.80 -p tcp --dport 80 -m statistic --mode nth --every 2 --packet 0 -j DNAT --to-destination 10.9.0.12:80
    X lb iptables -t nat -A PREROUTING -d 203.0.113.80 -p tcp --dport 80 -j DNAT --to-destination 10.9.0.13:80
    X lb iptables -t nat -A POSTROUTING -o br0 -j SNAT --to-source 10.9.0.1
    ip netns exec $P-lb timeout $TMO conntrack -E -o timestamp,id >"$W/ct-lb.txt" 2>/dev/null & CT+=($!); PIDS+=($!)
    ip netns exec $P-cl timeout $TMO tcpdump $TDOPT -i eth0 -w "$D/client.pcap" 2>"$W/cap-client.err" & CAP+=($!); PIDS+=($!)
    ip netns exec $P-lb timeout $TMO tcpdump $TDOPT -i wan -w "$D/lb-out.pcap" 2>"$W/cap-lb-out.err" & CAP+=($!); PIDS+=($!)
    ip netns exec $P-lb timeout $TMO tcpdump $TDOPT -i br0 -w "$D/lb-in.pcap" 2>"$W/cap-lb-in.err" & CAP+=($!); PIDS+=($!)
    for i in 1 2 3; do
        ip netns exec $P-b$i timeout $TMO tcpdump $TDOPT -i eth0 -w "$D/backend$i.pcap" 2>"$W/cap-backend$i.err" & CAP+=($!); PIDS+=($!)
    done
    capmeta client.pcap client cl eth0
    capmeta lb-out.pcap "load balancer outside (wan: 198.51.100.1, VIP 203.0.113.80)" lb wan
    capmeta lb-in.pcap "load balancer inside (br0: 10.9.0.1, towards the backends)" lb br0
    for i in 1 2 3; do
        capmeta backend$i.pcap "backend $i (10.9.0.1$i)" b$i eth0
        ip netns exec $P-b$i timeout 40 "$PY" "$LAB/peer.py" tcp-server --port 80 --count 4 --timeout 35 --resp 600 & SRV+=($!); PIDS+=($!)
    done
    wait_caps
    for i in $(seq 12); do tcpc cl --dst 203.0.113.80 --port 80; done
    stop_all; ctlist lb lb
    cat >"$D/README.md" <<'EOF2'
# lb — a load balancer: DNAT round robin to three backends, SNAT to its inner address

    client 198.51.100.10 --- (198.51.100.1 wan, VIP 203.0.113.80) lb (br0 10.9.0.1) --- backend1 10.9.0.11
                                                                                     +-- backend2 10.9.0.12
                                                                                     +-- backend3 10.9.0.13

The client makes 12 TCP request/response connections to 203.0.113.80:80; the
balancer DNATs them in turn to the three backends (iptables statistic nth:
new connections) and SNATs them to 10.9.0.1, so each backend sees
10.9.0.1:port -> 10.9.0.1x:80 (4 each). Captures: client.pcap (client eth0),
lb-out.pcap (balancer wan: the outside leg), lb-in.pcap (balancer br0: the
inside leg; `mergecap lb-out.pcap lb-in.pcap` is what a capture of both
sides holds), backend1.pcap .. backend3.pcap (each backend's eth0).
truth.json `nat` is conntrack's view at the balancer (kind snat+dnat).
What a destination sees is what the last capture point saw: 10.9.0.1.
EOF2
    finish lb
}

# ---------------------------------------------------------------- halfopen
sc_halfopen() {
    begin halfopen "$OUT/halfopen"
    mkns cl r srv; router r
    veth cl eth0 r lan; veth srv eth0 r wan
    ad cl eth0 10.72.2.222/24; rt cl default via 10.72.2.1
    ad r lan 10.72.2.1/24; ad r wan 203.0.113.2/24; rt r 198.51.100.0/24 dev wan
    ad srv eth0 198.51.100.80/24; rt srv 203.0.113.0/24 dev eth0
    X r iptables -t nat -A POSTROUTING -o wan -j MASQUERADE
    X r iptables -A FORWARD -p tcp --sport 8080 --tcp-flags SYN,ACK SYN,ACK -j DROP
    X r iptables -A FORWARD -p tcp --dport 8082 -j DROP
    ip netns exec $P-r timeout $TMO conntrack -E -o timestamp,id >"$W/ct-router.txt" 2>/dev/null & CT+=($!); PIDS+=($!)
    ip netns exec $P-cl timeout $TMO tcpdump $TDOPT -i eth0 -w "$D/client.pcap" 2>"$W/cap-client.err" & CAP+=($!); PIDS+=($!)
    ip netns exec $P-srv timeout $TMO tcpdump $TDOPT -i eth0 -w "$D/server.pcap" 2>"$W/cap-server.err" & CAP+=($!); PIDS+=($!)
    capmeta client.pcap client cl eth0; capmeta server.pcap server srv eth0
    ip netns exec $P-srv timeout 30 "$PY" "$LAB/peer.py" tcp-server --port 80 --count 1 --timeout 12 --resp 500 & SRV+=($!); PIDS+=($!)
    ip netns exec $P-srv timeout 30 "$PY" "$LAB/peer.py" tcp-server --port 8080 --count 1 --timeout 12 & SRV+=($!); PIDS+=($!)
    wait_caps
    local spec t0 t1 res
    for spec in "42000 80 ok listening;_handshake_and_response" \
                "42001 8080 handshake_broken server_listens;_router_drops_its_SYN-ACK" \
                "42002 8081 rejected closed_port;_server_answers_RST" \
                "42003 8082 handshake_broken filtered_port;_router_drops_the_SYN_silently_(never_reaches_server)"; do
        set -- $spec
        t0=$(now)
        X cl timeout 10 "$PY" "$LAB/peer.py" tcp-client --dst 198.51.100.80 --port $2 --bind 10.72.2.222:$1 --timeout 3.5 >"$W/att.out" 2>&1
        t1=$(now)
        cat "$W/att.out" >>"$W/run.log"
        res=$(awk '{print $4}' "$W/att.out")
        meta "{\"attempts\":{\"phase\":null,\"proto\":\"tcp\",\"client_ip\":\"10.72.2.222\",\"client_port\":$1,\"dest_ip\":\"198.51.100.80\",\"dest_port\":$2,\"expected\":\"$3\",\"client_result\":\"$res\",\"start_ts\":$t0,\"end_ts\":$t1,\"what\":\"${4//_/ }\"}}"
    done
    stop_all; ctlist r router
    cat >"$D/README.md" <<'EOF'
# halfopen — broken handshakes, a closed port, a filtered port

    client 10.72.2.222 --- (10.72.2.1) router (MASQUERADE to 203.0.113.2) --- server 198.51.100.80

Router rules: `-A FORWARD -p tcp --sport 8080 --tcp-flags SYN,ACK SYN,ACK -j DROP`
and `-A FORWARD -p tcp --dport 8082 -j DROP`. Attempts (truth.json `attempts`),
each from a fixed client port, one after the other, client timeout 3.5 s:

| client port | to | expected |
|---|---|---|
| 42000 | :80 (listening) | ok |
| 42001 | :8080 (listening, SYN-ACK dropped at the router) | handshake_broken (server.pcap shows SYN-ACK retransmissions) |
| 42002 | :8081 (closed) | rejected (RST from the server) |
| 42003 | :8082 (SYN dropped at the router) | handshake_broken (nothing reaches server.pcap) |

Conntrack: the :8082 SYN is dropped in FORWARD before the entry is confirmed,
so conntrack has no entry for it (truth.json `nat` holds 3 entries, not 4).
Captures: client.pcap (client eth0), server.pcap (server eth0).
EOF
    finish router
}

for s in $SCEN; do
    case $s in
        nonat) sc_nonat ;;
        snat-masq) sc_snat_masq ;;
        dualnic) sc_dualnic ;;
        snat-switch) sc_snat_switch ;;
        snat-pool) sc_snat_pool ;;
        isn-rewrite) sc_isn_rewrite ;;
        mss-clamp) sc_mss_clamp ;;
        time-shift) sc_time_shift ;;
        asym-return) sc_asym_return ;;
        halfopen) sc_halfopen ;;
        lb) sc_lb ;;
        *) echo "lab.sh: unknown scenario '$s' (known: $ALL)" >&2; exit 2 ;;
    esac
done
log "done: $OUT"
