#!/usr/bin/env python3
"""Listens on a Unix stream socket and records its connections in OUT, one
line when one is accepted ("accept N") and one when it ends ("closed N HEX",
HEX being every byte it brought). Usage: unix_recorder.py PATH OUT; PATH
exists once it listens. Runs until SIGTERM or until its parent is gone."""
import os
import select
import signal
import socket
import sys


def main():
    path, out = sys.argv[1], sys.argv[2]
    parent = os.getppid()
    srv = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    srv.bind(path)
    srv.listen(16)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    conns = {}  # socket -> [number, bytes so far]
    count = 0
    with open(out, "w", buffering=1) as f:
        while os.getppid() == parent:
            ready, _, _ = select.select([srv] + list(conns), [], [], 1.0)
            for s in ready:
                if s is srv:
                    c, _ = srv.accept()
                    count += 1
                    conns[c] = [count, bytearray()]
                    f.write("accept %d\n" % count)
                    continue
                try:
                    b = s.recv(65536)
                except OSError:
                    b = b""
                if b:
                    conns[s][1].extend(b)
                    continue
                n, data = conns.pop(s)
                s.close()
                f.write("closed %d %s\n" % (n, data.hex()))


main()
