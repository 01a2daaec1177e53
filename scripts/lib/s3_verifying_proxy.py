#!/usr/bin/env python3
"""moto's S3, in-process, behind a proxy that verifies every request's SigV4 signature.

moto does not check presigned URLs at all (and crashes on them with auth enabled), so
this proxy does what S3 does before a request reaches moto:

    python3 scripts/lib/s3_verifying_proxy.py --port-file FILE [--port N]
        [--access-key AKID --secret-key SECRET] [--control-file FILE] [--no-digest-check]

It listens on 127.0.0.1 (a free port unless --port) and writes the port to --port-file
once it serves. One key pair is accepted (default AKIDPROXYTEST / proxy-test-secret),
region us-east-1, service s3, path-style addressing.

Verification (refusals are S3 XML errors):
  * Authorization: AWS4-HMAC-SHA256 ... (header-signed): signature recomputed with
    botocore over the raw request target; x-amz-content-sha256 must be the body's hash
    or UNSIGNED-PAYLOAD (else 400 XAmzContentSHA256Mismatch).
  * X-Amz-Algorithm=AWS4-HMAC-SHA256&... (presigned): signature recomputed over the raw
    path and the query minus X-Amz-Signature, payload UNSIGNED-PAYLOAD; the URL must not
    be past X-Amz-Date + X-Amz-Expires, and X-Amz-Expires must be <= 604800.
  * 403 InvalidAccessKeyId (other key), 403 SignatureDoesNotMatch (signature, method,
    path, query or a signed header's value differs, or a signed header is missing),
    403 AccessDenied "Request has expired", 403 AccessDenied "There were headers present
    in the request which were not signed" (an x-amz-* header not in SignedHeaders),
    403 AccessDenied for a request without authentication.
  Other headers (Content-MD5, Content-Type, Content-Length, ...) may be present unsigned.
  * Content-MD5, when present, must be the base64 MD5 of the body as received: else 400
    BadDigest (400 InvalidDigest when it is not base64 of 16 bytes), as S3 answers; moto
    checks neither. --no-digest-check skips this (benchmarks: S3 spends its own CPU on it,
    the proxy would spend the machine's).

A verified request goes to moto unchanged (moto 5.2 answers If-None-Match: * on PUT of an
existing key with 412 PreconditionFailed itself).

Fault injection, after verification: --control-file is JSON, re-read whenever its mtime
changes (absent file = no faults):

    {"faults": [
      {"method": "PUT", "key_prefix": "wals/", "status": 503, "count": 3},
      {"method": "PUT", "delay_seconds": 2, "count": 1},
      {"method": "GET", "status": 500, "count": 2},
      {"bucket": "b", "reset_connection": true},
      {"method": "PUT", "corrupt_body": true, "count": 1}
    ]}

Match fields (all optional): method, bucket, key_prefix (object key, decoded). The first
matching fault whose count is > 0 (no count = unlimited) applies and its count drops by one
(in memory; rewriting the file resets the counts). Actions: "status" answers that status
without forwarding (code SlowDown for 503, InternalError for 500, "code" overrides);
"delay_seconds" sleeps then forwards; "reset_connection" closes the socket with a TCP RST;
"corrupt_body" flips the body's first byte as if damaged on the way, before the Content-MD5
check (which refuses it) and moto (which stores it when no Content-MD5 came).

One line per request goes to stderr: METHOD PATH -> forwarded STATUS | refused CODE | fault ...
"""

import argparse
import base64
import datetime
import hashlib
import hmac
import io
import json
import logging
import os
import socket
import struct
import sys
import threading
import time
from urllib.parse import quote, unquote

os.environ.pop("INITIAL_NO_AUTH_ACTION_COUNT", None)  # moto's own auth stays off

from botocore.auth import S3SigV4Auth, S3SigV4QueryAuth  # noqa: E402
from botocore.awsrequest import AWSRequest  # noqa: E402
from botocore.credentials import Credentials  # noqa: E402
from moto.moto_server.werkzeug_app import create_backend_app  # noqa: E402
from werkzeug.serving import WSGIRequestHandler, make_server  # noqa: E402

