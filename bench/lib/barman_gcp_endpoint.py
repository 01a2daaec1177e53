"""Loaded by Python at start (as sitecustomize, through PYTHONPATH) for barman-cloud runs in the
benchmarks: points Google's clients at the GCP stand-in, as barman-cloud has no endpoint option
for Google Cloud. SNAPFLEET_GCP_ENDPOINT (http://127.0.0.1:PORT) is the stand-in; credentials
stay those of GOOGLE_APPLICATION_CREDENTIALS (the stand-in's service-account key)."""

import os

ENDPOINT = os.environ.get("SNAPFLEET_GCP_ENDPOINT")


def _with_endpoint(cls):
    original = cls.__init__

    def __init__(self, *args, **kwargs):
        options = kwargs.get("client_options") or {}
        if isinstance(options, dict):
            kwargs["client_options"] = dict(options, api_endpoint=ENDPOINT)
        original(self, *args, **kwargs)

    cls.__init__ = __init__


if ENDPOINT:
    from google.cloud import compute_v1, storage

    _with_endpoint(storage.Client)
    for _name in ("SnapshotsClient", "DisksClient", "InstancesClient", "GlobalOperationsClient", "ZoneOperationsClient"):
        _with_endpoint(getattr(compute_v1, _name))
