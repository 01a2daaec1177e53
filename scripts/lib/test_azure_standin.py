#!/usr/bin/env python3
"""Self-test of azure_standin.py: starts it (with --page-size 2, so that paging shows) and checks
it with Microsoft's own Python SDKs where they exist, raw HTTP elsewhere:

  * Entra ID: azure.identity ClientSecretCredential and CertificateCredential (RS256, x5t) and MSAL
    given the certificate (PS256, x5t#S256) get tokens through a test shim (azure-identity and MSAL
    accept https authorities only: a requests.Session that sends https://127.0.0.1:PORT requests
    to http://127.0.0.1:PORT with X-Forwarded-Proto: https, passed as their transport / http_client,
    instance discovery disabled); every refusal (bad secret, unknown client, wrong tenant, bad scope,
    foreign certificate, tampered / expired / mis-addressed / jti-less assertions) has its code;
    IMDS answers as IMDS does.
  * ARM with raw HTTP and bearer tokens: each rejection (no token, unknown token, storage token,
    expired token from a second stand-in started with --token-lifetime 1, missing and unknown
    api-version, wrong subscription and resource group, missing resource, bad JSON, no location,
    bad name, unsupported media type); the whole snapshot life (create with tags, async-operation
    polling by Azure-AsyncOperation and by Location, the background copy, when the contents are
    fixed, list with nextLink, a disk from the snapshot, failed and refused creations, deletes);
    attach at a LUN and detach, with each refusal; faults before and after acting.
  * Blob: azure.storage.blob with the shared key (create container, upload twice with
    overwrite=False, blocks, paging, delimiter, ranged download, properties, delete), raw Content-MD5
    checks, service SAS and user-delegation SAS URLs (from generate_blob_sas, the delegation key from
    get_user_delegation_key over OAuth) used with raw HTTP for PUT (If-None-Match: *, x-ms-blob-type),
    GET, HEAD and DELETE, and refused when tampered, expired, for another blob or without the
    permission.
  * The fixtures in Tests/Fixtures/azure: every key of each JSON fixture is in the stand-in's real
    answer with the same JSON type, every element path of each XML fixture is in the real XML.
  * The signing vectors (Tests/Fixtures/azure/signing-vectors.json, if present) agree with the
    stand-in's own string-to-sign functions, signatures and the test certificate.

    python3 scripts/lib/test_azure_standin.py

Prints one line per check; exits 0 when all pass, 1 with the failure (and the stand-in's log)
otherwise. Takes about 7 s.
"""

import base64
import datetime
import hashlib
import http.client
import json
import logging
import os
import re
import sys
import tempfile
import time
import uuid
from urllib.parse import quote, unquote, urlsplit
from xml.etree import ElementTree

import msal
import requests
from azure.core.exceptions import ClientAuthenticationError, HttpResponseError, ResourceExistsError
from azure.core.pipeline.transport import RequestsTransport
from azure.identity import CertificateCredential, ClientSecretCredential
from azure.storage.blob import (BlobServiceClient, ContainerSasPermissions, generate_blob_sas,
                                generate_container_sas)
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding

from selfcheck import CheckFailed, check, set_faults, start_proxy

HERE = os.path.dirname(os.path.abspath(__file__))
STANDIN = os.path.join(HERE, "azure_standin.py")
FIXTURES = os.path.join(os.path.dirname(os.path.dirname(HERE)), "Tests", "Fixtures", "azure")
sys.path.insert(0, HERE)
import azure_standin  # noqa: E402

DISK_API, VM_API = "2025-01-02", "2024-11-01"
MANAGEMENT_SCOPE, STORAGE_SCOPE = "https://management.azure.com/.default", "https://storage.azure.com/.default"
JWT_BEARER = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"


# --- Plumbing ----------------------------------------------------------------------------------------

class TlsShim(requests.Session):
    """azure-identity, MSAL and azure-core's bearer policy insist on https: send their https requests
    to the stand-in's http port, saying X-Forwarded-Proto: https."""

    def __init__(self, port):
        super().__init__()
        self.prefix = f"https://127.0.0.1:{port}"

    def request(self, method, url, *args, **kwargs):
        if url.startswith(self.prefix):
            url = "http://" + url[len("https://"):]
            kwargs["headers"] = {**(kwargs.get("headers") or {}), "X-Forwarded-Proto": "https"}
        return super().request(method, url, *args, **kwargs)


def raw(method, url, headers=None, body=None):
    """Exactly these headers; returns (status, lower-cased headers, body, error code or None)."""
    parts = urlsplit(url)
    connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=15)
    try:
        target = parts.path + ("?" + parts.query if parts.query else "")
        connection.request(method, target, body=body, headers=headers or {})
        response = connection.getresponse()
        data = response.read()
    finally:
        connection.close()
    code = re.search(rb"<Code>(.*?)</Code>", data)
    if code is None and data[:1] == b"{":
        try:
            parsed = json.loads(data)
            code = parsed.get("error", {}).get("code") if isinstance(parsed.get("error"), dict) else parsed.get("error")
        except ValueError:
            code = None
    else:
        code = code and code.group(1).decode()
    return response.status, {k.lower(): v for k, v in response.getheaders()}, data, code


def json_type(value):
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, (int, float)):
        return "number"
    return {str: "string", list: "array", dict: "object", type(None): "null"}[type(value)]


def shape_problems(fixture, answer, path="$"):
    """Keys of the fixture missing from the answer or of another JSON type (recursively)."""
    if json_type(fixture) != json_type(answer):
        return [f"{path} is {json_type(answer)}, the fixture has {json_type(fixture)}"]
    problems = []
    if isinstance(fixture, dict):
        for key, value in fixture.items():
            if key not in answer:
                problems.append(f"{path}.{key} missing")
            else:
                problems.extend(shape_problems(value, answer[key], f"{path}.{key}"))
    elif isinstance(fixture, list) and fixture:
        if not answer:
            problems.append(f"{path} is empty")
        else:
            problems.extend(shape_problems(fixture[0], answer[0], f"{path}[0]"))
    return problems


def fixture(name):
    with open(os.path.join(FIXTURES, name), "rb") as f:
        return json.load(f) if name.endswith(".json") else f.read()


def check_shape(name, answer):
    problems = shape_problems(fixture(name), answer)
    check(not problems, f"the answer has the shape of fixture {name}", problems)


def element_paths(xml_bytes):
    paths = set()

    def walk(element, prefix):
        path = f"{prefix}/{element.tag}"
        paths.add(path)
        for child in element:
            walk(child, path)
    walk(ElementTree.fromstring(xml_bytes), "")
    return paths


def check_xml_shape(name, answer):
    missing = element_paths(fixture(name)) - element_paths(answer)
    check(not missing, f"the answer has the elements of fixture {name}", sorted(missing))


def wait_for(predicate, what, timeout=10.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.05)
    raise CheckFailed(f"timed out waiting for {what}")


class Azure:
    """The stand-in's settings and small helpers over raw HTTP."""

    def __init__(self, endpoint, state_dir):
        with open(os.path.join(state_dir, "azure.json")) as f:
            self.s = json.load(f)
        self.endpoint, self.state_dir = endpoint, state_dir
        self.port = urlsplit(endpoint).port
        self.token_url = f"{endpoint}/{self.s['tenant_id']}/oauth2/v2.0/token"
        self.rg = f"{endpoint}/subscriptions/{self.s['subscription_id']}/resourceGroups/snapfleet-rg/providers/Microsoft.Compute"
        self.management = self.secret_token(MANAGEMENT_SCOPE)

    def secret_token(self, scope):
        status, _, body, _ = self.token(client_id=self.s["client_id"], client_secret=self.s["client_secret"], scope=scope)
        if status != 200:
            raise CheckFailed(f"token request failed: {status} {body[:300]}")
        return json.loads(body)["access_token"]

    def token(self, tenant=None, **form):
        url = self.token_url if tenant is None else f"{self.endpoint}/{tenant}/oauth2/v2.0/token"
        form.setdefault("grant_type", "client_credentials")
        body = "&".join(f"{k}={quote(str(v), safe='')}" for k, v in form.items())
        return raw("POST", url, {"Content-Type": "application/x-www-form-urlencoded"}, body)

    def resource_id(self, kind, name):
        return f"/subscriptions/{self.s['subscription_id']}/resourceGroups/snapfleet-rg/providers/Microsoft.Compute/{kind}/{name}"

    def url(self, kind, name=None, api=DISK_API):
        return f"{self.rg}/{kind}" + (f"/{name}" if name else "") + f"?api-version={api}"

    def arm(self, method, url, body=None, token="default", headers=None):
        headers = dict(headers or {})
        if token == "default":
            token = self.management
        if token:
            headers["Authorization"] = f"Bearer {token}"
        data = None
        if body is not None:
            data = body if isinstance(body, (bytes, str)) else json.dumps(body)
            headers.setdefault("Content-Type", "application/json")
        status, response_headers, payload, code = raw(method, url, headers, data)
        parsed = json.loads(payload) if payload[:1] in (b"{", b"[") else None
        return status, response_headers, parsed, code

    def admin(self, method, path, body=None):
        status, _, payload, _ = raw(method, f"{self.endpoint}/standin/{path}", {"Content-Type": "application/json"},
                                    json.dumps(body) if body is not None else None)
        parsed = json.loads(payload) if payload else None
        if status >= 300:
            raise CheckFailed(f"admin {method} {path}: {status} {parsed}")
        return parsed

    def operation(self, url):
        status, _, body, _ = self.arm("GET", url)
        if status != 200:
            raise CheckFailed(f"operation status {status}: {body}")
        return body

    def finished(self, url):
        return wait_for(lambda: (lambda op: op if op["status"] != "InProgress" else None)(self.operation(url)),
                        f"operation {url}")


