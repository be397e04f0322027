"""Browser tests: the real app under waitress on 127.0.0.1, driven by Playwright in Debian's
headless Chromium (never `playwright install`: no browser downloads on this network).

Without /usr/bin/chromium the tests skip with a message; under CI=true that is a failure.
Each page fails its test if a JavaScript dialog opens (an XSS probe would call alert()).
"""

from __future__ import annotations

import os
import shutil
import threading
from pathlib import Path

import pytest

from tests.web.webdata import PASSWORD, build_env

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
        from waitress import create_server

        self.server = create_server(app, host="127.0.0.1", port=0, threads=4, ident="LianZhao-test")
        self.url = f"http://127.0.0.1:{self.server.effective_port}"
        self.thread = threading.Thread(target=self.server.run, name="waitress-e2e", daemon=True)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.server.close()
        self.thread.join(timeout=5)


@pytest.fixture(scope="module")
def web_env(tmp_path_factory):
    env = build_env(tmp_path_factory.mktemp("e2e") / "instance")
    yield env
    env.store.close()


@pytest.fixture(scope="module")
def live_server(web_env):
    from web import create_app

    app = create_app(web_env.cfg, graph_store=web_env.store, session_factory=web_env.session_factory)
    with LiveServer(app) as server:
        yield server


_SHARED: dict = {"users": 0}


@pytest.fixture(scope="session")
def browser():
    """One Chromium for the whole run. Other suites import this fixture into their conftest,
    which makes pytest hold a second session fixture; Playwright's sync API allows only one
    instance per thread, so both share this one (reference-counted)."""
    _need_chromium()
    from playwright.sync_api import sync_playwright

    if _SHARED["users"] == 0:
        playwright = sync_playwright().start()
        _SHARED["playwright"] = playwright
        _SHARED["browser"] = playwright.chromium.launch(
            executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True
        )
    _SHARED["users"] += 1
    yield _SHARED["browser"]
    _SHARED["users"] -= 1
    if _SHARED["users"] == 0:
        _SHARED.pop("browser").close()
        _SHARED.pop("playwright").stop()


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
