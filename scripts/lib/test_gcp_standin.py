#!/usr/bin/env python3
"""Self-test of gcp_standin.py: starts it on a free port with a control file and checks, with
Google's own client libraries where they exist (api-auth, api-cloud-storage) and raw HTTP
elsewhere, the OAuth token endpoint, the metadata server, every Compute Engine method, rule and
snapshot state, Cloud Storage's JSON API and V4-signed XML API, faults before and after acting,
the admin API, and that real answers have every key of Tests/Fixtures/gcp/*.json with the same
JSON type (so the stand-in and the fixtures the Swift tests decode cannot drift). Run as root with
a working losetup, it also checks --attach-devices (loop devices behind
/dev/disk/by-id/google-*) and that they are undone on exit.

    python3 scripts/lib/test_gcp_standin.py

Prints one line per check; exits 0 when all pass, 1 with the failure (and the stand-in's log)
otherwise. Takes about 15 s.
"""

import base64
import datetime
import hashlib
import http.client
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from unittest import mock
from urllib.parse import urlsplit

import google.auth.transport.requests
import requests
from google.api_core import exceptions as api_exceptions
from google.auth import _helpers as auth_helpers
from google.auth import jwt
from google.cloud import storage
from google.cloud.storage import _signing
from google.oauth2 import service_account

import make_gcp_vectors
from selfcheck import check, set_faults, start_proxy

HERE = os.path.dirname(os.path.abspath(__file__))
STANDIN = os.path.join(HERE, "gcp_standin.py")
FIXTURES = os.path.normpath(os.path.join(HERE, "..", "..", "Tests", "Fixtures", "gcp"))
PROJECT, ZONE, OTHER_ZONE = "snapfleet-test", "us-central1-a", "us-central1-b"
SCOPE = "https://www.googleapis.com/auth/"
CLOUD = SCOPE + "cloud-platform"
TOKEN_LIFETIME = 5
BUCKET = "standin-selftest"
DEVICE_PREFIX = "sfselftest-"  # device names of this test, unlikely on any real host


# --- Helpers ---------------------------------------------------------------------------------------


def fixture(name):
    with open(os.path.join(FIXTURES, name)) as f:
        return json.load(f)


def json_type(value):
    return "null" if value is None else type(value).__name__


def shape_problems(expected, actual, where="$"):
    """Every key of `expected` is in `actual` with the same JSON type, recursively; label maps only
    need to be maps; lists compare each element with the fixture's first."""
    if json_type(expected) != json_type(actual):
        return [f"{where}: {json_type(actual)} instead of {json_type(expected)}"]
    problems = []
    if isinstance(expected, dict) and not where.endswith(".labels"):
        for key, value in expected.items():
            if key not in actual:
                problems.append(f"{where}.{key} missing")
            else:
                problems += shape_problems(value, actual[key], f"{where}.{key}")
    elif isinstance(expected, list) and expected:
        if not actual:
            problems.append(f"{where}: empty list")
        for index, item in enumerate(actual):
            problems += shape_problems(expected[0], item, f"{where}[{index}]")
    return problems


def check_shape(name, actual, what):
    problems = shape_problems(fixture(name), actual)
    check(not problems, f"{what} has every key of {name} with the same JSON type", problems)


def raw(method, url, headers=None, body=None):
    """Sends exactly these headers; returns (status, XML error code or None, headers, body)."""
    parts = urlsplit(url)
    connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=30)
    try:
        connection.request(method, parts.path + ("?" + parts.query if parts.query else ""), body=body,
                           headers=headers or {})
        response = connection.getresponse()
        data = response.read()
    finally:
        connection.close()
    code = re.search(rb"<Code>(.*?)</Code>", data)
    return response.status, code and code.group(1).decode(), response.headers, data


class Api:
    """Raw JSON calls with a bearer token from the metadata server, refreshed before it expires."""

    def __init__(self, base):
        self.base, self.session, self.cached, self.fetched = base, requests.Session(), None, 0.0

    def metadata_token(self, scopes=None):
        params = {"scopes": ",".join(scopes)} if scopes else {}
        reply = self.session.get(f"{self.base}/computeMetadata/v1/instance/service-accounts/default/token",
                                 headers={"Metadata-Flavor": "Google"}, params=params)
        return reply.json()["access_token"]

    def token(self):
        if self.cached is None or time.time() - self.fetched > TOKEN_LIFETIME / 2:
            self.cached, self.fetched = self.metadata_token(), time.time()
        return self.cached

    def call(self, method, path, body=None, params=None, token=None, headers=None):
        """(status, JSON or text) of one call; path is under /compute/v1/projects/ unless absolute."""
        url = path if path.startswith("http") else self.base + (path if path.startswith("/") else
                                                                 f"/compute/v1/projects/{path}")
        headers = dict(headers or {})
        if token is not False:
            headers["Authorization"] = f"Bearer {token or self.token()}"
        reply = self.session.request(method, url, json=body, params=params, headers=headers, timeout=30)
        try:
            return reply.status_code, reply.json()
        except ValueError:
            return reply.status_code, reply.text

    def local(self, link):
        """A https://www.googleapis.com/compute/v1/... link as a path here."""
        return link.replace("https://www.googleapis.com", self.base)

    def wait(self, operation, deadline=10):
        end = time.time() + deadline
        while True:
            status, answer = self.call("POST", self.local(operation["selfLink"]) + "/wait")
            if status != 200 or answer["status"] == "DONE" or time.time() > end:
                return answer

    def admin(self, method, path, body=None):
        reply = self.session.request(method, self.base + path, json=body)
        return reply.status_code, reply.json()


def reason(answer):
    try:
        return answer["error"]["errors"][0]["reason"]
    except (KeyError, IndexError, TypeError):
        return None


def zonal(path):
    return f"{PROJECT}/zones/{ZONE}/{path}"


def make_image(path, text, size=4 << 20):
    with open(path, "wb") as f:
        f.truncate(size)
        f.write(text)


def read_start(path, length=6):
    with open(path, "rb") as f:
        return f.read(length)


def devices_usable():
    if os.geteuid() != 0 or not shutil.which("losetup"):
        return False
    with tempfile.NamedTemporaryFile() as image:
        image.truncate(1 << 20)
        image.flush()
        result = subprocess.run(["losetup", "-f", "--show", image.name], capture_output=True, text=True)
        if result.returncode != 0:
            return False
        subprocess.run(["losetup", "-d", result.stdout.strip()], capture_output=True)
    probe = f"/dev/disk/by-id/google-{DEVICE_PREFIX}probe-{os.getpid()}"
    try:
        os.makedirs("/dev/disk/by-id", exist_ok=True)
        os.symlink("/dev/null", probe)
        os.remove(probe)
    except OSError:
        return False
    return True


# --- Checks: key file, token endpoint, metadata ---------------------------------------------------


