#!/usr/bin/env python3
"""A forwarding proxy in front of moto (EC2, S3, IAM on one port) that loses the cloud's answers
on demand: "the cloud acted, but its reply never arrived".

    python3 scripts/lib/ec2_fault_proxy.py --upstream http://127.0.0.1:PORT --port-file FILE
        [--port N] [--control-file FILE]

It listens on 127.0.0.1 (a free port unless --port) and writes the port to --port-file once it
serves. Every request goes to --upstream unchanged: method, raw path and query, every header
(Host too: moto checks the SigV4 signature over the Host header as it receives it, and the
client signed the proxy's address) and the body; the upstream's answer comes back unchanged
(except hop-by-hop Connection/Keep-Alive/Transfer-Encoding headers: the body is re-sent with a
Content-Length). Requests are served in parallel, each on its own upstream connection.

Fault injection: --control-file is JSON, re-read whenever its mtime (or inode, or size)
changes; an absent file means no faults. Write it atomically (temporary file + rename):

    {"faults": [
      {"action": "CreateSnapshot", "after_forward": "status", "status": 503, "count": 1},
      {"action": "CreateSnapshot", "after_forward": "reset", "count": 1},
      {"action": "DeleteSnapshot", "status": 500, "code": "InternalError"},
      {"action": "DescribeSnapshots", "delay_seconds": 2, "count": 1},
      {"method": "PUT", "status": 503, "count": 2}
    ]}

Match fields (all optional; a fault without any matches every request):
  action  the EC2 (or IAM) `Action` parameter, from the form-encoded body or the query string
          (S3 requests have none, so a fault with an action never matches them);
  method  the HTTP method.
The first matching fault whose count is > 0 (no count = unlimited) applies, and its count drops
by one (in memory; rewriting the file resets the counts).

What a fault does, in this order:
  delay_seconds           sleep, then go on (alone: forward after the delay);
  "status" (no after_forward)
                          answer that status WITHOUT forwarding: the cloud never saw it;
  "after_forward": "status"
                          forward, let moto act, discard its answer and reply with "status"
                          (default 503) instead;
  "after_forward": "reset"
                          forward, let moto act, then close the client's connection with a TCP
                          RST (SO_LINGER 0) without any answer.
Error answers are EC2's document for requests with an Action,
    <Response><Errors><Error><Code>..</Code><Message>..</Message></Error></Errors>
    <RequestID>..</RequestID></Response>
and S3's <Error><Code>..</Code><Message>..</Message><RequestId>..</RequestId></Error> otherwise.
The code is Unavailable for 503 and InternalError for 500 (EC2's codes; S3 gets
ServiceUnavailable and InternalError); "code" overrides it.

One line per request goes to stderr:
    ACTION/METHOD PATH -> forwarded STATUS | fault ...
(METHOD PATH alone when the request has no Action), e.g.
    CreateSnapshot/POST / -> fault after_forward: forwarded 200, answered 503 Unavailable
Stdlib only.
"""

import argparse
import http.client
import json
import os
import socket
import struct
import sys
import threading
import time
import uuid
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

EC2_CODES = {500: "InternalError", 503: "Unavailable"}
S3_CODES = {500: "InternalError", 503: "ServiceUnavailable"}
HOP_BY_HOP = {"connection", "keep-alive", "transfer-encoding"}
UPSTREAM_TIMEOUT_SECONDS = 300  # moto may be told to take its time (create-delay-seconds)
FAULT_MESSAGE = "injected by snapfleet's ec2_fault_proxy"


def log(line):
    """One line on stderr, flushed at once (the log is read while the proxy runs)."""
    print(line, file=sys.stderr, flush=True)


# --- Fault injection -------------------------------------------------------------------