REGION, SERVICE = "us-east-1", "s3"
MAX_EXPIRES = 604800
UNSIGNED_PAYLOAD = "UNSIGNED-PAYLOAD"
FAULT_CODES = {500: "InternalError", 503: "SlowDown"}
STATUS_TEXT = {400: "Bad Request", 403: "Forbidden", 500: "Internal Server Error", 503: "Service Unavailable"}


class Refusal(Exception):
    """A request S3 would refuse: HTTP status, S3 error code, message."""

    def __init__(self, code, message, status=403):
        super().__init__(message)
        self.code, self.message, self.status = code, message, status


def s3_error(start_response, status, code, message):
    """Answers an S3-style XML error."""
    body = (f'<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>{code}</Code>'
            f"<Message>{message}</Message></Error>").encode()
    start_response(f"{status} {STATUS_TEXT.get(status, 'Error')}",
                   [("Content-Type", "application/xml"), ("Content-Length", str(len(body)))])
    return [body]


# --- Verification ----------------------------------------------------------------------

def request_headers(environ):
    """The request's headers, lower-cased names, as werkzeug received them."""
    headers = {k[5:].replace("_", "-").lower(): v for k, v in environ.items() if k.startswith("HTTP_")}
    for key, name in (("CONTENT_TYPE", "content-type"), ("CONTENT_LENGTH", "content-length")):
        if environ.get(key):
            headers[name] = environ[key]
    return headers


def split_target(environ):
    """The raw path and the raw query's (name, value) pairs, still percent-encoded."""
    path, _, query = environ.get("RAW_URI", environ["PATH_INFO"]).partition("?")
    pairs = [pair.partition("=")[::2] for pair in query.split("&") if pair]
    return path, pairs


def canonical_query(pairs):
    """Query pairs re-encoded the way SigV4 wants them (S3 decodes, then re-encodes)."""
    encode = lambda s: quote(unquote(s), safe="-_.~")  # noqa: E731
    return "&".join(f"{k}={v}" for k, v in sorted((encode(k), encode(v)) for k, v in pairs))


def expected_signature(signer, method, headers, path, pairs, signed, timestamp, body=b""):
    """The signature botocore computes for this request, signing only the `signed` headers."""
    url = f"http://{headers.get('host', '')}{path}" + ("?" + canonical_query(pairs) if pairs else "")
    request = AWSRequest(method=method, url=url, data=body,
                         headers={k: v for k, v in headers.items() if k in signed})
    request.context["timestamp"] = timestamp
    canonical = signer.canonical_request(request)
    return signer.signature(signer.string_to_sign(request, canonical), request)


def check_credential(credential, access_key):
    """InvalidAccessKeyId unless the credential scope names our key."""
    if credential.split("/", 1)[0] != access_key:
        raise Refusal("InvalidAccessKeyId", "The AWS Access Key Id you provided does not exist in our records.")


def check_signed_amz_headers(headers, signed):
    """S3's rule: every x-amz-* header present must be signed."""
    if any(k.startswith("x-amz-") and k not in signed for k in headers):
        raise Refusal("AccessDenied", "There were headers present in the request which were not signed")


def check_signature(given, expected):
    if not hmac.compare_digest(given.encode(), expected.encode()):
        raise Refusal("SignatureDoesNotMatch",
                      "The request signature we calculated does not match the signature you provided.")


def verify_header_signed(environ, headers, body, keys):
    """Authorization: AWS4-HMAC-SHA256 Credential=..., SignedHeaders=..., Signature=..."""
    fields = dict(part.strip().partition("=")[::2]
                  for part in headers["authorization"][len("AWS4-HMAC-SHA256 "):].split(","))
    check_credential(fields.get("Credential", ""), keys.access_key)
    signed = fields.get("SignedHeaders", "").split(";")
    check_signed_amz_headers(headers, signed)
    declared = headers.get("x-amz-content-sha256", "")
    if declared != UNSIGNED_PAYLOAD and declared != hashlib.sha256(body).hexdigest():
        raise Refusal("XAmzContentSHA256Mismatch",
                      "The provided 'x-amz-content-sha256' header does not match what was computed.", 400)
    path, pairs = split_target(environ)
    signer = S3SigV4Auth(keys, SERVICE, REGION)
    expected = expected_signature(signer, environ["REQUEST_METHOD"], headers, path, pairs, signed,
                                  headers.get("x-amz-date", ""), body)
    check_signature(fields.get("Signature", ""), expected)


