"""The web import as capable as the command line (issue 10, item 6): templates, the column-mapping
confirm step, all-or-nothing and partial imports with the rejected rows as a re-importable
download, progress and cancel from a background thread, one import at a time, the job bound to
its uploader's login session, and a 413 page naming the limit."""

from __future__ import annotations

import csv
import io
import re
import threading
from pathlib import Path

import pytest
from openpyxl import load_workbook

from crm.db import unit_of_work
from crm.models_imports import ImportJob
from crm.services import import_jobs as job_svc
from crm.services._common import SYSTEM
from crm.services.users import create_user, get_by_username
from graph import importer, nx_store
from web.blueprints.admin import imports as import_views

from .conftest import SETTINGS, post
from .importflow import confirm, job_of, upload, wait
from .webdata import PASSWORD, uscc

DATA = Path(__file__).resolve().parents[1] / "data"
ROW_ERROR = re.compile(r'data-testid="row-error"><td class="num">第 (\d+) 行</td><td>([^<]+)</td>')


@pytest.fixture(autouse=True)
def _patient(patient):
    """Requests wait for their step (the progress tests shorten it again to see a running job)."""


def csv_bytes(rows: list[list[str]]) -> bytes:
    out = io.StringIO()
    csv.writer(out).writerows(rows)
    return out.getvalue().encode("utf-8-sig")


# ---- 1. templates ------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("kind", "sheet", "first"),
    [("companies", "企业", "统一社会信用代码"), ("relations", "供应关系", "供应方")],
)
def test_template_download_has_headers_and_a_notes_sheet(as_user, kind, sheet, first):
    client = as_user("admin")
    assert f"/admin/import/template/{kind}.xlsx" in client.get("/admin/import").get_data(as_text=True)
    resp = client.get(f"/admin/import/template/{kind}.xlsx")
    assert resp.status_code == 200 and resp.headers["Cache-Control"] == "no-store"
    book = load_workbook(io.BytesIO(resp.data))
    assert book.sheetnames == [sheet, "说明"]
    headers = [c.value for c in book[sheet][1]]
    assert headers[0] == first
    specs = importer.COMPANY_COLUMNS if kind == "companies" else importer.RELATION_COLUMNS
    assert headers == [s.title for s in specs]
    notes = "\n".join(str(v) for row in book["说明"].iter_rows(values_only=True) for v in row if v)
    if kind == "companies":
        assert "公司名称" in notes and "所属区县" in notes  # synonyms accepted
        assert "5000万元人民币" in notes and "美元 7.1" in notes  # money formats, the configured rate
        assert "2012年5月1日" in notes and "注销" in notes and '专精特新"小巨人"' in notes
    else:
        assert "供应商" in notes
    assert client.get("/admin/import/template/other.xlsx").status_code == 404


def test_template_is_the_cli_template(as_user, env):
    """One template: `lianzhao import template companies -o x.xlsx` writes the same workbook, with
    the rates and status words of the configuration in force."""
    ours = load_workbook(io.BytesIO(as_user("admin").get("/admin/import/template/companies.xlsx").data))
    theirs = load_workbook(io.BytesIO(importer.template_workbook("companies", env.cfg["companies"])))
    assert [[c.value for c in r] for r in ours["说明"].iter_rows()] == [
        [c.value for c in r] for r in theirs["说明"].iter_rows()
    ]


