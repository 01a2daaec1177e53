#!/usr/bin/env python3
"""Writes Tests/Fixtures/azure/signing-vectors.json: test vectors for snapfleet's Swift signers of
Azure Blob Shared Key requests, service and user-delegation SAS, and Entra ID client assertions,
computed by Microsoft's own Python libraries wherever they can compute them.

    python3 scripts/lib/make_azure_vectors.py [--output FILE] [--certificate FILE]

Deterministic: every input is fixed (account snapfleettest, a key derived from a fixed string,
fixed dates, fixed block ids and delegation key), so re-running it rewrites the same file, except
for the PS256 assertion, whose PSS salt is random (it is a verify-only vector). The test
certificate (Tests/Fixtures/azure/test-certificate.pem: a self-signed RSA 2048 certificate, then
its unencrypted PKCS#8 key; test-only, never trusted anywhere) is generated the first time and
reused afterwards; delete it to make a new one (and the vectors change with it).

What each section holds and which code produced it:
  shared_key       requests signed by azure-storage-blob's SharedKeyCredentialPolicy (the string
                   to sign captured from the policy itself): method, url, path and query as sent,
                   every header (the Authorization header apart), body (text, when there is one),
                   string_to_sign and authorization. The SDK never sends the standard Range header
                   (it uses x-ms-range); the one vector with Range is produced by the stand-in's
                   shared_key_string_to_sign, which follows the Shared Key reference (producer
                   says so). The SDK-produced strings are checked against that function too.
  service_sas /    generate_blob_sas (account key, or a fixed UserDelegationKey) for sv 2026-10-06,
  user_delegation_sas   the installed SDK's version; the string to sign is captured with sts_hook.
                   Vectors for sv 2020-12-06 (the other layout the stand-in accepts) are produced by
                   the stand-in's sas_string_to_sign, since the SDK signs only its own version.
  client_assertion RS256 with x5t (SHA-1 thumbprint), as MSAL builds it when given a thumbprint
                   (azure-identity's CertificateCredential does that), deterministic; and PS256 with
                   x5t#S256, as MSAL builds it when given the certificate; both by
                   msal.oauth2cli.assertion.JwtAssertionCreator (MSAL over PyJWT). Fixed iat, nbf,
                   exp and jti; the signing input (header.payload, base64url) is given so a signer
                   can be checked byte for byte whatever its JSON key order.
Prints one line per vector section and the output path.
"""

import argparse
import base64
import datetime
import hashlib
import json
import os
import sys
from urllib.parse import quote, unquote, urlsplit

import jwt
import msal
import azure.storage.blob
from azure.core.pipeline import PipelineContext, PipelineRequest
from azure.core.pipeline.transport import HttpRequest
from azure.storage.blob import generate_blob_sas
from azure.storage.blob._shared.authentication import SharedKeyCredentialPolicy
from azure.storage.blob._shared.models import UserDelegationKey
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding
from msal.oauth2cli.assertion import JwtAssertionCreator

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from azure_standin import (ACCOUNT, hmac_b64, make_certificate, sas_canonical_resource,  # noqa: E402
                           sas_string_to_sign, shared_key_string_to_sign)

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
FIXTURES = os.path.join(ROOT, "Tests", "Fixtures", "azure")
KEY = base64.b64encode(hashlib.sha512(b"snapfleet azure signing vectors: not a real key").digest()).decode()
ENDPOINT = f"http://127.0.0.1:10000/{ACCOUNT}"
DATE = "Mon, 04 May 2026 10:00:00 GMT"
VERSION = azure.storage.blob._shared.constants.X_MS_VERSION
START = datetime.datetime(2026, 5, 4, 10, 0, 0, tzinfo=datetime.timezone.utc)
EXPIRY = datetime.datetime(2026, 5, 4, 11, 0, 0, tzinfo=datetime.timezone.utc)
TENANT = "1f2e3d4c-5b6a-4978-8695-a4b3c2d1e0f9"
CLIENT = "6a5b4c3d-2e1f-4a0b-9c8d-7e6f5a4b3c2d"


class CapturingPolicy(SharedKeyCredentialPolicy):
    def _add_authorization_header(self, request, string_to_sign):
        self.string_to_sign = string_to_sign
        super()._add_authorization_header(request, string_to_sign)


def blob_url(container, blob=None, query=""):
    path = f"/{ACCOUNT}/{container}" + (f"/{quote(blob, safe='~/')}" if blob is not None else "")
    return ENDPOINT.rsplit(f"/{ACCOUNT}", 1)[0] + path + (f"?{query}" if query else "")


