# SPDX-License-Identifier: GPL-2.0
"""A hostile federation peer for the round tests: a TLS connection with
a fleet node's certificate and the frame layer written by hand, so that a
test can send what mcaid never would (runtime/fed/proto.h's frames).
Imported by the Python the tests write (PYTHONPATH=tests/fed)."""
import socket
import ssl
import struct

MAGIC = 0x4641434d


def connector(pki, port):
    """A function opening a new TLS connection to the aggregator as node1."""
    def conn():
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        ctx.load_cert_chain(f"{pki}/node1.crt", f"{pki}/node1.key")
        ctx.load_verify_locations(f"{pki}/ca.crt")
        return ctx.wrap_socket(socket.create_connection(("127.0.0.1", port)),
                               server_hostname="localhost")
    return conn


def frame(t, p):
    return struct.pack("<IHHII", MAGIC, 1, t, len(p), 0) + p


def s16(b):
    return struct.pack("<H", len(b)) + b


def reply(s):
    """(type, payload) of the next frame, or None at EOF."""
    h = b""
    try:
        while len(h) < 16:
            c = s.recv(16 - len(h))
            if not c:
                return None
            h += c
        _, _, t, n, _ = struct.unpack("<IHHII", h)
        p = b""
        while len(p) < n:
            c = s.recv(n - len(p))
            if not c:
                return None
            p += c
        return t, p
    except (ssl.SSLError, ConnectionError):
        return None
