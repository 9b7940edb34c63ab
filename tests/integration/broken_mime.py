#!/usr/bin/env python3
"""Broken MIME, generated deterministically: the malformed mail a public gateway meets, from
sloppy clients, broken MTAs and attackers.

`generate(seed)` returns a list of (name, bytes): the same list for the same seed, on any
machine (random.Random(seed) only, no clock, no hash ordering). Each message has CRLF line
endings and ends with CRLF, except where the breakage is the line ending itself (bare CR, bare
LF). The bytes are the message as an MTA hands it over, before dot-stuffing.

Families (the name's prefix): truncated, boundary (missing, wrong, duplicate, empty, overlong,
nested reuse), encoding (bad base64 and quoted-printable, unknown transfer encodings and
charsets, mislabelled 8-bit, broken RFC 2047/2231), header (huge blocks, huge fields, many
fields, no blank line, folding abuse, duplicates), line (very long lines), nesting (deep
multipart and message/rfc822 chains, many parts), bytes (NUL, bare CR, bare LF, 8-bit and
control characters in headers), and mutated (random byte damage to valid multiparts).

Sizes stay well under a few MiB per message; `huge` sizes are parameters so a caller can place
them around its own limits (max_header_size, max_message_size, max_mime_depth, max_mime_parts).

Run as a script to write the set as .eml files: broken_mime.py [--seed N] OUTDIR
Python 3 standard library only.
"""

import base64
import os
import random
import sys

SERVICE = "etat-civil@mairie-exemple.fr"


def _crlf(text):
    if isinstance(text, str):
        text = text.encode("utf-8")
    return text.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")


def _headers(rng, n, subject=None, extra=b""):
    subject = subject or "Cas %d" % n
    return _crlf(
        "From: Citoyen %d <citoyen%d@example.org>\n"
        "To: <%s>\n"
        "Subject: %s\n"
        "Date: Mon, 2 Mar 2026 10:%02d:%02d +0100\n"
        "Message-ID: <broken-%d-%d@example.org>\n"
        "MIME-Version: 1.0\n"
        % (n, n, SERVICE, subject, rng.randrange(60), rng.randrange(60), n,
           rng.randrange(1 << 30))) + extra


def _words(rng, count):
    vocab = ["bonjour", "acte", "naissance", "mairie", "copie", "intégrale", "demande",
             "merci", "dossier", "pièce", "jointe", "état", "civil", "cordialement"]
    return " ".join(rng.choice(vocab) for _ in range(count))


def _text(rng, lines=4):
    return "\n".join(_words(rng, rng.randrange(3, 12)) for _ in range(lines)) + "\n"


def _b64(data, width=76):
    s = base64.b64encode(data).decode()
    return "\n".join(s[i:i + width] for i in range(0, len(s), width)) + "\n"


def _valid_multipart(rng, n, boundary="=_b%d"):
    b = boundary % n
    body = (
        "Content-Type: multipart/mixed; boundary=\"%s\"\n\n"
        "preamble\n"
        "--%s\nContent-Type: text/plain; charset=utf-8\nContent-Transfer-Encoding: 8bit\n\n%s"
        "--%s\nContent-Type: application/pdf; name=\"piece.pdf\"\n"
        "Content-Disposition: attachment; filename=\"piece.pdf\"\n"
        "Content-Transfer-Encoding: base64\n\n%s"
        "--%s--\nepilogue\n"
        % (b, b, _text(rng), b, _b64(bytes(rng.randrange(256) for _ in range(600))), b))
    return _headers(rng, n) + _crlf(body)


# -- families ----------------------------------------------------------------------------------