def check_key_file(state, base):
    with open(os.path.join(state, "service-account.json")) as f:
        key = json.load(f)
    expected = ["type", "project_id", "private_key_id", "private_key", "client_email", "client_id", "auth_uri",
                "token_uri", "auth_provider_x509_cert_url", "client_x509_cert_url", "universe_domain"]
    check(list(key) == expected, "service-account.json has Google's key-file fields in Google's order", list(key))
    check(key["type"] == "service_account" and key["project_id"] == PROJECT
          and key["client_email"] == f"snapfleet-test@{PROJECT}.iam.gserviceaccount.com"
          and key["private_key"].startswith("-----BEGIN PRIVATE KEY-----") and key["token_uri"] == base + "/token",
          "key file: type, project, client_email, PKCS#8 PEM key, token_uri of this port", key["token_uri"])
    return key


def credentials(key_file, scopes=(CLOUD,)):
    return service_account.Credentials.from_service_account_file(key_file, scopes=list(scopes))


def post_assertion(base, assertion, grant_type="urn:ietf:params:oauth:grant-type:jwt-bearer"):
    reply = requests.post(base + "/token", data={"grant_type": grant_type, "assertion": assertion})
    return reply.status_code, reply.json()


def assertion_with(info, now=None, aud=None, **changes):
    """A grant assertion made by google-auth from the key info with `changes`, at `now`; `aud`
    replaces the audience (google-auth always uses https://oauth2.googleapis.com/token)."""
    scopes = changes.pop("scopes", [CLOUD])
    creds = service_account.Credentials.from_service_account_info(dict(info, **changes), scopes=scopes)
    if aud is not None:
        now = auth_helpers.utcnow() if now is None else now
        iat = auth_helpers.datetime_to_secs(now)
        return jwt.encode(creds._signer, {"iat": iat, "exp": iat + 3600, "iss": creds.service_account_email,
                                          "aud": aud, "scope": " ".join(scopes)})
    if now is None:
        return creds._make_authorization_grant_assertion()
    with mock.patch.object(auth_helpers, "utcnow", return_value=now):
        return creds._make_authorization_grant_assertion()


def check_token_endpoint(base, key_file, key, api):
    before = api.admin("GET", "/standin/tokens/count")[1]["count"]
    creds = credentials(key_file)
    creds.refresh(google.auth.transport.requests.Request())
    after = api.admin("GET", "/standin/tokens/count")[1]["count"]
    check(creds.token and after == before + 1, "google-auth service_account.Credentials.refresh() gets a token "
          "from /token (the JWT checks accept Google's assertions)", (before, after))
    check(json.loads(base64.urlsafe_b64decode(assertion_with(key).split(b".")[1] + b"==="))["aud"]
          == "https://oauth2.googleapis.com/token", "google-auth's assertions name https://oauth2.googleapis.com/token "
          "as audience whatever the token_uri (so the stand-in accepts it)")
    status, answer = post_assertion(base, assertion_with(key, aud=key["token_uri"]))
    check(status == 200 and answer["expires_in"] == TOKEN_LIFETIME, "an assertion with aud = the key's token_uri "
          "is accepted too", answer)
    status, answer = post_assertion(base, assertion_with(key))
    check(status == 200 and answer["token_type"] == "Bearer" and answer["expires_in"] == TOKEN_LIFETIME,
          "raw JWT-bearer grant: 200, token_type Bearer, expires_in = --token-lifetime", answer)
    check_shape("token-response.json", answer, "the token answer")
    good = assertion_with(key).decode()
    head, claims, signature = good.split(".")
    flipped = signature[:-2] + ("A" if signature[-2] != "A" else "B") + signature[-1]
    refusals = [
        ("a tampered signature", f"{head}.{claims}.{flipped}", "invalid_grant", "Invalid JWT Signature."),
        ("tampered claims", f"{head}.{claims[:-3]}x{claims[-2:]}.{signature}", "invalid_grant", None),
        ("an expired assertion (made 2 h ago)",
         assertion_with(key, now=auth_helpers.utcnow() - datetime.timedelta(hours=2)), "invalid_grant",
         "Invalid JWT: Token must be a short-lived token (60 minutes) and in a reasonable timeframe. Check your "
         "iat and exp values in the JWT claim."),
        ("an assertion issued 10 minutes ahead", assertion_with(key, now=auth_helpers.utcnow() +
                                                                datetime.timedelta(minutes=10)),
         "invalid_grant", None),
        ("a wrong audience", assertion_with(key, aud="https://example.invalid/token"), "invalid_grant",
         "Invalid JWT: Failed audience check."),
        ("another key id", assertion_with(key, private_key_id="0" * 40), "invalid_grant", "Invalid JWT Signature."),
        ("another issuer", assertion_with(key, client_email="intruder@snapfleet-test.iam.gserviceaccount.com"),
         "invalid_grant", "Invalid grant: account not found"),
        ("no scope", assertion_with(key, scopes=[]), "invalid_scope", "Empty or missing scope not allowed."),
        ("an unknown scope", assertion_with(key, scopes=[SCOPE + "gmail.readonly"]), "invalid_scope", None),
    ]
    for what, assertion, error, description in refusals:
        status, answer = post_assertion(base, assertion)
        check(status == 400 and answer.get("error") == error
              and (description is None or answer.get("error_description") == description),
              f"/token refuses {what}: 400 {error}", (status, answer))
    with open(os.path.join(FIXTURES, "test-service-account.json")) as f:
        other = json.load(f)
    status, answer = post_assertion(base, assertion_with(other, token_uri=key["token_uri"]))
    check(status == 400 and answer["error"] == "invalid_grant", "/token refuses another service account's key",
          answer)
    status, answer = post_assertion(base, good, grant_type="client_credentials")
    check(status == 400 and answer["error"] == "unsupported_grant_type", "/token refuses another grant_type",
          answer)


def check_metadata(base, api):
    url = f"{base}/computeMetadata/v1/instance/service-accounts/default/token"
    reply = requests.get(url, headers={"Metadata-Flavor": "Google"})
    check(reply.status_code == 200 and reply.headers.get("Metadata-Flavor") == "Google",
          "metadata token: 200 with Metadata-Flavor: Google", reply.status_code)
    check_shape("token-response.json", reply.json(), "the metadata token answer")
    check(requests.get(url).status_code == 403, "metadata token without Metadata-Flavor: 403")
    reply = requests.get(url, headers={"Metadata-Flavor": "Google", "X-Forwarded-For": "127.0.0.2"})
    check(reply.status_code == 403, "metadata request with X-Forwarded-For: 403", reply.status_code)
    reply = requests.get(base + "/computeMetadata/v1/project/project-id", headers={"Metadata-Flavor": "Google"})
    check(reply.text == PROJECT, "metadata project-id", reply.text)
    os.environ["GCE_METADATA_HOST"] = urlsplit(base).netloc
    from google.auth.compute_engine import _metadata, credentials as gce_credentials
    with mock.patch.object(_metadata, "_GCE_METADATA_HOST", urlsplit(base).netloc):
        creds = gce_credentials.Credentials()
        creds.refresh(google.auth.transport.requests.Request())
    status, _ = api.call("GET", zonal("instances/pg-1"), token=creds.token)
    check(creds.token and status in (200, 404), "google-auth compute_engine.Credentials get a usable token from "
          "the metadata server", status)


