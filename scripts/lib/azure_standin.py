#!/usr/bin/env python3
"""A Microsoft Azure stand-in for snapfleet's tests: Entra ID (client credentials), the managed
identity endpoint of IMDS, Azure Resource Manager's Microsoft.Compute virtualMachines / disks /
snapshots, and the Blob service of one storage account, on one loopback port, checking every
credential for real.

No emulator of Azure Resource Manager, Entra ID or Blob storage runs here (Azurite is distributed
through npm only), so this one follows Microsoft's published references: the Microsoft identity
platform's client-credentials flow and certificate credentials, "How to use managed identities ...
to acquire an access token" (IMDS), the Compute REST references and their swagger examples in
Azure/azure-rest-api-specs (DiskRP 2025-01-02, ComputeRP 2024-11-01), "Track asynchronous Azure
operations", and the Blob service REST references (Put Blob, Put Block, Put Block List, Get Blob,
Get Blob Properties, Delete Blob, List Blobs, Get User Delegation Key, Authorize with Shared Key,
Create a service SAS, Create a user delegation SAS, conditional headers, error codes).

    python3 scripts/lib/azure_standin.py --port-file FILE --state-dir DIR [--port N]
        [--control-file FILE] [--token-lifetime SECONDS] [--attach-devices] [--page-size N]

One ThreadingHTTPServer on 127.0.0.1 (HTTP/1.1, keep-alive; a free port unless --port). At start it
makes DIR, generates a self-signed certificate with its RSA key (DIR/certificate.pem, certificate
first, then the key), and writes DIR/azure.json:

    {"tenant_id", "client_id", "client_secret", "certificate_client_id", "certificate_path",
     "subscription_id", "resource_group": "snapfleet-rg", "location": "westeurope",
     "storage_account": "snapfleettest", "storage_key": base64 of 64 random bytes,
     "authority": "http://127.0.0.1:PORT", "management": "http://127.0.0.1:PORT",
     "blob_endpoint": "http://127.0.0.1:PORT/snapfleettest", "imds": "http://127.0.0.1:PORT"}

then the port file (written under a temporary name and renamed, like every state file here).
client_id authenticates with client_secret, certificate_client_id with client assertions signed by
the certificate's key; both are registered in tenant_id. --token-lifetime (default 3600) is the
lifetime of every access token, --page-size (default 100) the page of ARM lists and List Blobs'
default (and largest) maxresults. One line per request goes to stderr, METHOD PATH -> STATUS
(the path never has its query, so no signature, token or key is ever logged). On SIGTERM/SIGINT it
stops serving and undoes what --attach-devices did.

Entra ID (authority http://127.0.0.1:PORT)
  GET  /{tenant}/v2.0/.well-known/openid-configuration   OpenID discovery (MSAL fetches it): its
       endpoints are http://127.0.0.1:PORT/..., or https:// when the request carries
       X-Forwarded-Proto: https (a TLS-terminating test shim: MSAL and azure-identity only accept
       https authorities).
  POST /{tenant}/oauth2/v2.0/token   grant_type=client_credentials, form-encoded, with client_id and
       client_secret (or HTTP Basic), or client_assertion_type=urn:ietf:params:oauth:client-
       assertion-type:jwt-bearer + client_assertion. The assertion is a JWS: alg RS256 (PKCS#1 v1.5,
       as MSAL signs when given a SHA-1 thumbprint, azure-identity's CertificateCredential) or PS256
       (PSS, salt = 32, as the current certificate-credentials page and MSAL given the certificate
       itself do), the key named by x5t#S256 (SHA-256) or x5t (SHA-1) thumbprint of a certificate
       registered for the client; claims aud = the token endpoint URL (http or https form of
       authority/{tenant}/oauth2/v2.0/token), iss = sub = client_id, exp in the future, nbf (if
       present) not more than 300 s ahead, jti present. Replayed assertions are accepted (MSAL
       reuses one until it expires). scope must be one resource's /.default:
       https://management.azure.com/.default (or https://management.core.windows.net//.default)
       or https://storage.azure.com/.default; the token is bound to that audience.
       Answer 200 {"token_type": "Bearer", "expires_in", "ext_expires_in", "access_token"}
       (numbers; access tokens are random opaque strings, not JWTs). Refusals are Entra's error JSON
       {"error", "error_description": "AADSTSnnn: ...\\r\\nTrace ID: ...\\r\\nCorrelation ID: ...
       \\r\\nTimestamp: ...", "error_codes", "timestamp", "trace_id", "correlation_id",
       "error_uri"}:
         400 invalid_request AADSTS90002 unknown tenant; AADSTS900144 missing parameter;
             AADSTS900561 not a POST
         400 unsupported_grant_type AADSTS70003
         400 unauthorized_client AADSTS700016 unknown client_id
         400 invalid_scope AADSTS70011 scope not '<resource>/.default' or several resources;
         400 invalid_resource AADSTS500011 unknown resource
         401 invalid_client AADSTS7000215 wrong secret (also: a secret for the certificate app);
             AADSTS7000218 no credential; AADSTS700027 unknown thumbprint or bad signature;
             AADSTS50012 wrong aud; AADSTS700021 iss != client_id; AADSTS50048 sub != iss;
             AADSTS700024 expired or not yet valid; AADSTS50027 malformed JWT, bad alg, no jti
IMDS (managed identity of "this VM")
  GET /metadata/identity/oauth2/token?api-version=2018-02-01&resource=R   header Metadata: true
      required (400 bad_request_102 "Required metadata header not specified" otherwise); a request
      with X-Forwarded-For is refused (400 invalid_request); api-version and resource required
      (400 invalid_request); resource https://management.azure.com[/],
      https://management.core.windows.net[/] or https://storage.azure.com[/] (else 400
      invalid_resource AADSTS50001). Answer, all strings as IMDS sends them: {"access_token",
      "refresh_token": "", "expires_in", "expires_on", "not_before", "resource", "token_type":
      "Bearer"}.

Azure Resource Manager (management endpoint http://127.0.0.1:PORT)
  /subscriptions/{sub}/resourceGroups/snapfleet-rg/providers/Microsoft.Compute/
      virtualMachines[/{name}]  GET, PATCH, PUT (update only)   api-versions 2024-03-01, 2024-07-01,
                                                                2024-11-01, 2025-04-01
      disks[/{name}]            GET, PUT, DELETE, list          2023-10-02, 2024-03-02, 2025-01-02
      snapshots[/{name}]        GET, PUT, DELETE, list          2023-10-02, 2024-03-02, 2025-01-02
  /subscriptions/{sub}/providers/Microsoft.Compute/{disks|snapshots|virtualMachines}  list
  /subscriptions/{sub}/providers/Microsoft.Compute/locations/{loc}/DiskOperations/{id}  (disks,
      snapshots) and .../locations/{loc}/operations/{id} (VMs): the async-operation status
      {"name", "status": "InProgress|Succeeded|Failed", "startTime", "endTime", "error": {"code",
      "message"}}; with monitor=true (the Location URL) 202 + Location + Retry-After while in
      progress, then 200 with the resource (204 for a delete), or the failure's status and error.
  Checks, in order: bearer token of the management audience (else 401 with WWW-Authenticate:
  Bearer authorization_uri=..., error="invalid_token", error_description=... and code
  AuthenticationFailed (no header), AuthenticationFailedInvalidHeader, InvalidAuthenticationToken
  (unknown), InvalidAuthenticationTokenAudience, ExpiredAuthenticationToken); api-version present
  (400 MissingApiVersionParameter), well formed (400 InvalidApiVersionParameter) and implemented
  for the type (400 NoRegisteredProviderFound); subscription (404 SubscriptionNotFound), resource
  group (404 ResourceGroupNotFound), resource type (400 InvalidResourceType), resource (404
  ResourceNotFound "The Resource 'Microsoft.Compute/snapshots/x' under resource group ... was not
  found."). Resource group, provider, type and names are case-insensitive; answers keep the
  casing the resource was created with. JSON bodies must be JSON (415 UnsupportedMediaType for
  another Content-Type, 400 InvalidRequestContent when unparseable). Errors are
  {"error": {"code", "message"[, "target"]}}. Every answer has x-ms-request-id and
  x-ms-correlation-request-id.
  Long-running operations answer with Azure-AsyncOperation (.../DiskOperations/{id} or
  .../operations/{id}), Location (the same with monitor=true) and Retry-After (whole seconds left,
  at least 1). A resource with an operation in progress refuses another change with 409
  AnotherOperationInProgress.
  Snapshots (DiskRP swagger: PUT answers 202 when it creates, 200 when it updates; not 201):
    PUT body {"location" (required: 400 LocationRequired; must be the disk's: 400 InvalidParameter),
    "tags", "sku", "properties": {"creationData": {"createOption": "Copy", "sourceResourceId": the
    disk's id (404 NotFound when it does not exist)}, "incremental"}}; name ^[^_\\W][\\w-._]{0,79}
    (?<![-.])$ (400 InvalidParameter). The answer and GETs during creation have provisioningState
    "Updating"; after accept_seconds the operation is Succeeded (provisioningState Succeeded).
    Then the background copy: properties.completionPercent (number) grows from 0 to 100 over
    copy_seconds and properties.snapshotAccessState (api-version 2025-01-02 only, as in the spec)
    is "Pending" until 100, then "Available". A disk can be created from a snapshot only once it is
    Available (409 OperationNotAllowed before): the incremental-snapshot and instant-access pages
    say so of Premium SSD v2 and Ultra disk snapshots, whose background copy must finish first,
    while snapshots of other disk types report 100 and are Available at once (copy_seconds 0, the
    default, gives that).
    WHEN THE CONTENTS ARE FIXED: the references describe a snapshot as a point-in-time copy that
    can be used as soon as it has been taken, without naming an instant inside the create
    operation; the only instant a client can observe is the create operation's success. The
    stand-in captures the disk at the latest moment the docs allow: at the end of accept_seconds,
    just before the operation turns Succeeded (with accept_seconds 0, before the PUT answers). A
    client must therefore wait for the create operation to succeed before it ends the PostgreSQL
    backup; it need not wait for the background copy.
    DELETE: 202 + Location + Azure-AsyncOperation (the snapshot is gone at once; the operation
    succeeds on its first poll), 204 when there is no such snapshot, 409 AnotherOperationInProgress
    while its creation runs. List: {"value": [...], "nextLink"} with $skiptoken paging.
  Disks: PUT creates from a snapshot ({"location" (must be the snapshot's), "sku", "properties":
    {"creationData": {"createOption": "Copy", "sourceResourceId": snapshot id}, "diskSizeGB" (not
    smaller than the snapshot)}}) or empty (createOption Empty + diskSizeGB): 202 +
    Azure-AsyncOperation, Updating for 0.1 s, then Succeeded; PUT on an existing disk updates tags
    (409 PropertyChangeNotAllowed for creationData). DELETE: 202 (as snapshots), 409
    OperationNotAllowed "Disk x is attached to VM y." while attached, 204 when absent. Disk JSON:
    managedBy (when attached), sku, properties.{diskSizeGB, diskSizeBytes, diskState (Attached |
    Unattached), creationData, provisioningState, timeCreated, uniqueId, ...}.
  VMs are made through /standin/vms only (PUT of an unknown VM: 400 OperationNotAllowed).
    PATCH (or PUT) with properties.storageProfile.dataDisks: an entry {lun, createOption "Attach",
    managedDisk {id}} attaches, an entry with toBeDetached true or an attached disk left out of the
    list detaches (no dataDisks key: no change). 200 with the VM (provisioningState Updating) +
    Azure-AsyncOperation; Succeeded after update_seconds (default 0.1). Refused: LUN taken or
    outside 0..63 (400 InvalidParameter), disk attached to another VM (409 OperationNotAllowed),
    disk in another location (400 InvalidParameter), unknown disk (404 NotFound), disk or VM
    busy (409 AnotherOperationInProgress), createOption other than Attach for a new entry (400
    InvalidParameter). The model (dataDisks, the disk's managedBy and diskState) changes when the
    PATCH is accepted; devices (--attach-devices) when the operation succeeds.
  Disk images: a disk registered with "image" (a file path owned by the test, never deleted by the
  stand-in) is captured into DIR/images/snapshot-<snapshot uniqueId>.img when its snapshot's
  contents are fixed: os.sync() (writes of a mounted filesystem reach the image), then cp
  --sparse=always --reflink=auto to a temporary name, renamed. A disk created from that snapshot
  gets its own copy (DIR/images/disk-<disk uniqueId>.img, made when its creation succeeds).
  Deleting a snapshot or a disk removes the copies the stand-in made.
  Ids: resource ids in answers use the casing of the subscription, resource group and name as
  created, except a VM's dataDisks[].managedDisk.id, which is the id the client sent when it
  attached the disk (ARM ids are case-insensitive: compare them so). Locations are answered
  normalized ("West Europe" -> "westeurope").
  --attach-devices (root): when an attach succeeds for a disk with an image, the image goes on a
  loop device (losetup -f --show; an image already on one, a test's mounted disk, is linked as
  it is and its loop device left alone) and /dev/disk/azure/scsi1/lun<N> (directories made with
  mkdir -p) becomes a symlink to it, as the VM would see its data disk; detaching removes the
  symlink and detaches the loop device. A path that exists and is not a symlink the stand-in made
  is never replaced: the attach operation fails (500 InternalExecutionError in the operation).
  All VMs share this machine's /dev, so their image-backed disks need distinct LUNs. On exit, and
  on /standin/reset, everything is undone.

Blob service of account snapfleettest (path-style, as the Azure storage emulator is addressed:
http://127.0.0.1:PORT/snapfleettest/{container}/{blob})
  PUT ?restype=container (Create Container, 201; 409 ContainerAlreadyExists), DELETE ?restype=
  container, GET/HEAD ?restype=container (properties), GET ?restype=container&comp=list (List
  Blobs: prefix, delimiter -> BlobPrefix, marker / NextMarker (opaque), maxresults 1..5000 capped to
  --page-size, include=metadata; XML EnumerationResults with Properties Creation-Time,
  Last-Modified, Etag (unquoted), Content-Length, Content-Type, Content-MD5, BlobType, ...; Blob and
  BlobPrefix entries in name order), GET /snapfleettest/?comp=list (List Containers, one page).
  PUT blob (Put Blob: x-ms-blob-type BlockBlob required (400 MissingRequiredHeader /
  InvalidHeaderValue); 201 with ETag, Last-Modified, Content-MD5 (computed), x-ms-request-server-
  encrypted). PUT ?comp=block&blockid= (Put Block; block ids base64, all of one blob the same
  length). PUT ?comp=blocklist (Put Block List: <BlockList> with <Latest>, <Committed>,
  <Uncommitted>; 400 InvalidBlockList for an unknown block; its Content-MD5 answer is the MD5 of
  the request body, the list, not of the blob). GET (Get Blob, Range or x-ms-range
  bytes=N-[M], x-ms-range winning: 206 + Content-Range, 416 InvalidRange past the end; suffix
  ranges (bytes=-N) are not implemented and answer the whole blob; x-ms-blob-content-md5 with the
  whole blob's MD5 for ranged reads), HEAD (Get Blob Properties: Content-Length, Content-Type,
  Content-MD5, ETag, Last-Modified, x-ms-blob-type, x-ms-creation-time, x-ms-lease-state/status,
  x-ms-server-encrypted), DELETE (202; 404 BlobNotFound). POST /snapfleettest/?restype=service&
  comp=userdelegationkey with <KeyInfo><Start/><Expiry/></KeyInfo> (bearer only; Expiry after
  Start and within 7 days, else 400 InvalidXmlNodeValue) -> <UserDelegationKey> with SignedOid (the
  caller's object id), SignedTid, SignedStart, SignedExpiry (YYYY-MM-DDThh:mm:ssZ), SignedService
  b, SignedVersion, Value (HMAC of those fields under a secret made at start).
  Content-MD5: when sent with Put Blob or Put Block, it must be base64 of 16 bytes (400 InvalidMd5)
  and the body's MD5 (400 Md5Mismatch with UserSpecifiedMd5 and ServerCalculatedMd5). Put Blob
  stores the blob's Content-MD5 property: x-ms-blob-content-md5 if sent (checked against the body
  like Content-MD5, since a single-shot upload has the whole content), else the MD5 the service
  computed, as the reference says for version 2012-02-12 and later. Put Block List stores
  x-ms-blob-content-md5 if sent (not checked: the blocks were) and otherwise none.
  Conditional headers on Put Blob / Put Block List: If-None-Match: * on an existing blob is 409
  BlobAlreadyExists "The specified blob already exists." (what the service answers: the Python,
  .NET and CLI tools all surface it as 409 BlobAlreadyExists, not 412); If-None-Match: <etag> that
  matches, or If-Match that does not (or on a missing blob), is 412 ConditionNotMet. On GET/HEAD
  If-None-Match matching is 304, If-Match not matching 412 ConditionNotMet. If-Modified-Since /
  If-Unmodified-Since are ignored.
  Authorization (checked before anything else; a request with none is 401
  NoAuthenticationInformation):
    SharedKey: Authorization: SharedKey snapfleettest:<signature>; x-ms-date or Date required and
      within 15 minutes (403 AuthenticationFailed "Request date header too old"); x-ms-version
      required (400 MissingRequiredHeader) and one the installed SDK knows (400 InvalidHeaderValue).
      String to sign as the Shared Key reference gives it for 2009-09-19 and later: VERB, the
      eleven standard headers (Content-Length empty when 0; the Range header, which the Python SDK
      never sends, is signed), the x-ms-* headers lower-cased and sorted as the service sorts them
      (the SDK's own collation table), the canonicalized resource "/snapfleettest" + the URL path as
      sent (so "/snapfleettest/snapfleettest/container/blob", the account twice, as the SDK and the
      emulator compute it for path-style URLs) and the query parameters (names lower-cased and
      sorted, values URL-decoded with '+' as a space, as the emulator does, several values sorted
      and comma-joined). Mismatch: 403 AuthenticationFailed whose AuthenticationErrorDetail quotes
      the string to sign the stand-in used (without echoing the signature).
    OAuth: Authorization: Bearer <token of the storage audience> with x-ms-version 2017-11-09 or
      later (else 400); refusals 401 InvalidAuthenticationInfo with WWW-Authenticate: Bearer
      authorization_uri=.../{tenant}/oauth2/authorize resource_id=https://storage.azure.com.
    SAS (sig in the query): service SAS (signed with the account key) or user-delegation SAS
      (skoid, sktid, skt, ske, sks, skv; signed with the delegation key, which must not have
      expired, be for this tenant and service b, and cover the SAS's expiry). sv must be 2020-12-06
      or 2026-10-06 (the installed SDK's), the two string-to-sign layouts implemented: service SAS
      (both): sp, st, se, "/blob/snapfleettest/{container}[/{blob}]" (names unencoded), si, sip,
      spr, sv, sr, snapshot, ses, rscc, rscd, rsce, rscl, rsct; user delegation 2020-12-06: sp, st,
      se, resource, skoid, sktid, skt, ske, sks, skv, saoid, suoid, scid, sip, spr, sv, sr,
      snapshot, ses, rscc..rsct; 2026-10-06 adds skdutid and sduoid after scid and srh, srq after
      ses (as azure-storage-blob 12.31 signs). sr b (that blob) or c (the container). Refused
      with 403: AuthenticationFailed (signature mismatch, detail "Signature did not match. String
      to sign used was ..."; expired or not yet valid; other sv; si, srh/srq values (not
      implemented); a malformed field), AuthorizationPermissionMismatch (sp lacks r for GET/HEAD,
      w for Put Block (c alone is refused there, as users of c-only SAS report for block
      uploads), c or w for creating a blob, d for DELETE, l for List Blobs),
      UnauthorizedBlobOverwrite (Put Blob / Put Block List over an existing blob with c but not w,
      unless If-None-Match: * is sent, which answers 409 BlobAlreadyExists first),
      AuthorizationResourceTypeMismatch (sr=b used for a container operation),
      AuthorizationSourceIPMismatch (sip). spr=https is accepted: loopback HTTP stands for
      Azure's HTTPS here. rscc/rscd/rsce/rscl/rsct override the GET/HEAD response headers.
  Every answer has x-ms-request-id, x-ms-version (the request's, else the SAS's sv, else
  2026-10-06) and Date; errors are <?xml ...?><Error><Code>..</Code><Message>..\\nRequestId:..
  \\nTime:..</Message>[<AuthenticationErrorDetail>..</AuthenticationErrorDetail>]</Error> with
  x-ms-error-code (HEAD: no body).

Admin API (no authorization), JSON in and out:
  POST /standin/reset                     forget VMs, disks, snapshots, operations, containers,
                                          blobs, behaviours, the call log and the token count
                                          (undoing devices, removing the stand-in's image copies);
                                          issued tokens stay valid.
  POST /standin/containers {"name"}       201 (200 if it exists)
  POST /standin/vms {"name", "location"?, "vm_size"?, "update_seconds"?, "data_disks": [{"name",
      "lun", "size_gb", "image"?}]}      makes the missing managed disks, an OS disk, and the VM with
                                          them attached (devices too with --attach-devices);
                                          201 with the VM as GET shows it.
  POST /standin/disks {"name", "size_gb", "image"?, "location"?}    201 with the disk.
  POST /standin/disks/{name}/behaviour {"accept_seconds" (0.1), "copy_seconds" (0), "outcome"
      ("Succeeded" | "Failed" | "FailedAtCreate"), "create_delay_seconds" (0)}   for snapshots of
      that disk (the disk need not exist yet): the snapshot PUT sleeps create_delay_seconds before
      answering; FailedAtCreate refuses the PUT itself (409 OperationNotAllowed, no snapshot);
      Failed ends the create operation Failed after accept_seconds (error
      InternalDiskManagementError; the snapshot stays, provisioningState Failed).
  GET  /standin/calls                     {"calls": [{"method", "path" (no query), "status" (null
                                          for a dropped connection), "fault"?}]}: every Azure call
  GET  /standin/tokens/count              {"count": access tokens issued, "by_audience": {...}}

Fault injection: --control-file is JSON, re-read when its mtime (or inode, or size) changes; an
absent file means no faults. Write it atomically (temporary file + rename):

    {"faults": [
      {"method": "PUT", "path_contains": "/snapshots/", "status": 503, "count": 1},
      {"path_contains": "/disks/", "after_acting": true, "status": 503, "count": 1},
      {"after_acting": true, "reset_connection": true, "count": 1},
      {"delay_seconds": 2, "count": 1},
      {"status": 429, "retry_after": 1, "count": 1}
    ]}

Match fields (all optional): method, path_contains (a substring of the path as sent, without the
query). Admin calls never match. The first matching fault whose count is > 0 (no count: unlimited)
applies and its count drops by one (in memory; rewriting the file resets counts). A fault acts in
this order: delay_seconds sleeps; then, without after_acting, "status" answers that status without
acting (the cloud never saw the request; credentials are not checked) and reset_connection drops
the connection with a TCP RST; with after_acting the request is performed as usual, then its
answer is replaced by "status" or by a reset (the cloud acted, its reply was lost). A delay alone
then performs the request. Injected errors: ARM's {"error": {"code", "message"}} (429
TooManyRequests, 500 InternalServerError, 502 BadGateway, 503 ServiceUnavailable, 504
GatewayTimeout), the Blob XML error for blob paths (500 InternalError, 503 ServerBusy, 429
TooManyRequests), Entra's error JSON for token and IMDS paths (temporarily_unavailable); "code"
overrides the code; "retry_after" adds Retry-After.

Deliberate deviations, beyond those above: one storage account, one resource group, one tenant and
one location (westeurope) exist; snapshot and disk deletions are immediate; no Canceled
operations are produced; page and append blobs, leases, snapshots of blobs, versions, stored
access policies, account SAS, SharedKeyLite and If-(Un)Modified-Since are not implemented; disk
sizes are not checked against images. Stdlib plus cryptography (JWT signatures, the certificate)
and azure-storage-blob (only its header collation table).
"""

