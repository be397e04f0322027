"""监测: the plan's indicators and tasks as the policy writes them, values with history, the
all-or-nothing statistics import, designations, task reports, the ledgers and the report."""

from __future__ import annotations

import io
from datetime import date

import pytest
from docx import Document
from openpyxl import load_workbook
from sqlalchemy import func, select

from crm.db import unit_of_work
from crm.ledgers import project_ledger_xlsx, task_ledger_xlsx
from crm.models import AuditLog, utcnow
from crm.models_monitoring import Designation, IndicatorValue
from crm.monitoring import (
    MonitoringSettings,
    OffTrackRule,
    assess,
    parse_period,
    parse_plan,
    quarter,
    week_of,
)
from crm.queries import monitoring as q
from crm.reports import build_report, report_docx
from crm.services import monitoring as svc
from crm.services.activities import add_activity
from crm.services.leads import create_lead, transition
from graph.errors import InvalidInput, PermissionDenied
from graph.tabular import Table
from lianzhao.config import load_config
from seed.plan import read_plan_files

POLICY_TARGETS = {  # 序号: (指标名称, 单位, 2024年目标, 2025年目标), as the policy's table prints them
    1: ("全区规模以上先进制造业总产值", "亿元", "650", "680"),
    2: ("工业增加值", "亿元", "250", "260"),
    3: ("高技术制造总产值占规上工业总产值的比重", "%", "27.3%", "28.3%"),
    4: ("工业战略性新兴产业总产值占规上工业总产值比重", "%", "21.3%", "22%"),
    5: ("全区规模以上先进制造业企业研发经费投入占收入比重", "%", "3", "突破3"),
    6: ("规模以上工业企业中有研发活动企业占比", "%", "50", "55"),
    7: ("国家和市级企业技术中心", "个", "48", "50"),
    8: ("专精特新和小巨人新增企业（家）", "家", "150", "200"),
    9: ("地均工业增加值", "亿元/平方公里", "5", "5.2"),
    10: ("智能工厂", "家", "3", "5"),
    11: ("绿色工厂", "家", "8", "10"),
    12: ("碳中和企业", "家", "3", "4"),
}


@pytest.fixture(scope="module")
def cfg():
    return load_config()


@pytest.fixture(scope="module")
def msettings(cfg):
    return MonitoringSettings.from_config(cfg)


@pytest.fixture(scope="module")
def plan(cfg, msettings):
    return parse_plan(*read_plan_files(msettings.indicators_file, msettings.tasks_file, cfg))


def table(headers, rows):
    return Table(headers, rows, list(range(2, len(rows) + 2)), "xlsx")


def test_twelve_indicators_with_the_policys_targets(plan):
    assert len(plan.indicators) == 12
    for ind in plan.indicators:
        name, unit, t24, t25 = POLICY_TARGETS[ind.no]
        assert (ind.name, ind.unit, ind.target(2024).text, ind.target(2025).text) == (name, unit, t24, t25)
    assert plan.indicator("rd_intensity").target(2025).strict  # 突破3
    assert [c for c in ("产业总量", "产业结构", "产业创新", "产业质量")] == sorted(
        {i.category for i in plan.indicators}, key=("产业总量", "产业结构", "产业创新", "产业质量").index
    )


def test_sixteen_measures_and_the_safeguards_quoted_from_the_policy(plan):
    policy = open("/work/shared/policy/000_87a0a851a7cdb68f.txt", encoding="utf-8").read()
    measures = [t for t in plan.tasks if t.no.isdigit()]
    assert [t.no for t in measures] == [str(i) for i in range(1, 17)]
    assert {t.project for t in measures} == {"蝶变工程", "登峰工程", "筑巢工程", "引凤工程"}
    for t in plan.tasks:
        assert f"{t.no}.{t.title}" in policy if t.no.isdigit() else t.title in policy
        assert all(part in policy for part in t.output.split("；"))
    assert any(t.project == "保障措施" for t in plan.tasks)


def test_periods_and_the_off_track_line(plan):
    assert parse_period("2024年三季度") == quarter(2024, 3)
    assert parse_period("2024年1-9月").key == "2024-09"
    with pytest.raises(InvalidInput):
        parse_period("2024年第5季度")
    assert week_of(date(2026, 12, 2)).start == date(2026, 11, 30)
    output = plan.indicator("output_value")  # cumulative: line rises from 0 to 650
    assert not assess(output, 490, quarter(2024, 3), OffTrackRule()).off_track  # 487.5 expected
    assert assess(output, 480, quarter(2024, 3), OffTrackRule()).off_track
    assert not assess(output, 480, quarter(2024, 3), OffTrackRule(tolerance=0.05)).off_track
    share = plan.indicator("hightech_share")  # level: from last year's 26 to 27.3
    assert assess(share, 26.2, quarter(2024, 3), OffTrackRule(), baseline=26).off_track
    assert not assess(share, 26.2, quarter(2024, 3), OffTrackRule(), baseline=None).off_track
    rd = plan.indicator("rd_intensity")  # 2025: 突破3 means more than 3
    assert assess(rd, 3.0, parse_period("2025"), OffTrackRule()).off_track
    assert not assess(rd, 3.1, parse_period("2025"), OffTrackRule()).off_track


