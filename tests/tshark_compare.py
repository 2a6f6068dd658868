#!/usr/bin/env python3
"""tshark_compare.py - natlens TCP/UDP flows against tshark's conversations.

Usage: tshark_compare.py NATLENS CORPUS_DIR [CAPTURE...]

Every corpus capture has CAPTURE.tshark.txt with `tshark -q -z conv,tcp` and
`-z conv,udp` tables (TShark 4.0.17). For each capture (or the ones named),
run `NATLENS flows --json CAPTURE` (no checksum verification: tshark counts
every frame) and compare per protocol:
  * the number of conversations,
  * per address/port pair (direction-free): the number of conversations
    and, for each of them in order of first packet, the frames and frame
    bytes in each direction (tshark's Frames/Bytes against natlens
    orig_pkts/resp_pkts and orig_frame_bytes/resp_frame_bytes). tshark
    prints bytes >= 10 kB as "N kB" (SI, rounded); those compare within
    one unit.

A capture passes when everything agrees, or when its differences are listed
in EXPECTED_DIFFERENCES (capture -> reason); a listed capture that agrees
fails the test so the table stays honest.
"""
import ipaddress
import json
import os
import re
import subprocess
import sys

# capture (relative to the corpus) -> {conversation key or "*": reason}.
# Conversation keys are "<proto> <a>:<port><-><b>:<port>" with the two
# endpoints sorted; "*" excuses the whole capture.
ZEEK_CLOSE = ("natlens ends a TCP connection as Zeek does, 5 s after a complete close "
              "(tcp_close_delay); later packets of the 5-tuple start a new flow, tshark "
              "keeps one conversation")
ZEEK_ATTEMPT = ("Zeek's 5 s attempt timer removes an unanswered SYN; the later FIN starts a "
                "new flow, tshark keeps one conversation")
ZEEK_TCP_IDLE = ("Zeek's 5 min TCP inactivity timeout splits the conversation; tshark keeps one")
ZEEK_UDP_IDLE = ("Zeek's 1 min UDP inactivity timeout splits the conversation; tshark keeps one")
ZEEK_DNS = ("Zeek's DNS analyzer removes an idle UDP DNS connection after 10 s "
            "(dns_session_timeout); tshark keeps one conversation")
TEREDO_RELAY = ("Teredo through a relay on port 32900: natlens recognises Teredo by its content "
                "on any port, as Zeek does, and finds the IPv6 connection inside; tshark "
                "decodes Teredo on UDP 3544 only (its heuristic is off by default)")
EXPECTED_DIFFERENCES = {
    "zeek/modbus-rst.pcap": {"tcp 192.168.10.111:502<->198.74.56.135:60293": ZEEK_CLOSE},
    "zeek/teredo.pcap": {
        "tcp 192.168.2.16:1576<->75.126.130.163:80": ZEEK_CLOSE,
        "tcp 192.168.2.16:1577<->75.126.203.78:80": ZEEK_CLOSE,
        "tcp 192.168.2.16:1578<->75.126.203.78:80": ZEEK_CLOSE,
        "udp 192.168.2.1:53<->192.168.2.16:1920": ZEEK_DNS,
        "tcp 2001:0:4137:9e50:8000:f12a:b9c8:2815:1286<->2001:4860:0:2001::68:80": TEREDO_RELAY,
        "tcp count": TEREDO_RELAY,
    },
    "zeek/teredo_bubble_with_payload.pcap": {
        "tcp 2001:0:4137:9e50:8000:f12a:b9c8:2815:1286<->2001:4860:0:2001::68:80": TEREDO_RELAY,
        "tcp count": TEREDO_RELAY,
    },
    "suricata/bug-2646-01/input.pcap": {
        "tcp 151.101.36.133:443<->192.168.0.253:49584":
            ZEEK_CLOSE + " (the server retransmits its FIN for 57 s)"},
    "tcpdump/tfo-5c1fa7f9ae91.pcap": {"tcp 192.168.0.100:13048<->3.3.3.3:13054": ZEEK_ATTEMPT},
    "tcpdump/of13_ericsson.pcapng": {
        "tcp 127.0.0.1:6633<->127.0.0.1:34887": ZEEK_TCP_IDLE,
        "tcp 127.0.0.1:6633<->127.0.0.1:51984": ZEEK_TCP_IDLE,
        "tcp 127.0.0.1:6633<->127.0.0.1:51987": ZEEK_TCP_IDLE,
        "tcp 127.0.0.1:6633<->127.0.0.1:58445": ZEEK_TCP_IDLE,
        "udp 192.168.1.1:1234<->192.168.1.2:5678":
            "tshark dissects Ethernet frames carried inside OpenFlow PACKET_IN/OUT messages; "
            "natlens does not look into OpenFlow payloads",
        "udp count": "see the OpenFlow-embedded UDP conversation",
    },
    "tcpdump/afs.pcap": {
        "udp 131.151.1.59:7000<->131.151.32.91:7001": ZEEK_UDP_IDLE,
        "udp 131.151.1.146:7000<->131.151.32.21:7001":
            "IP fragments: tshark attributes a reassembled datagram to the frame of its last "
            "fragment and counts that frame's length, natlens counts the first fragment's frame",
    },
    "tcpdump/bigtcp-ipv6.pcap": {
        "tcp 2604:1380:4091:ce00::b:43267<->2604:1380:4091:ce00::d:41219":
            "IPv6 BIG TCP jumbogram (payload length 0 + hop-by-hop jumbo option): tshark 4.0 "
            "does not dissect its TCP, natlens does"},
}
# pcapng files libpcap 1.10 cannot read whole (interfaces of several link
# types or snap lengths, no interface block) are read by Wireshark's
# wiretap (analyzer/source_wiretap.c): they agree with tshark now.
for _d in ("output_be", "output_le"):
    _p = "pcapng/hadrielk/%s/" % _d
    for _t in ("basic/test011", "basic/test016", "basic/test018", "advanced/test100"):
        EXPECTED_DIFFERENCES[_p + _t + ".pcapng"] = {
            "udp 0.0.0.0:68<->255.255.255.255:67":
                ZEEK_UDP_IDLE + " (the synthetic file's first packet has timestamp 0)"}

