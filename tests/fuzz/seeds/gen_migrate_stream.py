#!/usr/bin/env python3
"""Seeds for tests/fuzz/fuzz_migrate_stream.c, cut from a real migration.

Runs the snapshot guest program (tests/guest/build/snapshot.elf) on the soft
engine with the machine the fuzz target builds (16 MiB, 1 vCPU, Intel, the
test device, virtio-rng), migrates it to a fake destination here that
records the stream and answers DONE, then writes what follows the greeting
and the HELLO frame (src/vmm/migrate_wire.h), trimmed to a few pages:
  running     a few short PAGES frames, then the STATE frame
  paused      the same with MIG_START_PAUSED in the STATE's flags
  state_only  the STATE frame alone
  last_page   the last page of RAM, then the STATE frame
  pages_only  PAGES frames and no STATE (the source went away)
Usage: gen_migrate_stream.py [POPEK [PROGRAM [OUTDIR]]] (defaults:
build/popek, tests/guest/build/snapshot.elf, tests/fuzz/seeds/fuzz_migrate_stream).
"""
import os
import socket
import struct
import subprocess
import sys
import tempfile
import threading
import time

MIG_HELLO, MIG_PAGES, MIG_STATE, MIG_DONE = 1, 2, 3, 4
MIG_START_PAUSED = 1
RAM = 16 << 20
FRAMES, PAGES_PER_FRAME = 3, 2  # what the seeds keep of the pages


def recv_exact(c, n):
    buf = b""
    while len(buf) < n:
        chunk = c.recv(n - len(buf))
        if not chunk:
            raise EOFError("the source went away")
        buf += chunk
    return buf


def record(lsock, frames, errors):
    """The fake destination: every frame after the greeting, then DONE 0."""
    try:
        c, _ = lsock.accept()
        recv_exact(c, 16)  # greeting
        while True:
            typ, _, n = struct.unpack("<IIQ", recv_exact(c, 16))
            frames.append((typ, recv_exact(c, n)))
            if typ == MIG_STATE:
                break
        c.sendall(struct.pack("<IIQI", MIG_DONE, 0, 4, 0))
        c.close()
    except Exception as e:  # reported by the main thread
        errors.append(e)


def frame(typ, payload):
    return struct.pack("<IIQ", typ, 0, len(payload)) + payload


def trim_pages(payload, keep):
    first, count = struct.unpack_from("<QQ", payload)
    n = min(count, keep)
    return struct.pack("<QQ", first, n) + payload[16:16 + n * 4096]


def main():
    popek = sys.argv[1] if len(sys.argv) > 1 else "build/popek"
    prog = sys.argv[2] if len(sys.argv) > 2 else "tests/guest/build/snapshot.elf"
    out = sys.argv[3] if len(sys.argv) > 3 else "tests/fuzz/seeds/fuzz_migrate_stream"
    tmp = tempfile.mkdtemp()
    api, mig = os.path.join(tmp, "api.sock"), os.path.join(tmp, "mig.sock")
    lsock = socket.socket(socket.AF_UNIX)
    lsock.bind(mig)
    lsock.listen(1)
    frames, errors = [], []
    rec = threading.Thread(target=record, args=(lsock, frames, errors))
    rec.start()
    src = subprocess.Popen(
        [popek, "run", "--engine", "soft", "--test-device", "--mem", "16", "--cpus", "1",
         "--cpu-vendor", "intel", "--kernel", prog, "--cmdline", "rounds=3000",
         "--api-sock", api], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    try:
        for line in src.stdout:
            if "snapshot window" in line:
                break
        else:
            sys.exit("the guest program never reached its window")
        ctl = subprocess.run([popek, "ctl", "--sock", api, "migrate", "--to", "unix:" + mig],
                             capture_output=True, text=True, timeout=300)
        rec.join(60)
        if ctl.returncode or errors or not frames or frames[-1][0] != MIG_STATE:
            sys.exit("migration not recorded: %s %s" % (ctl.stderr.strip(), errors))
    finally:
        src.kill()
        src.wait()
    if frames[0][0] != MIG_HELLO:
        sys.exit("the stream does not start with HELLO")
    pages = [p for t, p in frames if t == MIG_PAGES]
    state = frames[-1][1]
    some = b"".join(frame(MIG_PAGES, trim_pages(p, PAGES_PER_FRAME)) for p in pages[:FRAMES])
    paused = struct.pack("<I", struct.unpack_from("<I", state)[0] | MIG_START_PAUSED) + state[4:]
    last = struct.pack("<QQ", RAM // 4096 - 1, 1) + bytes(range(256)) * 16
    seeds = {
        "running": some + frame(MIG_STATE, state),
        "paused": some + frame(MIG_STATE, paused),
        "state_only": frame(MIG_STATE, state),
        "last_page": frame(MIG_PAGES, last) + frame(MIG_STATE, state),
        "pages_only": some,
    }
    os.makedirs(out, exist_ok=True)
    for name, data in seeds.items():
        with open(os.path.join(out, name), "wb") as f:
            f.write(data)
    print("recorded %d frames (%d PAGES, %d pages; STATE %d bytes); seeds in %s" %
          (len(frames), len(pages), sum(struct.unpack_from("<Q", p, 8)[0] for p in pages),
           len(state), out))


if __name__ == "__main__":
    main()
