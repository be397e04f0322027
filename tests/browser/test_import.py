"""An administrator imports a firm list with bad rows: every row error is shown and nothing is
written."""

from __future__ import annotations

import pytest

from tests.browser.conftest import login, screenshot

pytestmark = pytest.mark.browser
SEEDED_LEADS = True


BAD_CSV = (
    "企业名称,统一社会信用代码,省份,营业收入(万元),产业链环节\n"
    "好企业甲,91110112MA0000102Y,天津市,5000,新能源汽车动力总成/电机控制器\n"
    "坏企业乙,91350100M000100Y44,天津市,5000,新能源汽车动力总成/电机控制器\n"
    ",,天津市,abc,新能源汽车动力总成/电机控制器\n"
)


def test_import_with_bad_rows_shows_each_error_and_writes_nothing(new_page, web_env, tmp_path):
    before = web_env.store.company_count()
    path = tmp_path / "企业名单.csv"
    path.write_text(BAD_CSV, encoding="utf-8-sig")
    page = new_page()
    login(page, "admin")
    page.goto("/admin/import")
    page.locator("select[name=kind]").select_option("companies")
    page.locator("input[name=file]").set_input_files(str(path))
    page.locator("[data-testid=import-form] button[type=submit]").click()
    report = page.locator("[data-testid=import-report]")
    report.wait_for()
    assert "未写入任何数据" in report.inner_text()
    errors = page.locator("[data-testid=row-error]").all_inner_texts()
    assert len(errors) == 2
    assert "第 3 行" in errors[0] and "校验位错误" in errors[0]
    assert "第 4 行" in errors[1] and "企业名称不能为空" in errors[1] and "不是有效数字" in errors[1]
    assert web_env.store.company_count() == before
    screenshot(page, "p2-import-errors")
    page.goto("/admin/users")
    screenshot(page, "p2-admin-users")
    page.goto("/admin/settings")
    screenshot(page, "p2-admin-settings")
