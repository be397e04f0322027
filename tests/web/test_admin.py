"""系统管理: users (create with a one-time password, disable, reset, role/team), settings that
config.toml leaves editable (validated, audited, persisted), and the import page (row errors shown,
nothing written on failure; hostile file names and oversize files), the audit log page. Everything
refused to non-administrators, and the administrator kept out of the business pages."""

from __future__ import annotations

import io
import re

from sqlalchemy import select

from crm.db import unit_of_work
from crm.models import AuditLog, SettingOverride, User
from crm.services.users import get_by_username
from tests.web.webdata import PASSWORD, uscc
from web import backend, create_app

from .conftest import csrf_token, post
from .importflow import checked_page, confirm, upload

GOOD_CSV = (
    "企业名称,统一社会信用代码,省份,城市,区县,营业收入(万元),产业链环节\n"
    f"导入测试电控,{uscc(101)},天津市,天津市,滨海新区,12000,新能源汽车动力总成/电机控制器\n"
)
BAD_CSV = (
    "企业名称,统一社会信用代码,省份,营业收入(万元),产业链环节\n"
    f"好企业甲,{uscc(102)},天津市,5000,新能源汽车动力总成/电机控制器\n"
    "坏企业乙,91350100M000100Y44,天津市,5000,新能源汽车动力总成/电机控制器\n"
    ",,天津市,abc,新能源汽车动力总成/电机控制器\n"
)


def test_non_admins_are_refused(as_user):
    for user in ("zhuanyuan", "jingli", "lingdao"):
        client = as_user(user)
        assert client.get("/admin/users").status_code == 403
        assert (
            post(client, "/admin/users", {"username": "x1", "display_name": "x", "role": "admin"}).status_code
            == 403
        )
        assert client.get("/admin/import").status_code == 403


def test_create_user_shows_generated_password_once_and_it_works(as_user, app, env):
    client = as_user("admin")
    resp = post(
        client,
        "/admin/users",
        {"username": "newrec", "display_name": "钱专员", "role": "recruiter", "sector_id": "nev"},
    )
    html = resp.get_data(as_text=True)
    assert resp.status_code == 200 and "已创建用户「newrec」" in html
    password = re.search(r"初始密码：</strong><code>([^<]+)</code>", html).group(1)
    assert password not in client.get("/admin/users").get_data(as_text=True)  # shown once only
    fresh = app.test_client()
    resp = fresh.post(
        "/login",
        data={"username": "newrec", "password": password, "csrf_token": csrf_token(fresh)},
        follow_redirects=True,
    )
    assert "钱专员" in resp.get_data(as_text=True) and "请尽快修改密码" in resp.get_data(as_text=True)


def test_create_user_refusals_are_explained(as_user, env):
    client = as_user("admin")
    resp = post(client, "/admin/users", {"username": "r2", "display_name": "x", "role": "recruiter"})
    assert resp.status_code == 400 and "须指定所属产业组" in resp.get_data(as_text=True)
    resp = post(
        client, "/admin/users", {"username": "r3", "display_name": "x", "role": "admin", "password": "short"}
    )
    assert "密码不符合安全策略" in resp.get_data(as_text=True)
    with unit_of_work(env.session_factory) as s:
        assert s.scalar(select(User).where(User.username.in_(["r2", "r3"]))) is None


def test_disable_enable_and_reset_password(as_user, app, env):
    client = as_user("admin")
    with unit_of_work(env.session_factory) as s:
        uid = get_by_username(s, "zhuanyuan2").id
    post(client, f"/admin/users/{uid}/active", {"active": "0"})
    fresh = app.test_client()
    resp = fresh.post(
        "/login", data={"username": "zhuanyuan2", "password": PASSWORD, "csrf_token": csrf_token(fresh)}
    )
    assert resp.status_code == 401
    post(client, f"/admin/users/{uid}/active", {"active": "1"})
    resp = post(client, f"/admin/users/{uid}/password", {"password": "Neu-Passwort-2026"})
    assert "已重置「zhuanyuan2」的密码" in resp.get_data(as_text=True)
    resp = fresh.post(
        "/login",
        data={"username": "zhuanyuan2", "password": "Neu-Passwort-2026", "csrf_token": csrf_token(fresh)},
    )
    assert resp.status_code == 302