# --- Entra ID and IMDS ------------------------------------------------------------------------------

def check_identity(az, directory):
    shim = TlsShim(az.port)
    transport = RequestsTransport(session=shim, session_owner=False)
    authority = f"https://127.0.0.1:{az.port}"
    s = az.s
    credential = ClientSecretCredential(s["tenant_id"], s["client_id"], s["client_secret"], authority=authority,
                                        disable_instance_discovery=True, transport=transport)
    token = credential.get_token(MANAGEMENT_SCOPE)
    check(token.token and token.expires_on > time.time() + 3000, "azure.identity ClientSecretCredential gets a token")
    status, _, _, _ = az.arm("GET", az.url("disks"), token=token.token)
    check(status == 200, "... and ARM accepts it", status)
    certificate = CertificateCredential(s["tenant_id"], s["certificate_client_id"], certificate_path=s["certificate_path"],
                                        authority=authority, disable_instance_discovery=True, transport=transport)
    check(bool(certificate.get_token(STORAGE_SCOPE).token),
          "azure.identity CertificateCredential (RS256 assertion with x5t) gets a token")
    with open(s["certificate_path"]) as f:
        pem = f.read()
    app = msal.ConfidentialClientApplication(
        s["certificate_client_id"], client_credential={"private_key": pem, "public_certificate": pem},
        authority=f"{authority}/{s['tenant_id']}", instance_discovery=False, http_client=shim)
    result = app.acquire_token_for_client([STORAGE_SCOPE])
    check(result.get("token_type") == "Bearer", "MSAL given the certificate (PS256 assertion with x5t#S256) gets a token",
          result)

    wrong = ClientSecretCredential(s["tenant_id"], s["client_id"], "not-the-secret", authority=authority,
                                  disable_instance_discovery=True, transport=transport)
    try:
        wrong.get_token(MANAGEMENT_SCOPE)
        outcome = "accepted"
    except ClientAuthenticationError as error:
        outcome = str(error)
    check("AADSTS7000215" in outcome, "ClientSecretCredential with a bad secret is refused (AADSTS7000215)", outcome[:200])
    other_pem = azure_standin.make_certificate("not-registered")
    other_path = os.path.join(directory, "other.pem")
    with open(other_path, "wb") as f:
        f.write(other_pem)
    try:
        CertificateCredential(s["tenant_id"], s["certificate_client_id"], certificate_path=other_path, authority=authority,
                              disable_instance_discovery=True, transport=transport).get_token(STORAGE_SCOPE)
        outcome = "accepted"
    except ClientAuthenticationError as error:
        outcome = str(error)
    check("AADSTS700027" in outcome, "CertificateCredential with an unregistered certificate is refused (AADSTS700027)",
          outcome[:200])

    status, headers, body, _ = az.token(client_id=s["client_id"], client_secret=s["client_secret"], scope=MANAGEMENT_SCOPE)
    answer = json.loads(body)
    check(status == 200 and answer["token_type"] == "Bearer" and isinstance(answer["expires_in"], int),
          "raw client_secret token request: 200 Bearer", (status, answer.keys()))
    check_shape("token-response.json", answer)

    def refusal(status_code, error, aadsts, what, result):
        status, _, body, _ = result
        answer = json.loads(body)
        fields = {"error", "error_description", "error_codes", "timestamp", "trace_id", "correlation_id"}
        ok = (status == status_code and answer.get("error") == error and answer.get("error_codes") == [aadsts]
              and answer["error_description"].startswith(f"AADSTS{aadsts}:") and fields <= set(answer))
        check(ok, f"{what}: {status_code} {error} AADSTS{aadsts}", (status, answer))

    refusal(401, "invalid_client", 7000215, "bad secret",
            az.token(client_id=s["client_id"], client_secret="nope", scope=MANAGEMENT_SCOPE))
    refusal(400, "unauthorized_client", 700016, "unknown client",
            az.token(client_id=str(uuid.uuid4()), client_secret="x", scope=MANAGEMENT_SCOPE))
    refusal(400, "invalid_request", 90002, "wrong tenant",
            az.token(tenant=str(uuid.uuid4()), client_id=s["client_id"], client_secret=s["client_secret"],
                     scope=MANAGEMENT_SCOPE))
    refusal(400, "invalid_scope", 70011, "scope without /.default",
            az.token(client_id=s["client_id"], client_secret=s["client_secret"],
                     scope="https://management.azure.com/user_impersonation"))
    refusal(400, "invalid_resource", 500011, "scope of an unknown resource",
            az.token(client_id=s["client_id"], client_secret=s["client_secret"], scope="https://vault.azure.net/.default"))
    refusal(401, "invalid_client", 7000218, "no credential",
            az.token(client_id=s["client_id"], scope=MANAGEMENT_SCOPE))

    key = serialization.load_pem_private_key(pem.encode(), None)
    cert = x509.load_pem_x509_certificate(pem.encode())
    thumbprint = base64.urlsafe_b64encode(cert.fingerprint(hashes.SHA1())).decode().rstrip("=")  # noqa: S303

    def assertion(**changes):
        now = int(time.time())
        claims = {"aud": az.token_url, "iss": s["certificate_client_id"], "sub": s["certificate_client_id"],
                  "jti": str(uuid.uuid4()), "nbf": now, "exp": now + 600}
        claims.update(changes)
        claims = {k: v for k, v in claims.items() if v is not None}
        enc = lambda obj: base64.urlsafe_b64encode(json.dumps(obj).encode()).decode().rstrip("=")  # noqa: E731
        signing_input = f"{enc({'alg': 'RS256', 'typ': 'JWT', 'x5t': thumbprint})}.{enc(claims)}"
        signature = key.sign(signing_input.encode(), padding.PKCS1v15(), hashes.SHA256())
        return signing_input + "." + base64.urlsafe_b64encode(signature).decode().rstrip("=")

    def with_assertion(token):
        return az.token(client_id=s["certificate_client_id"], client_assertion_type=JWT_BEARER, client_assertion=token,
                        scope=STORAGE_SCOPE)

    status, _, _, _ = with_assertion(assertion())
    check(status == 200, "a hand-made RS256 assertion (aud = the token endpoint, iss = sub, jti, nbf, exp): 200", status)
    good = assertion()
    tampered = good[:-6] + ("AAAAAA" if not good.endswith("AAAAAA") else "BBBBBB")
    refusal(401, "invalid_client", 700027, "tampered assertion signature", with_assertion(tampered))
    refusal(401, "invalid_client", 50012, "assertion for another audience",
            with_assertion(assertion(aud="https://login.microsoftonline.com/common/oauth2/v2.0/token")))
    refusal(401, "invalid_client", 700024, "expired assertion",
            with_assertion(assertion(nbf=int(time.time()) - 1200, exp=int(time.time()) - 600)))
    refusal(401, "invalid_client", 50027, "assertion without jti", with_assertion(assertion(jti=None)))
    refusal(401, "invalid_client", 700021, "assertion issued by another client", with_assertion(assertion(iss="x", sub="x")))
    refusal(401, "invalid_client", 700027, "assertion for the secret client (no certificate registered)",
            az.token(client_id=s["client_id"], client_assertion_type=JWT_BEARER, client_assertion=good,
                     scope=STORAGE_SCOPE))

    imds = f"{az.endpoint}/metadata/identity/oauth2/token?api-version=2018-02-01&resource=https://management.azure.com/"
    status, _, body, _ = raw("GET", imds, {"Metadata": "true"})
    answer = json.loads(body)
    check(status == 200 and all(isinstance(v, str) for v in answer.values()), "IMDS token: 200, every value a string",
          (status, answer))
    check_shape("imds-token-response.json", answer)
    status, _, _, _ = az.arm("GET", az.url("disks"), token=answer["access_token"])
    check(status == 200, "... and ARM accepts the managed identity's token", status)
    status, _, body, code = raw("GET", imds)
    check((status, code) == (400, "bad_request_102"), "IMDS without Metadata: true -> 400 bad_request_102", (status, body))
    status, _, body, code = raw("GET", imds, {"Metadata": "true", "X-Forwarded-For": "10.0.0.1"})
    check(status == 400, "IMDS with X-Forwarded-For -> 400", (status, body))


