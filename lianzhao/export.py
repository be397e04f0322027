"""Table export for the command line: the implementation lives in web.export (the web's list
downloads use it too, and web may not import from lianzhao); these names stay importable here."""

from web.export import (  # noqa: F401
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
