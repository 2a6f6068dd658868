#!/usr/bin/python3
"""Rewrite TCP sequence numbers in one capture the way an ISN-randomising firewall would.

Netfilter cannot randomise ISNs, so the lab rewrites the server-side capture
consistently per TCP connection: the client->server sequence numbers get +K,
and so do the server's ACK numbers and SACK edges (the server acknowledges
what it received). TCP checksums are recomputed. K is per connection,
derived from the connection's addresses (crc32) so reruns give the same K.

usage: isn_rewrite.py IN.pcap OUT.pcap OFFSETS.json [SALT]
Classic pcap (µs or ns), Ethernet or Linux cooked (SLL/SLL2) link types, IPv4.
OFFSETS.json: [{"capture","proto","client_ip","client_port","server_ip","server_port","k"}]
"""
import json
import socket
import struct
import sys
import zlib

M32 = 0xFFFFFFFF


def csum16(b):
    if len(b) % 2:
        b += b"\0"
    s = sum(struct.unpack("!%dH" % (len(b) // 2), b))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return s


def l3_offset(linktype, pkt):
    """Offset of the IPv4 header, or None."""
    if linktype == 1:  # Ethernet, skip VLAN tags
        off, et = 14, struct.unpack("!H", pkt[12:14])[0] if len(pkt) >= 14 else 0
        while et in (0x8100, 0x88A8) and len(pkt) >= off + 4:
            et = struct.unpack("!H", pkt[off + 2:off + 4])[0]
            off += 4
        return off if et == 0x0800 else None
    if linktype == 113 and len(pkt) >= 16:  # SLL
        return 16 if struct.unpack("!H", pkt[14:16])[0] == 0x0800 else None
    if linktype == 276 and len(pkt) >= 20:  # SLL2
        return 20 if struct.unpack("!H", pkt[0:2])[0] == 0x0800 else None
    if linktype in (101, 228):  # raw IP / IPv4
        return 0
    return None


def main():
    if len(sys.argv) < 4:
        sys.exit(__doc__)
    src, dst, offs_out = sys.argv[1:4]
    salt = sys.argv[4] if len(sys.argv) > 4 else "natlens-lab"
    data = open(src, "rb").read()
    magic = data[:4]
    if magic in (b"\xd4\xc3\xb2\xa1", b"\x4d\x3c\xb2\xa1"):
        e = "<"
    elif magic in (b"\xa1\xb2\xc3\xd4", b"\xa1\xb2\x3c\x4d"):
        e = ">"
    else:
        sys.exit("isn_rewrite: %s: not a classic pcap file" % src)
    linktype = struct.unpack(e + "I", data[20:24])[0] & 0x0FFFFFFF
    out = bytearray(data[:24])
    flows = {}   # (cip, cport, sip, sport) -> K
    order = []
    pos = 24
    while pos + 16 <= len(data):
        hdr = data[pos:pos + 16]
        incl = struct.unpack(e + "I", hdr[8:12])[0]
        pkt = bytearray(data[pos + 16:pos + 16 + incl])
        pos += 16 + incl
        off = l3_offset(linktype, pkt)
        if off is not None and len(pkt) >= off + 20 and pkt[off] >> 4 == 4 and pkt[off + 9] == 6:
            ihl = (pkt[off] & 0x0F) * 4
            tot = struct.unpack("!H", pkt[off + 2:off + 4])[0]
            t = off + ihl
            if len(pkt) >= t + 20:
                sip = socket.inet_ntoa(bytes(pkt[off + 12:off + 16]))
                dip = socket.inet_ntoa(bytes(pkt[off + 16:off + 20]))
                sp, dp, seq, ack = struct.unpack("!HHII", pkt[t:t + 12])
                doff = (pkt[t + 12] >> 4) * 4
                flags = pkt[t + 13]
                syn, ackf = flags & 0x02, flags & 0x10
                fwd = (sip, sp, dip, dp)
                rev = (dip, dp, sip, sp)
                if fwd not in flows and rev not in flows and syn and not ackf:
                    k = zlib.crc32(("%s|%s:%d>%s:%d" % (salt, sip, sp, dip, dp)).encode()) | 0x01000000
                    flows[fwd] = k & M32
                    order.append(fwd)
                changed = False
                if fwd in flows:  # client -> server: shift our sequence numbers
                    k = flows[fwd]
                    struct.pack_into("!I", pkt, t + 4, (seq + k) & M32)
                    changed = True
                elif rev in flows:  # server -> client: shift what it acknowledges
                    k = flows[rev]
                    if ackf:
                        struct.pack_into("!I", pkt, t + 8, (ack + k) & M32)
                        changed = True
                    o = t + 20
                    end = min(t + doff, len(pkt))
                    while o < end:
                        kind = pkt[o]
                        if kind == 0:
                            break
                        if kind == 1:
                            o += 1
                            continue
                        if o + 1 >= end or pkt[o + 1] < 2:
                            break
                        ln = pkt[o + 1]
                        if kind == 5:
                            for b in range(o + 2, min(o + ln, end) - 3, 4):
                                v = struct.unpack("!I", pkt[b:b + 4])[0]
                                struct.pack_into("!I", pkt, b, (v + k) & M32)
                                changed = True
                        o += ln
                seglen = tot - ihl
                if changed and len(pkt) >= off + tot:  # recompute only if not truncated
                    struct.pack_into("!H", pkt, t + 16, 0)
                    pseudo = bytes(pkt[off + 12:off + 20]) + struct.pack("!BBH", 0, 6, seglen)
                    c = ~csum16(pseudo + bytes(pkt[t:t + seglen])) & 0xFFFF
                    struct.pack_into("!H", pkt, t + 16, c)
        out += hdr + pkt
    open(dst, "wb").write(bytes(out))
    res = [{"capture": None, "proto": "tcp", "client_ip": f[0], "client_port": f[1],
            "server_ip": f[2], "server_port": f[3], "k": flows[f]} for f in order]
    json.dump(res, open(offs_out, "w"), indent=1)


if __name__ == "__main__":
    main()