# --- ARM ----------------------------------------------------------------------------------------------

def check_arm_rejections(az, expired_token):
    storage = az.secret_token(STORAGE_SCOPE)
    time.sleep(max(0.0, expired_token[2] - time.monotonic()))  # the short-lived token has expired by now
    cases = [
        ("no Authorization", dict(token=None), 401, "AuthenticationFailed"),
        ("an unknown token", dict(token="not-a-token"), 401, "InvalidAuthenticationToken"),
        ("a storage-audience token", dict(token=storage), 401, "InvalidAuthenticationTokenAudience"),
        ("an expired token", dict(token=expired_token[1]), 401, "ExpiredAuthenticationToken"),
    ]
    for what, kwargs, want_status, want_code in cases:
        url = az.url("snapshots") if what != "an expired token" else expired_token[0]
        status, headers, body, code = az.arm("GET", url, **kwargs)
        check((status, code) == (want_status, want_code) and "www-authenticate" in headers
              and 'error="invalid_token"' in headers["www-authenticate"],
              f"ARM with {what}: {want_status} {want_code} and WWW-Authenticate", (status, body))
    status, _, body, code = az.arm("GET", f"{az.rg}/snapshots")
    check((status, code) == (400, "MissingApiVersionParameter"), "no api-version: 400 MissingApiVersionParameter", body)
    status, _, body, code = az.arm("GET", az.url("snapshots", api="2099-01-01"))
    check((status, code) == (400, "NoRegisteredProviderFound"), "unknown api-version: 400 NoRegisteredProviderFound", body)
    status, _, body, code = az.arm("GET", az.url("virtualMachines", api=DISK_API))
    check((status, code) == (400, "NoRegisteredProviderFound"), "a disk api-version for VMs: 400 NoRegisteredProviderFound",
          body)
    status, _, body, code = az.arm("GET", az.url("snapshots").replace("snapfleet-rg", "other-rg"))
    check((status, code) == (404, "ResourceGroupNotFound"), "another resource group: 404 ResourceGroupNotFound", body)
    status, _, body, code = az.arm("GET", az.url("snapshots").replace(az.s["subscription_id"], str(uuid.uuid4())))
    check((status, code) == (404, "SubscriptionNotFound"), "another subscription: 404 SubscriptionNotFound", body)
    status, headers, body, code = az.arm("GET", az.url("snapshots", "no-such-snapshot"))
    check((status, code) == (404, "ResourceNotFound") and "x-ms-request-id" in headers,
          "a missing snapshot: 404 ResourceNotFound (with x-ms-request-id)", body)
    check_shape("error-notfound.json", body)
    status, _, body, code = az.arm("GET", az.url("widgets"))
    check((status, code) == (400, "InvalidResourceType"), "an unknown resource type: 400 InvalidResourceType", body)
    status, _, body, code = az.arm("PUT", az.url("snapshots", "bad-json"), body="{not json")
    check((status, code) == (400, "InvalidRequestContent"), "a body that is not JSON: 400 InvalidRequestContent", body)
    status, _, body, code = az.arm("PUT", az.url("snapshots", "text-body"), body="{}", headers={"Content-Type": "text/plain"})
    check((status, code) == (415, "UnsupportedMediaType"), "Content-Type text/plain: 415 UnsupportedMediaType", body)
    status, _, body, code = az.arm("PUT", az.url("snapshots", "no-location"), body={
        "properties": {"creationData": {"createOption": "Copy", "sourceResourceId": az.resource_id("disks", "pgdata")}}})
    check((status, code) == (400, "LocationRequired"), "a snapshot without location: 400 LocationRequired", body)
    status, _, body, code = az.arm("PUT", az.url("snapshots", "_bad."), body=fixture("snapshot-create-request.json"))
    check((status, code) == (400, "InvalidParameter"), "an invalid snapshot name: 400 InvalidParameter", body)
    status, _, body, code = az.arm("PUT", az.url("snapshots", "no-disk"), body={
        "location": "westeurope",
        "properties": {"creationData": {"createOption": "Copy", "sourceResourceId": az.resource_id("disks", "nosuch")}}})
    check((status, code) == (404, "NotFound"), "a snapshot of a missing disk: 404 NotFound", body)
    status, _, body, code = az.arm("PUT", az.url("snapshots", "far-away"), body={
        "location": "eastus",
        "properties": {"creationData": {"createOption": "Copy", "sourceResourceId": az.resource_id("disks", "pgdata")}}})
    check((status, code) == (400, "InvalidParameter"), "a snapshot in another location than its disk: 400", body)
    status, _, body, _ = az.arm("GET", az.url("VIRTUALMACHINES", "PG1", api=VM_API).replace("snapfleet-rg", "SNAPFLEET-RG"))
    check(status == 200 and body["name"] == "pg1", "resource group, type and name are case-insensitive", status)


def snapshot_request(az, disk, tags=None):
    body = json.loads(json.dumps(fixture("snapshot-create-request.json")))
    body["properties"]["creationData"]["sourceResourceId"] = az.resource_id("disks", disk)
    if tags is not None:
        body["tags"] = tags
    return body


