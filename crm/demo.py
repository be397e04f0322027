"""Demo accounts and leads for `lianzhao init --demo`.

Passwords are random (secrets) and returned once for the caller to print; there is no default
password anywhere. Demo leads come from the graph's top targets (firms already marked 示例数据
where synthetic) and are driven through the real services, so they obey every rule: leads at every
stage with activities, a key project with its "四个一", an overdue lead, pool leads, a leader's
comment and an approved target list.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from .errors import CrmError, DuplicateLead
from .models import ADMIN, LEADER, MANAGER, RECRUITER, ROLE_LABELS, User, utcnow
from .passwords import generate_password
from .services import activities, from_targets, leads, target_lists, users
from .services._common import SYSTEM
from .settings import CrmSettings

# username -> (role, sector of the team, display name). The second recruiter is in another team.
DEMO_USERS = {
    "admin": (ADMIN, None, "示例·系统管理员"),
    "leader": (LEADER, None, "示例·王区长"),
    "manager": (MANAGER, "medical", "示例·李经理"),
    "recruiter": (RECRUITER, "medical", "示例·张专员"),
    "recruiter2": (RECRUITER, "electronics", "示例·赵专员"),
}

# Used when the graph offers too few targets (e.g. an empty store): clearly synthetic firms.
FALLBACK_ROWS = [
    {
        "company_id": f"DEMO{i:02d}",
        "company_name": f"示例数据·{name}有限公司",
        "uscc": None,
        "sector_id": sector,
        "chain_id": chain,
        "chain_name": chain_name,
        "node_id": None,
        "node_name": node,
        "status": "缺链",
        "score": 80 - i,
        "reason": f"示例数据：{node}环节本地缺少企业",
    }
    for i, (name, sector, chain, chain_name, node) in enumerate(
        [
            ("瑞康手术机器人", "medical", "medical-devices", "高端医疗器械", "手术机器人"),
            ("华悦生物材料", "medical", "medical-devices", "高端医疗器械", "生物材料"),
            ("澄明影像设备", "medical", "medical-devices", "高端医疗器械", "医学影像"),
            ("康泰创新药", "medical", "biopharma", "生物创新药", "创新药研发"),
            ("安和细胞治疗", "medical", "biopharma", "生物创新药", "细胞治疗"),
            ("泰禾疫苗", "medical", "biopharma", "生物创新药", "疫苗"),
            ("恒远医疗服务", "medical", "health-services", "健康服务", "医疗服务"),
            ("信诺体外诊断", "medical", "medical-devices", "高端医疗器械", "体外诊断"),
            ("宏图康复器械", "medical", "medical-devices", "高端医疗器械", "康复器械"),
            ("万晟医药流通", "medical", "health-services", "健康服务", "医药流通"),
            ("芯源光刻胶", "electronics", "semiconductor-materials", "集成电路材料", "光刻胶"),
            ("晶拓大硅片", "electronics", "semiconductor-materials", "集成电路材料", "大尺寸硅片"),
            ("磐石靶材", "electronics", "semiconductor-materials", "集成电路材料", "靶材"),
            ("远航储能变流器", "lowcarbon", "energy-storage", "储能", "储能变流器"),
            ("驰越控制器", "nev", "nev-parts", "新能源智能汽车零部件", "控制器系统"),
            ("臻味食品", "urban", "food", "食品", "休闲食品"),
        ]
    )
]


def create_demo_users(session: Session, *, settings: CrmSettings) -> list[tuple[str, str, str]]:
    """One user per role plus a second recruiter in another team, with random passwords.

    Returns [(username, role label, password)] for the caller to print once; [] when the demo
    accounts exist already (passwords are never shown twice)."""
    existing = session.scalars(select(User.username).where(User.username.in_(list(DEMO_USERS)))).all()
    if existing:
        return []
    out = []
    for username, (role, sector, name) in DEMO_USERS.items():
        password = generate_password()
        users.create_user(
            session,
            SYSTEM,
            username=username,
            display_name=name,
            role=role,
            password=password,
            sector_id=sector,
            settings=settings,
        )
        out.append((username, ROLE_LABELS[role], password))
    return out


def _demo_user(session: Session, username: str) -> User:
    user = session.scalar(select(User).where(User.username == username))
    if user is None:
        raise CrmError("请先创建演示账号（create_demo_users）")
    return user


def _pick(rows: list[dict], sectors: tuple[str, ...] | None, used: set[str]) -> dict | None:
    for row in rows:
        if row["company_id"] in used:
            continue
        if sectors is None or row.get("sector_id") in sectors:
            used.add(row["company_id"])
            return row
    return None


def _walk(
    session: Session,
    actor: User,
    lead_id: int,
    path: Sequence[tuple[str, str | None]],
    start: datetime,
    step: timedelta,
    settings: CrmSettings,
    contact: bool = True,
) -> datetime:
    """Move a lead along `path`, logging a contact before each move; returns the last time used."""
    when = start
    kinds: list[str] = [k for k in ("拜访", "电话", "会议", "活动") if k in settings.contact_kinds] or [
        settings.contact_kinds[0]
    ]
    for i, (stage, reason) in enumerate(path):
        when = when + step
        if contact:
            activities.add_activity(
                session,
                actor,
                lead_id,
                kind=kinds[i % len(kinds)],
                occurred_on=when.date(),
                participants=f"{actor.display_name}、企业负责人",
                outcome=f"推进至「{stage}」",
                next_step="按服务方案跟进",
                due_date=(when + timedelta(days=7)).date(),
                settings=settings,
                now=when,
            )
        leads.transition(session, actor, lead_id, stage, reason, settings=settings, now=when)
    return when


def _recent_contact(
    session: Session, actor: User, lead_id: int, stage: str, when: datetime, settings: CrmSettings
) -> None:
    """A recent call on leads in active stages, so that only the intended demo leads are overdue."""
    if stage in settings.active_stages:
        activities.add_activity(
            session,
            actor,
            lead_id,
            kind=settings.contact_kinds[0],
            occurred_on=when.date(),
            participants=actor.display_name,
            outcome="企业反馈积极",
            next_step="准备下一轮洽谈材料",
            settings=settings,
            now=when,
        )


def create_demo_leads(
    session: Session,
    target_rows: Sequence[Mapping[str, Any]],
    users_: Sequence[Any] | None = None,
    *,
    settings: CrmSettings,
    now: datetime | None = None,
) -> list[int]:
    """Demo leads at every stage from `target_rows` (dicts: company_id, company_name, uscc,
    sector_id, chain_id, chain_name, node_id, node_name, status, score, reason). `users_` is
    accepted for symmetry with create_demo_users; the demo accounts are looked up by name.
    Returns the ids of the leads created."""
    now = now or utcnow()
    manager, recruiter = _demo_user(session, "manager"), _demo_user(session, "recruiter")
    recruiter2, leader = _demo_user(session, "recruiter2"), _demo_user(session, "leader")
    rows = [dict(r) for r in target_rows if r.get("company_id") and r.get("company_name")]
    rows += [dict(r) for r in FALLBACK_ROWS]
    used: set[str] = set()
    created: list[int] = []
    stages = settings.stages
    day = timedelta(days=1)

    def register(actor: User, sectors: tuple[str, ...] | None, when: datetime, **extra: Any) -> int | None:
        while True:
            row = _pick(rows, sectors, used)
            if row is None:
                return None
            data = from_targets.lead_data(row)
            data.update(extra)
            try:
                lead = leads.create_lead(session, actor, data, settings=settings, now=when)
            except DuplicateLead:
                continue
            created.append(lead.id)
            return lead.id

    med = ("medical",)
    # Every stage of the sequence, worked by the medical recruiter over the last ~3 months.
    for i, stage in enumerate(stages):
        start = now - timedelta(days=12 * (i + 1))
        key = stage == settings.four_ones.gate_stage
        extra = {
            "investment": 30000 if key else 2000 + 1500 * i,
            "expected_output": 50000 if key else 8000,
            "land_mu": 60 if key else 10 + i,
            "zone": "漷县" if i % 2 else "台马",
        }
        lead_id = register(recruiter, med, start, **extra)
        if lead_id is None:
            continue
        if key:
            leads.update_lead(
                session,
                recruiter,
                lead_id,
                {
                    "sponsor_user_id": leader.id,
                    "task_force_department": "区投资促进服务中心",
                    "task_force_members": ["区发展改革委", "区规划和自然资源分局", "漷县镇政府"],
                    "case_officer_user_id": recruiter.id,
                    "service_plan": {
                        "needs": "用地 60 亩、人才公寓 50 套",
                        "policy_support": "先进制造业固定资产投资补贴；首台套保险补偿",
                        "milestones": ["完成项目评审", "签订投资协议", "取得施工许可"],
                    },
                },
                settings=settings,
                now=start,
            )
        _walk(
            session,
            recruiter,
            lead_id,
            [(s, None) for s in stages[1 : i + 1]],
            start,
            timedelta(days=3),
            settings,
        )
        _recent_contact(session, recruiter, lead_id, stage, now - (i + 1) * day, settings)
        if key:
            activities.add_comment(session, leader, lead_id, "重点项目，请专班每周报送进展。", now=now)
    # 搁置 and 流失 with their reasons.
    paused = register(recruiter, med, now - timedelta(days=40))
    if paused:
        _walk(
            session,
            recruiter,
            paused,
            [(stages[1], None), (settings.paused_stage, "企业融资未到位，暂缓扩产")],
            now - timedelta(days=40),
            timedelta(days=5),
            settings,
        )
    lost = register(recruiter, med, now - timedelta(days=50))
    if lost:
        _walk(
            session,
            recruiter,
            lost,
            [(stages[1], None), (settings.lost_stage, "企业已选择在外省落户")],
            now - timedelta(days=50),
            timedelta(days=6),
            settings,
        )
    # Overdue: one never contacted since assignment, one not followed up for weeks.
    register(
        recruiter, med, now - timedelta(days=settings.first_contact_days + 6), priority=settings.priorities[0]
    )
    stale = register(recruiter, med, now - timedelta(days=settings.follow_up_days + 30))
    if stale:
        _walk(
            session,
            recruiter,
            stale,
            [(stages[1], None)],
            now - timedelta(days=settings.follow_up_days + 30),
            timedelta(days=2),
            settings,
        )
    # The second recruiter's team.
    for i, stage in enumerate(stages[:3]):
        start = now - timedelta(days=10 * (i + 1))
        lead_id = register(recruiter2, ("electronics",), start, investment=3000 + 1000 * i)
        if lead_id:
            _walk(
                session,
                recruiter2,
                lead_id,
                [(s, None) for s in stages[1 : i + 1]],
                start,
                timedelta(days=3),
                settings,
            )
            _recent_contact(session, recruiter2, lead_id, stage, now - (i + 1) * day, settings)
    # Pool leads the manager turned out of targets of the team's sector and others.
    pool_rows = [r for r in (_pick(rows, None, used) for _ in range(3)) if r]
    result = from_targets.create_leads_from_targets(
        session, manager, pool_rows, settings=settings, now=now - timedelta(days=2)
    )
    created += [lead.id for lead in result.created]
    # An approved target list (version 1) for the medical sector, from the medical targets.
    list_rows = [r for r in rows if r.get("sector_id") == "medical"][:8]
    if list_rows:
        chain_id = list_rows[0].get("chain_id")
        chain_name = list_rows[0].get("chain_name") or chain_id
        same_chain = [r for r in list_rows if r.get("chain_id") == chain_id]
        tl = target_lists.create_draft(
            session,
            manager,
            sector_id="medical",
            chain_id=chain_id,
            title=f"{chain_name}补链目标企业名录（示例）",
        )
        target_lists.add_rows(session, manager, tl.id, same_chain)
        target_lists.submit(session, manager, tl.id, "请审阅本季度补链目标")
        target_lists.approve(session, leader, tl.id, "同意，按名录推进。")
    return created