# ---- 2. the mapping page and confirm -----------------------------------------------------------
def test_qichacha_export_shows_the_mapping_then_imports_on_confirm(as_user, env):
    client = as_user("admin")
    before = env.store.company_count()
    resp = upload(client, (DATA / "qichacha_export.xlsx").read_bytes(), "企查查导出.xlsx")
    job_id = job_of(resp)
    html = client.get(f"/admin/import/{job_id}").get_data(as_text=True)
    assert "请确认" in html and "尚未写入任何数据" in html
    assert '表头在第 <b data-testid="header-row">3</b> 行' in html  # two title rows above it
    rows = re.findall(
        r'<tr data-testid="column-row"[^>]*><td>([A-Z]+)</td><td>([^<]+)</td>\s*<td>(.*?)</td>\s*<td>(.*?)</td></tr>',
        html,
    )
    mapped = {header: (letter, field, how) for letter, header, field, how in rows}
    assert mapped["企业名称"] == ("B", "企业名称", "标准列名")
    assert mapped["所属区县"][1:] == ("区县", "同义词「所属区县」")
    assert mapped["注册资本"][1] == "注册资本(万元)"
    assert (
        "（忽略）" in mapped["纳税人识别号"][1] and "「统一社会信用代码」已表示" in mapped["纳税人识别号"][2]
    )
    assert "未识别，忽略" in mapped["序号"][2]
    assert "忽略的列：序号" in html
    assert "跳过表头上方的第 1 行：企查查企业数据导出" in html  # every warning of the report
    assert (
        'data-testid="preview"' in html
        and "北京通州示例骨科器械有限公司" in html
        and "5000万元人民币" in html
    )
    assert "0</b> 行有错误" in html and 'data-testid="confirm-partial"' not in html
    assert env.store.company_count() == before  # the check wrote nothing

    page = confirm(client, job_id, "all")
    html = page.get_data(as_text=True)
    assert "导入完成" in html and "新增 8" in html
    assert env.store.company_count() == before + 8
    from graph.identity import normalize_name

    found = env.store.match_companies([], [normalize_name("北京通州示例骨科器械有限公司")])
    (firm,) = env.store.companies(list(found.values()))
    assert firm.is_local and firm.registered_capital == 5000
    assert not list((env.folder / "uploads").glob("*.xlsx"))  # the upload is gone after the import


def test_bad_rows_all_or_nothing_writes_nothing(as_user, env):
    text = (
        "企业名称,统一社会信用代码,省份,营业收入(万元),产业链环节\n"
        f"好企业甲,{uscc(901)},天津市,5000,新能源汽车动力总成/电机控制器\n"
        "坏企业乙,91350100M000100Y44,天津市,5000,新能源汽车动力总成/电机控制器\n"
        ",,天津市,abc,新能源汽车动力总成/电机控制器\n"
    )
    client = as_user("admin")
    before = env.store.company_count()
    job_id = job_of(upload(client, text.encode("utf-8-sig"), "firms.csv"))
    html = client.get(f"/admin/import/{job_id}").get_data(as_text=True)
    errors = ROW_ERROR.findall(html)
    assert [r for r, _ in errors] == ["3", "4"]
    assert "校验位" in errors[0][1] and "企业名称不能为空" in errors[1][1] and "营业收入" in errors[1][1]
    assert re.search(r'data-testid="confirm-all">.*?disabled', html, re.S)  # 确认导入 is off with errors
    # Asked anyway (an old tab, a script): refused by the importer, nothing written.
    page = confirm(client, job_id, "all")
    html = page.get_data(as_text=True)
    assert "导入未执行" in html and "未写入任何数据" in html
    assert env.store.company_count() == before


def test_unreadable_file_is_refused_on_the_upload_page_and_removed(as_user, env):
    client = as_user("admin")
    resp = upload(client, b"PK\x03\x04 not really a zip", "名录.xlsx")
    html = resp.get_data(as_text=True)
    assert resp.status_code == 400 and "名录.xlsx" in html
    assert not list((env.folder / "uploads").glob("*"))
    resp = upload(client, b"x", "firms.xls")
    assert resp.status_code == 400 and "只支持 CSV 或 XLSX" in resp.get_data(as_text=True)


def test_discard_deletes_the_kept_file(as_user, env):
    client = as_user("admin")
    job_id = job_of(upload(client, "企业名称\n甲公司\n".encode("utf-8-sig"), "../../<x>.csv"))
    kept = list((env.folder / "uploads").iterdir())
    assert [p.name for p in kept] == [f"{job_id}.csv"]  # a random name, not the uploaded one
    resp = post(client, f"/admin/import/{job_id}/cancel")
    assert resp.status_code == 303
    assert not list((env.folder / "uploads").iterdir())
    assert "已取消" in client.get(f"/admin/import/{job_id}").get_data(as_text=True)
    assert post(client, f"/admin/import/{job_id}/confirm", {"mode": "all"}).status_code == 400