def test_values_keep_history_and_are_audited(sf, people, msettings, plan):
    with unit_of_work(sf) as s:
        svc.record_value(s, people["mgr"], msettings, plan, "value_added", "2024-Q2", "120", "区统计局")
        svc.record_value(
            s, people["mgr"], msettings, plan, "value_added", "2024年二季度", "126.5", "区统计局", "更正"
        )
    with unit_of_work(sf) as s:
        history = q.value_history(s, "value_added")
        assert [v.value for v in history] == [126.5, 120]
        assert history[0].corrects_id == history[1].id
        assert [v.value for v in q.current_values(s, ["value_added"])] == [126.5]
        assert s.scalar(select(func.count()).where(AuditLog.entity == "indicator_value")) == 2
        row = next(r for r in q.indicator_board(s, plan, msettings, 2024) if r.ind.id == "value_added")
        assert row.latest.value == 126.5 and round(row.assessment.progress, 3) == 0.506
        assert not row.assessment.off_track  # 124.7 expected at the end of June
    for who in ("rec", "leader", "admin"):
        with pytest.raises(PermissionDenied), unit_of_work(sf) as s:
            svc.record_value(s, people[who], msettings, plan, "value_added", "2024-Q3", "1", "x")
    with pytest.raises(InvalidInput), unit_of_work(sf) as s:
        svc.record_value(s, people["mgr"], msettings, plan, "hightech_share", "2024-Q3", "130", "x")


def test_quarter_file_imports_whole_or_not_at_all(sf, people, msettings, plan):
    headers = ["指标编号", "期间", "数值", "来源"]
    bad = table(
        headers,
        [
            ["output_value", "2024-Q3", "480.5", ""],
            ["工业增加值", "2024年1-9月", "abc", ""],
            ["no_such", "2024-Q3", "1", ""],
            ["3", "2024-Q5", "27", ""],
        ],
    )
    with pytest.raises(InvalidInput) as err, unit_of_work(sf) as s:
        svc.import_values(s, people["mgr"], msettings, plan, bad)
    assert "第 3 行" in str(err.value) and "第 4 行" in str(err.value) and "第 5 行" in str(err.value)
    assert "未导入任何数据" in str(err.value)
    with unit_of_work(sf) as s:
        assert s.scalar(select(func.count()).select_from(IndicatorValue)) == 0
    good = table(
        headers,
        [
            ["output_value", "2024-Q3", "480.5", ""],
            ["工业增加值", "2024年1-9月", "190", ""],
            ["3", "2024年第三季度", "27.5%", "区统计局季报"],
            ["", "", "", ""],
        ],
    )
    with unit_of_work(sf) as s:
        result = svc.import_values(s, people["mgr"], msettings, plan, good)
    assert (result.created, result.corrected) == (3, 0)
    with unit_of_work(sf) as s:
        board = {r.ind.id: r for r in q.indicator_board(s, plan, msettings, 2024)}
        assert board["output_value"].assessment.off_track  # 480.5 < 487.5
        assert board["hightech_share"].latest.source == "区统计局季报"
        assert board["value_added"].latest.period_key == "2024-09"


def test_designations_compute_indicators(sf, people, msettings, plan):
    rows = [
        ["示例智造科技有限公司", "智能工厂", "市级", "2023"],
        ["示例绿能有限公司", "绿色工厂", "国家级", "2024年"],
        ["示例精工有限公司", "专精特新", "市级", "2021"],
        ["示例精工有限公司", "小巨人", "国家级", "2023"],  # first designated 2021: not new since 2022
        ["示例新材有限公司", "专精特新", "市级", "2023"],
        ["示例芯片有限公司", "小巨人", "国家级", "2024"],
    ]
    with unit_of_work(sf) as s:
        svc.import_designations(
            s,
            people["mgr"],
            msettings,
            plan,
            table(["企业名称", "认定类型", "级别", "年度"], rows),
            "区经信局",
        )
    with pytest.raises(InvalidInput), unit_of_work(sf) as s:
        svc.import_designations(
            s,
            people["mgr"],
            msettings,
            plan,
            table(["企业名称", "认定类型", "年度"], [["甲", "灯塔工厂", "2024"]]),
            "x",
        )
    with unit_of_work(sf) as s:
        assert s.scalar(select(func.count()).select_from(Designation)) == 6
        computed = {r.ind.id: r.computed for r in q.indicator_board(s, plan, msettings, 2024)}
        assert computed["smart_factories"] == 1 and computed["green_factories"] == 1
        assert computed["srdi_new"] == 2  # 新材 (2023) and 芯片 (2024)
        assert {r.ind.id: r.computed for r in q.indicator_board(s, plan, msettings, 2023)}[
            "green_factories"
        ] == 0


