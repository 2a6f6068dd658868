#!/usr/bin/env python3
"""tunnel_seeds.py OUTDIR - seed frames for fuzz_decode: every encapsulation
natlens opens, nested ones, and hostile ones (lengths that lie, a tunnel
that contains itself past the depth bound, options running off the end).

Each file is a fuzz_decode input: byte 0 = index of DLT_EN10MB in the
target's link type table (0), byte 1 = 0 (wirelen = caplen), then an
Ethernet frame. Written with struct only, so the seeds are reviewable here.
"""
import os
import struct
import sys


def csum(b):
    if len(b) % 2:
        b += b"\0"
    s = sum(struct.unpack("!%dH" % (len(b) // 2), b))
    while s >> 16:
        s = (s & 0xffff) + (s >> 16)
    return (~s) & 0xffff


def ip4(src, dst, proto, payload, ident=1, frag=0, tot=None):
    h = struct.pack("!BBHHHBBH4s4s", 0x45, 0, tot if tot is not None else 20 + len(payload),
                    ident, frag, 64, proto, 0, bytes(src), bytes(dst))
    h = h[:10] + struct.pack("!H", csum(h)) + h[12:]
    return h + payload


def ip6(src, dst, nh, payload, plen=None):
    return struct.pack("!IHBB16s16s", 6 << 28, len(payload) if plen is None else plen, nh, 64,
                       bytes(src), bytes(dst)) + payload


def udp(sport, dport, payload, ulen=None):
    return struct.pack("!HHHH", sport, dport, 8 + len(payload) if ulen is None else ulen, 0) + payload


def tcp_syn(sport=40000, dport=80):
    return struct.pack("!HHIIBBHHH", sport, dport, 1000, 0, 5 << 4, 0x02, 8192, 0, 0)


def eth(payload, etype=0x0800):
    return b"\x02\0\0\0\0\x02\x02\0\0\0\0\x01" + struct.pack("!H", etype) + payload


def vxlan(inner, vni=42, flags=0x08):
    return struct.pack("!BBHI", flags, 0, 0, vni << 8) + inner


def geneve(inner, vni=42, pt=0x6558, opts=b"", optlen=None, ver=0):
    ol = len(opts) // 4 if optlen is None else optlen
    return struct.pack("!BBHI", (ver << 6) | ol, 0, pt, vni << 8) + opts + inner


def gwlb_opts():
    return (struct.pack("!HBB", 0x0108, 1, 2) + struct.pack("!Q", 0x1122334455667788) +
            struct.pack("!HBB", 0x0108, 2, 2) + struct.pack("!Q", 0x0a0b0c0d0e0f1011) +
            struct.pack("!HBB", 0x0108, 3, 1) + struct.pack("!I", 0xcafe))


def gtp(inner, teid=0x1234, flags=0x30, ext=b"", msg=255):
    if ext:
        flags |= 0x04
        return struct.pack("!BBHI", flags, msg, len(inner) + 4 + len(ext), teid) + \
            struct.pack("!HBB", 0, 0, 0x85) + ext + inner
    return struct.pack("!BBHI", flags, msg, len(inner), teid) + inner


def teredo(inner6, origin=True, auth=True):
    out = b""
    if auth:
        out += struct.pack("!HBB", 1, 3, 2) + b"abc" + b"xy" + b"\0" * 8 + b"\0"
    if origin:
        out += struct.pack("!HH4s", 0, 3544 ^ 0xffff, bytes(x ^ 0xff for x in (192, 0, 2, 7)))
    return out + inner6


def gre(inner, pt=0x0800, key=None):
    flags = 0x2000 if key is not None else 0
    return struct.pack("!HH", flags, pt) + (struct.pack("!I", key) if key is not None else b"") + inner


A, B = (10, 0, 0, 1), (10, 0, 0, 2)
U1, U2 = (192, 0, 2, 1), (192, 0, 2, 2)
T6A = bytes([0x20, 0x01, 0, 0] + [0] * 11 + [1])
T6B = bytes([0x20, 0x01, 0x0d, 0xb8] + [0] * 11 + [2])

inner4 = ip4(A, B, 6, tcp_syn())
inner6 = ip6(T6A, T6B, 6, tcp_syn())
seeds = {
    "vxlan": eth(ip4(U1, U2, 17, udp(40001, 4789, vxlan(eth(inner4))))),
    "vxlan-8472": eth(ip4(U1, U2, 17, udp(40001, 8472, vxlan(eth(inner4))))),
    "geneve-gwlb": eth(ip4(U1, U2, 17, udp(40002, 6081, geneve(eth(inner4), opts=gwlb_opts())))),
    "geneve-ipv4": eth(ip4(U1, U2, 17, udp(40002, 6081, geneve(inner4, pt=0x0800)))),
    "gtpu-ext": eth(ip4(U1, U2, 17, udp(2152, 2152, gtp(inner4, ext=b"\x01\x00\x00\x00")))),
    "teredo-ind": eth(ip4(U1, U2, 17, udp(3544, 40003, teredo(inner6)))),
    "teredo-relay": eth(ip4(U1, U2, 17, udp(32900, 40003, teredo(inner6, False, False)))),
    "ayiya": eth(ip4(U1, U2, 17, udp(40004, 5072, struct.pack("!BBBBI", 0x41, 0x52, 0x11, 41, 0) +
                                      b"\0" * 16 + b"\0" * 20 + inner6))),
    "4in4": eth(ip4(U1, U2, 4, inner4)),
    "6in4": eth(ip4(U1, U2, 41, inner6)),
    "4in6": eth(ip6(T6B, T6A, 4, inner4), 0x86dd),
    "gre-key": eth(ip4(U1, U2, 47, gre(inner4, key=7))),
    "gre-teb": eth(ip4(U1, U2, 47, gre(eth(inner4), pt=0x6558))),
    "gre-udp": eth(ip4(U1, U2, 17, udp(40005, 4754, gre(inner4)))),
    # hostile: lengths that lie, options past the end, nesting past the bound
    "vxlan-no-i": eth(ip4(U1, U2, 17, udp(40001, 4789, vxlan(eth(inner4), flags=0)))),
    "geneve-optlen": eth(ip4(U1, U2, 17, udp(40002, 6081, geneve(eth(inner4), optlen=63)))),
    "gtp-ext-zero": eth(ip4(U1, U2, 17, udp(2152, 2152, gtp(inner4, ext=b"\x00\x00\x00\x00")))),
    "teredo-len": eth(ip4(U1, U2, 17, udp(3544, 40003, teredo(ip6(T6A, T6B, 6, tcp_syn(), plen=999))))),
    "udp-len": eth(ip4(U1, U2, 17, udp(40001, 4789, vxlan(eth(inner4)), ulen=9000))),
    "ip-len": eth(ip4(U1, U2, 4, ip4(A, B, 6, tcp_syn(), tot=60000))),
}
nest = inner4
for i in range(6):        # VXLAN in VXLAN, deeper than any bound
    nest = ip4(U1, U2, 17, udp(4789, 4789, vxlan(eth(nest), vni=i)))
seeds["vxlan-x6"] = eth(nest)
nest = inner4
for i in range(8):        # GRE around GRE: the same tunnel inside itself
    nest = ip4(U1, U2, 47, gre(nest))
seeds["gre-x8"] = eth(nest)

os.makedirs(sys.argv[1], exist_ok=True)
for name, frame in seeds.items():
    with open(os.path.join(sys.argv[1], "tunnel-" + name), "wb") as fh:
        fh.write(b"\0\0" + frame)
print("tunnel_seeds: %d seeds" % len(seeds), file=sys.stderr)