# --- Checks: Compute Engine ----------------------------------------------------------------------


def setup_compute(api, work):
    images = {name: os.path.join(work, f"{name}.img") for name in ("pgdata", "spare")}
    make_image(images["pgdata"], b"BEFORE")
    make_image(images["spare"], b"SPARE!")
    status, instance = api.admin("POST", "/standin/instances", {
        "project": PROJECT, "zone": ZONE, "name": "pg-1", "disks": [
            {"name": "pg-1", "device_name": "pg-1", "size_gb": 10, "boot": True},
            {"name": "pg-1-data", "device_name": DEVICE_PREFIX + "pgdata", "size_gb": 20, "image": images["pgdata"]},
            {"name": "pg-1-wal", "device_name": DEVICE_PREFIX + "pgwal", "size_gb": 10, "interface": "NVME"}]})
    check(status == 200 and [d["deviceName"] for d in instance["disks"]] ==
          ["pg-1", DEVICE_PREFIX + "pgdata", DEVICE_PREFIX + "pgwal"],
          "admin: instance with three disks attached in order", (status, instance))
    for spec in ({"zone": ZONE, "name": "spare", "size_gb": 10, "image": images["spare"]},
                 {"zone": OTHER_ZONE, "name": "far-away", "size_gb": 10},
                 {"zone": ZONE, "name": "listdisk", "size_gb": 5}, {"zone": ZONE, "name": "faildisk", "size_gb": 5},
                 {"zone": ZONE, "name": "slowdisk", "size_gb": 5}):
        status, _ = api.admin("POST", "/standin/disks", dict(spec, project=PROJECT))
        check(status == 200, f"admin: disk {spec['name']} in {spec['zone']}", status)
    api.admin("POST", "/standin/instances", {"project": PROJECT, "zone": ZONE, "name": "pg-2", "disks": []})
    return images


def check_compute_auth(api):
    status, answer = api.call("GET", zonal("instances/pg-1"), token=False)
    check(status == 401 and reason(answer) == "required" and answer["error"]["status"] == "UNAUTHENTICATED",
          "compute without a token: 401 required UNAUTHENTICATED", answer)
    status, answer = api.call("GET", zonal("instances/pg-1"), token="ya29.not-a-token")
    check(status == 401 and reason(answer) == "authError", "compute with an unknown token: 401 authError", answer)
    check_shape("error-unauthenticated.json", answer, "the 401 answer")
    storage_only = api.metadata_token([SCOPE + "devstorage.read_write"])
    status, answer = api.call("GET", zonal("instances/pg-1"), token=storage_only)
    check(status == 403 and reason(answer) == "insufficientPermissions",
          "compute with a storage-only token: 403 insufficientPermissions", answer)
    read_only = api.metadata_token([SCOPE + "compute.readonly"])
    check(api.call("GET", zonal("instances/pg-1"), token=read_only)[0] == 200,
          "compute.readonly token may GET")
    status, answer = api.call("POST", zonal("disks/listdisk/createSnapshot"), {"name": "never"}, token=read_only)
    check(status == 403, "compute.readonly token may not createSnapshot", (status, answer))
    return api.metadata_token(), time.time()  # expires before the end of the test


def check_self_signed_jwt(api, key_file):
    """Google's APIs take a service account's self-signed JWT as the bearer token (google-auth
    sends one for clients with default scopes, as google-cloud-compute's are)."""
    signed = jwt.Credentials.from_service_account_file(key_file, audience="https://compute.googleapis.com/")
    signed.refresh(None)
    check(api.call("GET", zonal("instances/pg-1"), token=signed.token.decode() if isinstance(signed.token, bytes) else signed.token)[0]
          == 200, "a self-signed service-account JWT (google-auth's jwt.Credentials) is a bearer token")
    other = jwt.Credentials.from_service_account_file(key_file, audience="https://compute.googleapis.com/",
                                                      additional_claims={"sub": "someone@else.example"})
    other.refresh(None)
    token = other.token.decode() if isinstance(other.token, bytes) else other.token
    check(api.call("GET", zonal("instances/pg-1"), token=token)[0] == 401, "one whose sub is another account is refused")


def check_resources(api):
    status, instance = api.call("GET", zonal("instances/pg-1"))
    check(status == 200 and instance["kind"] == "compute#instance" and instance["status"] == "RUNNING",
          "instances.get: 200 compute#instance RUNNING", status)
    check_shape("instance.json", instance, "instances.get")
    check(instance["zone"] == f"https://www.googleapis.com/compute/v1/projects/{PROJECT}/zones/{ZONE}"
          and instance["selfLink"].endswith(f"/zones/{ZONE}/instances/pg-1") and instance["id"].isdigit(),
          "instance zone/selfLink are googleapis URLs, id a decimal string", instance["selfLink"])
    status, answer = api.call("GET", f"{PROJECT}/zones/{OTHER_ZONE}/instances/pg-1")
    check(status == 404 and reason(answer) == "notFound", "instance asked for in another zone: 404 notFound", answer)
    check_shape("error-notfound.json", answer, "the 404 answer")
    status, answer = api.call("GET", f"no-such-project/zones/{ZONE}/instances/pg-1")
    check(status == 404 and "projects/no-such-project" in answer["error"]["message"], "unknown project: 404", answer)
    status, answer = api.call("GET", f"{PROJECT}/zones/nowhere/instances/pg-1")
    check(status == 400 and reason(answer) == "invalid" and "Unknown zone" in answer["error"]["message"],
          "unknown zone: 400 invalid Unknown zone", answer)
    status, disk = api.call("GET", zonal("disks/pg-1-data"))
    check(status == 200 and disk["sizeGb"] == "20" and disk["users"] == [instance["selfLink"]],
          "disks.get: sizeGb as a string, users = the instance", disk)


