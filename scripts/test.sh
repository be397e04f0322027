#!/usr/bin/env bash
# The whole test suite, on a fresh machine: installs what the tests need (Debian packages,
# Python packages, Neo4j jars), starts Neo4j and PostgreSQL in throw-away folders, runs pytest,
# and stops the servers again. Extra arguments go to pytest.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
bash scripts/system-deps.sh

cleanup() {
  [ -x scripts/neo4j.sh ] && bash scripts/neo4j.sh stop || true
  [ -x scripts/postgres.sh ] && bash scripts/postgres.sh stop || true
}
trap cleanup EXIT

if [ -x scripts/neo4j.sh ]; then
  eval "$(bash scripts/neo4j.sh start)"
fi
if [ -x scripts/postgres.sh ]; then
  eval "$(bash scripts/postgres.sh start)"
fi

set +e
.venv/bin/python -m pytest "$@"
rc=$?
set -e
exit $rc
