#!/bin/sh
# natlens TCP/UDP flows against tshark's conversation tables: for every
# corpus capture with a .tshark.txt (tshark -z conv,tcp / conv,udp), the
# number of conversations and, per conversation, frames and frame bytes in
# each direction. Where natlens follows Zeek (timers split connections) or
# libpcap cannot read a file, the difference is listed with its reason in
# tests/tshark_compare.py; a listed difference that disappears fails too.
set -u
N=${NATLENS:?}
C=${CORPUS:?}
HERE=$(cd "$(dirname "$0")" && pwd)
command -v python3 >/dev/null 2>&1 || { echo "python3 not installed"; exit 77; }
ls "$C"/zeek/*.tshark.txt >/dev/null 2>&1 || { echo "corpus has no .tshark.txt files"; exit 77; }
T=$(mktemp -d); trap 'rm -rf "$T"' EXIT
fail=0

python3 "$HERE/tshark_compare.py" "$N" "$C" > "$T/out" 2>&1
rc=$?
cat "$T/out"
[ $rc -eq 0 ] || { echo "FAIL tshark_compare.py exit $rc"; fail=1; }

# the comparison can fail: a natlens that loses one frame per flow
cat > "$T/lossy.sh" <<SH
#!/bin/sh
"$N" "\$@" | python3 -c '
import json, sys
d = json.load(sys.stdin)
for f in d.get("flows", []):
    if f["orig_pkts"]:
        f["orig_pkts"] -= 1
json.dump(d, sys.stdout)'
SH
chmod +x "$T/lossy.sh"
if python3 "$HERE/tshark_compare.py" "$T/lossy.sh" "$C" zeek/wikipedia.pcap > "$T/out2" 2>&1; then
    echo "FAIL tshark_compare.py passed a natlens that loses frames"; fail=1
else
    echo "ok   tshark_compare.py rejects a natlens that loses frames"
fi
exit $fail
