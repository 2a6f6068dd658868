#!/usr/bin/python3
"""Bounded traffic endpoints for the natlens capture lab (standard library only).

Every mode ends by itself: servers after --count exchanges or --timeout seconds,
clients after one exchange or --timeout seconds. Nothing here resolves names
(addresses only), so the captures hold no DNS noise.

  peer.py tcp-server --port P [--addr A] --count N --timeout T [--resp BYTES] [--echo]
  peer.py tcp-client --dst IP --port P [--bind IP[:PORT]] [--req BYTES] [--timeout T]
                     [--chunks N --interval S]     (long-lived: N small messages, S apart)
  peer.py udp-server --port P --count N --timeout T
  peer.py udp-client --dst IP --port P [--bind IP[:PORT]] [--count N] [--timeout T]
  peer.py ping       --dst IP [--count N] [--interval S] [--timeout T] [--ident ID]

Clients print one line "RESULT <mode> <local ip:port> ok|timeout|refused|reset ..."
so lab.sh can log what happened.
"""
import argparse
import os
import select
import socket
import struct
import sys
import threading
import time


def parse_bind(s):
    if not s:
        return None
    if ":" in s:
        ip, port = s.rsplit(":", 1)
        return (ip, int(port))
    return (s, 0)


def http_body(n):
    # Printable, position-dependent payload so segments differ.
    pat = b"natlens-lab-payload-0123456789abcdefghijklmnopqrstuvwxyz\n"
    return (pat * (n // len(pat) + 1))[:n]


def tcp_server(a):
    ls = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    ls.bind((a.addr, a.port))
    ls.listen(64)
    deadline = time.time() + a.timeout
    threads = []

    def serve(c):
        c.settimeout(max(0.5, deadline - time.time()))
        try:
            if a.echo:
                # Echo every message until the peer closes (long-lived flows).
                while True:
                    d = c.recv(4096)
                    if not d:
                        break
                    c.sendall(d)
            else:
                buf = b""
                while b"\r\n\r\n" not in buf:
                    d = c.recv(4096)
                    if not d:
                        break
                    buf += d
                body = http_body(a.resp)
                c.sendall(b"HTTP/1.0 200 OK\r\nContent-Length: %d\r\n\r\n" % len(body) + body)
        except OSError:
            pass
        finally:
            c.close()

    served = 0
    while served < a.count:
        left = deadline - time.time()
        if left <= 0:
            break
        r, _, _ = select.select([ls], [], [], left)
        if not r:
            break
        c, _ = ls.accept()
        t = threading.Thread(target=serve, args=(c,), daemon=True)
        t.start()
        threads.append(t)
        served += 1
    for t in threads:
        t.join(max(0.1, deadline - time.time()))
    ls.close()


def tcp_client(a):
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    b = parse_bind(a.bind)
    if b:
        s.bind(b)
    s.settimeout(a.timeout)
    local = "?"
    try:
        s.connect((a.dst, a.port))
        local = "%s:%d" % s.getsockname()
        got = 0
        if a.chunks:
            for i in range(a.chunks):
                msg = b"tick %03d from natlens lab\n" % i
                s.sendall(msg)
                need = len(msg)
                while need > 0:
                    d = s.recv(need)
                    if not d:
                        raise ConnectionResetError
                    need -= len(d)
                    got += len(d)
                if i + 1 < a.chunks:
                    time.sleep(a.interval)
            s.shutdown(socket.SHUT_WR)
            s.recv(1)
        else:
            req = b"GET /lab HTTP/1.0\r\nX-Pad: " + http_body(max(0, a.req)).replace(b"\n", b".") + b"\r\n\r\n"
            s.sendall(req)
            while True:
                d = s.recv(65536)
                if not d:
                    break
                got += len(d)
        print("RESULT tcp-client %s ok %d bytes" % (local, got))
    except socket.timeout:
        try:
            local = "%s:%d" % s.getsockname()
        except OSError:
            pass
        print("RESULT tcp-client %s timeout" % local)
    except ConnectionRefusedError:
        print("RESULT tcp-client %s refused" % local)
    except (ConnectionResetError, BrokenPipeError):
        print("RESULT tcp-client %s reset" % local)
    finally:
        s.close()


def udp_server(a):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind((a.addr, a.port))
    deadline = time.time() + a.timeout
    n = 0
    while n < a.count:
        left = deadline - time.time()
        if left <= 0:
            break
        r, _, _ = select.select([s], [], [], left)
        if not r:
            break
        d, peer = s.recvfrom(2048)
        s.sendto(b"re:" + d, peer)
        n += 1
    s.close()


def udp_client(a):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    b = parse_bind(a.bind)
    if b:
        s.bind(b)
    s.settimeout(a.timeout)
    ok = 0
    s.connect((a.dst, a.port))
    local = "%s:%d" % s.getsockname()
    for i in range(a.count):
        s.send(b"natlens lab udp query %d" % i)
        try:
            s.recv(2048)
            ok += 1
        except (socket.timeout, ConnectionRefusedError):
            pass
        time.sleep(0.05)
    print("RESULT udp-client %s %s %d/%d" % (local, "ok" if ok == a.count else "timeout", ok, a.count))
    s.close()


def csum(b):
    if len(b) % 2:
        b += b"\0"
    s = sum(struct.unpack("!%dH" % (len(b) // 2), b))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return ~s & 0xFFFF


def ping(a):
    # Raw ICMP echo (iputils-ping is not always installed).
    s = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP)
    ident = a.ident if a.ident else (os.getpid() & 0xFFFF)
    ok = 0
    for seq in range(1, a.count + 1):
        payload = b"natlens-lab-ping" + struct.pack("!d", time.time())
        hdr = struct.pack("!BBHHH", 8, 0, 0, ident, seq)
        pkt = struct.pack("!BBHHH", 8, 0, csum(hdr + payload), ident, seq) + payload
        s.sendto(pkt, (a.dst, 0))
        end = time.time() + a.timeout
        while time.time() < end:
            r, _, _ = select.select([s], [], [], max(0, end - time.time()))
            if not r:
                break
            d, _ = s.recvfrom(2048)
            ihl = (d[0] & 0x0F) * 4
            t, _, _, rid, rseq = struct.unpack("!BBHHH", d[ihl:ihl + 8])
            if t == 0 and rid == ident and rseq == seq:
                ok += 1
                break
        if seq < a.count:
            time.sleep(a.interval)
    print("RESULT ping %s id=%d %d/%d" % (a.dst, ident, ok, a.count))
    s.close()


def main():
    p = argparse.ArgumentParser()
    p.add_argument("mode")
    p.add_argument("--dst")
    p.add_argument("--addr", default="0.0.0.0")
    p.add_argument("--port", type=int, default=0)
    p.add_argument("--bind")
    p.add_argument("--count", type=int, default=1)
    p.add_argument("--timeout", type=float, default=5.0)
    p.add_argument("--resp", type=int, default=600)
    p.add_argument("--req", type=int, default=40)
    p.add_argument("--echo", action="store_true")
    p.add_argument("--chunks", type=int, default=0)
    p.add_argument("--interval", type=float, default=0.2)
    p.add_argument("--ident", type=int, default=0)
    a = p.parse_args()
    fn = {"tcp-server": tcp_server, "tcp-client": tcp_client, "udp-server": udp_server,
          "udp-client": udp_client, "ping": ping}.get(a.mode)
    if not fn:
        p.error("unknown mode " + a.mode)
    fn(a)
    sys.stdout.flush()


if __name__ == "__main__":
    main()
