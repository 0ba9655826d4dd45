#!/usr/bin/env python3
"""Raw-socket clients for tests/e2e/test_api.sh: things curl cannot do.

  api_client.py concurrent SOCK N      N connections open at once, then a GET /
                                       on each; prints how many got 200 Running
  api_client.py stall SOCK SECONDS     sends half a request and waits; prints
                                       "closed after S" when the server closes
                                       the connection, or "open" at the end
  api_client.py pipeline SOCK          three requests in one write on one
                                       connection; prints the three status codes
  api_client.py oversize SOCK          a 70000-byte body without Expect; prints
                                       the status line and whether the server
                                       then closed the connection
  api_client.py garbage SOCK           a request line that is not HTTP; prints
                                       the status code
"""
import re
import socket
import sys
import time


def connect(path):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(20)
    s.connect(path)
    return s


def read_until_closed(s):
    data = b""
    while True:
        try:
            d = s.recv(65536)
        except (ConnectionResetError, socket.timeout):
            break
        if not d:
            break
        data += d
    return data


def statuses(data):
    return [m.decode() for m in re.findall(rb"HTTP/1\.1 (\d{3}) ", data)]


def concurrent(path, n):
    socks = [connect(path) for _ in range(n)]
    for s in socks:
        s.sendall(b"GET / HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
    ok = 0
    for s in socks:
        data = read_until_closed(s)
        if data.startswith(b"HTTP/1.1 200") and b'"state":"Running"' in data:
            ok += 1
        s.close()
    print(ok)


def stall(path, seconds):
    s = connect(path)
    s.sendall(b"PUT /machine-config HTTP/1.1\r\nHost: localhost\r\n"
              b"Content-Length: 40\r\n\r\n{\"vcpu")
    t0 = time.time()
    s.settimeout(seconds)
    try:
        d = s.recv(4096)
        print("closed after %d" % round(time.time() - t0) if not d else "answered")
    except socket.timeout:
        print("open")
    except ConnectionResetError:
        print("closed after %d" % round(time.time() - t0))


def pipeline(path):
    s = connect(path)
    s.sendall(b"GET / HTTP/1.1\r\nHost: localhost\r\n\r\n"
              b"GET /machine-config HTTP/1.1\r\nHost: localhost\r\n\r\n"
              b"PUT /vm HTTP/1.1\r\nHost: localhost\r\nContent-Length: 2\r\n"
              b"Connection: close\r\n\r\n{]")
    print(" ".join(statuses(read_until_closed(s))))


def oversize(path):
    s = connect(path)
    body = b"{" + b" " * 69998 + b"}"
    head = b"PUT /boot-source HTTP/1.1\r\nHost: localhost\r\nContent-Length: %d\r\n\r\n" % len(body)
    s.sendall(head + body[:1000])
    try:
        s.sendall(body[1000:])
    except (BrokenPipeError, ConnectionResetError):
        pass
    # The answer, then the end of the stream: "closed" only when the server
    # ends the connection (EOF or a reset), "open" when it keeps it idle.
    s.settimeout(5)
    data, closed = b"", False
    while True:
        try:
            d = s.recv(65536)
        except ConnectionResetError:
            closed = True
            break
        except socket.timeout:
            break
        if not d:
            closed = True
            break
        data += d
    print(data.split(b"\r\n")[0].decode(), "closed" if closed else "open")


def garbage(path):
    s = connect(path)
    s.sendall(b"\x16\x03\x01 hello there\r\n\r\n")
    print(" ".join(statuses(read_until_closed(s))))


def main():
    cmd, path = sys.argv[1], sys.argv[2]
    if cmd == "concurrent":
        concurrent(path, int(sys.argv[3]))
    elif cmd == "stall":
        stall(path, float(sys.argv[3]))
    elif cmd == "pipeline":
        pipeline(path)
    elif cmd == "oversize":
        oversize(path)
    elif cmd == "garbage":
        garbage(path)
    else:
        sys.exit("unknown command " + cmd)


if __name__ == "__main__":
    main()
