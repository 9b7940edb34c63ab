#!/usr/bin/env python3
"""Re-read rendered messages with a second parser (Python's email, policy.strict).

Usage: check_rendered.py OUT.eml...   (or a directory: every *.out.eml in it)

For each X.out.eml, with the sidecar X.out.json written by the C++ tests:
  - the bytes hold only CRLF line endings (vectors A outbound, E6, H4);
  - policy.strict parses it without defects; exactly one From header, holding one mailbox
    whose decoded display name and address are the sidecar's;
  - each header named in the sidecar's "counts" occurs that many times;
  - when X.in.eml exists: the multiset of SHA-256 of the decoded attachments and inline
    non-text parts of the input is found unchanged in the output.
Exit status 0 when every file passes; one line per failure otherwise. Stdlib only.
"""
import email
import email.policy
import hashlib
import json
import os
import sys


def crlf_only(data):
    i = 0
    for i, b in enumerate(data):
        if b == 0x0D and data[i + 1:i + 2] != b"\n":
            return False
        if b == 0x0A and (i == 0 or data[i - 1] != 0x0D):
            return False
    return True


def leaf_hashes(msg):
    """SHA-256 of decoded non-text leaves and text attachments, outside the sender's text."""
    out = []
    for part in msg.walk():
        if part.is_multipart() or part.get_content_type() == "message/rfc822":
            continue
        text = part.get_content_maintype() == "text"
        if text and part.get_content_disposition() != "attachment":
            continue
        payload = part.get_payload(decode=True) or b""
        out.append(hashlib.sha256(payload).hexdigest())
    return sorted(out)


def check(path):
    errors = []
    data = open(path, "rb").read()
    if not crlf_only(data):
        errors.append("line endings other than CRLF")
    msg = email.message_from_bytes(data, policy=email.policy.strict)
    if msg.defects:
        errors.append("defects: %r" % msg.defects)
    sidecar = path[: -len(".out.eml")] + ".out.json"
    expected = json.load(open(sidecar)) if os.path.exists(sidecar) else {}
    froms = msg.get_all("From") or []
    if len(froms) != 1:
        errors.append("%d From headers" % len(froms))
    else:
        addresses = froms[0].addresses
        if len(addresses) != 1:
            errors.append("From holds %d mailboxes" % len(addresses))
        elif expected:
            a = addresses[0]
            if a.display_name != expected["from_display"]:
                errors.append("From display %r != %r" % (a.display_name, expected["from_display"]))
            if a.addr_spec != expected["from_address"]:
                errors.append("From address %r != %r" % (a.addr_spec, expected["from_address"]))
    for name, count in expected.get("counts", {}).items():
        got = len(msg.get_all(name) or [])
        if got != count:
            errors.append("%d %s headers, expected %d" % (got, name, count))
    source = path[: -len(".out.eml")] + ".in.eml"
    if os.path.exists(source):
        original = email.message_from_bytes(open(source, "rb").read(), policy=email.policy.compat32)
        want, got = leaf_hashes(original), leaf_hashes(msg)
        missing = [h for h in want if h not in got]
        if missing:
            errors.append("attachments changed: %d of %d" % (len(missing), len(want)))
    return errors


def main(args):
    paths = []
    for a in args:
        if os.path.isdir(a):
            paths += sorted(os.path.join(a, f) for f in os.listdir(a) if f.endswith(".out.eml"))
        else:
            paths.append(a)
    if not paths:
        print("no .out.eml files given")
        return 1
    failed = 0
    for p in paths:
        try:
            errors = check(p)
        except Exception as e:  # a parse error under policy.strict is a failure, not a crash
            errors = ["%s: %s" % (type(e).__name__, e)]
        for e in errors:
            print("%s: %s" % (p, e))
        failed += bool(errors)
    print("%d checked, %d failed" % (len(paths), failed))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
