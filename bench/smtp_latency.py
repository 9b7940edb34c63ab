#!/usr/bin/env python3
"""bench/smtp_latency.py — SMTP transaction time at light load, one transaction at a time.

One session (EHLO once), then COUNT transactions, each timed from the moment MAIL FROM is
sent to the 250 that follows the end of DATA (so it includes the server's durable commit);
no pipelining. With --pace MS, transaction i starts i * MS milliseconds after the first (at
once when the ones before it ran late): a fixed arrival rate, so the server has time between
transactions for the work they leave behind, instead of taking the next one at once.
A reply other than the expected code stops the run with an error. Prints
"p50_ms p99_ms mean_ms count" on one line.

Usage: smtp_latency.py HOST PORT [--count N] [--size OCTETS] [--pace MS] [--from A] [--to B]
                       [--warmup N]
"""
import argparse
import socket
import sys
import time

from smtp_reply import expect, read_reply


def percentile(sorted_values, p):
    # nearest rank
    k = max(0, min(len(sorted_values) - 1, int(round(p / 100.0 * len(sorted_values) + 0.5)) - 1))
    return sorted_values[k]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("host")
    ap.add_argument("port", type=int)
    ap.add_argument("--count", type=int, default=300)
    ap.add_argument("--warmup", type=int, default=10)
    ap.add_argument("--size", type=int, default=5120)
    ap.add_argument("--pace", type=float, default=0.0)
    ap.add_argument("--from", dest="sender", default="citizen@example.org")
    ap.add_argument("--to", default="etat-civil@mairie-exemple.fr")
    a = ap.parse_args()

    line = b"X" * 70 + b"\r\n"
    body = b"".join(line for _ in range(max(1, a.size // len(line))))
    s = socket.create_connection((a.host, a.port), timeout=60)
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    f = s.makefile("rb")
    expect(f, 220)
    s.sendall(b"EHLO latency.example.org\r\n")
    expect(f, 250)
    times = []
    start = time.perf_counter()
    for i in range(a.warmup + a.count):
        if a.pace > 0:
            wait = start + i * a.pace / 1000.0 - time.perf_counter()
            if wait > 0:
                time.sleep(wait)
        msg = (
            f"From: <{a.sender}>\r\nTo: <{a.to}>\r\nSubject: latency {i}\r\n"
            f"Message-ID: <latency-{i}-{time.time_ns()}@example.org>\r\n\r\n"
        ).encode() + body + b".\r\n"
        t0 = time.perf_counter()
        s.sendall(f"MAIL FROM:<{a.sender}>\r\n".encode())
        expect(f, 250)
        s.sendall(f"RCPT TO:<{a.to}>\r\n".encode())
        expect(f, 250)
        s.sendall(b"DATA\r\n")
        expect(f, 354)
        s.sendall(msg)
        expect(f, 250)
        if i >= a.warmup:
            times.append((time.perf_counter() - t0) * 1000.0)
    s.sendall(b"QUIT\r\n")
    try:
        read_reply(f)
    except RuntimeError:
        pass
    s.close()
    times.sort()
    print(f"{percentile(times, 50):.2f} {percentile(times, 99):.2f} "
          f"{sum(times) / len(times):.2f} {len(times)}")


if __name__ == "__main__":
    try:
        main()
    except (OSError, RuntimeError) as e:
        print(f"smtp_latency: {e}", file=sys.stderr)
        sys.exit(1)