def check_snapshot_life(az, images):
    vm = az.arm("GET", az.url("virtualMachines", "pg1", api=VM_API))[2]
    check_shape("virtual-machine.json", vm)
    disk = az.arm("GET", az.url("disks", "pgdata"))[2]
    check(disk["properties"]["diskState"] == "Attached" and disk["managedBy"].lower() == vm["id"].lower(),
          "the admin-made data disk is Attached, managedBy the VM", disk.get("managedBy"))
    check_shape("disk.json", disk)

    az.admin("POST", "disks/pgdata/behaviour", {"accept_seconds": 0.6, "copy_seconds": 0.8})
    with open(images["pgdata"], "r+b") as f:
        f.write(b"BEFORE")
    status, headers, body, _ = az.arm("PUT", az.url("snapshots", "snap-1"), body=snapshot_request(az, "pgdata"))
    with open(images["pgdata"], "r+b") as f:  # written while the create operation is in progress
        f.write(b"DURING")
    check(status == 202 and {"azure-asyncoperation", "location", "retry-after"} <= set(headers),
          "snapshot PUT: 202 with Azure-AsyncOperation, Location and Retry-After", (status, headers))
    check(body["properties"]["provisioningState"] == "Updating" and body["tags"] == snapshot_request(az, "pgdata")["tags"],
          "... its body: provisioningState Updating, the tags", body["properties"])
    check_shape("snapshot-creating.json", body)
    first = az.operation(headers["azure-asyncoperation"])
    check(first["status"] == "InProgress", "the async operation is InProgress", first)
    check_shape("async-operation-inprogress.json", first)
    status, location_headers, _, _ = az.arm("GET", headers["location"])
    check(status == 202 and "retry-after" in location_headers, "its Location URL: 202 + Retry-After while in progress",
          status)
    status, _, body, code = az.arm("DELETE", az.url("snapshots", "snap-1"))
    check((status, code) == (409, "AnotherOperationInProgress"), "deleting it while it is created: 409", body)
    done = az.finished(headers["azure-asyncoperation"])
    with open(images["pgdata"], "r+b") as f:  # written after the create operation succeeded
        f.write(b"AFTER!")
    check(done["status"] == "Succeeded" and "endTime" in done, "the async operation ends Succeeded", done)
    check_shape("async-operation-succeeded.json", done)
    status, _, final, _ = az.arm("GET", headers["location"])
    check(status == 200 and final["name"] == "snap-1", "its Location URL: 200 with the snapshot once done", status)
    snapshot = az.arm("GET", az.url("snapshots", "snap-1"))[2]["properties"]
    check(snapshot["provisioningState"] == "Succeeded" and snapshot["completionPercent"] < 100
          and snapshot["snapshotAccessState"] == "Pending",
          f"right after: Succeeded, background copy at {snapshot['completionPercent']}%, snapshotAccessState Pending",
          snapshot)
    status, _, body, code = az.arm("PUT", az.url("disks", "restored"), body={
        "location": "westeurope", "properties": {"creationData": {
            "createOption": "Copy", "sourceResourceId": az.resource_id("snapshots", "snap-1")}}})
    check((status, code) == (409, "OperationNotAllowed"), "a disk from it during the background copy: 409", body)
    old_api = az.arm("GET", az.url("snapshots", "snap-1", api="2024-03-02"))[2]["properties"]
    check("snapshotAccessState" not in old_api and "completionPercent" in old_api,
          "api-version 2024-03-02 has completionPercent but no snapshotAccessState", sorted(old_api))
    wait_for(lambda: az.arm("GET", az.url("snapshots", "snap-1"))[2]["properties"]["completionPercent"] >= 100,
             "the background copy")
    snapshot = az.arm("GET", az.url("snapshots", "snap-1"))[2]
    check(snapshot["properties"]["snapshotAccessState"] == "Available", "after copy_seconds: 100%, Available",
          snapshot["properties"])
    check_shape("snapshot-succeeded.json", snapshot)

    status, headers, body, _ = az.arm("PUT", az.url("disks", "restored"), body={
        "location": "westeurope", "sku": {"name": "Premium_LRS"}, "properties": {"creationData": {
            "createOption": "Copy", "sourceResourceId": az.resource_id("snapshots", "snap-1")}}})
    check(status == 202 and "azure-asyncoperation" in headers, "a disk from the snapshot: 202 + Azure-AsyncOperation",
          (status, body))
    check(az.finished(headers["azure-asyncoperation"])["status"] == "Succeeded", "... its operation succeeds")
    restored = az.arm("GET", az.url("disks", "restored"))[2]
    image = os.path.join(az.state_dir, "images", f"disk-{restored['properties']['uniqueId']}.img")
    with open(image, "rb") as f:
        contents = f.read(6)
    check(contents == b"DURING", "the snapshot holds what was written until its create operation succeeded, not after",
          contents)
    check(restored["properties"]["creationData"]["sourceResourceId"] == az.resource_id("snapshots", "snap-1")
          and restored["properties"]["diskState"] == "Unattached", "the restored disk names its snapshot, Unattached")
    return restored


def check_lists_and_outcomes(az):
    for name in ("snap-2", "snap-3"):
        status, headers, _, _ = az.arm("PUT", az.url("snapshots", name), body=snapshot_request(az, "other-data"))
        check(status == 202, f"snapshot {name} of another disk: 202", status)
        az.finished(headers["azure-asyncoperation"])
    status, _, page, _ = az.arm("GET", az.url("snapshots"))
    names = [item["name"] for item in page["value"]]
    check(status == 200 and len(names) == 2 and "nextLink" in page, "list by resource group: a page of 2 and a nextLink",
          page.get("nextLink"))
    check_shape("snapshot-list-page.json", page)
    while "nextLink" in page:
        page = az.arm("GET", page["nextLink"])[2]
        names += [item["name"] for item in page["value"]]
    check(sorted(names) == ["snap-1", "snap-2", "snap-3"], "following nextLink lists them all", names)

    status, headers, body, _ = az.arm("PUT", az.url("snapshots", "snap-2"),
                                      body=snapshot_request(az, "other-data", tags={"kept": "yes"}))
    check(status == 200 and body["tags"] == {"kept": "yes"}, "PUT on an existing snapshot updates its tags: 200",
          (status, body))
    status, _, body, code = az.arm("PUT", az.url("snapshots", "snap-2"), body=snapshot_request(az, "pgdata"))
    check((status, code) == (409, "PropertyChangeNotAllowed"), "... but not its source: 409 PropertyChangeNotAllowed",
          body)

    az.admin("POST", "disks/doomed-data/behaviour", {"outcome": "Failed", "accept_seconds": 0.1})
    status, headers, _, _ = az.arm("PUT", az.url("snapshots", "snap-failed"), body=snapshot_request(az, "doomed-data"))
    failed = az.finished(headers["azure-asyncoperation"])
    check(status == 202 and failed["status"] == "Failed" and failed["error"]["code"] == "InternalDiskManagementError",
          "behaviour outcome Failed: 202, then the operation Failed with an error", failed)
    check_shape("async-operation-failed.json", failed)
    status, _, body, _ = az.arm("GET", headers["location"])
    check(status >= 400 and body["error"]["code"] == "InternalDiskManagementError",
          "its Location URL answers the failure", (status, body))
    check(az.arm("GET", az.url("snapshots", "snap-failed"))[2]["properties"]["provisioningState"] == "Failed",
          "the failed snapshot stays, provisioningState Failed")
    az.admin("POST", "disks/doomed-data/behaviour", {"outcome": "Succeeded", "create_delay_seconds": 0.3})
    started = time.monotonic()
    status, headers, _, _ = az.arm("PUT", az.url("snapshots", "snap-slow"), body=snapshot_request(az, "doomed-data"))
    check(status == 202 and time.monotonic() - started >= 0.3, "behaviour create_delay_seconds: the PUT answers late",
          status)
    az.finished(headers["azure-asyncoperation"])
    az.admin("POST", "disks/doomed-data/behaviour", {"outcome": "FailedAtCreate", "create_delay_seconds": 0})
    status, _, body, code = az.arm("PUT", az.url("snapshots", "snap-refused"), body=snapshot_request(az, "doomed-data"))
    check((status, code) == (409, "OperationNotAllowed") and az.arm("GET", az.url("snapshots", "snap-refused"))[0] == 404,
          "behaviour outcome FailedAtCreate: 409 OperationNotAllowed and no snapshot", body)

    status, headers, _, _ = az.arm("DELETE", az.url("snapshots", "snap-3"))
    check(status == 202 and {"location", "azure-asyncoperation"} <= set(headers), "delete: 202 + Location", status)
    check(az.finished(headers["azure-asyncoperation"])["status"] == "Succeeded"
          and az.arm("GET", headers["location"])[0] == 204, "... its operation succeeds; Location answers 204")
    check(az.arm("GET", az.url("snapshots", "snap-3"))[0] == 404, "... and the snapshot is gone")
    status, _, _, _ = az.arm("DELETE", az.url("snapshots", "snap-3"))
    check(status == 204, "deleting a missing snapshot: 204", status)


def vm_patch(az, vm, disks):
    return az.arm("PATCH", az.url("virtualMachines", vm, api=VM_API),
                  body={"properties": {"storageProfile": {"dataDisks": disks}}})


