"""Referrers, 首报首谈 filings, merge of duplicate leads and take-over requests through the web."""

from __future__ import annotations

import io
from datetime import datetime

from openpyxl import load_workbook
from sqlalchemy import select

from crm.db import unit_of_work
from crm.models import InboxMessage, Lead
from crm.services.leads import create_lead
from crm.services.users import get_by_username

from .conftest import SETTINGS, post


def _open_items(env, username, prefix):
    with unit_of_work(env.session_factory) as s:
        user = get_by_username(s, username)
        return s.scalars(
            select(InboxMessage.title).where(
                InboxMessage.user_id == user.id,
                InboxMessage.done_at.is_(None),
                InboxMessage.action_key.like(f"{prefix}%"),
            )
        ).all()


def _sheet_text(data: bytes) -> str:
    ws = load_workbook(io.BytesIO(data)).active
    return "\n".join(" ".join(str(c) for c in row if c is not None) for row in ws.iter_rows(values_only=True))


def test_referrer_entered_by_the_recruiter_is_confirmed_by_the_manager(as_user, leads, env):
    rec = as_user("zhuanyuan")
    resp = post(
        rec,
        f"/leads/{leads.own}/referral",
        {
            "referrer_name": "通州区电驱商会",
            "referrer_kind": "org",
            "unit": "商会秘书处",
            "relation": "会员企业",
        },
    )
    assert resp.status_code == 302
    html = rec.get(f"/leads/{leads.own}").get_data(as_text=True)
    assert "通州区电驱商会" in html and "待确认" in html and 'data-testid="referral-confirm"' not in html
    assert _open_items(env, "jingli", "referral:") != []
    assert post(rec, f"/leads/{leads.own}/referral/confirm").status_code == 403
    mgr = as_user("jingli")
    assert 'data-testid="referral-confirm"' in mgr.get(f"/leads/{leads.own}").get_data(as_text=True)
    post(mgr, f"/leads/{leads.own}/referral/confirm")
    html = mgr.get(f"/leads/{leads.own}").get_data(as_text=True)
    assert "已确认" in html and "李经理" in html
    assert _open_items(env, "jingli", "referral:") == []
    ledger = mgr.get("/ledgers/referrals").get_data(as_text=True)
    assert "通州区电驱商会" in ledger and "引荐项目台账" in ledger
    resp = mgr.get("/ledgers/referrals.xlsx")
    assert resp.status_code == 200 and resp.headers["Cache-Control"] == "no-store"
    text = _sheet_text(resp.data)
    assert "引荐项目台账" in text and "通州区电驱商会" in text and "已确认" in text
    # The medical recruiter does not see the nev team's project in the ledger.
    assert "通州区电驱商会" not in as_user("zhuanyuan2").get("/ledgers/referrals").get_data(as_text=True)


def test_referral_forms_need_the_csrf_token(as_user, leads):
    rec = as_user("zhuanyuan")
    resp = rec.post(f"/leads/{leads.own}/referral", data={"referrer_name": "某人", "referrer_kind": "person"})
    assert resp.status_code == 400


def test_big_project_shows_filing_until_filed_and_the_ledger_agrees(as_user, leads, env):
    rec = as_user("zhuanyuan")
    with unit_of_work(env.session_factory) as s:
        lead = s.get(Lead, leads.key)
        version = lead.version
    post(rec, f"/leads/{leads.key}/details", {"investment": "150000", "version": str(version)})
    html = rec.get(f"/leads/{leads.key}").get_data(as_text=True)
    assert 'data-testid="filing"' in html and "未申报" in html
    assert _open_items(env, "jingli", "filing:") != []
    mgr = as_user("jingli")
    assert "首报首谈待申报" in mgr.get("/board/").get_data(as_text=True)
    ledger = mgr.get("/ledgers/filings").get_data(as_text=True)
    assert "苏州功率芯片" in ledger and "须申报" in ledger
    resp = post(rec, f"/leads/{leads.key}/filing", {"status": "confirmed", "filed_on": "2026-11-02"})
    assert resp.status_code == 302
    assert "确认日期" in rec.get(f"/leads/{leads.key}").get_data(as_text=True)  # refused: the flash names it
    post(
        rec,
        f"/leads/{leads.key}/filing",
        {
            "status": "confirmed",
            "filed_on": "2026-11-02",
            "confirmed_on": "2026-11-20",
            "note": "市投促中心确认",
        },
    )
    assert _open_items(env, "jingli", "filing:") == []
    ledger = mgr.get("/ledgers/filings").get_data(as_text=True)
    assert "已确认" in ledger and "须申报" not in ledger
    text = _sheet_text(mgr.get("/ledgers/filings.xlsx").data)
    assert "首报首谈申报台账" in text and "苏州功率芯片" in text and "2026-11-20" in text
    # a small project shows no filing box
    assert 'data-testid="filing"' not in rec.get(f"/leads/{leads.own}").get_data(as_text=True)