import argparse
import base64
import binascii
import datetime
import email.utils
import hashlib
import hmac
import io
import json
import math
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
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import quote, unquote
from xml.etree import ElementTree
from xml.sax.saxutils import escape

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.x509.oid import NameOID

try:  # the service's header collation, as the SDK emulates it
    from azure.storage.blob._shared.authentication import _storage_header_sort
except ImportError:  # pragma: no cover - plain ordinal sort for names without '-' subtleties
    def _storage_header_sort(pairs):
        return sorted(pairs)

ACCOUNT = "snapfleettest"
RESOURCE_GROUP = "snapfleet-rg"
LOCATION = "westeurope"
MANAGEMENT = "management"
STORAGE = "storage"
SCOPES = {
    "https://management.azure.com/.default": MANAGEMENT,
    "https://management.azure.com//.default": MANAGEMENT,
    "https://management.core.windows.net/.default": MANAGEMENT,
    "https://management.core.windows.net//.default": MANAGEMENT,
    "https://storage.azure.com/.default": STORAGE,
    "https://storage.azure.com//.default": STORAGE,
}
IMDS_RESOURCES = {
    "https://management.azure.com/": MANAGEMENT, "https://management.azure.com": MANAGEMENT,
    "https://management.core.windows.net/": MANAGEMENT, "https://management.core.windows.net": MANAGEMENT,
    "https://storage.azure.com/": STORAGE, "https://storage.azure.com": STORAGE,
}
JWT_BEARER = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
COMPUTE_API_VERSIONS = ("2024-03-01", "2024-07-01", "2024-11-01", "2025-04-01")
DISK_API_VERSIONS = ("2023-10-02", "2024-03-02", "2025-01-02")
TYPES = {"virtualmachines": ("virtualMachines", COMPUTE_API_VERSIONS),
         "disks": ("disks", DISK_API_VERSIONS), "snapshots": ("snapshots", DISK_API_VERSIONS)}
SNAPSHOT_ACCESS_STATE_FROM = "2025-01-02"  # the first DiskRP version whose spec has snapshotAccessState
NAME_PATTERN = re.compile(r"^[^_\W][\w\-._]{0,79}(?<![-.])$")
BLOB_VERSIONS = (
    "2017-11-09", "2018-03-28", "2018-11-09", "2019-02-02", "2019-07-07", "2019-10-10", "2019-12-12",
    "2020-02-10", "2020-04-08", "2020-06-12", "2020-08-04", "2020-10-02", "2020-12-06", "2021-02-12",
    "2021-04-10", "2021-06-08", "2021-08-06", "2021-12-02", "2022-11-02", "2023-01-03", "2023-05-03",
    "2023-08-03", "2023-11-03", "2024-05-04", "2024-08-04", "2024-11-04", "2025-01-05", "2025-05-05",
    "2025-07-05", "2025-11-05", "2026-02-06", "2026-04-06", "2026-06-06", "2026-10-06")
DEFAULT_BLOB_VERSION = "2026-10-06"
SAS_VERSIONS = ("2020-12-06", "2026-10-06")
SAS_PERMISSION_CHARS = set("racwdxyltmeopi")
CLOCK_SKEW = 15 * 60
GIB = 1024 ** 3
DISK_CREATE_SECONDS = 0.1
DEFAULT_BEHAVIOUR = {"accept_seconds": 0.1, "copy_seconds": 0.0, "outcome": "Succeeded", "create_delay_seconds": 0.0}
OUTCOMES = ("Succeeded", "Failed", "FailedAtCreate")
DEVICE_DIR = "/dev/disk/azure/scsi1"


# --- Time and formats ---------------------------------------------------------------------------

def utcnow():
    return datetime.datetime.now(datetime.timezone.utc)


def arm_time(ts):
    """ARM's timestamps: 2026-05-04T10:00:00.1234567+00:00 (seven fractional digits)."""
    moment = datetime.datetime.fromtimestamp(ts, datetime.timezone.utc)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond:06d}0+00:00"


def http_date(ts):
    return email.utils.formatdate(ts, usegmt=True)


