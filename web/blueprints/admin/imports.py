"""The import page: an uploaded CSV/XLSX of companies or supply relations goes through
graph.importer; any bad row means nothing is written and every row error is shown."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from flask import abort, current_app, render_template, request
from flask_login import current_user

from crm.services import audit
from graph.importer import COMPANY_COLUMNS, RELATION_COLUMNS, import_companies, import_relations
from graph.tabular import TabularError
from graph.upload_limits import UploadLimits, upload_name
from web import backend

from ._blueprint import bp

IMPORT_KINDS = {"companies": "企业", "relations": "供应关系"}
IMPORT_SUFFIXES = {".csv", ".txt", ".xlsx", ".xlsm"}


@bp.get("/import")
def import_page():
    return render_template(
        "admin/import.html",
        report=None,
        kinds=IMPORT_KINDS,
        company_columns=COMPANY_COLUMNS,
        relation_columns=RELATION_COLUMNS,
    )


@bp.post("/import")
def run_import():
    """Import an uploaded file; any bad row means nothing is written and every row error is shown."""
    kind = request.form.get("kind", "")
    upload = request.files.get("file")
    if kind not in IMPORT_KINDS:
        abort(400, "请选择导入类型")
    error = None
    report = None
    if upload is None or not upload.filename:
        error = "请选择要导入的文件（CSV 或 XLSX）"
    else:
        suffix = Path(upload.filename).suffix.lower()
        if suffix not in IMPORT_SUFFIXES:
            error = "只支持 CSV 或 XLSX 文件（旧版 .xls 请先另存为 .xlsx）"
    if error is None:
        folder = Path(current_app.instance_path) / "uploads"
        folder.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=folder, suffix=suffix)
        os.close(fd)
        # messages name the file as the user knows it, never the server's temporary file
        shown = upload_name(upload.filename)
        try:
            upload.save(tmp)
            store = backend.backend().store
            limits = UploadLimits.from_config(backend.cfg())
            if kind == "companies":
                report = import_companies(
                    store,
                    tmp,
                    district_cfg=backend.cfg()["district"],
                    companies_cfg=backend.cfg()["companies"],
                    limits=limits,
                    display_name=shown,
                )
            else:
                report = import_relations(store, tmp, limits=limits, display_name=shown)
        except TabularError as exc:
            error = str(exc)
        finally:
            Path(tmp).unlink(missing_ok=True)
    if report is not None:
        with backend.unit_of_work() as session:
            audit.record(
                session,
                current_user.orm,
                "import",
                kind,
                None,
                None,
                {
                    "file": upload.filename,
                    "total": report.total,
                    "written": report.written,
                    "rejected": report.rejected,
                    "committed": report.committed,
                },
                request.remote_addr,
            )
    status = 200 if report is not None and report.committed else 400
    return render_template(
        "admin/import.html",
        report=report,
        error=error,
        kind=kind,
        filename=upload.filename if upload else None,
        kinds=IMPORT_KINDS,
        company_columns=COMPANY_COLUMNS,
        relation_columns=RELATION_COLUMNS,
    ), status
