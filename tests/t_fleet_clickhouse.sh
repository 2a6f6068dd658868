#!/bin/sh
# t_fleet_clickhouse.sh - the fleet queries on a real ClickHouse (Debian's
# clickhouse-server) as two shards on loopback, against natlens's own
# correlator and conntrack's truth.json.
#
# Starts two servers in a temporary directory (own config.xml/users.xml,
# listen_host 127.0.0.1 only; stopped by PID and the directory removed on
# exit, also on failure), creates the schema on both, reduces every sample
# pair, asym-return through four capture points and a freshly recorded lab
# run (samples/lab/lab.sh snat-pool snat-switch, network namespaces) to
# NDJSON, loads the tree with `natlens fleet` through the Distributed table
# and runs the pairing and egress SQL across both shards. Then
# tests/fleet_compare.py requires, per path, the same pairs, egress rows
# and source changes as `natlens correlate --json` on the same files, every
# conntrack entry paired with its translation, and (self-check) that a
# swapped pair is noticed. Also: both shards hold records, a second load
# adds nothing, a file with a bad line and a folder with an unusable name
# are not loaded.
set -u
NATLENS=${NATLENS:-$PWD/build/natlens}
export NATLENS
[ -x "$NATLENS" ] || { echo "natlens not built: $NATLENS"; exit 77; }
for t in clickhouse-server clickhouse-client python3; do
    command -v $t >/dev/null 2>&1 || { echo "$t missing (make deps-test installs it)"; exit 77; }
done
here=$PWD
tmp=$(mktemp -d /tmp/nl-fleet.XXXXXX)
. "$here/analyzer/sql/clickhouse/shards.sh"
cleanup() { ch_shards_stop "$tmp/ch"; rm -rf "$tmp"; }
trap cleanup EXIT
trap 'exit 130' INT TERM HUP
fail=0

ch_shards_start "$tmp/ch" || exit 1
S1=127.0.0.1:$CH_PORT1 S2=127.0.0.1:$CH_PORT2
for s in $S1 $S2; do
    "$NATLENS" fleet --server "$s" --init || { echo "FAIL: --init on $s"; exit 1; }
done

tree=$tmp/tree
nd() { # pcap out.ndjson [point]
    "$NATLENS" flows --ndjson "$2" ${3:+--point "$3"} "$1" || { echo "FAIL: flows --ndjson $1"; fail=1; }
}
for d in samples/*/; do
    n=$(basename "$d")
    [ -f "$d/client.pcap" ] && [ -f "$d/server.pcap" ] || continue
    mkdir -p "$tree/$n"
    nd "$d/client.pcap" "$tree/$n/client.ndjson"
    nd "$d/server.pcap" "$tree/$n/server.ndjson"
    cp "$d/truth.json" "$tree/$n/"
done
a=samples/asym-return
mkdir -p "$tree/asym-return-4points"
nd $a/client.pcap "$tree/asym-return-4points/client.ndjson"
nd $a/fw-out.pcap "$tree/asym-return-4points/fw1-out.ndjson" fw1-out
nd $a/fw-in.pcap "$tree/asym-return-4points/fw2-in.ndjson" fw2-in
nd $a/server.pcap "$tree/asym-return-4points/server.ndjson"

# a fresh lab run: real NAT in network namespaces (root)
if [ "$(id -u)" = 0 ] && command -v ip >/dev/null 2>&1; then
    NLLAB_PREFIX=nlfl$$ timeout 170 bash samples/lab/lab.sh "$tmp/lab" snat-pool snat-switch \
        >"$tmp/lab.log" 2>&1 || { echo "FAIL: lab.sh exit $?"; tail -n 20 "$tmp/lab.log"; exit 1; }
    for n in snat-pool snat-switch; do
        mkdir -p "$tree/lab-$n"
        nd "$tmp/lab/$n/client.pcap" "$tree/lab-$n/client.ndjson"
        nd "$tmp/lab/$n/server.pcap" "$tree/lab-$n/server.ndjson"
        cp "$tmp/lab/$n/truth.json" "$tree/lab-$n/"
    done
    nlab=2
else
    echo "note: not root: no fresh lab run, samples only"
    nlab=0
fi

# files natlens fleet must refuse: a bad line, an unusable folder name
mkdir -p "$tmp/bad/x" "$tmp/bad/y z"
{ head -n 2 "$tree/nonat/client.ndjson"; echo '{"type":"flow","id":'; tail -n +3 "$tree/nonat/client.ndjson"; } \
    | sed 's/"capture_id":"[0-9a-f]*"/"capture_id":"'"$(printf '%064d' 7)"'"/' >"$tmp/bad/x/client.ndjson"
cp "$tree/nonat/server.ndjson" "$tmp/bad/y z/server.ndjson"
"$NATLENS" fleet --server "$S1" "$tmp/bad" >/dev/null 2>"$tmp/bad.err"
grep -q "bad lines" "$tmp/bad.err" || { echo "FAIL: a file with a bad line was not refused"; cat "$tmp/bad.err"; fail=1; }
grep -q "not a usable path name" "$tmp/bad.err" || { echo "FAIL: a bad folder name was not refused"; fail=1; }
if clickhouse-client --port "$CH_PORT1" --query "SELECT count() FROM natlens.flows" | grep -qv '^0$'; then
    echo "FAIL: refused files reached ClickHouse"; fail=1
fi

# the fleet: load through shard 1's Distributed table, query across both
"$NATLENS" fleet --server "$S1" --json "$tree" >"$tmp/fleet.json" 2>"$tmp/fleet.err" ||
    { echo "FAIL: natlens fleet exit $?"; cat "$tmp/fleet.err"; exit 1; }
python3 tests/fleet_compare.py "$tmp/fleet.json" "$tree" --self-check || fail=1

# records really are on two shards, and nothing was lost on the way
total=0
for p in $CH_PORT1 $CH_PORT2; do
    c=$(clickhouse-client --port "$p" --query "SELECT count() FROM natlens.flows_local")
    [ "$c" -gt 0 ] || { echo "FAIL: shard on port $p holds no flows"; fail=1; }
    total=$((total + c))
done
want=$(cat "$tree"/*/*.ndjson | grep -c '"type":"flow"')
# asym-return's client and server captures sit on two paths: loaded once
dup=$(cat "$tree/asym-return/client.ndjson" "$tree/asym-return/server.ndjson" | grep -c '"type":"flow"')
[ "$total" -eq $((want - dup)) ] || { echo "FAIL: shards hold $total flows, files have $((want - dup))"; fail=1; }

# a second run adds nothing and says the same
"$NATLENS" fleet --server "$S2" --json "$tree" >"$tmp/fleet2.json" 2>"$tmp/fleet2.err"
grep -q "loaded 0 capture files" "$tmp/fleet2.err" || { echo "FAIL: second load added files"; cat "$tmp/fleet2.err"; fail=1; }
cmp -s "$tmp/fleet.json" "$tmp/fleet2.json" || { echo "FAIL: the other shard answers differently"; fail=1; }
"$NATLENS" fleet --server "$S1" >"$tmp/fleet.txt" 2>/dev/null
grep -q "^EGRESS" "$tmp/fleet.txt" && grep -q "snat-switch" "$tmp/fleet.txt" ||
    { echo "FAIL: text egress table"; fail=1; }

[ $fail -eq 0 ] && echo "fleet on ClickHouse (2 shards): every path as natlens correlate says ($nlab fresh lab runs)"
exit $fail
