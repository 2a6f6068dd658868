#!/usr/bin/env python3
"""damage.py - damaged variants of real captures, for tests/t_damaged.sh.

usage: damage.py OUTDIR CAPTURE...

Writes variants of each capture into OUTDIR and prints one manifest line per
variant: "<class> <path>", where class is
  cut  - cut in the middle of a packet record after the file's headers:
         natlens must read up to the damage (exit 0) and warn with the offset
  any  - other damage: exit 0 (valid JSON) or 2 (message naming the file)
Deterministic (seeded by the file name). The record walk below only finds
where records start so that cuts and lying lengths land where intended;
natlens itself never parses files by hand (libpcap does).
"""
import os
import random
import struct
import sys


def pcap_records(b):
    """(endian, [(offset, length)]) of a classic pcap's records, or None."""
    if len(b) < 24:
        return None
    magic = b[:4]
    if magic in (b"\xd4\xc3\xb2\xa1", b"\x4d\x3c\xb2\xa1"):
        e = "<"
    elif magic in (b"\xa1\xb2\xc3\xd4", b"\xa1\xb2\x3c\x4d"):
        e = ">"
    else:
        return None
    recs, off = [], 24
    while off + 16 <= len(b):
        incl = struct.unpack_from(e + "I", b, off + 8)[0]
        if off + 16 + incl > len(b):
            break
        recs.append((off, 16 + incl))
        off += 16 + incl
    return e, recs


def pcapng_blocks(b):
    """(endian, [(offset, length, type)]) of a pcapng's blocks, or None."""
    if len(b) < 28 or b[:4] != b"\x0a\x0d\x0d\x0a":
        return None
    bom = b[8:12]
    e = "<" if bom == b"\x4d\x3c\x2b\x1a" else ">" if bom == b"\x1a\x2b\x3c\x4d" else None
    if e is None:
        return None
    blocks, off = [], 0
    while off + 12 <= len(b):
        typ, ln = struct.unpack_from(e + "II", b, off)
        if ln < 12 or off + ln > len(b):
            break
        blocks.append((off, ln, typ))
        off += ln
    return e, blocks