def check_snapshot_life(api, images):
    api.admin("POST", f"/standin/disks/{PROJECT}/{ZONE}/pg-1-data/behaviour",
                 {"creating_seconds": 0.6, "uploading_seconds": 0.6})
    body = {"name": "pg-1-data-20261207t092801", "description": "backup 20261207T092801",
            "labels": {"snapfleet-backup": "20261207t092801", "snapfleet-server": "pg-main"}}
    status, operation = api.call("POST", zonal("disks/pg-1-data/createSnapshot"), body,
                                    params={"guestFlush": "false"})
    with open(images["pgdata"], "r+b") as f:  # a write after the request: not in the snapshot
        f.write(b"AFTER!")
    check(status == 200 and operation["status"] == "RUNNING" and operation["operationType"] == "createSnapshot"
          and operation["targetLink"].endswith("/disks/pg-1-data") and operation["zone"].endswith(ZONE),
          "createSnapshot: operation RUNNING, zonal, targeting the disk", operation)
    check_shape("operation-running.json", operation, "the createSnapshot operation")
    status, snapshot = api.call("GET", f"{PROJECT}/global/snapshots/{body['name']}")
    check(snapshot["status"] == "CREATING" and snapshot["labels"] == body["labels"],
          "the snapshot exists at once in CREATING, with its labels", snapshot.get("status"))
    seen, shaped = set(), False
    deadline = time.time() + 5
    while time.time() < deadline:
        # The operation first: once it is DONE, a snapshot read afterwards must be READY.
        now_op = api.call("GET", api.local(operation["selfLink"]))[1]
        snapshot = api.call("GET", f"{PROJECT}/global/snapshots/{body['name']}")[1]
        seen.add((snapshot["status"], now_op["status"]))
        if snapshot["status"] == "UPLOADING" and not shaped:
            check_shape("snapshot-uploading.json", snapshot, "an UPLOADING snapshot")
            shaped = True
        if snapshot["status"] == "READY":
            break
        time.sleep(0.05)
    check({("CREATING", "RUNNING"), ("UPLOADING", "RUNNING"), ("READY", "DONE")} <= seen
          and ("UPLOADING", "DONE") not in seen, "CREATING -> UPLOADING -> READY; the operation is DONE only when "
          "the snapshot is READY", sorted(seen))
    check_shape("snapshot-ready.json", snapshot, "a READY snapshot")
    final = api.call("GET", api.local(operation["selfLink"]))[1]
    check(final["status"] == "DONE" and final["progress"] == 100 and "endTime" in final and "error" not in final,
          "the operation is DONE, progress 100, endTime, no error", final)
    check_shape("operation-done.json", final, "a DONE operation")
    waited = api.wait(operation)
    check(waited["status"] == "DONE", "zoneOperations.wait of a DONE operation answers at once")

    status, operation = api.call("POST", f"{PROJECT}/global/snapshots", {
        "name": "pg-1-wal-20261207t092801", "sourceDisk": f"projects/{PROJECT}/zones/{ZONE}/disks/pg-1-wal"})
    check(status == 200 and "zone" not in operation and operation["operationType"] == "insert"
          and operation["targetLink"].endswith("/global/snapshots/pg-1-wal-20261207t092801"),
          "snapshots.insert with a partial sourceDisk (as barman-cloud): a global insert operation on the snapshot",
          operation)
    check(api.wait(operation)["status"] == "DONE", "globalOperations.wait: DONE")
    api.admin("POST", f"/standin/disks/{PROJECT}/{ZONE}/slowdisk/behaviour", {"creating_seconds": 3})
    status, slow = api.call("POST", zonal("disks/slowdisk/createSnapshot"), {"name": "slow-one"})
    started = time.monotonic()
    waited = api.call("POST", api.local(slow["selfLink"]) + "/wait")[1]
    elapsed = time.monotonic() - started
    check(waited["status"] == "RUNNING" and 0.8 <= elapsed < 4,
          f"wait on a long operation returns RUNNING after --wait-seconds ({elapsed:.1f} s)", waited["status"])
    status, answer = api.call("DELETE", f"{PROJECT}/global/snapshots/slow-one")
    check(status == 400 and reason(answer) == "resourceNotReady", "deleting a CREATING snapshot: 400 "
          "resourceNotReady", answer)


def check_rejections(api):
    create = lambda body, disk="listdisk": api.call("POST", zonal(f"disks/{disk}/createSnapshot"), body)  # noqa: E731
    cases = [
        ("createSnapshot without a name", create({}), 400, "required"),
        ("a name with uppercase and _", create({"name": "Bad_Name"}), 400, "invalid"),
        ("a name of 64 characters", create({"name": "a" * 64}), 400, "invalid"),
        ("a name ending in -", create({"name": "trailing-"}), 400, "invalid"),
        ("an uppercase label value (a backup id)", create({"name": "lab1", "labels": {"backup": "20261207T092801"}}),
         400, "invalid"),
        ("a label key starting with a digit", create({"name": "lab2", "labels": {"1key": "v"}}), 400, "invalid"),
        ("a label value of 64 characters", create({"name": "lab3", "labels": {"k": "v" * 64}}), 400, "invalid"),
        ("a duplicate snapshot name", create({"name": "pg-1-data-20261207t092801"}), 409, "alreadyExists"),
        ("createSnapshot of a missing disk", create({"name": "x1"}, disk="nodisk"), 404, "notFound"),
        ("snapshots.insert without sourceDisk",
         api.call("POST", f"{PROJECT}/global/snapshots", {"name": "x2"}), 400, "required"),
        ("snapshots.insert with a malformed sourceDisk",
         api.call("POST", f"{PROJECT}/global/snapshots", {"name": "x3", "sourceDisk": "listdisk"}), 400, "invalid"),
        ("deleting a disk in use", api.call("DELETE", zonal("disks/pg-1-data")), 400,
         "resourceInUseByAnotherResource"),
        ("attaching a disk from another zone",
         api.call("POST", zonal("instances/pg-1/attachDisk"),
                     {"source": f"projects/{PROJECT}/zones/{OTHER_ZONE}/disks/far-away"}), 400, "invalid"),
        ("attaching under a deviceName in use",
         api.call("POST", zonal("instances/pg-1/attachDisk"),
                     {"source": f"zones/{ZONE}/disks/listdisk", "deviceName": DEVICE_PREFIX + "pgdata"}),
         400, "invalid"),
        ("attachDisk without source", api.call("POST", zonal("instances/pg-1/attachDisk"), {}), 400, "required"),
        ("detachDisk of an unknown deviceName",
         api.call("POST", zonal("instances/pg-1/detachDisk"), params={"deviceName": "nothing"}), 400, "invalid"),
        ("detachDisk without deviceName", api.call("POST", zonal("instances/pg-1/detachDisk")), 400, "required"),
        ("deleting a missing snapshot", api.call("DELETE", f"{PROJECT}/global/snapshots/never-was"), 404,
         "notFound"),
        ("getting a missing operation", api.call("GET", zonal("operations/operation-1-2-3-4")), 404, "notFound"),
        ("an invalid filter", api.call("GET", f"{PROJECT}/global/snapshots", params={"filter": "name = ("}),
         400, "invalid"),
        ("a filter mixing both syntaxes",
         api.call("GET", f"{PROJECT}/global/snapshots", params={"filter": "(name eq x) (status = READY)"}),
         400, "invalid"),
        ("a filter on an unknown field",
         api.call("GET", f"{PROJECT}/global/snapshots", params={"filter": "colour = red"}), 400, "invalid"),
        ("maxResults 501", api.call("GET", f"{PROJECT}/global/snapshots", params={"maxResults": 501}), 400,
         "invalid"),
        ("orderBy on another field",
         api.call("GET", f"{PROJECT}/global/snapshots", params={"orderBy": "status"}), 400, "invalid"),
    ]
    for what, (status, answer), want_status, want_reason in cases:
        check(status == want_status and reason(answer) == want_reason,
              f"{what}: {want_status} {want_reason}", (status, answer))
    status, answer = api.call("GET", f"{PROJECT}/global/snapshots/lab1")
    check(status == 404, "a refused snapshot was not created", status)


