"""A small SMTP server standing in for the organisation's relay: it records every transaction
(MAIL FROM, RCPT TO, the data with dot-stuffing undone) and can be told to refuse a recipient
(550 at RCPT), or be stopped and started again on the same port (a relay outage).

Python 3 standard library only; one thread per connection; 127.0.0.1 only.
"""

import email
import email.policy
import socket
import threading


class Transaction:
    def __init__(self, mail_from, rcpts, data):
        self.mail_from = mail_from
        self.rcpts = rcpts
        self.data = data  # bytes, CRLF, dot-stuffing undone

    def message(self):
        return email.message_from_bytes(self.data, policy=email.policy.default)


class SmtpSink:
    def __init__(self):
        self.transactions = []
        self.refuse = set()  # recipients answered 550 5.1.1 at RCPT
        self.port = None
        self._lock = threading.Lock()
        self._server = None
        self._thread = None
        self.start()

    # -- control ---------------------------------------------------------------------------
    def start(self):
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind(("127.0.0.1", self.port or 0))
        s.listen(16)
        self.port = s.getsockname()[1]
        self._server = s
        self._thread = threading.Thread(target=self._accept, args=(s,), daemon=True)
        self._thread.start()

    def stop(self):
        """The relay goes down: new connections are refused."""
        s, self._server = self._server, None
        if s:
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            s.close()

    def url(self):
        return "smtp://127.0.0.1:%d" % self.port

    def to(self, rcpt):
        with self._lock:
            return [t for t in self.transactions if rcpt.lower() in (r.lower() for r in t.rcpts)]

    # -- server ----------------------------------------------------------------------------
    def _accept(self, s):
        while True:
            try:
                conn, _ = s.accept()
            except OSError:
                return
            threading.Thread(target=self._session, args=(conn,), daemon=True).start()

    def _session(self, conn):
        f = conn.makefile("rb")

        def say(line):
            conn.sendall(line.encode() + b"\r\n")

        try:
            say("220 sink.test ESMTP")
            mail_from, rcpts = None, []
            for raw in f:
                line = raw.decode("utf-8", "replace").rstrip("\r\n")
                verb = line[:4].upper()
                if verb in ("EHLO", "HELO"):
                    say("250-sink.test\r\n250-8BITMIME\r\n250-SMTPUTF8\r\n250 SIZE 104857600")
                elif verb == "MAIL":
                    mail_from, rcpts = line[line.index("<") + 1:line.rindex(">")], []
                    say("250 2.1.0 Ok")
                elif verb == "RCPT":
                    rcpt = line[line.index("<") + 1:line.rindex(">")]
                    if rcpt.lower() in self.refuse:
                        say("550 5.1.1 <%s>: Recipient address rejected: User unknown" % rcpt)
                    else:
                        rcpts.append(rcpt)
                        say("250 2.1.5 Ok")
                elif verb == "DATA":
                    say("354 End data with <CR><LF>.<CR><LF>")
                    data = []
                    for d in f:
                        if d == b".\r\n":
                            break
                        data.append(d[1:] if d.startswith(b"..") else d)
                    with self._lock:
                        self.transactions.append(Transaction(mail_from, rcpts, b"".join(data)))
                    say("250 2.0.0 Ok: queued")
                elif verb == "RSET":
                    mail_from, rcpts = None, []
                    say("250 2.0.0 Ok")
                elif verb == "NOOP":
                    say("250 2.0.0 Ok")
                elif verb == "QUIT":
                    say("221 2.0.0 Bye")
                    break
                else:
                    say("502 5.5.2 Error: command not recognized")
        except (OSError, ValueError):
            pass
        finally:
            conn.close()
