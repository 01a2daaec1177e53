#!/usr/bin/env python3
"""Writes the Google signing test vectors that snapfleet's Swift signer is checked against,
made by Google's own Python libraries with a fixed clock:

    python3 scripts/lib/make_gcp_vectors.py [--new-key] [--check]

  Tests/Fixtures/gcp/test-service-account.json
      A throwaway service-account key in Google's key-file format, for tests only: its
      client_email is test-signer@snapfleet-test.iam.gserviceaccount.com, its private_key_id
      says test-only, and no Google project knows it. Made once with --new-key (or when
      absent); re-running the script without --new-key keeps it, so the vectors stay the same.
  Tests/Fixtures/gcp/signing-vectors.json
      "signed_urls": V4 signed URLs from google-cloud-storage's
          _signing.generate_signed_url_v4 (what Blob.generate_signed_url(version="v4") calls),
          with its _request_timestamp argument fixing X-Goog-Date. Each case records its
          inputs (bucket, object, resource as the library quotes it, method, headers,
          content_md5, content_type, expiration_seconds, timestamp, endpoint, signer email)
          and the full URL; also the canonical request and string to sign, rebuilt from the
          library's helpers and checked against the string the library signed.
      "jwt_assertions": OAuth 2.0 JWT-bearer assertions from google-auth
          (service_account.Credentials._make_authorization_grant_assertion) with
          google.auth._helpers.utcnow frozen: inputs (iat, exp, scopes, aud, kid, iss), the exact
          JSON text of header and claims (google-auth's json.dumps spacing and key order) and
          the JWT. google-auth's audience is always https://oauth2.googleapis.com/token, whatever
          the key file's token_uri.
      "debug": the canonical request and string to sign of the first signed-URL case, spelled
          out line by line.
  RSA PKCS#1 v1.5 signatures are deterministic, so the Swift side can reproduce every byte.

--check regenerates in memory and exits 1 if the committed vectors differ (library versions
aside), without writing anything. Needs google-cloud-storage 3.x, google-auth, cryptography.
"""

import argparse
import base64
import datetime
import hashlib
import json
import os
import secrets
import sys
import urllib.parse
from importlib import metadata
from unittest import mock

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from google.auth import _helpers as auth_helpers
from google.cloud.storage import _signing
from google.cloud.storage.blob import _quote
from google.oauth2 import service_account

ROOT = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))
FIXTURES = os.path.join(ROOT, "Tests", "Fixtures", "gcp")
KEY_FILE = os.path.join(FIXTURES, "test-service-account.json")
VECTORS_FILE = os.path.join(FIXTURES, "signing-vectors.json")
SIGNER = "test-signer@snapfleet-test.iam.gserviceaccount.com"
TIMESTAMP = "20261207T092801Z"
WAL = "pg-main/wals/0000000100000000/000000010000000000000042"
MD5_OF_SEGMENT = base64.b64encode(hashlib.md5(b"segment 42").digest()).decode()

# (case name, bucket, object, method, headers, content_md5, content_type, expiration, endpoint)
URL_CASES = [
    ("put-wal-if-generation-match", "snapfleet-wal", WAL, "PUT",
     {"x-goog-if-generation-match": "0"}, None, "application/octet-stream", 900, "https://storage.googleapis.com"),
    ("put-with-content-md5", "snapfleet-wal", WAL, "PUT",
     {"x-goog-if-generation-match": "0"}, MD5_OF_SEGMENT, "application/octet-stream", 900,
     "https://storage.googleapis.com"),
    ("put-content-type-as-header", "snapfleet-wal", WAL + ".partial", "PUT",
     {"X-Goog-If-Generation-Match": "0", "Content-Type": "application/octet-stream"}, None, None, 3600,
     "https://storage.googleapis.com"),
    ("put-no-precondition", "snapfleet-wal", "pg-main/base/20261207T092801/backup_label", "PUT",
     {}, None, "text/plain", 600, "https://storage.googleapis.com"),
    ("get-wal", "snapfleet-wal", WAL, "GET", {}, None, None, 900, "https://storage.googleapis.com"),
    ("head-wal", "snapfleet-wal", WAL, "HEAD", {}, None, None, 900, "https://storage.googleapis.com"),
    ("get-max-expiry", "snapfleet-wal", WAL, "GET", {}, None, None, 604800, "https://storage.googleapis.com"),
    ("get-loopback-endpoint-with-port", "snapfleet-wal", WAL, "GET", {}, None, None, 300, "http://127.0.0.1:48123"),
    ("put-loopback-endpoint-with-port", "snapfleet-wal", WAL, "PUT",
     {"x-goog-if-generation-match": "0"}, None, "application/octet-stream", 300, "http://127.0.0.1:48123"),
    ("object-with-spaces", "snapfleet-wal", "pg main/base backup/backup label", "GET", {}, None, None, 900,
     "https://storage.googleapis.com"),
    ("object-with-tilde-and-plus", "snapfleet-wal", "pg-main/~archive/a+b=c&d.tar", "PUT",
     {"x-goog-if-generation-match": "0"}, None, "application/octet-stream", 900, "https://storage.googleapis.com"),
    ("object-with-unicode", "snapfleet-wal", "données/été-ü/ß€日本.txt", "GET", {}, None, None, 900,
     "https://storage.googleapis.com"),
    ("object-with-percent-and-question-mark", "snapfleet-wal", "odd/100%?#;name", "HEAD", {}, None, None, 900,
     "https://storage.googleapis.com"),
    ("header-with-inner-spaces", "snapfleet-wal", WAL, "PUT",
     {"x-goog-meta-note": "  two   spaces  inside ", "x-goog-if-generation-match": "0"}, None,
     "application/octet-stream", 900, "https://storage.googleapis.com"),
]

