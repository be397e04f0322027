"""The review's zip bomb and oversized CSVs uploaded through 系统管理 → 数据导入: refused at once,
with the uploaded file's own name in the message (never the server's temporary file)."""

from __future__ import annotations

import io
import re
import time
import tracemalloc

import pytest

from tests.upload_bombs import xlsx_bomb

from .conftest import post


@pytest.fixture(scope="module")
def bomb_bytes(tmp_path_factory):
    return xlsx_bomb(tmp_path_factory.mktemp("bomb") / "b.xlsx", unpacked_mb=400).read_bytes()


def _upload(client, data: bytes, name: str):
    return post(
        client,
        "/admin/import",
        {"kind": "companies", "file": (io.BytesIO(data), name)},
        content_type="multipart/form-data",
    )


def test_zip_bomb_upload_is_refused_within_2_s(as_user, env, bomb_bytes):
    client = as_user("admin")
    before = env.store.company_count()
    tracemalloc.start()
    t0 = time.perf_counter()
    resp = _upload(client, bomb_bytes, "企业名单（天眼查导出）.xlsx")
    elapsed = time.perf_counter() - t0
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    html = resp.get_data(as_text=True)
    print(f"zip bomb via the web: {elapsed:.3f} s, peak {peak / 1024 / 1024:.1f} MB traced")
    assert resp.status_code == 400 and elapsed < 2.0 and peak < 200 * 1024 * 1024
    assert "企业名单（天眼查导出）.xlsx" in html and "压缩比超过 100:1" in html
    assert not re.search(r"tmp\w+\.xlsx", html)  # the temporary file's name never shows
    assert env.store.company_count() == before
    assert not list((env.folder / "uploads").glob("*"))  # nothing left behind


def test_broken_workbook_names_the_uploaded_file(as_user):
    resp = _upload(as_user("admin"), b"PK\x03\x04 not really a zip", "名录.xlsx")
    html = resp.get_data(as_text=True)
    assert resp.status_code == 400 and "名录.xlsx" in html and not re.search(r"tmp\w+\.xlsx", html)


def test_csv_with_a_runaway_line_is_refused_naming_the_limit(as_user, env):
    env.cfg.setdefault("import", {})["max_line_chars"] = 2000
    text = "企业名称,统一社会信用代码\n" + "甲" * 5000 + ",x\n"
    resp = _upload(as_user("admin"), text.encode("utf-8-sig"), "企业.csv")
    html = resp.get_data(as_text=True)
    assert resp.status_code == 400 and "「企业.csv」第 2 行超过 2000 个字符的上限" in html