def test_kept_file_expires_and_is_cleaned(as_user, env):
    client = as_user("admin")
    job_id = job_of(upload(client, "企业名称\n甲公司\n".encode("utf-8-sig"), "a.csv"))
    with unit_of_work(env.session_factory) as s:
        job = s.get(ImportJob, job_id)
        job.expires_at = job.created_at.replace(year=2000)
    client.get("/admin/import")  # the page cleans
    assert not list((env.folder / "uploads").iterdir())
    resp = post(client, f"/admin/import/{job_id}/confirm", {"mode": "all"})
    assert resp.status_code == 400 and "已过期" in resp.get_data(as_text=True)


# ---- 3. partial import and the rejected rows -------------------------------------------------
def test_ten_thousand_rows_with_three_bad_partial_gives_back_exactly_those_three(as_user, env):
    header = ["企业名称", "统一社会信用代码", "省份", "区县", "注册资本", "主营产品"]
    rows = [header]
    bad = {1234: "uscc", 5000: "name", 9999: "money"}
    for i in range(10_000):
        row = [
            f"万行示例企业{i:05d}有限公司",
            uscc(200_000 + i),
            "河北省",
            "三河市",
            "1200万元人民币",
            "电机控制器",
        ]
        if bad.get(i) == "uscc":
            row[1] = row[1][:-1] + ("0" if row[1][-1] != "0" else "1")
        elif bad.get(i) == "name":
            row[0] = ""
        elif bad.get(i) == "money":
            row[4] = "很多钱"
        rows.append(row)
    client = as_user("admin")
    before = env.store.company_count()
    job_id = job_of(upload(client, csv_bytes(rows), "万行名单.csv"))
    html = client.get(f"/admin/import/{job_id}").get_data(as_text=True)
    assert "共 10000 行：9997 行正确，<b>3</b> 行有错误" in html
    assert [r for r, _ in ROW_ERROR.findall(html)] == ["1236", "5002", "10001"]  # as Excel shows them
    assert 'data-testid="confirm-partial"' in html

    page = confirm(client, job_id, "partial")
    html = page.get_data(as_text=True)
    assert "导入完成" in html and "已写入 9997 家企业" in html and "跳过 3 行错误数据" in html
    assert env.store.company_count() == before + 9997

    for fmt in ("csv", "xlsx"):
        resp = client.get(f"/admin/import/{job_id}/rejected.{fmt}")
        assert resp.status_code == 200 and resp.headers["Cache-Control"] == "no-store"
        assert "attachment" in resp.headers["Content-Disposition"]
    text = client.get(f"/admin/import/{job_id}/rejected.csv").data.decode("utf-8-sig")
    back = list(csv.reader(io.StringIO(text)))
    assert back[0] == [*header, "错误原因"]
    assert len(back) == 4  # exactly the three bad rows
    assert [r[1] for r in back[1:]] == [rows[1235][1], rows[5001][1], rows[10000][1]]
    assert "校验位" in back[1][-1] and "企业名称不能为空" in back[2][-1] and "注册资本" in back[3][-1]

    # Fixed in Excel and imported again, 错误原因 column and all.
    book = load_workbook(io.BytesIO(client.get(f"/admin/import/{job_id}/rejected.xlsx").data))
    sheet = book.active
    sheet["B2"] = rows[1235][1][:-1] + rows_check(rows[1235][1])
    sheet["A3"] = "万行示例企业05000有限公司"
    sheet["E4"] = "1200万元"
    data = io.BytesIO()
    book.save(data)
    again = job_of(upload(client, data.getvalue(), "万行名单.错误行.xlsx"))
    html = client.get(f"/admin/import/{again}").get_data(as_text=True)
    assert "0</b> 行有错误" in html and "错误原因" in html  # named as ignored
    html = confirm(client, again, "all").get_data(as_text=True)
    assert "新增 3" in html
    assert env.store.company_count() == before + 10_000


def rows_check(code: str) -> str:
    """The right check character of a code whose last character was spoiled."""
    from graph.identity import uscc_check_char

    return uscc_check_char(code[:17])