# (case name, scopes, frozen clock, subject)
JWT_CASES = [
    ("cloud-platform", ["https://www.googleapis.com/auth/cloud-platform"], datetime.datetime(2026, 12, 7, 9, 28, 1)),
    ("compute-and-storage", ["https://www.googleapis.com/auth/compute",
                             "https://www.googleapis.com/auth/devstorage.read_write"],
     datetime.datetime(2026, 12, 7, 9, 28, 1)),
    ("other-instant", ["https://www.googleapis.com/auth/cloud-platform"], datetime.datetime(2027, 1, 31, 23, 59, 59)),
]


def new_key_file():
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                            serialization.NoEncryption()).decode()
    document = {
        "type": "service_account",
        "project_id": "snapfleet-test",
        "private_key_id": "test-only-" + secrets.token_hex(15),
        "private_key": pem,
        "client_email": SIGNER,
        "client_id": "100000000000000000001",
        "auth_uri": "https://accounts.google.com/o/oauth2/auth",
        "token_uri": "https://oauth2.googleapis.com/token",
        "auth_provider_x509_cert_url": "https://www.googleapis.com/oauth2/v1/certs",
        "client_x509_cert_url": "https://www.googleapis.com/robot/v1/metadata/x509/"
                                + urllib.parse.quote(SIGNER, safe=""),
        "universe_domain": "googleapis.com",
    }
    os.makedirs(FIXTURES, exist_ok=True)
    with open(KEY_FILE, "w") as f:
        json.dump(document, f, indent=2)
        f.write("\n")


def canonical_parts(resource, method, headers, content_md5, content_type, expiration, endpoint, credential):
    """The canonical request and scope as generate_signed_url_v4 builds them, from its own helpers."""
    headers = dict(headers)
    if content_type is not None:
        headers["Content-Type"] = content_type
    if content_md5 is not None:
        headers["Content-MD5"] = content_md5
    if "host" not in [k.lower() for k in headers]:
        headers["Host"] = urllib.parse.urlparse(endpoint).netloc
    canonical_headers, ordered = _signing.get_canonical_headers(headers)
    signed_headers = ";".join(k for k, _ in ordered)
    query = {"X-Goog-Algorithm": "GOOG4-RSA-SHA256", "X-Goog-Credential": credential, "X-Goog-Date": TIMESTAMP,
             "X-Goog-Expires": expiration, "X-Goog-SignedHeaders": signed_headers}
    return "\n".join([method, resource, _signing._url_encode(query), "\n".join(canonical_headers) + "\n",
                      signed_headers, "UNSIGNED-PAYLOAD"])


