#!/usr/bin/env bash
# A throwaway MariaDB server for the end-to-end tests, on a machine without
# Docker or an init system.
#
#   scripts/mariadb.sh start    install (apt) if needed, start, create the user
#   scripts/mariadb.sh stop     shut the server down cleanly
#   scripts/mariadb.sh status   say whether it runs
#
# The server listens on 127.0.0.1 only, keeps everything (data, socket, pid
# file, error log) under MARIADB_DIR and trades durability for speed: it holds
# test data only. `start` is idempotent and prints the DB_URL to use.
set -euo pipefail

MARIADB_DIR=${MARIADB_DIR:-/tmp/backoffice-mariadb}
MARIADB_PORT=${MARIADB_PORT:-3306}
MARIADB_START_TIMEOUT=${MARIADB_START_TIMEOUT:-60}

DB_NAME=backoffice
DB_USER=backoffice
DB_PASSWORD=backoffice

DATA_DIR="$MARIADB_DIR/data"
SOCKET="$MARIADB_DIR/mariadb.sock"
PID_FILE="$MARIADB_DIR/mariadb.pid"
ERROR_LOG="$MARIADB_DIR/error.log"

# The server binaries live in /usr/sbin, which a non-login PATH may lack.
export PATH="$PATH:/usr/local/sbin:/usr/sbin:/sbin"

# The account that runs the server; mariadb-install-db gives it passwordless
# unix_socket access, which is how this script administers the server.
OS_USER=$(id -un)

log() { printf 'mariadb.sh: %s\n' "$*" >&2; }

fail() {
  log "error: $*"
  if [[ -s "$ERROR_LOG" ]]; then
    log "last lines of $ERROR_LOG:"
    tail -n 30 "$ERROR_LOG" >&2
  fi
  exit 1
}