def sdk_signed(name, method, url, headers, body=None):
    """A request signed by the SDK's SharedKeyCredentialPolicy, as a vector."""
    headers = {"x-ms-date": DATE, "x-ms-version": VERSION, **headers}
    request = HttpRequest(method, url, headers=dict(headers))
    policy = CapturingPolicy(ACCOUNT, KEY)
    policy.on_request(PipelineRequest(request, PipelineContext(None)))
    parts = urlsplit(url)
    own = shared_key_string_to_sign(method, parts.path, parts.query, list(headers.items()))
    if own != policy.string_to_sign:
        raise SystemExit(f"{name}: the stand-in's string to sign differs from the SDK's:\n{own!r}\n"
                         f"{policy.string_to_sign!r}")
    vector = {"name": name, "producer": f"azure-storage-blob {azure.storage.blob.__version__} "
                                        "SharedKeyCredentialPolicy",
              "method": method, "url": url, "path": parts.path, "query": parts.query,
              "headers": [[k, v] for k, v in headers.items()],
              "string_to_sign": policy.string_to_sign, "authorization": request.headers["Authorization"]}
    if body is not None:
        vector["body"] = body
    return vector


def shared_key_vectors():
    segment = b"WAL segment bytes, 16 MiB in real life\n"
    md5 = base64.b64encode(hashlib.md5(segment).digest()).decode()  # noqa: S324
    block_id = base64.b64encode(bytes([0xFB, 0xEF, 0xFF]) + b"block-00001").decode()  # has '+' and '/'
    block_list = (f'<?xml version="1.0" encoding="utf-8"?><BlockList><Latest>{block_id}</Latest>'
                  "</BlockList>")
    odd = "base/20260504T100000/data disk é+ü.json"
    vectors = [
        sdk_signed("put blob with Content-MD5, x-ms-blob-type and If-None-Match", "PUT",
                   blob_url("snapfleet", "pg-primary/wals/0000000100000000000000A2"),
                   {"Content-Length": str(len(segment)), "Content-Type": "application/octet-stream",
                    "Content-MD5": md5, "If-None-Match": "*", "x-ms-blob-type": "BlockBlob"},
                   segment.decode()),
        sdk_signed("get blob with x-ms-range", "GET", blob_url("snapfleet", "pg-primary/wals/0000000100000000000000A2"),
                   {"x-ms-range": "bytes=0-1048575"}),
        sdk_signed("head blob (Get Blob Properties)", "HEAD",
                   blob_url("snapfleet", "pg-primary/wals/0000000100000000000000A2"), {}),
        sdk_signed("delete blob", "DELETE", blob_url("snapfleet", "pg-primary/wals/0000000100000000000000A2"), {}),
        sdk_signed("list blobs with prefix, delimiter, marker and maxresults", "GET",
                   blob_url("snapfleet", query="restype=container&comp=list&prefix=" + quote("pg-primary/wals/", safe="")
                            + "&delimiter=%2F&marker=" + quote("2!cGctcHJpbWFyeS93YWxz", safe="") + "&maxresults=2"),
                   {}),
        sdk_signed("put block with a blockid holding '+' and '/'", "PUT",
                   blob_url("snapfleet", "pg-primary/base/20260504T100000/data.tar",
                            "comp=block&blockid=" + quote(block_id, safe="")),
                   {"Content-Length": "1048576", "Content-Type": "application/octet-stream"}),
        sdk_signed("put block list", "PUT", blob_url("snapfleet", "pg-primary/base/20260504T100000/data.tar",
                                                     "comp=blocklist"),
                   {"Content-Length": str(len(block_list)), "Content-Type": "application/xml",
                    "x-ms-blob-content-type": "application/x-tar"}, block_list),
        sdk_signed("put blob whose name has spaces, unicode and '+'", "PUT", blob_url("snapfleet", odd),
                   {"Content-Length": "2", "Content-Type": "application/json", "x-ms-blob-type": "BlockBlob",
                    "If-None-Match": "*", "x-ms-meta-snapfleet": "1"}, "{}"),
        sdk_signed("create container (Content-Length 0 signs as empty)", "PUT",
                   blob_url("snapfleet", query="restype=container"), {"Content-Length": "0"}),
    ]
    # The standard Range header: the SDK never sends it; the reference signs it in the 12th line.
    url = blob_url("snapfleet", "pg-primary/wals/0000000100000000000000A2")
    headers = {"x-ms-date": DATE, "x-ms-version": VERSION, "Range": "bytes=0-1048575"}
    parts = urlsplit(url)
    string_to_sign = shared_key_string_to_sign("GET", parts.path, parts.query, list(headers.items()))
    vectors.append({"name": "get blob with the standard Range header",
                    "producer": "azure_standin.shared_key_string_to_sign (the Authorize with Shared Key "
                                "reference; the Python SDK never sends Range)",
                    "method": "GET", "url": url, "path": parts.path, "query": parts.query,
                    "headers": [[k, v] for k, v in headers.items()], "string_to_sign": string_to_sign,
                    "authorization": f"SharedKey {ACCOUNT}:{hmac_b64(KEY, string_to_sign)}"})
    return vectors


