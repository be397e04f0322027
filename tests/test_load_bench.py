"""The pure helpers of bench/load_bench.py: reading the server scripts' exports, counting an import
file's rows, and the results table's rows (one column per heading, old runs still rendered)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def bench():
    sys.path.insert(0, str(ROOT / "bench"))
    import load_bench

    return load_bench


def _run(**extra) -> dict:
    r = {
        "measured": "2026-12-02 06:00 UTC",
        "git": "abc1234",
        "database": "postgresql",
        "stale_analysis": True,
        "firms": 100005,
        "clients": 50,
        "duration": 60,
        "workers": 2,
        "threads": 4,
        "import": {"start": 20.0, "end": 48.0, "rc": 0},
        "import_firms": 50000,
        "requests": 1600,
        "errors": 0,
        "page_p50": 80.0,
        "page_p95": 250.0,
        "page_server_p50": 60.0,
        "page_server_p95": 200.0,
        "before_import": {"p95": 200.0},
        "during_import": {"p95": 290.0},
        "after_import": {"p95": 240.0},
        "acts_sent_ok": 170,
        "acts_stored": 170,
        "edits_ok": 180,
        "edits_lost": 0,
        "server_cpu_s": 40.0,
        "wall_s": 88.0,
        "load_before": 1.0,
        "load_after": 2.5,
    }
    r.update(extra)
    return r


def _cells(row: str) -> list[str]:
    return [c.strip() for c in row.strip().strip("|").split("|")]


def test_exports_of_the_server_scripts_are_read(bench):
    neo4j = "export NEO4J_URI=bolt://127.0.0.1:7745; export NEO4J_USER=neo4j; export NEO4J_PASSWORD=aB3dE\n"
    assert bench.parse_exports(neo4j) == {
        "NEO4J_URI": "bolt://127.0.0.1:7745",
        "NEO4J_USER": "neo4j",
        "NEO4J_PASSWORD": "aB3dE",
    }
    pg = "export LIANZHAO_TEST_PG_URL=postgresql+psycopg://postgres@127.0.0.1:5495/lianzhao_test\n"
    assert bench.parse_exports(pg)["LIANZHAO_TEST_PG_URL"].endswith(":5495/lianzhao_test")


def test_import_rows_count_records_not_lines(bench, tmp_path):
    f = tmp_path / "companies.csv"
    f.write_text('\ufeff企业名称,主营产品\n甲公司,"传感器\n芯片"\n乙公司,电池\n', encoding="utf-8")
    assert bench.csv_rows(f) == 2


def test_a_neo4j_run_has_its_graph_and_import_check_in_the_row(bench):
    row = bench.markdown_row(
        _run(graph="neo4j", graph_before=100005, graph_after=150004, import_rows=50000, db_cpu_s=61.4)
    )
    cells = _cells(row)
    assert len(cells) == len(_cells(bench.HEADER))
    heading = dict(zip(_cells(bench.HEADER), cells, strict=True))
    assert heading["graph"] == "neo4j"
    assert heading["import in graph"] == "49,999 of 50,000"  # a firm missing shows
    assert heading["graph + CRM server CPU s"] == "61"
    assert heading["lost"] == "0"


def test_runs_logged_before_the_graph_column_still_render(bench):
    cells = _cells(bench.markdown_row(_run(edits_lost=1, acts_stored=168)))
    heading = dict(zip(_cells(bench.HEADER), cells, strict=True))
    assert heading["graph"] == "embedded"
    assert heading["import in graph"] == "—"
    assert heading["graph + CRM server CPU s"] == "—"
    assert heading["lost"] == "3"  # one edit and two activities acknowledged but not stored