# A process that runs: kill -0 also succeeds on a zombie not yet reaped, which
# is what a killed server is for a moment when nothing waits for it.
process_running() {
  local stat
  stat=$(cat "/proc/$1/stat" 2>/dev/null) || return 1
  stat=${stat##*) }
  [[ ${stat:0:1} != Z ]]
}

# Our server, not another program that was given a stale pid.
process_alive() {
  [[ $(cat "/proc/$1/comm" 2>/dev/null) == mariadbd ]] && process_running "$1"
}

server_pid() {
  local pid
  [[ -s "$PID_FILE" ]] || return 1
  pid=$(<"$PID_FILE")
  [[ "$pid" =~ ^[0-9]+$ ]] && process_alive "$pid" || return 1
  echo "$pid"
}

wait_for_ping() {
  local pid=$1 deadline=$((SECONDS + MARIADB_START_TIMEOUT))
  until ping_server; do
    process_running "$pid" || fail "mariadbd exited during start-up"
    ((SECONDS < deadline)) ||
      fail "mariadbd did not answer within ${MARIADB_START_TIMEOUT}s (pid $pid still running)"
    sleep 0.2
  done
}

ping_server() {
  mariadb-admin --no-defaults --protocol=socket --socket="$SOCKET" -u"$OS_USER" \
    --connect-timeout=2 ping >/dev/null 2>&1
}

port_taken() {
  (exec 3<>"/dev/tcp/127.0.0.1/$MARIADB_PORT") 2>/dev/null
}

admin_sql() {
  mariadb --no-defaults --protocol=socket --socket="$SOCKET" -u"$OS_USER" "$@"
}

install_packages() {
  if command -v mariadbd >/dev/null && command -v mariadb-install-db >/dev/null \
    && command -v mariadb >/dev/null && command -v mariadb-admin >/dev/null; then
    return
  fi
  [[ $(id -u) -eq 0 ]] || fail "MariaDB is not installed and installing it needs root"

  local started=$SECONDS
  log "installing mariadb-server and mariadb-client with apt-get"

  # Package scripts must not start a system-wide server (it would take port
  # 3306 and /run/mysqld, and without an init system it can hang): a
  # policy-rc.d that answers 101 tells invoke-rc.d not to start anything.
  local own_policy=false
  if [[ ! -e /usr/sbin/policy-rc.d ]]; then
    printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d
    chmod 755 /usr/sbin/policy-rc.d
    own_policy=true
  fi

  export DEBIAN_FRONTEND=noninteractive
  local status=0
  {
    apt-get update -q &&
      apt-get install -y -q --no-install-recommends \
        -o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold \
        mariadb-server mariadb-client
  } </dev/null >"${TMPDIR:-/tmp}/backoffice-mariadb-apt.log" 2>&1 || status=$?

  if [[ $own_policy == true ]]; then
    rm -f /usr/sbin/policy-rc.d
  fi

  if ! command -v mariadbd >/dev/null || ! command -v mariadb-install-db >/dev/null; then
    tail -n 30 "${TMPDIR:-/tmp}/backoffice-mariadb-apt.log" >&2
    fail "apt-get could not install MariaDB (exit $status)"
  fi
  if [[ $status -ne 0 ]]; then
    # Typically a post-install step that tried to reach a service manager; the
    # binaries are in place and this script runs its own server.
    log "warning: apt-get exited with $status but the binaries are installed; going on"
  fi
  log "installed in $((SECONDS - started))s"
}

init_data_dir() {
  [[ -d "$DATA_DIR/mysql" ]] && return

  log "creating a data directory in $DATA_DIR"
  rm -rf "$DATA_DIR"
  mkdir -p "$DATA_DIR"
  mariadb-install-db --no-defaults --user="$OS_USER" --datadir="$DATA_DIR" \
    --auth-root-authentication-method=socket --skip-test-db --skip-name-resolve \
    >"$MARIADB_DIR/install-db.log" 2>&1 ||
    {
      tail -n 30 "$MARIADB_DIR/install-db.log" >&2
      rm -rf "$DATA_DIR"
      fail "mariadb-install-db failed"
    }
}

start_server() {
  if port_taken; then
    fail "something else already listens on 127.0.0.1:$MARIADB_PORT; set MARIADB_PORT"
  fi
  rm -f "$PID_FILE" "$SOCKET"
  : >"$ERROR_LOG"

  # --no-defaults: ignore /etc/mysql, so a system configuration can change
  # nothing here. The character set matches what production uses; the last
  # group drops the fsyncs that make CREATE/DROP DATABASE per test file slow.
  nohup mariadbd --no-defaults --user="$OS_USER" \
    --datadir="$DATA_DIR" --socket="$SOCKET" --pid-file="$PID_FILE" \
    --log-error="$ERROR_LOG" --bind-address=127.0.0.1 --port="$MARIADB_PORT" \
    --skip-name-resolve --max-connections=300 \
    --character-set-server=utf8mb4 --collation-server=utf8mb4_unicode_ci \
    --innodb-buffer-pool-size=256M --innodb-flush-log-at-trx-commit=0 \
    --innodb-doublewrite=0 \
    </dev/null >>"$ERROR_LOG" 2>&1 9>&- &
  local pid=$!

  wait_for_ping "$!"
}

create_account() {
  admin_sql <<SQL || fail "could not create the $DB_USER account and database"
CREATE USER IF NOT EXISTS '$DB_USER'@'127.0.0.1' IDENTIFIED BY '$DB_PASSWORD';
CREATE USER IF NOT EXISTS '$DB_USER'@'localhost' IDENTIFIED BY '$DB_PASSWORD';
ALTER USER '$DB_USER'@'127.0.0.1' IDENTIFIED BY '$DB_PASSWORD';
ALTER USER '$DB_USER'@'localhost' IDENTIFIED BY '$DB_PASSWORD';
-- Global privileges: each e2e test file creates and drops its own database.
GRANT ALL PRIVILEGES ON *.* TO '$DB_USER'@'127.0.0.1';
GRANT ALL PRIVILEGES ON *.* TO '$DB_USER'@'localhost';
CREATE DATABASE IF NOT EXISTS \`$DB_NAME\` CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci;
SQL
}

cmd_start() {
  local started=$SECONDS
  mkdir -p "$MARIADB_DIR"
  install_packages

  local pid
  if pid=$(server_pid); then
    # Perhaps still starting (another `start` just ran): give it the same time.
    wait_for_ping "$pid"
    log "already running (pid $pid) on 127.0.0.1:$MARIADB_PORT"
  else
    init_data_dir
    start_server
    log "started (pid $(server_pid)) on 127.0.0.1:$MARIADB_PORT in $((SECONDS - started))s"
  fi

  create_account
  log "version: $(admin_sql -N -e 'SELECT VERSION()')"
  echo "DB_URL=mysql://$DB_USER:$DB_PASSWORD@127.0.0.1:$MARIADB_PORT/$DB_NAME"
}

cmd_stop() {
  local pid
  if ! pid=$(server_pid); then
    log "not running"
    rm -f "$PID_FILE"
    return
  fi

  log "stopping (pid $pid)"
  mariadb-admin --no-defaults --protocol=socket --socket="$SOCKET" -u"$OS_USER" \
    --connect-timeout=5 shutdown >/dev/null 2>&1 || kill -TERM "$pid" 2>/dev/null || true

  local deadline=$((SECONDS + 30))
  while process_alive "$pid"; do
    if ((SECONDS >= deadline)); then
      log "no clean exit within 30s; killing it"
      kill -KILL "$pid" 2>/dev/null || true
      break
    fi
    sleep 0.2
  done
  rm -f "$PID_FILE"
  log "stopped"
}

cmd_status() {
  local pid
  if pid=$(server_pid) && ping_server; then
    echo "running (pid $pid) on 127.0.0.1:$MARIADB_PORT, data in $DATA_DIR"
  else
    echo "not running"
    return 1
  fi
}

# One start or stop at a time: two servers on one data directory corrupt it.
take_lock() {
  mkdir -p "$MARIADB_DIR"
  exec 9>"$MARIADB_DIR/script.lock"
  flock -w 300 9 || fail "another $0 still runs after 300s"
}

case "${1:-}" in
  start) take_lock && cmd_start ;;
  stop) take_lock && cmd_stop ;;
  status) cmd_status ;;
  *)
    echo "usage: $0 start|stop|status" >&2
    exit 2
    ;;
esac