def list_all(api, text):
    """The names of every snapshot a filter selects, over all pages."""
    names, token = [], None
    while True:
        params = {"filter": text, **({"pageToken": token} if token else {})}
        status, page = api.call("GET", f"{PROJECT}/global/snapshots", params=params)
        if status != 200:
            return page
        names += [item["name"] for item in page.get("items", [])]
        token = page.get("nextPageToken")
        if not token:
            return names


def check_lists(api):
    for index in range(5):
        api.call("POST", zonal("disks/listdisk/createSnapshot"), {"name": f"list-a-{index}", "labels": {"set": "a"}})
        time.sleep(0.003)  # distinct creationTimestamp milliseconds, for the orderBy check
    for index in range(2):
        api.call("POST", f"{PROJECT}/global/snapshots", {"name": f"list-b-{index}", "labels": {"set": "b"},
                                                           "sourceDisk": f"zones/{ZONE}/disks/listdisk"})
        time.sleep(0.003)
    time.sleep(0.15)  # default creating_seconds 0.1: all READY
    pages, token = [], None
    while True:
        params = {"filter": "labels.set = a", "maxResults": 2}
        if token:
            params["pageToken"] = token
        status, page = api.call("GET", f"{PROJECT}/global/snapshots", params=params)
        pages.append(page)
        token = page.get("nextPageToken")
        if not token:
            break
    names = [item["name"] for page in pages for item in page.get("items", [])]
    check(names == [f"list-a-{i}" for i in range(5)] and len(pages) == 3,
          "list with a label filter, maxResults 2: three pages, all five, by name", names)
    check(pages[0]["kind"] == "compute#snapshotList", "list kind compute#snapshotList", pages[0]["kind"])
    check_shape("snapshot-list-page.json", pages[0], "a snapshot list page")
    status, page = api.call("GET", f"{PROJECT}/global/snapshots", params={"filter": "labels.set:*"})
    check(len(page["items"]) == 4 and "nextPageToken" in page, "--page-size 4 caps a page (maxResults unset)",
          len(page["items"]))
    status, answer = api.call("GET", f"{PROJECT}/global/snapshots",
                                 params={"filter": "labels.set = b", "pageToken": pages[0]["nextPageToken"]})
    check(status == 400 and reason(answer) == "invalid", "a page token used with another filter: 400", answer)
    queries = [
        ("name eq 'list-a-.*'", 5), ('(name eq list-.*) (labels.set ne a)', 2),
        ("labels.set = a OR labels.set = b", 7), ("(labels.set = b) AND (status = READY)", 2),
        ("NOT labels.set = a AND name : list", 2), ('name = "list-b-1"', 1), ("diskSizeGb > 4 AND labels.set:*", 7),
        ("labels.set != a AND labels:set", 2),
    ]
    for text, count in queries:
        found = list_all(api, text)
        check(len(found) == count, f"filter {text!r}: {count}", found)
    status, page = api.call("GET", f"{PROJECT}/global/snapshots",
                               params={"filter": "labels.set:*", "orderBy": "creationTimestamp desc", "maxResults": 3})
    check([item["name"] for item in page["items"]] == ["list-b-1", "list-b-0", "list-a-4"],
          "orderBy creationTimestamp desc", [item["name"] for item in page["items"]])


def check_restore(api, state, devices):
    snapshot = f"projects/{PROJECT}/global/snapshots/pg-1-data-20261207t092801"
    status, operation = api.call("POST", zonal("disks"), {
        "name": "pg-restore-data", "sourceSnapshot": snapshot, "description": "restored",
        "labels": {"snapfleet-backup": "20261207t092801"}})
    check(status == 200 and operation["operationType"] == "insert" and operation["status"] == "RUNNING",
          "disks.insert from a snapshot: insert operation RUNNING", operation)
    check(api.wait(operation)["status"] == "DONE", "disks.insert: DONE")
    status, disk = api.call("GET", zonal("disks/pg-restore-data"))
    check(disk["sourceSnapshot"].endswith(snapshot) and disk["sizeGb"] == "20" and disk["sourceSnapshotId"].isdigit(),
          "the new disk names its sourceSnapshot and has the snapshot's size", disk)
    image = os.path.join(state, "images", f"disk-pg-restore-data-{disk['id']}.img")
    check(read_start(image) == b"BEFORE", "its image is the snapshot's point-in-time copy (a write after "
          "createSnapshot is not in it)", read_start(image))
    status, answer = api.call("POST", zonal("disks"), {"name": "small", "sourceSnapshot": snapshot, "sizeGb": "5"})
    check(status == 400 and reason(answer) == "invalid", "a disk smaller than its snapshot: 400", answer)
    status, operation = api.call("POST", zonal("instances/pg-1/attachDisk"), {
        "source": disk["selfLink"], "deviceName": DEVICE_PREFIX + "restored"})
    check(status == 200 and operation["operationType"] == "attachDisk", "attachDisk: operation", operation)
    check(api.wait(operation)["status"] == "DONE", "attachDisk: DONE")
    instance = api.call("GET", zonal("instances/pg-1"))[1]
    entry = next((d for d in instance["disks"] if d["deviceName"] == DEVICE_PREFIX + "restored"), None)
    check(entry and entry["source"] == disk["selfLink"] and entry["index"] == 3 and entry["mode"] == "READ_WRITE",
          "the instance lists the disk under its deviceName at the next index", entry)
    disk = api.call("GET", zonal("disks/pg-restore-data"))[1]
    check(disk["users"] == [instance["selfLink"]] and "lastAttachTimestamp" in disk, "the disk's users name the "
          "instance", disk.get("users"))
    check_shape("disk.json", disk, "disks.get of a restored, attached disk")
    link = f"/dev/disk/by-id/google-{DEVICE_PREFIX}restored"
    if devices:
        loop = os.path.realpath(link)
        check(os.path.islink(link) and loop.startswith("/dev/loop") and read_start(loop) == b"BEFORE",
              f"--attach-devices: {link} -> {loop}, which reads the restored image", loop)
    status, operation = api.call("POST", zonal("instances/pg-2/attachDisk"), {"source": disk["selfLink"]})
    final = api.wait(operation)
    check(final["status"] == "DONE" and final["error"]["errors"][0]["code"] == "RESOURCE_IN_USE_BY_ANOTHER_RESOURCE",
          "attaching a disk used read-write by another instance: operation DONE with RESOURCE_IN_USE", final)
    status, operation = api.call("POST", zonal("instances/pg-1/detachDisk"),
                                    params={"deviceName": DEVICE_PREFIX + "restored"})
    check(status == 200 and api.wait(operation)["status"] == "DONE", "detachDisk: DONE", operation)
    instance = api.call("GET", zonal("instances/pg-1"))[1]
    check(all(d["deviceName"] != DEVICE_PREFIX + "restored" for d in instance["disks"]),
          "after detachDisk the instance no longer lists it")
    if devices:
        check(not os.path.lexists(link), f"--attach-devices: detachDisk removed {link}")
    status, operation = api.call("DELETE", zonal("disks/pg-restore-data"))
    check(status == 200 and api.wait(operation)["status"] == "DONE" and not os.path.exists(image),
          "deleting the detached disk removes its image copy", status)
    status, operation = api.call("DELETE", f"{PROJECT}/global/snapshots/list-b-1")
    check(status == 200 and operation["operationType"] == "delete" and api.wait(operation)["status"] == "DONE"
          and api.call("GET", f"{PROJECT}/global/snapshots/list-b-1")[0] == 404,
          "snapshots.delete: operation DONE, then 404", status)


