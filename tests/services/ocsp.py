#!/usr/bin/env python3
"""OCSP responder (RFC 6960) over HTTP, for tests only.

A real network service on loopback: the integration tests start it as a child
process, read its address from stdout, and let the signing code fetch
revocation status over a real socket. Every response is made and signed by
`openssl ocsp` acting as responder (never a mock inside the test process).
Do not expose it beyond loopback and do not use it for anything but tests.

Usage:
    python3 tests/services/ocsp.py --index INDEX.txt --ca CA.pem
        --rsigner RESP.pem --rkey RESP.key [--listen 127.0.0.1:PORT]
        [--nmin 60] [--work DIR] [--fail-status N] [--exit-on-stdin-eof]
        [--verbose]

Once bound it prints exactly one line to stdout,
`listening on http://127.0.0.1:PORT`, and serves until SIGTERM or SIGINT,
when it exits with status 0. Port 0 picks a free port. Because the
certificates' authorityInfoAccess names the port, a test either passes a fixed
port, or starts the responder with port 0 first and issues the end-entity
certificates afterwards: the index, CA and responder files are read afresh on
every request, so they may be (atomically) rewritten while it runs.

Why not `openssl ocsp -port`: in OpenSSL 3.0 that server binds every
interface (-port takes only a number), serves one connection at a time, and
spins at 100% CPU, answering nobody, once a client connects and closes without
sending a request (a readiness probe, an idle pooled keep-alive connection;
openssl/openssl#23934, #31129). So this script is the HTTP server, on loopback
only and threaded, and runs the same responder code one request at a time:
    openssl ocsp -index INDEX -CA CA -rsigner RESP -rkey RKEY -nmin 60
                 -reqin REQ.der -respout RESP.der

Protocol: POST with a DER OCSPRequest (Content-Type application/ocsp-request),
or GET /<url-encoded base64 of the DER request> (RFC 6960 appendix A), any
path -> 200, Content-Type application/ocsp-response, DER OCSPResponse signed
by --rsigner (which should carry extendedKeyUsage=OCSPSigning and be issued by
--ca), with thisUpdate = now, nextUpdate = now + --nmin minutes, the request
nonce echoed, and the responder certificate included. A request openssl cannot
parse gets a 200 with the unsigned OCSPResponse "malformedRequest". Bodies over
64 KiB -> 413; openssl failing otherwise -> 500 with its stderr.
--fail-status N answers every request with HTTP status N.
--exit-on-stdin-eof exits when stdin is closed (start it with a piped stdin).

index.txt (the `openssl ca` database), one line per certificate, six fields
separated by single TAB characters, lines ending in "\\n":
    1. status:  V (valid -> "good") or R (revoked -> "revoked"). Do not use E:
       openssl then puts no status at all for that certificate in the
       response. A serial with no line -> "unknown"; so does a certificate
       from an issuer other than --ca.
    2. expiry:  the certificate's notAfter as UTCTime YYMMDDHHMMSSZ
       (GeneralizedTime YYYYMMDDHHMMSSZ from 2050). Not used by the responder,
       but must be present.
    3. revocation: empty for V. For R, revocationTime as YYMMDDHHMMSSZ,
       optionally followed by ",reason" where reason is one of unspecified,
       keyCompromise, CACompromise, affiliationChanged, superseded,
       cessationOfOperation, certificateHold, removeFromCRL (case-sensitive;
       an unknown reason is dropped with a message on stderr).
    4. serial:  the certificate serial in UPPERCASE hex, as printed by
       `openssl x509 -noout -serial` (e.g. 1003, 0ABCDE). Leading zeros are
       ignored; lowercase hex does NOT match and gives "unknown".
    5. file:    the literal word "unknown".
    6. subject: the subject DN in /-form, e.g. "/CN=Office One". Not used for
       the lookup, but two V lines with the same subject make openssl refuse
       the whole index, unless INDEX.attr holds "unique_subject = no".
Example:
    V<TAB>290303111734Z<TAB><TAB>1003<TAB>unknown<TAB>/CN=Office One
    R<TAB>290303111734Z<TAB>260101000000Z,keyCompromise<TAB>1004<TAB>unknown<TAB>/CN=Office Two
"""

import argparse
import base64
import binascii
import http.server
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import urllib.parse

MAX_BODY = 64 * 1024
OPENSSL_TIMEOUT = 30
# OCSPResponse { responseStatus malformedRequest(1) }, RFC 6960 section 4.2.1.
MALFORMED_REQUEST = bytes.fromhex("30030a0101")