def test_admin_cannot_disable_self(as_user, env):
    client = as_user("admin")
    with unit_of_work(env.session_factory) as s:
        uid = get_by_username(s, "admin").id
    resp = post(client, f"/admin/users/{uid}/active", {"active": "0"}, follow_redirects=True)
    assert "不能停用自己的账号" in resp.get_data(as_text=True)


def test_change_role_and_team(as_user, env):
    client = as_user("admin")
    with unit_of_work(env.session_factory) as s:
        uid = get_by_username(s, "zhuanyuan2").id
    post(client, f"/admin/users/{uid}", {"display_name": "赵经理", "role": "manager", "sector_id": "medical"})
    with unit_of_work(env.session_factory) as s:
        user = s.get(User, uid)
        assert (user.display_name, user.role, user.team.sector_id) == ("赵经理", "manager", "medical")


def test_settings_editable_keys_are_saved_audited_and_survive_restart(as_user, env):
    client = as_user("admin")
    html = client.get("/admin/settings").get_data(as_text=True)
    assert 'name="crm.follow_up_days"' in html
    assert 'name="four_ones.key_investment_min"' not in html and "由配置文件固定" in html
    resp = post(
        client,
        "/admin/settings",
        {
            "crm.follow_up_days": "7",
            "crm.first_contact_days": "3",
            "crm.protection_days": "90",
            "crm.auto_assign": "off",
            "four_ones.key_investment_min": "1",
        },
        follow_redirects=True,
    )
    assert "已保存 1 项设置" in resp.get_data(as_text=True)
    with unit_of_work(env.session_factory) as s:
        saved = {row.key: row.value for row in s.scalars(select(SettingOverride))}
        assert saved == {"crm.follow_up_days": 7}  # the pinned key was ignored
        entry = s.scalars(select(AuditLog).where(AuditLog.entity == "settings")).one()
        assert entry.after == {"crm.follow_up_days": 7} and entry.before == {"crm.follow_up_days": 14}
    assert not (env.folder / "settings.json").exists()  # the database holds them, not a file
    # a new app on the same database starts with the saved value
    app2 = create_app(
        env.cfg | {"crm": dict(env.cfg["crm"], follow_up_days=14)},
        graph_store=env.store,
        session_factory=env.session_factory,
        test_config={"TESTING": True},
    )
    with app2.app_context():
        assert backend.crm_settings().follow_up_days == 7


def test_a_setting_saved_in_one_process_is_in_force_at_the_next_request_of_another(app, as_user, env):
    """Two apps on one CRM database stand for two server processes: no restart, no shared memory."""
    other = create_app(
        env.cfg, graph_store=env.store, session_factory=env.session_factory, test_config={"TESTING": True}
    )
    with other.test_request_context("/"):
        assert backend.crm_settings().security.lockout_failures == 5
    post(as_user("admin"), "/admin/settings", {"crm.follow_up_days": "9"})
    with other.test_request_context("/"):
        assert backend.crm_settings().follow_up_days == 9
    html = as_user("admin").get("/admin/settings").get_data(as_text=True)
    assert 'name="crm.follow_up_days" value="9"' in html


def test_invalid_settings_are_refused_and_nothing_written(as_user, env):
    client = as_user("admin")
    resp = post(client, "/admin/settings", {"crm.follow_up_days": "0", "crm.auto_assign": "sometimes"})
    html = resp.get_data(as_text=True)
    assert resp.status_code == 400 and "设置未保存" in html and "跟进间隔" in html and "自动分派" in html
    with unit_of_work(env.session_factory) as s:
        assert s.scalars(select(SettingOverride)).first() is None