CONV_RE = re.compile(
    r"^(\S+)\s+<->\s+(\S+)\s+(\d+)\s+([\d,]+)\s+(bytes|kB|MB|GB)\s+(\d+)\s+([\d,]+)\s+(bytes|kB|MB|GB)"
    r"\s+(\d+)\s+([\d,]+)\s+(bytes|kB|MB|GB)\s+(-?[\d.]+)\s+([\d.]+)\s*$")
UNIT = {"bytes": 1, "kB": 1000, "MB": 1000 ** 2, "GB": 1000 ** 3}


def split_endpoint(s):
    """'1.2.3.4:80' or '2001:db8::1:80' -> (canonical ip, port)."""
    host, _, port = s.rpartition(":")
    try:
        host = str(ipaddress.ip_address(host))
    except ValueError:
        pass
    return host, int(port)


def parse_tshark(path):
    """{'tcp': [conv], 'udp': [conv]}; conv = dict(a, b, ab_frames, ab_bytes,
    ba_frames, ba_bytes, start)."""
    out = {"tcp": [], "udp": []}
    cur = None
    with open(path, encoding="utf-8", errors="replace") as fh:
        for line in fh:
            if line.startswith("TCP Conversations"):
                cur = "tcp"
                continue
            if line.startswith("UDP Conversations"):
                cur = "udp"
                continue
            if line.startswith("##"):
                cur = None
                continue
            m = CONV_RE.match(line.strip())
            if not m or cur is None:
                continue
            a, b = split_endpoint(m.group(1)), split_endpoint(m.group(2))
            # tshark: "<-" is B to A, "->" is A to B
            out[cur].append({
                "a": a, "b": b,
                "ba_frames": int(m.group(3)), "ba_bytes": (int(m.group(4).replace(",", "")), m.group(5)),
                "ab_frames": int(m.group(6)), "ab_bytes": (int(m.group(7).replace(",", "")), m.group(8)),
                "start": float(m.group(12)),
            })
    return out


def bytes_match(tshark_val, natlens_bytes):
    n, unit = tshark_val
    if unit == "bytes":
        return n == natlens_bytes
    return abs(natlens_bytes - n * UNIT[unit]) < UNIT[unit]


def run_natlens(natlens, path):
    try:
        p = subprocess.run([natlens, "flows", "--json", path], stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, timeout=300, check=False)
        d = json.loads(p.stdout.decode("utf-8", "replace"))
        return d.get("flows", []), None
    except (subprocess.TimeoutExpired, ValueError) as e:
        return None, "natlens failed: %s" % e


def key_of(a, b):
    return tuple(sorted([a, b]))


