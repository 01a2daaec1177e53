#!/usr/bin/env python3
"""moto's server with test extensions for what moto's EC2 lacks.

Run it exactly like `python3 -m moto.server` (same arguments, same environment
variables such as INITIAL_NO_AUTH_ACTION_COUNT or MOTO_EC2_LOAD_DEFAULT_AMIS):

    python3 scripts/lib/snapfleet_moto.py -H 127.0.0.1 -p 5000

The patches are applied in-process before moto's own `main()` starts; the new
actions are methods of moto's `EC2Response`, so every request still goes
through moto's normal handling (signature checks, IAM authorization, errors).

Behaviour is chosen per VOLUME through tags on the volume a snapshot is taken
of, so tests sharing one moto stay independent:

  snapfleet-test:snapshot-pending-seconds = N  snapshots stay `pending` for N
      seconds (float) with Progress growing "0%".."99%", then `completed`.
  snapfleet-test:snapshot-outcome = ...        how snapshots of the volume end
      (EC2's SnapshotState values; absent = `completed`, another value is a
      client error):
        error            `error` after the pending seconds (if any), with a
                         StateMessage.
        error-at-create  `error` at once, already in CreateSnapshot's own
                         answer (pending seconds ignored), with a StateMessage
                         and Progress "0%".
        recovering       `recovering` (instead of `pending`) for the pending
                         seconds, then `completed`: as EC2 shows a snapshot
                         being restored from the Recycle Bin.
        recoverable      `recoverable` after the pending seconds (if any): as
                         EC2 shows a deleted snapshot kept in the Recycle Bin.
  snapfleet-test:create-delay-seconds = N      CreateSnapshot sleeps N seconds
      before creating the snapshot (other requests are served meanwhile).
  snapfleet-test:image = /path/to/file         CreateSnapshot copies the file
      (sparse, reflink if possible) to $SNAPFLEET_MOTO_IMAGES/<snap-id>.img
      before answering; CreateVolume from that snapshot copies it again to
      <vol-id>.img and tags the new volume `snapfleet-test:image` = that path.
      DeleteSnapshot removes the snapshot's image. SNAPFLEET_MOTO_IMAGES
      defaults to a temporary directory made at startup. With
      SNAPFLEET_MOTO_ATTACH_DEVICES=1 (root), AttachVolume of such a volume puts
      its image on a loop device and points /dev/<device name> at it, as the
      instance would see the disk; DetachVolume undoes it.

It also adds snapshot locks (LockSnapshot, UnlockSnapshot,
DescribeLockedSnapshots) as in the EC2 API reference, and DeleteSnapshot of a
locked snapshot fails with `SnapshotLocked`.
"""

import atexit
import datetime
import os
import shutil
import subprocess
import sys
import tempfile
import time
import uuid

import moto.server
from moto.core.responses import ActionResult
from moto.core.utils import utcnow
from moto.ec2.exceptions import (
    EC2ClientError,
    InvalidParameterCombination,
    InvalidSnapshotIdError,
    MissingParameterError,
)
from moto.ec2.models.elastic_block_store import EBSBackend, Snapshot
from moto.ec2.responses import EC2Response

TAG = "snapfleet-test:"
PENDING_SECONDS = TAG + "snapshot-pending-seconds"
OUTCOME = TAG + "snapshot-outcome"
CREATE_DELAY = TAG + "create-delay-seconds"
IMAGE = TAG + "image"

ERROR_MESSAGE = "snapfleet-test: snapshot failed as requested by the volume tag"
# The snapshot-outcome values (see the module doc); absent means a plain `completed`.
OUTCOMES = ("error", "error-at-create", "recovering", "recoverable")

# Where snapshot and volume images are kept (set by install()).
images_dir = ""


def volume_tags(volume):
    """The tags of a moto volume as a dict (empty for no volume)."""
    if volume is None or not getattr(volume, "id", None):
        return {}
    return {tag["key"]: tag["value"] for tag in volume.get_tags()}


def float_tag(tags, key):
    """A numeric tag, 0 when absent; a bad value is a client error."""
    try:
        return float(tags.get(key, 0))
    except ValueError:
        raise EC2ClientError("InvalidParameterValue", f"snapfleet-test: tag {key} must be a number")


# --- Features 1 and 2: pending, failing and Recycle Bin snapshots --------------------------


def outcome_tag(tags):
    """The volume's snapshot-outcome tag, None when absent; an unknown value is a client error."""
    outcome = tags.get(OUTCOME)
    if outcome is not None and outcome not in OUTCOMES:
        raise EC2ClientError("InvalidParameterValue", f"snapfleet-test: tag {OUTCOME} must be one of {', '.join(OUTCOMES)}")
    return outcome