def check_outcomes(api):
    api.admin("POST", f"/standin/disks/{PROJECT}/{ZONE}/faildisk/behaviour",
                 {"outcome": "FAILED", "creating_seconds": 0.1, "uploading_seconds": 0.1})
    status, operation = api.call("POST", zonal("disks/faildisk/createSnapshot"), {"name": "will-fail"})
    final = api.wait(operation)
    snapshot = api.call("GET", f"{PROJECT}/global/snapshots/will-fail")[1]
    check(final["status"] == "DONE" and final["error"]["errors"][0]["code"] and snapshot["status"] == "FAILED",
          "outcome FAILED: the snapshot ends FAILED, the operation DONE with an error", (final, snapshot["status"]))
    check_shape("operation-error.json", final, "a failed operation")
    status, answer = api.call("POST", zonal("disks"), {"name": "from-failed",
                                                          "sourceSnapshot": "global/snapshots/will-fail"})
    check(status == 400 and reason(answer) == "resourceNotReady", "a disk from a FAILED snapshot: 400 "
          "resourceNotReady", answer)
    api.admin("POST", f"/standin/disks/{PROJECT}/{ZONE}/faildisk/behaviour", {"outcome": "FAILED_AT_CREATE"})
    status, operation = api.call("POST", zonal("disks/faildisk/createSnapshot"), {"name": "fails-at-once"})
    check(status == 200 and operation["status"] == "DONE" and operation["error"]["errors"],
          "outcome FAILED_AT_CREATE: the answer is the operation DONE with an error", operation)
    check(api.call("GET", f"{PROJECT}/global/snapshots/fails-at-once")[0] == 404, "... and no snapshot exists")
    api.admin("POST", f"/standin/disks/{PROJECT}/{ZONE}/faildisk/behaviour",
                 {"outcome": "READY", "create_delay_seconds": 1})
    started = time.monotonic()
    status, operation = api.call("POST", zonal("disks/faildisk/createSnapshot"), {"name": "delayed"})
    elapsed = time.monotonic() - started
    check(status == 200 and elapsed >= 1, f"create_delay_seconds 1: answered after {elapsed:.1f} s", status)
    status, answer = api.admin("POST", f"/standin/disks/{PROJECT}/{ZONE}/faildisk/behaviour", {"outcome": "MAYBE"})
    check(status == 400, "admin refuses an unknown outcome", answer)


def check_faults(api, control):
    set_faults(control, [{"method": "POST", "path_contains": "createSnapshot", "status": 503, "count": 1}])
    status, answer = api.call("POST", zonal("disks/listdisk/createSnapshot"), {"name": "fault-before"})
    check(status == 503 and answer["error"]["status"] == "UNAVAILABLE" and reason(answer) == "backendError",
          "fault before acting: 503 in Google's shape", answer)
    check(api.call("GET", f"{PROJECT}/global/snapshots/fault-before")[0] == 404,
          "... and the snapshot was not made")
    check(api.call("POST", zonal("disks/listdisk/createSnapshot"), {"name": "fault-before"})[0] == 200,
          "the retry (count used up) succeeds")
    set_faults(control, [{"path_contains": "/global/snapshots", "method": "POST", "after_acting": True, "status": 503,
                          "count": 1}])
    status, _ = api.call("POST", f"{PROJECT}/global/snapshots", {"name": "fault-after",
                                                                    "sourceDisk": f"zones/{ZONE}/disks/listdisk"})
    check(status == 503 and api.call("GET", f"{PROJECT}/global/snapshots/fault-after")[0] == 200,
          "fault after acting: 503, yet the snapshot exists (reply lost after the cloud acted)", status)
    set_faults(control, [{"path_contains": "createSnapshot", "after_acting": True, "reset_connection": True,
                          "count": 1}])
    try:
        result = api.call("POST", zonal("disks/listdisk/createSnapshot"), {"name": "fault-reset"})
    except requests.ConnectionError as error:
        result = error
    check(isinstance(result, requests.ConnectionError)
          and api.call("GET", f"{PROJECT}/global/snapshots/fault-reset")[0] == 200,
          "reset after acting: connection dropped, snapshot made", result)
    set_faults(control, [{"method": "GET", "path_contains": "/instances/pg-1", "delay_seconds": 0.8, "count": 1}])
    started = time.monotonic()
    status, _ = api.call("GET", zonal("instances/pg-1"))
    elapsed = time.monotonic() - started
    check(status == 200 and elapsed >= 0.8, f"delay fault: 200 after {elapsed:.1f} s", status)
    # Scoped to the instance: a token refresh falling on this call must not meet the bad fault.
    set_faults(control, [{"method": "GET", "path_contains": "/instances/pg-1", "stauts": 503}])
    check(api.call("GET", zonal("instances/pg-1"))[0] == 500, "a fault with an unknown key answers 500")
    os.remove(control)
    calls = api.admin("GET", "/standin/calls")[1]["calls"]
    posts = [c["status"] for c in calls if c["method"] == "POST" and c["path"].endswith("/listdisk/createSnapshot")
             and c["status"] in (0, 503)]
    check(posts == [503, 0] and all("?" not in c["path"] for c in calls),
          "/standin/calls records the faulted calls (503, 0 = reset), paths without query", posts)


# --- Checks: Cloud Storage -----------------------------------------------------------------------