def check_attach_detach(az):
    vm = az.arm("GET", az.url("virtualMachines", "pg1", api=VM_API))[2]
    current = [{"lun": d["lun"], "createOption": "Attach", "managedDisk": {"id": d["managedDisk"]["id"]}}
               for d in vm["properties"]["storageProfile"]["dataDisks"]]
    new = {"lun": 1, "createOption": "Attach", "managedDisk": {"id": az.resource_id("disks", "restored")}}
    status, headers, body, _ = vm_patch(az, "pg1", current + [new])
    check(status == 200 and body["properties"]["provisioningState"] == "Updating" and "azure-asyncoperation" in headers,
          "PATCH attaching a disk at LUN 1: 200 Updating + Azure-AsyncOperation", (status, body))
    status, _, body, code = vm_patch(az, "pg1", current)
    check((status, code) == (409, "AnotherOperationInProgress"), "another PATCH meanwhile: 409", body)
    check(az.finished(headers["azure-asyncoperation"])["status"] == "Succeeded", "... the attach operation succeeds")
    vm = az.arm("GET", az.url("virtualMachines", "pg1", api=VM_API))[2]
    luns = {d["lun"]: d["name"] for d in vm["properties"]["storageProfile"]["dataDisks"]}
    disk = az.arm("GET", az.url("disks", "restored"))[2]
    check(luns.get(1) == "restored" and disk["properties"]["diskState"] == "Attached"
          and disk["managedBy"].lower() == vm["id"].lower(), "the VM has it at LUN 1, the disk is Attached to the VM",
          (luns, disk.get("managedBy")))
    current = [{"lun": d["lun"], "createOption": "Attach", "managedDisk": {"id": d["managedDisk"]["id"]}}
               for d in vm["properties"]["storageProfile"]["dataDisks"]]
    taken = {"lun": 1, "createOption": "Attach", "managedDisk": {"id": az.resource_id("disks", "spare")}}
    status, _, body, code = vm_patch(az, "pg1", current[:1] + [taken])
    check((status, code) == (400, "InvalidParameter"), "attaching at a LUN that is taken: 400 InvalidParameter", body)
    elsewhere = {"lun": 5, "createOption": "Attach", "managedDisk": {"id": az.resource_id("disks", "other-data")}}
    status, _, body, code = vm_patch(az, "pg1", current + [elsewhere])
    check((status, code) == (409, "OperationNotAllowed"), "attaching a disk attached to another VM: 409 OperationNotAllowed",
          body)
    far = {"lun": 6, "createOption": "Attach", "managedDisk": {"id": az.resource_id("disks", "far-data")}}
    status, _, body, code = vm_patch(az, "pg1", current + [far])
    check((status, code) == (400, "InvalidParameter") and "location" in body["error"]["message"],
          "attaching a disk in another location: 400 InvalidParameter", body)
    missing = {"lun": 7, "createOption": "Attach", "managedDisk": {"id": az.resource_id("disks", "nosuch")}}
    status, _, body, code = vm_patch(az, "pg1", current + [missing])
    check((status, code) == (404, "NotFound"), "attaching a missing disk: 404 NotFound", body)
    status, _, body, code = az.arm("DELETE", az.url("disks", "restored"))
    check((status, code) == (409, "OperationNotAllowed") and "attached" in body["error"]["message"],
          "deleting an attached disk: 409 OperationNotAllowed", body)
    detach = [dict(d, toBeDetached=True) if d["lun"] == 1 else d for d in current]
    status, headers, body, _ = vm_patch(az, "pg1", detach)
    check(status == 200 and az.finished(headers["azure-asyncoperation"])["status"] == "Succeeded",
          "PATCH with toBeDetached: 200, operation Succeeded", (status, body))
    disk = az.arm("GET", az.url("disks", "restored"))[2]
    luns = [d["lun"] for d in az.arm("GET", az.url("virtualMachines", "pg1", api=VM_API))[2]
            ["properties"]["storageProfile"]["dataDisks"]]
    check(luns == [0] and disk["properties"]["diskState"] == "Unattached" and "managedBy" not in disk,
          "detached: the VM keeps LUN 0 only, the disk is Unattached", (luns, disk["properties"]["diskState"]))
    status, headers, _, _ = az.arm("DELETE", az.url("disks", "restored"))
    check(status == 202 and az.arm("GET", az.url("disks", "restored"))[0] == 404
          and not os.path.exists(os.path.join(az.state_dir, "images", f"disk-{disk['properties']['uniqueId']}.img")),
          "deleting the detached disk: 202, gone, its image copy removed", status)


def check_faults(az, control):
    set_faults(control, [{"method": "PUT", "path_contains": "/snapshots/", "status": 503, "count": 1}])
    status, _, body, code = az.arm("PUT", az.url("snapshots", "snap-lost"), body=snapshot_request(az, "other-data"))
    check((status, code) == (503, "ServiceUnavailable") and az.arm("GET", az.url("snapshots", "snap-lost"))[0] == 404,
          "fault before acting: 503 ServiceUnavailable and no snapshot made", body)
    set_faults(control, [{"path_contains": "/disks/", "after_acting": True, "status": 503, "count": 1}])
    status, _, body, code = az.arm("PUT", az.url("disks", "lost-reply"), body={
        "location": "westeurope", "properties": {"creationData": {"createOption": "Empty"}, "diskSizeGB": 8}})
    check((status, code) == (503, "ServiceUnavailable") and az.arm("GET", az.url("disks", "lost-reply"))[0] == 200,
          "fault after acting: 503, yet the disk was created", body)
    wait_for(lambda: az.arm("GET", az.url("disks", "lost-reply"))[2]["properties"]["provisioningState"] == "Succeeded",
             "the disk's creation")
    set_faults(control, [{"method": "DELETE", "after_acting": True, "reset_connection": True, "count": 1}])
    try:
        result = az.arm("DELETE", az.url("disks", "lost-reply"))
    except (ConnectionError, http.client.HTTPException) as error:
        result = error
    check(isinstance(result, (ConnectionError, http.client.HTTPException))
          and az.arm("GET", az.url("disks", "lost-reply"))[0] == 404,
          f"reset after acting: connection dropped ({type(result).__name__}), yet the disk was deleted", result)
    # Scoped to disks: a token request falling on these calls must not meet the faults.
    set_faults(control, [{"path_contains": "/Microsoft.Compute/disks", "delay_seconds": 0.5, "count": 1}])
    started = time.monotonic()
    status = az.arm("GET", az.url("disks"))[0]
    check(status == 200 and time.monotonic() - started >= 0.5, "delay fault: 200 after 0.5 s", status)
    set_faults(control, [{"path_contains": "/Microsoft.Compute/disks", "status": 429, "retry_after": 1, "count": 1}])
    status, headers, body, code = az.arm("GET", az.url("disks"))
    check((status, code, headers.get("retry-after")) == (429, "TooManyRequests", "1"),
          "429 fault: ARM's TooManyRequests with Retry-After: 1", (status, body))
    set_faults(control, [{"path_contains": "/snapfleettest/", "status": 503, "count": 1}])
    status, _, body, code = raw("GET", f"{az.s['blob_endpoint']}/wal/x")
    check((status, code) == (503, "ServerBusy") and body.startswith(b"<?xml"), "a blob path's fault: Blob XML ServerBusy",
          body)
    os.remove(control)
    calls = az.admin("GET", "calls")["calls"]
    check(any(c["status"] is None and c.get("fault") == "reset_connection" for c in calls)
          and any(c["status"] == 503 for c in calls) and all("?" not in c["path"] for c in calls),
          f"/standin/calls records the {len(calls)} calls, faults too, paths without query")


# --- Blob -----------------------------------------------------------------------------------------------

def check_blob_sdk(az):
    s = az.s
    service = BlobServiceClient(s["blob_endpoint"], credential={"account_name": s["storage_account"],
                                                                "account_key": s["storage_key"]}, retry_total=0)
    container = service.create_container("wal")
    check(container.get_container_properties().name == "wal", "BlobServiceClient (shared key) creates a container")
    name = "pg1/wals/000000010000000000000001"
    container.upload_blob(name, b"segment-1", overwrite=False)
    try:
        container.upload_blob(name, b"segment-1 again", overwrite=False)
        outcome = None
    except ResourceExistsError as error:
        outcome = (error.status_code, error.error_code)
    check(outcome == (409, "BlobAlreadyExists"), "upload_blob(overwrite=False) twice: 409 BlobAlreadyExists", outcome)
    check(container.download_blob(name).readall() == b"segment-1", "download_blob returns the first upload")
    odd = "base/backup 2026/é+ü.info"
    container.upload_blob(odd, b"{}")
    check(container.download_blob(odd).readall() == b"{}", "a name with spaces, unicode and '+' round-trips")
    blob = container.get_blob_client("pg1/base/data.tar")
    blob.stage_block("YmxvY2stMDAx", b"a" * 10)
    blob.stage_block("YmxvY2stMDAy", b"b" * 5)
    blob.commit_block_list(["YmxvY2stMDAx", "YmxvY2stMDAy"])
    check(blob.download_blob().readall() == b"a" * 10 + b"b" * 5, "stage_block x2 + commit_block_list")
    check(blob.download_blob(offset=8, length=4).readall() == b"aabb", "ranged download (x-ms-range)")
    properties = blob.get_blob_properties()
    check(properties.size == 15 and properties.content_settings.content_md5 is None and properties.blob_type == "BlockBlob",
          "a committed block list has no Content-MD5 property", properties.content_settings.content_md5)
    single = container.get_blob_client(name).get_blob_properties()
    check(bytes(single.content_settings.content_md5) == hashlib.md5(b"segment-1").digest(),  # noqa: S324
          "Put Blob stores the Content-MD5 property the service computed")
    for i in range(3):
        container.upload_blob(f"pg1/wals/00000001000000000000001{i}", b"x")
    pages = [[b.name for b in page] for page in container.list_blobs(name_starts_with="pg1/wals/").by_page()]
    check([len(p) for p in pages] == [2, 2] and pages[0][0] == name,
          "list_blobs pages by NextMarker (maxresults capped at the page size 2)", pages)
    walked = [b.name for b in container.walk_blobs(delimiter="/")]
    check(sorted(walked) == ["base/", "pg1/"], "walk_blobs(delimiter='/') gives BlobPrefix entries", walked)
    container.delete_blob(odd)
    try:
        container.delete_blob(odd)
        outcome = None
    except HttpResponseError as error:
        outcome = (error.status_code, error.error_code)
    check(outcome == (404, "BlobNotFound"), "delete_blob, then again: 404 BlobNotFound", outcome)
    wrong = BlobServiceClient(s["blob_endpoint"], credential={"account_name": s["storage_account"],
                                                              "account_key": base64.b64encode(b"k" * 64).decode()},
                              retry_total=0)
    try:
        wrong.get_container_client("wal").get_container_properties()
        outcome = None
    except HttpResponseError as error:
        outcome = (error.status_code, error.error_code)
    check(outcome == (403, "AuthenticationFailed"), "a wrong account key: 403 AuthenticationFailed", outcome)
    return service


