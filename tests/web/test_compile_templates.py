"""`lianzhao serve` compiles every template before forking its workers (web.compile_templates)."""

from __future__ import annotations

import pytest
from jinja2 import TemplateSyntaxError

from web import compile_templates


def test_every_template_is_compiled_and_cached(app):
    env = app.jinja_env
    env.cache.clear()
    count = compile_templates(app)
    assert count == len(env.list_templates()) > 50
    assert len(env.cache) == count  # the workers forked after this find them all compiled


def test_a_broken_template_fails_at_start_up(app, tmp_path):
    folder = tmp_path / "templates-extra"  # tmp_path itself holds the app's instance files
    folder.mkdir()
    broken = folder / "broken.html"
    broken.write_text("{% if %}", encoding="utf-8")
    app.jinja_loader.searchpath.append(str(folder))
    app.jinja_env.cache.clear()
    try:
        with pytest.raises(TemplateSyntaxError):
            compile_templates(app)
    finally:
        app.jinja_loader.searchpath.remove(str(folder))
