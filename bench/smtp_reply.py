"""bench/smtp_reply.py — reading SMTP replies for the bench clients (smtp_latency.py,
concurrent_data.py): read_reply(f) → (code, raw text of every line); expect(f, code) raises
RuntimeError on any other code or a closed connection."""


def read_reply(f):
    lines = []
    while True:
        line = f.readline()
        if not line:
            raise RuntimeError("connection closed")
        lines.append(line)
        if len(line) < 4 or line[3:4] != b"-":
            return int(line[:3]), b"".join(lines)


def expect(f, code):
    got, text = read_reply(f)
    if got != code:
        raise RuntimeError("expected %d, got %r" % (code, text))
