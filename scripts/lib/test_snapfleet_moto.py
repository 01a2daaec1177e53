#!/usr/bin/env python3
"""Self-test of snapfleet_moto.py: starts it twice on a free port (with signatures enforced
through INITIAL_NO_AUTH_ACTION_COUNT=4, then without) and checks every extension with boto3.

    python3 scripts/lib/test_snapfleet_moto.py

Prints one line per check; exits 0 when all pass, 1 with the failure otherwise.
"""

import datetime
import json
import os
import socket
import subprocess
import sys
import tempfile
import threading
import time

import boto3
from botocore.config import Config
from botocore.exceptions import ClientError

from selfcheck import CheckFailed, check

LAUNCHER = os.path.join(os.path.dirname(os.path.abspath(__file__)), "snapfleet_moto.py")
REGION = "us-east-1"




def error_code(call, *args, **kwargs):
    """The EC2 error code `call` fails with (None if it succeeds), and its message."""
    try:
        call(*args, **kwargs)
    except ClientError as error:
        return error.response["Error"]["Code"], error.response["Error"].get("Message", "")
    return None, ""


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server(directory, authenticated):
    """The launcher as a subprocess; returns (process, endpoint, log path, images dir)."""
    port = free_port()
    images = os.path.join(directory, "images")
    log = os.path.join(directory, "moto.log")
    env = dict(os.environ, MOTO_EC2_LOAD_DEFAULT_AMIS="false", SNAPFLEET_MOTO_IMAGES=images)
    env.pop("INITIAL_NO_AUTH_ACTION_COUNT", None)
    if authenticated:
        env["INITIAL_NO_AUTH_ACTION_COUNT"] = "4"
    with open(log, "w") as out:
        process = subprocess.Popen(
            [sys.executable, LAUNCHER, "-H", "127.0.0.1", "-p", str(port)], env=env, stdout=out, stderr=subprocess.STDOUT
        )
    deadline = time.time() + 20
    while time.time() < deadline:
        if process.poll() is not None:
            raise CheckFailed(f"the launcher exited ({process.returncode}): {open(log).read()[-2000:]}")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            return process, f"http://127.0.0.1:{port}", log, images
        except OSError:
            time.sleep(0.1)
    process.kill()
    raise CheckFailed(f"the launcher did not listen within 20 s: {open(log).read()[-2000:]}")


def client(service, endpoint, key, secret):
    # No client-side validation, so that the server's own validation is tested.
    config = Config(parameter_validation=False, retries={"max_attempts": 1})
    return boto3.client(
        service, endpoint_url=endpoint, region_name=REGION, aws_access_key_id=key, aws_secret_access_key=secret, config=config
    )


def create_access_key(endpoint):
    """The four unauthenticated calls, as Tests/TestSupport/MotoServer.swift makes them."""
    iam = client("iam", endpoint, "bootstrap", "bootstrap")
    iam.create_user(UserName="snapfleet")
    document = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}
    policy = iam.create_policy(PolicyName="all", PolicyDocument=json.dumps(document))
    iam.attach_user_policy(UserName="snapfleet", PolicyArn=policy["Policy"]["Arn"])
    key = iam.create_access_key(UserName="snapfleet")["AccessKey"]
    return key["AccessKeyId"], key["SecretAccessKey"]


def volume(ec2, **tags):
    """A 1 GiB volume with the given snapfleet-test: tags (keyword `pending` → snapshot-pending-seconds…)."""
    names = {"pending": "snapshot-pending-seconds", "outcome": "snapshot-outcome", "delay": "create-delay-seconds", "image": "image"}
    spec = [{"Key": "snapfleet-test:" + names[k], "Value": str(v)} for k, v in tags.items()]
    kwargs = {"TagSpecifications": [{"ResourceType": "volume", "Tags": spec}]} if spec else {}
    return ec2.create_volume(AvailabilityZone=REGION + "a", Size=1, **kwargs)["VolumeId"]


def snapshot(ec2, snapshot_id):
    return ec2.describe_snapshots(SnapshotIds=[snapshot_id])["Snapshots"][0]


# --- The checks ----------------------------------------------------------------------------


