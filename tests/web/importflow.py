"""The web import's two steps as a browser drives them: upload (POST, 303 to the job page), wait
on the progress endpoint, confirm. Shared by the import tests (fixture `patient`: conftest)."""

from __future__ import annotations

import io
import re
import time

from .conftest import post


def upload(client, data: bytes, name: str, kind: str = "companies"):
    return post(
        client,
        "/admin/import",
        {"kind": kind, "file": (io.BytesIO(data), name)},
        content_type="multipart/form-data",
    )


def job_of(resp) -> str:
    assert resp.status_code == 303, resp.get_data(as_text=True)[:800]
    match = re.search(r"/admin/import/([A-Za-z0-9_-]+)$", resp.headers["Location"])
    assert match, resp.headers["Location"]
    return match.group(1)


def wait(client, job_id: str, timeout: float = 120.0) -> dict:
    deadline = time.monotonic() + timeout
    while True:
        progress = client.get(f"/admin/import/{job_id}/progress").get_json()
        if progress["finished"]:
            return progress
        assert time.monotonic() < deadline, progress
        time.sleep(0.05)


def checked_page(client, data: bytes, name: str, kind: str = "companies") -> tuple[str, str]:
    """Upload and wait for the check: (job id, the confirm page's HTML)."""
    job_id = job_of(upload(client, data, name, kind))
    wait(client, job_id)
    return job_id, client.get(f"/admin/import/{job_id}").get_data(as_text=True)


def confirm(client, job_id: str, mode: str):
    resp = post(client, f"/admin/import/{job_id}/confirm", {"mode": mode})
    assert resp.status_code == 303, resp.get_data(as_text=True)[:800]
    wait(client, job_id)
    return client.get(f"/admin/import/{job_id}")