def truncated(rng, n):
    out = []
    full = _valid_multipart(rng, n)
    head_end = full.index(b"\r\n\r\n") + 4
    for k in range(4):
        cut = rng.randrange(head_end // 2, len(full) - 10)
        m = full[:cut]
        # Keep the cut honest about line endings: end at a line boundary or add CRLF.
        if not m.endswith(b"\r\n"):
            m = m.rstrip(b"\r") + b"\r\n"
        out.append(("truncated-at-%d" % k, m))
    out.append(("truncated-headers-only", _headers(rng, n).rstrip(b"\r\n") + b"\r\n"))
    out.append(("truncated-no-closing-boundary",
                full[:full.rindex(b"--=_b")] + b"\r\n"))
    out.append(("truncated-in-base64",
                full[:full.index(b"base64\r\n\r\n") + 40] + b"\r\n"))
    out.append(("truncated-empty", b"\r\n"))
    out.append(("truncated-header-field", b"Subject: coupe\r\nFrom: a@"))
    return [(name, m if m.endswith(b"\r\n") else m + b"\r\n") for name, m in out]


def boundaries(rng, n):
    h = _headers(rng, n)
    text = _text(rng)
    cases = {
        "missing-param": "Content-Type: multipart/mixed\n\n--x\nContent-Type: text/plain\n\n%s--x--\n",
        "never-used": "Content-Type: multipart/mixed; boundary=\"absent\"\n\n--x\n\n%s--x--\n",
        "empty": "Content-Type: multipart/mixed; boundary=\"\"\n\n--\n\n%s----\n",
        "unquoted-space": "Content-Type: multipart/mixed; boundary=a b\n\n--a b\n\n%s--a b--\n",
        "overlong": "Content-Type: multipart/mixed; boundary=\"%s\"\n\n--%s\n\n%%s--%s--\n"
                    % (("B" * 400,) * 3),
        "duplicate-param": "Content-Type: multipart/mixed; boundary=\"one\"; boundary=\"two\"\n\n"
                           "--one\n\n%s--two\n\n%s--one--\n--two--\n",
        "nested-reuse": "Content-Type: multipart/mixed; boundary=\"same\"\n\n--same\n"
                        "Content-Type: multipart/alternative; boundary=\"same\"\n\n--same\n\n%s"
                        "--same--\n--same--\n",
        "prefix-of-other": "Content-Type: multipart/mixed; boundary=\"ab\"\n\n--ab\n"
                           "Content-Type: multipart/alternative; boundary=\"abc\"\n\n--abc\n\n%s"
                           "--ab--\n",
        "no-parts": "Content-Type: multipart/mixed; boundary=\"q\"\n\n--q--\n",
        "only-preamble": "Content-Type: multipart/mixed; boundary=\"q\"\n\n%s",
        "unterminated-quote": "Content-Type: multipart/mixed; boundary=\"q\n\n--q\n\n%s--q--\n",
        "two-content-types": "Content-Type: text/plain\nContent-Type: multipart/mixed; "
                             "boundary=\"q\"\n\n--q\n\n%s--q--\n",
        "garbage-params": "Content-Type: multipart/mixed; ;;=;boundary*0=\"a\";boundary*1=;"
                          "boundary*9999999999=x\n\n--a\n\n%s--a--\n",
    }
    out = []
    for name in sorted(cases):
        tpl = cases[name]
        body = tpl.replace("%s", text) if "%s" in tpl else tpl
        body = body.replace("%%s", text)
        out.append(("boundary-" + name, h + _crlf(body)))
    return out


def encodings(rng, n):
    h = _headers(rng, n)
    latin1 = _crlf("Réponse à la pièce jointe: été, façade, œuvre\n".encode("latin-1", "replace"))
    good = base64.b64encode("Bonjour, voici ma demande.".encode()).decode()
    bad_b64 = [good[:-3] + "!!!", "====" + good, good.replace("A", "*"), "YQ", good + "=" * 7,
               "".join(rng.choice("ABC+/=\x7f~") for _ in range(200))]
    out = []
    for i, b in enumerate(bad_b64):
        out.append(("encoding-base64-%d" % i, h + _crlf(
            "Content-Type: text/plain; charset=utf-8\nContent-Transfer-Encoding: base64\n\n"
            + b + "\n")))
    qp = ["=ZZ=\n=4", "ligne =\n=\n=", "=C3=A9t=C3=A", "soft break at end=",
          "=" * 500, "=E9t=E9 en latin-1 d=E9clar=E9 utf-8"]
    for i, q in enumerate(qp):
        out.append(("encoding-qp-%d" % i, h + _crlf(
            "Content-Type: text/plain; charset=utf-8\nContent-Transfer-Encoding: quoted-printable"
            "\n\n" + q + "\n")))
    out.append(("encoding-unknown-cte", h + _crlf(
        "Content-Type: text/plain\nContent-Transfer-Encoding: x-rot13\n\nobawbhe\n")))
    out.append(("encoding-unknown-charset", h + _crlf(
        "Content-Type: text/plain; charset=x-klingon-9\n\n") + latin1))
    out.append(("encoding-latin1-as-utf8", h + _crlf(
        "Content-Type: text/plain; charset=utf-8\nContent-Transfer-Encoding: 8bit\n\n") + latin1))
    out.append(("encoding-utf8-invalid", h + _crlf(
        "Content-Type: text/plain; charset=utf-8\n\n") + b"\xc3\x28 \xa0\xa1 \xe2\x28\xa1 "
        b"\xf0\x28\x8c\xbc \xf8\xa1\xa1\xa1\xa1 \xed\xa0\x80\r\n"))
    out.append(("encoding-utf16-declared", h + _crlf(
        "Content-Type: text/plain; charset=utf-16\n\n") + "été".encode("utf-16-le") + b"\r\n"))
    encoded_words = ["=?utf-8?B?" + "!" * 20 + "?=", "=?utf-8?Q?=ZZ=?=", "=?x-unknown?B?YWJj?=",
                     "=?utf-8?B?" + base64.b64encode(b"\xff\xfe\x00bad").decode() + "?=",
                     "=?utf-8*fr?Q?caf=C3=A9?= =?", "=?iso-8859-1?q?" + "=E9" * 3000 + "?="]
    for i, w in enumerate(encoded_words):
        out.append(("encoding-rfc2047-%d" % i, _crlf(
            "From: =?utf-8?B?w4lsb2RpZQ==?= <e%d@example.org>\nTo: <%s>\nSubject: %s\n"
            "MIME-Version: 1.0\nContent-Type: text/plain\n\n%s" % (i, SERVICE, w, _text(rng)))))
    out.append(("encoding-rfc2231-broken", h + _crlf(
        "Content-Type: multipart/mixed; boundary=\"r\"\n\n--r\nContent-Type: application/pdf;"
        " name*0*=utf-8''%E9%ZZ; name*1*=%; name*2=\"end\"\nContent-Disposition: attachment; "
        "filename*=utf-8'fr'%%%%%%\nContent-Transfer-Encoding: base64\n\nJVBERi0=\n--r--\n")))
    return out


def headers(rng, n, max_header_size):
    out = []
    # A block just under the bound, and one past it.
    for label, size in (("under", max_header_size - 4096), ("over", max_header_size + 4096)):
        fields = []
        total = 0
        i = 0
        while total < size:
            f = "X-Filler-%d: %s\n" % (i, "f" * 200)
            fields.append(f)
            total += len(f) + 1
            i += 1
        out.append(("header-block-" + label,
                    _headers(rng, n) + _crlf("".join(fields)) + _crlf("\n" + _text(rng))))
    # One field, folded or not, of most of the block.
    big = max_header_size // 2
    out.append(("header-one-long-field", _headers(rng, n, subject="S" * big)
                + _crlf("Content-Type: text/plain\n\n" + _text(rng))))
    folded = "\n ".join(_words(rng, 8) for _ in range(big // 60))
    out.append(("header-one-folded-field", _headers(rng, n, subject=folded)
                + _crlf("Content-Type: text/plain\n\n" + _text(rng))))
    out.append(("header-many-references", _headers(rng, n) + _crlf(
        "References: " + " ".join("<r%d@x>" % i for i in range(5000)) + "\n"
        "In-Reply-To: " + " ".join("<i%d@x>" % i for i in range(500)) + "\n\n" + _text(rng))))
    out.append(("header-no-blank-line", _headers(rng, n) + _crlf("X-Last: yes\n")))
    out.append(("header-body-without-separator", _crlf(
        "From: a@example.org\nSubject: x\nthis line is not a header\nnor this\n")))
    out.append(("header-continuation-first", _crlf(
        " folded before any field\nFrom: a@example.org\nSubject: x\n\nbody\n")))
    out.append(("header-no-colon", _crlf("From a@example.org\nSubject x\n\nbody\n")))
    out.append(("header-duplicates", _crlf(
        "From: a@example.org\nFrom: b@example.org\nTo: <%s>\nSubject: un\nSubject: deux\n"
        "Message-ID: <a@x>\nMessage-ID: <b@x>\nMIME-Version: 1.0\nMIME-Version: 2.0\n"
        "Content-Type: text/plain\nContent-Type: text/html\n\nbody\n" % SERVICE)))
    out.append(("header-from-missing", _crlf("To: <%s>\nSubject: anonyme\n\nbody\n" % SERVICE)))
    out.append(("header-from-group", _crlf(
        "From: undisclosed:;\nTo: <%s>\nSubject: groupe\n\nbody\n" % SERVICE)))
    out.append(("header-from-garbage", _crlf(
        "From: <<<@@@>>> \"unterminated\nTo: <%s>\nSubject: x\n\nbody\n" % SERVICE)))
    out.append(("header-field-name-long", _crlf(
        "X-" + "N" * 20000 + ": v\nFrom: a@example.org\nSubject: x\n\nbody\n")))
    return out


def lines(rng, n, long_line):
    out = []
    out.append(("line-long-body", _headers(rng, n) + _crlf("Content-Type: text/plain\n\n")
                + b"L" * long_line + b"\r\n"))
    out.append(("line-long-base64", _headers(rng, n) + _crlf(
        "Content-Type: application/octet-stream\nContent-Transfer-Encoding: base64\n\n")
        + base64.b64encode(bytes(rng.randrange(256) for _ in range(long_line // 2)))
        + b"\r\n"))
    out.append(("line-long-html", _headers(rng, n) + _crlf("Content-Type: text/html\n\n")
                + b"<p>" + b"<b>x</b>" * (long_line // 8) + b"\r\n"))
    out.append(("line-long-boundary-line", _headers(rng, n) + _crlf(
        "Content-Type: multipart/mixed; boundary=\"z\"\n\n--z" + "z" * long_line
        + "\n\nbody\n--z--\n")))
    return out


def nesting(rng, n, max_depth, max_parts):
    out = []
    for depth in (max_depth - 1, max_depth + 1, 4 * max_depth):
        head, tail = [], []
        for d in range(depth):
            head.append("Content-Type: multipart/mixed; boundary=\"d%d\"\n\n--d%d\n" % (d, d))
            tail.insert(0, "--d%d--\n" % d)
        body = "".join(head) + "Content-Type: text/plain\n\n" + _text(rng) + "".join(tail)
        out.append(("nesting-multipart-%d" % depth, _headers(rng, n) + _crlf(body)))
    # Never closed at all.
    body = "".join("Content-Type: multipart/mixed; boundary=\"u%d\"\n\n--u%d\n" % (d, d)
                   for d in range(4 * max_depth))
    out.append(("nesting-unclosed", _headers(rng, n) + _crlf(body + "text\n")))
    for depth in (max_depth + 1, 2 * max_depth):
        inner = "From: x@example.org\nSubject: inner\nContent-Type: text/plain\n\nfin\n"
        for d in range(depth):
            inner = ("From: x%d@example.org\nSubject: level %d\nContent-Type: message/rfc822\n\n"
                     % (d, d)) + inner
        out.append(("nesting-rfc822-%d" % depth, _headers(rng, n) + _crlf(
            "Content-Type: multipart/mixed; boundary=\"m\"\n\n--m\n" + inner + "--m--\n")))
    for parts in (max_parts - 10, max_parts + 10):
        body = "Content-Type: multipart/mixed; boundary=\"p\"\n\n" + "".join(
            "--p\nContent-Type: text/plain\n\n%d\n" % i for i in range(parts)) + "--p--\n"
        out.append(("nesting-parts-%d" % parts, _headers(rng, n) + _crlf(body)))
    return out


def raw_bytes(rng, n):
    h = _headers(rng, n)
    t = _crlf("Content-Type: text/plain\n\n")
    out = [
        ("bytes-nul-in-body", h + t + b"avant\x00apres\r\n\x00\x00\x00\r\n"),
        ("bytes-nul-in-header", _crlf("From: a@example.org\nTo: <%s>\n" % SERVICE)
         + b"Subject: nul\x00byte\r\nX-Nul: \x00\r\n\r\nbody\r\n"),
        ("bytes-nul-in-boundary", h + b"Content-Type: multipart/mixed; boundary=\"a\x00b\"\r\n"
         b"\r\n--a\x00b\r\n\r\nx\r\n--a\x00b--\r\n"),
        ("bytes-bare-lf", h + t + b"line one\nline two\r\n"),
        ("bytes-bare-cr", h + t + b"line one\rline two\r\n"),
        ("bytes-bare-lf-dot-lf", h + t + b"smuggle\n.\nMAIL FROM:<x@y>\r\n"),
        ("bytes-bare-cr-in-header", _crlf("From: a@example.org\n") + b"Subject: a\rb\r\n\r\nx\r\n"),
        ("bytes-8bit-subject-utf8", _crlf("From: a@example.org\nTo: <%s>\n" % SERVICE)
         + "Subject: Demande d'acte de décès\r\n\r\nx\r\n".encode("utf-8")),
        ("bytes-8bit-subject-latin1", _crlf("From: a@example.org\nTo: <%s>\n" % SERVICE)
         + "Subject: Demande d'acte de décès\r\n\r\nx\r\n".encode("latin-1")),
        ("bytes-8bit-from-name", b"From: \xc9lodie \xff\xfe <e@example.org>\r\n"
         + _crlf("To: <%s>\nSubject: x\n\nx\n" % SERVICE)),
        ("bytes-8bit-address", "From: élodie@exemple.fr\r\nTo: <%s>\r\nSubject: x\r\n\r\nx\r\n"
         .encode("utf-8") % SERVICE.encode()),
        ("bytes-control-chars-header", _crlf("From: a@example.org\n")
         + b"Subject: \x01\x02\x1b[31mred\x1b[0m\x7f\r\n\r\nx\r\n"),
        ("bytes-high-field-name", b"\xe9t\xe9: v\r\nFrom: a@example.org\r\n\r\nx\r\n"),
    ]
    return out


def mutated(rng, n, count):
    out = []
    for k in range(count):
        m = bytearray(_valid_multipart(rng, n * 100 + k))
        for _ in range(rng.randrange(1, 12)):
            op = rng.randrange(4)
            pos = rng.randrange(len(m))
            if op == 0:  # overwrite a byte (never CR/LF: those are the "bytes" family)
                m[pos] = rng.choice([b for b in range(256) if b not in (10, 13)])
            elif op == 1:  # delete a run
                del m[pos:pos + rng.randrange(1, 40)]
            elif op == 2:  # duplicate a run
                run = m[pos:pos + rng.randrange(1, 80)]
                m[pos:pos] = run
            else:  # insert a boundary-like or header-like line at a line start
                nl = m.find(b"\r\n", pos)
                if nl >= 0:
                    m[nl + 2:nl + 2] = rng.choice(
                        [b"--=_b%d\r\n" % (n * 100 + k), b"Content-Type: multipart/mixed\r\n",
                         b"--\r\n", b"Content-Transfer-Encoding: base64\r\n", b"\r\n"])
        data = bytes(m)
        # Only the "bytes" family carries bare CR/LF: repair any the mutation created.
        data = data.replace(b"\r\n", b"\n").replace(b"\r", b"").replace(b"\n", b"\r\n")
        if not data.endswith(b"\r\n"):
            data += b"\r\n"
        out.append(("mutated-%02d" % k, data))
    return out


def generate(seed=20260302, max_header_size=256 << 10, max_mime_depth=32, max_mime_parts=1000,
             long_line=1 << 20, mutations=40):
    """The whole set, in a fixed order; names are unique."""
    rng = random.Random(seed)
    out = []
    out += truncated(rng, 1)
    out += boundaries(rng, 2)
    out += encodings(rng, 3)
    out += headers(rng, 4, max_header_size)
    out += lines(rng, 5, long_line)
    out += nesting(rng, 6, max_mime_depth, max_mime_parts)
    out += raw_bytes(rng, 7)
    out += mutated(rng, 8, mutations)
    names = [name for name, _ in out]
    assert len(names) == len(set(names)), "duplicate names"
    return out


def has_bare_line_ending(data):
    """True when `data` holds a CR not followed by LF, or an LF not preceded by CR."""
    return data.replace(b"\r\n", b"").find(b"\r") >= 0 or data.replace(b"\r\n", b"").find(b"\n") >= 0


def main(argv):
    seed = 20260302
    args = list(argv)
    if args[:1] == ["--seed"]:
        seed = int(args[1])
        args = args[2:]
    if len(args) != 1:
        sys.stderr.write("usage: broken_mime.py [--seed N] OUTDIR\n")
        return 2
    os.makedirs(args[0], exist_ok=True)
    for name, data in generate(seed):
        with open(os.path.join(args[0], name + ".eml"), "wb") as f:
            f.write(data)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