def check_plain(ec2):
    snap = ec2.create_snapshot(VolumeId=volume(ec2))
    check(snap["State"] == "completed" and snap["Progress"] == "100%", "untagged volume: snapshot completed at once", snap)
    described = snapshot(ec2, snap["SnapshotId"])
    check(described["State"] == "completed" and "StateMessage" not in described, "untagged volume: described as completed")
    code, _ = error_code(ec2.delete_snapshot, SnapshotId=snap["SnapshotId"])
    check(code is None, "untagged volume: snapshot deleted")


def check_pending(ec2):
    """Returns a function finishing the check after the pending time (run while other checks wait)."""
    vol = volume(ec2, pending=2)
    snap_id = ec2.create_snapshot(VolumeId=vol)["SnapshotId"]
    first = snapshot(ec2, snap_id)
    check(first["State"] == "pending" and first["Progress"] != "100%", f"pending-seconds=2: pending at first ({first['Progress']})", first)
    pending = ec2.describe_snapshots(Filters=[{"Name": "status", "Values": ["pending"]}])["Snapshots"]
    check(snap_id in [s["SnapshotId"] for s in pending], "pending-seconds=2: found by the status=pending filter")
    time.sleep(1)
    second = snapshot(ec2, snap_id)
    check(
        second["State"] == "pending" and int(first["Progress"][:-1]) < int(second["Progress"][:-1]) <= 99,
        f"pending-seconds=2: progress grows ({first['Progress']} -> {second['Progress']})",
        second,
    )

    def finish():
        done = snapshot(ec2, snap_id)
        check(done["State"] == "completed" and done["Progress"] == "100%", "pending-seconds=2: completed afterwards", done)

    return finish


def check_error(ec2):
    snap = ec2.create_snapshot(VolumeId=volume(ec2, outcome="error"))
    described = snapshot(ec2, snap["SnapshotId"])
    check(
        snap["State"] == "error" and described["State"] == "error" and "snapfleet-test" in described.get("StateMessage", ""),
        f"outcome=error: error at once with StateMessage \"{described.get('StateMessage')}\"",
        described,
    )
    snap_id = ec2.create_snapshot(VolumeId=volume(ec2, outcome="error", pending=1))["SnapshotId"]
    check(snapshot(ec2, snap_id)["State"] == "pending", "outcome=error with pending-seconds=1: pending first")

    def finish():
        check(snapshot(ec2, snap_id)["State"] == "error", "outcome=error with pending-seconds=1: error afterwards")

    return finish


def check_error_at_create(ec2):
    snap = ec2.create_snapshot(VolumeId=volume(ec2, outcome="error-at-create", pending=2))
    described = snapshot(ec2, snap["SnapshotId"])
    check(
        snap["State"] == "error" and described["State"] == "error" and "snapfleet-test" in described.get("StateMessage", ""),
        "outcome=error-at-create with pending-seconds=2: error already in CreateSnapshot's answer, with StateMessage",
        (snap, described),
    )
    check(described["Progress"] == "0%", f"outcome=error-at-create: Progress {described['Progress']}", described)


def check_recovering(ec2):
    """Returns a function finishing the check after the pending time."""
    snap = ec2.create_snapshot(VolumeId=volume(ec2, outcome="recovering", pending=1))
    described = snapshot(ec2, snap["SnapshotId"])
    check(
        snap["State"] == "recovering" and described["State"] == "recovering" and "StateMessage" not in described,
        "outcome=recovering with pending-seconds=1: recovering (not pending) at first",
        described,
    )
    found = ec2.describe_snapshots(Filters=[{"Name": "status", "Values": ["recovering"]}])["Snapshots"]
    check(snap["SnapshotId"] in [s["SnapshotId"] for s in found], "outcome=recovering: found by the status=recovering filter")

    def finish():
        done = snapshot(ec2, snap["SnapshotId"])
        check(done["State"] == "completed" and done["Progress"] == "100%", "outcome=recovering: completed afterwards", done)

    return finish


def check_recoverable(ec2):
    """Returns a function finishing the check after the pending time."""
    snap = ec2.create_snapshot(VolumeId=volume(ec2, outcome="recoverable"))
    described = snapshot(ec2, snap["SnapshotId"])
    check(
        snap["State"] == "recoverable" and described["State"] == "recoverable" and "StateMessage" not in described,
        "outcome=recoverable: recoverable at once",
        described,
    )
    snap_id = ec2.create_snapshot(VolumeId=volume(ec2, outcome="recoverable", pending=1))["SnapshotId"]
    check(snapshot(ec2, snap_id)["State"] == "pending", "outcome=recoverable with pending-seconds=1: pending first")
    code, message = error_code(ec2.create_snapshot, VolumeId=volume(ec2, outcome="lost"))
    check(code == "InvalidParameterValue", f"outcome=lost (unknown): CreateSnapshot refused ({code}: {message})")

    def finish():
        check(snapshot(ec2, snap_id)["State"] == "recoverable", "outcome=recoverable with pending-seconds=1: recoverable afterwards")

    return finish


