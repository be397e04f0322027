"""`lianzhao spaces import|list|match|expire` end to end on the demo register (示例数据)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from crm.db import unit_of_work
from crm.services import leads, spaces_needs
from crm.services.spaces_settings import SpacesSettings
from lianzhao.cli import main
from lianzhao.config import load_config

DEMO = Path(__file__).resolve().parents[2] / "seed" / "spaces_demo.csv"


@pytest.fixture
def run(engine, monkeypatch):
    monkeypatch.setenv("LIANZHAO_DATABASE_URL", engine.url.render_as_string(hide_password=False))
    return lambda *args: CliRunner().invoke(main, list(args))


@pytest.mark.parametrize("engine", ["sqlite"], indirect=True)
def test_import_list_match_expire(people, run, sf, tmp_path):  # people first: it undoes monkeypatch
    result = run("spaces", "import", str(DEMO))
    assert result.exit_code == 0, result.output
    assert "新增 27" in result.output
    result = run("spaces", "list", "--zone", "漷县镇", "--format", "json")
    rows = json.loads(result.output)
    assert {r["code"] for r in rows} >= {"HX-L-01", "HX-F-03"} and all(r["zone"] == "漷县镇" for r in rows)
    assert rows[1]["area_m2"] is not None  # 亩 converted
    out = tmp_path / "spaces.xlsx"
    assert run("spaces", "list", "--format", "xlsx", "-o", str(out)).exit_code == 0 and out.stat().st_size > 0
    with unit_of_work(sf) as s:
        lead = leads.create_lead(
            s,
            people["rec"],
            {"company_name": "示例数据·器械公司", "sector_id": "medical", "sector_name": "医药健康"},
            settings=leads.CrmSettings(),
        )
        sp = SpacesSettings.from_config(load_config(env={}))
        spaces_needs.save_need(
            s,
            people["rec"],
            lead.id,
            {"kind": "land", "purpose": "生产", "land_mu_min": 60},
            settings=sp,
            zones={},
        )
    result = run("spaces", "match", str(lead.id), "--format", "json")
    assert result.exit_code == 0, result.output
    found = json.loads(result.output)
    assert found[0]["code"] == "HX-L-01" and "面积 65 亩满足 60 亩需求" in found[0]["reasons"]
    assert any("漷县镇" in r for r in found[0]["reasons"])
    assert run("spaces", "match", "999999").exit_code == 1
    assert "已释放 0 处" in run("spaces", "expire").output
    bad = tmp_path / "bad.csv"
    bad.write_text("编号,类型,名称\nX,飞船,坏\n", encoding="utf-8")
    result = run("spaces", "import", str(bad))
    assert result.exit_code == 1 and "未写入任何数据" in result.output