def patch_snapshot_state():
    """Snapshot state/progress computed from a ready-at time and an outcome set at creation."""
    original_init = Snapshot.__init__

    def __init__(self, *args, **kwargs):
        original_init(self, *args, **kwargs)
        tags = volume_tags(self.volume)
        self.sf_outcome = outcome_tag(tags)
        # A snapshot failing at creation never was pending: it is ready (in `error`) at once.
        self.sf_pending_seconds = 0 if self.sf_outcome == "error-at-create" else float_tag(tags, PENDING_SECONDS)
        self.sf_ready_at = time.time() + self.sf_pending_seconds
        self.sf_lock = None  # feature 5

    def get_status(self):
        """pending/recovering until ready, then the outcome's state (error-at-create: error at once)."""
        outcome = getattr(self, "sf_outcome", None)
        if outcome == "error-at-create":
            return "error"
        if time.time() < getattr(self, "sf_ready_at", 0):
            return "recovering" if outcome == "recovering" else "pending"
        if outcome in ("error", "recoverable"):
            return outcome
        return self.sf_status  # `recovering` and no outcome end `completed`

    def set_status(self, value):
        self.sf_status = value  # moto sets "completed" in __init__

    def progress(self):
        """"0%".."99%" while pending or recovering, "100%" once ready, "0%" for error-at-create."""
        if getattr(self, "sf_outcome", None) == "error-at-create":
            return "0%"
        remaining = getattr(self, "sf_ready_at", 0) - time.time()
        if remaining <= 0:
            return "100%"
        done = 1 - remaining / self.sf_pending_seconds
        return f"{min(99, max(0, int(done * 100)))}%"

    def state_message(self):
        # Serialized as StateMessage (the serializer tries `state_message` before `status_message`).
        return ERROR_MESSAGE if get_status(self) == "error" else None

    Snapshot.__init__ = __init__
    Snapshot.status = property(get_status, set_status)
    Snapshot.progress = property(progress)
    Snapshot.state_message = property(state_message)


# --- Features 3 and 4: CreateSnapshot delay and disk images --------------------------------


def copy_image(source, destination):
    """A sparse (reflinked if possible) copy, written under a temporary name then renamed."""
    partial = os.path.join(images_dir, f".partial-{uuid.uuid4().hex}")
    result = subprocess.run(
        ["cp", "--reflink=auto", "--sparse=always", source, partial], capture_output=True, text=True
    )
    if result.returncode != 0:
        raise EC2ClientError("InvalidParameterValue", f"snapfleet-test: cannot copy image {source}: {result.stderr.strip()}")
    os.replace(partial, destination)


def remove_quietly(path):
    try:
        os.remove(path)
    except FileNotFoundError:
        pass


def patch_create_snapshot():
    """Sleep for the volume's create delay, then create the snapshot with a copy of its image."""
    original = EBSBackend.create_snapshot

    def create_snapshot(self, volume_id, description, owner_id=None, from_ami=None):
        tags = volume_tags(self.get_volume(volume_id))  # unknown volume: moto's own error
        time.sleep(float_tag(tags, CREATE_DELAY))
        source = tags.get(IMAGE)
        if not source:
            return original(self, volume_id, description, owner_id, from_ami)
        # Copy first (point in time), then name the copy after the new snapshot. A filesystem
        # mounted from the image keeps recent writes in memory: sync pushes them into the image,
        # as EBS sees every write the instance made before the snapshot.
        os.sync()
        partial = os.path.join(images_dir, f".snapshot-{uuid.uuid4().hex}")
        copy_image(source, partial)
        try:
            snapshot = original(self, volume_id, description, owner_id, from_ami)
        except Exception:
            remove_quietly(partial)
            raise
        snapshot.sf_image = os.path.join(images_dir, f"{snapshot.id}.img")
        os.replace(partial, snapshot.sf_image)
        return snapshot

    EBSBackend.create_snapshot = create_snapshot


def patch_create_volume():
    """A volume made from a snapshot with an image gets its own copy, named by its tag."""
    original = EBSBackend.create_volume

    def create_volume(self, *args, **kwargs):
        volume = original(self, *args, **kwargs)
        snapshot_id = kwargs.get("snapshot_id")
        image = getattr(self.snapshots.get(snapshot_id), "sf_image", None) if snapshot_id else None
        if image:
            path = os.path.join(images_dir, f"{volume.id}.img")
            copy_image(image, path)
            volume.add_tag(IMAGE, path)
        return volume

    EBSBackend.create_volume = create_volume


