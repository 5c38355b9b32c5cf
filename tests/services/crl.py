#!/usr/bin/env python3
"""CRL repository (RFC 5280 CRL distribution point) over HTTP, for tests only.

A real network service on loopback: the integration tests start it as a child
process, read its address from stdout, and let the signing code fetch the
certificate revocation list over a real socket. Every CRL is issued afresh by
`openssl ca -gencrl` from the CA's database at the moment it is asked for, so a
certificate revoked while the service runs is listed on the next fetch (never a
mock inside the test process). Do not expose it beyond loopback and do not use
it for anything but tests.

Usage:
    python3 tests/services/crl.py --index INDEX.txt --ca CA.pem --key CA.key
        [--listen 127.0.0.1:PORT] [--hours 24] [--exit-on-stdin-eof]

Once bound it prints exactly one line to stdout,
`listening on http://127.0.0.1:PORT`, and serves until SIGTERM or SIGINT (or
stdin's end with --exit-on-stdin-eof), when it exits with status 0.

Protocol: GET of any path -> 200, Content-Type application/pkix-crl, the DER
CertificateList signed by --key (SHA-256), thisUpdate = now, nextUpdate =
now + --hours, listing every line of the index marked R. openssl failing ->
500 with its stderr; any other method -> 405.
"""

import argparse
import http.server
import os
import signal
import subprocess
import sys
import tempfile
import threading

OPENSSL_TIMEOUT = 30
CONFIG = """\
[ca]
default_ca = crl_ca
[crl_ca]
database = {index}
default_md = sha256
unique_subject = no
"""


class Repository:
    """Issues CRLs from the CA database, one at a time."""

    def __init__(self, args, work):
        self.args = args
        self.work = work
        self.lock = threading.Lock()
        self.config = os.path.join(work, "crl.cnf")
        with open(self.config, "w") as f:
            f.write(CONFIG.format(index=args.index))

    def issue(self):
        """A fresh DER CRL, or (None, diagnostics)."""
        pem = os.path.join(self.work, "crl.pem")
        der = os.path.join(self.work, "crl.der")
        with self.lock:
            steps = [
                ["openssl", "ca", "-gencrl", "-batch", "-config", self.config,
                 "-cert", self.args.ca, "-keyfile", self.args.key,
                 "-crlhours", str(self.args.hours), "-out", pem],
                ["openssl", "crl", "-in", pem, "-outform", "DER", "-out", der],
            ]
            for cmd in steps:
                proc = subprocess.run(cmd, stdin=subprocess.DEVNULL,
                                      capture_output=True,
                                      timeout=OPENSSL_TIMEOUT)
                if proc.returncode != 0:
                    return None, proc.stdout + proc.stderr
            with open(der, "rb") as f:
                return f.read(), b""


class Handler(http.server.BaseHTTPRequestHandler):
    server_version = "sohoa-test-crl/1"
    protocol_version = "HTTP/1.1"

    def send(self, status, body, ctype):
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def do_GET(self):
        crl, diag = self.server.repository.issue()
        if crl is None:
            sys.stderr.write("crl: openssl failed:\n%s\n" % diag.decode("utf-8", "replace"))
            self.send(500, diag, "text/plain; charset=utf-8")
            return
        self.send(200, crl, "application/pkix-crl")

    def not_allowed(self):
        self.close_connection = True
        self.send(405, b"only GET\n", "text/plain; charset=utf-8")

    do_HEAD = do_POST = do_PUT = do_DELETE = do_PATCH = do_OPTIONS = not_allowed

    def log_message(self, fmt, *args):
        pass


class Server(http.server.ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--index", required=True, help="the CA database (openssl ca index.txt)")
    p.add_argument("--ca", required=True, help="issuing CA certificate (PEM)")
    p.add_argument("--key", required=True, help="the CA's private key (PEM)")
    p.add_argument("--listen", default="127.0.0.1:0", help="HOST:PORT (default 127.0.0.1:0)")
    p.add_argument("--hours", type=int, default=24, help="hours to nextUpdate (default 24)")
    p.add_argument("--exit-on-stdin-eof", action="store_true",
                   help="exit when stdin is closed")
    args = p.parse_args()
    for name in ("index", "ca", "key"):
        path = getattr(args, name)
        if not os.path.isfile(path):
            p.error("no such file: %s" % path)
        setattr(args, name, os.path.abspath(path))
    host, _, port = args.listen.rpartition(":")

    with tempfile.TemporaryDirectory(prefix="sohoa-crl-") as work:
        server = Server((host, int(port)), Handler)
        server.repository = Repository(args, work)

        def stop(*_):
            threading.Thread(target=server.shutdown, daemon=True).start()

        signal.signal(signal.SIGTERM, stop)
        signal.signal(signal.SIGINT, stop)
        if args.exit_on_stdin_eof:
            def watch_stdin():
                while sys.stdin.buffer.read(4096):
                    pass
                stop()
            threading.Thread(target=watch_stdin, daemon=True).start()
        print("listening on http://%s:%d" % (host, server.server_address[1]), flush=True)
        server.serve_forever()
        server.server_close()


if __name__ == "__main__":
    main()
