#!/usr/bin/env python3
"""Small network helpers for packaging/image/test (standard library only).

  test-helpers.py free-ports N
      N free TCP ports on 127.0.0.1, one per line (bound and released: QEMU binds them next).
  test-helpers.py ws-echo URL CA_FILE MESSAGE
      Opens a WebSocket (wss://host:port/path) trusting CA_FILE, sends MESSAGE as a text frame
      and exits 0 when the same text comes back; otherwise prints what went wrong, exits 1.
"""
import base64
import os
import socket
import ssl
import sys
import urllib.parse


def free_ports(count):
    sockets = []
    for _ in range(count):
        s = socket.socket()
        s.bind(("127.0.0.1", 0))
        sockets.append(s)
    for s in sockets:
        print(s.getsockname()[1])
        s.close()


def read_exact(stream, n):
    data = b""
    while len(data) < n:
        chunk = stream.recv(n - len(data))
        if not chunk:
            raise ConnectionError("connection closed")
        data += chunk
    return data


def ws_echo(url, ca_file, message):
    parts = urllib.parse.urlsplit(url)
    host, port = parts.hostname, parts.port or 443
    context = ssl.create_default_context(cafile=ca_file)
    raw = socket.create_connection((host, port), timeout=10)
    stream = context.wrap_socket(raw, server_hostname=host)
    key = base64.b64encode(os.urandom(16)).decode()
    authority = host if port == 443 else f"{host}:{port}"
    stream.sendall(
        (
            f"GET {parts.path or '/'} HTTP/1.1\r\nHost: {authority}\r\nUpgrade: websocket\r\n"
            f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n"
            f"Origin: https://{authority}\r\n\r\n"
        ).encode()
    )
    head = b""
    while b"\r\n\r\n" not in head:
        head += read_exact(stream, 1)
    status = head.split(b"\r\n", 1)[0].decode(errors="replace")
    if " 101 " not in status + " ":
        sys.exit(f"ws-echo: upgrade refused: {status}")
    payload = message.encode()
    if len(payload) > 125:
        sys.exit("ws-echo: keep the message under 126 bytes")
    mask = os.urandom(4)
    masked = bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
    stream.sendall(bytes([0x81, 0x80 | len(payload)]) + mask + masked)
    first, second = read_exact(stream, 2)
    length = second & 0x7F
    if length == 126:
        length = int.from_bytes(read_exact(stream, 2), "big")
    elif length == 127:
        length = int.from_bytes(read_exact(stream, 8), "big")
    echoed = read_exact(stream, length)
    if first & 0x0F != 1 or echoed != payload:
        sys.exit(f"ws-echo: expected the text {message!r} back, got opcode {first & 0x0F}: {echoed!r}")
    stream.sendall(bytes([0x88, 0x80]) + os.urandom(4))  # close
    stream.close()


def main(argv):
    if len(argv) == 3 and argv[1] == "free-ports":
        free_ports(int(argv[2]))
    elif len(argv) == 5 and argv[1] == "ws-echo":
        try:
            ws_echo(argv[2], argv[3], argv[4])
        except (OSError, ConnectionError, ValueError) as e:
            sys.exit(f"ws-echo: {e}")
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main(sys.argv)