def test_task_reports_overdue_and_ledger(sf, people, msettings, plan):
    with unit_of_work(sf) as s:
        svc.report_task(s, people["mgr"], msettings, plan, "m13", "2024-Q3", "推进中", "绘制产业链图谱 8 条")
        svc.report_task(s, people["mgr"], msettings, plan, "m04", "2024-Q4", "已完成", "绿色工厂 8 家")
    with pytest.raises(PermissionDenied), unit_of_work(sf) as s:
        svc.report_task(s, people["rec"], msettings, plan, "m13", "2024-Q3", "推进中", "x")
    with unit_of_work(sf) as s:
        rows = {r.task.id: r for r in q.task_ledger(s, plan, date(2025, 1, 5))}
        assert rows["m13"].overdue and not rows["m04"].overdue and rows["m01"].overdue
        assert not q.task_ledger(s, plan, date(2024, 10, 1))[0].overdue
        wb = load_workbook(io.BytesIO(task_ledger_xlsx(list(rows.values()), date(2025, 1, 5))))
    ws = wb.active
    assert ws.page_setup.orientation == "landscape" and int(ws.page_setup.paperSize) == 9
    assert "&P" in ws.oddFooter.center.text and ws.print_title_rows == "$1:$3"
    assert ws["A1"].value == "先进制造业三年行动计划任务台账" and ws["C4"].value == "优先支持企业扩产上新"


def _leads(sf, people, settings):
    with unit_of_work(sf) as s:
        a = create_lead(
            s,
            people["rec"],
            {
                "company_name": "示例医疗器械",
                "sector_id": "medical",
                "investment": 20000,
                "channel": "精准补链",
            },
            settings=settings,
        )
        b = create_lead(
            s, people["rec"], {"company_name": "示例药业", "sector_id": "medical"}, settings=settings
        )
        today = settings.local_today(utcnow())
        add_activity(
            s, people["rec"], a.id, kind="拜访", occurred_on=today, outcome="初步接触", settings=settings
        )
        add_activity(
            s,
            people["rec"],
            b.id,
            kind="会议",
            occurred_on=today,
            outcome="洽谈",
            next_step="报送方案",
            settings=settings,
        )
        transition(s, people["rec"], b.id, "接洽", settings=settings)
        return a.id, b.id


def test_project_ledger_and_coordination(sf, people, settings):
    a, b = _leads(sf, people, settings)
    with pytest.raises(InvalidInput), unit_of_work(sf) as s:
        svc.set_coordination(s, people["rec"], a, "用地指标待落实", "")
    with unit_of_work(sf) as s:
        svc.set_coordination(s, people["rec"], a, "用地指标待落实", "区规划自然资源分局")
    with pytest.raises(PermissionDenied), unit_of_work(sf) as s:
        svc.set_coordination(s, people["rec_e"], a, "x", "y")
    with unit_of_work(sf) as s:
        rows = q.project_ledger(s, people["leader"], settings, q.ProjectFilter())
        by_id = {r.lead.id: r for r in rows}
        assert by_id[a].key and by_id[a].issue == "用地指标待落实" and by_id[a].four_missing
        assert [st for st, _ in by_id[b].stage_dates][-1] == "接洽"
        assert [
            r.lead.id for r in q.project_ledger(s, people["leader"], settings, q.ProjectFilter(key_only=True))
        ] == [a]
        assert q.project_ledger(s, people["rec_e"], settings, q.ProjectFilter()) == []
        wb = load_workbook(io.BytesIO(project_ledger_xlsx(rows, settings, "全区", date(2026, 12, 2))))
    ws = wb.active
    assert ws.page_setup.fitToWidth == 1 and ws["M4"].alignment.wrap_text and ws["M4"].font.size >= 10.5
    headers = [c.value for c in ws[3]]
    assert "需协调解决的问题" in headers and "协调解决责任方" in headers


def test_report_docx_says_the_summary(sf, people, settings, msettings, plan):
    _leads(sf, people, settings)
    period = week_of(settings.local_today(utcnow()))
    with unit_of_work(sf) as s:
        summary = q.period_summary(s, people["leader"], settings, msettings, plan, None, period, now=utcnow())
        assert (
            summary.current.new_leads == 2 and summary.current.visits == 1 and summary.current.meetings == 1
        )
        assert summary.current.stage_changes >= 1 and summary.key_total == 1 and summary.key_ready == 0
        report = build_report(
            summary, "weekly", msettings.report_unit, "全区", settings.timezone, settings.four_ones.labels
        )
        doc = Document(io.BytesIO(report_docx(report)))
    text = "\n".join(p.text for p in doc.paragraphs)
    assert "招商工作周报" in text and "新增招商线索 2 条" in text and "走访企业 1 次" in text
    assert "在库重点项目 1 个" in text