def compare_capture(natlens, corpus, rel):
    """List of (key, message) differences for one capture; key is
    "<proto> <a>:<port><-><b>:<port>" (endpoints sorted), "<proto> count"
    or "run"."""
    path = os.path.join(corpus, rel)
    conv = parse_tshark(path + ".tshark.txt")
    flows, err = run_natlens(natlens, path)
    if flows is None:
        return [("run", err)]
    diffs = []
    for proto in ("tcp", "udp"):
        nl = [f for f in flows if f.get("proto") == proto]
        ts = conv[proto]
        if len(nl) != len(ts):
            diffs.append(("%s count" % proto, "%s conversations: tshark %d natlens %d" % (proto, len(ts), len(nl))))
        by_t, by_n = {}, {}
        for c in ts:
            by_t.setdefault(key_of(c["a"], c["b"]), []).append(c)
        for f in nl:
            o = (str(ipaddress.ip_address(f["orig_ip"])), int(f["orig_port"]))
            r = (str(ipaddress.ip_address(f["resp_ip"])), int(f["resp_port"]))
            by_n.setdefault(key_of(o, r), []).append((o, f))
        for k in sorted(set(by_t) | set(by_n), key=str):
            tl = sorted(by_t.get(k, []), key=lambda c: c["start"])
            fl = sorted(by_n.get(k, []), key=lambda x: (x[1].get("first_ts", 0), x[1].get("id", 0)))
            name = "%s %s:%d<->%s:%d" % (proto, k[0][0], k[0][1], k[1][0], k[1][1])
            if len(tl) != len(fl):
                diffs.append((name, "tshark %d conversations, natlens %d" % (len(tl), len(fl))))
                continue
            for i, (c, (o, f)) in enumerate(zip(tl, fl)):
                if o == c["a"]:
                    fa, fb = int(f["orig_pkts"]), int(f["resp_pkts"])
                    ba, bb = int(f.get("orig_frame_bytes", -1)), int(f.get("resp_frame_bytes", -1))
                else:
                    fa, fb = int(f["resp_pkts"]), int(f["orig_pkts"])
                    ba, bb = int(f.get("resp_frame_bytes", -1)), int(f.get("orig_frame_bytes", -1))
                bad = []
                if fa != c["ab_frames"] or fb != c["ba_frames"]:
                    bad.append("frames tshark %d/%d natlens %d/%d" % (c["ab_frames"], c["ba_frames"], fa, fb))
                if not bytes_match(c["ab_bytes"], ba) or not bytes_match(c["ba_bytes"], bb):
                    bad.append("bytes tshark %d %s/%d %s natlens %d/%d" % (
                        c["ab_bytes"][0], c["ab_bytes"][1], c["ba_bytes"][0], c["ba_bytes"][1], ba, bb))
                if bad:
                    diffs.append((name, "#%d: %s" % (i + 1, "; ".join(bad))))
    return diffs


def main():
    if len(sys.argv) < 3:
        print(__doc__)
        return 2
    natlens, corpus = sys.argv[1], sys.argv[2]
    caps = sys.argv[3:]
    if not caps:
        for root, _, files in os.walk(corpus):
            for fn in files:
                if fn.endswith(".tshark.txt"):
                    caps.append(os.path.relpath(os.path.join(root, fn[:-len(".tshark.txt")]), corpus))
        caps.sort()
    fails = []
    agree = 0
    for rel in caps:
        diffs = compare_capture(natlens, corpus, rel)
        table = EXPECTED_DIFFERENCES.get(rel, {})
        unexplained, explained = [], []
        for key, msg in diffs:
            reason = table.get("*") or table.get(key)
            if reason is None and key.endswith(" count"):
                # a count difference is explained when every conversation
                # difference of that protocol is
                proto = key.split()[0]
                per = [k for k, _ in diffs if k.startswith(proto + " ") and not k.endswith(" count")]
                if per and all(k in table for k in per):
                    reason = "follows from the conversations below"
            (explained if reason else unexplained).append((key, msg, reason))
        seen = {k for k, _ in diffs}
        stale = [k for k in table if k != "*" and k not in seen]
        if table.get("*") and not diffs:
            stale = ["*"]
        if not diffs and not table:
            agree += 1
            print("ok               %s" % rel)
            continue
        status = "expected-diff" if not unexplained and not stale else "DIFF"
        print("%-16s %s" % (status, rel))
        for key, msg, reason in explained:
            print("                   %s: %s\n                     reason: %s" % (key, msg, reason))
        for key, msg, _ in unexplained:
            print("                   UNEXPECTED %s: %s" % (key, msg))
        for key in stale:
            print("                   UNEXPECTED-MATCH %s (listed: %s)" % (key, table[key]))
        if status == "DIFF":
            fails.append(rel)
    print("captures: %d, agreeing: %d, with listed differences: %d" % (
        len(caps), agree, len(caps) - agree - len(fails)))
    if fails:
        print("FAIL: %d captures: %s" % (len(fails), " ".join(fails)))
        return 1
    print("PASS")
    return 0


if __name__ == "__main__":
    sys.exit(main())
