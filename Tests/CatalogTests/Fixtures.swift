/// The `backup.info` examples of the compatibility specification (§3.4–3.7), verbatim: ground truth
/// for byte-for-byte round trips. Each ends with the file's final newline.
enum Fixtures {
    /// §3.4: AWS, two volumes, the second snapshot locked, one tablespace.
    static let aws = #"""
        backup_label='START WAL LOCATION: 3/A2000028 (file 0000000100000003000000A2)\nCHECKPOINT LOCATION: 3/A2000060\nBACKUP METHOD: streamed\nBACKUP FROM: primary\nSTART TIME: 2024-03-15 02:15:01 UTC\nLABEL: Barman backup pg-main 20240315T021500\nSTART TIMELINE: 1\n'
        backup_name=nightly
        begin_offset=40
        begin_time=2024-03-15 02:15:01.123456+00:00
        begin_wal=0000000100000003000000A2
        begin_xlog=3/A2000028
        children_backup_ids=None
        cluster_size=2437898752
        compression=None
        config_file=/opt/postgres/data/postgresql.conf
        copy_stats={'copy_time': 70.123456, 'total_time': 70.123456}
        data_checksums=on
        deduplicated_size=None
        encryption=None
        end_offset=312
        end_time=2024-03-15 02:16:12.654321+00:00
        end_wal=0000000100000003000000A2
        end_xlog=3/A2000138
        error=None
        hba_file=/opt/postgres/data/pg_hba.conf
        ident_file=/opt/postgres/data/pg_ident.conf
        included_files=None
        mode=None
        parent_backup_id=None
        pgdata=/opt/postgres/data
        server_name=pg-main
        size=None
        snapshots_info={'provider': 'aws', 'provider_info': {'account_id': '123456789012', 'region': 'eu-west-1'}, 'snapshots': [{'mount': {'mount_options': 'rw,noatime', 'mount_point': '/opt/postgres'}, 'provider': {'device_name': '/dev/sdf', 'snapshot_id': 'snap-0a1b2c3d4e5f67890', 'snapshot_name': 'pgdata-20240315t021500', 'snapshot_lock_mode': None}}, {'mount': {'mount_options': 'rw,noatime', 'mount_point': '/opt/postgres/tablespaces'}, 'provider': {'device_name': '/dev/sdg', 'snapshot_id': 'snap-0f9e8d7c6b5a43210', 'snapshot_name': 'vol-0123456789abcdef0-20240315t021500', 'snapshot_lock_mode': 'compliance'}}]}
        status=DONE
        summarize_wal=None
        systemid=7345123456789012345
        tablespaces=[('tbs1', 16387, '/opt/postgres/tablespaces/tbs1')]
        timeline=1
        version=160002
        xlog_segment_size=16777216

        """#

    /// §3.5: GCP (the AWS file with the lines that differ replaced).
    static let gcp = #"""
        backup_label='START WAL LOCATION: 3/A2000028 (file 0000000100000003000000A2)\nCHECKPOINT LOCATION: 3/A2000060\nBACKUP METHOD: streamed\nBACKUP FROM: primary\nSTART TIME: 2024-03-15 02:15:01 UTC\nLABEL: Barman backup pg-main 20240315T021500\nSTART TIMELINE: 1\n'
        backup_name=nightly
        begin_offset=40
        begin_time=2024-03-15 02:15:01.123456+00:00
        begin_wal=0000000100000003000000A2
        begin_xlog=3/A2000028
        children_backup_ids=None
        cluster_size=2437898752
        compression=None
        config_file=/opt/postgres/data/postgresql.conf
        copy_stats={'copy_time': 70.123456, 'total_time': 70.123456}
        data_checksums=on
        deduplicated_size=None
        encryption=None
        end_offset=312
        end_time=2024-03-15 02:16:12.654321+00:00
        end_wal=0000000100000003000000A2
        end_xlog=3/A2000138
        error=None
        hba_file=/opt/postgres/data/pg_hba.conf
        ident_file=/opt/postgres/data/pg_ident.conf
        included_files=None
        mode=None
        parent_backup_id=None
        pgdata=/opt/postgres/data
        server_name=pg-main
        size=None
        snapshots_info={'provider': 'gcp', 'provider_info': {'project': 'my-gcp-project'}, 'snapshots': [{'mount': {'mount_options': 'rw,relatime', 'mount_point': '/opt/postgres'}, 'provider': {'device_name': 'pgdata', 'snapshot_name': 'pg-main-data-20240315t021500', 'snapshot_project': 'my-gcp-project'}}]}
        status=DONE
        summarize_wal=None
        systemid=7345123456789012345
        tablespaces=None
        timeline=1
        version=160002
        xlog_segment_size=16777216

