#!/usr/bin/env python3
"""RFC 3161 time-stamping authority (TSA) over HTTP, for tests only.

A real network service on loopback: the integration tests start it as a child
process, read its address from stdout, and point the signing code at it, so
time-stamp requests go over a real socket to a real TSA (`openssl ts -reply`),
never a mock inside the test process. Do not expose it beyond loopback and do
not use it for anything but tests.

Usage:
    python3 tests/services/tsa.py --cert TSA.pem --key TSA.key [--chain CHAIN.pem]
        [--listen 127.0.0.1:0] [--work DIR] [--fail-status N]
        [--exit-on-stdin-eof] [--verbose]

Once bound (port 0 = any free port) it prints exactly one line to stdout,
`listening on http://127.0.0.1:PORT`, and then serves until SIGTERM or SIGINT,
when it exits with status 0. Nothing else is written to stdout; request logs
(--verbose) and errors go to stderr.

Protocol (RFC 3161 section 3.4):
    POST, body = DER TimeStampReq (Content-Type application/timestamp-query)
        -> 200, Content-Type application/timestamp-reply, DER TimeStampResp.
    Any path is accepted. Bodies over 64 KiB -> 413; no Content-Length -> 411;
    other methods -> 405; openssl failing -> 500 with its stderr as the body.
    A well-formed request that the TSA refuses (e.g. SHA-1 imprint) gets a 200
    with a TimeStampResp whose status is "rejection", as a real TSA would do.

The reply is signed by --cert/--key (which must carry a critical
extendedKeyUsage=timeStamping). It holds the TSA certificate plus --chain when
the request sets certReq (`openssl ts -query -cert`), and an ESSCertIDv2
(SHA-256) signing-certificate attribute. Policy 1.2.3.4.1, accuracy 1 s,
accepted imprint digests SHA-256/384/512.

--fail-status N answers every request with HTTP status N (for error tests).
--exit-on-stdin-eof makes it exit when stdin reaches EOF: start it with a
piped stdin and keep the pipe open; if the test process dies, the service goes
with it.
"""

import argparse
import http.server
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading

MAX_BODY = 64 * 1024
OPENSSL_TIMEOUT = 30

# `openssl ts -reply` reads the serial from a file and writes it back
# incremented. Each request gets its own serial file (named by the
# environment variable), filled from a counter kept here under a lock, so
# concurrent requests never share that file and never repeat a serial.
CONFIG = """\
# Written by tests/services/tsa.py.
[ tsa ]
default_tsa = tsa_config

[ tsa_config ]
serial = $ENV::SOHOA_TSA_SERIAL_FILE
crypto_device = builtin
signer_digest = sha256
default_policy = 1.2.3.4.1
other_policies = 1.2.3.4.5.6, 1.2.3.4.5.7
digests = sha256, sha384, sha512
accuracy = secs:1
clock_precision_digits = 0
ordering = no
tsa_name = yes
ess_cert_id_chain = no
ess_cert_id_alg = sha256
"""


class Tsa:
    """Shared state: files, serial counter, running openssl children."""

    def __init__(self, args, work):
        self.cert = args.cert
        self.key = args.key
        self.chain = args.chain
        self.work = work
        self.config = os.path.join(work, "tsa.cnf")
        with open(self.config, "w") as f:
            f.write(CONFIG)
        self.lock = threading.Lock()
        self.serial = 0
        self.children = set()
        self.closing = False

    def next_serial(self):
        with self.lock:
            self.serial += 1
            return self.serial

    def run(self, cmd, env=None):
        """Run openssl, tracked so shutdown can kill it. Returns (rc, stderr)."""
        with self.lock:
            if self.closing:
                return 1, b"shutting down"
            proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL,
                                    stdout=subprocess.PIPE,
                                    stderr=subprocess.PIPE, env=env)
            self.children.add(proc)
        try:
            out, err = proc.communicate(timeout=OPENSSL_TIMEOUT)
        except subprocess.TimeoutExpired:
            proc.kill()
            out, err = proc.communicate()
            err += b"\nopenssl timed out"
        finally:
            with self.lock:
                self.children.discard(proc)
        return proc.returncode, out + err

    def reply(self, query):
        """Make a DER TimeStampResp. Returns (response or None, diagnostics)."""
        tmp = tempfile.mkdtemp(prefix="req-", dir=self.work)
        try:
            qpath = os.path.join(tmp, "query.tsq")
            rpath = os.path.join(tmp, "reply.tsr")
            spath = os.path.join(tmp, "serial")
            with open(qpath, "wb") as f:
                f.write(query)
            # openssl adds one to the number in the file before using it.
            serial = "%X" % (self.next_serial() - 1)
            with open(spath, "w") as f:
                f.write(serial.zfill(len(serial) + len(serial) % 2) + "\n")
            cmd = ["openssl", "ts", "-reply", "-config", self.config,
                   "-queryfile", qpath, "-inkey", self.key,
                   "-signer", self.cert, "-out", rpath]
            if self.chain:
                cmd += ["-chain", self.chain]
            env = dict(os.environ, SOHOA_TSA_SERIAL_FILE=spath)
            rc, diag = self.run(cmd, env)
            if rc != 0 or not os.path.exists(rpath):
                return None, diag
            with open(rpath, "rb") as f:
                return f.read(), diag
        finally:
            shutil.rmtree(tmp, ignore_errors=True)

    def close(self):
        with self.lock:
            self.closing = True
            children = list(self.children)
        for proc in children:
            proc.kill()
        for proc in children:
            proc.wait()


