"""监测 pages: indicators with the policy's targets, entry and import, the ledgers, the report,
and the dashboard's period panel agreeing with the weekly report on every number."""

from __future__ import annotations

import io
import re
from datetime import timedelta

from docx import Document
from openpyxl import Workbook, load_workbook

from crm.db import unit_of_work
from crm.models import utcnow
from crm.monitoring import week_of
from crm.services.activities import add_activity
from crm.services.leads import transition
from crm.services.users import get_by_username
from crm.settings import CrmSettings

from .conftest import post

ROW = re.compile(
    r'data-testid="period-figure"><td>([^<]+)</td><td data-testid="fig-value">([^<]+)</td><td>([^<]*)</td>'
)


def xlsx(rows) -> io.BytesIO:
    wb = Workbook()
    for row in rows:
        wb.active.append(row)
    buf = io.BytesIO()
    wb.save(buf)
    buf.seek(0)
    return buf


def test_indicators_page_shows_the_policy_targets(as_user, leads):
    html = as_user("lingdao").get("/monitoring/").get_data(as_text=True)
    assert html.count('data-testid="indicator-row"') == 12
    for text in ("全区规模以上先进制造业总产值", "27.3%", "28.3%", "突破3", "亿元/平方公里"):
        assert text in html
    assert 'data-testid="value-form"' not in html  # leaders read, managers enter ([monitoring] value_editors)
    assert as_user("zhuanyuan").get("/monitoring/").status_code == 403
    assert as_user("admin").get("/monitoring/").status_code == 403
    html25 = as_user("lingdao").get("/monitoring/?year=2025").get_data(as_text=True)
    assert "突破3" in html25 and "28.3%" in html25


def test_manager_enters_corrects_and_imports(as_user, leads):
    mgr = as_user("jingli")
    resp = post(
        mgr,
        "/monitoring/values",
        {"indicator": "value_added", "period": "2024-Q2", "value": "120", "source": "区统计局"},
    )
    assert resp.status_code == 302
    post(
        mgr,
        "/monitoring/values",
        {
            "indicator": "value_added",
            "period": "2024-Q2",
            "value": "126",
            "source": "区统计局",
            "note": "更正",
        },
    )
    hist = mgr.get("/monitoring/indicators/value_added").get_data(as_text=True)
    assert "126" in hist and "120" in hist and "更正了前一次填报" in hist
    bad = xlsx(
        [
            ["指标编号", "期间", "数值"],
            ["output_value", "2024-Q3", "480"],
            ["hightech_share", "2024-Q3", "abc"],
        ]
    )
    mgr.post(
        "/monitoring/values/import",
        data={"csrf_token": mgr.token, "file": (bad, "q3.xlsx")},
        content_type="multipart/form-data",
    )
    page = mgr.get("/monitoring/?year=2024").get_data(as_text=True)
    assert "未导入任何数据" in page and "第 3 行" in page
    assert (
        'data-indicator="output_value"' in page
        and "480" not in page.split('data-indicator="output_value"')[1].split("</tr>")[0]
    )
    good = xlsx(
        [
            ["指标编号", "期间", "数值"],
            ["output_value", "2024-Q3", "480"],
            ["hightech_share", "2024-Q3", "27.5"],
        ]
    )
    mgr.post(
        "/monitoring/values/import",
        data={"csrf_token": mgr.token, "file": (good, "q3.xlsx")},
        content_type="multipart/form-data",
    )
    page = mgr.get("/monitoring/?year=2024").get_data(as_text=True)
    row = page.split('data-indicator="output_value"')[1].split("</tr>")[0]
    assert "480" in row and "进度滞后" in row  # below 650 × 274/366
    assert (
        mgr.post("/monitoring/values", data={"indicator": "value_added"}).status_code == 400
    )  # no CSRF token


