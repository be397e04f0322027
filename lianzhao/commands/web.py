"""`lianzhao serve`: the web app under waitress, a production WSGI server."""

from __future__ import annotations

import threading

import click
import waitress

from web import create_app


@click.command()
@click.option("--host", default=None, help="监听地址（默认取配置 [web] host，127.0.0.1）")
@click.option("--port", default=None, type=int, help="端口（默认取配置 [web] port，8000）")
@click.option("--threads", default=None, type=int, help="工作线程数（默认取配置 [web] threads，8）")
@click.pass_obj
def serve(obj, host: str | None, port: int | None, threads: int | None) -> None:
    """启动网页端（waitress 生产级 WSGI 服务器）。"""
    cfg = obj.cfg
    web = cfg["web"]
    host = host or web["host"]
    port = port or int(web["port"])
    threads = threads or int(web["threads"])
    if not 1 <= port <= 65535:
        raise click.BadParameter("端口应在 1-65535 之间", param_hint="--port")
    if threads < 1:
        raise click.BadParameter("线程数至少为 1", param_hint="--threads")
    app = create_app(cfg)
    extra = {}
    if web["trusted_proxy"]:
        extra = {
            "trusted_proxy": web["trusted_proxy"],
            "trusted_proxy_count": 1,
            "trusted_proxy_headers": {"x-forwarded-for", "x-forwarded-proto", "x-forwarded-host"},
            "clear_untrusted_proxy_headers": True,
        }
    try:
        server = waitress.create_server(
            app,
            host=host,
            port=port,
            threads=threads,
            ident="LianZhao",
            channel_timeout=int(web["channel_timeout"]),
            **extra,
        )
    except OSError as exc:
        click.echo(f"错误：无法在 {host}:{port} 启动：{exc.strerror or exc}", err=True)
        raise SystemExit(1) from exc
    shown = "127.0.0.1" if host in ("0.0.0.0", "::") else host
    click.echo(f"链招网页端已启动：http://{shown}:{port}/  （{threads} 个工作线程，按 Ctrl+C 停止）")
    click.echo("请使用管理员分配的账号登录；演示环境的账号与密码由 `lianzhao init --demo` 输出。")

    def warm():
        try:
            seconds = app.extensions["lianzhao"].warm_up()
            click.echo(f"产业链分析已预先计算（{seconds:.1f} 秒）。")
        except Exception as exc:  # the pages compute on demand instead; say why once
            click.echo(f"预先计算产业链分析失败（页面将按需计算）：{exc}", err=True)

    threading.Thread(target=warm, name="lianzhao-warm-up", daemon=True).start()
    try:
        server.run()
    except KeyboardInterrupt:
        click.echo("已停止。")
    finally:
        server.close()
        app.extensions["lianzhao"].close()