def main(argv):
    if len(argv) < 3:
        print(__doc__.strip().splitlines()[2], file=sys.stderr)
        return 2
    out = argv[1]
    os.makedirs(out, exist_ok=True)
    lines = []

    def put(cls, name, data):
        p = os.path.join(out, name)
        with open(p, "wb") as fh:
            fh.write(data)
        lines.append(f"{cls} {p}")

    for src in argv[2:]:
        with open(src, "rb") as fh:
            b = fh.read()
        base = os.path.basename(src).replace(".", "_")
        ext = ".pcapng" if b[:4] == b"\x0a\x0d\x0d\x0a" else ".pcap"
        rnd = random.Random(base)

        def put_var(cls, tag, data, _base=base, _ext=ext):
            put(cls, f"{_base}-{tag}{_ext}", data)

        # cuts anywhere: header, first bytes, a spread of offsets
        for k, c in enumerate(sorted({0, 4, 10, 23, 27, 40} | {rnd.randrange(1, len(b)) for _ in range(6)})):
            if c < len(b):
                put_var("any", f"cutany{k}", b[:c])

        pr = pcap_records(b)
        ng = pcapng_blocks(b)
        if pr:
            e, recs = pr
            # cuts strictly inside records (header or data), a few spread out
            picks = sorted({0, len(recs) // 3, len(recs) // 2, len(recs) - 1} if recs else set())
            for i in picks:
                off, ln = recs[i]
                put_var("cut", f"cut{i}h", b[:off + 9])              # inside the record header
                if ln > 17:
                    put_var("cut", f"cut{i}d", b[:off + 16 + (ln - 16) // 2])  # inside the data
            put_var("any", "hdronly", b[:24])
            # record lengths that lie
            for i in picks[:3]:
                off, _ = recs[i]
                for tag, v in (("huge", 0xFFFFFFF0), ("big", 0x00040001), ("snap", 0x0000FFFF + 1)):
                    d = bytearray(b)
                    struct.pack_into(e + "I", d, off + 8, v)
                    put_var("any", f"len{i}{tag}", bytes(d))
                d = bytearray(b)
                struct.pack_into(e + "I", d, off + 12, 0)               # orig_len < incl_len
                put_var("any", f"orig{i}zero", bytes(d))
                d = bytearray(b)
                struct.pack_into(e + "I", d, off + 4, 0xFFFFFFFF)       # bad usec/nsec
                put_var("any", f"ts{i}bad", bytes(d))
            # file header fields
            for tag, pos, fmt, v in (("ver", 4, "H", 9), ("snap0", 16, "I", 0),
                                     ("snaphuge", 16, "I", 0xFFFFFFFF), ("lt9999", 20, "I", 9999),
                                     ("ltraw", 20, "I", 101), ("ltsll", 20, "I", 113),
                                     ("ltsll2", 20, "I", 276), ("ltnull", 20, "I", 0),
                                     ("ltloop", 20, "I", 108), ("ltipv6", 20, "I", 229),
                                     ("lteth", 20, "I", 1)):
                d = bytearray(b)
                struct.pack_into(e + fmt, d, pos, v)
                put_var("any", f"hdr{tag}", bytes(d))
            d = bytearray(b)
            d[0:4] = b"\xde\xad\xbe\xef"
            put_var("any", "magic", bytes(d))
        elif ng:
            e, blocks = ng
            data_blocks = [x for x in blocks if x[2] in (6, 3, 2)]
            for j, (off, ln, _) in enumerate(data_blocks[:1] + data_blocks[len(data_blocks) // 2:][:1] + data_blocks[-1:]):
                put_var("cut", f"cutb{j}h", b[:off + 6])
                put_var("cut", f"cutb{j}d", b[:off + ln // 2])
            # lying block lengths: SHB, first IDB, data blocks
            targets = blocks[:2] + data_blocks[:2]
            for j, (off, ln, _) in enumerate(targets):
                for tag, v in (("huge", 0xFFFFFFF0), ("small", 8), ("odd", ln + 1), ("long", ln + 64)):
                    d = bytearray(b)
                    struct.pack_into(e + "I", d, off + 4, v)
                    put_var("any", f"blk{j}{tag}", bytes(d))
                d = bytearray(b)
                struct.pack_into(e + "I", d, off + ln - 4, ln + 4)   # trailing length disagrees
                put_var("any", f"blk{j}trail", bytes(d))
            for j, (off, ln, typ) in enumerate(data_blocks[:2]):
                if typ == 6 and ln >= 32:
                    for tag, v in (("caphuge", 0xFFFFFF00), ("capover", ln)):
                        d = bytearray(b)
                        struct.pack_into(e + "I", d, off + 20, v)     # EPB captured length
                        put_var("any", f"epb{j}{tag}", bytes(d))
                    d = bytearray(b)
                    struct.pack_into(e + "I", d, off + 8, 77)        # interface id that does not exist
                    put_var("any", f"epb{j}ifid", bytes(d))
            d = bytearray(b)
            d[8:12] = b"\x01\x02\x03\x04"                             # byte-order magic
            put_var("any", "bom", bytes(d))
        # flipped bytes, 1 to 32 of them, anywhere after the first 4 bytes
        for k, nflip in enumerate((1, 1, 2, 4, 8, 16, 32, 3)):
            d = bytearray(b)
            for _ in range(nflip):
                if len(d) > 4:
                    i = rnd.randrange(4, len(d))
                    d[i] ^= 1 << rnd.randrange(8)
            put_var("any", f"flip{k}", bytes(d))
        # whole random bytes at packet data (decoders see garbage)
        d = bytearray(b)
        for i in range(min(len(d), 64), len(d), 7):
            d[i] = rnd.randrange(256)
        put_var("any", "noise", bytes(d))

    # not captures at all
    put("any", "empty.pcap", b"")
    put("any", "text.pcap", b"this is not a capture\n" * 20)
    put("any", "binary.pcap", bytes(random.Random(1).randrange(256) for _ in range(3000)))
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