def check_not_expired(params):
    """AccessDenied once X-Amz-Date + X-Amz-Expires is past (or Expires is over a week)."""
    try:
        signed_at = datetime.datetime.strptime(params["X-Amz-Date"], "%Y%m%dT%H%M%SZ")
        expires = int(params["X-Amz-Expires"])
    except (KeyError, ValueError):
        raise Refusal("AuthorizationQueryParametersError",
                      "X-Amz-Date and X-Amz-Expires must be present and well formed.", 400)
    now = datetime.datetime.now(datetime.timezone.utc).replace(tzinfo=None)
    if expires > MAX_EXPIRES or expires < 0 or now > signed_at + datetime.timedelta(seconds=expires):
        raise Refusal("AccessDenied", "Request has expired")


def verify_presigned(environ, headers, keys):
    """X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=...&X-Amz-Signature=... in the query."""
    path, pairs = split_target(environ)
    params = {unquote(k): unquote(v) for k, v in pairs}
    check_credential(params.get("X-Amz-Credential", ""), keys.access_key)
    check_not_expired(params)
    signed = params.get("X-Amz-SignedHeaders", "").split(";")
    check_signed_amz_headers(headers, signed)
    signer = S3SigV4QueryAuth(keys, SERVICE, REGION)  # its payload is UNSIGNED-PAYLOAD
    unsigned_pairs = [(k, v) for k, v in pairs if unquote(k) != "X-Amz-Signature"]
    expected = expected_signature(signer, environ["REQUEST_METHOD"], headers, path, unsigned_pairs,
                                  signed, params["X-Amz-Date"])
    check_signature(params.get("X-Amz-Signature", ""), expected)


def verify(environ, headers, body, keys):
    """Raises Refusal unless the request is signed with our key, as S3 would check it."""
    if headers.get("authorization", "").startswith("AWS4-HMAC-SHA256 "):
        verify_header_signed(environ, headers, body, keys)
    elif "X-Amz-Algorithm=AWS4-HMAC-SHA256" in environ.get("QUERY_STRING", ""):
        verify_presigned(environ, headers, keys)
    else:
        raise Refusal("AccessDenied", "Access Denied")


# --- Fault injection -------------------------------------------------------------------

class Faults:
    """The control file's faults, re-read when its mtime changes; counts kept in memory."""

    def __init__(self, path):
        self.path, self.mtime, self.faults, self.lock = path, None, [], threading.Lock()

    def _reload(self):
        try:
            stat = os.stat(self.path) if self.path else None
            mtime = (stat.st_mtime_ns, stat.st_ino, stat.st_size) if stat else None  # os.replace-proof
        except FileNotFoundError:
            mtime = None
        if mtime != self.mtime:
            self.mtime = mtime
            self.faults = []
            if mtime is not None:
                with open(self.path) as f:
                    self.faults = json.load(f).get("faults", [])

    def take(self, method, bucket, key):
        """The first matching fault with count left (its count decremented), or None."""
        with self.lock:
            self._reload()
            for fault in self.faults:
                if (fault.get("method", method).upper() == method and fault.get("bucket", bucket) == bucket
                        and key.startswith(fault.get("key_prefix", "")) and fault.get("count", 1) > 0):
                    if "count" in fault:
                        fault["count"] -= 1
                    return dict(fault)
        return None


class ResetConnection(ConnectionResetError):
    """Raised by the app so that the request handler drops the connection unanswered."""


class RequestHandler(WSGIRequestHandler):
    """werkzeug's handler, but answers ResetConnection with a TCP RST (SO_LINGER 0, close)."""

    def connection_dropped(self, error, environ=None):
        if isinstance(error, ResetConnection):
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            os.close(self.connection.detach())  # the rfile/wfile wrappers would keep it open
            self.close_connection = True


