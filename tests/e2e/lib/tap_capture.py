#!/usr/bin/env python3
"""Records every frame a tap interface receives from its user, i.e. what
popek wrote for the guest: one line per frame, "ETHERTYPE LENGTH HEX" (hex
ethertype, "-" for a runt). Frames the host sends to the guest are left out.
Usage: tap_capture.py IFNAME OUT. OUT.ready appears once the socket is bound;
runs until SIGTERM or until its parent is gone. Linux packet(7) socket."""
import os
import signal
import socket
import sys

ETH_P_ALL = 3
PACKET_OUTGOING = 4


def main():
    ifname, out = sys.argv[1], sys.argv[2]
    parent = os.getppid()
    s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(ETH_P_ALL))
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 22)
    s.bind((ifname, ETH_P_ALL))
    s.settimeout(1.0)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    with open(out, "w", buffering=1) as f:
        open(out + ".ready", "w").close()
        while os.getppid() == parent:
            try:
                data, addr = s.recvfrom(1 << 18)
            except socket.timeout:
                continue
            if addr[2] == PACKET_OUTGOING:
                continue
            etype = data[12:14].hex() if len(data) >= 14 else "-"
            f.write("%s %d %s\n" % (etype, len(data), data.hex()))


main()