def patch_attach_volume():
    """With SNAPFLEET_MOTO_ATTACH_DEVICES=1, attaching a volume that has an image makes it appear on
    this host as a real instance would see it: the image on a loop device, and /dev/<device name>
    pointing at it. Detaching (or deleting) undoes both. Tests that restore through the AWS code
    path need this; it needs root."""
    if os.environ.get("SNAPFLEET_MOTO_ATTACH_DEVICES") != "1":
        return
    attach, detach = EBSBackend.attach_volume, EBSBackend.detach_volume

    def attach_volume(self, volume_id, instance_id, device_path, delete_on_termination=False):
        attachment = attach(self, volume_id, instance_id, device_path, delete_on_termination)
        image = volume_tags(self.get_volume(volume_id)).get(IMAGE)
        if image and device_path.startswith("/dev/"):
            loop = subprocess.run(["losetup", "-f", "--show", image], capture_output=True, text=True, check=True).stdout.strip()
            remove_quietly(device_path)
            os.symlink(loop, device_path)
            self.get_volume(volume_id).sf_device = (device_path, loop)
        return attachment

    def detach_volume(self, volume_id, instance_id, device_path):
        attachment = detach(self, volume_id, instance_id, device_path)
        device, loop = getattr(self.get_volume(volume_id), "sf_device", (None, None))
        if device:
            remove_quietly(device)
            subprocess.run(["losetup", "-d", loop], capture_output=True)
            self.get_volume(volume_id).sf_device = (None, None)
        return attachment

    EBSBackend.attach_volume = attach_volume
    EBSBackend.detach_volume = detach_volume


# --- Feature 5: snapshot locks -------------------------------------------------------------


def lock_state(snapshot):
    """governance, compliance-cooloff, compliance or expired; None if never locked."""
    lock = getattr(snapshot, "sf_lock", None)
    if lock is None:
        return None
    now = utcnow()
    if lock["LockExpiresOn"] <= now:
        return "expired"
    if lock["LockMode"] == "governance":
        return "governance"
    if lock.get("CoolOffPeriodExpiresOn") and now < lock["CoolOffPeriodExpiresOn"]:
        return "compliance-cooloff"
    return "compliance"


def lock_info(snapshot):
    """The lock as LockSnapshot / DescribeLockedSnapshots answer it."""
    info = {"SnapshotId": snapshot.id, "OwnerId": snapshot.owner_id, "LockState": lock_state(snapshot)}
    info.update({key: value for key, value in snapshot.sf_lock.items() if key != "LockMode" and value is not None})
    return info


def bad_value(message):
    return EC2ClientError("InvalidParameterValue", message)


def lock_snapshot(self):
    """LockSnapshot: lock (or re-lock) a snapshot in governance or compliance mode."""
    snapshot_id = self._get_param("SnapshotId")
    mode = self._get_param("LockMode")
    cool_off = self._get_param("CoolOffPeriod")
    duration = self._get_param("LockDuration")
    expiration = self._get_param("ExpirationDate")
    self.error_on_dryrun()
    if not snapshot_id:
        raise MissingParameterError("SnapshotId")
    if not mode:
        raise MissingParameterError("LockMode")
    if mode not in ("governance", "compliance"):
        raise bad_value(f"Value ({mode}) for parameter LockMode is invalid. Valid values are governance and compliance.")
    if duration is None and expiration is None:
        raise MissingParameterError("LockDuration or ExpirationDate")
    if duration is not None and expiration is not None:
        raise InvalidParameterCombination("LockDuration and ExpirationDate can't be specified together.")
    if cool_off is not None and mode == "governance":
        raise InvalidParameterCombination("CoolOffPeriod can only be specified with LockMode compliance.")
    if cool_off is not None and not 1 <= int(cool_off) <= 72:
        raise bad_value(f"Value ({cool_off}) for parameter CoolOffPeriod is invalid. It must be between 1 and 72 hours.")
    if duration is not None and not 1 <= int(duration) <= 36500:
        raise bad_value(f"Value ({duration}) for parameter LockDuration is invalid. It must be between 1 and 36500 days.")
    snapshot = self.ec2_backend.get_snapshot(snapshot_id)

    now = utcnow()
    # The lock duration of a pending snapshot starts once it is completed.
    ready_at = datetime.datetime.fromtimestamp(getattr(snapshot, "sf_ready_at", 0), datetime.timezone.utc)
    start = max(now, ready_at.replace(tzinfo=None))
    if expiration is not None:
        expiration = expiration.replace(tzinfo=None) if isinstance(expiration, datetime.datetime) else expiration
        if expiration <= now:
            raise bad_value("The ExpirationDate must be in the future.")
        expires = expiration
    else:
        expires = start + datetime.timedelta(days=int(duration))

    if lock_state(snapshot) == "compliance":
        # After the cool-off period only the duration may grow.
        old = snapshot.sf_lock
        if mode != "compliance" or cool_off is not None or expires < old["LockExpiresOn"]:
            raise bad_value(
                f"The snapshot {snapshot.id} is locked in compliance mode after its cooling-off period: "
                "the lock duration can only be extended."
            )

    snapshot.sf_lock = {
        "LockMode": mode,
        "LockDuration": int(duration) if duration is not None else None,
        "CoolOffPeriod": int(cool_off) if cool_off is not None else None,
        "CoolOffPeriodExpiresOn": now + datetime.timedelta(hours=int(cool_off)) if cool_off is not None else None,
        "LockCreatedOn": now,
        "LockExpiresOn": expires,
        "LockDurationStartTime": start,
    }
    info = lock_info(snapshot)
    info.pop("OwnerId")
    return ActionResult(info)


