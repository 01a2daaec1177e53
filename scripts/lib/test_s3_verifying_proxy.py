#!/usr/bin/env python3
"""Self-test of s3_verifying_proxy.py: starts it on a free port with a control file and checks
header-signed (boto3) and presigned (raw http.client) requests, expiry, fault injection and the
Content-MD5 check.

    python3 scripts/lib/test_s3_verifying_proxy.py

Prints one line per check; exits 0 when all pass, 1 with the failure (and the proxy's log)
otherwise. Takes about 10 s.
"""

import base64
import hashlib
import http.client
import json
import os
import re
import subprocess
import sys
import tempfile
import time
from urllib.parse import urlsplit

import boto3
from botocore.auth import S3SigV4QueryAuth
from botocore.awsrequest import AWSRequest
from botocore.config import Config
from botocore.credentials import Credentials
from botocore.exceptions import ClientError

from selfcheck import CheckFailed, check, set_faults, start_proxy

PROXY = os.path.join(os.path.dirname(os.path.abspath(__file__)), "s3_verifying_proxy.py")
ACCESS, SECRET, REGION = "AKIDPROXYTEST", "proxy-test-secret", "us-east-1"
BUCKET = "wal-bucket"




# --- Clients -------------------------------------------------------------------------------

def s3_client(endpoint, access=ACCESS, secret=SECRET):
    """boto3 (header-signed SigV4, presigning with SigV4, no retries)."""
    return boto3.client("s3", endpoint_url=endpoint, region_name=REGION, aws_access_key_id=access,
                        aws_secret_access_key=secret,
                        config=Config(signature_version="s3v4", retries={"max_attempts": 1, "mode": "standard"}))


def error_code(call, *args, **kwargs):
    """The S3 error code `call` fails with, None if it succeeds."""
    try:
        call(*args, **kwargs)
        return None
    except ClientError as error:
        return error.response["Error"]["Code"]


def presign(endpoint, method, key, headers=None, expires=60):
    """A presigned URL signed with botocore's query signer; `headers` become signed headers."""
    request = AWSRequest(method=method, url=f"{endpoint}/{BUCKET}/{key}", headers=headers or {})
    S3SigV4QueryAuth(Credentials(ACCESS, SECRET), "s3", REGION, expires=expires).add_auth(request)
    return request.url


def raw(method, url, headers=None, body=None):
    """Sends exactly these headers; returns (status, S3 error code or None, error message, body)."""
    parts = urlsplit(url)
    connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=10)
    try:
        connection.request(method, parts.path + "?" + parts.query, body=body, headers=headers or {})
        response = connection.getresponse()
        data = response.read()
    finally:
        connection.close()
    code = re.search(rb"<Code>(.*?)</Code>", data)
    message = re.search(rb"<Message>(.*?)</Message>", data)
    return (response.status, code and code.group(1).decode(), message and message.group(1).decode(), data)


def with_key(url, key):
    """The same URL (signature and all) for another object."""
    parts = urlsplit(url)
    return parts._replace(path=parts.path.rsplit("/", 1)[0] + "/" + key).geturl()


# --- Checks --------------------------------------------------------------------------------

def check_header_signed(endpoint):
    s3 = s3_client(endpoint)
    s3.create_bucket(Bucket=BUCKET)
    s3.put_object(Bucket=BUCKET, Key="wals/000000010000000000000001", Body=b"segment-1")
    body = s3.get_object(Bucket=BUCKET, Key="wals/000000010000000000000001")["Body"].read()
    check(body == b"segment-1", "boto3 create_bucket/put_object/get_object")
    keys = [o["Key"] for o in s3.list_objects_v2(Bucket=BUCKET, Prefix="wals/").get("Contents", [])]
    check(keys == ["wals/000000010000000000000001"], "boto3 list_objects_v2 with a prefix", keys)
    code = error_code(s3_client(endpoint, secret="wrong").list_objects_v2, Bucket=BUCKET)
    check(code == "SignatureDoesNotMatch", "wrong secret -> SignatureDoesNotMatch", code)
    code = error_code(s3_client(endpoint, access="AKIDOTHER").list_objects_v2, Bucket=BUCKET)
    check(code == "InvalidAccessKeyId", "other access key -> InvalidAccessKeyId", code)
    status, code, _, _ = raw("GET", f"{endpoint}/{BUCKET}/wals/000000010000000000000001")
    check((status, code) == (403, "AccessDenied"), "no authentication -> 403 AccessDenied", (status, code))


