"""Uploads that cannot hurt the server (issue 17, item 4): the review's zip bomb is refused within
2 s and 200 MB, on the command line and in the reader; CSV and sheet caps name the limit and the
file."""

from __future__ import annotations

import csv
import os
import subprocess
import sys
import time
import tracemalloc

import pytest
from openpyxl import Workbook

from graph.tabular import TabularError, read_table
from graph.upload_limits import UploadLimits, upload_name
from tests.upload_bombs import xlsx_bomb


@pytest.fixture(scope="module")
def bomb(tmp_path_factory):
    path = xlsx_bomb(tmp_path_factory.mktemp("bomb") / "企业名单.xlsx", unpacked_mb=400)
    assert path.stat().st_size < 2 * 1024 * 1024  # about 1 MB on disk, 400 MB of sheet XML
    return path


def test_zip_bomb_is_refused_fast_and_small_in_the_reader(bomb):
    tracemalloc.start()
    t0 = time.perf_counter()
    with pytest.raises(TabularError) as info:
        read_table(bomb)
    elapsed = time.perf_counter() - t0
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    print(f"zip bomb in the reader: {elapsed:.3f} s, peak {peak / 1024:.0f} KB traced")
    assert elapsed < 2.0 and peak < 20 * 1024 * 1024, (elapsed, peak)
    assert "压缩比超过 100:1" in str(info.value) and "企业名单.xlsx" in str(info.value)


def test_zip_bomb_past_the_ratio_check_is_still_bounded_by_the_size_cap(bomb):
    with pytest.raises(TabularError, match="解压后超过 300 MB"):
        read_table(bomb, limits=UploadLimits(max_compression_ratio=10**6))


def test_zip_bomb_is_refused_by_the_cli_within_2_s_and_200_mb(bomb, tmp_path):
    from lianzhao.config import DEFAULT_CONFIG

    instance = tmp_path / "instance"
    instance.mkdir()
    config = tmp_path / "config.toml"
    config.write_text(
        DEFAULT_CONFIG.read_text(encoding="utf-8").replace('path = "instance"', f'path = "{instance}"', 1),
        encoding="utf-8",
    )
    code = (
        # the command's modules are imported first: what is measured is the refusal, not Python's imports
        "import resource, sys, time; from lianzhao.cli import main; import lianzhao.commands.imports; "
        "base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss; t0 = time.perf_counter()\n"
        "try:\n    main(sys.argv[1:])\nexcept SystemExit as e:\n    rc = e.code\n"
        "print(f'RC={rc} T={time.perf_counter() - t0:.3f} "
        "EXTRA_MB={(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - base) / 1024:.1f}', file=sys.stderr)"
    )
    proc = subprocess.run(
        [sys.executable, "-c", code, "--config", str(config), "import", "companies", str(bomb)],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
    )
    figures = dict(part.split("=") for part in proc.stderr.strip().splitlines()[-1].split())
    print("zip bomb via CLI:", figures)
    assert figures["RC"] == "1", proc.stderr
    assert "压缩比" in proc.stderr and "企业名单.xlsx" in proc.stderr
    assert float(figures["T"]) < 2.0 and float(figures["EXTRA_MB"]) < 200, figures


def _csv(path, rows):
    with open(path, "w", encoding="utf-8-sig", newline="") as fh:
        csv.writer(fh).writerows(rows)
    return path


def test_csv_line_length_is_capped(tmp_path):
    path = _csv(tmp_path / "x.csv", [["企业名称"], ["甲" * 5000]])
    with pytest.raises(TabularError, match=r"「名单.csv」第 2 行超过 1000 个字符"):
        read_table(path, limits=UploadLimits(max_line_chars=1000), display_name="名单.csv")


def test_csv_columns_and_rows_are_capped(tmp_path):
    wide = _csv(tmp_path / "wide.csv", [[f"列{i}" for i in range(30)]])
    with pytest.raises(TabularError, match="30 列，超过 20 列"):
        read_table(wide, limits=UploadLimits(max_columns=20))
    tall = _csv(tmp_path / "tall.csv", [["企业名称"], *[[f"企业{i}"] for i in range(50)]])
    with pytest.raises(TabularError, match="超过 10 行的上限"):
        read_table(tall, limits=UploadLimits(max_rows=10))
    assert len(read_table(tall).rows) == 50


def test_xlsx_cell_length_is_capped(tmp_path):
    path = tmp_path / "long.xlsx"
    workbook = Workbook()
    workbook.active.append(["企业名称"])
    workbook.active.append(["乙" * 600])
    workbook.save(path)
    with pytest.raises(TabularError, match="单元格超过 500 个字符"):
        read_table(path, limits=UploadLimits(max_cell_chars=500))


def test_upload_name_is_the_last_part_without_control_characters():
    assert upload_name("C:\\Users\\张\\企业名单.xlsx") == "企业名单.xlsx"
    assert upload_name("../../etc/\x00passwd") == "passwd"
    assert upload_name("") == "上传的文件"


def test_bad_import_limits_in_config_are_refused():
    with pytest.raises(ValueError, match="max_rows"):
        UploadLimits.from_config({"import": {"max_rows": 0}})
