"""Browser journeys of web part 2 on the part-1 harness (waitress + Playwright + Debian chromium).

The harness fixtures come from tests/e2e/conftest.py; `web_env` is overridden to add leads made
through the CRM services: a key project in the nev team's pool and another team's lead.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

import pytest

from crm.db import unit_of_work
from crm.models import utcnow
from crm.services.leads import create_lead
from crm.services.users import get_by_username
from crm.settings import CrmSettings as _CrmSettings
from tests.e2e.conftest import browser, live_server, login, new_page, screenshot  # noqa: F401
from tests.web.webdata import build_env

SETTINGS = _CrmSettings()  # the built-in rules, passed explicitly (services need settings)


@dataclass
class Seeded:
    pool_key: int  # nev pool, investment 2 亿元: a key project
    own: int  # owned by zhuanyuan
    other_team: int  # owned by zhuanyuan2 (medical)


@pytest.fixture(scope="module")
def web_env(tmp_path_factory):
    env = build_env(tmp_path_factory.mktemp("e2e2") / "instance")
    with unit_of_work(env.session_factory) as s:
        mgr = get_by_username(s, "jingli")
        rec = get_by_username(s, "zhuanyuan")
        rec2 = get_by_username(s, "zhuanyuan2")
        base = {
            "sector_id": "nev",
            "sector_name": "新能源智能汽车",
            "chain_id": "nev_drive",
            "chain_name": "新能源汽车动力总成",
            "node_id": "nev_drive.controller",
            "node_name": "电机控制器",
            "gap_status": "缺链",
            "channel": "精准补链",
            "gap_reason": "本地电机控制器环节缺链；该企业为上市公司，向本地整车企业供货",
            "gap_score": 78.4,
        }
        pool_key = create_lead(
            s,
            mgr,
            {**base, "company_name": "苏州功率芯片", "investment": 20000, "land_mu": 60, "zone": "西集镇"},
            settings=SETTINGS,
        ).id
        own = create_lead(
            s, rec, {**base, "company_name": "精控电驱科技", "investment": 3000}, settings=SETTINGS
        ).id
        # registered and assigned ten days ago, never contacted: overdue everywhere it shows
        create_lead(
            s,
            rec,
            {
                **base,
                "company_name": "包头稀土磁材",
                "node_id": "nev_drive.magnet",
                "node_name": "稀土永磁材料",
                "gap_status": "弱链",
                "investment": 8000,
            },
            now=utcnow() - timedelta(days=10),
            settings=SETTINGS,
        )
        other = create_lead(
            s,
            rec2,
            {
                "company_name": "天津植入材料",
                "sector_id": "medical",
                "sector_name": "医药健康",
                "chain_id": "med_device",
                "chain_name": "高端医疗器械",
                "node_id": "med_device.implant",
                "node_name": "植入材料",
                "gap_status": "弱链",
            },
            settings=SETTINGS,
        ).id
    env.seeded = Seeded(pool_key, own, other)
    yield env
    env.store.close()
