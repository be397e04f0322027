"""Browser tests: the real app under waitress on 127.0.0.1, driven by Playwright in Debian's
headless Chromium (never `playwright install`: no browser downloads on this network). One module
per journey; each module gets its own app and data (`web_env`, tests/web/webdata.py), and a
module that sets `SEEDED_LEADS = True` also gets leads made through the CRM services
(`web_env.seeded`: a key project in the nev team's pool, a recruiter's own lead, an overdue one,
another team's lead).

Without /usr/bin/chromium the tests skip with a message; under CI=true that is a failure.
Each page fails its test if a JavaScript dialog opens (an XSS probe would call alert()).
"""

from __future__ import annotations

import os
import shutil
import threading
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import pytest
from playwright.sync_api import sync_playwright
from waitress import create_server

from crm.db import unit_of_work
from crm.models import utcnow
from crm.services.leads import create_lead
from crm.services.users import get_by_username
from crm.settings import CrmSettings as _CrmSettings
from tests.web.webdata import PASSWORD, build_env
from web import create_app

SETTINGS = _CrmSettings()  # the built-in rules, passed explicitly (services need settings)

CHROMIUM = os.environ.get("LIANZHAO_CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-dev-shm-usage",
]
SCREENSHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"


def _need_chromium():
    if not Path(CHROMIUM).exists():
        message = (
            "未找到 Debian 的 chromium（/usr/bin/chromium），跳过浏览器测试：请运行 scripts/system-deps.sh"
        )
        if os.environ.get("CI") == "true":
            pytest.fail(message)
        pytest.skip(message)


class LiveServer:
    """The app under waitress on a random loopback port, in a background thread."""

    def __init__(self, app):
        self.server = create_server(app, host="127.0.0.1", port=0, threads=4, ident="LianZhao-test")
        self.url = f"http://127.0.0.1:{self.server.effective_port}"
        self.thread = threading.Thread(target=self.server.run, name="waitress-browser", daemon=True)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.server.close()
        self.thread.join(timeout=5)


@dataclass
class Seeded:
    pool_key: int  # nev pool, investment 2 亿元: a key project
    own: int  # owned by zhuanyuan
    other_team: int  # owned by zhuanyuan2 (medical)


def seed_leads(session_factory) -> Seeded:
    with unit_of_work(session_factory) as s:
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
    return Seeded(pool_key, own, other)


@pytest.fixture(scope="module")
def web_env(request, tmp_path_factory):
    """A fresh app folder per journey module; leads too where the module sets SEEDED_LEADS."""
    env = build_env(tmp_path_factory.mktemp("browser") / "instance")
    if getattr(request.module, "SEEDED_LEADS", False):
        env.seeded = seed_leads(env.session_factory)
    yield env
    env.store.close()


@pytest.fixture(scope="module")
def live_server(web_env):
    app = create_app(web_env.cfg, graph_store=web_env.store, session_factory=web_env.session_factory)
    with LiveServer(app) as server:
        yield server


@pytest.fixture(scope="session")
def browser():
    """One Chromium for the whole run (Playwright's sync API allows one instance per thread)."""
    _need_chromium()
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        yield browser
        browser.close()


@pytest.fixture
def new_page(browser, live_server):
    """new_page() opens a fresh browser context (own cookies); dialogs and Content-Security-Policy
    violations (an inline script or style the CSP blocked) fail the test."""
    contexts, dialogs, violations = [], [], []

    def _new():
        context = browser.new_context(
            locale="zh-CN",
            viewport={"width": 1440, "height": 960},
            accept_downloads=True,
            base_url=live_server.url,
        )
        context.set_default_timeout(15000)
        contexts.append(context)
        page = context.new_page()

        def on_dialog(dialog):
            dialogs.append(f"{dialog.type}: {dialog.message}")
            dialog.dismiss()

        page.on("dialog", on_dialog)
        page.on(
            "console",
            lambda m: (
                violations.append(m.text)
                if m.type == "error" and "Content Security Policy" in m.text
                else None
            ),
        )
        return page

    yield _new
    for context in contexts:
        context.close()
    assert not dialogs, f"页面弹出了对话框（可能是 XSS）：{dialogs}"
    assert not violations, f"内容安全策略（CSP）拦截了内联脚本或样式：{violations[:3]}"


def login(page, username: str, password: str = PASSWORD) -> None:
    page.goto("/login")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", password)
    page.click("button[type=submit]")
    page.wait_for_selector("[data-testid=user-name]")


def screenshot(page, name: str) -> Path:
    """Save docs/screenshots/<name>.png (the README shows them)."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=False)
    return path


def click_graph_node(page, node_id: str) -> None:
    """Click a node on the vis-network canvas where it is drawn, as a user would."""
    page.wait_for_selector("#chain-graph[data-ready='1']")
    page.evaluate("id => window.LZGraph.network.focus(id, {scale: 1.0})", node_id)
    box = page.locator("#chain-graph canvas").bounding_box()
    pos = page.evaluate(
        "id => { const n = window.LZGraph.network; const p = n.getPositions([id])[id];"
        " return n.canvasToDOM(p); }",
        node_id,
    )
    page.mouse.move(box["x"] + pos["x"], box["y"] + pos["y"])
    page.mouse.click(box["x"] + pos["x"], box["y"] + pos["y"])