class Faults:
    """The control file's faults, re-read when the file changes; counts kept in memory."""

    def __init__(self, path):
        self.path, self.version, self.faults, self.lock = path, None, [], threading.Lock()

    def _reload(self):
        """Reads the file again if its mtime, inode or size changed since the last read."""
        try:
            stat = os.stat(self.path) if self.path else None
        except FileNotFoundError:
            stat = None
        # The inode too: a rename within one mtime tick still gives a new inode.
        version = (stat.st_mtime_ns, stat.st_ino, stat.st_size) if stat else None
        if version == self.version:
            return
        if version is None:
            self.version, self.faults = None, []
            return
        try:
            with open(self.path) as f:
                faults = json.load(f).get("faults", [])
        except (OSError, ValueError, AttributeError) as error:
            # Not recorded as read: a half-written file is tried again on the next request.
            log(f"control file {self.path} unreadable, no faults: {error}")
            self.faults = []
            return
        self.version, self.faults = version, faults

    def take(self, action, method):
        """The first matching fault with count left (its count decremented), or None."""
        with self.lock:
            self._reload()
            for fault in self.faults:
                if fault.get("action", action) != action or fault.get("method", method).upper() != method:
                    continue
                if fault.get("count", 1) <= 0:
                    continue
                if "count" in fault:
                    fault["count"] -= 1
                return dict(fault)
        return None


# --- Requests and answers --------------------------------------------------------------


def action_of(target, headers, body):
    """The request's `Action` parameter (form body first, then query string), or None."""
    content_type = headers.get("Content-Type", "")
    if content_type.startswith("application/x-www-form-urlencoded") and body:
        actions = parse_qs(body.decode("utf-8", "replace")).get("Action")
        if actions:
            return actions[0]
    actions = parse_qs(urlsplit(target).query).get("Action")
    return actions[0] if actions else None


def error_document(action, status, code):
    """EC2's error XML for an EC2 request (one with an Action), S3's otherwise."""
    request_id = str(uuid.uuid4())
    if action:
        return (
            '<?xml version="1.0" encoding="UTF-8"?>\n'
            f"<Response><Errors><Error><Code>{code}</Code><Message>{FAULT_MESSAGE}</Message></Error></Errors>"
            f"<RequestID>{request_id}</RequestID></Response>"
        ).encode()
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        f"<Error><Code>{code}</Code><Message>{FAULT_MESSAGE}</Message><RequestId>{request_id}</RequestId></Error>"
    ).encode()


def fault_code(fault, action, status):
    """The error code a status fault answers with: its own "code", else the service's usual one."""
    usual = (EC2_CODES if action else S3_CODES).get(status)
    return fault.get("code") or usual or ("InternalError" if status >= 500 else "InvalidRequest")


def status_phrase(status):
    """The reason phrase for a status line ("Service Unavailable"), "Error" for unknown ones."""
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Error"


