"""An administrator imports firm lists: a file with bad rows shows every row error before anything
is written; a 企查查 export goes upload → how each column was understood → 确认导入 → done; a file
with bad rows is imported partially and its rejected rows are offered for download."""

from __future__ import annotations

from pathlib import Path

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
    check = page.locator("[data-testid=import-check]")
    check.wait_for()
    assert "尚未写入任何数据" in check.inner_text()
    assert page.locator("[data-testid=confirm-all] button").is_disabled()  # all or nothing: not with errors
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


DATA = Path(__file__).resolve().parents[1] / "data"


def test_export_upload_mapping_confirm_done(new_page, web_env):
    before = web_env.store.company_count()
    page = new_page()
    login(page, "admin")
    page.goto("/admin/import")
    screenshot(page, "import_upload")
    page.locator("select[name=kind]").select_option("companies")
    page.locator("input[name=file]").set_input_files(str(DATA / "qichacha_export.xlsx"))
    page.locator("[data-testid=import-form] button[type=submit]").click()
    check = page.locator("[data-testid=import-check]")
    check.wait_for()
    assert page.locator("[data-testid=header-row]").inner_text() == "3"
    mapping = page.locator("[data-testid=column-map]").inner_text()
    assert "所属区县" in mapping and "同义词「所属区县」" in mapping and "未识别，忽略" in mapping
    assert "北京通州示例骨科器械有限公司" in page.locator("[data-testid=preview]").inner_text()
    assert web_env.store.company_count() == before
    screenshot(page, "import_mapping")
    page.locator("[data-testid=confirm-all] button").click()
    report = page.locator("[data-testid=import-report]")
    report.wait_for()
    assert "导入完成" in report.inner_text() and "新增 8" in report.inner_text()
    assert web_env.store.company_count() == before + 8
    screenshot(page, "import_done")


def test_partial_import_offers_the_rejected_rows(new_page, web_env, tmp_path):
    path = tmp_path / "名单.csv"
    path.write_text(
        "企业名称,统一社会信用代码,省份\n部分导入甲,,天津市\n部分导入乙,91350100M000100Y44,天津市\n",
        encoding="utf-8-sig",
    )
    before = web_env.store.company_count()
    page = new_page()
    login(page, "admin")
    page.goto("/admin/import")
    page.locator("input[name=file]").set_input_files(str(path))
    page.locator("[data-testid=import-form] button[type=submit]").click()
    page.locator("[data-testid=confirm-partial] button").click()
    page.locator("[data-testid=rejected-downloads]").wait_for()
    assert web_env.store.company_count() == before + 1
    with page.expect_download() as info:
        page.locator("[data-testid=rejected-csv]").click()
    text = Path(info.value.path()).read_text(encoding="utf-8-sig")
    assert text.splitlines()[0] == "企业名称,统一社会信用代码,省份,错误原因" and len(text.splitlines()) == 2
    screenshot(page, "import_partial")
