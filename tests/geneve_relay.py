#!/usr/bin/env python3
"""geneve_relay.py TAP LOCAL_IP REMOTE_IP VNI SECONDS

A user-space Geneve endpoint (RFC 8926) for kernels without the geneve
driver: frames read from the TAP device TAP (made beforehand with
`ip tuntap add dev TAP mode tap`) go to REMOTE_IP:6081, Geneve datagrams
arriving on LOCAL_IP:6081 with VNI go back into the TAP. Written as Linux's
geneve driver writes them: version 0, no options, protocol type 0x6558
(Ethernet), the VNI, a UDP source port chosen per inner flow (a hash of its
addresses and ports into 32768-60999, the local port range, as
udp_flow_src_port does) and no UDP checksum (SO_NO_CHECK, IPv4).

Bounded: runs SECONDS at most, keeps at most 64 source sockets.
"""
import fcntl
import os
import select
import socket
import struct
import sys
import time
import zlib

TUNSETIFF = 0x400454CA
IFF_TAP, IFF_NO_PI = 0x0002, 0x1000
SO_NO_CHECK = 11
PORT = 6081
MAX_SOCKS = 64


def flow_key(frame):
    """Inner addresses and ports (IPv4 TCP/UDP), or the MACs for the rest."""
    if len(frame) >= 34 and frame[12:14] == b"\x08\x00":
        ihl = (frame[14] & 0x0f) * 4
        key = frame[26:34] + frame[23:24]
        if frame[23] in (6, 17) and len(frame) >= 14 + ihl + 4:
            key += frame[14 + ihl:14 + ihl + 4]
        return key
    return frame[0:12]


def main():
    tap, local, remote, vni, seconds = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4]), float(sys.argv[5])
    fd = os.open("/dev/net/tun", os.O_RDWR)
    fcntl.ioctl(fd, TUNSETIFF, struct.pack("16sH", tap.encode(), IFF_TAP | IFF_NO_PI))
    rx = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    rx.bind((local, PORT))
    socks = {}
    hdr = struct.pack("!BBHI", 0, 0, 0x6558, vni << 8)
    print("geneve relay on %s: %s -> %s:%d vni %d" % (tap, local, remote, PORT, vni), flush=True)
    end = time.time() + seconds
    while time.time() < end:
        r, _, _ = select.select([fd, rx], [], [], 0.2)
        if fd in r:
            frame = os.read(fd, 65535)
            sport = 32768 + zlib.crc32(flow_key(frame)) % (61000 - 32768)
            s = socks.get(sport)
            if s is None:
                if len(socks) >= MAX_SOCKS:
                    s = next(iter(socks.values()))
                else:
                    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
                    s.setsockopt(socket.SOL_SOCKET, SO_NO_CHECK, 1)
                    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
                    s.bind((local, sport))
                    socks[sport] = s
            s.sendto(hdr + frame, (remote, PORT))
        if rx in r:
            data = rx.recv(65535)
            if len(data) < 8 or data[0] >> 6 != 0:
                continue
            optlen = (data[0] & 0x3f) * 4
            ptype, dvni = struct.unpack("!HI", data[2:8])
            if ptype != 0x6558 or dvni >> 8 != vni or len(data) < 8 + optlen + 14:
                continue
            os.write(fd, data[8 + optlen:])


if __name__ == "__main__":
    main()
