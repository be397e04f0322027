"""The industrial-chain graph: model (no I/O), store contract and backends, analysis, import, views."""
