"""One entry point for every caller of an import (the command line, the web's import jobs): the
configuration sections an import reads are picked here once, so both run the same import."""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

from ..store import GraphStore
from ..upload_limits import UploadLimits
from .companies import import_companies
from .relations import import_relations
from .report import ImportReport, Progress

# What can be imported, with the name users see.
KINDS: dict[str, str] = {"companies": "企业", "relations": "供应关系"}
# Files an import reads (graph.tabular): CSV in any supported encoding, XLSX workbooks.
SUFFIXES = (".csv", ".txt", ".xlsx", ".xlsm")


def run_import(
    store: GraphStore,
    kind: str,
    path: str | os.PathLike[str],
    cfg: Mapping[str, Any],
    *,
    partial: bool = False,
    dry_run: bool = False,
    progress: Progress | None = None,
    display_name: str | None = None,
) -> ImportReport:
    """Import `path` as `kind` ("companies" | "relations") with the limits and rules of `cfg`
    (the loaded config.toml: [import] limits, [district], [companies]).

    Raises TabularError (InvalidInput) when the file cannot be read, ValueError for bad [import]
    limits; whatever `progress` raises (Ctrl-C, a cancelled job) leaves the store untouched.
    """
    if kind not in KINDS:
        raise ValueError(f"unknown import kind {kind!r}")
    limits = UploadLimits.from_config(dict(cfg))
    if kind == "companies":
        return import_companies(
            store,
            path,
            district_cfg=cfg.get("district"),
            companies_cfg=cfg.get("companies"),
            partial=partial,
            progress=progress,
            dry_run=dry_run,
            limits=limits,
            display_name=display_name,
        )
    return import_relations(
        store,
        path,
        partial=partial,
        progress=progress,
        limits=limits,
        display_name=display_name,
        dry_run=dry_run,
    )
