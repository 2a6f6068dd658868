#!/bin/sh
# gen_fleet.sh - a generated fleet: N client/server capture pairs, one
# folder each, for tests/bench_fleet.sh.
#
#   tests/gen/gen_fleet.sh GEN_CAPTURE OUTDIR PAIRS FLOWS
#
# Each pair is tests/gen/gen_capture --pair with its own seed (so its own
# inner hosts, destinations, ports, ISNs and its own SNAT pool addresses in
# 203.0.113.0/24, picked per client by the generator), its own start time
# (pairs follow each other, 100 s apart), a far clock 0..59 s ahead, 2 %
# of the flows with the ISN rewritten, 1 % blocked and 0.5 % loss between
# the points. Writes OUTDIR/pNNNN/{client.pcap,server.pcap,truth.json}.
# Deterministic: the same arguments give the same files.
set -eu
[ $# -eq 4 ] || { echo "usage: $0 GEN_CAPTURE OUTDIR PAIRS FLOWS" >&2; exit 2; }
gen=$1 out=$2 pairs=$3 flows=$4
i=1
while [ "$i" -le "$pairs" ]; do
    d=$(printf '%s/p%04d' "$out" "$i")
    mkdir -p "$d"
    "$gen" --pair -f "$flows" -s "$((1000 + i))" --start "$((1700000000 + i * 100))" \
        --offset "$((i * 37 % 60))" --isn-rewrite 0.02 --blocked 0.01 --loss 0.005 \
        -o "$d/client.pcap" -O "$d/server.pcap" -t "$d/truth.json" 2>/dev/null
    i=$((i + 1))
done
