#!/usr/bin/python3
"""smtp_sink.py - a real SMTP server for the tests (aiosmtpd, Debian's python3-aiosmtpd).

Every message it accepts is written whole to DIR/NNNNNN.eml, after two lines
"X-Envelope-From:" and "X-Envelope-To:". Recipients whose local part starts with
"rechazo" are refused for good (550), with "ocupado" for now (451), as mail servers do.
With --user and --password it requires AUTH; with --cert and --key it offers STARTTLS
and requires it before AUTH and MAIL.

    smtp_sink.py --port 2525 --dir .run/mail [--user u --password p] [--cert c --key k]
"""
import argparse
import itertools
import os
import signal
import ssl
import sys
import time

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword


class Sink:
    def __init__(self, directory):
        self.directory = directory
        self.seq = itertools.count(1)

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        local = address.split("@", 1)[0].lower()
        if local.startswith("rechazo"):
            return "550 5.1.1 <%s>: mailbox unavailable" % address
        if local.startswith("ocupado"):
            return "451 4.3.0 <%s>: try again later" % address
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        n = next(self.seq)
        path = os.path.join(self.directory, "%06d.eml" % n)
        with open(path + ".tmp", "wb") as f:
            f.write(b"X-Envelope-From: %s\r\n" % envelope.mail_from.encode())
            f.write(b"X-Envelope-To: %s\r\n" % ",".join(envelope.rcpt_tos).encode())
            f.write(envelope.original_content)
        os.rename(path + ".tmp", path)  # a reader never sees half a message
        return "250 2.0.0 queued as %06d" % n


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--dir", required=True)
    p.add_argument("--user")
    p.add_argument("--password")
    p.add_argument("--cert")
    p.add_argument("--key")
    a = p.parse_args()
    os.makedirs(a.dir, exist_ok=True)

    kwargs = {}
    if a.cert:
        ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        ctx.load_cert_chain(a.cert, a.key)
        kwargs.update(tls_context=ctx, require_starttls=True)
    if a.user:
        def check(server, session, envelope, mechanism, auth_data):
            ok = (isinstance(auth_data, LoginPassword)
                  and auth_data.login.decode() == a.user
                  and auth_data.password.decode() == a.password)
            return AuthResult(success=ok)
        kwargs.update(authenticator=check, auth_required=True,
                      auth_require_tls=bool(a.cert))
    controller = Controller(Sink(a.dir), hostname="127.0.0.1", port=a.port, **kwargs)
    controller.start()
    print("smtp_sink ready on 127.0.0.1:%d" % a.port, flush=True)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    try:
        while True:
            time.sleep(3600)
    finally:
        controller.stop()


if __name__ == "__main__":
    main()