def md5_b64(data):
    return base64.b64encode(hashlib.md5(data).digest()).decode()  # noqa: S324


def check_sas(az):
    s, endpoint = az.s, az.s["blob_endpoint"]
    now = datetime.datetime.now(datetime.timezone.utc)

    def sas(blob, permission, expiry=now + datetime.timedelta(minutes=10), **kwargs):
        token = generate_blob_sas(s["storage_account"], "wal", blob, account_key=s["storage_key"], permission=permission,
                                  start=now - datetime.timedelta(minutes=1), expiry=expiry, **kwargs)
        return f"{endpoint}/wal/{quote(blob, safe='/~')}?{token}"

    put = {"If-None-Match": "*", "x-ms-blob-type": "BlockBlob", "Content-Type": "application/octet-stream"}
    url = sas("pg1/wals/0000000100000000000000A2", "cw")
    body = b"WAL segment A2"
    status, headers, data, _ = raw("PUT", url, {**put, "Content-MD5": md5_b64(body)}, body)
    check(status == 201 and headers.get("content-md5") == md5_b64(body) and "etag" in headers
          and "x-ms-request-id" in headers and headers.get("x-ms-version") == "2026-10-06",
          "service SAS (cw) PUT with If-None-Match: *, x-ms-blob-type: 201 + Content-MD5, ETag, x-ms-request-id",
          (status, data[:200]))
    status, _, data, code = raw("PUT", url, {**put, "Content-MD5": md5_b64(body)}, body)
    check((status, code) == (409, "BlobAlreadyExists"), "the same PUT again: 409 BlobAlreadyExists", data[:200])
    status, headers, data, _ = raw("GET", sas("pg1/wals/0000000100000000000000A2", "r"))
    check(status == 200 and data == body, "service SAS (r) GET: 200, the bytes", status)
    status, headers, data, _ = raw("HEAD", sas("pg1/wals/0000000100000000000000A2", "r"))
    wanted = {"content-length", "content-md5", "etag", "last-modified", "x-ms-blob-type", "x-ms-creation-time"}
    check(status == 200 and wanted <= set(headers) and headers["content-length"] == str(len(body))
          and headers["content-md5"] == md5_b64(body), "service SAS HEAD: Content-Length, Content-MD5, ETag, "
                                                       "Last-Modified, x-ms-blob-type, x-ms-creation-time", headers)
    status, headers, data, _ = raw("GET", sas("pg1/wals/0000000100000000000000A2", "r"), {"Range": "bytes=4-10"})
    check(status == 206 and data == body[4:11] and headers.get("content-range") == f"bytes 4-10/{len(body)}",
          "GET with Range: 206 + Content-Range", (status, headers.get("content-range")))
    status, _, data, code = raw("GET", sas("pg1/wals/0000000100000000000000A2", "r"), {"Range": "bytes=999-"})
    check((status, code) == (416, "InvalidRange"), "a range past the end: 416 InvalidRange", data[:200])
    url_r = sas("pg1/wals/0000000100000000000000A2", "r")
    status, _, data, code = raw("GET", url_r.replace("sp=r", "sp=rw"))
    check((status, code) == (403, "AuthenticationFailed") and b"Signature did not match" in data,
          "a tampered sp: 403 AuthenticationFailed (Signature did not match)", data[:300])
    check_xml_shape("blob-error.xml", data)
    status, _, data, code = raw("GET", url_r.replace("0000000100000000000000A2", "0000000100000000000000A3"))
    check((status, code) == (403, "AuthenticationFailed"), "the URL used for another blob: 403 AuthenticationFailed",
          data[:200])
    status, _, data, code = raw("GET", sas("pg1/wals/0000000100000000000000A2", "r",
                                           expiry=now - datetime.timedelta(seconds=5)))
    check((status, code) == (403, "AuthenticationFailed") and b"time frame" in data, "an expired SAS: 403 "
                                                                                    "AuthenticationFailed", data[:300])
    status, _, data, code = raw("GET", sas("pg1/wals/0000000100000000000000A2", "cw"))
    check((status, code) == (403, "AuthorizationPermissionMismatch"), "GET with sp=cw: 403 AuthorizationPermissionMismatch",
          data[:200])
    status, _, data, code = raw("DELETE", url_r)
    check((status, code) == (403, "AuthorizationPermissionMismatch"), "DELETE with sp=r: 403 "
                                                                      "AuthorizationPermissionMismatch", data[:200])
    status, _, data, code = raw("PUT", sas("pg1/wals/0000000100000000000000A2", "c"),
                                {"x-ms-blob-type": "BlockBlob"}, b"overwrite")
    check((status, code) == (403, "UnauthorizedBlobOverwrite"), "sp=c over an existing blob without If-None-Match: 403 "
                                                                "UnauthorizedBlobOverwrite", data[:200])
    status, _, data, code = raw("PUT", sas("pg1/wals/0000000100000000000000A2", "w"), {**put}, b"x")
    check((status, code) == (409, "BlobAlreadyExists"), "sp=w with If-None-Match: * over it: 409 BlobAlreadyExists",
          data[:200])
    status, _, data, code = raw("GET", re.sub(r"sv=[^&]+", "sv=2019-02-02", url_r))
    check((status, code) == (403, "AuthenticationFailed") and b"sv=2019-02-02" in data,
          "an sv the stand-in does not implement: 403 AuthenticationFailed naming it", data[:300])
    status, _, data, code = raw("GET", f"{endpoint}/wal/pg1/wals/0000000100000000000000A2")
    check((status, code) == (401, "NoAuthenticationInformation"), "no authorization at all: 401 "
                                                                  "NoAuthenticationInformation", data[:200])
    status, _, _, _ = raw("DELETE", sas("pg1/wals/0000000100000000000000A2", "d"))
    check(status == 202, "DELETE with sp=d: 202", status)
    status, _, data, code = raw("GET", url_r)
    check((status, code) == (404, "BlobNotFound"), "... then GET: 404 BlobNotFound", data[:200])

    md5_url = sas("pg1/md5-check", "cw")
    status, _, data, code = raw("PUT", md5_url, {**put, "Content-MD5": md5_b64(b"other")}, b"payload")
    check((status, code) == (400, "Md5Mismatch") and b"<ServerCalculatedMd5>" in data,
          "Content-MD5 of other bytes: 400 Md5Mismatch", data[:300])
    status, _, data, code = raw("PUT", md5_url, {**put, "Content-MD5": "bm90LW1kNQ=="}, b"payload")
    check((status, code) == (400, "InvalidMd5"), "Content-MD5 not of 16 bytes: 400 InvalidMd5", data[:200])
    check(raw("HEAD", sas("pg1/md5-check", "r"))[0] == 404, "a refused body is not stored")
    status, _, data, code = raw("PUT", md5_url, {"If-None-Match": "*"}, b"x")
    check((status, code) == (400, "MissingRequiredHeader"), "Put Blob without x-ms-blob-type: 400 MissingRequiredHeader",
          data[:200])
    override = sas("pg1/wals/override", "r", content_type="text/plain", cache_control="no-cache")
    raw("PUT", sas("pg1/wals/override", "cw"), put, b"text")
    status, headers, _, _ = raw("GET", override)
    check(status == 200 and headers.get("content-type") == "text/plain" and headers.get("cache-control") == "no-cache",
          "rsct / rscc override the response headers", headers)

    for name in ("p/a", "p/b/1", "p/c", "p/d/1", "p/e"):
        raw("PUT", sas(name, "cw"), put, b"x")
    token = generate_container_sas(s["storage_account"], "wal", account_key=s["storage_key"],
                                   permission=ContainerSasPermissions(list=True),
                                   expiry=now + datetime.timedelta(minutes=10))
    listing = f"{endpoint}/wal?restype=container&comp=list&prefix=p%2F&delimiter=%2F&maxresults=2&{token}"
    status, _, first, _ = raw("GET", listing)
    marker = re.search(rb"<NextMarker>(.*?)</NextMarker>", first).group(1).decode()
    status, _, second, _ = raw("GET", listing + "&marker=" + quote(marker, safe=""))
    names = re.findall(rb"<Name>(.*?)</Name>", first + second)
    check(status == 200 and names == [b"p/a", b"p/b/", b"p/c", b"p/d/"] and b"<BlobPrefix>" in second,
          "container SAS (sr=c, sp=l) List Blobs: prefix, delimiter, maxresults, marker/NextMarker", names)
    check_xml_shape("list-blobs-page.xml", second)
    status, _, data, code = raw("GET", f"{endpoint}/wal?restype=container&comp=list&"
                                       + sas("pg1/x", "r").split("?", 1)[1])
    check((status, code) == (403, "AuthorizationResourceTypeMismatch"), "a blob SAS (sr=b) for List Blobs: 403 "
                                                                        "AuthorizationResourceTypeMismatch", data[:200])


