"""附件 in the browser (issue 13's "Done when"): a recruiter uploads a PDF with a Chinese name on
a lead, sees it listed and downloads it under its own name; a recruiter of another team who opens
the download URL is refused."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.browser.conftest import login, screenshot

pytestmark = pytest.mark.browser
SEEDED_LEADS = True

PDF = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"


def test_upload_list_download_and_refusal_by_url(new_page, web_env):
    lead_id = web_env.seeded.own  # 精控电驱科技, owned by 张专员 (nev team)
    rec = new_page()
    login(rec, "zhuanyuan")
    rec.goto(f"/leads/{lead_id}")
    box = rec.locator("[data-testid=attachments]")
    assert "尚无附件" in box.inner_text()
    rec.set_input_files(
        "[data-testid=attachment-files]",
        files=[{"name": "投资合作协议（盖章版）.pdf", "mimeType": "application/pdf", "buffer": PDF}],
    )
    rec.fill("[data-testid=attachment-form] input[name=note]", "双方盖章版")
    rec.click("[data-testid=attachment-upload]")
    assert "已上传 1 个附件" in rec.locator(".flashes").inner_text()
    row = rec.locator("[data-testid=attachment-row]").first
    text = row.inner_text()
    assert "投资合作协议（盖章版）.pdf" in text and "PDF 文档" in text and "张专员" in text
    rec.locator("[data-testid=attachments]").scroll_into_view_if_needed()
    screenshot(rec, "attachments_lead")

    with rec.expect_download() as info:
        row.locator("[data-testid=attachment-link]").click()
    download = info.value
    assert download.suggested_filename == "投资合作协议（盖章版）.pdf"
    assert Path(download.path()).read_bytes() == PDF
    href = row.locator("[data-testid=attachment-link]").get_attribute("href")
    assert href and href.startswith(f"/leads/{lead_id}/attachments/")

    other = new_page()
    login(other, "zhuanyuan2")  # medical team
    response = other.goto(href)
    assert response is not None and response.status == 403
    assert "无权" in other.locator("main").inner_text()
    screenshot(other, "attachments_refused")
