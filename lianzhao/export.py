"""Table export for the command line: the implementation lives in crm/tables.py (the web's list
downloads use it too through web/export.py, and web may not import from lianzhao); these names stay
importable here. Not through web.export: importing the web package builds its app factory's imports
(Flask, every blueprint, ~3 s of CPU), which `lianzhao chains` must not pay."""

from crm.tables import (  # noqa: F401
    FORMATS,
    FORMULA_PREFIXES,
    KINDS,
    MIME_TYPES,
    SUFFIXES,
    Column,
    ExportError,
    format_for_path,
    neutralise,
    render_csv,
    render_json,
    render_table,
    render_xlsx,
    table_bytes,
    write_table,
)