def check_user_delegation(az):
    s = az.s
    shim = TlsShim(az.port)
    transport = RequestsTransport(session=shim, session_owner=False)
    credential = ClientSecretCredential(s["tenant_id"], s["client_id"], s["client_secret"],
                                        authority=f"https://127.0.0.1:{az.port}", disable_instance_discovery=True,
                                        transport=transport)
    service = BlobServiceClient(s["blob_endpoint"].replace("http://", "https://"), credential=credential,
                                transport=RequestsTransport(session=TlsShim(az.port), session_owner=False), retry_total=0)
    names = [b.name for b in service.get_container_client("wal").list_blobs(name_starts_with="pg1/base/")]
    check(names == ["pg1/base/data.tar"], "BlobServiceClient with an OAuth token (storage audience) lists blobs", names)
    now = datetime.datetime.now(datetime.timezone.utc)
    key = service.get_user_delegation_key(now - datetime.timedelta(minutes=1), now + datetime.timedelta(hours=1))
    check(key.signed_tid == s["tenant_id"] and key.signed_service == "b" and key.value,
          "get_user_delegation_key over OAuth", key.signed_tid)

    def udk_sas(blob, permission, delegation=key):
        token = generate_blob_sas(s["storage_account"], "wal", blob, user_delegation_key=delegation, permission=permission,
                                  start=now - datetime.timedelta(minutes=1), expiry=now + datetime.timedelta(minutes=10))
        return f"{s['blob_endpoint']}/wal/{quote(blob, safe='/~')}?{token}"

    put = {"If-None-Match": "*", "x-ms-blob-type": "BlockBlob", "Content-Type": "application/octet-stream"}
    status, _, data, _ = raw("PUT", udk_sas("pg1/wals/udk-1", "cw"), put, b"delegated")
    check(status == 201, "user-delegation SAS (cw) PUT with If-None-Match: *: 201", data[:200])
    status, _, data, code = raw("PUT", udk_sas("pg1/wals/udk-1", "cw"), put, b"delegated")
    check((status, code) == (409, "BlobAlreadyExists"), "... again: 409 BlobAlreadyExists", data[:200])
    status, _, data, _ = raw("GET", udk_sas("pg1/wals/udk-1", "r"))
    check(status == 200 and data == b"delegated", "user-delegation SAS (r) GET: the bytes", status)
    status, headers, _, _ = raw("HEAD", udk_sas("pg1/wals/udk-1", "r"))
    check(status == 200 and headers.get("content-length") == "9", "user-delegation SAS HEAD: 200", status)
    url = udk_sas("pg1/wals/udk-1", "r")
    status, _, data, code = raw("GET", re.sub(r"skt=[^&]+", "skt=2026-01-01T00%3A00%3A00Z", url))
    check((status, code) == (403, "AuthenticationFailed"), "a tampered skt (another delegation key): 403", data[:200])
    status, _, data, code = raw("GET", re.sub(r"sktid=[^&]+", f"sktid={uuid.uuid4()}", url))
    check((status, code) == (403, "AuthenticationFailed"), "another tenant's sktid: 403 AuthenticationFailed", data[:200])
    status, _, data, code = raw("DELETE", url)
    check((status, code) == (403, "AuthorizationPermissionMismatch"), "user-delegation SAS (r) DELETE: 403", data[:200])
    status, _, data, code = raw("GET", url.replace("udk-1", "udk-2"))
    check((status, code) == (403, "AuthenticationFailed"), "user-delegation SAS used for another blob: 403", data[:200])
    expired = generate_blob_sas(s["storage_account"], "wal", "pg1/wals/udk-1", user_delegation_key=key, permission="r",
                                start=now - datetime.timedelta(minutes=2), expiry=now - datetime.timedelta(seconds=5))
    status, _, data, code = raw("GET", f"{s['blob_endpoint']}/wal/pg1/wals/udk-1?{expired}")
    check((status, code) == (403, "AuthenticationFailed") and b"time frame" in data,
          "an expired user-delegation SAS: 403 AuthenticationFailed", data[:200])

    token = az.secret_token(STORAGE_SCOPE)
    key_info = (f"<?xml version='1.0' encoding='utf-8'?><KeyInfo><Start>{now:%Y-%m-%dT%H:%M:%SZ}</Start>"
                f"<Expiry>{now + datetime.timedelta(hours=2):%Y-%m-%dT%H:%M:%SZ}</Expiry></KeyInfo>")
    udk_url = f"{s['blob_endpoint']}/?restype=service&comp=userdelegationkey"
    status, _, data, _ = raw("POST", udk_url, {"Authorization": f"Bearer {token}", "x-ms-version": "2026-10-06",
                                               "Content-Type": "application/xml"}, key_info)
    check(status == 200 and b"<Value>" in data, "raw Get User Delegation Key: 200 UserDelegationKey", data[:200])
    check_xml_shape("user-delegation-key.xml", data)
    too_long = key_info.replace(f"{now + datetime.timedelta(hours=2):%Y-%m-%dT%H:%M:%SZ}",
                                f"{now + datetime.timedelta(days=8):%Y-%m-%dT%H:%M:%SZ}")
    status, _, data, code = raw("POST", udk_url, {"Authorization": f"Bearer {token}", "x-ms-version": "2026-10-06"},
                                too_long)
    check((status, code) == (400, "InvalidXmlNodeValue"), "a delegation key for more than 7 days: 400", data[:200])
    status, headers, data, code = raw("GET", f"{s['blob_endpoint']}/wal?restype=container&comp=list",
                                      {"Authorization": f"Bearer {az.management}", "x-ms-version": "2026-10-06"})
    check((status, code) == (401, "InvalidAuthenticationInfo") and "resource_id=https://storage.azure.com"
          in headers.get("www-authenticate", ""), "a management token for Blob: 401 InvalidAuthenticationInfo", data[:200])
    shared_key = BlobServiceClient(s["blob_endpoint"], credential={"account_name": s["storage_account"],
                                                                   "account_key": s["storage_key"]}, retry_total=0)
    try:
        shared_key.get_user_delegation_key(now, now + datetime.timedelta(hours=1))
        outcome = None
    except HttpResponseError as error:
        outcome = (error.status_code, error.error_code)
    check(outcome == (403, "AuthenticationFailed"), "Get User Delegation Key with the shared key: 403", outcome)


# --- Devices ----------------------------------------------------------------------------------------------