def sas_vector(name, container, blob, permission, delegation=None, **extra):
    captured = []
    token = generate_blob_sas(ACCOUNT, container, blob, account_key=None if delegation else KEY,
                              user_delegation_key=delegation, permission=permission, start=START, expiry=EXPIRY,
                              protocol="https", sts_hook=captured.append, **extra)
    params = {k: unquote(v) for k, v in (pair.split("=", 1) for pair in token.split("&"))}
    own = sas_string_to_sign(params, sas_canonical_resource(ACCOUNT, container, blob, params["sr"]))
    if own != captured[0]:
        raise SystemExit(f"{name}: the stand-in's SAS string to sign differs from the SDK's:\n{own!r}\n{captured[0]!r}")
    return {"name": name, "producer": f"azure-storage-blob {azure.storage.blob.__version__} generate_blob_sas",
            "container": container, "blob": blob, "permission": permission,
            "start": START.strftime("%Y-%m-%dT%H:%M:%SZ"), "expiry": EXPIRY.strftime("%Y-%m-%dT%H:%M:%SZ"),
            "signed_version": params["sv"], "query": token, "string_to_sign": captured[0],
            "url": blob_url(container, blob, token)}


def own_sas_vector(name, container, blob, params, key):
    """A SAS for a version the SDK does not sign (2020-12-06), by the stand-in's implementation."""
    string_to_sign = sas_string_to_sign(params, sas_canonical_resource(ACCOUNT, container, blob, params["sr"]))
    signature = hmac_b64(key, string_to_sign)
    query = "&".join(f"{k}={quote(v, safe='')}" for k, v in params.items()) + f"&sig={quote(signature, safe='')}"
    return {"name": name, "producer": "azure_standin.sas_string_to_sign (the Create a service SAS / Create a "
                                      "user delegation SAS references, version 2020-12-06)",
            "container": container, "blob": blob, "permission": params["sp"], "start": params["st"],
            "expiry": params["se"], "signed_version": params["sv"], "query": query, "string_to_sign": string_to_sign,
            "url": blob_url(container, blob, query)}


def delegation_key():
    key = UserDelegationKey()
    key.signed_oid = "9a8b7c6d-5e4f-4a3b-2c1d-0e9f8a7b6c5d"
    key.signed_tid = TENANT
    key.signed_start = "2026-05-04T09:00:00Z"
    key.signed_expiry = "2026-05-05T09:00:00Z"
    key.signed_service = "b"
    key.signed_version = VERSION
    key.value = base64.b64encode(hashlib.sha256(b"snapfleet delegation key vector").digest()).decode()
    return key


def sas_vectors():
    wal = "pg-primary/wals/0000000100000000000000A2"
    service = [
        sas_vector("read one blob", "snapfleet", wal, "r"),
        sas_vector("create and write one blob (WAL upload)", "snapfleet", wal, "cw"),
        sas_vector("delete one blob", "snapfleet", wal, "d"),
        sas_vector("read with response header overrides", "snapfleet", "base/20260504T100000/backup.info", "r",
                   cache_control="no-cache", content_type="text/plain"),
        sas_vector("read a blob whose name has spaces, unicode and '+'", "snapfleet",
                   "base/20260504T100000/data disk é+ü.json", "r"),
        own_sas_vector("read one blob, sv 2020-12-06", "snapfleet", wal,
                       {"sp": "r", "st": "2026-05-04T10:00:00Z", "se": "2026-05-04T11:00:00Z", "spr": "https",
                        "sv": "2020-12-06", "sr": "b"}, KEY),
    ]
    key = delegation_key()
    delegated = [
        sas_vector("read one blob", "snapfleet", wal, "r", delegation=key),
        sas_vector("create and write one blob (WAL upload)", "snapfleet", wal, "cw", delegation=key),
        sas_vector("delete one blob", "snapfleet", wal, "d", delegation=key),
        own_sas_vector("create and write one blob, sv 2020-12-06", "snapfleet", wal,
                       {"sp": "cw", "st": "2026-05-04T10:00:00Z", "se": "2026-05-04T11:00:00Z",
                        "skoid": key.signed_oid, "sktid": key.signed_tid, "skt": key.signed_start,
                        "ske": key.signed_expiry, "sks": "b", "skv": "2020-12-06", "spr": "https",
                        "sv": "2020-12-06", "sr": "b"}, key.value),
    ]
    key_json = {"signed_oid": key.signed_oid, "signed_tid": key.signed_tid, "signed_start": key.signed_start,
                "signed_expiry": key.signed_expiry, "signed_service": key.signed_service,
                "signed_version": key.signed_version, "value": key.value}
    return service, {"key": key_json, "vectors": delegated}


