"""补链目标企业名录: draft, edit, submit, return, approve, frozen versions; targets -> leads in bulk."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from crm.db import unit_of_work
from crm.errors import PermissionDenied, StaleEdit, ValidationError, WorkflowError
from crm.models import AuditLog, InboxMessage
from crm.queries.worklist import WorkFilter, worklist
from crm.services import from_targets, leads
from crm.services import target_lists as tls
from crm.settings import CrmSettings as _CrmSettings

SETTINGS = _CrmSettings()  # the built-in rules, passed explicitly (services need settings)


def ranked(n, chain="med-devices"):
    """Rows as the graph's ranking hands them over."""
    return [
        {
            "company_id": f"C{i:03d}",
            "company_name": f"示例数据·目标企业{i:03d}有限公司",
            "uscc": None,
            "sector_id": "medical",
            "chain_id": chain,
            "chain_name": "高端医疗器械",
            "node_id": f"N{i % 3}",
            "node_name": f"环节{i % 3}",
            "status": "缺链",
            "score": 90 - i,
            "factors": {"gap": 0.9, "strength": 0.5, "ties": 0.2},
            "reason": f"缺链环节{i % 3}；与本地企业有供货关系",
        }
        for i in range(n)
    ]


def test_draft_edit_submit_return_approve_and_versions(sf, people):
    p = people
    with unit_of_work(sf) as s:
        with pytest.raises(PermissionDenied):
            tls.create_draft(s, p["rec"], sector_id="medical")
    with unit_of_work(sf) as s:
        tl = tls.create_draft(
            s, p["mgr"], sector_id="medical", chain_id="med-devices", title="高端医疗器械补链目标企业名录"
        )
    with unit_of_work(sf) as s:
        res = tls.add_rows(s, p["mgr"], tl.id, ranked(5) + ranked(1))
        assert len(res.added) == 5 and len(res.skipped) == 1 and "已在名录中" in res.skipped[0]
    with unit_of_work(sf) as s:
        with pytest.raises(PermissionDenied):
            tls.add_rows(s, p["mgr_e"], tl.id, ranked(1))  # another team's manager
    with unit_of_work(sf) as s:
        current = tls.get_list(s, p["mgr"], tl.id)
        ids = [r.id for r in current.rows]
        tls.remove_rows(s, p["mgr"], tl.id, [ids[1]])
        tls.reorder(s, p["mgr"], tl.id, [ids[4], ids[0], ids[2], ids[3]])
        tls.annotate(s, p["mgr"], tl.id, ids[4], "龙头企业，建议区领导带队拜访")
    with unit_of_work(sf) as s:
        current = tls.get_list(s, p["mgr"], tl.id)
        assert [r.company_id for r in current.rows] == ["C004", "C000", "C002", "C003"]
        assert [r.position for r in current.rows] == [1, 2, 3, 4]
        assert current.rows[0].note.startswith("龙头企业") and current.rows[0].factors["gap"] == 0.9
        with pytest.raises(ValidationError, match="全部企业"):
            tls.reorder(s, p["mgr"], tl.id, [ids[0]])
    # Leaders do not see drafts; recruiters see approved lists only.
    with unit_of_work(sf) as s:
        with pytest.raises(PermissionDenied):
            tls.get_list(s, p["leader"], tl.id)
        with pytest.raises(PermissionDenied):
            tls.approve(s, p["mgr"], tl.id)
    with unit_of_work(sf) as s:
        with pytest.raises(WorkflowError, match="待审批"):
            tls.approve(s, p["leader"], tl.id)
    with unit_of_work(sf) as s:
        tls.submit(s, p["mgr"], tl.id, "请审阅")
    with unit_of_work(sf) as s:
        assert s.scalars(select(InboxMessage).where(InboxMessage.user_id == p["leader"].id)).one()
        with pytest.raises(WorkflowError, match="不能修改"):
            tls.annotate(s, p["mgr"], tl.id, ids[0], "x")
        with pytest.raises(ValidationError, match="意见"):
            tls.return_list(s, p["leader"], tl.id, "  ")
    with unit_of_work(sf) as s:
        tls.return_list(s, p["leader"], tl.id, "请补充集成电路设计环节的候选企业")
    with unit_of_work(sf) as s:
        back = s.scalars(select(InboxMessage).where(InboxMessage.user_id == p["mgr"].id)).one()
        assert "退回" in back.title and back.body.startswith("请补充")
        tls.add_rows(s, p["mgr"], tl.id, ranked(7)[5:])
    with unit_of_work(sf) as s:
        tls.submit(s, p["mgr"], tl.id)
    with unit_of_work(sf) as s:
        v1 = tls.approve(s, p["leader"], tl.id, "同意")
        assert (v1.status, v1.version_no, v1.approved_by_id) == ("approved", 1, p["leader"].id)
    with unit_of_work(sf) as s:
        assert [r.action for r in tls.get_list(s, p["rec"], tl.id).reviews] == [
            "submit",
            "return",
            "submit",
            "approve",
        ]
        with pytest.raises(WorkflowError, match="新版本"):
            tls.add_rows(s, p["mgr"], tl.id, ranked(9)[8:])
    # A new round starts from the approved list; the old version stays as it was.
    with unit_of_work(sf) as s:
        draft2 = tls.create_draft(s, p["mgr"], sector_id="x", based_on_id=tl.id)
        assert draft2.chain_id == "med-devices" and len(draft2.rows) == 6
    with unit_of_work(sf) as s:
        ids2 = [r.id for r in tls.get_list(s, p["mgr"], draft2.id).rows]
        tls.remove_rows(s, p["mgr"], draft2.id, ids2[:2])
        tls.submit(s, p["mgr"], draft2.id)
    with unit_of_work(sf) as s:
        tls.approve(s, p["leader"], draft2.id)
    with unit_of_work(sf) as s:
        versions = tls.approved_versions(s, p["rec"], "medical", "med-devices")
        assert [(v.version_no, len(v.rows)) for v in versions] == [(1, 6), (2, 4)]
        assert {l.id for l in tls.list_lists(s, p["rec_e"])} == {tl.id, draft2.id}
        assert s.scalars(select(AuditLog).where(AuditLog.action == "approve")).all()


