"""A real SMTP server for the mail tests: Debian's python3-aiosmtpd.

    /usr/bin/python3 tests/smtp_sink.py PORT DIR

Listens on 127.0.0.1:PORT and writes every message it accepts to
DIR/NNNN.eml (the bytes received, with a first line `X-Sink-Rcpt: ...`), and
every RCPT it is given to DIR/rcpt.log. Recipients choose the reply:
`reject-...@` gets 550 (permanent), `later-...@` gets 451 (temporary) the
first time it is seen and is accepted after that. Prints `ready` once it
listens.
"""

import os
import sys
import time

from aiosmtpd.controller import Controller


class Sink:
    def __init__(self, out):
        self.out = out
        self.seen = set()
        self.n = 0

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        with open(os.path.join(self.out, "rcpt.log"), "a") as log:
            log.write(address + "\n")
        local = address.split("@")[0]
        if local.startswith("reject-"):
            return "550 5.1.1 <%s>: mailbox unavailable" % address
        if local.startswith("later-") and address not in self.seen:
            self.seen.add(address)
            return "451 4.3.0 try again later"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        self.n += 1
        path = os.path.join(self.out, "%04d.eml" % self.n)
        with open(path + ".tmp", "wb") as f:
            f.write(b"X-Sink-Rcpt: " + ",".join(envelope.rcpt_tos).encode() + b"\r\n")
            f.write(envelope.original_content)
        os.rename(path + ".tmp", path)
        return "250 Message accepted for delivery"


def main():
    port, out = int(sys.argv[1]), sys.argv[2]
    os.makedirs(out, exist_ok=True)
    controller = Controller(Sink(out), hostname="127.0.0.1", port=port)
    controller.start()
    print("ready", flush=True)
    try:
        while True:
            time.sleep(3600)
    finally:
        controller.stop()


if __name__ == "__main__":
    main()