def certificate(path):
    if not os.path.exists(path):
        with open(path, "wb") as f:
            f.write(make_certificate("snapfleet-test-vectors (test only)", days=36500))
        print(f"generated {os.path.relpath(path, ROOT)}")
    with open(path, "rb") as f:
        pem = f.read()
    return pem, x509.load_pem_x509_certificate(pem), serialization.load_pem_private_key(pem, None)


def assertion_vectors(cert_path):
    pem, cert, key = certificate(cert_path)
    der = cert.public_bytes(serialization.Encoding.DER)
    sha1, sha256 = hashlib.sha1(der).hexdigest(), hashlib.sha256(der).hexdigest()  # noqa: S324
    audience = f"https://login.microsoftonline.com/{TENANT}/oauth2/v2.0/token"
    claims = dict(audience=audience, issuer=CLIENT, issued_at=1777888800, not_before=1777888800,
                  expires_at=1777889400, assertion_id="0c1d2e3f-4a5b-4c6d-8e7f-9a0b1c2d3e4f")
    key_pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                serialization.NoEncryption())
    vectors = []
    for algorithm, creator in (("RS256", JwtAssertionCreator(key_pem, "RS256", sha1_thumbprint=sha1)),
                               ("PS256", JwtAssertionCreator(key_pem, "PS256", sha256_thumbprint=sha256))):
        token = creator.create_normal_assertion(**claims).decode()
        header_b64, payload_b64, signature_b64 = token.split(".")
        pad = lambda s: s + "=" * (-len(s) % 4)  # noqa: E731
        signature = base64.urlsafe_b64decode(pad(signature_b64))
        signing_input = f"{header_b64}.{payload_b64}".encode()
        if algorithm == "RS256":
            cert.public_key().verify(signature, signing_input, padding.PKCS1v15(), hashes.SHA256())
        else:
            cert.public_key().verify(signature, signing_input,
                                     padding.PSS(mgf=padding.MGF1(hashes.SHA256()), salt_length=32), hashes.SHA256())
        vectors.append({
            "algorithm": algorithm, "deterministic": algorithm == "RS256",
            "producer": f"msal {msal.__version__} msal.oauth2cli.assertion.JwtAssertionCreator over PyJWT "
                        f"{jwt.__version__} ({'MSAL given a SHA-1 thumbprint, as azure-identity CertificateCredential' if algorithm == 'RS256' else 'MSAL given the public certificate'})",
            "header": json.loads(base64.urlsafe_b64decode(pad(header_b64))),
            "claims": json.loads(base64.urlsafe_b64decode(pad(payload_b64))),
            "signing_input": signing_input.decode(), "signature": signature_b64, "assertion": token})
    return {"certificate_path": os.path.relpath(cert_path, ROOT), "client_id": CLIENT, "tenant_id": TENANT,
            "token_endpoint": audience, "sha1_thumbprint_hex": sha1, "sha256_thumbprint_hex": sha256,
            "x5t": base64.urlsafe_b64encode(bytes.fromhex(sha1)).decode().rstrip("="),
            "x5t#S256": base64.urlsafe_b64encode(bytes.fromhex(sha256)).decode().rstrip("="),
            "note": "MSAL sends x5t / x5t#S256 with base64 '=' padding (as in the headers below); Entra and the "
                    "stand-in accept them with or without it.",
            "vectors": vectors}


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--output", default=os.path.join(FIXTURES, "signing-vectors.json"))
    parser.add_argument("--certificate", default=os.path.join(FIXTURES, "test-certificate.pem"))
    args = parser.parse_args()
    os.makedirs(os.path.dirname(args.output), exist_ok=True)
    shared_key = shared_key_vectors()
    print(f"shared_key: {len(shared_key)} vectors")
    service, delegated = sas_vectors()
    print(f"service_sas: {len(service)} vectors; user_delegation_sas: {len(delegated['vectors'])} vectors")
    assertion = assertion_vectors(args.certificate)
    print(f"client_assertion: {len(assertion['vectors'])} vectors")
    document = {
        "about": "Test vectors for snapfleet's Azure signers; see scripts/lib/make_azure_vectors.py. Test-only "
                 "account key, delegation key and certificate.",
        "account": ACCOUNT, "account_key": KEY, "x_ms_date": DATE, "x_ms_version": VERSION,
        "shared_key": shared_key, "service_sas": service, "user_delegation_sas": delegated,
        "client_assertion": assertion}
    with open(args.output + ".tmp", "w") as f:
        json.dump(document, f, indent=2, ensure_ascii=False)
        f.write("\n")
    os.replace(args.output + ".tmp", args.output)
    print(f"wrote {os.path.relpath(args.output, ROOT)}")


if __name__ == "__main__":
    main()