def check_presigned_put(endpoint):
    url = presign(endpoint, "PUT", "wals/seg-2", {"if-none-match": "*"})
    signed = re.search(r"X-Amz-SignedHeaders=([^&]*)", url).group(1)
    check("if-none-match" in signed, "if-none-match is in X-Amz-SignedHeaders", signed)
    inm = {"If-None-Match": "*"}
    result = raw("PUT", url, inm, b"segment-2")
    check(result[0] == 200, "presigned PUT with signed If-None-Match: 200", result)
    result = raw("PUT", url, inm, b"segment-2 again")
    check(result[:2] == (412, "PreconditionFailed"), "second PUT to the same key: 412 PreconditionFailed", result)
    result = raw("PUT", with_key(url, "seg-other"), inm, b"x")
    check(result[:2] == (403, "SignatureDoesNotMatch"), "URL used for another key -> SignatureDoesNotMatch", result)
    fresh = presign(endpoint, "PUT", "wals/seg-3", {"if-none-match": "*"})
    result = raw("PUT", fresh, {}, b"x")
    check(result[:2] == (403, "SignatureDoesNotMatch"), "signed If-None-Match dropped -> SignatureDoesNotMatch", result)
    result = raw("PUT", fresh, {"If-None-Match": '"abc"'}, b"x")
    check(result[:2] == (403, "SignatureDoesNotMatch"), "If-None-Match value changed -> SignatureDoesNotMatch", result)
    result = raw("PUT", fresh, {**inm, "x-amz-meta-foo": "bar"}, b"x")
    check(result[:3] == (403, "AccessDenied", "There were headers present in the request which were not signed"),
          "unsigned x-amz-meta-foo -> AccessDenied (headers not signed)", result)
    md5 = base64.b64encode(hashlib.md5(b"segment-3").digest()).decode()
    result = raw("PUT", fresh, {**inm, "Content-MD5": md5, "Content-Type": "application/octet-stream"}, b"segment-3")
    check(result[0] == 200, "unsigned Content-MD5 and Content-Type accepted", result)


def check_presigned_get_head(endpoint):
    s3 = s3_client(endpoint)
    url = s3.generate_presigned_url("get_object", Params={"Bucket": BUCKET, "Key": "wals/seg-2"}, ExpiresIn=60)
    result = raw("GET", url)
    check(result[0] == 200 and result[3] == b"segment-2", "presigned GET (boto3 generate_presigned_url)", result)
    url = s3.generate_presigned_url("head_object", Params={"Bucket": BUCKET, "Key": "wals/seg-2"}, ExpiresIn=60)
    result = raw("HEAD", url)
    check(result[0] == 200, "presigned HEAD", result)
    url = s3.generate_presigned_url("list_objects_v2", Params={"Bucket": BUCKET, "Prefix": "wals/"}, ExpiresIn=60)
    result = raw("GET", url)
    check(result[0] == 200 and b"wals/seg-3" in result[3], "presigned listing with an encoded prefix", result[:2])
    result = raw("GET", presign(endpoint, "PUT", "wals/seg-2"))
    check(result[:2] == (403, "SignatureDoesNotMatch"), "GET with a PUT URL -> SignatureDoesNotMatch", result)


def check_expiry(endpoint):
    url = presign(endpoint, "GET", "wals/seg-2", expires=1)
    time.sleep(2.1)
    result = raw("GET", url)
    check(result[:3] == (403, "AccessDenied", "Request has expired"), "X-Amz-Expires=1 used after 2 s -> expired",
          result)
    result = raw("GET", presign(endpoint, "GET", "wals/seg-2", expires=604801))
    check(result[:3] == (403, "AccessDenied", "Request has expired"), "X-Amz-Expires > 604800 -> expired", result)


