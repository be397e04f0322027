#!/usr/bin/env bash
# The whole test suite, on a fresh machine: installs what the tests need (Debian packages,
# Python packages, Neo4j jars), starts Neo4j and PostgreSQL in throw-away folders, runs pytest,
# and stops the servers again. Extra arguments go to pytest.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh

# Static checks first (seconds): lint and formatting, types of graph/ and crm/. The layers and the
# absence of import cycles are a test (tests/test_architecture.py, import-linter).
echo "==> ruff（代码规范与格式）、mypy（graph/、crm/ 类型检查）"
.venv/bin/ruff check .
.venv/bin/ruff format --check .
.venv/bin/mypy

bash scripts/system-deps.sh

cleanup() {
  [ -x scripts/neo4j.sh ] && bash scripts/neo4j.sh stop || true
  [ -x scripts/postgres.sh ] && bash scripts/postgres.sh stop || true
}
trap cleanup EXIT

# Each start script prints `export VAR=...` lines; a server that cannot start stops the run here
# (the tests that need it would fail anyway, and CI must not skip them).
start_server() {
  local out
  if ! out=$(bash "scripts/$1.sh" start); then
    echo "错误：无法启动 $1（见上方日志）" >&2
    exit 1
  fi
  eval "$out"
}
start_server neo4j
start_server postgres

set +e
.venv/bin/python -m pytest "$@"
rc=$?
set -e
exit $rc
