#!/usr/bin/env python3
"""Self-test of ec2_fault_proxy.py: starts snapfleet_moto.py with signatures enforced
(INITIAL_NO_AUTH_ACTION_COUNT=4, the IAM key made through the proxy) and the proxy in front of
it, then checks with boto3 (no retries) that requests pass unchanged and that each fault does
what the proxy's doc says: the cloud acts but its answer is lost (503, or a TCP reset), or it
never sees the request, or answers late.

    python3 scripts/lib/test_ec2_fault_proxy.py

Prints one line per check; exits 0 when all pass, 1 with the failure (and both logs) otherwise.
Takes about 15 s.
"""

import errno
import http.client
import json
import os
import subprocess
import sys
import tempfile
import threading
import time

import boto3
from botocore.config import Config
from botocore.exceptions import ClientError, HTTPClientError
from botocore.exceptions import ConnectionError as BotoConnectionError

from selfcheck import CheckFailed, check, set_faults, start_proxy
from test_snapfleet_moto import REGION, create_access_key, start_server, volume

PROXY = os.path.join(os.path.dirname(os.path.abspath(__file__)), "ec2_fault_proxy.py")


# --- The proxy's log ---------------------------------------------------------------------


def log_lines(log):
    """The proxy's log so far, one entry per line."""
    with open(log) as f:
        return f.read().splitlines()


# --- Clients -------------------------------------------------------------------------------


def client(service, endpoint, key, secret):
    """A boto3 client that tries each call exactly once.

    total_max_attempts, not max_attempts: in botocore's legacy mode `max_attempts: 1` still
    allows one retry, which would hide a lost answer behind a second (successful) attempt."""
    config = Config(retries={"total_max_attempts": 1}, signature_version="s3v4" if service == "s3" else None)
    return boto3.client(
        service, endpoint_url=endpoint, region_name=REGION, aws_access_key_id=key, aws_secret_access_key=secret, config=config
    )


def outcome(call, *args, **kwargs):
    """("ok", None) or ("error", (HTTP status, code)) or ("connection", exception name) for one call."""
    try:
        call(*args, **kwargs)
        return "ok", None
    except ClientError as error:
        return "error", (error.response["ResponseMetadata"].get("HTTPStatusCode"), error.response["Error"].get("Code"))
    except (HTTPClientError, BotoConnectionError) as error:
        return "connection", type(error).__name__


def snapshots_of(ec2, volume_id):
    """The ids of the volume's snapshots, as DescribeSnapshots reports them."""
    found = ec2.describe_snapshots(Filters=[{"Name": "volume-id", "Values": [volume_id]}])["Snapshots"]
    return [s["SnapshotId"] for s in found]


# --- Checks --------------------------------------------------------------------------------


def check_plain(ec2, s3, log):
    vol = volume(ec2)
    snap = ec2.create_snapshot(VolumeId=vol)
    check(snap["State"] == "completed" and snapshots_of(ec2, vol) == [snap["SnapshotId"]], "EC2 through the proxy: CreateSnapshot, DescribeSnapshots")
    s3.create_bucket(Bucket="proxied")
    s3.put_object(Bucket="proxied", Key="wals/seg-1", Body=b"segment-1", ContentType="application/octet-stream")
    body = s3.get_object(Bucket="proxied", Key="wals/seg-1")["Body"].read()
    check(body == b"segment-1", "S3 through the same proxy: create_bucket, put_object, get_object", body)
    size = s3.head_object(Bucket="proxied", Key="wals/seg-1")["ContentLength"]
    check(size == 9, "S3 head_object: the upstream's Content-Length relayed without a body", size)
    lines = log_lines(log)
    check("CreateSnapshot/POST / -> forwarded 200" in lines, "log: CreateSnapshot/POST / -> forwarded 200", lines[-8:])
    check("PUT /proxied/wals/seg-1 -> forwarded 200" in lines, "log: PUT /proxied/wals/seg-1 -> forwarded 200 (no Action)", lines[-8:])


def check_wrong_secret(endpoint, key):
    result = outcome(client("ec2", endpoint, key, "not-the-secret").describe_snapshots, OwnerIds=["self"])
    check(result == ("error", (401, "AuthFailure")), f"EC2 with a wrong secret still refused through the proxy: {result}")
    result = outcome(client("s3", endpoint, key, "not-the-secret").list_objects_v2, Bucket="proxied")
    check(result == ("error", (403, "SignatureDoesNotMatch")), f"S3 with a wrong secret still refused: {result}")