class Responder:
    """Shared state: files and the running openssl children."""

    def __init__(self, args, work):
        self.index = args.index
        self.ca = args.ca
        self.rsigner = args.rsigner
        self.rkey = args.rkey
        self.nmin = args.nmin
        self.work = work
        self.lock = threading.Lock()
        self.children = set()
        self.closing = False

    def run(self, cmd):
        """Run openssl, tracked so shutdown can kill it. Returns (rc, output)."""
        with self.lock:
            if self.closing:
                return 1, b"shutting down"
            proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL,
                                    stdout=subprocess.PIPE,
                                    stderr=subprocess.PIPE)
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

    def respond(self, request):
        """Make a DER OCSPResponse. Returns (response or None, diagnostics)."""
        tmp = tempfile.mkdtemp(prefix="req-", dir=self.work)
        try:
            qpath = os.path.join(tmp, "request.der")
            rpath = os.path.join(tmp, "response.der")
            with open(qpath, "wb") as f:
                f.write(request)
            rc, diag = self.run([
                "openssl", "ocsp", "-index", self.index, "-CA", self.ca,
                "-rsigner", self.rsigner, "-rkey", self.rkey,
                "-nmin", str(self.nmin), "-reqin", qpath, "-respout", rpath])
            if rc == 0 and os.path.exists(rpath):
                with open(rpath, "rb") as f:
                    return f.read(), diag
            if b"Error reading OCSP request" in diag:
                return MALFORMED_REQUEST, diag
            return None, diag
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
    server_version = "sohoa-test-ocsp/1"
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

    def answer(self, request):
        response, diag = self.server.responder.respond(request)
        if response is None:
            sys.stderr.write("ocsp: openssl failed:\n%s\n"
                             % diag.decode("utf-8", "replace"))
            self.send(500, diag)
            return
        self.send(200, response, ctype="application/ocsp-response")

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
        request = self.rfile.read(length)
        if len(request) != length:
            self.close_connection = True
            return
        self.answer(request)

    def do_GET(self):
        if self.failed_on_purpose():
            return
        path = urllib.parse.urlsplit(self.path).path
        encoded = urllib.parse.unquote(path.lstrip("/"))
        if len(encoded) > MAX_BODY * 2:
            self.send(413, b"request larger than 64 KiB\n", close=True)
            return
        try:
            request = base64.b64decode(encoded, validate=True)
        except (binascii.Error, ValueError):
            request = b""
        if not request:
            self.send(200, MALFORMED_REQUEST, ctype="application/ocsp-response")
            return
        self.answer(request)

    def not_allowed(self):
        if self.failed_on_purpose():
            return
        self.send(405, b"only GET and POST\n", close=True,
                  headers=[("Allow", "GET, POST")])

    do_HEAD = do_PUT = do_DELETE = do_PATCH = do_OPTIONS = not_allowed

    def log_message(self, fmt, *args):
        if self.server.verbose:
            sys.stderr.write("ocsp: %s %s\n" % (self.address_string(), fmt % args))


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
    p.add_argument("--index", required=True, help="certificate status index")
    p.add_argument("--ca", required=True, help="issuing CA certificate (PEM)")
    p.add_argument("--rsigner", required=True, help="responder certificate (PEM)")
    p.add_argument("--rkey", required=True, help="responder private key (PEM)")
    p.add_argument("--listen", type=parse_listen, default="127.0.0.1:0",
                   help="HOST:PORT to bind (default 127.0.0.1:0)")
    p.add_argument("--nmin", type=int, default=60,
                   help="minutes from thisUpdate to nextUpdate (default 60)")
    p.add_argument("--work", help="scratch directory (default: a temp dir)")
    p.add_argument("--fail-status", type=int, metavar="N",
                   help="answer every request with HTTP status N")
    p.add_argument("--exit-on-stdin-eof", action="store_true",
                   help="exit when stdin is closed")
    p.add_argument("--verbose", action="store_true", help="log requests to stderr")
    args = p.parse_args()

    for name in ("index", "ca", "rsigner", "rkey"):
        path = getattr(args, name)
        if not os.path.isfile(path):
            p.error("no such file: %s" % path)
        setattr(args, name, os.path.abspath(path))

    if args.work:
        os.makedirs(args.work, exist_ok=True)
        work, own_work = os.path.abspath(args.work), False
    else:
        work, own_work = tempfile.mkdtemp(prefix="sohoa-ocsp-"), True

    responder = Responder(args, work)
    host, port = args.listen
    if ":" in host:
        Server.address_family = socket.AF_INET6
    server = Server((host, port), Handler)
    server.responder = responder
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
        responder.close()
        if own_work:
            shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