def _duplicate(env):
    """A second lead on the firm of an earlier, no longer protected one (same graph company id)."""
    with unit_of_work(env.session_factory) as s:
        rec, mgr = get_by_username(s, "zhuanyuan"), get_by_username(s, "jingli")
        base = {"sector_id": "nev", "company_id": "ext-dup-1", "channel": "精准补链"}
        old = create_lead(
            s, rec, {**base, "company_name": "重复电控公司"}, settings=SETTINGS, now=datetime(2025, 1, 1)
        )
        new = create_lead(s, mgr, {**base, "company_name": "重复电控公司"}, settings=SETTINGS)
        return old.id, new.id


def test_manager_merges_a_duplicate_after_a_confirm_step_and_the_old_url_redirects(as_user, leads, env):
    old, new = _duplicate(env)
    rec = as_user("zhuanyuan")
    assert rec.get("/leads/duplicates").status_code == 403
    assert post(rec, "/leads/merge", {"keep": old, "gone": new}).status_code == 403
    mgr = as_user("jingli")
    html = mgr.get("/leads/duplicates").get_data(as_text=True)
    assert "重复电控公司" in html and f'data-testid="merge-{new}"' in html
    assert "疑似重复线索 1 组" in mgr.get("/board/").get_data(as_text=True)
    confirm = mgr.get(f"/leads/merge?keep={old}&gone={new}").get_data(as_text=True)
    assert "确认合并" in confirm and f"线索 {new}" in confirm
    assert mgr.post("/leads/merge", data={"keep": old, "gone": new}).status_code == 400  # no CSRF token
    post(
        mgr, f"/leads/{new}/activities", {"kind": "电话", "occurred_on": "2026-11-30", "outcome": "约了面谈"}
    )
    resp = post(mgr, "/leads/merge", {"keep": old, "gone": new, "reason": "同一项目重复登记"})
    assert resp.status_code == 302 and resp.headers["Location"].endswith(f"/leads/{old}")
    resp = mgr.get(f"/leads/{new}")
    assert resp.status_code == 302 and resp.headers["Location"].endswith(f"/leads/{old}")
    assert "约了面谈" in mgr.get(f"/leads/{old}").get_data(as_text=True)
    assert "没有疑似重复的线索" in mgr.get("/leads/duplicates").get_data(as_text=True)
    with unit_of_work(env.session_factory) as s:
        assert s.get(Lead, new) is not None


def test_take_over_request_reaches_the_manager_and_closes_when_decided(as_user, leads, env):
    other = as_user("zhuanyuan2")
    assert other.get(f"/leads/{leads.own}").status_code == 403
    assert other.get(f"/leads/{leads.own}/takeover").status_code == 200
    resp = post(other, f"/leads/{leads.own}/takeover", {"reason": "我于 10 月首次拜访该企业"})
    assert resp.status_code == 302
    assert _open_items(env, "jingli", "takeover:") != []
    mgr = as_user("jingli")
    board = mgr.get("/board/").get_data(as_text=True)
    assert "接手申请" in board and "我于 10 月首次拜访该企业" in board
    with unit_of_work(env.session_factory) as s:
        from crm.models_referrals import TakeoverRequest

        req_id = s.scalar(select(TakeoverRequest.id))
    assert post(as_user("zhuanyuan"), f"/takeovers/{req_id}/grant").status_code == 403
    post(mgr, f"/takeovers/{req_id}/refuse", {"note": "原负责人一直在跟进"})
    assert _open_items(env, "jingli", "takeover:") == []
    html = mgr.get(f"/leads/{leads.own}").get_data(as_text=True)
    assert "未同意" in html and "原负责人一直在跟进" in html


def test_stage_claims_show_in_the_lead_timeline(as_user, leads, env):
    rec = as_user("zhuanyuan")
    for stage in ("接洽", "在谈"):
        with unit_of_work(env.session_factory) as s:
            version = s.get(Lead, leads.own).version
        post(rec, f"/leads/{leads.own}/stage", {"target": stage, "version": str(version)})
    with unit_of_work(env.session_factory) as s:
        version = s.get(Lead, leads.own).version
    post(
        rec,
        f"/leads/{leads.own}/stage",
        {
            "target": "签约",
            "version": str(version),
            "signed_on": "2026-11-01",
            "agreed_investment": "3000",
            "agreement_no": "TZ-9",
        },
    )
    html = rec.get(f"/leads/{leads.own}").get_data(as_text=True)
    assert 'data-testid="timeline-claim"' in html and "申报进入「签约」" in html