def check_storage_json(base, key_file, api):
    client = storage.Client(project=PROJECT, credentials=credentials(key_file),
                            client_options={"api_endpoint": base})
    bucket = client.create_bucket(BUCKET)
    blob = bucket.blob("wals/000000010000000000000001")
    blob.upload_from_string(b"segment-1", if_generation_match=0)
    try:
        bucket.blob("wals/000000010000000000000001").upload_from_string(b"again", if_generation_match=0)
        result = None
    except api_exceptions.PreconditionFailed as error:
        result = error
    check(result is not None, "google-cloud-storage upload with if_generation_match=0 twice: the second is "
          "PreconditionFailed", result)
    token = api.token()
    reply = requests.post(f"{base}/upload/storage/v1/b/{BUCKET}/o", params={
        "uploadType": "media", "name": "wals/000000010000000000000001", "ifGenerationMatch": "0"},
        data=b"media", headers={"Authorization": f"Bearer {token}", "Content-Type": "application/octet-stream"})
    check(reply.status_code == 412 and reason(reply.json()) == "conditionNotMet",
          "media upload with ifGenerationMatch=0 over an object: 412 conditionNotMet", reply.text[:200])
    big = os.urandom(9 << 20)  # over google-cloud-storage's 8 MiB multipart limit: a resumable upload
    bucket.blob("big/resumable").upload_from_string(big, if_generation_match=0)
    try:
        bucket.blob("big/resumable").upload_from_string(big, if_generation_match=0)
        result = None
    except api_exceptions.PreconditionFailed as error:
        result = error
    check(result is not None and bucket.blob("big/resumable").download_as_bytes() == big,
          "a 9 MiB (resumable) upload with if_generation_match=0: stored; the second is PreconditionFailed", result)
    calls = api.admin("GET", "/standin/calls")[1]["calls"]
    check(any(c["method"] == "PUT" and c["path"] == f"/upload/storage/v1/b/{BUCKET}/o" for c in calls),
          "the resumable session URI leads back to the stand-in (its PUT is seen here)")
    for index in range(9):
        bucket.blob(f"list/{index:02d}").upload_from_string(f"item {index}".encode())
    pages = list(client.list_blobs(BUCKET, prefix="list/", page_size=20).pages)
    names = [blob.name for page in pages for blob in page]
    check(names == [f"list/{i:02d}" for i in range(9)] and len(pages) == 3,
          "list_blobs: 9 objects over 3 pages (--page-size 4 caps page_size 20)", (len(pages), names))
    reply = requests.get(f"{base}/storage/v1/b/{BUCKET}/o", params={"prefix": "list/", "maxResults": 3},
                         headers={"Authorization": f"Bearer {token}"})
    page = reply.json()
    check(reply.status_code == 200 and page["nextPageToken"] and len(page["items"]) == 3,
          "raw list page: 3 items and a nextPageToken", page.get("nextPageToken"))
    check_shape("gcs-list-page.json", page, "an object list page")
    check(page["items"][0]["mediaLink"].startswith(base), "object links point at the stand-in",
          page["items"][0]["mediaLink"])
    check_shape("gcs-object.json", requests.get(f"{base}/storage/v1/b/{BUCKET}/o/list%2F00",
                                                headers={"Authorization": f"Bearer {token}"}).json(), "objects.get")
    check(bucket.blob("wals/000000010000000000000001").download_as_bytes() == b"segment-1", "download_as_bytes")
    bucket.blob("list/08").delete()
    check(not bucket.blob("list/08").exists(), "delete, then exists() is False")
    reply = requests.get(f"{base}/storage/v1/b/{BUCKET}/o")
    check(reply.status_code == 401, "JSON API without a token: 401", reply.status_code)
    reply = requests.delete(f"{base}/storage/v1/b/{BUCKET}/o/list%2F07", params={"ifGenerationMatch": "1"},
                            headers={"Authorization": f"Bearer {token}"})
    check(reply.status_code == 412 and bucket.blob("list/07").exists(),
          "delete with a wrong ifGenerationMatch: 412, object kept", reply.status_code)
    return client


def signed(client, key_file, base, name, method, expiration=300, headers=None, **extra):
    blob = client.bucket(BUCKET).blob(name)
    return blob.generate_signed_url(version="v4", method=method, expiration=datetime.timedelta(seconds=expiration),
                                    headers=headers, api_access_endpoint=base, credentials=credentials(key_file),
                                    **extra)


def check_signed_urls(client, key_file, base):
    wal = "wals/000000010000000000000002"
    put_headers = {"x-goog-if-generation-match": "0", "content-type": "application/octet-stream"}
    put_url = signed(client, key_file, base, wal, "PUT", headers=put_headers)
    check("x-goog-if-generation-match" in re.search(r"X-Goog-SignedHeaders=([^&]*)", put_url).group(1),
          "generate_signed_url(v4, PUT) signs x-goog-if-generation-match")
    result = raw("PUT", put_url, put_headers, b"segment-2")
    check(result[0] == 200 and result[2]["x-goog-generation"], "signed PUT with its headers: 200", result[:2])
    result = raw("PUT", put_url, put_headers, b"segment-2 again")
    check(result[:2] == (412, "PreconditionFailed"), "the same signed PUT again: 412 PreconditionFailed", result[:2])
    md5 = base64.b64encode(hashlib.md5(b"segment-2").digest()).decode()
    status, code, headers, body = raw("GET", signed(client, key_file, base, wal, "GET"))
    check(status == 200 and body == b"segment-2", "signed GET: the bytes", (status, body))
    status, code, headers, body = raw("HEAD", signed(client, key_file, base, wal, "HEAD"))
    hashes = headers.get_all("x-goog-hash")
    check(status == 200 and headers["ETag"] == f'"{hashlib.md5(b"segment-2").hexdigest()}"'
          and f"md5={md5}" in hashes and any(h.startswith("crc32c=") for h in hashes)
          and headers["x-goog-stored-content-length"] == "9" and headers["Content-Length"] == "9"
          and headers["x-goog-generation"].isdigit() and headers["Last-Modified"].endswith("GMT"),
          "signed HEAD: ETag md5 hex, x-goog-hash crc32c and md5, generation, stored length, Content-Length, "
          "Last-Modified", dict(headers))
    get_url = signed(client, key_file, base, wal, "GET")
    tampered = get_url[:-4] + ("0000" if not get_url.endswith("0000") else "1111")
    refusals = [
        ("a tampered signature", raw("GET", tampered), 403, "SignatureDoesNotMatch"),
        ("the URL used for another object", raw("GET", get_url.replace(wal, wal[:-1] + "9")), 403,
         "SignatureDoesNotMatch"),
        ("a GET URL used with PUT", raw("PUT", get_url, {}, b"x"), 403, "SignatureDoesNotMatch"),
        ("a PUT URL used with GET", raw("GET", put_url), 400, "MalformedSecurityHeader"),
        ("an added query parameter", raw("GET", get_url + "&generation=1"), 403, "SignatureDoesNotMatch"),
        ("a signed header's value changed", raw("PUT", put_url, dict(put_headers, **{
            "x-goog-if-generation-match": "1"}), b"x"), 403, "SignatureDoesNotMatch"),
        ("a signed header missing", raw("PUT", put_url, {"content-type": "application/octet-stream"}, b"x"), 400,
         "MalformedSecurityHeader"),
        ("an unsigned x-goog-meta header", raw("GET", get_url, {"x-goog-meta-foo": "bar"}), 400,
         "MalformedSecurityHeader"),
        ("a URL of another service account", raw("GET", signed(client, os.path.join(
            FIXTURES, "test-service-account.json"), base, wal, "GET")), 403, "AccessDenied"),
        ("no authentication at all", raw("GET", f"{base}/{BUCKET}/{wal}"), 403, "AccessDenied"),
        ("a signed GET of a missing object", raw("GET", signed(client, key_file, base, "wals/none", "GET")), 404,
         "NoSuchKey"),
    ]
    with mock.patch.object(_signing, "get_expiration_seconds_v4", return_value=604801):
        too_long = signed(client, key_file, base, wal, "GET")
    refusals.append(("X-Goog-Expires 604801", raw("GET", too_long), 400, "MalformedSecurityHeader"))
    for what, result, status, code in refusals:
        check(result[:2] == (status, code), f"{what}: {status} {code}", result[:2] + (result[3][:300],))
    status, _, _, body = raw("GET", tampered)
    check(b"<StringToSign>GOOG4-RSA-SHA256\n" in body and b"<CanonicalRequest>GET\n" in body,
          "SignatureDoesNotMatch shows StringToSign and CanonicalRequest, as GCS does")
    name = "base/20261207T092801/données été+~ü.bin"
    url = signed(client, key_file, base, name, "PUT", headers={"x-goog-if-generation-match": "0"})
    check(raw("PUT", url, {"x-goog-if-generation-match": "0"}, b"odd")[0] == 200
          and raw("GET", signed(client, key_file, base, name, "GET"))[3] == b"odd",
          "signed PUT/GET of an object named with spaces, unicode, '+' and '~'")
    md5_url = signed(client, key_file, base, "wals/md5", "PUT", headers={"x-goog-if-generation-match": "0"})
    good_md5 = base64.b64encode(hashlib.md5(b"checked").digest()).decode()
    result = raw("PUT", md5_url, {"x-goog-if-generation-match": "0", "Content-MD5": good_md5}, b"tampered")
    check(result[:2] == (400, "BadDigest"), "a Content-MD5 not of the body: 400 BadDigest", result[:2])
    result = raw("PUT", md5_url, {"x-goog-if-generation-match": "0", "Content-MD5": good_md5}, b"checked")
    check(result[0] == 200, "the body's own Content-MD5: 200", result[:2])
    delete_url = signed(client, key_file, base, "wals/md5", "DELETE")
    check(raw("DELETE", delete_url)[0] == 204 and raw("DELETE", delete_url)[:2] == (404, "NoSuchKey"),
          "signed DELETE: 204, then 404 NoSuchKey")
    return signed(client, key_file, base, wal, "GET", expiration=1)