        """#

    /// §3.6: Azure (the AWS file with `snapshots_info` replaced).
    static let azure = #"""
        backup_label='START WAL LOCATION: 3/A2000028 (file 0000000100000003000000A2)\nCHECKPOINT LOCATION: 3/A2000060\nBACKUP METHOD: streamed\nBACKUP FROM: primary\nSTART TIME: 2024-03-15 02:15:01 UTC\nLABEL: Barman backup pg-main 20240315T021500\nSTART TIMELINE: 1\n'
        backup_name=nightly
        begin_offset=40
        begin_time=2024-03-15 02:15:01.123456+00:00
        begin_wal=0000000100000003000000A2
        begin_xlog=3/A2000028
        children_backup_ids=None
        cluster_size=2437898752
        compression=None
        config_file=/opt/postgres/data/postgresql.conf
        copy_stats={'copy_time': 70.123456, 'total_time': 70.123456}
        data_checksums=on
        deduplicated_size=None
        encryption=None
        end_offset=312
        end_time=2024-03-15 02:16:12.654321+00:00
        end_wal=0000000100000003000000A2
        end_xlog=3/A2000138
        error=None
        hba_file=/opt/postgres/data/pg_hba.conf
        ident_file=/opt/postgres/data/pg_ident.conf
        included_files=None
        mode=None
        parent_backup_id=None
        pgdata=/opt/postgres/data
        server_name=pg-main
        size=None
        snapshots_info={'provider': 'azure', 'provider_info': {'subscription_id': '00000000-1111-2222-3333-444444444444', 'resource_group': 'pg-rg'}, 'snapshots': [{'mount': {'mount_options': 'rw,relatime', 'mount_point': '/opt/postgres'}, 'provider': {'location': 'westeurope', 'lun': 0, 'snapshot_name': 'pg-main-data-20240315t021500'}}]}
        status=DONE
        summarize_wal=None
        systemid=7345123456789012345
        tablespaces=[('tbs1', 16387, '/opt/postgres/tablespaces/tbs1')]
        timeline=1
        version=160002
        xlog_segment_size=16777216

        """#

    /// §3.7: a FAILED snapshot backup, complete; no `snapshots_info`.
    static let failed = #"""
        backup_label=None
        backup_name=nightly
        begin_offset=40
        begin_time=2024-03-15 02:15:01+00:00
        begin_wal=000000010000000000000005
        begin_xlog=0/5000028
        children_backup_ids=None
        cluster_size=None
        compression=None
        config_file=None
        copy_stats=None
        data_checksums=off
        deduplicated_size=None
        encryption=None
        end_offset=None
        end_time=None
        end_wal=None
        end_xlog=None
        error=failure uploading data (Waiter SnapshotCompleted failed: Max attempts exceeded)
        hba_file=None
        ident_file=None
        included_files=None
        mode=None
        parent_backup_id=None
        pgdata=/opt/postgres/data
        server_name=pg-main
        size=None
        status=FAILED
        summarize_wal=None
        systemid=7345123456789012345
        tablespaces=None
        timeline=1
        version=150004
        xlog_segment_size=16777216

        """#
}