def check_create_delay(ec2):
    vol = volume(ec2, delay=3)
    result = {}

    def create():
        started = time.time()
        result["id"] = ec2.create_snapshot(VolumeId=vol)["SnapshotId"]
        result["seconds"] = time.time() - started

    worker = threading.Thread(target=create)
    worker.start()
    time.sleep(0.5)
    started = time.time()
    ec2.describe_instances()
    answered = time.time() - started
    check(answered < 1 and worker.is_alive(), f"create-delay=3: DescribeInstances answered in {answered:.2f} s meanwhile")
    during = ec2.describe_snapshots(Filters=[{"Name": "volume-id", "Values": [vol]}])["Snapshots"]
    check(not during, "create-delay=3: no snapshot visible before CreateSnapshot returns", during)
    worker.join(10)
    check(result.get("seconds", 0) >= 3, f"create-delay=3: CreateSnapshot took {result.get('seconds', 0):.2f} s")
    check(snapshot(ec2, result["id"])["State"] == "completed", "create-delay=3: the snapshot exists afterwards")


def check_image(ec2, images, directory):
    source = os.path.join(directory, "disk.img")
    size = 64 << 20
    with open(source, "wb") as f:
        f.truncate(size)
        f.seek(1 << 20)
        f.write(b"OLD content")
    snap_id = ec2.create_snapshot(VolumeId=volume(ec2, image=source))["SnapshotId"]
    snap_image = os.path.join(images, f"{snap_id}.img")
    check(os.path.exists(snap_image), f"image: snapshot image {snap_id}.img written")
    stat = os.stat(snap_image)
    check(stat.st_size == size and stat.st_blocks * 512 < size // 4, f"image: copy is sparse ({stat.st_blocks * 512} bytes used)")
    with open(source, "r+b") as f:
        f.seek(1 << 20)
        f.write(b"NEW content")
    vol = ec2.create_volume(AvailabilityZone=REGION + "a", SnapshotId=snap_id)
    tags = {t["Key"]: t["Value"] for t in ec2.describe_volumes(VolumeIds=[vol["VolumeId"]])["Volumes"][0].get("Tags", [])}
    path = tags.get("snapfleet-test:image", "")
    check(path == os.path.join(images, f"{vol['VolumeId']}.img"), f"image: volume from snapshot tagged with {path}", tags)
    with open(path, "rb") as f:
        f.seek(1 << 20)
        content = f.read(11)
    check(content == b"OLD content", "image: volume image has the content at snapshot time", content)
    ec2.delete_snapshot(SnapshotId=snap_id)
    check(not os.path.exists(snap_image) and os.path.exists(path), "image: deleting the snapshot removed its image only")


def check_locks(ec2):
    snap_id = ec2.create_snapshot(VolumeId=volume(ec2))["SnapshotId"]

    # Governance: blocks deletion until unlocked.
    lock = ec2.lock_snapshot(SnapshotId=snap_id, LockMode="governance", LockDuration=1)
    expected = lock["LockCreatedOn"] + datetime.timedelta(days=1)
    check(
        lock["SnapshotId"] == snap_id and lock["LockState"] == "governance" and lock["LockDuration"] == 1
        and abs((lock["LockExpiresOn"] - expected).total_seconds()) < 5 and "LockDurationStartTime" in lock,
        "governance lock: LockSnapshot answer",
        lock,
    )
    code, message = error_code(ec2.delete_snapshot, SnapshotId=snap_id)
    check(code == "SnapshotLocked" and snap_id in message, f"governance lock: DeleteSnapshot refused ({code}: {message})")
    found = ec2.describe_locked_snapshots(SnapshotIds=[snap_id])["Snapshots"]
    check(
        len(found) == 1 and found[0]["LockState"] == "governance" and found[0]["OwnerId"] and found[0]["LockDuration"] == 1,
        "DescribeLockedSnapshots by id",
        found,
    )
    by_state = ec2.describe_locked_snapshots(Filters=[{"Name": "lock-state", "Values": ["governance"]}])["Snapshots"]
    others = ec2.describe_locked_snapshots(Filters=[{"Name": "lock-state", "Values": ["compliance"]}])["Snapshots"]
    check(
        snap_id in [s["SnapshotId"] for s in by_state] and snap_id not in [s["SnapshotId"] for s in others],
        "DescribeLockedSnapshots by lock-state filter",
    )
    check(ec2.unlock_snapshot(SnapshotId=snap_id)["SnapshotId"] == snap_id, "governance lock: UnlockSnapshot")
    check(not ec2.describe_locked_snapshots(SnapshotIds=[snap_id])["Snapshots"], "unlocked: no longer listed as locked")
    check(error_code(ec2.delete_snapshot, SnapshotId=snap_id)[0] is None, "unlocked: DeleteSnapshot succeeds")

    # Compliance with a cool-off period: compliance-cooloff, may still be unlocked.
    snap_id = ec2.create_snapshot(VolumeId=volume(ec2))["SnapshotId"]
    lock = ec2.lock_snapshot(SnapshotId=snap_id, LockMode="compliance", CoolOffPeriod=1, LockDuration=2)
    check(
        lock["LockState"] == "compliance-cooloff" and lock["CoolOffPeriod"] == 1 and "CoolOffPeriodExpiresOn" in lock,
        "compliance lock with CoolOffPeriod=1: compliance-cooloff",
        lock,
    )
    check(error_code(ec2.delete_snapshot, SnapshotId=snap_id)[0] == "SnapshotLocked", "compliance-cooloff: DeleteSnapshot refused")
    check(error_code(ec2.unlock_snapshot, SnapshotId=snap_id)[0] is None, "compliance-cooloff: UnlockSnapshot allowed")

    # Compliance without cool-off: can't be unlocked or shortened, only extended.
    lock = ec2.lock_snapshot(SnapshotId=snap_id, LockMode="compliance", LockDuration=2)
    check(lock["LockState"] == "compliance", "compliance lock: compliance", lock)
    code, message = error_code(ec2.unlock_snapshot, SnapshotId=snap_id)
    check(code == "InvalidParameterValue", f"compliance: UnlockSnapshot refused ({code}: {message})")
    check(error_code(ec2.delete_snapshot, SnapshotId=snap_id)[0] == "SnapshotLocked", "compliance: DeleteSnapshot refused")
    code, _ = error_code(ec2.lock_snapshot, SnapshotId=snap_id, LockMode="governance", LockDuration=5)
    check(code == "InvalidParameterValue", f"compliance: change to governance refused ({code})")
    code, _ = error_code(ec2.lock_snapshot, SnapshotId=snap_id, LockMode="compliance", LockDuration=1)
    check(code == "InvalidParameterValue", f"compliance: shortening refused ({code})")
    check(ec2.lock_snapshot(SnapshotId=snap_id, LockMode="compliance", LockDuration=3)["LockDuration"] == 3, "compliance: extending allowed")

    # Validation.
    cases = [
        ("unknown snapshot", dict(SnapshotId="snap-00000000000000000", LockMode="governance", LockDuration=1), "InvalidSnapshot.NotFound"),
        ("no LockMode", dict(SnapshotId=snap_id, LockDuration=1), "MissingParameter"),
        ("bad LockMode", dict(SnapshotId=snap_id, LockMode="forever", LockDuration=1), "InvalidParameterValue"),
        ("neither LockDuration nor ExpirationDate", dict(SnapshotId=snap_id, LockMode="governance"), "MissingParameter"),
        (
            "both LockDuration and ExpirationDate",
            dict(SnapshotId=snap_id, LockMode="governance", LockDuration=1, ExpirationDate=datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(days=2)),
            "InvalidParameterCombination",
        ),
        ("CoolOffPeriod with governance", dict(SnapshotId=snap_id, LockMode="governance", LockDuration=1, CoolOffPeriod=2), "InvalidParameterCombination"),
        ("CoolOffPeriod=73", dict(SnapshotId=snap_id, LockMode="compliance", LockDuration=1, CoolOffPeriod=73), "InvalidParameterValue"),
        ("LockDuration=0", dict(SnapshotId=snap_id, LockMode="governance", LockDuration=0), "InvalidParameterValue"),
        ("LockDuration=36501", dict(SnapshotId=snap_id, LockMode="governance", LockDuration=36501), "InvalidParameterValue"),
        (
            "ExpirationDate in the past",
            dict(SnapshotId=snap_id, LockMode="governance", ExpirationDate=datetime.datetime(2020, 1, 1, tzinfo=datetime.timezone.utc)),
            "InvalidParameterValue",
        ),
    ]
    for name, kwargs, expected in cases:
        code, message = error_code(ec2.lock_snapshot, **kwargs)
        check(code == expected, f"LockSnapshot validation, {name}: {code}", message)
    code, _ = error_code(ec2.unlock_snapshot, SnapshotId="snap-00000000000000000")
    check(code == "InvalidSnapshot.NotFound", f"UnlockSnapshot of an unknown snapshot: {code}")

    # A pending snapshot may be locked; its lock duration starts when it completes.
    pending_id = ec2.create_snapshot(VolumeId=volume(ec2, pending=2))["SnapshotId"]
    lock = ec2.lock_snapshot(SnapshotId=pending_id, LockMode="governance", LockDuration=1)
    check(
        lock["LockState"] == "governance" and lock["LockDurationStartTime"] > lock["LockCreatedOn"],
        "lock of a pending snapshot: accepted, duration starts at completion",
        lock,
    )
    ec2.unlock_snapshot(SnapshotId=pending_id)

    # A lock with an ExpirationDate expires; an expired lock no longer blocks deletion.
    expiring_id = ec2.create_snapshot(VolumeId=volume(ec2))["SnapshotId"]
    soon = datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(seconds=2)
    lock = ec2.lock_snapshot(SnapshotId=expiring_id, LockMode="governance", ExpirationDate=soon)
    check(lock["LockState"] == "governance" and "LockDuration" not in lock, "lock with ExpirationDate: governance", lock)

    def finish():
        states = [s["LockState"] for s in ec2.describe_locked_snapshots(SnapshotIds=[expiring_id])["Snapshots"]]
        check(states == ["expired"], f"lock with ExpirationDate: {states} after the date")
        check(error_code(ec2.delete_snapshot, SnapshotId=expiring_id)[0] is None, "expired lock: DeleteSnapshot succeeds")

    return finish


def check_authentication(endpoint, key):
    wrong = client("ec2", endpoint, key, "not-the-secret")
    code, _ = error_code(wrong.lock_snapshot, SnapshotId="snap-00000000000000000", LockMode="governance", LockDuration=1)
    check(code in ("AuthFailure", "SignatureDoesNotMatch"), f"signatures enforced: LockSnapshot with a wrong secret gets {code}")
    code, _ = error_code(wrong.describe_snapshots)
    check(code in ("AuthFailure", "SignatureDoesNotMatch"), f"signatures enforced: DescribeSnapshots with a wrong secret gets {code}")


def run(authenticated):
    print(f"# moto with signatures {'enforced (INITIAL_NO_AUTH_ACTION_COUNT=4)' if authenticated else 'not enforced'}", flush=True)
    with tempfile.TemporaryDirectory(prefix="snapfleet-moto-test-") as directory:
        process, endpoint, log, images = start_server(directory, authenticated)
        try:
            if authenticated:
                key, secret = create_access_key(endpoint)
                check_authentication(endpoint, key)
            else:
                key, secret = "AKIAPLAINMOTO", "plain-moto-secret"
            ec2 = client("ec2", endpoint, key, secret)
            check_plain(ec2)
            finish_pending = check_pending(ec2)
            finish_error = check_error(ec2)
            check_error_at_create(ec2)
            finish_recovering = check_recovering(ec2)
            finish_recoverable = check_recoverable(ec2)
            finish_locks = check_locks(ec2)
            check_image(ec2, images, directory)
            check_create_delay(ec2)  # > 2 s: the pending snapshots and the expiring lock are done
            finish_pending()
            finish_error()
            finish_recovering()
            finish_recoverable()
            finish_locks()
        except Exception:
            print(f"# moto log tail:\n{open(log).read()[-3000:]}", file=sys.stderr)
            raise
        finally:
            process.terminate()
            process.wait(10)


def main():
    started = time.time()
    try:
        run(authenticated=True)
        run(authenticated=False)
    except CheckFailed as failure:
        print(f"FAILED - {failure}", file=sys.stderr)
        return 1
    except Exception as error:
        print(f"FAILED - unexpected {type(error).__name__}: {error}", file=sys.stderr)
        return 1
    print(f"# all checks passed in {time.time() - started:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
