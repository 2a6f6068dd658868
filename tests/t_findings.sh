#!/bin/sh
# t_findings: every attempt the lab's truth.json lists for the asym-return
# and halfopen samples is named by the right finding kind - and no good one
# is named at all - as `natlens flows --json` shows it for the client alone
# and the server alone, and `natlens correlate --json` for both together.
# Also the text report: the asymmetric return's summary, evidence and fix.
#
# Where a capture shows more than the client knows, the finding is more
# specific than the client-side label in truth.json (OVERRIDE below): the
# server's `-i any` capture sees the phase-b SYN-ACK leave by the other
# interface (asymmetric_return, not just handshake_broken), and with both
# captures the filtered port's SYN is seen to vanish on the way
# (never_arrived). A view whose command does not carry findings yet is
# skipped by name; if no view could run, the test skips.
set -u
NATLENS=${NATLENS:-build/natlens}
S=${SAMPLES_DIR:-samples}
command -v python3 >/dev/null 2>&1 || { echo "skip: python3 not found"; exit 77; }
[ -x "$NATLENS" ] || { echo "skip: $NATLENS not built"; exit 77; }
[ -f $S/asym-return/truth.json ] && [ -f $S/halfopen/truth.json ] ||
    { echo "skip: samples/asym-return or samples/halfopen missing"; exit 77; }
T=$(mktemp -d /tmp/t_findings.XXXXXX)
trap 'rm -rf "$T"' EXIT

# views: name, command output file
ran=0
for sc in asym-return halfopen; do
    for v in client server pair; do
        out=$T/$sc-$v.json
        case $v in
        client) "$NATLENS" flows --json $S/$sc/client.pcap >"$out" 2>"$T/err" ;;
        server) "$NATLENS" flows --json $S/$sc/server.pcap >"$out" 2>"$T/err" ;;
        pair)   "$NATLENS" correlate --json $S/$sc/client.pcap $S/$sc/server.pcap >"$out" 2>"$T/err" ;;
        esac
        rc=$?
        if [ $rc -ne 0 ] && [ $rc -ne 1 ]; then
            if grep -q "unknown command" "$T/err"; then
                echo "view $sc/$v skipped: $(head -n 1 "$T/err")"
                rm -f "$out"
                continue
            fi
            echo "FAIL: $sc/$v exited $rc: $(cat "$T/err")"
            exit 1
        fi
        ran=$((ran + 1))
    done
done
[ $ran -gt 0 ] || { echo "skip: neither flows nor correlate carries findings yet"; exit 77; }

python3 - "$T" "$S" <<'EOF'
import json, os, sys
T, S = sys.argv[1], sys.argv[2]
OVERRIDE = {
    ("asym-return", 41002, "server"): "asymmetric_return",
    ("asym-return", 41002, "pair"): "asymmetric_return",
    ("halfopen", 42003, "pair"): "never_arrived",
}
fail = 0
checked = 0
views_with_findings = 0
for sc in ("asym-return", "halfopen"):
    truth = json.load(open(os.path.join(S, sc, "truth.json")))
    attempts = truth["attempts"]
    for v in ("client", "server", "pair"):
        p = os.path.join(T, "%s-%s.json" % (sc, v))
        if not os.path.exists(p):
            continue
        doc = json.load(open(p))
        findings = doc.get("findings", [])
        if v != "pair":
            flows = doc.get("flows", [])
        else:
            flows = [m[k] for m in doc.get("matches", []) for k in ("near", "far")]
            flows += [u["flow"] for u in doc.get("unmatched", [])]
        broken = [a for a in attempts if a["expected"] != "ok"]
        if broken and not findings:
            # flows --json before diagnose was wired in prints an empty list
            src = open("analyzer/cli/cmd_flows.c").read() if v != "pair" else "diagnose_"
            if "diagnose_" not in src:
                print("view %s/%s skipped: natlens flows does not produce findings yet" % (sc, v))
                continue
        views_with_findings += 1
        for a in attempts:
            port = a["client_port"]
            seen = any(f.get("orig_port") == port for f in flows)
            kinds = sorted({f["kind"] for f in findings
                            if any(x.get("orig_port") == port for x in f.get("flows", []))})
            want = OVERRIDE.get((sc, port, v), a["expected"])
            checked += 1
            if not seen and v == "server":
                if kinds:
                    print("FAIL %s/%s port %d: not in the capture but named %s" % (sc, v, port, kinds))
                    fail += 1
                continue
            if want == "ok":
                if kinds:
                    print("FAIL %s/%s port %d (%s): good attempt named %s" % (sc, v, port, a["what"], kinds))
                    fail += 1
            elif kinds != [want]:
                print("FAIL %s/%s port %d (%s): kinds %s, expected [%s]" % (sc, v, port, a["what"], kinds, want))
                fail += 1
        # shape of every finding (the contract)
        for f in findings:
            for k in ("kind", "severity", "summary", "flows", "evidence", "fix"):
                if k not in f:
                    print("FAIL %s/%s: finding without %s" % (sc, v, k)); fail += 1
            for e in f.get("evidence", []):
                if not all(k in e for k in ("capture", "frame", "ts", "what")):
                    print("FAIL %s/%s: evidence %s" % (sc, v, e)); fail += 1
            if f.get("severity") not in ("error", "warning", "info"):
                print("FAIL %s/%s: severity %s" % (sc, v, f.get("severity"))); fail += 1
        sev = [f["severity"] for f in findings]
        order = {"error": 0, "warning": 1, "info": 2}
        if sev != sorted(sev, key=lambda s: order[s]):
            print("FAIL %s/%s: findings not most severe first: %s" % (sc, v, sev)); fail += 1
print("%d attempt checks over %d views, %d failed" % (checked, views_with_findings, fail))
if views_with_findings == 0:
    sys.exit(77)
sys.exit(1 if fail else 0)
EOF
rc=$?
[ $rc -eq 77 ] && { echo "skip: no view carries findings yet"; exit 77; }
[ $rc -eq 0 ] || exit 1

# The text report of the two-sided asymmetric return: answer, proof, fix.
if [ -f "$T/asym-return-pair.json" ]; then
    "$NATLENS" correlate $S/asym-return/client.pcap $S/asym-return/server.pcap >"$T/text" 2>&1
    for want in "FINDINGS" "ERROR  asymmetric_return" "bypassing the device that translated" \
                "evidence  client.pcap #" "server.pcap #" "ip rule add from 192.168.0.250 table 100" \
                "CONNMARK --set-mark 1"; do
        grep -qF "$want" "$T/text" || { echo "FAIL: text report lacks: $want"; sed 's/^/  | /' "$T/text"; exit 1; }
    done
fi
echo "ok"
