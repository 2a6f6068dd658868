#!/bin/sh
# t_gen_field.sh - the benchmark's input generator (tests/gen/gen_capture
# --field, issue 11's shape): same seed -> byte-identical near, far and
# truth files, another seed -> other bytes, and the shape itself checked on
# 2000 flows of each pool kind by tests/gen/field_check.py through tshark
# (pool of 3 addresses or one per flow, 64 payloads, no TCP options, 5% ISN
# rewrites, 1% SYN-ACK loss, far clock +2.5 s, truth file consistent).
# The old modes must still run (t_correlate and the bench use --pair).
set -u
command -v python3 >/dev/null 2>&1 || { echo "python3 missing"; exit 77; }
command -v tshark >/dev/null 2>&1 || { echo "tshark missing (it decodes the generated files)"; exit 77; }
tmp=$(mktemp -d /tmp/nl-genfield.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
fail=0
bad() { echo "FAIL: $*"; fail=1; }

cc -O2 -o "$tmp/gen" tests/gen/gen_*.c -lpcap 2>"$tmp/cc.err" ||
    { cat "$tmp/cc.err"; echo "cannot build tests/gen/gen_*.c"; exit 77; }

gen() { # DIR ARGS...: a --field pair of 2000 flows into DIR (the file
         # names are part of the truth file: the same in every DIR)
    mkdir -p "$1" && (cd "$1" && shift && "$tmp/gen" --field -f 2000 "$@" -o near.pcap \
        -O far.pcap -t truth.json 2>log) || { cat "$1/log"; bad "gen_capture --field $*"; }
}
for shape in 3 flow; do
    gen "$tmp/a-$shape" --pool $shape -s 5
    gen "$tmp/b-$shape" --pool $shape -s 5
    gen "$tmp/c-$shape" --pool $shape -s 6
    for f in near.pcap far.pcap truth.json; do
        cmp -s "$tmp/a-$shape/$f" "$tmp/b-$shape/$f" || bad "--pool $shape: $f differs between two runs"
    done
    cmp -s "$tmp/a-$shape/near.pcap" "$tmp/c-$shape/near.pcap" && bad "--pool $shape: seed 6 same as seed 5"
    echo "--- --pool $shape"
    (cd "$tmp/a-$shape" && python3 "$OLDPWD/tests/gen/field_check.py" truth.json near.pcap far.pcap) ||
        bad "--pool $shape: shape check"
done
cmp -s "$tmp/a-3/far.pcap" "$tmp/a-flow/far.pcap" && bad "--pool flow same as --pool 3"

# bad options are refused, the other modes still write captures
"$tmp/gen" --field --pool 0 -f 10 -o "$tmp/x.pcap" -O "$tmp/y.pcap" 2>/dev/null
[ $? -eq 2 ] || bad "--pool 0 accepted"
"$tmp/gen" --field -f 10 -o "$tmp/x.pcap" 2>/dev/null
[ $? -eq 2 ] || bad "--field without -O accepted"
"$tmp/gen" --pair -f 50 -o "$tmp/pn.pcap" -O "$tmp/pf.pcap" -t "$tmp/pt.json" 2>/dev/null &&
    [ -s "$tmp/pf.pcap" ] && python3 -c 'import json,sys; assert len(json.load(open(sys.argv[1]))["flows"]) == 50' \
    "$tmp/pt.json" || bad "--pair mode"
"$tmp/gen" -n 500 -f 20 -o "$tmp/m.pcap" 2>/dev/null && [ -s "$tmp/m.pcap" ] || bad "mixed mode"

[ $fail -eq 0 ] && echo "t_gen_field: ok"
exit $fail