def check_answer_lost_status(ec2, control, log):
    vol = volume(ec2)
    set_faults(control, [{"action": "CreateSnapshot", "after_forward": "status", "status": 503, "count": 1}])
    result = outcome(ec2.create_snapshot, VolumeId=vol)
    check(result == ("error", (503, "Unavailable")), f"after_forward 503: the client gets {result}")
    made = snapshots_of(ec2, vol)
    check(len(made) == 1, f"after_forward 503: yet the snapshot exists ({made})")
    check(outcome(ec2.create_snapshot, VolumeId=vol)[0] == "ok", "after_forward 503 count 1: the next CreateSnapshot passes")
    check(len(snapshots_of(ec2, vol)) == 2, "after_forward 503: two snapshots in all")
    expected = "CreateSnapshot/POST / -> fault after_forward: forwarded 200, answered 503 Unavailable"
    check(expected in log_lines(log), f"log: {expected}")


def check_answer_lost_reset(ec2, endpoint, control):
    vol = volume(ec2)
    set_faults(control, [{"action": "CreateSnapshot", "after_forward": "reset", "count": 1}])
    result = outcome(ec2.create_snapshot, VolumeId=vol)
    check(result[0] == "connection", f"after_forward reset: the client sees a connection error ({result[1]})", result)
    made = snapshots_of(ec2, vol)
    check(len(made) == 1, f"after_forward reset: yet the snapshot exists ({made})")
    check(outcome(ec2.create_snapshot, VolumeId=vol)[0] == "ok", "after_forward reset count 1: the next CreateSnapshot passes")

    # A reset, not a plain close: the client's read fails with ECONNRESET rather than seeing EOF.
    set_faults(control, [{"action": "DescribeRegions", "after_forward": "reset", "count": 1}])
    host, port = endpoint.removeprefix("http://").split(":")
    connection = http.client.HTTPConnection(host, int(port), timeout=10)
    try:
        connection.request("POST", "/", body="Action=DescribeRegions&Version=2016-11-15",
                           headers={"Content-Type": "application/x-www-form-urlencoded"})
        connection.getresponse().read()
        failure = None
    except OSError as error:
        failure = error
    finally:
        connection.close()
    check(isinstance(failure, ConnectionResetError) and failure.errno == errno.ECONNRESET,
          f"after_forward reset: a TCP RST ({type(failure).__name__})", failure)


def check_not_forwarded(ec2, control):
    vol = volume(ec2)
    set_faults(control, [{"action": "CreateSnapshot", "status": 500, "count": 2}])
    results = [outcome(ec2.create_snapshot, VolumeId=vol) for _ in range(3)]
    check(results[:2] == [("error", (500, "InternalError"))] * 2 and results[2][0] == "ok",
          "status 500 count 2 without after_forward: InternalError twice, then the count has run out", results)
    made = snapshots_of(ec2, vol)
    check(len(made) == 1, f"status without after_forward: moto never saw the failed calls (one snapshot: {made})")
    set_faults(control, [{"action": "CreateSnapshot", "status": 503, "code": "ServiceUnavailable", "count": 1}])
    result = outcome(ec2.create_snapshot, VolumeId=vol)
    check(result == ("error", (503, "ServiceUnavailable")), f"\"code\" overrides the error code: {result}")


def check_matching(ec2, s3, control):
    set_faults(control, [{"method": "GET", "status": 503}, {"action": "DeleteSnapshot", "status": 500}])
    result = outcome(s3.get_object, Bucket="proxied", Key="wals/seg-1")
    check(result == ("error", (503, "ServiceUnavailable")), f"method GET: an S3 GET gets S3's error document ({result})")
    check(outcome(s3.put_object, Bucket="proxied", Key="wals/seg-2", Body=b"x")[0] == "ok", "method GET: a PUT passes")
    check(outcome(ec2.describe_volumes)[0] == "ok", "method GET / action DeleteSnapshot: an EC2 POST of another action passes")
    result = outcome(ec2.delete_snapshot, SnapshotId="snap-00000000000000000")
    check(result == ("error", (500, "InternalError")), f"action DeleteSnapshot: matched ({result})")
    set_faults(control, [{"action": "CreateSnapshot", "after_forward": "rst"}])
    result = outcome(ec2.create_snapshot, VolumeId=volume(ec2))
    check(result == ("error", (500, "InvalidFault")), f"a misspelt after_forward fails loudly: {result}")