def unlock_snapshot(self):
    """UnlockSnapshot: refused for compliance mode after the cool-off period."""
    snapshot_id = self._get_param("SnapshotId")
    self.error_on_dryrun()
    if not snapshot_id:
        raise MissingParameterError("SnapshotId")
    snapshot = self.ec2_backend.get_snapshot(snapshot_id)
    if lock_state(snapshot) == "compliance":
        raise bad_value(
            f"The snapshot {snapshot.id} is locked in compliance mode and its cooling-off period has expired: "
            "it can't be unlocked."
        )
    snapshot.sf_lock = None  # unlocking an unlocked snapshot is accepted
    return ActionResult({"SnapshotId": snapshot.id})


def describe_locked_snapshots(self):
    """DescribeLockedSnapshots: the locked snapshots, by id and/or `lock-state` filter."""
    ids = self._get_param("SnapshotIds", [])
    filters = self._filters_from_querystring()
    self.error_on_dryrun()
    snapshots = self.ec2_backend.describe_snapshots(snapshot_ids=ids)  # unknown id: NotFound
    states = filters.get("lock-state")
    found = [
        lock_info(snapshot)
        for snapshot in snapshots
        if getattr(snapshot, "sf_lock", None) and (not states or lock_state(snapshot) in states)
    ]
    return ActionResult({"Snapshots": found})


def patch_delete_snapshot():
    """DeleteSnapshot refuses locked snapshots and removes the snapshot's image."""
    original = EBSBackend.delete_snapshot

    def delete_snapshot(self, snapshot_id):
        snapshot = self.snapshots.get(snapshot_id)
        if snapshot is None:
            raise InvalidSnapshotIdError()
        if getattr(snapshot, "sf_lock", None) and lock_state(snapshot) != "expired":
            raise EC2ClientError("SnapshotLocked", f"The snapshot {snapshot_id} is locked and can't be deleted.")
        deleted = original(self, snapshot_id)
        if getattr(deleted, "sf_image", None):
            remove_quietly(deleted.sf_image)
        return deleted

    EBSBackend.delete_snapshot = delete_snapshot


def patch_lock_actions():
    # moto dispatches Action=LockSnapshot to EC2Response.lock_snapshot (plain functions only).
    EC2Response.lock_snapshot = lock_snapshot
    EC2Response.unlock_snapshot = unlock_snapshot
    EC2Response.describe_locked_snapshots = describe_locked_snapshots


# --- Start-up ------------------------------------------------------------------------------


def install(images=None):
    """Applies every patch; images go to `images` (default: $SNAPFLEET_MOTO_IMAGES or a temp dir)."""
    global images_dir
    images_dir = images or os.environ.get("SNAPFLEET_MOTO_IMAGES") or ""
    if images_dir:
        os.makedirs(images_dir, exist_ok=True)
    else:
        images_dir = tempfile.mkdtemp(prefix="snapfleet-moto-images-")
        # Removed on a clean exit (moto exits on SIGINT/SIGTERM); not after SIGKILL.
        atexit.register(shutil.rmtree, images_dir, True)
    patch_snapshot_state()
    patch_create_snapshot()
    patch_create_volume()
    patch_attach_volume()
    patch_delete_snapshot()
    patch_lock_actions()


def main():
    install()
    moto.server.main(sys.argv[1:])


if __name__ == "__main__":
    main()