# ---- 4. progress, cancel, one at a time, crash ------------------------------------------------
class Gate:
    """Holds a running import at its first progress report until released."""

    def __init__(self):
        self.reached = threading.Event()
        self.release = threading.Event()

    def install(self, monkeypatch):
        real = job_svc.progress

        def slow(session, job_id, phase, done, total):
            cancel = real(session, job_id, phase, done, total)
            if not self.reached.is_set():
                session.commit()  # let the polling request see the first report
                self.reached.set()
                assert self.release.wait(60)
                cancel = cancel or real(session, job_id, phase, done, total)
            return cancel

        monkeypatch.setattr(job_svc, "progress", slow)


def big_file(n: int = 6000) -> bytes:
    rows = [["企业名称", "省份"]] + [[f"进度示例企业{i:05d}", "河北省"] for i in range(n)]
    return csv_bytes(rows)


def test_progress_endpoint_and_cancel_leave_nothing_written(as_user, env, monkeypatch):
    gate = Gate()
    gate.install(monkeypatch)
    monkeypatch.setattr(import_views, "WAIT_SECONDS", 0.05)
    client = as_user("admin")
    before = env.store.company_count()
    job_id = job_of(upload(client, big_file(), "大文件.csv"))
    assert gate.reached.wait(60)
    progress = client.get(f"/admin/import/{job_id}/progress").get_json()
    assert progress == {
        "state": "checking",
        "state_label": "校验中",
        "phase": "校验",
        "done": 2000,
        "total": 6000,
        "finished": False,
        "cancel_requested": False,
        "message": None,
    }
    html = client.get(f"/admin/import/{job_id}").get_data(as_text=True)
    assert 'data-testid="import-progress"' in html and "js/import.js" in html
    assert "已处理 2000 / 6000 行" in html

    # A second import on the same store is refused in Chinese while this one runs.
    other = upload(client, big_file(10), "第二个.csv")
    assert other.status_code == 409 and "同一时间只能进行一个导入" in other.get_data(as_text=True)
    assert "系统管理员正在导入「大文件.csv」" in other.get_data(as_text=True)

    assert post(client, f"/admin/import/{job_id}/cancel").status_code == 303
    gate.release.set()
    assert wait(client, job_id)["state"] == "cancelled"
    assert env.store.company_count() == before
    assert not list((env.folder / "uploads").iterdir())
    assert "已取消：没有写入任何数据" in client.get(f"/admin/import/{job_id}").get_data(as_text=True)
    # The store is free again.
    job_of(upload(client, big_file(10), "第二个.csv"))


def test_cancel_during_the_import_step_writes_nothing(as_user, env, monkeypatch):
    client = as_user("admin")
    before = env.store.company_count()
    job_id = job_of(upload(client, big_file(), "大文件.csv"))
    gate = Gate()
    gate.install(monkeypatch)
    monkeypatch.setattr(import_views, "WAIT_SECONDS", 0.05)
    assert post(client, f"/admin/import/{job_id}/confirm", {"mode": "all"}).status_code == 303
    assert gate.reached.wait(60)
    assert client.get(f"/admin/import/{job_id}/progress").get_json()["state"] == "importing"
    post(client, f"/admin/import/{job_id}/cancel")
    gate.release.set()
    assert wait(client, job_id)["state"] == "cancelled"
    assert env.store.company_count() == before


def test_crash_in_the_store_write_leaves_nothing_and_frees_the_store(as_user, env, monkeypatch):
    """The write is one transaction of the embedded store: rows already sent to SQLite when the
    write fails are rolled back with the rest (Neo4j: tests/neo4j/test_import_jobs_neo4j.py)."""
    client = as_user("admin")
    before = env.store.company_count()
    job_id = job_of(upload(client, big_file(50), "a.csv"))
    real = nx_store.file.insert_companies
    sent = {}

    def crash(conn, rows):
        rows = list(rows)
        real(conn, rows[:10])  # some rows reach the database file...
        sent["n"] = len(rows)
        raise RuntimeError("disk gone")  # ...then the write fails

    monkeypatch.setattr(nx_store.file, "insert_companies", crash)
    html = confirm(client, job_id, "all").get_data(as_text=True)
    assert sent["n"] == 50 and "导入未执行" in html and "没有写入任何数据" in html
    monkeypatch.undo()
    assert env.store.company_count() == before
    reopened = nx_store.NetworkxStore(env.folder / "graph.sqlite3")  # what the file holds
    try:
        assert reopened.company_count() == before
    finally:
        reopened.close()
    job_of(upload(client, big_file(5), "b.csv"))  # the store's slot was released


