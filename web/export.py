"""Table export for the web's list downloads: the implementation lives in crm/tables.py, so the command
line (lianzhao/export.py) can use it without importing the web package and its app factory."""

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