def check_devices(directory):
    """--attach-devices, when root: LUN 63 appears as /dev/disk/azure/scsi1/lun63 -> a loop device."""
    if os.geteuid() != 0 or not os.path.exists("/usr/sbin/losetup") and not os.path.exists("/sbin/losetup"):
        print("skip - --attach-devices needs root and losetup")
        return
    link = "/dev/disk/azure/scsi1/lun63"
    if os.path.lexists(link):
        print(f"skip - {link} exists already")
        return
    work = os.path.join(directory, "devices")
    os.makedirs(work)
    image = os.path.join(work, "lun63.img")
    with open(image, "wb") as f:
        f.write(b"LUN-63-IMAGE")
        f.truncate(1 << 20)
    process, endpoint, _, log = start_proxy(STANDIN, work, "--state-dir", os.path.join(work, "state"), "--attach-devices")
    try:
        az = Azure(endpoint, os.path.join(work, "state"))
        az.admin("POST", "vms", {"name": "dev-vm", "data_disks": [{"name": "dev-data", "lun": 63, "size_gb": 1,
                                                                    "image": image}]})
        loop = os.readlink(link)
        with open(link, "rb") as f:
            head = f.read(12)
        check(loop.startswith("/dev/loop") and head == b"LUN-63-IMAGE",
              f"--attach-devices: {link} -> {loop}, reading the disk's image", (loop, head))
        status, headers, _, _ = vm_patch(az, "dev-vm", [])
        az.finished(headers["azure-asyncoperation"])
        check(status == 200 and not os.path.lexists(link), "detaching removes the symlink", status)
        az.admin("POST", "vms", {"name": "dev-vm-2", "data_disks": [{"name": "dev-data-2", "lun": 63, "size_gb": 1,
                                                                      "image": image}]})
        check(os.path.islink(link), "a new VM with a disk at LUN 63 makes the symlink again")
    finally:
        process.terminate()
        process.wait(timeout=10)
    left = os.popen("losetup -j " + image).read().strip()
    check(not os.path.lexists(link) and not left, "on exit the stand-in removes its symlinks and loop devices", left)


# --- Signing vectors ----------------------------------------------------------------------------------

def check_vectors():
    path = os.path.join(FIXTURES, "signing-vectors.json")
    if not os.path.exists(path):
        print("skip - no signing-vectors.json (run make_azure_vectors.py)")
        return
    with open(path) as f:
        vectors = json.load(f)
    key = vectors["account_key"]
    bad = []
    for vector in vectors["shared_key"]:
        string_to_sign = azure_standin.shared_key_string_to_sign(vector["method"], vector["path"], vector["query"],
                                                                  [tuple(h) for h in vector["headers"]])
        expected = f"SharedKey {vectors['account']}:{azure_standin.hmac_b64(key, string_to_sign)}"
        if string_to_sign != vector["string_to_sign"] or expected != vector["authorization"]:
            bad.append(vector["name"])
    check(not bad, f"the {len(vectors['shared_key'])} Shared Key vectors agree with the stand-in's verifier", bad)
    for section, signing_key in (("service_sas", key),
                                 ("user_delegation_sas", vectors["user_delegation_sas"]["key"]["value"])):
        items = vectors[section] if section == "service_sas" else vectors[section]["vectors"]
        bad = []
        for vector in items:
            params = {k: unquote(v) for k, v in (p.split("=", 1) for p in vector["query"].split("&"))}
            resource = azure_standin.sas_canonical_resource(vectors["account"], vector["container"], vector["blob"],
                                                            params["sr"])
            string_to_sign = azure_standin.sas_string_to_sign(params, resource)
            signature = azure_standin.hmac_b64(signing_key, string_to_sign)
            if string_to_sign != vector["string_to_sign"] or signature != params["sig"]:
                bad.append(vector["name"])
        check(not bad, f"the {len(items)} {section} vectors agree with the stand-in's verifier", bad)
    assertion = vectors["client_assertion"]
    root = os.path.dirname(os.path.dirname(HERE))
    with open(os.path.join(root, assertion["certificate_path"]), "rb") as f:
        cert = x509.load_pem_x509_certificate(f.read())
    sha1_x5t, sha256_x5t = azure_standin.thumbprints(cert)
    ok = sha1_x5t == assertion["x5t"] and sha256_x5t == assertion["x5t#S256"]
    for vector in assertion["vectors"]:
        pad = lambda t: t + "=" * (-len(t) % 4)  # noqa: E731
        signature = base64.urlsafe_b64decode(pad(vector["signature"]))
        scheme = (padding.PKCS1v15() if vector["algorithm"] == "RS256"
                  else padding.PSS(mgf=padding.MGF1(hashes.SHA256()), salt_length=32))
        cert.public_key().verify(signature, vector["signing_input"].encode(), scheme, hashes.SHA256())
        ok = ok and vector["assertion"] == f"{vector['signing_input']}.{vector['signature']}"
    check(ok, "the client-assertion vectors verify with test-certificate.pem and name its thumbprints")


# --- Main -------------------------------------------------------------------------------------------------

def make_images(directory):
    images = {}
    for name in ("pgdata", "other-data"):
        path = os.path.join(directory, f"{name}.img")
        with open(path, "wb") as f:
            f.truncate(1 << 20)
        images[name] = path
    return images


def main():
    started = time.monotonic()
    logging.getLogger("azure").setLevel(logging.ERROR)  # the credentials' expected refusals are checked, not logged
    with tempfile.TemporaryDirectory(prefix="azure-standin-") as directory:
        state = os.path.join(directory, "state")
        process, endpoint, control, log = start_proxy(STANDIN, directory, "--state-dir", state, "--page-size", "2")
        short_dir = os.path.join(directory, "short")
        os.makedirs(short_dir)
        short, short_endpoint, _, short_log = start_proxy(STANDIN, short_dir, "--state-dir", os.path.join(short_dir, "state"),
                                                          "--token-lifetime", "1")
        try:
            short_az = Azure(short_endpoint, os.path.join(short_dir, "state"))
            expired = (short_az.url("disks"), short_az.management, time.monotonic() + 1.05)
            az = Azure(endpoint, state)
            images = make_images(directory)
            az.admin("POST", "vms", {"name": "pg1", "data_disks": [{"name": "pgdata", "lun": 0, "size_gb": 64,
                                                                    "image": images["pgdata"]}]})
            az.admin("POST", "vms", {"name": "pg2", "data_disks": [{"name": "other-data", "lun": 0, "size_gb": 16,
                                                                    "image": images["other-data"]}]})
            az.admin("POST", "disks", {"name": "far-data", "size_gb": 8, "location": "northeurope"})
            az.admin("POST", "disks", {"name": "spare", "size_gb": 8})
            az.admin("POST", "disks", {"name": "doomed-data", "size_gb": 8})
            check_identity(az, directory)
            check_arm_rejections(az, expired)
            check_snapshot_life(az, images)
            check_lists_and_outcomes(az)
            check_attach_detach(az)
            check_faults(az, control)
            check_blob_sdk(az)
            check_sas(az)
            check_user_delegation(az)
            check_vectors()
            check_devices(directory)
            count = az.admin("GET", "tokens/count")
            check(count["count"] >= 10 and set(count["by_audience"]) == {"management", "storage"},
                  f"/standin/tokens/count: {count['count']} tokens", count)
            az.admin("POST", "reset")
            calls, left = az.admin("GET", "calls")["calls"], os.listdir(os.path.join(state, "images"))
            check(calls == [] and not left and az.arm("GET", az.url("snapshots"))[2]["value"] == [],
                  "/standin/reset forgets resources and calls, removes image copies; tokens stay valid")
            with open(log) as f:
                text = f.read()
            secrets_seen = [value for value in (az.s["client_secret"], az.s["storage_key"], az.management, "sig=")
                            if value in text]
            check(not secrets_seen, "the log holds no secret, token or signature", secrets_seen)
        except Exception as error:  # noqa: BLE001 - any failure ends the test with the log
            print(f"FAIL - {type(error).__name__}: {error}", file=sys.stderr)
            for name in (log, short_log):
                with open(name) as f:
                    print(f"--- {os.path.basename(os.path.dirname(name))} log ---\n{f.read()[-4000:]}", file=sys.stderr)
            return 1
        finally:
            for proc in (process, short):
                proc.terminate()
                proc.wait(timeout=10)
    print(f"all checks passed in {time.monotonic() - started:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
