"""`lianzhao serve`: the web app under a production WSGI server.

One process (`--workers 1`, any OS): waitress with a pool of threads. Several processes
(`--workers N`, Linux/macOS): gunicorn forks N workers (lianzhao/gunicorn_server.py), so every core
renders pages; without gunicorn installed, or on Windows, the command says so and serves one
waitress process instead.
"""

from __future__ import annotations

import importlib
import importlib.util
import os
import threading

import click
import waitress
from werkzeug.middleware.proxy_fix import ProxyFix

from web import compile_templates, create_app


def gunicorn_available() -> bool:
    """gunicorn runs on POSIX only (it forks); it is an optional dependency on other systems."""
    return os.name == "posix" and importlib.util.find_spec("gunicorn") is not None


@click.command()
@click.option("--host", default=None, help="监听地址（默认取配置 [web] host，127.0.0.1）")
@click.option("--port", default=None, type=int, help="端口（默认取配置 [web] port，8000）")
@click.option("--threads", default=None, type=int, help="每个进程的工作线程数（默认取配置 [web] threads，8）")
@click.option(
    "--workers",
    default=None,
    type=int,
    help="工作进程数（默认取配置 [web] workers，1）；大于 1 时在 Linux 上用 gunicorn 多进程运行",
)
@click.pass_obj
def serve(obj, host: str | None, port: int | None, threads: int | None, workers: int | None) -> None:
    """启动网页端（waitress 生产级 WSGI 服务器；多进程时用 gunicorn）。"""
    cfg = obj.cfg
    web = cfg["web"]
    host = host or web["host"]
    port = port or int(web["port"])
    threads = threads or int(web["threads"])
    workers = workers or int(web.get("workers", 1))
    if not 1 <= port <= 65535:
        raise click.BadParameter("端口应在 1-65535 之间", param_hint="--port")
    if threads < 1:
        raise click.BadParameter("线程数至少为 1", param_hint="--threads")
    if workers < 1:
        raise click.BadParameter("进程数至少为 1", param_hint="--workers")
    if workers > 1 and not gunicorn_available():
        click.echo(
            "提示：多进程需要 Linux/macOS 上安装 gunicorn（pip install gunicorn）；本次以单进程 waitress 运行。",
            err=True,
        )
        workers = 1
    app = create_app(cfg)
    compile_templates(app)  # in the master, before gunicorn forks: the workers inherit them
    # web.backend.Backend: the previous analysis while one thread recomputes after a data change
    app.extensions["lianzhao"].stale_analysis_while_updating = bool(web.get("stale_analysis", True))
    shown = "127.0.0.1" if host in ("0.0.0.0", "::") else host

    def warm():
        try:
            seconds = app.extensions["lianzhao"].warm_up()
            click.echo(f"产业链分析已预先计算（{seconds:.1f} 秒）。")
        except Exception as exc:  # the pages compute on demand instead; say why once
            click.echo(f"预先计算产业链分析失败（页面将按需计算）：{exc}", err=True)

    if workers > 1:
        _serve_gunicorn(app, web, host, port, workers, threads, warm, shown)
    else:
        _serve_waitress(app, web, host, port, threads, warm, shown)


def _hello(shown: str, port: int, how: str) -> None:
    click.echo(f"链招网页端已启动：http://{shown}:{port}/  （{how}，按 Ctrl+C 停止）")
    click.echo("请使用管理员分配的账号登录；演示环境的账号与密码由 `lianzhao init --demo` 输出。")


def _serve_waitress(app, web: dict, host: str, port: int, threads: int, warm, shown: str) -> None:
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
    _hello(shown, port, f"{threads} 个工作线程")
    threading.Thread(target=warm, name="lianzhao-warm-up", daemon=True).start()
    try:
        server.run()
    except KeyboardInterrupt:
        click.echo("已停止。")
    finally:
        server.close()
        app.extensions["lianzhao"].close()


def _serve_gunicorn(
    app, web: dict, host: str, port: int, workers: int, threads: int, warm, shown: str
) -> None:
    server_mod = importlib.import_module("lianzhao.gunicorn_server")  # POSIX only: never on Windows
    wsgi = app
    if web["trusted_proxy"]:
        # gunicorn takes the scheme from the proxy (forwarded_allow_ips) but not the client address;
        # ProxyFix sets REMOTE_ADDR from the proxy's X-Forwarded-For, as waitress's trusted_proxy does
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=1, x_proto=1, x_host=1)  # type: ignore[method-assign]
    opts = server_mod.options(
        host=host,
        port=port,
        workers=workers,
        threads=threads,
        timeout=max(30, int(web["channel_timeout"])),
        keepalive=5,
        trusted_proxy=web["trusted_proxy"],
    )
    _hello(shown, port, f"gunicorn {workers} 个工作进程 × {threads} 个线程")
    try:
        server_mod.GunicornServer(wsgi, opts, on_worker_start=warm).run()
    finally:
        app.extensions["lianzhao"].close()
