"""graph/neo4j_bulk.py without a server: the neo4j-admin CSV files and arguments it writes."""

from __future__ import annotations

import csv

from graph.backend_checks import SEPARATOR
from graph.neo4j_bulk import admin_args, write_csv
from graph.nx_store import NetworkxStore
from tests.contract.test_nx_store_file import fill


def _rows(path):
    with path.open(encoding="utf-8", newline="") as f:
        return list(csv.reader(f))


def test_csv_holds_every_firm_link_and_supply_typed(tmp_path):
    store = NetworkxStore(None)
    fill(store)
    files = write_csv(store, tmp_path)
    assert (files.firms, files.links) == (
        5,
        sum(len(c.node_ids) for c in store.companies(store.company_ids())),
    )
    by_label = dict(files.nodes)
    local, outside = _rows(by_label["Company:Local"]), _rows(by_label["Company"])
    header = local[0]
    assert header[0] == "id:ID(Company)" and "is_local:boolean" in header and "revenue:double" in header
    assert "qualifications:string[]" in header and "employees:long" in header and header[-1] == "search_text"
    assert sorted(r[0] for r in local[1:]) == ["L-a", "L-b", "L-c"]
    assert sorted(r[0] for r in outside[1:]) == ["O-x", "O-y"]
    row = dict(zip(header, next(r for r in local[1:] if r[0] == "L-a"), strict=True))
    assert row["is_local:boolean"] == "true" and row["qualifications:string[]"] == SEPARATOR.join(
        ("专精特新", "上市")
    )
    assert row["uscc"] == "91350100M000100Y43" and row["former_names:string[]"] == ""  # empty: no property
    supplies = _rows(dict(files.relationships)["SUPPLIES"])
    assert len(supplies) - 1 == files.supplies == 4
    assert _rows(by_label["Meta"])[1][-1] == "3"  # opening the store derives the counters (layout 4)


def test_admin_arguments_name_the_database_before_the_files(tmp_path):
    store = NetworkxStore(None)
    fill(store)
    args = admin_args(write_csv(store, tmp_path), "graphdb")
    assert args[:4] == ["database", "import", "full", "graphdb"]  # a trailing name would be read as a file
    assert f"--array-delimiter={SEPARATOR}" in args and "--overwrite-destination=true" in args
    assert any(a.startswith("--nodes=Company:Local=") for a in args)
    assert any(a.startswith("--relationships=SUPPLIES=") for a in args)
    assert f"--report-file={tmp_path / 'import.report'}" in args  # not into the current directory