def check_faults(endpoint, control):
    set_faults(control, [{"method": "PUT", "key_prefix": "wals/", "status": 503, "count": 2}])
    url = presign(endpoint, "PUT", "wals/seg-4")
    result = raw("PUT", with_key(url, "seg-x"), {}, b"x")
    check(result[:2] == (403, "SignatureDoesNotMatch"), "bad signature under a fault is still 403", result)
    statuses = [raw("PUT", url, {}, b"segment-4")[:2] for _ in range(3)]
    check(statuses == [(503, "SlowDown"), (503, "SlowDown"), (200, None)], "2x 503 SlowDown, then 200", statuses)
    check(raw("PUT", presign(endpoint, "PUT", "other/x"), {}, b"x")[0] == 200, "key_prefix limits the fault")

    set_faults(control, [{"method": "GET", "status": 500, "count": 1}])
    url = presign(endpoint, "GET", "wals/seg-4")
    statuses = [raw("GET", url)[:2] for _ in range(2)]
    check(statuses == [(500, "InternalError"), (200, None)], "500 InternalError once, then 200", statuses)

    set_faults(control, [{"method": "GET", "delay_seconds": 1.5, "count": 1}])
    started = time.monotonic()
    result = raw("GET", url)
    elapsed = time.monotonic() - started
    check(result[0] == 200 and elapsed >= 1.5, f"delay fault: 200 after {elapsed:.1f} s", result[:2])

    set_faults(control, [{"method": "GET", "reset_connection": True, "count": 1}])
    try:
        result = raw("GET", url)
    except (ConnectionError, http.client.RemoteDisconnected) as error:
        result = error
    check(isinstance(result, (ConnectionError, http.client.RemoteDisconnected)),
          f"reset fault: connection dropped ({type(result).__name__})", result)
    check(raw("GET", url)[0] == 200, "after the reset fault: 200")
    os.remove(control)
    check(raw("GET", url)[0] == 200, "control file removed: no faults")


def check_digests(endpoint, control):
    body = b"segment-md5"
    md5 = lambda data: base64.b64encode(hashlib.md5(data).digest()).decode()  # noqa: E731
    url = presign(endpoint, "PUT", "wals/seg-md5")
    result = raw("PUT", url, {"Content-MD5": md5(b"other bytes")}, body)
    check(result[:2] == (400, "BadDigest"), "Content-MD5 of other bytes: 400 BadDigest", result)
    result = raw("PUT", url, {"Content-MD5": "bm90LWEtZGlnZXN0"}, body)
    check(result[:2] == (400, "InvalidDigest"), "Content-MD5 not of 16 bytes: 400 InvalidDigest", result)
    check(raw("GET", presign(endpoint, "GET", "wals/seg-md5"))[0] == 404, "a refused body is not stored")
    check(raw("PUT", url, {"Content-MD5": md5(body)}, body)[0] == 200, "the body's own Content-MD5: 200")

    set_faults(control, [{"method": "PUT", "corrupt_body": True}])
    url = presign(endpoint, "PUT", "wals/seg-damaged")
    result = raw("PUT", url, {"Content-MD5": md5(body)}, body)
    check(result[:2] == (400, "BadDigest"), "a body damaged on the way is refused by its Content-MD5", result)
    check(raw("PUT", url, {}, body)[0] == 200, "without Content-MD5 the damaged body is stored")
    stored = raw("GET", presign(endpoint, "GET", "wals/seg-damaged"))[3]
    check(stored != body and stored[1:] == body[1:], "... and it is the damaged one", stored)
    os.remove(control)


def main():
    with tempfile.TemporaryDirectory(prefix="s3-verifying-proxy-") as directory:
        process, endpoint, control, log = start_proxy(PROXY, directory)
        try:
            check_header_signed(endpoint)
            check_presigned_put(endpoint)
            check_presigned_get_head(endpoint)
            check_expiry(endpoint)
            check_faults(endpoint, control)
            check_digests(endpoint, control)
        except Exception as error:  # noqa: BLE001 - any failure ends the test with the log
            print(f"FAIL - {type(error).__name__}: {error}", file=sys.stderr)
            print(f"--- proxy log ---\n{open(log).read()[-3000:]}", file=sys.stderr)
            return 1
        finally:
            process.terminate()
            process.wait(timeout=10)
    print("all checks passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