def check_vectors():
    with open(os.path.join(FIXTURES, "signing-vectors.json")) as f:
        committed = json.load(f)
    check(make_gcp_vectors.comparable(committed) == make_gcp_vectors.comparable(make_gcp_vectors.build()),
          "signing-vectors.json is what google-cloud-storage and google-auth produce now")


# --- Checks: devices, reset, exit ----------------------------------------------------------------


def check_device_collision(api, work):
    link = f"/dev/disk/by-id/google-{DEVICE_PREFIX}collision"
    os.makedirs("/dev/disk/by-id", exist_ok=True)
    with open(link, "w") as f:
        f.write("not the stand-in's")
    try:
        status, operation = api.call("POST", zonal("instances/pg-2/attachDisk"), {
            "source": f"zones/{ZONE}/disks/spare", "deviceName": DEVICE_PREFIX + "collision"})
        final = api.wait(operation)
        check(final.get("error") and not os.path.islink(link) and open(link).read() == "not the stand-in's",
              "--attach-devices never overwrites a path it did not make (operation DONE with an error)", final)
    finally:
        os.remove(link)


def check_reset(api, base, devices, images):
    link = f"/dev/disk/by-id/google-{DEVICE_PREFIX}pgdata"
    if devices:
        check(os.path.islink(link), f"--attach-devices: the admin instance's image disk is at {link}")
    check(api.admin("POST", "/standin/reset")[0] == 200, "POST /standin/reset")
    check(api.call("GET", zonal("instances/pg-1"))[0] == 404, "after reset the instance is gone")
    token = api.token()
    reply = requests.get(f"{base}/storage/v1/b/{BUCKET}", headers={"Authorization": f"Bearer {token}"})
    check(reply.status_code == 404, "after reset the bucket is gone", reply.status_code)
    check(api.admin("GET", "/standin/tokens/count")[1]["count"] <= 1, "after reset the token counter restarted")
    if devices:
        check(not os.path.lexists(link), "reset undid the devices")
    check(os.path.exists(images["pgdata"]), "reset keeps the images a test supplied")


def check_exit(process, state, devices, images, log):
    fake_port = int(re.search(r"fake-gcs-server on port (\d+)", open(log).read()).group(1))
    process.terminate()
    process.wait(timeout=10)
    leftovers = os.listdir(os.path.join(state, "images"))
    check(process.returncode == 0 and not leftovers, "SIGTERM: clean exit, image copies removed",
          (process.returncode, leftovers))
    try:
        http.client.HTTPConnection("127.0.0.1", fake_port, timeout=2).request("GET", "/storage/v1/b")
        stopped = False
    except ConnectionRefusedError:
        stopped = True
    check(stopped, f"fake-gcs-server (port {fake_port}) stopped with the stand-in")
    if devices:
        attached = subprocess.run(["losetup", "-j", images["pgdata"]], capture_output=True, text=True).stdout
        check(not attached.strip(), "no loop device left on the test's images", attached)


def main():
    devices = devices_usable()
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="gcp-standin-") as directory:
        state, work = os.path.join(directory, "state"), os.path.join(directory, "work")
        os.makedirs(work)
        arguments = ["--state-dir", state, "--token-lifetime", str(TOKEN_LIFETIME), "--page-size", "4",
                     "--wait-seconds", "1"] + (["--attach-devices"] if devices else [])
        process, base, control, log = start_proxy(STANDIN, directory, *arguments)
        images = {}
        try:
            api = Api(base)
            key_file = os.path.join(state, "service-account.json")
            key = check_key_file(state, base)
            check_token_endpoint(base, key_file, key, api)
            images = setup_compute(api, work)
            check_metadata(base, api)
            old_token, old_token_at = check_compute_auth(api)
            check_self_signed_jwt(api, key_file)
            check_resources(api)
            check_snapshot_life(api, images)
            check_rejections(api)
            check_lists(api)
            check_restore(api, state, devices)
            check_outcomes(api)
            check_faults(api, control)
            client = check_storage_json(base, key_file, api)
            expiring_url = check_signed_urls(client, key_file, base)
            expiring_url_at = time.time()
            check_vectors()
            if devices:
                check_device_collision(api, work)
            else:
                print("skip - --attach-devices checks (needs root and a working losetup)", flush=True)
            time.sleep(max(0.0, old_token_at + TOKEN_LIFETIME + 0.2 - time.time(), expiring_url_at + 1.2 - time.time()))
            status, answer = api.call("GET", zonal("instances/pg-1"), token=old_token)
            check(status == 401 and reason(answer) == "authError", "an expired token: 401 authError", answer)
            result = raw("GET", expiring_url)
            check(result[:2] == (400, "ExpiredToken"), "a signed URL past X-Goog-Expires: 400 ExpiredToken", result[:2])
            check_reset(api, base, devices, images)
            check_exit(process, state, devices, images, log)
        except Exception as error:  # noqa: BLE001 - any failure ends the test with the log
            print(f"FAIL - {type(error).__name__}: {error}", file=sys.stderr)
            print(f"--- stand-in log ---\n{open(log).read()[-4000:]}", file=sys.stderr)
            return 1
        finally:
            if process.poll() is None:
                process.terminate()
                process.wait(timeout=10)
    print(f"all checks passed in {time.monotonic() - started:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