def check_delay_in_parallel(ec2, control):
    vol = volume(ec2)
    set_faults(control, [{"action": "CreateSnapshot", "delay_seconds": 2, "count": 1}])
    result = {}

    def create():
        started = time.monotonic()
        result["outcome"] = outcome(ec2.create_snapshot, VolumeId=vol)
        result["seconds"] = time.monotonic() - started

    worker = threading.Thread(target=create)
    worker.start()
    time.sleep(0.5)
    started = time.monotonic()
    ec2.describe_instances()
    answered = time.monotonic() - started
    check(answered < 1 and worker.is_alive(), f"delay 2 s: another request answered in {answered:.2f} s meanwhile")
    worker.join(10)
    check(result.get("outcome", ("?",))[0] == "ok" and result["seconds"] >= 2,
          f"delay 2 s: CreateSnapshot passed after {result.get('seconds', 0):.2f} s", result)


def check_control_file(ec2, control):
    set_faults(control, [{"action": "DescribeVolumes", "status": 503}])
    check(outcome(ec2.describe_volumes)[1] == (503, "Unavailable"), "control file: DescribeVolumes fault applies")
    set_faults(control, [{"action": "DescribeInstances", "status": 503, "count": 1}])
    results = [outcome(ec2.describe_volumes)[0], outcome(ec2.describe_instances)[1], outcome(ec2.describe_instances)[0]]
    check(results == ["ok", (503, "Unavailable"), "ok"], f"control file rewritten: the new fault replaces the old ({results})")
    set_faults(control, [{"action": "DescribeInstances", "status": 503, "count": 1}])
    check(outcome(ec2.describe_instances)[1] == (503, "Unavailable"), "control file rewritten with the same faults: counts reset")
    set_faults(control, [{"action": "DescribeInstances", "status": 503}])
    check(outcome(ec2.describe_instances)[1] == (503, "Unavailable"), "control file: an unlimited fault applies")
    os.remove(control)
    check(outcome(ec2.describe_instances)[0] == "ok", "control file removed: no faults")


def main():
    """Starts moto and the proxy, runs the checks, prints the summary line."""
    started = time.time()
    with tempfile.TemporaryDirectory(prefix="ec2-fault-proxy-test-") as directory:
        try:
            moto_process, upstream, moto_log, _ = start_server(directory, authenticated=True)
        except CheckFailed as failure:
            print(f"FAILED - {failure}", file=sys.stderr)
            return 1
        proxy_process, log = None, None
        try:
            proxy_process, endpoint, control, log = start_proxy(PROXY, directory, "--upstream", upstream)
            key, secret = create_access_key(endpoint)  # moto's four unauthenticated calls, proxied
            check(sum(" -> forwarded 200" in line for line in log_lines(log)) == 4, "IAM bootstrap through the proxy")
            ec2, s3 = client("ec2", endpoint, key, secret), client("s3", endpoint, key, secret)
            check_plain(ec2, s3, log)
            check_wrong_secret(endpoint, key)
            check_answer_lost_status(ec2, control, log)
            check_answer_lost_reset(ec2, endpoint, control)
            check_not_forwarded(ec2, control)
            check_matching(ec2, s3, control)
            check_delay_in_parallel(ec2, control)
            check_control_file(ec2, control)
        except Exception as error:  # noqa: BLE001 - any failure ends the test with the logs
            print(f"FAILED - {type(error).__name__}: {error}", file=sys.stderr)
            if log:
                print(f"--- proxy log ---\n{open(log).read()[-3000:]}", file=sys.stderr)
            print(f"--- moto log ---\n{open(moto_log).read()[-3000:]}", file=sys.stderr)
            return 1
        finally:
            for process in (proxy_process, moto_process):
                if process:
                    process.terminate()
                    process.wait(10)
    print(f"# all checks passed in {time.time() - started:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