class ProxyHandler(BaseHTTPRequestHandler):
    """Forwards each request to the upstream, applying the control file's faults."""

    protocol_version = "HTTP/1.1"  # keep-alive like AWS; also answers Expect: 100-continue
    server_version = "ec2-fault-proxy"

    def log_message(self, format, *args):
        """Silences http.server's own access log: do_request logs one line per request instead."""

    def do_request(self):
        """Handles any method: read, match a fault, forward or not, answer or not."""
        body, raw_body = self.read_body()
        action = action_of(self.path, self.headers, body)
        label = f"{action}/{self.command} {urlsplit(self.path).path}" if action else f"{self.command} {urlsplit(self.path).path}"
        # Logged on arrival, so that a test can act while the request is still in flight.
        log(f"received {action or self.command}")
        fault = self.server.faults.take(action, self.command) or {}
        prefix = ""
        if "delay_seconds" in fault:
            time.sleep(float(fault["delay_seconds"]))
            prefix = f"fault delay {fault['delay_seconds']}s, "
        after_forward = fault.get("after_forward")
        if after_forward not in (None, "status", "reset"):
            # A typo must fail the test that relies on it, not pass silently unfaulted.
            log(f"{label} -> bad fault, after_forward must be status or reset: {fault}")
            self.answer_error(action, 500, "InvalidFault")
            return
        if "status" in fault and after_forward is None:
            status = int(fault["status"])
            code = fault_code(fault, action, status)
            log(f"{label} -> {prefix}fault {status} {code} (not forwarded)")
            self.answer_error(action, status, code)
            return
        try:
            status, reason, headers, answer = self.forward(raw_body)
        except OSError as error:
            log(f"{label} -> {prefix}upstream failed: {error}")
            self.answer_error(action, 502, "InternalError")
            return
        if after_forward == "reset":
            log(f"{label} -> {prefix}fault after_forward: forwarded {status}, connection reset")
            self.reset_connection()
        elif after_forward == "status":
            fault_status = int(fault.get("status", 503))
            code = fault_code(fault, action, fault_status)
            log(f"{label} -> {prefix}fault after_forward: forwarded {status}, answered {fault_status} {code}")
            self.answer_error(action, fault_status, code)
        else:
            log(f"{label} -> {prefix}forwarded {status}")
            self.answer(status, reason, headers, answer)

    do_GET = do_PUT = do_POST = do_HEAD = do_DELETE = do_OPTIONS = do_PATCH = do_request

    def read_body(self):
        """The body as sent (raw, to forward) and decoded (to find the Action)."""
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            return self.read_chunked()
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        return body, body

    def read_chunked(self):
        """A chunked body, kept byte for byte (the upstream gets the same chunks) and decoded."""
        raw, decoded = bytearray(), bytearray()
        while True:
            size_line = self.rfile.readline()
            raw += size_line
            size = int(size_line.split(b";", 1)[0].strip() or b"0", 16)
            if size == 0:
                break
            chunk = self.rfile.read(size + 2)  # the data and its CRLF
            raw += chunk
            decoded += chunk[:size]
        while True:  # trailers, up to the empty line
            line = self.rfile.readline()
            raw += line
            if line in (b"\r\n", b"\n", b""):
                break
        return bytes(decoded), bytes(raw)

    def forward(self, raw_body):
        """Sends the request unchanged upstream; returns (status, reason, headers, body)."""
        upstream = self.server.upstream
        connection = http.client.HTTPConnection(upstream.hostname, upstream.port, timeout=UPSTREAM_TIMEOUT_SECONDS)
        try:
            # skip_host / skip_accept_encoding: only the client's own headers, Host included.
            connection.putrequest(self.command, self.path, skip_host=True, skip_accept_encoding=True)
            for name, value in self.headers.items():
                connection.putheader(name, value)
            connection.endheaders(raw_body or None)
            response = connection.getresponse()
            answer = response.read()
            return response.status, response.reason, response.getheaders(), answer
        finally:
            connection.close()

    def answer(self, status, reason, headers, body):
        """Relays the upstream's answer; a chunked body goes with a Content-Length instead."""
        chunked = any(name.lower() == "transfer-encoding" for name, _ in headers)
        has_length = False
        self.send_response_only(status, reason)
        for name, value in headers:
            lower = name.lower()
            if lower in HOP_BY_HOP or (chunked and lower == "content-length"):
                continue
            has_length = has_length or lower == "content-length"
            self.send_header(name, value)
        if not has_length:
            self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def answer_error(self, action, status, code):
        """An EC2 (or S3) error document with this status and code."""
        document = error_document(action, status, code)
        self.send_response_only(status, status_phrase(status))
        self.send_header("Content-Type", "text/xml;charset=UTF-8" if action else "application/xml")
        self.send_header("Content-Length", str(len(document)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(document)

    def reset_connection(self):
        """Drops the client's connection with a TCP RST and no answer (SO_LINGER on, 0 seconds)."""
        self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        # socketserver would shut the socket down (a FIN) before closing it: close the descriptor
        # now instead, so that the close itself sends the RST; the detached object is then inert.
        os.close(self.connection.detach())
        self.close_connection = True


class ProxyServer(ThreadingHTTPServer):
    """One thread per client connection; threads do not keep the process alive."""

    daemon_threads = True

    def __init__(self, port, upstream, faults):
        super().__init__(("127.0.0.1", port), ProxyHandler)
        self.upstream, self.faults = upstream, faults


def main():
    """Parses the arguments, starts serving, writes the port file."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--upstream", required=True, help="moto's endpoint, http://127.0.0.1:PORT")
    parser.add_argument("--port-file", required=True, help="written with the port once serving")
    parser.add_argument("--port", type=int, default=0, help="default: a free port")
    parser.add_argument("--control-file", help="JSON fault injection, see the module doc")
    args = parser.parse_args()

    upstream = urlsplit(args.upstream)
    if upstream.scheme != "http" or not upstream.hostname or not upstream.port:
        parser.error(f"--upstream must be http://HOST:PORT, not {args.upstream}")
    server = ProxyServer(args.port, upstream, Faults(args.control_file))
    # The socket already listens: connections made from now on wait in its backlog.
    with open(args.port_file + ".tmp", "w") as f:
        f.write(str(server.server_port))
    os.replace(args.port_file + ".tmp", args.port_file)
    server.serve_forever()


if __name__ == "__main__":
    main()
