#!/usr/bin/env bash
# Throw-away PostgreSQL for tests and benchmarks, from Debian's `postgresql` package (installed by
# scripts/system-deps.sh; this script installs nothing).
#   start: initdb in .pgdata/ (as the `postgres` OS user when run as root), listen on 127.0.0.1
#          port $PGPORT (default 5433), wait until ready, create database lianzhao_test, and print
#          ONLY `export LIANZHAO_TEST_PG_URL=...` on stdout (scripts/test.sh evals it).
#   stop:  stop the server and remove .pgdata/.
# Progress and errors go to stderr.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)
PORT=${PGPORT:-5433}
DB=lianzhao_test
STATE="$ROOT/.pgdata"

log() { echo "$@" >&2; }

bindir() {
  local d
  d=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1 || true)
  if [ -z "$d" ] || [ ! -x "$d/pg_ctl" ]; then
    log "错误：未找到 PostgreSQL（请先运行 scripts/system-deps.sh 安装 Debian 软件包 postgresql）"
    exit 1
  fi
  echo "$d"
}

as_pg() {
  # From / so that the postgres user need not be able to enter the checkout (paths are absolute).
  if [ "$(id -u)" = 0 ]; then (cd / && runuser -u postgres -- "$@"); else "$@"; fi
}

datadir() {
  # The cluster lives in .pgdata/ unless the postgres user cannot reach this folder (a checkout
  # under /root, say); then in /tmp, with .pgdata/location pointing at it.
  if [ -f "$STATE/location" ]; then cat "$STATE/location"; else echo "$STATE/cluster"; fi
}

start() {
  local bin data sock
  bin=$(bindir)
  mkdir -p "$STATE"
  data=$(datadir)
  if [ ! -f "$STATE/location" ]; then
    if [ "$(id -u)" = 0 ] && ! runuser -u postgres -- test -x "$STATE" 2>/dev/null; then
      data=$(mktemp -d /tmp/lianzhao-pgdata.XXXXXX)/cluster
    fi
    echo "$data" > "$STATE/location"
  fi
  sock="$(dirname "$data")/run"
  if [ ! -f "$data/PG_VERSION" ]; then
    log "==> 初始化 PostgreSQL 测试集群：$data"
    mkdir -p "$data" "$sock"
    [ "$(id -u)" = 0 ] && chown -R postgres:postgres "$(dirname "$data")"
    as_pg "$bin/initdb" -D "$data" --username=postgres --auth=trust --encoding=UTF8 \
      --locale=C.UTF-8 >&2
  fi
  if ! as_pg "$bin/pg_ctl" -D "$data" status >/dev/null 2>&1; then
    log "==> 启动 PostgreSQL（127.0.0.1:$PORT）"
    as_pg "$bin/pg_ctl" -D "$data" -l "$(dirname "$data")/server.log" -w -t 60 \
      -o "-p $PORT -k $sock -c listen_addresses=127.0.0.1 -c fsync=off -c full_page_writes=off" \
      start >&2 || { cat "$(dirname "$data")/server.log" >&2; exit 1; }
  fi
  for _ in $(seq 1 60); do
    as_pg "$bin/pg_isready" -q -h 127.0.0.1 -p "$PORT" && break
    sleep 0.5
  done
  if ! as_pg "$bin/psql" -h 127.0.0.1 -p "$PORT" -U postgres -tAc \
      "SELECT 1 FROM pg_database WHERE datname = '$DB'" | grep -q 1; then
    as_pg "$bin/psql" -q -h 127.0.0.1 -p "$PORT" -U postgres -c "CREATE DATABASE $DB" >&2
  fi
  echo "export LIANZHAO_TEST_PG_URL=postgresql+psycopg://postgres@127.0.0.1:$PORT/$DB"
}

stop() {
  local bin data
  [ -d "$STATE" ] || return 0
  bin=$(bindir)
  data=$(datadir)
  if [ -f "$data/PG_VERSION" ] && as_pg "$bin/pg_ctl" -D "$data" status >/dev/null 2>&1; then
    log "==> 停止 PostgreSQL"
    as_pg "$bin/pg_ctl" -D "$data" -m fast -w stop >&2
  fi
  case "$data" in /tmp/lianzhao-pgdata.*) rm -rf "$(dirname "$data")" ;; esac
  rm -rf "$STATE"
}

case "${1:-}" in
  start) start ;;
  stop) stop ;;
  *) log "用法：scripts/postgres.sh start|stop"; exit 2 ;;
esac
