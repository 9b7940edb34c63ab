#!/usr/bin/env python3
"""bench/concurrent_data.py — many large messages in flight at once.

Opens SESSIONS connections, brings each to DATA (EHLO, MAIL FROM, RCPT TO, DATA → 354), then
sends the bodies CHUNK octets at a time, one session after the other, round-robin, so every
message is half-received at the same moment (smtp-source writes each session's message whole
before it serves the next one, which tests one large message at a time). Each body is SIZE
octets of 76-column text with a header of its own; then every session's final reply is read.
Any reply other than the expected code stops the run with an error. Prints "accepted seconds"
on one line: how many messages got their 250, and the time from the first DATA octet to the
last 250.

Usage: concurrent_data.py HOST PORT [--sessions N] [--size OCTETS] [--chunk OCTETS]
                          [--from A] [--to B]
"""
import argparse
import socket
import sys
import time

from smtp_reply import expect, read_reply


class Body:
    """One message's DATA, made as it is sent (100 x 10 MB need not sit in this process)."""
    LINE = b"x" * 76 + b"\r\n"  # never a leading dot: nothing to stuff

    def __init__(self, n, size, chunk):
        self.head = ("From: <citizen@example.org>\r\nSubject: big %d\r\n"
                     "Message-ID: <big%d@example.org>\r\n\r\n" % (n, n)).encode()
        self.lines = max(0, size - len(self.head)) // len(self.LINE)
        self.per_chunk = max(1, chunk // len(self.LINE))
        self.filler = self.LINE * self.per_chunk
        self.sent_head = False
        self.done = False

    def next_chunk(self):
        if not self.sent_head:
            self.sent_head = True
            return self.head
        if self.lines > 0:
            k = min(self.lines, self.per_chunk)
            self.lines -= k
            return self.filler if k == self.per_chunk else self.LINE * k
        self.done = True
        return b".\r\n"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("host")
    ap.add_argument("port", type=int)
    ap.add_argument("--sessions", type=int, default=100)
    ap.add_argument("--size", type=int, default=10 << 20)
    ap.add_argument("--chunk", type=int, default=64 << 10)
    ap.add_argument("--from", dest="sender", default="citizen@example.org")
    ap.add_argument("--to", default="etat-civil@mairie-exemple.fr")
    a = ap.parse_args()

    conns = []
    for n in range(a.sessions):
        s = socket.create_connection((a.host, a.port), timeout=600)
        f = s.makefile("rb")
        expect(f, 220)
        s.sendall(b"EHLO bench.example.org\r\n")
        expect(f, 250)
        s.sendall(b"MAIL FROM:<%s>\r\n" % a.sender.encode())
        expect(f, 250)
        s.sendall(b"RCPT TO:<%s>\r\n" % a.to.encode())
        expect(f, 250)
        s.sendall(b"DATA\r\n")
        expect(f, 354)
        conns.append((s, f, Body(n, a.size, a.chunk)))

    t0 = time.monotonic()
    while not all(b.done for _, _, b in conns):
        for s, _, b in conns:
            if not b.done:
                s.sendall(b.next_chunk())
    accepted = 0
    for s, f, _ in conns:
        code, text = read_reply(f)
        if code != 250:
            raise RuntimeError("expected 250 after DATA, got %r" % text)
        accepted += 1
        s.sendall(b"QUIT\r\n")
    elapsed = time.monotonic() - t0
    for s, f, _ in conns:
        f.close()
        s.close()
    print("%d %.2f" % (accepted, elapsed))
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except (OSError, RuntimeError) as e:
        sys.stderr.write("concurrent_data.py: %s\n" % e)
        sys.exit(1)