class Handler(http.server.BaseHTTPRequestHandler):
    server_version = "sohoa-test-tsa/1"
    protocol_version = "HTTP/1.1"

    def send(self, status, body=b"", ctype="text/plain; charset=utf-8",
             close=False, headers=()):
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        for name, value in headers:
            self.send_header(name, value)
        if close:
            self.send_header("Connection", "close")
            self.close_connection = True
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def failed_on_purpose(self):
        status = self.server.fail_status
        if status is None:
            return False
        self.send(status, b"fail-status %d\n" % status, close=True)
        return True

    def do_POST(self):
        if self.failed_on_purpose():
            return
        length = self.headers.get("Content-Length")
        if length is None or not length.strip().isdigit():
            self.send(411, b"Content-Length required\n", close=True)
            return
        length = int(length)
        if length > MAX_BODY:
            self.send(413, b"request larger than 64 KiB\n", close=True)
            return
        query = self.rfile.read(length)
        if len(query) != length:
            self.close_connection = True
            return
        reply, diag = self.server.tsa.reply(query)
        if reply is None:
            sys.stderr.write("tsa: openssl failed:\n%s\n"
                             % diag.decode("utf-8", "replace"))
            self.send(500, diag)
            return
        self.send(200, reply, ctype="application/timestamp-reply")

    def not_allowed(self):
        if self.failed_on_purpose():
            return
        self.send(405, b"only POST\n", close=True, headers=[("Allow", "POST")])

    do_GET = do_HEAD = do_PUT = do_DELETE = do_PATCH = do_OPTIONS = not_allowed

    def log_message(self, fmt, *args):
        if self.server.verbose:
            sys.stderr.write("tsa: %s %s\n" % (self.address_string(), fmt % args))


class Server(http.server.ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True


def parse_listen(text):
    host, sep, port = text.rpartition(":")
    if not sep or not host or not port.isdigit():
        raise argparse.ArgumentTypeError("expected HOST:PORT, got %r" % text)
    return host.strip("[]"), int(port)


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--cert", required=True, help="TSA signing certificate (PEM)")
    p.add_argument("--key", required=True, help="TSA private key (PEM)")
    p.add_argument("--chain", help="extra certificates for the reply (PEM)")
    p.add_argument("--listen", type=parse_listen, default="127.0.0.1:0",
                   help="HOST:PORT to bind (default 127.0.0.1:0)")
    p.add_argument("--work", help="scratch directory (default: a temp dir)")
    p.add_argument("--fail-status", type=int, metavar="N",
                   help="answer every request with HTTP status N")
    p.add_argument("--exit-on-stdin-eof", action="store_true",
                   help="exit when stdin is closed")
    p.add_argument("--verbose", action="store_true", help="log requests to stderr")
    args = p.parse_args()

    for path in filter(None, [args.cert, args.key, args.chain]):
        if not os.path.isfile(path):
            p.error("no such file: %s" % path)
    for name in ("cert", "key", "chain"):
        if getattr(args, name):
            setattr(args, name, os.path.abspath(getattr(args, name)))

    if args.work:
        os.makedirs(args.work, exist_ok=True)
        work, own_work = os.path.abspath(args.work), False
    else:
        work, own_work = tempfile.mkdtemp(prefix="sohoa-tsa-"), True

    tsa = Tsa(args, work)
    host, port = args.listen
    if ":" in host:
        Server.address_family = socket.AF_INET6
    server = Server((host, port), Handler)
    server.tsa = tsa
    server.fail_status = args.fail_status
    server.verbose = args.verbose

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

    bound_port = server.server_address[1]
    shown = "[%s]" % host if ":" in host else host
    sys.stdout.write("listening on http://%s:%d\n" % (shown, bound_port))
    sys.stdout.flush()
    try:
        server.serve_forever(poll_interval=0.2)
    finally:
        server.server_close()
        tsa.close()
        if own_work:
            shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