# --- The proxy -------------------------------------------------------------------------

def log(method, path, verdict):
    print(f"{method} {path} -> {verdict}", file=sys.stderr, flush=True)


def read_body(environ):
    """The whole body, also when it came chunked; moto then gets it with a Content-Length."""
    if environ.get("wsgi.input_terminated"):  # werkzeug de-chunked it
        body = environ["wsgi.input"].read()
        environ["CONTENT_LENGTH"] = str(len(body))
        return body
    length = int(environ.get("CONTENT_LENGTH") or 0)
    return environ["wsgi.input"].read(length) if length else b""


def check_digest(headers, body):
    """S3's Content-MD5 check of the body as received."""
    given = headers.get("content-md5")
    if given is None:
        return
    try:
        digest = base64.b64decode(given, validate=True)
    except ValueError:
        digest = b""
    if len(digest) != 16:
        raise Refusal("InvalidDigest", "The Content-MD5 you specified was invalid.", status=400)
    if digest != hashlib.md5(body).digest():
        raise Refusal("BadDigest", "The Content-MD5 you specified did not match what we received.", status=400)


def make_app(keys, faults, digest_check=True):
    moto = create_backend_app(SERVICE)

    def app(environ, start_response):
        method, raw_uri = environ["REQUEST_METHOD"], environ.get("RAW_URI", environ["PATH_INFO"])
        path = raw_uri.partition("?")[0]
        body = read_body(environ)
        headers = request_headers(environ)
        try:
            verify(environ, headers, body, keys)
        except Refusal as refusal:
            log(method, path, f"refused {refusal.status} {refusal.code}: {refusal.message}")
            return s3_error(start_response, refusal.status, refusal.code, refusal.message)

        bucket, _, key = unquote(path).lstrip("/").partition("/")
        fault = faults.take(method, bucket, key)
        if fault and fault.get("reset_connection"):
            log(method, path, "fault reset_connection")
            raise ResetConnection()
        if fault and "status" in fault:
            status = int(fault["status"])
            code = fault.get("code", FAULT_CODES.get(status, "InternalError"))
            log(method, path, f"fault {status} {code}")
            return s3_error(start_response, status, code, "injected by the test proxy")
        if fault and fault.get("corrupt_body") and body:
            log(method, path, "fault corrupt_body")
            body = bytes([body[0] ^ 0xFF]) + body[1:]
        if digest_check:
            try:
                check_digest(headers, body)
            except Refusal as refusal:
                log(method, path, f"refused {refusal.status} {refusal.code}: {refusal.message}")
                return s3_error(start_response, refusal.status, refusal.code, refusal.message)
        if fault and "delay_seconds" in fault:
            log(method, path, f"fault delay {fault['delay_seconds']}s")
            time.sleep(float(fault["delay_seconds"]))

        def record_status(status, response_headers, exc_info=None):
            log(method, path, f"forwarded {status.split(' ', 1)[0]}")
            return start_response(status, response_headers, exc_info)

        environ["wsgi.input"] = io.BytesIO(body)
        return moto(environ, record_status)

    return app


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--port-file", required=True, help="written with the port once serving")
    parser.add_argument("--port", type=int, default=0, help="default: a free port")
    parser.add_argument("--access-key", default="AKIDPROXYTEST")
    parser.add_argument("--secret-key", default="proxy-test-secret")
    parser.add_argument("--control-file", help="JSON fault injection, see the module doc")
    parser.add_argument("--no-digest-check", action="store_true", help="do not check Content-MD5 (benchmarks)")
    args = parser.parse_args()

    logging.getLogger("werkzeug").setLevel(logging.ERROR)  # our own line per request instead
    keys = Credentials(args.access_key, args.secret_key)
    server = make_server("127.0.0.1", args.port, make_app(keys, Faults(args.control_file), digest_check=not args.no_digest_check),
                         threaded=True, request_handler=RequestHandler)
    with open(args.port_file + ".tmp", "w") as f:
        f.write(str(server.server_port))
    os.replace(args.port_file + ".tmp", args.port_file)
    server.serve_forever()


if __name__ == "__main__":
    main()
