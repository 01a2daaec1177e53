# Shared by scripts/quickstart and bench/: a throwaway PostgreSQL cluster, keys and
# configuration for one controller and one agent, all under $WORK. Source it; call the
# functions in order; `fleet_cleanup` stops everything (install it as an EXIT trap).

PG_BIN=${PG_BIN:-/usr/lib/postgresql/15/bin}

# fleet_init WORK BIN: WORK must not exist yet or be empty; BIN holds the built programs.
fleet_init() {
  WORK=$1
  BIN=$2
  mkdir -p "$WORK"
  chmod 755 "$WORK"
  PIDS=()
}

# fleet_disk: a file-backed disk (image, loop device, ext4) mounted at $WORK/pg, for the
# local snapshot provider. Sets DISK_IMAGE and DISK_DEVICE.
fleet_disk() {
  DISK_IMAGE="$WORK/disks/pgdata.img"
  mkdir -p "$WORK/disks" "$WORK/pg" "$WORK/snapshots" "$WORK/catalog"
  truncate -s 512M "$DISK_IMAGE"
  DISK_DEVICE=$(losetup -f --show "$DISK_IMAGE")
  mkfs.ext4 -q "$DISK_DEVICE"
  mount -o noatime "$DISK_DEVICE" "$WORK/pg"
}

# fleet_postgres: initdb as postgres (initdb refuses root) and start on a private socket.
# ARCHIVE_COMMAND (default /bin/true) is its archive_command, e.g. "$(fleet_wal_push)".
fleet_postgres() {
  PGPORT=${PGPORT:-$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')}
  # The socket lives off the data disk: a snapshot must not carry the running server's socket lock.
  mkdir -p "$WORK/pg" "$WORK/pgsocket"
  chown postgres "$WORK/pg" "$WORK/pgsocket"
  chmod 755 "$WORK/pg"
  runuser -u postgres -- "$PG_BIN/initdb" -D "$WORK/pg/data" -A trust -U postgres --no-sync >/dev/null
  fleet_pg_start
  CONNINFO="host=$WORK/pgsocket port=$PGPORT user=postgres dbname=postgres"
}

# fleet_pg_start / fleet_pg_stop: the server on $WORK/pg/data, with the settings it was made with.
fleet_pg_start() {
  runuser -u postgres -- "$PG_BIN/pg_ctl" -D "$WORK/pg/data" -l "$WORK/pg/postgres.log" -w \
    -o "-p $PGPORT -k $WORK/pgsocket -c listen_addresses='' -c wal_level=replica -c archive_mode=on -c archive_command='${ARCHIVE_COMMAND:-/bin/true}'" \
    start >/dev/null
}
fleet_pg_stop() {
  runuser -u postgres -- "$PG_BIN/pg_ctl" -D "$WORK/pg/data" -m "${1:-fast}" -w stop >/dev/null
}

# fleet_psql SQL: run SQL on the fleet's server, unaligned and tuples only.
fleet_psql() {
  "$PG_BIN/psql" -X -A -t -q -v ON_ERROR_STOP=1 -h "$WORK/pgsocket" -p "$PGPORT" -U postgres -d postgres -c "$1"
}

# fleet_wal_push: the archive_command that archives through this fleet's agent.
fleet_wal_push() {
  echo "$BIN/snapfleet-agent wal-push --config $WORK/agent.yaml %p"
}

# fleet_configure SERVER: keys and configuration files for one controller and one agent.
fleet_configure() {
  local server=$1
  CONTROLLER_PORT=${CONTROLLER_PORT:-$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')}
  local controller_key agent_key
  controller_key=$("$BIN/snapfleet-controller" keygen --out "$WORK/controller.key")
  agent_key=$("$BIN/snapfleet-agent" keygen --out "$WORK/agent.key")
  cat >"$WORK/controller.yaml" <<YAML
listen: tcp://127.0.0.1:$CONTROLLER_PORT
key_file: $WORK/controller.key
admin_socket: $WORK/run/admin.sock
servers:
  $server:
    agent_key: "$agent_key"
YAML
  if [ -n "${DISK_IMAGE:-}" ]; then
    cat >>"$WORK/controller.yaml" <<YAML
    destination: file://$WORK/catalog
    provider: local
    snapshot_instance: localhost
    snapshot_disks: [pgdata]
    local:
      snapshot_directory: $WORK/snapshots
      disks:
        pgdata: $DISK_IMAGE
YAML
  fi
  cat >"$WORK/agent.yaml" <<YAML
controller: tcp://127.0.0.1:$CONTROLLER_PORT
controller_public_key: "$controller_key"
key_file: $WORK/agent.key
postgres: "$CONNINFO"
local_socket: $WORK/agent.sock
YAML
}

# fleet_start: both daemons in the background, logging into $WORK.
fleet_start() {
  "$BIN/snapfleet-controller" serve --config "$WORK/controller.yaml" 2>"$WORK/controller.log" &
  CONTROLLER_PID=$!
  PIDS+=("$CONTROLLER_PID")
  for _ in $(seq 100); do [ -S "$WORK/run/admin.sock" ] && break; sleep 0.1; done
  "$BIN/snapfleet-agent" run --config "$WORK/agent.yaml" 2>"$WORK/agent.log" &
  AGENT_PID=$!
  PIDS+=("$AGENT_PID")
}

# fleet_wait_connected SERVER: until `agents` shows the server connected (30 s at most).
fleet_wait_connected() {
  for _ in $(seq 300); do
    "$BIN/snapfleet-controller" agents --config "$WORK/controller.yaml" --format json 2>/dev/null |
      python3 -c "import json,sys; sys.exit(0 if any(a['server']=='$1' and a['connected'] for a in json.load(sys.stdin)) else 1)" && return 0
    sleep 0.1
  done
  echo "agent for $1 did not connect; logs in $WORK" >&2
  return 1
}

fleet_cleanup() {
  # Best effort, every step: under errexit (which applies in traps too) a process already gone
  # would otherwise end the cleanup there and leave PostgreSQL running.
  set +e
  for pid in "${PIDS[@]:-}"; do [ -z "$pid" ] || kill "$pid" 2>/dev/null; done
  wait 2>/dev/null || true
  if [ -f "$WORK/pg/data/postmaster.pid" ]; then
    runuser -u postgres -- "$PG_BIN/pg_ctl" -D "$WORK/pg/data" -m fast -w stop >/dev/null 2>&1 || true
  fi
  if [ -n "${DISK_DEVICE:-}" ]; then
    umount "$WORK/pg" 2>/dev/null || umount -l "$WORK/pg" 2>/dev/null || true
    losetup -d "$DISK_DEVICE" 2>/dev/null || true
  fi
  # Disks restores made from snapshots (restore --provision).
  losetup -n -O NAME,BACK-FILE 2>/dev/null | awk -v dir="$WORK/snapshots/volumes/" 'index($2, dir) == 1 {print $1}' |
    while read -r device; do losetup -d "$device" 2>/dev/null || true; done
  [ "${KEEP:-0}" = 1 ] || rm -rf "$WORK"
}