def test_settings_page_is_for_administrators_only(as_user, env):
    client = as_user("jingli")
    assert client.get("/admin/settings").status_code == 403
    assert post(client, "/admin/settings", {"crm.follow_up_days": "7"}).status_code == 403


def _upload(client, kind, text, name="firms.csv"):
    return upload(client, text.encode("utf-8-sig"), name, kind)


ROW_ERROR = re.compile(r'data-testid="row-error"><td class="num">第 (\d+) 行</td><td>([^<]+)</td>')


def test_import_with_bad_rows_shows_each_error_and_writes_nothing(as_user, env, patient):
    before = env.store.company_count()
    client = as_user("admin")
    job_id, html = checked_page(client, BAD_CSV.encode("utf-8-sig"), "firms.csv")
    rows = ROW_ERROR.findall(html)
    assert [r for r, _ in rows] == ["3", "4"]
    assert "信用代码" in rows[0][1]
    assert "企业名称" in rows[1][1] and "营业收入" in rows[1][1]
    html = confirm(client, job_id, "all").get_data(as_text=True)  # all or nothing: nothing
    assert "未写入任何数据" in html and [r for r, _ in ROW_ERROR.findall(html)] == ["3", "4"]
    assert env.store.company_count() == before  # the good row was not written either


def test_good_import_is_written(as_user, env, patient):
    before = env.store.company_count()
    client = as_user("admin")
    job_id, html = checked_page(client, GOOD_CSV.encode("utf-8-sig"), "firms.csv")
    assert env.store.company_count() == before  # the check writes nothing
    html = confirm(client, job_id, "all").get_data(as_text=True)
    assert "导入完成" in html and "新增 1" in html
    assert env.store.company_count() == before + 1
    with unit_of_work(env.session_factory) as s:
        entry = s.scalars(select(AuditLog).where(AuditLog.action == "import")).all()[-1]
        assert entry.after["written"] == 1 and entry.after["file"] == "firms.csv"


def test_import_rejects_other_file_types(as_user):
    resp = _upload(as_user("admin"), "companies", "x", name="firms.xls")
    assert resp.status_code == 400 and "只支持 CSV 或 XLSX" in resp.get_data(as_text=True)


def test_xlsx_import_with_bad_rows_is_refused_row_by_row(as_user, env, patient):
    from openpyxl import Workbook

    book = Workbook()
    sheet = book.active
    sheet.append(["企业名称", "统一社会信用代码", "营业收入(万元)", "产业链环节"])
    sheet.append(["表格好企业", uscc(103), 100, "新能源汽车动力总成/电机控制器"])
    sheet.append(["表格坏企业", "123", 100, "新能源汽车动力总成/不存在的环节"])
    data = io.BytesIO()
    book.save(data)
    before = env.store.company_count()
    client = as_user("admin")
    job_id, html = checked_page(client, data.getvalue(), "企业.xlsx")
    errors = ROW_ERROR.findall(html)
    assert [row for row, _ in errors] == ["3"]
    assert "信用代码" in errors[0][1] and "不存在的环节" in errors[0][1]
    assert "未写入任何数据" in confirm(client, job_id, "all").get_data(as_text=True)
    assert env.store.company_count() == before


def test_relations_import_names_unknown_firms_per_row(as_user, env, patient):
    text = (
        "供应方,采购方,产品,年交易额(万元)\n"
        f"{uscc(11)},{uscc(1)},控制器,1200\n"
        "不存在的供应商,通州整车示例,电池,300\n"
    )
    _, html = checked_page(as_user("admin"), text.encode("utf-8-sig"), "供应关系.csv", "relations")
    errors = ROW_ERROR.findall(html)
    assert [row for row, _ in errors] == ["3"] and "不存在的供应商" in errors[0][1]