def test_a_dead_process_job_is_failed_and_frees_the_store(as_user, env):
    client = as_user("admin")
    with unit_of_work(env.session_factory) as s:
        job = job_svc.start(
            s,
            get_by_username(s, "admin"),
            job_id="deadbeef",
            session_token="x",
            kind="companies",
            filename="死掉的.csv",
            stored_name="deadbeef.csv",
            slot=import_views.store_identity(env.cfg),
            keep_minutes=60,
        )
        job.heartbeat_at = job.heartbeat_at.replace(year=2000)
    job_of(upload(client, big_file(5), "b.csv"))
    with unit_of_work(env.session_factory) as s:
        dead = s.get(ImportJob, "deadbeef")
        assert dead.state == "failed" and dead.slot is None and "没有写入任何数据" in dead.message


# ---- the job belongs to its uploader's login session ------------------------------------------
def test_another_user_or_session_cannot_see_or_confirm_the_upload(as_user, env):
    with unit_of_work(env.session_factory) as s:
        create_user(
            s,
            SYSTEM,
            username="admin2",
            display_name="第二管理员",
            role="admin",
            password=PASSWORD + "x",
            settings=SETTINGS,
        )
    owner = as_user("admin")
    before = env.store.company_count()
    job_id = job_of(upload(owner, big_file(5), "a.csv"))
    from .conftest import csrf_token, login

    other = owner.application.test_client()
    assert login(other, "admin2", PASSWORD + "x").status_code == 302
    other.token = csrf_token(other, "/admin/import")
    same_user_elsewhere = as_user("admin")
    for client in (other, same_user_elsewhere):
        for path in ("", "/progress", "/rejected.csv"):
            assert client.get(f"/admin/import/{job_id}{path}").status_code == 404
        assert post(client, f"/admin/import/{job_id}/confirm", {"mode": "all"}).status_code == 404
        assert post(client, f"/admin/import/{job_id}/cancel").status_code == 404
    recruiter = as_user("zhuanyuan")
    assert recruiter.get(f"/admin/import/{job_id}").status_code == 403
    assert env.store.company_count() == before
    # CSRF on both steps
    assert owner.post("/admin/import", data={"kind": "companies"}).status_code == 400
    assert owner.post(f"/admin/import/{job_id}/confirm", data={"mode": "all"}).status_code == 400
    confirm(owner, job_id, "all")
    assert env.store.company_count() == before + 5


# ---- 5. the 413 page names the limit ----------------------------------------------------------
def test_413_page_names_the_configured_limit(app, as_user):
    client = as_user("admin")
    app.config["MAX_CONTENT_LENGTH"] = 2 * 1024 * 1024
    resp = upload(client, b"x" * (3 * 1024 * 1024), "big.csv")
    html = resp.get_data(as_text=True)
    assert resp.status_code == 413 and "文件过大" in html and "超过 2 MB 的上限" in html
    resp = client.post(
        "/admin/import",
        data={
            "kind": "companies",
            "csrf_token": client.token,
            "file": (io.BytesIO(b"x" * (3 * 1024 * 1024)), "b.csv"),
        },
        content_type="multipart/form-data",
        headers={"Accept": "application/json"},
    )
    assert resp.status_code == 413 and "2 MB" in resp.get_json()["error"]


def test_relations_go_through_the_same_two_steps(as_user, env):
    text = f"供应方,采购方,产品,年交易额(万元)\n{uscc(11)},{uscc(1)},控制器,1200\n不存在的供应商,{uscc(1)},电池,300\n"
    client = as_user("admin")
    job_id = job_of(upload(client, text.encode("utf-8-sig"), "供应关系.csv", kind="relations"))
    html = client.get(f"/admin/import/{job_id}").get_data(as_text=True)
    errors = ROW_ERROR.findall(html)
    assert [r for r, _ in errors] == ["3"] and "不存在的供应商" in errors[0][1]
    html = confirm(client, job_id, "partial").get_data(as_text=True)
    assert "已写入 1 条供应关系" in html
