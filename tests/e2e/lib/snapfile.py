#!/usr/bin/env python3
"""Edits a popek snapshot state file for the damage tests (test_snapshot.sh).

    snapfile.py FILE version N          the header's version, its checksum redone
    snapfile.py FILE drop TYPE INDEX    removes a section, the header redone
    snapfile.py FILE poke TYPE INDEX OFF BYTE
                                        sets one payload byte, the section's
                                        checksum redone (a well-formed file
                                        holding a value popek must refuse)
    snapfile.py FILE poke32 TYPE INDEX OFF VALUE
                                        the same for a little-endian u32
    snapfile.py FILE flip TYPE INDEX OFF
                                        inverts one payload byte, the
                                        checksum left as it was
    snapfile.py FILE find TYPE INDEX    prints the payload's length

The container (src/vmm/snapshot_file.h): a 32-byte header (magic, u32
version, u32 count, u64 file length, u32 CRC-32 of the first 24 bytes, u32
0), then sections: u32 type, u32 index, u64 length, u32 CRC-32 of the
payload, u32 0, the payload padded to 8 bytes."""
import struct
import sys
import zlib


def parse(data):
    count = struct.unpack_from("<I", data, 12)[0]
    off, out = 32, []
    for _ in range(count):
        typ, idx, ln, _crc, _z = struct.unpack_from("<IIQII", data, off)
        out.append([typ, idx, bytearray(data[off + 24:off + 24 + ln])])
        off += 24 + ((ln + 7) & ~7)
    return out


def build(version, sections, stale=None):
    body = b""
    for typ, idx, payload in sections:
        crc = zlib.crc32(payload)
        if stale is not None and (typ, idx) == stale[0]:
            crc = stale[1]
        pad = (-len(payload)) % 8
        body += struct.pack("<IIQII", typ, idx, len(payload), crc, 0)
        body += bytes(payload) + b"\0" * pad
    head = b"POPEKSNP" + struct.pack("<IIQ", version, len(sections), 32 + len(body))
    return head + struct.pack("<II", zlib.crc32(head), 0) + body


def tag(name):
    return struct.unpack("<I", name.encode().ljust(4, b"_")[:4])[0]


def main():
    path, op = sys.argv[1], sys.argv[2]
    data = open(path, "rb").read()
    version = struct.unpack_from("<I", data, 8)[0]
    sections = parse(data)
    stale = None
    if op == "version":
        version = int(sys.argv[3])
    else:
        want = (tag(sys.argv[3]), int(sys.argv[4]))
        hits = [s for s in sections if (s[0], s[1]) == want]
        if not hits:
            sys.exit("no such section")
        if op == "find":
            print(len(hits[0][2]))
            return
        if op == "drop":
            sections.remove(hits[0])
        elif op == "flip":
            stale = (want, zlib.crc32(hits[0][2]))
            hits[0][2][int(sys.argv[5], 0)] ^= 0xFF
        elif op == "poke":
            off = int(sys.argv[5], 0)
            if off < 0:
                off += len(hits[0][2])
            hits[0][2][off] = int(sys.argv[6], 0)
        elif op == "poke32":
            struct.pack_into("<I", hits[0][2], int(sys.argv[5], 0), int(sys.argv[6], 0))
    open(path, "wb").write(build(version, sections, stale))


main()
