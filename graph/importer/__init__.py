"""Import companies and supply relations from CSV/XLSX into any GraphStore.

The rules live here (views and the CLI only call and render): every row is validated and built
first, then written with ONE store call per kind, so a bad file or Ctrl-C never leaves half an
import behind. Existing firms are matched by credit code, then by normalised name, and updated in
place (re-importing never duplicates). Firms without 产业链环节 are placed by evidence or sent to 待确认.

One module per job; this package re-exports what callers use (``graph.importer.import_companies``):

* ``columns``: the importable columns and header mapping (ColumnSpec, COMPANY_COLUMNS, ...)
* ``cells``: cell parsers (numbers, 是/否, years, qualifications)
* ``lookups``: zones and chain nodes by name
* ``placement``: placement by evidence (source, confidence, matched words; 待确认 below the threshold)
* ``synonyms`` (+ synonyms.toml): vendor headers and designations, in one editable file
* ``report``: ImportReport and per-row error bookkeeping
* ``companies`` / ``relations``: the two imports (parse every row, match, one store write)
* ``run``: run_import, the one entry point the CLI and the web's import jobs call (config picked once)
* ``template``: the XLSX template with its 说明 sheet (CLI and web download)
"""

from __future__ import annotations

from .cells import (
    parse_bool,
    parse_date,
    parse_designations,
    parse_money,
    parse_number,
    parse_qualifications,
    parse_status,
    parse_year,
)
from .columns import (
    COMPANY_COLUMNS,
    RELATION_COLUMNS,
    ColumnMapping,
    ColumnSpec,
    ImportFileError,
    fold,
    map_columns,
    understand_columns,
)
from .companies import import_companies
from .lookups import NodeResolver, ZoneResolver
from .placement import EvidencePlacer, PlacementResult
from .relations import import_relations
from .report import (
    PROGRESS_EVERY,
    REJECT_REASON_TITLE,
    ImportReport,
    Progress,
    RowError,
    notes,
    report_dict,
)
from .run import KINDS, SUFFIXES, run_import
from .template import template_workbook

__all__ = [
    "COMPANY_COLUMNS",
    "KINDS",
    "SUFFIXES",
    "PROGRESS_EVERY",
    "REJECT_REASON_TITLE",
    "RELATION_COLUMNS",
    "ColumnSpec",
    "ImportFileError",
    "ImportReport",
    "ColumnMapping",
    "EvidencePlacer",
    "PlacementResult",
    "NodeResolver",
    "Progress",
    "RowError",
    "ZoneResolver",
    "fold",
    "import_companies",
    "import_relations",
    "map_columns",
    "notes",
    "report_dict",
    "run_import",
    "template_workbook",
    "understand_columns",
    "parse_bool",
    "parse_date",
    "parse_designations",
    "parse_money",
    "parse_status",
    "parse_number",
    "parse_qualifications",
    "parse_year",
]
