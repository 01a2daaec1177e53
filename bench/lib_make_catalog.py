#!/usr/bin/env python3
"""Builds a large barman-cloud catalog for bench/catalog: BACKUPS snapshot backups (backup.info in
barman-cloud's format with an AWS snapshots_info, and backup_label), one a day ending today, and
WAL segments spread evenly between them, 16 MiB apart, in barman's wals/<hash dir>/ layout.

    lib_make_catalog.py file DIRECTORY SERVER BACKUPS WAL
    lib_make_catalog.py s3 BUCKET/PREFIX SERVER BACKUPS WAL      (boto3, AWS_* variables, 32 threads)
"""
import concurrent.futures
import datetime
import os
import sys

INFO = """backup_label='START WAL LOCATION: {lsn} (file {wal})\\nCHECKPOINT LOCATION: {lsn}\\nBACKUP METHOD: streamed\\nBACKUP FROM: primary\\nSTART TIME: {start} UTC\\nLABEL: bench {id}\\nSTART TIMELINE: 1\\n'
begin_offset=40
begin_time={start}+00:00
begin_wal={wal}
begin_xlog={lsn}
children_backup_ids=None
cluster_size=2437898752
compression=None
config_file=/opt/postgres/data/postgresql.conf
copy_stats={{'copy_time': 1.5, 'total_time': 1.5}}
data_checksums=on
deduplicated_size=None
encryption=None
end_offset=312
end_time={end}+00:00
end_wal={wal}
end_xlog={lsn}
error=None
hba_file=/opt/postgres/data/pg_hba.conf
ident_file=/opt/postgres/data/pg_ident.conf
included_files=None
mode=None
parent_backup_id=None
pgdata=/opt/postgres/data
server_name={server}
size=None
snapshots_info={{'provider': 'aws', 'provider_info': {{'account_id': '123456789012', 'region': 'us-east-1'}}, 'snapshots': [{{'mount': {{'mount_options': 'rw,noatime', 'mount_point': '/opt/postgres'}}, 'provider': {{'device_name': '/dev/sdf', 'snapshot_id': 'snap-{snap:017x}', 'snapshot_name': 'pgdata-{lower}', 'snapshot_lock_mode': None}}}}]}}
status=DONE
summarize_wal=None
systemid=7345123456789012345
tablespaces=None
timeline=1
version=160002
xlog_segment_size=16777216
"""


def segment(n):
    return "00000001%08X%08X" % (n // 256, n % 256)


def objects(server, backups, wal):
    today = datetime.datetime.now(datetime.timezone.utc).replace(hour=1, minute=0, second=0, microsecond=0, tzinfo=None)
    per_backup = max(wal // backups, 1)
    for i in range(backups):
        when = today - datetime.timedelta(days=backups - 1 - i)
        backup_id = when.strftime("%Y%m%dT%H%M%S")
        n = i * per_backup + 1
        wal_name = segment(n)
        lsn = "%X/%X" % (n // 256, (n % 256) << 24 | 0x28)
        start = when.strftime("%Y-%m-%d %H:%M:%S")
        end = (when + datetime.timedelta(seconds=2)).strftime("%Y-%m-%d %H:%M:%S")
        info = INFO.format(lsn=lsn, wal=wal_name, start=start, end=end, id=backup_id, server=server, snap=i + 1, lower=backup_id.lower())
        yield f"{server}/base/{backup_id}/backup.info", info.encode()
        yield f"{server}/base/{backup_id}/backup_label", f"START WAL LOCATION: {lsn} (file {wal_name})\n".encode()
    for n in range(1, wal + 1):
        name = segment(n)
        yield f"{server}/wals/{name[:16]}/{name}", b""


def to_files(root, server, backups, wal):
    for key, body in objects(server, backups, wal):
        path = os.path.join(root, key)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "wb") as f:
            f.write(body)


def to_s3(target, server, backups, wal):
    import boto3
    bucket, _, prefix = target.partition("/")
    s3 = boto3.client("s3")
    with concurrent.futures.ThreadPoolExecutor(32) as pool:
        for future in [pool.submit(s3.put_object, Bucket=bucket, Key=f"{prefix}/{key}" if prefix else key, Body=body)
                       for key, body in objects(server, backups, wal)]:
            future.result()


if __name__ == "__main__":
    kind, target, server, backups, wal = sys.argv[1:6]
    (to_files if kind == "file" else to_s3)(target, server, int(backups), int(wal))