def signed_url_vectors(credentials):
    vectors = []
    for name, bucket, blob, method, headers, content_md5, content_type, expiration, endpoint in URL_CASES:
        resource = f"/{bucket}/{_quote(blob, safe=b'/~')}"
        signed = []
        original = credentials.sign_bytes

        def recording_sign(message, original=original, signed=signed):
            signed.append(message.decode("ascii"))
            return original(message)

        with mock.patch.object(credentials, "sign_bytes", recording_sign):
            url = _signing.generate_signed_url_v4(credentials, resource, expiration, api_access_endpoint=endpoint,
                                                  method=method, headers=dict(headers), content_md5=content_md5,
                                                  content_type=content_type, _request_timestamp=TIMESTAMP)
        credential = f"{SIGNER}/{TIMESTAMP[:8]}/auto/storage/goog4_request"
        canonical = canonical_parts(resource, method, headers, content_md5, content_type, expiration, endpoint,
                                    credential)
        string_to_sign = signed[0]
        if string_to_sign.rsplit("\n", 1)[1] != hashlib.sha256(canonical.encode()).hexdigest():
            raise SystemExit(f"{name}: the rebuilt canonical request does not match what the library signed")
        vectors.append({
            "name": name,
            "inputs": {"bucket": bucket, "object": blob, "resource": resource, "method": method,
                       "headers": headers, "content_md5": content_md5, "content_type": content_type,
                       "expiration_seconds": expiration, "timestamp": TIMESTAMP, "endpoint": endpoint,
                       "signer_email": SIGNER},
            "canonical_request": canonical,
            "string_to_sign": string_to_sign,
            "signature": urllib.parse.parse_qs(urllib.parse.urlsplit(url).query)["X-Goog-Signature"][0],
            "url": url,
        })
    return vectors


def jwt_vectors(info):
    vectors = []
    for name, scopes, now in JWT_CASES:
        credentials = service_account.Credentials.from_service_account_info(info, scopes=scopes)
        with mock.patch.object(auth_helpers, "utcnow", return_value=now):
            assertion = credentials._make_authorization_grant_assertion()
        assertion = assertion.decode() if isinstance(assertion, bytes) else assertion
        header, claims, _ = assertion.split(".")
        pad = lambda s: s + "=" * (-len(s) % 4)  # noqa: E731
        iat = int(now.replace(tzinfo=datetime.timezone.utc).timestamp())
        vectors.append({
            "name": name,
            "inputs": {"iat": iat, "exp": iat + 3600, "scopes": scopes,
                       "aud": json.loads(base64.urlsafe_b64decode(pad(claims)))["aud"],
                       "kid": info["private_key_id"], "iss": info["client_email"]},
            "header_json": base64.urlsafe_b64decode(pad(header)).decode(),
            "claims_json": base64.urlsafe_b64decode(pad(claims)).decode(),
            "assertion": assertion,
        })
    return vectors


def build():
    with open(KEY_FILE) as f:
        info = json.load(f)
    credentials = service_account.Credentials.from_service_account_info(info)
    urls = signed_url_vectors(credentials)
    first = urls[0]
    return {
        "note": "test-only vectors for Tests/Fixtures/gcp/test-service-account.json; regenerate with "
                             "python3 scripts/lib/make_gcp_vectors.py",
        "generator": {"google-cloud-storage": metadata.version("google-cloud-storage"),
                      "google-auth": metadata.version("google-auth")},
        "signed_urls": urls,
        "jwt_assertions": jwt_vectors(info),
        "debug": {"case": first["name"], "canonical_request_lines": first["canonical_request"].split("\n"),
                  "string_to_sign_lines": first["string_to_sign"].split("\n")},
    }


def comparable(vectors):
    return {key: value for key, value in vectors.items() if key != "generator"}


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--new-key", action="store_true", help="replace the throwaway key (changes every vector)")
    parser.add_argument("--check", action="store_true", help="compare with the committed vectors, write nothing")
    args = parser.parse_args()
    if args.check:
        with open(VECTORS_FILE) as f:
            same = comparable(json.load(f)) == comparable(build())
        print("signing vectors up to date" if same else "signing vectors differ from the libraries' output")
        return 0 if same else 1
    if args.new_key or not os.path.exists(KEY_FILE):
        new_key_file()
    vectors = build()
    with open(VECTORS_FILE + ".tmp", "w") as f:
        json.dump(vectors, f, indent=2, ensure_ascii=False)
        f.write("\n")
    os.replace(VECTORS_FILE + ".tmp", VECTORS_FILE)
    print(f"wrote {os.path.relpath(VECTORS_FILE, ROOT)}: {len(vectors['signed_urls'])} signed URLs, "
          f"{len(vectors['jwt_assertions'])} JWT assertions")
    return 0


if __name__ == "__main__":
    sys.exit(main())