def test_concurrent_list_edit_refused(sf, people):
    with unit_of_work(sf) as s:
        tl = tls.create_draft(s, people["mgr"], sector_id="medical")
    loaded = tl.version
    with unit_of_work(sf) as s:
        tls.add_rows(s, people["mgr"], tl.id, ranked(2), expected_version=loaded)
    with unit_of_work(sf) as s:
        with pytest.raises(StaleEdit):
            tls.rename(s, people["mgr"], tl.id, "新标题", expected_version=loaded)


def test_targets_to_leads_in_bulk_honours_first_registration(sf, people):
    p = people
    rows = ranked(4)
    with unit_of_work(sf) as s:
        held = leads.create_lead(s, p["rec_e"], from_targets.lead_data(rows[1]), settings=SETTINGS)
    bad = dict(rows[3], company_id="C999", company_name="示例数据·坏行公司", uscc="123")
    with unit_of_work(sf) as s:
        with pytest.raises(PermissionDenied):
            from_targets.create_leads_from_targets(s, p["rec"], rows, settings=SETTINGS)
    with unit_of_work(sf) as s:
        result = from_targets.create_leads_from_targets(s, p["mgr"], rows + [rows[0], bad], settings=SETTINGS)
    assert len(result.created) == 3 and len(result.duplicates) == 2 and len(result.invalid) == 1
    assert result.duplicates[0].lead_id == held.id and "用户rec_e" in str(result.duplicates[0])
    assert "统一社会信用代码" in result.invalid[0][1]
    assert result.summary() == "已生成 3 条线索；2 家企业已被他人首报登记，未重复生成；1 行数据有误被跳过"
    with unit_of_work(sf) as s:
        page = worklist(s, p["mgr"], WorkFilter(scope="pool"), SETTINGS)
        assert page.total == 3
        lead = next(l for l in page.items if l.company_id == "C000")
        assert (lead.gap_score, lead.gap_reason, lead.channel, lead.node_name, lead.gap_status) == (
            90,
            rows[0]["reason"],
            "精准补链",
            "环节0",
            "缺链",
        )