def test_ledgers_and_exports(as_user, leads):
    mgr = as_user("jingli")
    html = mgr.get("/monitoring/tasks").get_data(as_text=True)
    assert html.count('data-testid="task-row"') == 20 and "强化产业精准补链招商" in html
    post(
        mgr,
        "/monitoring/tasks/m13/report",
        {"period": "2026-11", "status": "已完成", "progress": "名录已建立"},
    )
    assert "名录已建立" in mgr.get("/monitoring/tasks?task=m13").get_data(as_text=True)
    resp = mgr.get("/monitoring/tasks.xlsx")
    assert resp.headers["Cache-Control"] == "no-store"
    assert load_workbook(io.BytesIO(resp.data)).active["A1"].value == "先进制造业三年行动计划任务台账"
    rec = as_user("zhuanyuan")
    assert rec.get("/monitoring/").status_code == 403
    assert (
        rec.get("/monitoring/projects").get_data(as_text=True).count('data-testid="project-row"') == 3
    )  # own + pool
    post(
        rec,
        f"/monitoring/projects/{leads.key}/coordination",
        {"issue": "需协调用地 50 亩", "solver": "区规自分局"},
    )
    html = mgr.get("/monitoring/projects?sector=nev").get_data(as_text=True)
    assert html.count('data-testid="project-row"') == 3 and "需协调用地 50 亩" in html
    assert (
        mgr.get("/monitoring/projects?key=1").get_data(as_text=True).count('data-testid="project-row"') == 1
    )
    ws = load_workbook(io.BytesIO(mgr.get("/monitoring/projects.xlsx?sector=nev").data)).active
    assert ws["A1"].value == "招商项目台账（新能源智能汽车）" and ws.page_setup.orientation == "landscape"
    assert any(c.value == "需协调用地 50 亩" for row in ws.iter_rows() for c in row)


def test_dashboard_and_weekly_report_agree_on_every_number(env, as_user, leads):
    settings = CrmSettings.from_config(env.cfg)
    today = settings.local_today(utcnow())
    with unit_of_work(env.session_factory) as s:
        rec = get_by_username(s, "zhuanyuan")
        add_activity(s, rec, leads.own, kind="拜访", occurred_on=today, outcome="初次拜访", settings=settings)
        add_activity(s, rec, leads.key, kind="会议", occurred_on=today, outcome="洽谈", settings=settings)
        add_activity(
            s,
            rec,
            leads.key,
            kind="拜访",
            occurred_on=today - timedelta(days=400),
            outcome="旧",
            settings=settings,
        )
        transition(s, rec, leads.own, "接洽", settings=settings)
    week = week_of(today)
    leader = as_user("lingdao")
    dash = leader.get(f"/dashboard/?period=range&start={week.start}&end={week.end}").get_data(as_text=True)
    panel = ROW.findall(dash)
    assert len(panel) == 7 and dict((k, v) for k, v, _ in panel)["新增线索"] == "4 条"
    assert dict((k, v) for k, v, _ in panel)["走访企业"] == "1 次"
    docx = leader.get(f"/monitoring/report.docx?kind=weekly&date={today}")
    assert docx.headers["Cache-Control"] == "no-store"
    doc = Document(io.BytesIO(docx.data))
    table = [[c.text for c in row.cells] for row in doc.tables[0].rows][1:]
    assert [tuple(r) for r in table] == panel  # label, this period, 同比: the same on both
    key = re.search(r'data-testid="fig-key">([^<]+)<', dash)[1]
    overdue = re.search(r'data-testid="fig-overdue">(\d+) 条<', dash)[1]
    text = "\n".join(p.text for p in doc.paragraphs)
    ready, total = (int(x) for x in key.split(" / "))
    assert f"在库重点项目 {total} 个" in text and f"已全部落实 {ready} 个" in text
    assert f"超期未跟进线索 {overdue} 条" in text
    off = re.search(r'data-testid="off-track-count">(\d+)<', dash)[1]
    assert f"进度滞后 {off} 项" in text
    view = leader.get(f"/monitoring/report?kind=weekly&date={today}").get_data(as_text=True)
    assert "招商工作周报" in view and all(v in view for _, v, _ in panel)
    month = leader.get(f"/monitoring/report.docx?kind=monthly&date={today}")
    assert "招商工作月报" in "\n".join(p.text for p in Document(io.BytesIO(month.data)).paragraphs)


def test_dashboard_period_choices(as_user, leads):
    leader = as_user("lingdao")
    for kind in ("month", "quarter", "year"):
        html = leader.get(f"/dashboard/?period={kind}").get_data(as_text=True)
        assert 'data-testid="period-panel"' in html and 'data-testid="indicator-panel"' in html
        assert 'data-testid="task-panel"' in html
    assert leader.get("/dashboard/?period=range&start=2026-02-01&end=2026-01-01").status_code == 400
