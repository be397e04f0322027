#!/usr/bin/env bash
# The main job on a fresh machine: install, create the instance with seed + demo data on the
# embedded graph store, then start the web app (demo accounts are printed on first run).
# Extra arguments go to `lianzhao serve` (e.g. --port 8080).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
LZ=.venv/bin/lianzhao
# Idempotent: seeds an empty instance, leaves an existing one as it is.
$LZ init --demo
if $LZ serve --help >/dev/null 2>&1; then
  exec $LZ serve "$@"
else
  # Before the web app existed this printed the report; kept as a fallback.
  $LZ chains
  $LZ gaps --chain med-device
  $LZ targets --chain med-device --top 15
fi