def iso_seconds(moment):
    return moment.astimezone(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


ISO_PATTERN = re.compile(r"^(\d{4})-(\d{2})-(\d{2})(?:T(\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,7}))?)?Z)?$")


def parse_iso(value):
    """The UTC ISO 8601 forms SAS and KeyInfo accept (date, minutes, seconds, 7 fractional digits)."""
    match = ISO_PATTERN.match(value or "")
    if not match:
        return None
    year, month, day, hour, minute, second, fraction = match.groups()
    try:
        moment = datetime.datetime(int(year), int(month), int(day), int(hour or 0), int(minute or 0),
                                   int(second or 0), tzinfo=datetime.timezone.utc)
    except ValueError:
        return None
    if fraction:
        moment += datetime.timedelta(microseconds=int(fraction.ljust(7, "0")[:6]))
    return moment


def b64(data):
    return base64.b64encode(data).decode()


def b64url_decode(text):
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def b64url(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def new_id():
    return str(uuid.uuid4())


def parse_query(raw_query):
    """[(name, value)] decoded as the storage service (and its emulator) decodes: '+' is a space."""
    pairs = []
    for part in raw_query.split("&") if raw_query else []:
        if not part:
            continue
        name, _, value = part.partition("=")
        pairs.append((unquote(name.replace("+", "%20")), unquote(value.replace("+", "%20"))))
    return pairs


# --- Signing (pure functions; the vector generator and the self-test use them too) ---------------

SHARED_KEY_STANDARD_HEADERS = ("content-encoding", "content-language", "content-length", "content-md5",
                               "content-type", "date", "if-modified-since", "if-match", "if-none-match",
                               "if-unmodified-since", "range")


def shared_key_string_to_sign(method, raw_path, raw_query, headers, account=ACCOUNT):
    """The Shared Key string to sign (version 2009-09-19 and later) for a request whose path is
    `raw_path` as sent (percent-encoded, no query) and headers [(name, value)]."""
    values = {}
    for name, value in headers:
        values.setdefault(name.lower(), []).append(value.strip())

    def standard(name):
        value = ",".join(values.get(name, []))
        return "" if name == "content-length" and value == "0" else value

    lines = [method.upper()] + [standard(name) for name in SHARED_KEY_STANDARD_HEADERS]
    ms_headers = _storage_header_sort([(name, ",".join(vals)) for name, vals in values.items()
                                       if name.startswith("x-ms-")])
    canonical_headers = "".join(f"{name}:{value}\n" for name, value in ms_headers)
    query = {}
    for name, value in parse_query(raw_query):
        query.setdefault(name.lower(), []).append(value)
    resource = "/" + account + raw_path + "".join(
        f"\n{name}:{','.join(sorted(query[name]))}" for name in sorted(query))
    return "\n".join(lines) + "\n" + canonical_headers + resource


def hmac_b64(key_b64, text):
    return b64(hmac.new(base64.b64decode(key_b64), text.encode("utf-8"), hashlib.sha256).digest())


def sas_canonical_resource(account, container, blob, resource):
    return f"/blob/{account}/{container}" + (f"/{blob}" if resource == "b" else "")


def sas_string_to_sign(params, canonical_resource):
    """The string to sign of a blob service SAS or user-delegation SAS (dict of decoded query values)
    for the versions implemented (SAS_VERSIONS)."""
    get = lambda name: params.get(name, "")  # noqa: E731
    head = [get("sp"), get("st"), get("se"), canonical_resource]
    tail = [get("rscc"), get("rscd"), get("rsce"), get("rscl"), get("rsct")]
    middle = [get("sip"), get("spr"), get("sv"), get("sr"), get("snapshot"), get("ses")]
    if "skoid" not in params:
        return "\n".join(head + [get("si")] + middle + tail)
    key = [get(name) for name in ("skoid", "sktid", "skt", "ske", "sks", "skv", "saoid", "suoid", "scid")]
    if get("sv") >= "2026-10-06":
        return "\n".join(head + key + [get("skdutid"), get("sduoid")] + middle + [get("srh"), get("srq")] + tail)
    return "\n".join(head + key + middle + tail)


def delegation_key_value(secret, oid, tid, start, expiry, service, version):
    """The user delegation key: an HMAC of its signed fields (times normalized), so a SAS naming other
    fields than those the key was issued with is signed with another key."""
    text = "\n".join([oid.lower(), tid.lower(), iso_seconds(start), iso_seconds(expiry), service, version])
    return b64(hmac.new(secret, text.encode(), hashlib.sha256).digest())


def thumbprints(certificate):
    der = certificate.public_bytes(serialization.Encoding.DER)
    return b64url(hashlib.sha1(der).digest()), b64url(hashlib.sha256(der).digest())  # noqa: S324


def make_certificate(common_name, days=3650):
    """A self-signed RSA 2048 certificate and its key, as PEM (certificate first)."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])
    now = utcnow()
    certificate = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
                   .serial_number(x509.random_serial_number()).not_valid_before(now - datetime.timedelta(days=1))
                   .not_valid_after(now + datetime.timedelta(days=days)).sign(key, hashes.SHA256()))
    return (certificate.public_bytes(serialization.Encoding.PEM)
            + key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                serialization.NoEncryption()))


# --- Replies and errors -------------------------------------------------------------------------

class Reply:
    def __init__(self, status, body=b"", headers=None, content_type=None, stream=None, length=None):
        self.status, self.body, self.headers = status, body, list(headers or [])
        if content_type:
            self.headers.append(("Content-Type", content_type))
        self.stream, self.length = stream, length  # a file to send instead of body, and its length


class Failure(Exception):
    """An error answer, raised anywhere below a route."""

    def __init__(self, reply):
        super().__init__(reply.status)
        self.reply = reply


def json_reply(status, obj, headers=None):
    body = json.dumps(obj, indent=2).encode() if obj is not None else b""
    return Reply(status, body, headers, "application/json; charset=utf-8" if obj is not None else None)


def arm_error(status, code, message, target=None, headers=None):
    error = {"code": code, "message": message}
    if target:
        error["target"] = target
    return Failure(json_reply(status, {"error": error}, headers))


def blob_error_reply(status, code, message, extra=None, headers=None):
    request_id = new_id()
    text = f"{message}\nRequestId:{request_id}\nTime:{utcnow().strftime('%Y-%m-%dT%H:%M:%S.%f')}0Z"
    parts = [f"<Code>{escape(code)}</Code><Message>{escape(text)}</Message>"]
    for name, value in (extra or []):
        parts.append(f"<{name}>{escape(value)}</{name}>")
    body = f'<?xml version="1.0" encoding="utf-8"?><Error>{"".join(parts)}</Error>'.encode()
    return Reply(status, body, [("x-ms-error-code", code), ("x-ms-request-id", request_id)] + list(headers or []),
                 "application/xml")


def blob_error(status, code, message, extra=None, headers=None):
    return Failure(blob_error_reply(status, code, message, extra, headers))


# --- Fault injection ----------------------------------------------------------------------------

class Faults:
    """The control file's faults, re-read when it changes; counts kept in memory."""

    def __init__(self, path):
        self.path, self.stamp, self.faults, self.lock = path, None, [], threading.Lock()

    def _reload(self):
        try:
            stat = os.stat(self.path) if self.path else None
            stamp = (stat.st_mtime_ns, stat.st_ino, stat.st_size) if stat else None
        except FileNotFoundError:
            stamp = None
        if stamp != self.stamp:
            self.stamp, self.faults = stamp, []
            if stamp is not None:
                try:
                    with open(self.path) as f:
                        self.faults = json.load(f).get("faults", [])
                except (OSError, ValueError) as error:
                    print(f"control file unreadable, no faults: {error}", file=sys.stderr, flush=True)

    def take(self, method, path):
        with self.lock:
            self._reload()
            for fault in self.faults:
                if (fault.get("method", method).upper() == method and fault.get("path_contains", "") in path
                        and fault.get("count", 1) > 0):
                    if "count" in fault:
                        fault["count"] -= 1
                    return dict(fault)
        return None


# --- Entra ID, IMDS and tokens ------------------------------------------------------------------

class Application:
    def __init__(self, client_id, secret=None, certificate=None):
        self.client_id, self.secret, self.object_id = client_id, secret, new_id()
        self.certificates = {}  # thumbprint (x5t or x5t#S256) -> public key
        if certificate is not None:
            for thumbprint in thumbprints(certificate):
                self.certificates[thumbprint] = certificate.public_key()


class Token:
    def __init__(self, audience, expires, object_id, client_id):
        self.audience, self.expires, self.object_id, self.client_id = audience, expires, object_id, client_id


class EntraError(Exception):
    def __init__(self, status, error, code, message):
        super().__init__(message)
        self.status, self.error, self.code, self.message = status, error, code, message


class Identity:
    """The tenant, its two applications, the VM's managed identity, and the tokens issued."""

    def __init__(self, state_dir, lifetime):
        self.tenant = new_id()
        self.lifetime = lifetime
        self.secret_app = Application(new_id(), secret=secrets.token_urlsafe(30))
        pem = make_certificate("snapfleet-standin")
        self.certificate_path = os.path.join(state_dir, "certificate.pem")
        write_atomically(self.certificate_path, pem, mode=0o600)
        self.certificate_app = Application(new_id(), certificate=x509.load_pem_x509_certificate(pem))
        self.managed_identity = Application(new_id())
        self.apps = {app.client_id.lower(): app for app in (self.secret_app, self.certificate_app)}
        self.object_ids = {app.object_id for app in (self.secret_app, self.certificate_app, self.managed_identity)}
        self.tokens, self.lock = {}, threading.Lock()
        self.issued, self.by_audience = 0, {}

    def reset_counts(self):
        with self.lock:
            self.issued, self.by_audience = 0, {}

    def issue(self, audience, app):
        token = "sftk." + secrets.token_urlsafe(40)
        now = time.time()
        with self.lock:
            self.tokens[token] = Token(audience, now + self.lifetime, app.object_id, app.client_id)
            self.issued += 1
            self.by_audience[audience] = self.by_audience.get(audience, 0) + 1
        return token, now

    def lookup(self, token):
        with self.lock:
            return self.tokens.get(token)

    # The token endpoint --------------------------------------------------------------------------

    def entra_error_reply(self, authority, status, error, code, message):
        now = utcnow().strftime("%Y-%m-%d %H:%M:%SZ")
        trace, correlation = new_id(), new_id()
        body = {"error": error,
                "error_description": f"AADSTS{code}: {message}\r\nTrace ID: {trace}\r\nCorrelation ID: {correlation}"
                                     f"\r\nTimestamp: {now}",
                "error_codes": [code], "timestamp": now, "trace_id": trace, "correlation_id": correlation,
                "error_uri": f"{authority}/error?code={code}"}
        return json_reply(status, body, [("Cache-Control", "no-store, no-cache"), ("Pragma", "no-cache")])

    def openid_configuration(self, request, tenant, authority):
        if tenant.lower() != self.tenant:
            return self.entra_error_reply(authority, 400, "invalid_tenant", 90002,
                                          f"Tenant '{tenant}' not found. Check to make sure you have the correct "
                                          "tenant ID and are signing into the correct cloud.")
        base = f"{authority}/{self.tenant}"
        return json_reply(200, {
            "token_endpoint": f"{base}/oauth2/v2.0/token",
            "token_endpoint_auth_methods_supported": ["client_secret_post", "private_key_jwt", "client_secret_basic"],
            "jwks_uri": f"{authority}/{self.tenant}/discovery/v2.0/keys",
            "response_modes_supported": ["query", "fragment", "form_post"],
            "subject_types_supported": ["pairwise"], "id_token_signing_alg_values_supported": ["RS256"],
            "response_types_supported": ["code", "id_token", "code id_token", "id_token token"],
            "scopes_supported": ["openid", "profile", "email", "offline_access"],
            "issuer": f"{base}/v2.0", "request_uri_parameter_supported": False,
            "authorization_endpoint": f"{base}/oauth2/v2.0/authorize",
            "device_authorization_endpoint": f"{base}/oauth2/v2.0/devicecode",
            "end_session_endpoint": f"{base}/oauth2/v2.0/logout", "tenant_region_scope": "EU",
            "cloud_instance_name": "snapfleet-standin", "cloud_graph_host_name": "graph.invalid",
            "msgraph_host": "graph.invalid"})

    def token(self, request, tenant, authority):
        try:
            return self._token(request, tenant, authority)
        except EntraError as error:
            return self.entra_error_reply(authority, error.status, error.error, error.code, error.message)

    def _token(self, request, tenant, authority):
        if request.method != "POST":
            raise EntraError(400, "invalid_request", 900561,
                             f"The endpoint only accepts POST, OPTIONS requests. Received a {request.method} request.")
        if tenant.lower() != self.tenant:
            raise EntraError(400, "invalid_request", 90002,
                             f"Tenant '{tenant}' not found. Check to make sure you have the correct tenant ID and are "
                             "signing into the correct cloud. Check with your subscription administrator, this may "
                             "happen if there are no active subscriptions for the tenant.")
        content_type = (request.header("content-type") or "").split(";")[0].strip().lower()
        if content_type != "application/x-www-form-urlencoded":
            raise EntraError(400, "invalid_request", 900144,
                             "The request body must contain the following parameter: 'grant_type'.")
        form = {}
        for name, value in parse_query(request.body.decode("utf-8", "replace")):
            form.setdefault(name, value)
        basic_id, basic_secret = None, None
        authorization = request.header("authorization") or ""
        if authorization.lower().startswith("basic "):
            try:
                basic_id, _, basic_secret = base64.b64decode(authorization[6:].strip()).decode().partition(":")
                basic_id, basic_secret = unquote(basic_id), unquote(basic_secret)
            except (ValueError, UnicodeDecodeError):
                raise EntraError(401, "invalid_client", 7000215, "Invalid client secret provided.")
        grant_type = form.get("grant_type")
        if not grant_type:
            raise EntraError(400, "invalid_request", 900144,
                             "The request body must contain the following parameter: 'grant_type'.")
        if grant_type != "client_credentials":
            raise EntraError(400, "unsupported_grant_type", 70003,
                             f"The app requested an unsupported grant type '{grant_type}'.")
        client_id = form.get("client_id") or basic_id
        if not client_id:
            raise EntraError(400, "invalid_request", 900144,
                             "The request body must contain the following parameter: 'client_id'.")
        app = self.apps.get(client_id.lower())
        if app is None:
            raise EntraError(400, "unauthorized_client", 700016,
                             f"Application with identifier '{client_id}' was not found in the directory "
                             f"'{self.tenant}'. This can happen if the application has not been installed by the "
                             "administrator of the tenant or consented to by any user in the tenant. You may have "
                             "sent your authentication request to the wrong tenant.")
        scope = form.get("scope")
        if not scope:
            raise EntraError(400, "invalid_request", 900144,
                             "The request body must contain the following parameter: 'scope'.")
        audience = self._audience(scope)
        secret = form.get("client_secret", basic_secret)
        assertion = form.get("client_assertion")
        if secret is not None:
            if app.secret is None or not hmac.compare_digest(secret.encode(), app.secret.encode()):
                raise EntraError(401, "invalid_client", 7000215,
                                 "Invalid client secret provided. Ensure the secret being sent in the request is the "
                                 f"client secret value, not the client secret ID, for a secret added to app "
                                 f"'{app.client_id}'.")
        elif assertion is not None:
            if form.get("client_assertion_type") != JWT_BEARER:
                raise EntraError(400, "invalid_request", 900144,
                                 "The request body must contain the following parameter: 'client_assertion_type'.")
            self._check_assertion(assertion, app, request, authority)
        else:
            raise EntraError(401, "invalid_client", 7000218,
                             "The request body must contain the following parameter: 'client_assertion' or "
                             "'client_secret'.")
        token, _ = self.issue(audience, app)
        return json_reply(200, {"token_type": "Bearer", "expires_in": self.lifetime, "ext_expires_in": self.lifetime,
                                "access_token": token},
                          [("Cache-Control", "no-store, no-cache"), ("Pragma", "no-cache")])

    def _audience(self, scope):
        scopes = scope.split()
        audiences = set()
        for item in scopes:
            if not item.endswith("/.default"):
                if item in ("openid", "profile", "offline_access"):
                    continue
                raise EntraError(400, "invalid_scope", 70011,
                                 f"The provided request must include a 'scope' input parameter. The provided value for "
                                 f"the input parameter 'scope' is not valid. The scope {scope} is not valid. The "
                                 ".default scope must be used for the client credentials flow.")
            audience = SCOPES.get(item.lower())
            if audience is None:
                resource = item[:-len("/.default")]
                raise EntraError(400, "invalid_resource", 500011,
                                 f"The resource principal named {resource} was not found in the tenant named "
                                 f"{self.tenant}. This can happen if the application has not been installed by the "
                                 "administrator of the tenant or consented to by any user in the tenant. You might "
                                 "have sent your authentication request to the wrong tenant.")
            audiences.add(audience)
        if len(audiences) != 1:
            raise EntraError(400, "invalid_scope", 70011,
                             f"The provided value for the input parameter 'scope' is not valid. The scope {scope} is "
                             "not valid. All scopes included must be for a single resource.")
        return audiences.pop()

    def _check_assertion(self, assertion, app, request, authority):
        def bad(code, message):
            return EntraError(401, "invalid_client", code, message)
        try:
            header_b64, claims_b64, signature_b64 = assertion.split(".")
            header = json.loads(b64url_decode(header_b64))
            claims = json.loads(b64url_decode(claims_b64))
            signature = b64url_decode(signature_b64)
            if not isinstance(header, dict) or not isinstance(claims, dict):
                raise ValueError("not objects")
        except (ValueError, binascii.Error, UnicodeDecodeError):
            raise bad(50027, "Invalid JWT token. The token is not in JWS Compact Serialization format.")
        algorithm = header.get("alg")
        if algorithm not in ("RS256", "PS256"):
            raise bad(50027, f"Invalid JWT token. '{algorithm}' is not a supported signature algorithm.")
        thumbprint = header.get("x5t#S256") or header.get("x5t")
        # base64url with or without '=' padding (MSAL pads), or plain base64
        normalized = thumbprint.rstrip("=").replace("+", "-").replace("/", "_") if isinstance(thumbprint, str) else None
        key = app.certificates.get(normalized) if normalized else None
        if key is None:
            raise bad(700027, "The certificate with identifier used to sign the client assertion is not registered "
                              f"on application. [Reason - The key was not found., Thumbprint of key used by client: "
                              f"'{thumbprint}', Please visit the Azure Portal, Graph Explorer or directly use MS Graph "
                              f"to see configured keys for app Id '{app.client_id}'.]")
        signed = f"{header_b64}.{claims_b64}".encode()
        try:
            if algorithm == "RS256":
                key.verify(signature, signed, padding.PKCS1v15(), hashes.SHA256())
            else:
                key.verify(signature, signed, padding.PSS(mgf=padding.MGF1(hashes.SHA256()), salt_length=32),
                           hashes.SHA256())
        except InvalidSignature:
            raise bad(700027, "Client assertion failed signature validation.")
        host = request.header("host") or ""
        endpoints = {f"{scheme}://{host}/{self.tenant}/oauth2/v2.0/token" for scheme in ("http", "https")}
        endpoints.add(f"{authority}/{self.tenant}/oauth2/v2.0/token")
        audience = claims.get("aud")
        if not isinstance(audience, str) or audience.lower() not in {e.lower() for e in endpoints}:
            raise bad(50012, "Client assertion audience claim does not match Realm issuer. Review the documentation "
                             "at https://learn.microsoft.com/entra/identity-platform/certificate-credentials.")
        if str(claims.get("iss", "")).lower() != app.client_id.lower():
            raise bad(700021, "Client assertion application identifier doesn't match 'client_id' parameter. Review "
                              "the documentation at https://learn.microsoft.com/entra/identity-platform/"
                              "certificate-credentials.")
        if str(claims.get("sub", "")).lower() != str(claims.get("iss", "")).lower():
            raise bad(50048, "Subject mismatches Issuer claim in the client assertion.")
        now = time.time()
        expires, not_before = claims.get("exp"), claims.get("nbf")
        if (not isinstance(expires, (int, float)) or expires <= now
                or (not_before is not None and (not isinstance(not_before, (int, float)) or not_before > now + 300))):
            raise bad(700024, f"Client assertion is not within its valid time range. Current time: "
                              f"{utcnow().isoformat()}, assertion valid from {not_before}, expiry time of assertion "
                              f"{expires}.")
        if not claims.get("jti"):
            raise bad(50027, "Invalid JWT token. The token has no 'jti' claim.")

    # IMDS ------------------------------------------------------------------------------------------

    def imds(self, request):
        def refuse(error, description, status=400):
            return json_reply(status, {"error": error, "error_description": description})
        if request.method != "GET":
            return refuse("invalid_request", "The request is not a GET request.", 405)
        if request.header("metadata") != "true":
            return refuse("bad_request_102", "Required metadata header not specified")
        if request.header("x-forwarded-for") is not None:
            return refuse("invalid_request", "Request is not allowed: it contains an X-Forwarded-For header.")
        if not request.q("api-version"):
            return refuse("invalid_request", "Required query variable 'api-version' is missing")
        if request.q("api-version") < "2018-02-01":
            return refuse("invalid_request", f"Invalid api-version: {request.q('api-version')}")
        resource = request.q("resource")
        if not resource:
            return refuse("invalid_request", "Required query variable 'resource' is missing")
        audience = IMDS_RESOURCES.get(resource.lower())
        if audience is None:
            return refuse("invalid_resource", f"AADSTS50001: The application named {resource} was not found in the "
                                              f"tenant named {self.tenant}. This can happen if the application has "
                                              "not been installed by the administrator of the tenant or consented "
                                              "to by any user in the tenant.")
        token, issued = self.issue(audience, self.managed_identity)
        return json_reply(200, {"access_token": token, "refresh_token": "", "expires_in": str(self.lifetime),
                                "expires_on": str(int(issued + self.lifetime)), "not_before": str(int(issued)),
                                "resource": resource, "token_type": "Bearer"})


# --- Disk images and devices ----------------------------------------------------------------------

def write_atomically(path, data, mode=None):
    partial = f"{path}.{os.getpid()}.tmp"
    with open(partial, "wb") as f:
        f.write(data)
    if mode is not None:
        os.chmod(partial, mode)
    os.replace(partial, path)


def copy_image(source, destination):
    """A sparse (reflinked where the filesystem can) copy under a temporary name, then renamed."""
    partial = f"{destination}.partial"
    result = subprocess.run(["cp", "--sparse=always", "--reflink=auto", source, partial],
                            capture_output=True, text=True)
    if result.returncode != 0:
        remove_quietly(partial)
        raise RuntimeError(f"cannot copy image {source}: {result.stderr.strip()}")
    os.replace(partial, destination)


def remove_quietly(path):
    try:
        os.remove(path)
    except FileNotFoundError:
        pass


class Devices:
    """With --attach-devices: image files on loop devices behind /dev/disk/azure/scsi1/lun<N>."""

    def __init__(self, enabled):
        self.enabled, self.links, self.made_dirs, self.lock = enabled, {}, [], threading.Lock()
        self.borrowed = set()  # links to loop devices the stand-in did not make (never detached)

    def attach(self, image, lun):
        link = os.path.join(DEVICE_DIR, f"lun{lun}")
        with self.lock:
            if os.path.lexists(link):
                if link in self.links and os.path.islink(link):
                    self._detach_locked(link)
                else:
                    raise RuntimeError(f"{link} exists and was not made by the stand-in")
            missing, directory = [], DEVICE_DIR
            while not os.path.isdir(directory):
                missing.append(directory)
                directory = os.path.dirname(directory)
            os.makedirs(DEVICE_DIR, exist_ok=True)
            self.made_dirs.extend(reversed(missing))
            # An image already on a loop device (a test's disk, mounted with PostgreSQL on it) is
            # that disk as the VM sees it: link to it and leave the loop device alone, rather than
            # put the same file on a second one.
            borrowed = self._loop_of(image)
            if borrowed:
                loop = borrowed
                self.borrowed.add(link)
            else:
                result = subprocess.run(["losetup", "-f", "--show", image], capture_output=True, text=True)
                if result.returncode != 0:
                    raise RuntimeError(f"losetup failed: {result.stderr.strip()}")
                loop = result.stdout.strip()
            os.symlink(loop, link)
            self.links[link] = loop
            return link

    @staticmethod
    def _loop_of(image):
        """The loop device that already has `image` as its backing file, if any."""
        result = subprocess.run(["losetup", "-n", "-O", "NAME", "-j", image], capture_output=True, text=True)
        names = result.stdout.split() if result.returncode == 0 else []
        return names[0] if names else None

    def detach(self, link):
        with self.lock:
            self._detach_locked(link)

    def _detach_locked(self, link):
        loop = self.links.pop(link, None)
        if loop is None:
            return
        if os.path.islink(link) and os.readlink(link) == loop:
            remove_quietly(link)
        if link in self.borrowed:
            self.borrowed.discard(link)
            return
        subprocess.run(["losetup", "-d", loop], capture_output=True)

    def cleanup(self):
        with self.lock:
            for link in list(self.links):
                self._detach_locked(link)
            for directory in reversed(self.made_dirs):
                try:
                    os.rmdir(directory)  # only if empty
                except OSError:
                    pass
            self.made_dirs = []


# --- Azure Resource Manager: Microsoft.Compute ----------------------------------------------------

class Operation:
    def __init__(self, family, location, target, delete=False, due=0.0):
        self.id, self.family, self.location, self.target, self.delete = new_id(), family, location, target, delete
        self.start, self.due, self.end = time.time(), time.time() + due, None
        self.status, self.error, self.http_status = "InProgress", None, None

    def succeed(self):
        self.status, self.end = "Succeeded", time.time()

    def fail(self, status, code, message):
        self.status, self.end, self.http_status = "Failed", time.time(), status
        self.error = {"code": code, "message": message}


class Disk:
    def __init__(self, name, location, size_gb, creation, image=None, image_owned=False, os_type=None):
        self.name, self.location, self.size_gb, self.creation = name, normalize_location(location), size_gb, creation
        self.image, self.image_owned, self.os_type = image, image_owned, os_type
        self.unique_id, self.created, self.tags = new_id(), time.time(), {}
        self.sku = {"name": "Premium_LRS", "tier": "Premium"}
        self.provisioning, self.operation, self.managed_by = "Succeeded", None, None


class Snapshot:
    def __init__(self, name, location, disk, incremental, tags, sku):
        self.name, self.location, self.incremental, self.tags = name, normalize_location(location), incremental, tags
        self.disk_key, self.source_unique_id, self.size_gb = disk.name.lower(), disk.unique_id, disk.size_gb
        self.family_id = str(uuid.uuid5(uuid.NAMESPACE_URL, "snapfleet-standin-family:" + disk.unique_id))
        self.unique_id, self.created = new_id(), time.time()
        default_sku = "Standard_ZRS" if incremental else "Standard_LRS"
        self.sku = {"name": (sku or {}).get("name", default_sku), "tier": "Standard"}
        self.provisioning, self.operation, self.image = "Updating", None, None
        self.copy_start, self.copy_seconds = None, 0.0
        self.source_id = None


class VirtualMachine:
    def __init__(self, name, location, size, os_disk_key, update_seconds):
        self.name, self.location, self.size, self.os_disk_key = name, normalize_location(location), size, os_disk_key
        self.vm_id, self.created, self.tags = new_id(), time.time(), {}
        self.update_seconds = update_seconds
        self.data_disks = []  # [{"lun", "disk_key", "id_as_given", "caching"}]
        self.provisioning, self.operation = "Succeeded", None
        self.devices = {}  # lun -> symlink made for it


class Cloud:
    """Microsoft.Compute state: VMs, disks, snapshots, long-running operations, behaviours."""

    def __init__(self, identity, state_dir, page_size, devices):
        self.identity, self.page_size, self.devices = identity, page_size, devices
        self.subscription = new_id()
        self.images_dir = os.path.join(state_dir, "images")
        os.makedirs(self.images_dir, exist_ok=True)
        self.lock = threading.RLock()
        self.vms, self.disks, self.snapshots, self.operations, self.behaviours = {}, {}, {}, {}, {}

    # Ids ------------------------------------------------------------------------------------------

    def resource_id(self, kind, name):
        return f"/subscriptions/{self.subscription}/resourceGroups/{RESOURCE_GROUP}/providers/Microsoft.Compute/{kind}/{name}"

    ID_PATTERN = re.compile(r"^/?subscriptions/([^/]+)/resourceGroups/([^/]+)/providers/Microsoft\.Compute/"
                            r"(disks|snapshots|virtualMachines)/([^/]+)/?$", re.IGNORECASE)

    def parse_id(self, value, kind):
        """The lower-cased name of a resource of this kind that `value` names in our group, or None."""
        match = self.ID_PATTERN.match(value or "")
        if (not match or match.group(1).lower() != self.subscription or match.group(2).lower() != RESOURCE_GROUP
                or match.group(3).lower() != kind.lower()):
            return None
        return unquote(match.group(4)).lower()

    # Rendering ------------------------------------------------------------------------------------

    def disk_json(self, disk, api):
        properties = {"creationData": disk.creation, "diskSizeGB": disk.size_gb,
                      "diskIOPSReadWrite": 500, "diskMBpsReadWrite": 100,
                      "encryption": {"type": "EncryptionAtRestWithPlatformKey"},
                      "networkAccessPolicy": "AllowAll", "publicNetworkAccess": "Enabled",
                      "timeCreated": arm_time(disk.created), "provisioningState": disk.provisioning,
                      "diskState": "Attached" if disk.managed_by else "Unattached",
                      "diskSizeBytes": disk.size_gb * GIB, "uniqueId": disk.unique_id, "tier": "P10"}
        if disk.os_type:
            properties = {"osType": disk.os_type, "hyperVGeneration": "V2", **properties}
        body = {"name": disk.name, "id": self.resource_id("disks", disk.name), "type": "Microsoft.Compute/disks",
                "location": disk.location}
        if disk.tags:
            body["tags"] = disk.tags
        if disk.managed_by and disk.managed_by in self.vms:
            body["managedBy"] = self.resource_id("virtualMachines", self.vms[disk.managed_by].name)
        body["sku"] = disk.sku
        body["properties"] = properties
        return body

    def snapshot_progress(self, snapshot):
        if snapshot.provisioning != "Succeeded" or snapshot.copy_start is None:
            return 0.0
        if snapshot.copy_seconds <= 0:
            return 100.0
        return round(min(100.0, (time.time() - snapshot.copy_start) / snapshot.copy_seconds * 100.0), 1)

    def snapshot_json(self, snapshot, api):
        percent = self.snapshot_progress(snapshot)
        creation = {"createOption": "Copy", "sourceResourceId": snapshot.source_id,
                    "sourceUniqueId": snapshot.source_unique_id}
        properties = {"creationData": creation, "diskSizeGB": snapshot.size_gb,
                      "encryption": {"type": "EncryptionAtRestWithPlatformKey"}, "incremental": snapshot.incremental,
                      "networkAccessPolicy": "AllowAll", "publicNetworkAccess": "Enabled",
                      "timeCreated": arm_time(snapshot.created), "provisioningState": snapshot.provisioning,
                      "diskState": "Unattached", "diskSizeBytes": snapshot.size_gb * GIB,
                      "uniqueId": snapshot.unique_id, "completionPercent": percent}
        if snapshot.incremental:
            properties["incrementalSnapshotFamilyId"] = snapshot.family_id
        if api >= SNAPSHOT_ACCESS_STATE_FROM:
            properties["snapshotAccessState"] = (
                "Unknown" if snapshot.provisioning == "Failed" else "Available" if percent >= 100.0 else "Pending")
        body = {"name": snapshot.name, "id": self.resource_id("snapshots", snapshot.name),
                "type": "Microsoft.Compute/snapshots", "location": snapshot.location}
        if snapshot.tags:
            body["tags"] = snapshot.tags
        body["sku"] = snapshot.sku
        body["properties"] = properties
        return body

    def vm_json(self, vm, api):
        os_disk = self.disks.get(vm.os_disk_key)
        data_disks = []
        for entry in sorted(vm.data_disks, key=lambda e: e["lun"]):
            disk = self.disks.get(entry["disk_key"])
            data_disks.append({
                "lun": entry["lun"], "name": disk.name if disk else entry["disk_key"], "createOption": "Attach",
                "caching": entry.get("caching", "None"), "writeAcceleratorEnabled": False,
                "managedDisk": {"storageAccountType": disk.sku["name"] if disk else "Premium_LRS",
                                "id": entry["id_as_given"]},
                "deleteOption": "Detach", "diskSizeGB": disk.size_gb if disk else 0, "toBeDetached": False})
        storage = {"imageReference": {"publisher": "Canonical", "offer": "ubuntu-24_04-lts", "sku": "server",
                                      "version": "latest", "exactVersion": "24.04.202604010"},
                   "osDisk": {"osType": "Linux", "name": os_disk.name if os_disk else vm.os_disk_key,
                              "createOption": "FromImage", "caching": "ReadWrite",
                              "managedDisk": {"storageAccountType": "Premium_LRS",
                                              "id": self.resource_id("disks", os_disk.name if os_disk else vm.os_disk_key)},
                              "deleteOption": "Delete", "diskSizeGB": os_disk.size_gb if os_disk else 30},
                   "dataDisks": data_disks, "diskControllerType": "SCSI"}
        body = {"name": vm.name, "id": self.resource_id("virtualMachines", vm.name),
                "type": "Microsoft.Compute/virtualMachines", "location": vm.location}
        if vm.tags:
            body["tags"] = vm.tags
        body["properties"] = {
            "vmId": vm.vm_id, "hardwareProfile": {"vmSize": vm.size}, "storageProfile": storage,
            "osProfile": {"computerName": vm.name, "adminUsername": "azureuser",
                          "linuxConfiguration": {"disablePasswordAuthentication": True, "provisionVMAgent": True},
                          "secrets": [], "allowExtensionOperations": True},
            "networkProfile": {"networkInterfaces": [{"id": f"/subscriptions/{self.subscription}/resourceGroups/"
                                                            f"{RESOURCE_GROUP}/providers/Microsoft.Network/"
                                                            f"networkInterfaces/{vm.name}-nic"}]},
            "provisioningState": vm.provisioning, "timeCreated": arm_time(vm.created)}
        return body

    def operation_json(self, op):
        body = {"startTime": arm_time(op.start), "status": op.status, "name": op.id}
        if op.end is not None:
            body["endTime"] = arm_time(op.end)
        if op.error:
            body["error"] = dict(op.error)
        return body

    # Operations ----------------------------------------------------------------------------------

    def new_operation(self, family, location, target, delete=False, due=0.0):
        op = Operation(family, location, target, delete, due)
        self.operations[op.id] = op
        return op

    def operation_headers(self, op, base, api):
        location = quote(op.location.replace(" ", "").lower())
        url = f"{base}/subscriptions/{self.subscription}/providers/Microsoft.Compute/locations/{location}/{op.family}/{op.id}"
        headers = [("Azure-AsyncOperation", f"{url}?api-version={api}"),
                   ("Location", f"{url}?monitor=true&api-version={api}")]
        return headers + [("Retry-After", str(self.retry_after(op)))]

    @staticmethod
    def retry_after(op):
        return max(1, math.ceil(op.due - time.time())) if op.status == "InProgress" else 1

    def schedule(self, delay, function, *args):
        if delay <= 0:
            function(*args)
            return
        timer = threading.Timer(delay, function, args)
        timer.daemon = True
        timer.start()

    # Behaviour -----------------------------------------------------------------------------------

    def behaviour(self, disk_name):
        return {**DEFAULT_BEHAVIOUR, **self.behaviours.get(disk_name.lower(), {})}

    def set_behaviour(self, disk_name, values):
        if not isinstance(values, dict):
            raise ValueError("the behaviour must be a JSON object")
        unknown = set(values) - set(DEFAULT_BEHAVIOUR)
        if unknown:
            raise ValueError(f"unknown behaviour fields: {sorted(unknown)}")
        clean = {}
        for name, value in values.items():
            if name == "outcome":
                if value not in OUTCOMES:
                    raise ValueError(f"outcome must be one of {', '.join(OUTCOMES)}")
                clean[name] = value
            else:
                if not isinstance(value, (int, float)) or isinstance(value, bool) or value < 0:
                    raise ValueError(f"{name} must be a number >= 0")
                clean[name] = float(value)
        with self.lock:
            merged = {**self.behaviours.get(disk_name.lower(), {}), **clean}
            self.behaviours[disk_name.lower()] = merged
        return {**DEFAULT_BEHAVIOUR, **merged}

    # Routing ---------------------------------------------------------------------------------------

    def handle(self, request, base):
        """An ARM request under /subscriptions/ (the caller has checked the bearer token)."""
        api = request.q("api-version")
        if api is None:
            raise arm_error(400, "MissingApiVersionParameter",
                            "The api-version query parameter (?api-version=) is required for all requests.")
        if not re.match(r"^\d{4}-\d{2}-\d{2}(-preview)?$", api):
            raise arm_error(400, "InvalidApiVersionParameter",
                            f"The api-version '{api}' is invalid. The supported versions are "
                            f"'{','.join(COMPUTE_API_VERSIONS + DISK_API_VERSIONS)}'.")
        parts = [unquote(part) for part in request.raw_path.rstrip("/").split("/")[1:]]
        if len(parts) < 2 or parts[1].lower() != self.subscription:
            raise arm_error(404, "SubscriptionNotFound",
                            f"The subscription '{parts[1] if len(parts) > 1 else ''}' could not be found.")
        rest = [part.lower() for part in parts[2:]]
        if (len(rest) == 6 and rest[:3] == ["providers", "microsoft.compute", "locations"]
                and rest[4] in ("diskoperations", "operations")):
            self.check_api(api, "snapshots" if rest[4] == "diskoperations" else "virtualmachines")
            return self.operation_status(request, rest[4], parts[7], api, base)
        if len(rest) == 3 and rest[:2] == ["providers", "microsoft.compute"]:
            kind = self.kind(rest[2], api)
            return self.list(request, kind, api, base)
        if len(rest) < 2 or rest[0] != "resourcegroups":
            raise arm_error(404, "NotFound", f"No HTTP resource was found that matches the request URI "
                                             f"'{base}{request.raw_path}'.")
        if rest[1] != RESOURCE_GROUP:
            raise arm_error(404, "ResourceGroupNotFound", f"Resource group '{parts[3]}' could not be found.")
        if len(rest) < 5 or rest[2] != "providers" or rest[3] != "microsoft.compute" or len(rest) > 6:
            raise arm_error(404, "NotFound", f"No HTTP resource was found that matches the request URI "
                                             f"'{base}{request.raw_path}'.")
        kind = self.kind(rest[4], api)
        if len(rest) == 5:
            if request.method != "GET":
                raise arm_error(405, "HttpMethodNotAllowed", f"The HTTP method '{request.method}' is not supported.")
            return self.list(request, kind, api, base)
        name = parts[7]
        handlers = {("snapshots", "GET"): self.get_snapshot, ("snapshots", "PUT"): self.put_snapshot,
                    ("snapshots", "DELETE"): self.delete_snapshot, ("disks", "GET"): self.get_disk,
                    ("disks", "PUT"): self.put_disk, ("disks", "DELETE"): self.delete_disk,
                    ("virtualMachines", "GET"): self.get_vm, ("virtualMachines", "PATCH"): self.update_vm,
                    ("virtualMachines", "PUT"): self.update_vm}
        handler = handlers.get((kind, request.method))
        if handler is None:
            raise arm_error(405, "HttpMethodNotAllowed",
                            f"The HTTP method '{request.method}' is not supported for Microsoft.Compute/{kind}.")
        return handler(request, name, api, base)

    def kind(self, lowered, api):
        if lowered not in TYPES:
            raise arm_error(400, "InvalidResourceType",
                            f"The resource type '{lowered}' could not be found in the namespace 'Microsoft.Compute' "
                            f"for api version '{api}'.")
        self.check_api(api, lowered)
        return TYPES[lowered][0]

    @staticmethod
    def check_api(api, lowered):
        kind, versions = TYPES[lowered]
        if api not in versions:
            raise arm_error(400, "NoRegisteredProviderFound",
                            f"No registered resource provider found for location '{LOCATION}' and API version "
                            f"'{api}' for type '{kind}'. The supported api-versions are '{', '.join(versions)}'. "
                            f"The supported locations are '{LOCATION}'.")

    @staticmethod
    def json_body(request):
        content_type = (request.header("content-type") or "application/json").split(";")[0].strip().lower()
        if content_type not in ("application/json", "text/json") and not content_type.endswith("+json"):
            raise arm_error(415, "UnsupportedMediaType",
                            f"The content media type '{content_type}' is not supported. Only 'application/json' is "
                            "supported.")
        try:
            body = json.loads(request.body.decode("utf-8") or "null")
        except (ValueError, UnicodeDecodeError) as error:
            raise arm_error(400, "InvalidRequestContent",
                            f"The request content was invalid and could not be deserialized: '{error}'.")
        if not isinstance(body, dict):
            raise arm_error(400, "InvalidRequestContent",
                            "The request content was invalid and could not be deserialized: 'the body is not a JSON "
                            "object'.")
        return body

    def not_found(self, kind, name):
        return arm_error(404, "ResourceNotFound",
                         f"The Resource 'Microsoft.Compute/{kind}/{name}' under resource group '{RESOURCE_GROUP}' was "
                         "not found. For more details please go to https://aka.ms/ARMResourceNotFoundFix")

    def busy(self, op_id, base, api):
        op = self.operations.get(op_id)
        url = self.operation_headers(op, base, api)[0][1] if op else ""
        return arm_error(409, "AnotherOperationInProgress",
                         f"Another operation on this or dependent resource is in progress. To retrieve status of the "
                         f"operation use uri: {url}.")

    def in_progress(self, op_id):
        op = self.operations.get(op_id) if op_id else None
        return op is not None and op.status == "InProgress"

    # Lists and operations -------------------------------------------------------------------------

    def list(self, request, kind, api, base):
        with self.lock:
            if kind == "snapshots":
                items = [self.snapshot_json(s, api) for s in self.snapshots.values()]
            elif kind == "disks":
                items = [self.disk_json(d, api) for d in self.disks.values()]
            else:
                items = [self.vm_json(v, api) for v in self.vms.values()]
        items.sort(key=lambda item: item["name"].lower())
        try:
            start = int(request.q("$skiptoken") or 0)
        except ValueError:
            raise arm_error(400, "InvalidParameter", "The $skiptoken is not valid.", target="$skiptoken")
        page = items[start:start + self.page_size]
        body = {"value": page}
        if start + self.page_size < len(items):
            body["nextLink"] = f"{base}{request.raw_path}?api-version={api}&$skiptoken={start + self.page_size}"
        return json_reply(200, body)

    def operation_status(self, request, family, op_id, api, base):
        with self.lock:
            op = self.operations.get(op_id.lower())
            if op is None or op.family.lower() != family:
                raise arm_error(404, "NotFound", f"The operation '{op_id}' was not found.")
            if request.method != "GET":
                raise arm_error(405, "HttpMethodNotAllowed", f"The HTTP method '{request.method}' is not supported.")
            if request.q("monitor") != "true":
                headers = [("Retry-After", str(self.retry_after(op)))] if op.status == "InProgress" else []
                return json_reply(200, self.operation_json(op), headers)
            if op.status == "InProgress":
                return Reply(202, b"", self.operation_headers(op, base, api)[1:])
            if op.status == "Failed":
                return json_reply(op.http_status or 500, {"error": dict(op.error)})
            if op.delete:
                return Reply(204)
            kind, key = op.target
            resource = {"snapshots": self.snapshots, "disks": self.disks, "virtualMachines": self.vms}[kind].get(key)
            if resource is None:
                raise self.not_found(kind, key)
            render = {"snapshots": self.snapshot_json, "disks": self.disk_json, "virtualMachines": self.vm_json}[kind]
            return json_reply(200, render(resource, api))

    # Snapshots ------------------------------------------------------------------------------------

    def get_snapshot(self, request, name, api, base):
        with self.lock:
            snapshot = self.snapshots.get(name.lower())
            if snapshot is None:
                raise self.not_found("snapshots", name)
            return json_reply(200, self.snapshot_json(snapshot, api))

    def put_snapshot(self, request, name, api, base):
        body = self.json_body(request)
        if not NAME_PATTERN.match(name):
            raise arm_error(400, "InvalidParameter", f"The entity name '{name}' is invalid according to its validation "
                                                     r"rule: ^[^_\W][\w-._]{0,79}(?<![-.])$.", target="snapshotName")
        properties = body.get("properties")
        if not isinstance(properties, dict):
            raise arm_error(400, "InvalidParameter", "Required parameter 'properties' is missing (null).",
                            target="snapshot.properties")
        creation = properties.get("creationData")
        tags = body.get("tags", {})
        if not isinstance(tags, dict) or not all(isinstance(v, str) for v in tags.values()):
            raise arm_error(400, "InvalidRequestContent", "The request content was invalid and could not be "
                                                          "deserialized: 'tags must be an object of strings'.")
        with self.lock:
            existing = self.snapshots.get(name.lower())
            if existing is not None:
                return self._update_snapshot(existing, body, creation, tags, api, base)
        location = body.get("location")
        if not location:
            raise arm_error(400, "LocationRequired", "The location property is required for this definition.")
        if not isinstance(creation, dict):
            raise arm_error(400, "InvalidParameter", "Required parameter 'creationData' is missing (null).",
                            target="snapshot.properties.creationData")
        if str(creation.get("createOption", "")).lower() != "copy":
            raise arm_error(400, "InvalidParameter",
                            f"The value '{creation.get('createOption')}' of parameter 'creationData.createOption' is "
                            "not supported by the stand-in: only Copy (from a managed disk) is.",
                            target="snapshot.properties.creationData.createOption")
        source = creation.get("sourceResourceId")
        disk_key = self.parse_id(source, "disks")
        incremental = properties.get("incremental", False)
        if not isinstance(incremental, bool):
            raise arm_error(400, "InvalidRequestContent", "The request content was invalid and could not be "
                                                          "deserialized: 'incremental must be a boolean'.")
        with self.lock:
            disk = self.disks.get(disk_key) if disk_key else None
            if disk is None:
                raise arm_error(404, "NotFound", f"Resource {source} is not found.")
            if normalize_location(location) != normalize_location(disk.location):
                raise arm_error(400, "InvalidParameter",
                                f"The snapshot location '{location}' must be the location of its source disk "
                                f"'{disk.location}'.", target="snapshot.location")
            if disk.provisioning != "Succeeded":
                raise self.busy(disk.operation, base, api)
            behaviour = self.behaviour(disk.name)
        if behaviour["create_delay_seconds"]:
            time.sleep(behaviour["create_delay_seconds"])
        if behaviour["outcome"] == "FailedAtCreate":
            raise arm_error(409, "OperationNotAllowed",
                            f"snapfleet-standin: creating a snapshot of disk '{disk.name}' is refused, as the disk's "
                            "behaviour asks (outcome FailedAtCreate).")
        with self.lock:
            if name.lower() in self.snapshots:
                raise self.busy(self.snapshots[name.lower()].operation, base, api)
            if self.disks.get(disk.name.lower()) is not disk:
                raise arm_error(404, "NotFound", f"Resource {source} is not found.")
            snapshot = Snapshot(name, location, disk, incremental, tags, body.get("sku"))
            snapshot.source_id = self.resource_id("disks", disk.name)
            snapshot.copy_seconds = behaviour["copy_seconds"]
            self.snapshots[name.lower()] = snapshot
            op = self.new_operation("DiskOperations", snapshot.location, ("snapshots", name.lower()),
                                    due=behaviour["accept_seconds"])
            snapshot.operation = op.id
        self.schedule(behaviour["accept_seconds"], self._finish_snapshot, snapshot, op, behaviour["outcome"])
        with self.lock:
            return json_reply(202, self.snapshot_json(snapshot, api), self.operation_headers(op, base, api))

    def _update_snapshot(self, snapshot, body, creation, tags, api, base):
        if self.in_progress(snapshot.operation):
            raise self.busy(snapshot.operation, base, api)
        if isinstance(creation, dict):
            source = creation.get("sourceResourceId")
            if (str(creation.get("createOption", "copy")).lower() != "copy"
                    or (source is not None and self.parse_id(source, "disks") != snapshot.disk_key)):
                raise arm_error(409, "PropertyChangeNotAllowed", "Changing property 'creationData' is not allowed.",
                                target="creationData")
        if body.get("location") and normalize_location(body["location"]) != normalize_location(snapshot.location):
            raise arm_error(409, "PropertyChangeNotAllowed", "Changing property 'location' is not allowed.",
                            target="location")
        if "tags" in body:
            snapshot.tags = tags
        op = self.new_operation("DiskOperations", snapshot.location, ("snapshots", snapshot.name.lower()))
        op.succeed()
        return json_reply(200, self.snapshot_json(snapshot, api), self.operation_headers(op, base, api))

    def _finish_snapshot(self, snapshot, op, outcome):
        """The end of the create operation: the contents are fixed now (see the module doc)."""
        with self.lock:
            if self.snapshots.get(snapshot.name.lower()) is not snapshot:
                op.fail(500, "InternalDiskManagementError", "The snapshot was removed while it was being created.")
                return
            disk = self.disks.get(snapshot.disk_key)
            image = disk.image if disk is not None and disk.unique_id == snapshot.source_unique_id else None
            if outcome == "Failed":
                snapshot.provisioning = "Failed"
                op.fail(500, "InternalDiskManagementError",
                        f"snapfleet-standin: the snapshot of disk '{disk.name if disk else snapshot.disk_key}' failed, "
                        "as the disk's behaviour asks (outcome Failed).")
                return
        path = None
        if image:
            path = os.path.join(self.images_dir, f"snapshot-{snapshot.unique_id}.img")
            try:
                os.sync()  # writes of a filesystem mounted from the image reach the file first
                copy_image(image, path)
            except (OSError, RuntimeError) as error:
                with self.lock:
                    snapshot.provisioning = "Failed"
                    op.fail(500, "InternalDiskManagementError", f"snapfleet-standin: {error}")
                return
        with self.lock:
            if self.snapshots.get(snapshot.name.lower()) is not snapshot:
                if path:
                    remove_quietly(path)
                op.fail(500, "InternalDiskManagementError", "The snapshot was removed while it was being created.")
                return
            snapshot.image = path
            snapshot.provisioning, snapshot.copy_start = "Succeeded", time.time()
            op.succeed()

    def delete_snapshot(self, request, name, api, base):
        with self.lock:
            snapshot = self.snapshots.get(name.lower())
            if snapshot is None:
                return Reply(204)
            if self.in_progress(snapshot.operation):
                raise self.busy(snapshot.operation, base, api)
            del self.snapshots[name.lower()]
            if snapshot.image:
                remove_quietly(snapshot.image)
            op = self.new_operation("DiskOperations", snapshot.location, ("snapshots", name.lower()), delete=True)
            op.succeed()
            return Reply(202, b"", self.operation_headers(op, base, api))

    # Disks ----------------------------------------------------------------------------------------

    def get_disk(self, request, name, api, base):
        with self.lock:
            disk = self.disks.get(name.lower())
            if disk is None:
                raise self.not_found("disks", name)
            return json_reply(200, self.disk_json(disk, api))

    def put_disk(self, request, name, api, base):
        body = self.json_body(request)
        if not NAME_PATTERN.match(name):
            raise arm_error(400, "InvalidParameter", f"The entity name '{name}' is invalid according to its validation "
                                                     r"rule: ^[^_\W][\w-._]{0,79}(?<![-.])$.", target="diskName")
        properties = body.get("properties") if isinstance(body.get("properties"), dict) else {}
        creation = properties.get("creationData")
        tags = body.get("tags", {})
        if not isinstance(tags, dict):
            raise arm_error(400, "InvalidRequestContent", "The request content was invalid and could not be "
                                                          "deserialized: 'tags must be an object of strings'.")
        with self.lock:
            existing = self.disks.get(name.lower())
            if existing is not None:
                if self.in_progress(existing.operation):
                    raise self.busy(existing.operation, base, api)
                if isinstance(creation, dict) and any(creation.get(k) != existing.creation.get(k)
                                                      for k in ("createOption", "sourceResourceId") if k in creation):
                    raise arm_error(409, "PropertyChangeNotAllowed", "Changing property 'creationData' is not allowed.",
                                    target="creationData")
                if "tags" in body:
                    existing.tags = tags
                op = self.new_operation("DiskOperations", existing.location, ("disks", name.lower()))
                op.succeed()
                return json_reply(200, self.disk_json(existing, api), self.operation_headers(op, base, api))
        location = body.get("location")
        if not location:
            raise arm_error(400, "LocationRequired", "The location property is required for this definition.")
        if not isinstance(creation, dict):
            raise arm_error(400, "InvalidParameter", "Required parameter 'creationData' is missing (null).",
                            target="disk.properties.creationData")
        option = str(creation.get("createOption", "")).lower()
        size = properties.get("diskSizeGB")
        if size is not None and (not isinstance(size, int) or isinstance(size, bool) or size <= 0):
            raise arm_error(400, "InvalidParameter", "diskSizeGB must be a positive integer.", target="diskSizeGB")
        with self.lock:
            if option == "copy":
                source = creation.get("sourceResourceId")
                snapshot = self.snapshots.get(self.parse_id(source, "snapshots") or "")
                if snapshot is None:
                    raise arm_error(404, "NotFound", f"Resource {source} is not found.")
                if normalize_location(location) != normalize_location(snapshot.location):
                    raise arm_error(400, "InvalidParameter",
                                    f"The disk location '{location}' must be the location of its source snapshot "
                                    f"'{snapshot.location}'.", target="disk.location")
                if snapshot.provisioning != "Succeeded" or self.snapshot_progress(snapshot) < 100.0:
                    raise arm_error(409, "OperationNotAllowed",
                                    f"Snapshot {snapshot.name} cannot be used to create a disk yet: its background "
                                    "copy has not completed (completionPercent < 100).")
                if size is not None and size < snapshot.size_gb:
                    raise arm_error(400, "InvalidParameter",
                                    f"Disk size {size} GB is smaller than the size of the source snapshot "
                                    f"({snapshot.size_gb} GB).", target="diskSizeGB")
                disk = Disk(name, location, size or snapshot.size_gb,
                            {"createOption": "Copy", "sourceResourceId": self.resource_id("snapshots", snapshot.name),
                             "sourceUniqueId": snapshot.unique_id})
                source_image = snapshot.image
            elif option == "empty":
                if size is None:
                    raise arm_error(400, "InvalidParameter", "Required parameter 'diskSizeGB' is missing (null).",
                                    target="diskSizeGB")
                disk = Disk(name, location, size, {"createOption": "Empty"})
                source_image = None
            else:
                raise arm_error(400, "InvalidParameter",
                                f"The value '{creation.get('createOption')}' of parameter 'creationData.createOption' "
                                "is not supported by the stand-in: only Copy (from a snapshot) and Empty are.",
                                target="disk.properties.creationData.createOption")
            if isinstance(body.get("sku"), dict) and body["sku"].get("name"):
                disk.sku = {"name": body["sku"]["name"], "tier": body["sku"]["name"].split("_")[0]}
            disk.tags, disk.provisioning = tags, "Updating"
            self.disks[name.lower()] = disk
            op = self.new_operation("DiskOperations", location, ("disks", name.lower()), due=DISK_CREATE_SECONDS)
            disk.operation = op.id
        self.schedule(DISK_CREATE_SECONDS, self._finish_disk, disk, op, source_image)
        with self.lock:
            return json_reply(202, self.disk_json(disk, api), self.operation_headers(op, base, api))

    def _finish_disk(self, disk, op, source_image):
        path = None
        if source_image and os.path.exists(source_image):
            path = os.path.join(self.images_dir, f"disk-{disk.unique_id}.img")
            try:
                copy_image(source_image, path)
            except (OSError, RuntimeError) as error:
                with self.lock:
                    disk.provisioning = "Failed"
                    op.fail(500, "InternalDiskManagementError", f"snapfleet-standin: {error}")
                return
        with self.lock:
            if self.disks.get(disk.name.lower()) is not disk:
                if path:
                    remove_quietly(path)
                op.fail(500, "InternalDiskManagementError", "The disk was removed while it was being created.")
                return
            disk.image, disk.image_owned = path, path is not None
            disk.provisioning = "Succeeded"
            op.succeed()

    def delete_disk(self, request, name, api, base):
        with self.lock:
            disk = self.disks.get(name.lower())
            if disk is None:
                return Reply(204)
            if disk.managed_by:
                vm = self.vms.get(disk.managed_by)
                raise arm_error(409, "OperationNotAllowed",
                                f"Disk {disk.name} is attached to VM "
                                f"{self.resource_id('virtualMachines', vm.name if vm else disk.managed_by)}.")
            if self.in_progress(disk.operation):
                raise self.busy(disk.operation, base, api)
            del self.disks[name.lower()]
            if disk.image_owned and disk.image:
                remove_quietly(disk.image)
            op = self.new_operation("DiskOperations", disk.location, ("disks", name.lower()), delete=True)
            op.succeed()
            return Reply(202, b"", self.operation_headers(op, base, api))

    # Virtual machines -----------------------------------------------------------------------------

    def get_vm(self, request, name, api, base):
        with self.lock:
            vm = self.vms.get(name.lower())
            if vm is None:
                raise self.not_found("virtualMachines", name)
            return json_reply(200, self.vm_json(vm, api))

    def update_vm(self, request, name, api, base):
        body = self.json_body(request)
        with self.lock:
            vm = self.vms.get(name.lower())
            if vm is None:
                if request.method == "PUT":
                    raise arm_error(400, "OperationNotAllowed", "snapfleet-standin: VMs are created through "
                                                                "POST /standin/vms only.")
                raise self.not_found("virtualMachines", name)
            if self.in_progress(vm.operation):
                raise self.busy(vm.operation, base, api)
            if body.get("location") and normalize_location(body["location"]) != normalize_location(vm.location):
                raise arm_error(409, "PropertyChangeNotAllowed", "Changing property 'location' is not allowed.",
                                target="location")
            properties = body.get("properties") if isinstance(body.get("properties"), dict) else {}
            storage = properties.get("storageProfile") if isinstance(properties.get("storageProfile"), dict) else {}
            attach, detach = [], []
            if "dataDisks" in storage:
                attach, detach, keep = self._plan_disks(vm, storage["dataDisks"], base, api)
                vm.data_disks = keep + [entry for entry, _ in attach]
                for entry in detach:
                    disk = self.disks.get(entry["disk_key"])
                    if disk is not None:
                        disk.managed_by = None
                for entry, disk in attach:
                    disk.managed_by = vm.name.lower()
            if isinstance(body.get("tags"), dict):
                vm.tags = body["tags"]
            vm.provisioning = "Updating"
            op = self.new_operation("operations", vm.location, ("virtualMachines", vm.name.lower()),
                                    due=vm.update_seconds)
            vm.operation = op.id
            devices = ([(entry["lun"], disk.image) for entry, disk in attach if disk.image],
                       [entry["lun"] for entry in detach])
        self.schedule(vm.update_seconds, self._finish_vm_update, vm, op, devices)
        with self.lock:
            return json_reply(200, self.vm_json(vm, api), self.operation_headers(op, base, api))

    def _plan_disks(self, vm, entries, base, api):
        if not isinstance(entries, list):
            raise arm_error(400, "InvalidParameter", "dataDisks must be an array.", target="dataDisks")
        current = {entry["lun"]: entry for entry in vm.data_disks}
        seen, keep, attach, detach = set(), [], [], []
        for index, item in enumerate(entries):
            target = f"dataDisks[{index}]"
            if not isinstance(item, dict):
                raise arm_error(400, "InvalidParameter", "A data disk must be an object.", target=target)
            lun = item.get("lun")
            if not isinstance(lun, int) or isinstance(lun, bool) or not 0 <= lun <= 63:
                raise arm_error(400, "InvalidParameter",
                                f"The value of parameter dataDisk.lun is invalid: {lun}. Valid LUNs are 0 to 63.",
                                target=f"{target}.lun")
            if lun in seen:
                raise arm_error(400, "InvalidParameter", f"A disk at LUN {lun} already exists.", target=f"{target}.lun")
            seen.add(lun)
            managed = item.get("managedDisk") if isinstance(item.get("managedDisk"), dict) else {}
            given_id = managed.get("id")
            disk_key = self.parse_id(given_id, "disks") if given_id else None
            cur = current.get(lun)
            if cur is not None and (disk_key == cur["disk_key"] or (
                    given_id is None and str(item.get("name", cur["disk_key"])).lower() == cur["disk_key"])):
                (detach if item.get("toBeDetached") is True else keep).append(cur)
                continue
            if cur is not None:
                raise arm_error(400, "InvalidParameter", f"A disk at LUN {lun} already exists.", target=f"{target}.lun")
            if item.get("toBeDetached") is True:
                continue
            if str(item.get("createOption", "")).lower() != "attach":
                raise arm_error(400, "InvalidParameter",
                                f"snapfleet-standin: data disk createOption '{item.get('createOption')}' is not "
                                "implemented; attach existing managed disks with createOption Attach.",
                                target=f"{target}.createOption")
            if not given_id:
                raise arm_error(400, "InvalidParameter", "Required parameter 'managedDisk.id' is missing (null).",
                                target=f"{target}.managedDisk.id")
            disk = self.disks.get(disk_key) if disk_key else None
            if disk is None:
                raise arm_error(404, "NotFound", f"Resource {given_id} is not found.", target=f"{target}.managedDisk.id")
            if disk.managed_by and disk.managed_by != vm.name.lower():
                other = self.vms.get(disk.managed_by)
                raise arm_error(409, "OperationNotAllowed",
                                f"Cannot attach the disk '{disk.name}' to VM '{vm.name}' because it is already attached "
                                f"to VM '{other.name if other else disk.managed_by}'. A disk can be attached to only one "
                                "VM at a time.", target=f"{target}.managedDisk.id")
            if disk.managed_by == vm.name.lower() or disk.name.lower() == vm.os_disk_key:
                raise arm_error(400, "InvalidParameter",
                                f"Disk '{disk.name}' is already attached to VM '{vm.name}'.",
                                target=f"{target}.managedDisk.id")
            if self.in_progress(disk.operation) or disk.provisioning != "Succeeded":
                raise self.busy(disk.operation, base, api)
            if normalize_location(disk.location) != normalize_location(vm.location):
                raise arm_error(400, "InvalidParameter",
                                f"Disk '{disk.name}' is in location '{disk.location}' while VM '{vm.name}' is in location "
                                f"'{vm.location}'. A disk can be attached to a VM in its own location only.",
                                target=f"{target}.managedDisk.id")
            entry = {"lun": lun, "disk_key": disk.name.lower(), "id_as_given": given_id,
                     "caching": item.get("caching") or "None"}
            attach.append((entry, disk))
        detach.extend(entry for lun, entry in current.items() if lun not in seen)
        return attach, detach, keep

    def _finish_vm_update(self, vm, op, devices):
        attach, detach = devices
        failure = None
        with self.lock:
            if self.vms.get(vm.name.lower()) is not vm:  # reset meanwhile
                op.fail(500, "InternalExecutionError", "The VM was removed while it was being updated.")
                return
        for lun in detach:
            link = vm.devices.pop(lun, None)
            if link:
                self.devices.detach(link)
        if self.devices.enabled:
            for lun, image in attach:
                try:
                    vm.devices[lun] = self.devices.attach(image, lun)
                except (OSError, RuntimeError) as error:
                    failure = str(error)
        with self.lock:
            if failure:
                vm.provisioning = "Failed"
                op.fail(500, "InternalExecutionError", f"snapfleet-standin: {failure}")
            else:
                vm.provisioning = "Succeeded"
                op.succeed()

    # Admin -----------------------------------------------------------------------------------------

    def admin_disk(self, spec, location=None):
        name, size = spec.get("name"), spec.get("size_gb")
        if not isinstance(name, str) or not NAME_PATTERN.match(name):
            raise ValueError(f"bad disk name {name!r}")
        if not isinstance(size, int) or isinstance(size, bool) or size <= 0:
            raise ValueError("size_gb must be a positive integer")
        image = spec.get("image")
        if image is not None and not os.path.isfile(image):
            raise ValueError(f"image {image} is not a file")
        with self.lock:
            if name.lower() in self.disks:
                raise ValueError(f"disk {name} exists")
            disk = Disk(name, spec.get("location") or location or LOCATION, size, {"createOption": "Empty"},
                        image=image)
            self.disks[name.lower()] = disk
            return disk

    def admin_vm(self, spec):
        name = spec.get("name")
        if not isinstance(name, str) or not NAME_PATTERN.match(name):
            raise ValueError(f"bad VM name {name!r}")
        location = spec.get("location") or LOCATION
        update_seconds = spec.get("update_seconds", 0.1)
        if not isinstance(update_seconds, (int, float)) or update_seconds < 0:
            raise ValueError("update_seconds must be a number >= 0")
        data_disks = spec.get("data_disks", [])
        if not isinstance(data_disks, list):
            raise ValueError("data_disks must be a list")
        with self.lock:
            if name.lower() in self.vms:
                raise ValueError(f"VM {name} exists")
            luns = [d.get("lun") for d in data_disks]
            if len(set(luns)) != len(luns) or not all(isinstance(l, int) and 0 <= l <= 63 for l in luns):
                raise ValueError("data disk LUNs must be distinct integers 0..63")
            disks = []
            for spec_disk in data_disks:
                existing = self.disks.get(str(spec_disk.get("name", "")).lower())
                if existing is not None:
                    if existing.managed_by:
                        raise ValueError(f"disk {existing.name} is attached to another VM")
                    disks.append((spec_disk["lun"], existing))
                else:
                    disks.append((spec_disk["lun"], self.admin_disk(spec_disk, location)))
            os_disk = Disk(f"{name}_OsDisk_1_{uuid.uuid4().hex}", location, 30, {
                "createOption": "FromImage", "imageReference": {
                    "id": f"/Subscriptions/{self.subscription}/Providers/Microsoft.Compute/Locations/{location}/"
                          "Publishers/Canonical/ArtifactTypes/VMImage/Offers/ubuntu-24_04-lts/Skus/server/Versions/"
                          "24.04.202604010"}}, os_type="Linux")
            self.disks[os_disk.name.lower()] = os_disk
            vm = VirtualMachine(name, location, spec.get("vm_size") or "Standard_D4s_v5", os_disk.name.lower(),
                                float(update_seconds))
            os_disk.managed_by = name.lower()
            for lun, disk in disks:
                disk.managed_by = name.lower()
                vm.data_disks.append({"lun": lun, "disk_key": disk.name.lower(),
                                      "id_as_given": self.resource_id("disks", disk.name), "caching": "None"})
            self.vms[name.lower()] = vm
        if self.devices.enabled:
            for lun, disk in disks:
                if disk.image:
                    vm.devices[lun] = self.devices.attach(disk.image, lun)
        with self.lock:
            return self.vm_json(vm, COMPUTE_API_VERSIONS[-1])

    def reset(self):
        with self.lock:
            self.devices.cleanup()
            for snapshot in self.snapshots.values():
                if snapshot.image:
                    remove_quietly(snapshot.image)
            for disk in self.disks.values():
                if disk.image_owned and disk.image:
                    remove_quietly(disk.image)
            self.vms, self.disks, self.snapshots, self.operations, self.behaviours = {}, {}, {}, {}, {}


def normalize_location(location):
    return str(location).replace(" ", "").lower()


# --- Blob service ---------------------------------------------------------------------------------

class Blob:
    def __init__(self, name, path, size, content_md5, headers, metadata, blocks=None, created=None):
        self.name, self.path, self.size, self.content_md5 = name, path, size, content_md5
        self.content_type = headers.get("x-ms-blob-content-type") or "application/octet-stream"
        self.content_encoding = headers.get("x-ms-blob-content-encoding", "")
        self.content_language = headers.get("x-ms-blob-content-language", "")
        self.cache_control = headers.get("x-ms-blob-cache-control", "")
        self.content_disposition = headers.get("x-ms-blob-content-disposition", "")
        self.metadata, self.blocks = metadata, blocks or []  # blocks: [(id, offset, size)] as committed
        self.modified = time.time()
        self.created = created or self.modified
        self.etag = next_etag()


_etag_lock, _etag_counter = threading.Lock(), [0]


def next_etag():
    with _etag_lock:
        _etag_counter[0] += 1
        return f'"0x8DE{(time.time_ns() // 100 + _etag_counter[0]) & 0xFFFFFFFFFFFFF:013X}"'


class Container:
    def __init__(self, name):
        self.name, self.created, self.etag = name, time.time(), next_etag()
        self.blobs, self.blocks = {}, {}  # blocks: blob name -> {block id: (path, size)}


class Access:
    """How a blob request was authorized: kind, SAS parameters (None otherwise), object id."""

    def __init__(self, kind, sas=None, object_id=None):
        self.kind, self.sas, self.object_id = kind, sas, object_id

    def has(self, letters):
        return self.sas is None or bool(set(letters) & set(self.sas.get("sp", "")))


CONTAINER_NAME = re.compile(r"^(?!.*--)[a-z0-9][a-z0-9-]{1,61}[a-z0-9]$")
RANGE_PATTERN = re.compile(r"^bytes=(\d+)-(\d*)$")


class BlobService:
    def __init__(self, identity, state_dir, account_key, page_size):
        self.identity, self.account_key, self.page_size = identity, account_key, page_size
        self.udk_secret = secrets.token_bytes(32)
        self.dir = os.path.join(state_dir, "blobs")
        os.makedirs(self.dir, exist_ok=True)
        self.containers, self.lock = {}, threading.RLock()

    def reset(self):
        with self.lock:
            for container in self.containers.values():
                for blob in container.blobs.values():
                    remove_quietly(blob.path)
                for blocks in container.blocks.values():
                    for path, _ in blocks.values():
                        remove_quietly(path)
            self.containers = {}

    def new_path(self):
        return os.path.join(self.dir, uuid.uuid4().hex)

    # Dispatch ---------------------------------------------------------------------------------

    def handle(self, request, base):
        rest = request.raw_path[len(ACCOUNT) + 1:]
        container, blob = None, None
        if rest.strip("/"):
            container_raw, _, blob_raw = rest.lstrip("/").partition("/")
            container = unquote(container_raw)
            blob = unquote(blob_raw) if blob_raw else None
        query = {}
        for name, value in parse_query(request.raw_query):
            query.setdefault(name.lower(), value)
        sas = query if "sig" in query else None
        version = request.header("x-ms-version") or (sas or {}).get("sv") or DEFAULT_BLOB_VERSION
        headers = [("x-ms-version", version)]
        if request.header("x-ms-client-request-id"):
            headers.append(("x-ms-client-request-id", request.header("x-ms-client-request-id")))
        try:
            reply = self.dispatch(request, base, container, blob, query, sas)
        except Failure as failure:
            reply = failure.reply
        if not any(name.lower() == "x-ms-request-id" for name, _ in reply.headers):
            reply.headers.append(("x-ms-request-id", new_id()))
        reply.headers.extend(headers)
        if request.method == "HEAD" and reply.body and reply.status >= 300:
            reply.body = b""
        return reply

    def dispatch(self, request, base, container, blob, query, sas):
        method, restype, comp = request.method, query.get("restype"), query.get("comp")
        if container is None:
            if method == "POST" and restype == "service" and comp == "userdelegationkey":
                return self.user_delegation_key(request, self.authorize(request, None, None, sas, "udk"))
            if method == "GET" and comp == "list":
                access = self.authorize(request, None, None, sas, "list_containers")
                return self.list_containers(request, base, query)
            raise blob_error(400, "InvalidQueryParameterValue", "Value for one of the query parameters specified in "
                                                                "the request URI is invalid.")
        if blob is None:
            if restype != "container":
                raise blob_error(400, "InvalidUri", "The requested URI does not represent any resource on the server.")
            if method == "GET" and comp == "list":
                access = self.authorize(request, container, None, sas, "list_blobs")
                return self.list_blobs(request, base, container, query)
            if method == "PUT" and comp is None:
                self.authorize(request, container, None, sas, "create_container")
                return self.create_container(container)
            if method == "DELETE" and comp is None:
                self.authorize(request, container, None, sas, "delete_container")
                return self.delete_container(container)
            if method in ("GET", "HEAD") and comp is None:
                self.authorize(request, container, None, sas, "container_properties")
                return self.container_properties(container)
            raise blob_error(405, "UnsupportedHttpVerb", "The resource doesn't support specified Http Verb.")
        if method == "PUT" and comp is None:
            return self.put_blob(request, container, blob, self.authorize(request, container, blob, sas, "put_blob"))
        if method == "PUT" and comp == "block":
            return self.put_block(request, container, blob, query,
                                  self.authorize(request, container, blob, sas, "put_block"))
        if method == "PUT" and comp == "blocklist":
            return self.put_block_list(request, container, blob,
                                       self.authorize(request, container, blob, sas, "put_block_list"))
        if method in ("GET", "HEAD") and comp is None:
            return self.get_blob(request, container, blob, self.authorize(request, container, blob, sas, "get_blob"))
        if method == "DELETE" and comp is None:
            return self.delete_blob(request, container, blob,
                                    self.authorize(request, container, blob, sas, "delete_blob"))
        raise blob_error(400, "UnsupportedQueryParameter" if comp else "UnsupportedHttpVerb",
                         "One of the query parameters specified in the request URI is not supported." if comp else
                         "The resource doesn't support specified Http Verb.")

    # Authorization ------------------------------------------------------------------------------

    def authorize(self, request, container, blob, sas, operation):
        authorization = request.header("authorization")
        if authorization and authorization.startswith("SharedKey "):
            if operation == "udk":
                raise self.auth_failed("Only authentication scheme Bearer is supported")
            self.verify_shared_key(request, authorization)
            self.check_version(request)
            return Access("sharedkey")
        if authorization and authorization.lower().startswith("bearer "):
            token = self.verify_bearer(request, authorization[7:].strip())
            self.check_version(request, minimum="2017-11-09")
            return Access("bearer", object_id=token.object_id)
        if sas is not None:
            if operation in ("udk", "list_containers", "create_container", "delete_container"):
                raise blob_error(403, "AuthorizationResourceTypeMismatch",
                                 "This request is not authorized to perform this operation using this resource type.")
            access = Access("sas", sas=self.verify_sas(request, container, blob, sas))
            if access.sas["sr"] == "b" and operation in ("list_blobs", "container_properties"):
                raise blob_error(403, "AuthorizationResourceTypeMismatch",
                                 "This request is not authorized to perform this operation using this resource type.")
            needed = {"get_blob": "r", "put_block": "w", "delete_blob": "d", "list_blobs": "l",
                      "container_properties": "r", "put_blob": "cw", "put_block_list": "cw"}[operation]
            if not access.has(needed):
                raise blob_error(403, "AuthorizationPermissionMismatch",
                                 "This request is not authorized to perform this operation using this permission.")
            if request.header("x-ms-version"):
                self.check_version(request)
            return access
        if authorization:
            raise self.auth_failed("The authorization header is not well formed.")
        raise blob_error(401, "NoAuthenticationInformation",
                         "Server failed to authenticate the request. Please refer to the information in the "
                         "www-authenticate header.", headers=[("WWW-Authenticate", self.challenge(request))])

    def challenge(self, request):
        return (f"Bearer authorization_uri={request_base(request)}/{self.identity.tenant}/oauth2/authorize "
                "resource_id=https://storage.azure.com")

    @staticmethod
    def auth_failed(detail, status=403):
        return blob_error(status, "AuthenticationFailed",
                          "Server failed to authenticate the request. Make sure the value of Authorization header is "
                          "formed correctly including the signature.", [("AuthenticationErrorDetail", detail)])

    @staticmethod
    def check_version(request, minimum=None):
        version = request.header("x-ms-version")
        if version is None:
            raise blob_error(400, "MissingRequiredHeader", "An HTTP header that's mandatory for this request is not "
                                                           "specified.", [("HeaderName", "x-ms-version")])
        if version not in BLOB_VERSIONS or (minimum and version < minimum):
            raise blob_error(400, "InvalidHeaderValue", "The value for one of the HTTP headers is not in the correct "
                                                        "format.", [("HeaderName", "x-ms-version"),
                                                                    ("HeaderValue", version)])

    def verify_shared_key(self, request, authorization):
        match = re.match(r"^SharedKey ([^:\s]+):(\S+)$", authorization)
        if not match:
            raise self.auth_failed("The authorization header is not well formed.")
        if match.group(1) != ACCOUNT:
            raise self.auth_failed(f"The account name in the Authorization header, '{match.group(1)}', is not this "
                                   f"account, '{ACCOUNT}'.")
        date_text = request.header("x-ms-date") or request.header("date")
        if not date_text:
            raise self.auth_failed("Request date header not specified: x-ms-date or Date is required.")
        try:
            moment = email.utils.parsedate_to_datetime(date_text)
        except (TypeError, ValueError):
            moment = None
        if moment is None or moment.tzinfo is None:
            raise self.auth_failed(f"The Date header in the request is incorrect: '{date_text}'.")
        if abs((utcnow() - moment).total_seconds()) > CLOCK_SKEW:
            raise self.auth_failed(f"Request date header too old: '{date_text}'")
        string_to_sign = shared_key_string_to_sign(request.method, request.raw_path, request.raw_query,
                                                   request.header_pairs())
        expected = hmac_b64(self.account_key, string_to_sign)
        if not hmac.compare_digest(expected.encode(), match.group(2).encode()):
            raise self.auth_failed("The MAC signature found in the HTTP request is not the same as any computed "
                                   f"signature. Server used following string to sign: '{string_to_sign}'.")

    def verify_bearer(self, request, value):
        def refuse(detail):
            return blob_error(401, "InvalidAuthenticationInfo",
                              "Server failed to authenticate the request. Please refer to the information in the "
                              "www-authenticate header.", [("AuthenticationErrorDetail", detail)],
                              headers=[("WWW-Authenticate", self.challenge(request))])
        token = self.identity.lookup(value)
        if token is None:
            raise refuse("Signature validation failed. The token is not one this tenant issued.")
        if token.audience != STORAGE:
            raise refuse("Audience validation failed. Audience did not match.")
        if token.expires <= time.time():
            raise refuse("Lifetime validation failed. The token is expired.")
        return token

    def verify_sas(self, request, container, blob, params):
        version, resource = params.get("sv"), params.get("sr")
        if version not in SAS_VERSIONS:
            raise self.auth_failed(f"sv={version} is not a signed version the stand-in implements "
                                   f"({', '.join(SAS_VERSIONS)}).")
        if resource not in ("b", "c"):
            raise self.auth_failed(f"Signature fields not well formed: sr={resource} (b and c are implemented).")
        if resource == "b" and not blob:
            raise blob_error(403, "AuthorizationResourceTypeMismatch",
                             "This request is not authorized to perform this operation using this resource type.")
        if params.get("si") or params.get("srh") or params.get("srq"):
            raise self.auth_failed("Signature fields not well formed: stored access policies (si) and signed request "
                                   "headers or query parameters (srh, srq) are not implemented by the stand-in.")
        permissions = params.get("sp", "")
        if not permissions or set(permissions) - SAS_PERMISSION_CHARS:
            raise self.auth_failed(f"Signature fields not well formed: sp={permissions}.")
        start = parse_iso(params["st"]) if params.get("st") else None
        expiry = parse_iso(params.get("se", ""))
        if expiry is None or (params.get("st") and start is None):
            raise self.auth_failed("Signature fields not well formed: st and se must be ISO 8601 UTC times.")
        key = self.delegation_key(params, expiry) if "skoid" in params else self.account_key
        string_to_sign = sas_string_to_sign(params, sas_canonical_resource(ACCOUNT, container, blob, resource))
        if not hmac.compare_digest(hmac_b64(key, string_to_sign).encode(), params.get("sig", "").encode()):
            raise self.auth_failed(f"Signature did not match. String to sign used was {string_to_sign}")
        now = utcnow()
        if (start is not None and now < start) or now >= expiry:
            raise self.auth_failed(f"Signature not valid in the specified time frame: Start "
                                   f"[{http_date(start.timestamp()) if start else ''}] - Expiry "
                                   f"[{http_date(expiry.timestamp())}] - Current [{http_date(now.timestamp())}]")
        if params.get("sip") and not ip_allowed(request.client_ip, params["sip"]):
            raise blob_error(403, "AuthorizationSourceIPMismatch",
                             "This request is not authorized to perform this operation using this source IP "
                             f"{request.client_ip}.")
        if params.get("spr") and not set(params["spr"].split(",")) & {"https", "http"}:
            raise self.auth_failed(f"Signature fields not well formed: spr={params['spr']}.")
        return params

    def delegation_key(self, params, sas_expiry):
        fields = [params.get(name) for name in ("skoid", "sktid", "skt", "ske", "sks", "skv")]
        if not all(fields):
            raise self.auth_failed("Signature fields not well formed: skoid, sktid, skt, ske, sks and skv are required "
                                   "in a user delegation SAS.")
        oid, tid, key_start, key_expiry, service, version = fields
        start, expiry = parse_iso(key_start), parse_iso(key_expiry)
        if start is None or expiry is None:
            raise self.auth_failed("Signature fields not well formed: skt and ske must be ISO 8601 UTC times.")
        if tid.lower() != self.identity.tenant or oid.lower() not in self.identity.object_ids or service != "b":
            raise self.auth_failed("The user delegation key named by skoid, sktid and sks was not issued by this "
                                   "account.")
        if utcnow() >= expiry:
            raise self.auth_failed(f"The user delegation key expired at {key_expiry}.")
        if sas_expiry > expiry:
            raise self.auth_failed("The SAS expiry (se) must not be after the user delegation key's expiry (ske).")
        return delegation_key_value(self.udk_secret, oid, tid, start, expiry, service, version)

    # Service and containers ---------------------------------------------------------------------

    def user_delegation_key(self, request, access):
        if access.kind != "bearer":
            raise self.auth_failed("Only authentication scheme Bearer is supported")
        try:
            root = ElementTree.fromstring(request.body)
        except ElementTree.ParseError:
            raise blob_error(400, "InvalidXmlDocument", "XML specified is not syntactically valid.")
        if root.tag != "KeyInfo":
            raise blob_error(400, "InvalidXmlDocument", "XML specified is not syntactically valid.")
        start_text, expiry_text = root.findtext("Start"), root.findtext("Expiry")
        now = utcnow().replace(microsecond=0)
        start = parse_iso(start_text) if start_text else now
        expiry = parse_iso(expiry_text or "")
        if start is None or expiry is None:
            raise blob_error(400, "InvalidXmlNodeValue", "The value for one of the XML nodes is not in the correct "
                                                         "format.", [("XmlNodeName", "Start" if start is None else "Expiry")])
        if expiry <= start or expiry <= now or expiry > now + datetime.timedelta(days=7):
            raise blob_error(400, "InvalidXmlNodeValue", "The value for one of the XML nodes is not in the correct "
                                                         "format: Expiry must be after Start and now, and within 7 "
                                                         "days of now.", [("XmlNodeName", "Expiry")])
        version = request.header("x-ms-version")
        value = delegation_key_value(self.udk_secret, access.object_id, self.identity.tenant, start, expiry, "b",
                                     version)
        body = ('<?xml version="1.0" encoding="utf-8"?><UserDelegationKey>'
                f"<SignedOid>{access.object_id}</SignedOid><SignedTid>{self.identity.tenant}</SignedTid>"
                f"<SignedStart>{iso_seconds(start)}</SignedStart><SignedExpiry>{iso_seconds(expiry)}</SignedExpiry>"
                f"<SignedService>b</SignedService><SignedVersion>{escape(version)}</SignedVersion>"
                f"<Value>{value}</Value></UserDelegationKey>")
        return Reply(200, body.encode(), [("Date", http_date(time.time()))], "application/xml")

    def list_containers(self, request, base, query):
        with self.lock:
            names = sorted(self.containers)
            items = "".join(
                f"<Container><Name>{escape(name)}</Name><Properties><Last-Modified>"
                f"{http_date(self.containers[name].created)}</Last-Modified><Etag>"
                f"{escape(self.containers[name].etag.strip(chr(34)))}</Etag><LeaseStatus>unlocked</LeaseStatus>"
                "<LeaseState>available</LeaseState><HasImmutabilityPolicy>false</HasImmutabilityPolicy>"
                "<HasLegalHold>false</HasLegalHold></Properties></Container>" for name in names)
        body = (f'<?xml version="1.0" encoding="utf-8"?><EnumerationResults ServiceEndpoint="{base}/{ACCOUNT}/">'
                f"<Containers>{items}</Containers><NextMarker /></EnumerationResults>")
        return Reply(200, body.encode(), [], "application/xml")

    def create_container(self, name):
        if not CONTAINER_NAME.match(name):
            raise blob_error(400, "InvalidResourceName", "The specifed resource name contains invalid characters.")
        with self.lock:
            if name in self.containers:
                raise blob_error(409, "ContainerAlreadyExists", "The specified container already exists.")
            container = self.containers[name] = Container(name)
        return Reply(201, b"", [("ETag", container.etag), ("Last-Modified", http_date(container.created))])

    def container(self, name):
        container = self.containers.get(name)
        if container is None:
            raise blob_error(404, "ContainerNotFound", "The specified container does not exist.")
        return container

    def delete_container(self, name):
        with self.lock:
            container = self.container(name)
            del self.containers[name]
            for blob in container.blobs.values():
                remove_quietly(blob.path)
            for blocks in container.blocks.values():
                for path, _ in blocks.values():
                    remove_quietly(path)
        return Reply(202)

    def container_properties(self, name):
        with self.lock:
            container = self.container(name)
            return Reply(200, b"", [("ETag", container.etag), ("Last-Modified", http_date(container.created)),
                                    ("x-ms-lease-status", "unlocked"), ("x-ms-lease-state", "available"),
                                    ("x-ms-has-immutability-policy", "false"), ("x-ms-has-legal-hold", "false")])

    # Listing -----------------------------------------------------------------------------------------

    def list_blobs(self, request, base, container_name, query):
        prefix, delimiter, marker = query.get("prefix", ""), query.get("delimiter"), query.get("marker")
        limit = self.page_size
        if "maxresults" in query:
            try:
                limit = int(query["maxresults"])
            except ValueError:
                raise blob_error(400, "InvalidQueryParameterValue", "Value for one of the query parameters specified "
                                                                    "in the request URI is invalid.",
                                 [("QueryParameterName", "maxresults"), ("QueryParameterValue", query["maxresults"])])
            if not 1 <= limit <= 5000:
                raise blob_error(400, "OutOfRangeQueryParameterValue", "One of the query parameters specified in the "
                                                                       "request URI is outside the permissible range.",
                                 [("QueryParameterName", "maxresults"), ("QueryParameterValue", query["maxresults"]),
                                  ("MinimumAllowed", "1"), ("MaximumAllowed", "5000")])
            limit = min(limit, self.page_size)
        after = None
        if marker:
            try:
                after = b64url_decode(marker.split("!", 1)[1]).decode("utf-8") if marker.startswith("2!") else None
            except (ValueError, IndexError, UnicodeDecodeError):
                after = None
            if after is None:
                raise blob_error(400, "OutOfRangeInput", "One of the request inputs is out of range.")
        with self.lock:
            container = self.container(container_name)
            blobs = sorted((b for b in container.blobs.values() if b.name.startswith(prefix)), key=lambda b: b.name)
            items, prefixes = [], set()
            for blob in blobs:
                if delimiter:
                    cut = blob.name.find(delimiter, len(prefix))
                    if cut >= 0:
                        common = blob.name[:cut + len(delimiter)]
                        if common not in prefixes:
                            prefixes.add(common)
                            items.append((common, None))
                        continue
                items.append((blob.name, blob))
            if after is not None:
                items = [item for item in items if item[0] > after and not (item[1] is None and after.startswith(item[0]))]
            page, more = items[:limit], len(items) > limit
            entries = []
            for key, blob in page:
                if blob is None:
                    entries.append(f"<BlobPrefix><Name>{escape(key)}</Name></BlobPrefix>")
                    continue
                metadata = ""
                if "metadata" in query.get("include", "").split(","):
                    metadata = "<Metadata>" + "".join(f"<{k}>{escape(v)}</{k}>" for k, v in blob.metadata.items()) \
                               + "</Metadata>"
                md5 = b64(blob.content_md5) if blob.content_md5 else ""
                entries.append(
                    f"<Blob><Name>{escape(blob.name)}</Name><Properties>"
                    f"<Creation-Time>{http_date(blob.created)}</Creation-Time>"
                    f"<Last-Modified>{http_date(blob.modified)}</Last-Modified>"
                    f"<Etag>{blob.etag.strip(chr(34))}</Etag><Content-Length>{blob.size}</Content-Length>"
                    f"<Content-Type>{escape(blob.content_type)}</Content-Type>"
                    f"<Content-Encoding>{escape(blob.content_encoding)}</Content-Encoding>"
                    f"<Content-Language>{escape(blob.content_language)}</Content-Language>"
                    f"<Content-CRC64 /><Content-MD5>{md5}</Content-MD5>"
                    f"<Cache-Control>{escape(blob.cache_control)}</Cache-Control>"
                    f"<Content-Disposition>{escape(blob.content_disposition)}</Content-Disposition>"
                    "<BlobType>BlockBlob</BlobType><AccessTier>Hot</AccessTier>"
                    "<AccessTierInferred>true</AccessTierInferred><LeaseStatus>unlocked</LeaseStatus>"
                    "<LeaseState>available</LeaseState><ServerEncrypted>true</ServerEncrypted>"
                    f"</Properties>{metadata}</Blob>")
        header = [f'<?xml version="1.0" encoding="utf-8"?><EnumerationResults ServiceEndpoint="{base}/{ACCOUNT}/" '
                  f'ContainerName="{escape(container_name)}">']
        if "prefix" in query:
            header.append(f"<Prefix>{escape(prefix)}</Prefix>")
        if marker:
            header.append(f"<Marker>{escape(marker)}</Marker>")
        if "maxresults" in query:
            header.append(f"<MaxResults>{escape(query['maxresults'])}</MaxResults>")
        if delimiter:
            header.append(f"<Delimiter>{escape(delimiter)}</Delimiter>")
        next_marker = "2!" + b64url(page[-1][0].encode()) if more and page else ""
        body = "".join(header) + "<Blobs>" + "".join(entries) + "</Blobs>" + (
            f"<NextMarker>{next_marker}</NextMarker>" if next_marker else "<NextMarker />") + "</EnumerationResults>"
        return Reply(200, body.encode(), [], "application/xml")

    # Writes -------------------------------------------------------------------------------------------

    @staticmethod
    def checked_md5(request, header, data):
        """The MD5 sent in `header`, checked against `data`; None when the header is absent."""
        given = request.header(header)
        if given is None:
            return None
        try:
            digest = base64.b64decode(given, validate=True)
        except (ValueError, binascii.Error):
            digest = b""
        if len(digest) != 16:
            raise blob_error(400, "InvalidMd5", "The MD5 value specified in the request is invalid. The MD5 value must "
                                                "be 128 bits and Base64-encoded.")
        computed = hashlib.md5(data).digest()  # noqa: S324 - the protocol's digest
        if digest != computed:
            raise blob_error(400, "Md5Mismatch", "The MD5 value specified in the request did not match with the MD5 "
                                                 "value calculated by the server.",
                             [("UserSpecifiedMd5", given), ("ServerCalculatedMd5", b64(computed))])
        return digest

    @staticmethod
    def check_write_conditions(request, existing, access):
        if_none_match, if_match = request.header("if-none-match"), request.header("if-match")
        if if_none_match is not None:
            tags = [t.strip() for t in if_none_match.split(",")]
            if "*" in tags and existing is not None:
                raise blob_error(409, "BlobAlreadyExists", "The specified blob already exists.")
            if existing is not None and existing.etag in tags:
                raise blob_error(412, "ConditionNotMet", "The condition specified using HTTP conditional header(s) is "
                                                         "not met.")
        if if_match is not None:
            tags = [t.strip() for t in if_match.split(",")]
            if existing is None or not ("*" in tags or existing.etag in tags):
                raise blob_error(412, "ConditionNotMet", "The condition specified using HTTP conditional header(s) is "
                                                         "not met.")
        if existing is not None and access.sas is not None and not access.has("w"):
            raise blob_error(403, "UnauthorizedBlobOverwrite", "This request is not authorized to perform blob "
                                                               "overwrites.")

    @staticmethod
    def blob_headers(request):
        headers = {name.lower(): value for name, value in request.header_pairs()}
        metadata = {name[len("x-ms-meta-"):]: value for name, value in headers.items() if name.startswith("x-ms-meta-")}
        if "x-ms-blob-content-type" not in headers and request.header("content-type"):
            headers["x-ms-blob-content-type"] = request.header("content-type")
        return headers, metadata

    def commit(self, container_name, name, blob, request, access):
        with self.lock:
            container = self.container(container_name)
            existing = container.blobs.get(name)
            try:
                self.check_write_conditions(request, existing, access)
            except Failure:
                remove_quietly(blob.path)
                raise
            if existing is not None:
                remove_quietly(existing.path)
                blob.created = existing.created
            container.blobs[name] = blob
            return blob

    def put_blob(self, request, container_name, name, access):
        with self.lock:
            self.container(container_name)
        blob_type = request.header("x-ms-blob-type")
        if blob_type is None:
            raise blob_error(400, "MissingRequiredHeader", "An HTTP header that's mandatory for this request is not "
                                                           "specified.", [("HeaderName", "x-ms-blob-type")])
        if blob_type != "BlockBlob":
            raise blob_error(400, "InvalidHeaderValue", "The value for one of the HTTP headers is not in the correct "
                                                        "format (the stand-in implements block blobs only).",
                             [("HeaderName", "x-ms-blob-type"), ("HeaderValue", blob_type)])
        data = request.body
        self.checked_md5(request, "content-md5", data)
        stored_md5 = self.checked_md5(request, "x-ms-blob-content-md5", data) or hashlib.md5(data).digest()  # noqa: S324
        path = self.new_path()
        with open(path, "wb") as f:
            f.write(data)
        headers, metadata = self.blob_headers(request)
        blob = self.commit(container_name, name, Blob(name, path, len(data), stored_md5, headers, metadata,
                                                      blocks=[]), request, access)
        return Reply(201, b"", [("ETag", blob.etag), ("Last-Modified", http_date(blob.modified)),
                                ("Content-MD5", b64(hashlib.md5(data).digest())),  # noqa: S324
                                ("x-ms-request-server-encrypted", "true")])

    def put_block(self, request, container_name, name, query, access):
        block_id = query.get("blockid")
        if block_id is None:
            raise blob_error(400, "MissingRequiredQueryParameter", "A query parameter that's mandatory for this "
                                                                   "request is not specified.",
                             [("QueryParameterName", "blockid")])
        try:
            raw_id = base64.b64decode(block_id, validate=True)
        except (ValueError, binascii.Error):
            raw_id = b""
        if not raw_id or len(raw_id) > 64:
            raise blob_error(400, "InvalidQueryParameterValue", "Value for one of the query parameters specified in "
                                                                "the request URI is invalid.",
                             [("QueryParameterName", "blockid"), ("QueryParameterValue", block_id)])
        data = request.body
        self.checked_md5(request, "content-md5", data)
        path = self.new_path()
        with open(path, "wb") as f:
            f.write(data)
        with self.lock:
            container = self.container(container_name)
            blocks = container.blocks.setdefault(name, {})
            if blocks and any(len(other) != len(block_id) for other in blocks if other != block_id):
                remove_quietly(path)
                raise blob_error(400, "InvalidBlobOrBlock", "The specified blob or block content is invalid.")
            previous = blocks.get(block_id)
            if previous:
                remove_quietly(previous[0])
            blocks[block_id] = (path, len(data))
        return Reply(201, b"", [("Content-MD5", b64(hashlib.md5(data).digest())),  # noqa: S324
                                ("x-ms-request-server-encrypted", "true")])

    def put_block_list(self, request, container_name, name, access):
        if request.header("content-md5") is not None:
            self.checked_md5(request, "content-md5", request.body)
        try:
            root = ElementTree.fromstring(request.body)
        except ElementTree.ParseError:
            raise blob_error(400, "InvalidXmlDocument", "XML specified is not syntactically valid.")
        if root.tag != "BlockList" or any(child.tag not in ("Latest", "Committed", "Uncommitted") for child in root):
            raise blob_error(400, "InvalidXmlDocument", "XML specified is not syntactically valid.")
        with self.lock:
            container = self.container(container_name)
            uncommitted = dict(container.blocks.get(name, {}))
            existing = container.blobs.get(name)
            committed = {block_id: (existing.path, offset, size) for block_id, offset, size in existing.blocks} \
                if existing else {}
            sources = []
            for child in root:
                block_id = (child.text or "").strip()
                if child.tag in ("Latest", "Uncommitted") and block_id in uncommitted:
                    path, size = uncommitted[block_id]
                    sources.append((block_id, path, 0, size))
                elif child.tag in ("Latest", "Committed") and block_id in committed:
                    sources.append((block_id,) + committed[block_id])
                else:
                    raise blob_error(400, "InvalidBlockList", "The specified block list is invalid.")
            path, offset, blocks = self.new_path(), 0, []
            md5 = hashlib.md5()  # noqa: S324
            with open(path, "wb") as out:
                for block_id, source, start, size in sources:
                    with open(source, "rb") as f:
                        f.seek(start)
                        data = f.read(size)
                    out.write(data)
                    md5.update(data)
                    blocks.append((block_id, offset, size))
                    offset += size
        stored = request.header("x-ms-blob-content-md5")
        stored_md5 = None
        if stored is not None:
            try:
                stored_md5 = base64.b64decode(stored, validate=True)
            except (ValueError, binascii.Error):
                stored_md5 = b""
            if len(stored_md5) != 16:
                remove_quietly(path)
                raise blob_error(400, "InvalidMd5", "The MD5 value specified in the request is invalid. The MD5 value "
                                                    "must be 128 bits and Base64-encoded.")
        headers, metadata = self.blob_headers(request)
        blob = self.commit(container_name, name, Blob(name, path, offset, stored_md5, headers, metadata, blocks),
                           request, access)
        with self.lock:
            container = self.containers.get(container_name)
            for block_path, _ in (container.blocks.pop(name, {}) if container else {}).values():
                remove_quietly(block_path)
        return Reply(201, b"", [("ETag", blob.etag), ("Last-Modified", http_date(blob.modified)),
                                ("Content-MD5", b64(hashlib.md5(request.body).digest())),  # noqa: S324 - of the list
                                ("x-ms-request-server-encrypted", "true")])

    # Reads and deletes ------------------------------------------------------------------------------

    def find_blob(self, container_name, name):
        container = self.container(container_name)
        blob = container.blobs.get(name)
        if blob is None:
            raise blob_error(404, "BlobNotFound", "The specified blob does not exist.")
        return blob

    def get_blob(self, request, container_name, name, access):
        with self.lock:
            blob = self.find_blob(container_name, name)
            if_match, if_none_match = request.header("if-match"), request.header("if-none-match")
            if if_match is not None and not ({"*", blob.etag} & {t.strip() for t in if_match.split(",")}):
                raise blob_error(412, "ConditionNotMet", "The condition specified using HTTP conditional header(s) is "
                                                         "not met.")
            headers = [("ETag", blob.etag), ("Last-Modified", http_date(blob.modified))]
            if if_none_match is not None and ({"*", blob.etag} & {t.strip() for t in if_none_match.split(",")}):
                return Reply(304, b"", headers)
            handle = open(blob.path, "rb")
            size, md5 = blob.size, blob.content_md5
            properties = [("Content-Type", blob.content_type), ("Content-Encoding", blob.content_encoding),
                          ("Content-Language", blob.content_language), ("Cache-Control", blob.cache_control),
                          ("Content-Disposition", blob.content_disposition)]
            headers += [("Accept-Ranges", "bytes"), ("x-ms-blob-type", "BlockBlob"),
                        ("x-ms-creation-time", http_date(blob.created)), ("x-ms-lease-status", "unlocked"),
                        ("x-ms-lease-state", "available"), ("x-ms-server-encrypted", "true"),
                        ("x-ms-access-tier", "Hot"), ("x-ms-access-tier-inferred", "true")]
            headers += [(f"x-ms-meta-{k}", v) for k, v in blob.metadata.items()]
        overrides = {"rsct": "Content-Type", "rsce": "Content-Encoding", "rscl": "Content-Language",
                     "rscc": "Cache-Control", "rscd": "Content-Disposition"}
        for parameter, header in overrides.items():
            if access.sas and access.sas.get(parameter):
                properties = [(n, v) for n, v in properties if n != header] + [(header, access.sas[parameter])]
        headers += [(n, v) for n, v in properties if v]
        range_header = request.header("x-ms-range") or request.header("range")
        match = RANGE_PATTERN.match(range_header.strip()) if range_header else None
        if request.method == "HEAD" or not match:
            if md5:
                headers.append(("Content-MD5", b64(md5)))
            if request.method == "HEAD":
                handle.close()
                return Reply(200, b"", headers + [("Content-Length", str(size))])
            return Reply(200, b"", headers, stream=handle, length=size)
        first = int(match.group(1))
        last = int(match.group(2)) if match.group(2) else size - 1
        if first >= size or last < first:
            handle.close()
            raise blob_error(416, "InvalidRange", "The range specified is invalid for the current size of the resource.",
                             headers=[("Content-Range", f"bytes */{size}")])
        last = min(last, size - 1)
        handle.seek(first)
        headers.append(("Content-Range", f"bytes {first}-{last}/{size}"))
        if md5:
            headers.append(("x-ms-blob-content-md5", b64(md5)))
        return Reply(206, b"", headers, stream=handle, length=last - first + 1)

    def delete_blob(self, request, container_name, name, access):
        with self.lock:
            blob = self.find_blob(container_name, name)
            if_match = request.header("if-match")
            if if_match is not None and not ({"*", blob.etag} & {t.strip() for t in if_match.split(",")}):
                raise blob_error(412, "ConditionNotMet", "The condition specified using HTTP conditional header(s) is "
                                                         "not met.")
            del self.containers[container_name].blobs[name]
            remove_quietly(blob.path)
        return Reply(202, b"", [("x-ms-delete-type-permanent", "true")])


def ip_allowed(address, allowed):
    def number(text):
        return struct.unpack("!I", socket.inet_aton(text))[0]
    try:
        low, _, high = allowed.partition("-")
        return number(low) <= number(address) <= number(high or low)
    except OSError:
        return False


def request_base(request):
    scheme = "https" if (request.header("x-forwarded-proto") or "").lower() == "https" else "http"
    return f"{scheme}://{request.header('host') or '127.0.0.1'}"


# --- HTTP -----------------------------------------------------------------------------------------

class Request:
    def __init__(self, handler, body):
        self.method = handler.command.upper()
        target = handler.path.encode("latin-1").decode("utf-8", "surrogateescape")
        if "://" in target.split("?", 1)[0]:  # absolute-form request target
            target = "/" + target.split("://", 1)[1].partition("/")[2]
        self.raw_path, _, self.raw_query = target.partition("?")
        self.headers, self.body, self.client_ip = handler.headers, body, handler.client_address[0]

    def header(self, name):
        values = self.headers.get_all(name)
        return ",".join(values) if values else None

    def header_pairs(self):
        return list(self.headers.items())

    def q(self, name):
        for key, value in parse_query(self.raw_query):
            if key.lower() == name.lower():
                return value
        return None


class App:
    def __init__(self, identity, cloud, blobs, faults):
        self.identity, self.cloud, self.blobs, self.faults = identity, cloud, blobs, faults
        self.calls, self.calls_lock = [], threading.Lock()

    # Routing -----------------------------------------------------------------------------------------

    @staticmethod
    def service(path):
        if path == "/standin" or path.startswith("/standin/"):
            return "admin"
        if path == f"/{ACCOUNT}" or path.startswith(f"/{ACCOUNT}/"):
            return "blob"
        if path.startswith("/subscriptions"):
            return "arm"
        if path.startswith("/metadata/"):
            return "imds"
        return "entra"

    def route(self, request):
        path, base = request.raw_path, request_base(request)
        service = self.service(path)
        try:
            if service == "blob":
                return self.blobs.handle(request, base)
            if service == "arm":
                return self.arm(request, base)
            if path == "/metadata/identity/oauth2/token":
                return self.identity.imds(request)
            match = re.match(r"^/([^/]+)/oauth2/v2\.0/token/?$", path)
            if match:
                return self.identity.token(request, unquote(match.group(1)), base)
            match = re.match(r"^/([^/]+)/v2\.0/\.well-known/openid-configuration$", path)
            if match and request.method == "GET":
                return self.identity.openid_configuration(request, unquote(match.group(1)), base)
            return json_reply(404, {"error": {"code": "NotFound", "message": f"Nothing is served at {path}."}})
        except Failure as failure:
            return failure.reply

    def arm(self, request, base):
        correlation = request.header("x-ms-correlation-request-id") or new_id()
        try:
            self.check_arm_token(request, base)
            reply = self.cloud.handle(request, base)
        except Failure as failure:
            reply = failure.reply
        reply.headers += [("x-ms-request-id", new_id()), ("x-ms-correlation-request-id", correlation)]
        return reply

    def check_arm_token(self, request, base):
        def refuse(code, message, description):
            challenge = (f'Bearer authorization_uri="{base}/{self.identity.tenant}", error="invalid_token", '
                         f'error_description="{description}"')
            return arm_error(401, code, message, headers=[("WWW-Authenticate", challenge)])
        authorization = request.header("authorization")
        if not authorization:
            raise refuse("AuthenticationFailed", "Authentication failed. The 'Authorization' header is missing.",
                         "The authentication failed because of missing 'Authorization' header.")
        if not authorization.lower().startswith("bearer ") or not authorization[7:].strip():
            raise refuse("AuthenticationFailedInvalidHeader",
                         "Authentication failed. The 'Authorization' header is provided in an invalid format.",
                         "The authentication failed because of invalid 'Authorization' header.")
        token = self.identity.lookup(authorization[7:].strip())
        if token is None:
            raise refuse("InvalidAuthenticationToken", "The access token is invalid.", "The access token is invalid.")
        if token.audience != MANAGEMENT:
            raise refuse("InvalidAuthenticationTokenAudience",
                         "The access token has been obtained for wrong audience or resource 'https://storage.azure.com'. "
                         "It should exactly match with one of the allowed audiences "
                         "'https://management.core.windows.net/','https://management.core.windows.net',"
                         "'https://management.azure.com/','https://management.azure.com'.",
                         "The access token has been obtained from wrong audience or resource.")
        if token.expires <= time.time():
            expired = datetime.datetime.fromtimestamp(token.expires, datetime.timezone.utc)
            raise refuse("ExpiredAuthenticationToken",
                         f"The access token expiry UTC time '{expired:%m/%d/%Y %I:%M:%S %p}' is earlier than current "
                         f"UTC time '{utcnow():%m/%d/%Y %I:%M:%S %p}'.", "The access token is expired.")

    # Faults ------------------------------------------------------------------------------------------

    @staticmethod
    def fault_reply(service, fault):
        status = int(fault.get("status", 503))
        headers = [("Retry-After", str(fault["retry_after"]))] if "retry_after" in fault else []
        message = "snapfleet-standin: injected by the control file."
        if service == "blob":
            code = fault.get("code", {500: "InternalError", 503: "ServerBusy", 429: "TooManyRequests"}.get(
                status, "InternalError"))
            return blob_error_reply(status, code, message, headers=headers + [("x-ms-version", DEFAULT_BLOB_VERSION)])
        if service in ("entra", "imds"):
            code = fault.get("code", "temporarily_unavailable")
            return json_reply(status, {"error": code, "error_description": f"AADSTS90033: {message}",
                                       "error_codes": [90033]}, headers)
        code = fault.get("code", {429: "TooManyRequests", 500: "InternalServerError", 502: "BadGateway",
                                  503: "ServiceUnavailable", 504: "GatewayTimeout"}.get(status, "InternalServerError"))
        return json_reply(status, {"error": {"code": code, "message": message}},
                          headers + [("x-ms-request-id", new_id())])

    # Serving -----------------------------------------------------------------------------------------

    def serve(self, handler, request):
        service = self.service(request.raw_path)
        if service == "admin":
            reply = self.admin(request)
            self.send(handler, request, reply)
            log(request.method, request.raw_path, str(reply.status))
            return
        fault = self.faults.take(request.method, request.raw_path)
        if fault and fault.get("delay_seconds"):
            time.sleep(float(fault["delay_seconds"]))
        acting = not fault or fault.get("after_acting") or not (fault.get("reset_connection") or "status" in fault)
        reply = self.safe_route(request) if acting else None
        if fault and (fault.get("reset_connection") or "status" in fault):
            if reply is not None and reply.stream is not None:
                reply.stream.close()
            label = "after acting, " if fault.get("after_acting") else ""
            if fault.get("reset_connection"):
                self.record(request, None, "reset_connection")
                log(request.method, request.raw_path, f"reset (fault, {label}connection dropped)")
                reset_connection(handler)
                return
            reply = self.fault_reply(service, fault)
            self.record(request, reply.status, f"{label}status")
            self.send(handler, request, reply)
            log(request.method, request.raw_path, f"{reply.status} (fault{', after acting' if label else ''})")
            return
        self.record(request, reply.status)
        self.send(handler, request, reply)
        log(request.method, request.raw_path, str(reply.status))

    def safe_route(self, request):
        try:
            return self.route(request)
        except Exception as error:  # noqa: BLE001 - a stand-in bug answers 500 and is logged, never hangs
            import traceback
            traceback.print_exc(file=sys.stderr)
            return json_reply(500, {"error": {"code": "InternalServerError",
                                              "message": f"snapfleet-standin failed: {type(error).__name__}: {error}"}})

    def record(self, request, status, fault=None):
        entry = {"method": request.method, "path": request.raw_path, "status": status}
        if fault:
            entry["fault"] = fault
        with self.calls_lock:
            self.calls.append(entry)

    @staticmethod
    def send(handler, request, reply):
        try:
            handler.send_response(reply.status)
            explicit_length = None
            for name, value in reply.headers:
                lowered = name.lower()
                if lowered == "date":
                    continue
                if lowered == "content-length":
                    explicit_length = value
                    continue
                handler.send_header(name, value)
            if reply.stream is not None:
                length = reply.length
            elif explicit_length is not None and not reply.body:
                length = int(explicit_length)
            else:
                length = len(reply.body)
            handler.send_header("Content-Length", str(length))
            handler.end_headers()
            if request.method != "HEAD" and reply.status not in (204, 304):
                if reply.stream is not None:
                    remaining = length
                    while remaining > 0:
                        chunk = reply.stream.read(min(remaining, 1 << 20))
                        if not chunk:
                            break
                        handler.wfile.write(chunk)
                        remaining -= len(chunk)
                else:
                    handler.wfile.write(reply.body)
            handler.wfile.flush()
        except (BrokenPipeError, ConnectionResetError):
            handler.close_connection = True
        finally:
            if reply.stream is not None:
                reply.stream.close()

    # Admin ---------------------------------------------------------------------------------------------

    def admin(self, request):
        path = request.raw_path.rstrip("/")
        try:
            body = json.loads(request.body.decode() or "{}") if request.method == "POST" else {}
            if not isinstance(body, dict):
                raise ValueError("the body must be a JSON object")
            if request.method == "POST" and path == "/standin/reset":
                self.cloud.reset()
                self.blobs.reset()
                self.identity.reset_counts()
                with self.calls_lock:
                    self.calls = []
                return json_reply(200, {"reset": True})
            if request.method == "POST" and path == "/standin/containers":
                name = body.get("name")
                if not isinstance(name, str) or not CONTAINER_NAME.match(name):
                    raise ValueError(f"bad container name {name!r}")
                with self.blobs.lock:
                    exists = name in self.blobs.containers
                    if not exists:
                        self.blobs.containers[name] = Container(name)
                return json_reply(200 if exists else 201, {"name": name, "existed": exists})
            if request.method == "POST" and path == "/standin/vms":
                return json_reply(201, self.cloud.admin_vm(body))
            if request.method == "POST" and path == "/standin/disks":
                disk = self.cloud.admin_disk(body)
                with self.cloud.lock:
                    return json_reply(201, self.cloud.disk_json(disk, DISK_API_VERSIONS[-1]))
            match = re.match(r"^/standin/disks/([^/]+)/behaviou?r$", path)
            if request.method == "POST" and match:
                return json_reply(200, self.cloud.set_behaviour(unquote(match.group(1)), body))
            if request.method == "GET" and path == "/standin/calls":
                with self.calls_lock:
                    return json_reply(200, {"calls": list(self.calls)})
            if request.method == "GET" and path == "/standin/tokens/count":
                with self.identity.lock:
                    return json_reply(200, {"count": self.identity.issued, "by_audience": dict(self.identity.by_audience)})
            return json_reply(404, {"error": f"no admin route {request.method} {path}"})
        except (ValueError, KeyError, TypeError, RuntimeError, OSError) as error:
            return json_reply(400, {"error": str(error)})


def reset_connection(handler):
    """Drops the client's connection with a TCP RST, unanswered."""
    try:
        handler.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        os.close(handler.connection.detach())
    except OSError:
        pass
    handler.close_connection = True
    handler.wfile = io.BytesIO()


def log(method, path, verdict):
    print(f"{method} {path} -> {verdict}", file=sys.stderr, flush=True)


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "snapfleet-azure-standin/1"

    def version_string(self):
        return self.server_version

    def log_message(self, format, *args):  # noqa: A002 - our own line per request instead
        pass

    def read_body(self):
        if "chunked" in (self.headers.get("Transfer-Encoding") or "").lower():
            chunks = []
            while True:
                size_line = self.rfile.readline(1024)
                size = int(size_line.split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline(1024) not in (b"\r\n", b"\n", b""):
                        pass
                    return b"".join(chunks)
                chunks.append(self.rfile.read(size))
                self.rfile.readline(1024)
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length > 0 else b""

    def handle_request(self):
        try:
            body = self.read_body()
        except (ValueError, OSError):
            self.close_connection = True
            return
        self.server.app.serve(self, Request(self, body))

    do_GET = do_PUT = do_POST = do_DELETE = do_HEAD = do_PATCH = do_OPTIONS = handle_request


class Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 128


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--port-file", required=True, help="written with the port once serving")
    parser.add_argument("--state-dir", required=True, help="azure.json, the certificate, blobs and image copies")
    parser.add_argument("--port", type=int, default=0, help="default: a free port")
    parser.add_argument("--control-file", help="JSON fault injection, see the module doc")
    parser.add_argument("--token-lifetime", type=int, default=3600, help="seconds (default 3600)")
    parser.add_argument("--attach-devices", action="store_true",
                        help="put attached disks' images on loop devices behind /dev/disk/azure/scsi1/lun<N> (root)")
    parser.add_argument("--page-size", type=int, default=100, help="ARM list pages and List Blobs maxresults (100)")
    args = parser.parse_args()
    if args.attach_devices and os.geteuid() != 0:
        parser.error("--attach-devices needs root (losetup, /dev)")
    if args.page_size < 1 or args.token_lifetime < 1:
        parser.error("--page-size and --token-lifetime must be positive")

    state_dir = os.path.abspath(args.state_dir)
    os.makedirs(state_dir, exist_ok=True)
    identity = Identity(state_dir, args.token_lifetime)
    devices = Devices(args.attach_devices)
    cloud = Cloud(identity, state_dir, args.page_size, devices)
    storage_key = b64(secrets.token_bytes(64))
    blobs = BlobService(identity, state_dir, storage_key, args.page_size)
    server = Server(("127.0.0.1", args.port), Handler)
    server.app = App(identity, cloud, blobs, Faults(args.control_file))
    base = f"http://127.0.0.1:{server.server_port}"
    settings = {
        "tenant_id": identity.tenant, "client_id": identity.secret_app.client_id,
        "client_secret": identity.secret_app.secret, "certificate_client_id": identity.certificate_app.client_id,
        "certificate_path": identity.certificate_path, "subscription_id": cloud.subscription,
        "resource_group": RESOURCE_GROUP, "location": LOCATION, "storage_account": ACCOUNT,
        "storage_key": storage_key, "authority": base, "management": base, "blob_endpoint": f"{base}/{ACCOUNT}",
        "imds": base}
    write_atomically(os.path.join(state_dir, "azure.json"), json.dumps(settings, indent=2).encode(), mode=0o600)
    write_atomically(args.port_file, str(server.server_port).encode())
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    try:
        server.serve_forever()
    except (KeyboardInterrupt, SystemExit):
        pass
    finally:
        server.server_close()
        devices.cleanup()


if __name__ == "__main__":
    main()