def _lead_version(env, lead_id):
    from crm.db import unit_of_work
    from crm.models import Lead

    with unit_of_work(env.session_factory) as s:
        return s.get(Lead, lead_id).version


def test_admin_audit_log_page_filters_and_pages(as_user, leads, env, monkeypatch):
    import re

    from crm.db import unit_of_work
    from crm.services.users import get_by_username
    from web.blueprints.admin import audit_log as admin_bp

    client = as_user("zhuanyuan")
    post(client, f"/leads/{leads.own}/stage", {"target": "接洽", "version": _lead_version(env, leads.own)})
    with unit_of_work(env.session_factory) as s:
        rec = get_by_username(s, "zhuanyuan").id
    admin = as_user("admin")
    html = admin.get("/admin/audit").get_data(as_text=True)
    assert "审计日志" in html and "登录" in html and "阶段：线索 → 接洽" in html
    assert "用户 张专员" in html  # a login names the user, not a number
    html = admin.get(f"/admin/audit?user={rec}&action=transition").get_data(as_text=True)
    rows = re.findall(r'data-testid="audit-row"', html)
    assert len(rows) == 1 and "张专员" in html and "阶段：线索 → 接洽" in html
    resp = admin.get("/admin/audit?start=2026-05-02&end=2026-05-01")
    assert resp.status_code == 400 and "截止日期不能早于起始日期" in resp.get_data(as_text=True)
    assert "没有符合条件的记录" in admin.get("/admin/audit?end=2001-01-01").get_data(as_text=True)
    monkeypatch.setattr(admin_bp, "AUDIT_PER_PAGE", 2)
    html = admin.get(f"/admin/audit?user={rec}").get_data(as_text=True)
    assert len(re.findall(r'data-testid="audit-row"', html)) == 2 and "下一页" in html
    assert f"user={rec}" in html.split('class="pager"')[1]  # the filter rides along
    # Only the system administrator reviews the log here.
    assert as_user("lingdao").get("/admin/audit").status_code == 403
    assert client.get("/admin/audit").status_code == 403


def test_admin_cannot_open_business_lists_or_board(leads, as_user):
    client = as_user("admin")
    for path in ("/leads/", "/board/", "/dashboard/"):
        assert client.get(path).status_code == 403, path


def test_business_roles_cannot_open_admin(as_user):
    for username in ("jingli", "lingdao", "zhuanyuan"):
        client = as_user(username)
        for path in ("/admin/users", "/admin/settings", "/admin/import", "/admin/audit"):
            assert client.get(path).status_code == 403, (username, path)
        assert post(client, "/admin/users/1/password", {"password": "Abcdef123456!"}).status_code == 403


def test_upload_name_is_text_and_no_temp_file_is_left(as_user, env, patient):
    """A hostile file name is shown escaped, never used as a path; the kept copy has a random name
    and is removed when the upload is discarded."""
    from lianzhao.config import instance_path

    client = as_user("admin")
    name = "../../<img src=x onerror=alert(1)>.csv"
    job_id, html = checked_page(client, "企业名称\n".encode("utf-8-sig"), name)
    assert "<img src=x" not in html and "&lt;img src=x" in html
    uploads = instance_path(env.cfg) / "uploads"
    assert [p.name for p in uploads.iterdir()] == [f"{job_id}.csv"]
    post(client, f"/admin/import/{job_id}/cancel")
    assert list(uploads.iterdir()) == []
    assert not (instance_path(env.cfg).parent.parent / "<img src=x onerror=alert(1)>.csv").exists()


def test_upload_over_the_size_limit_is_refused_in_chinese(app, as_user):
    client = as_user("admin")
    app.config["MAX_CONTENT_LENGTH"] = 1024
    resp = _upload(client, "companies", "企业名称\n" + "甲" * 4000, name="big.csv")
    assert resp.status_code == 413 and "文件过大" in resp.get_data(as_text=True)
