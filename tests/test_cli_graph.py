"""The `lianzhao` command end to end on a temporary instance (embedded store)."""

import json

import openpyxl
import pytest
from click.testing import CliRunner

from lianzhao.cli import main


@pytest.fixture(scope="module")
def instance(tmp_path_factory):
    path = tmp_path_factory.mktemp("instance")
    env = {"LIANZHAO_INSTANCE": str(path), "LIANZHAO_GRAPH_BACKEND": "networkx"}
    result = CliRunner().invoke(main, ["init", "--synthetic", "600"], env=env)
    assert result.exit_code == 0, result.output
    assert "示例企业600家" in result.output
    return env


def run(env, *args):
    return CliRunner().invoke(main, list(args), env=env)


def test_init_is_idempotent(instance):
    result = run(instance, "init", "--synthetic", "600")
    assert result.exit_code == 0 and "未重新生成示例企业" in result.output


def test_chains_lists_every_chain(instance):
    out = run(instance, "chains").output
    assert "医药健康" in out and "高端医疗器械" in out and "储能" in out and "缺链" in out


def test_gaps_table_and_json(instance):
    table = run(instance, "gaps", "--chain", "高端医疗器械")
    assert table.exit_code == 0 and "产业链缺口分析" in table.output
    # 延链 needs a strong node; with honest demo data a small instance may have none.
    assert "延链方向" in table.output or "强链0个" in table.output
    rows = json.loads(run(instance, "gaps", "--chain", "device", "--format", "json").output)
    assert len(rows) >= 20 and {r["status"] for r in rows} <= {"缺链", "弱链", "强链", "分组"}
    assert set(rows[0]) >= {"name", "stage", "local_firms", "local_output", "criticality", "reason"}
    assert set(rows[0]) >= {"node_id", "parent_id", "is_group"}
    groups = {r["node_id"] for r in rows if r["is_group"]}
    assert groups and all(r["status"] == "分组" for r in rows if r["is_group"])
    assert any(r["parent_id"] in groups for r in rows)


def test_targets_json_carry_ids_and_never_a_group(instance):
    gaps = json.loads(run(instance, "gaps", "--chain", "device", "--format", "json").output)
    groups = {r["node_id"] for r in gaps if r["is_group"]}
    result = run(instance, "targets", "--chain", "device", "--top", "50", "--format", "json")
    rows = json.loads(result.stdout if hasattr(result, "stdout") else result.output)
    assert rows and all(r["company_id"] and r["node_id"] not in groups for r in rows)
    per_node = {}
    for r in rows:
        per_node[r["node_id"]] = per_node.get(r["node_id"], 0) + 1
    assert max(per_node.values()) <= 5  # [targets] per_node


def test_targets_csv_has_bom_and_reasons(instance, tmp_path):
    out = tmp_path / "t.csv"
    result = run(instance, "targets", "--chain", "device", "--top", "5", "--format", "csv", "-o", str(out))
    assert result.exit_code == 0, result.output
    raw = out.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")
    text = raw.decode("utf-8-sig").splitlines()
    assert text[0].startswith("排名,企业名称") and len(text) == 6
    assert all("填补缺链" in line or "补强弱链" in line for line in text[1:])


def test_targets_xlsx_is_formatted(instance, tmp_path):
    out = tmp_path / "t.xlsx"
    assert (
        run(
            instance, "targets", "--chain", "device", "--top", "10", "--format", "xlsx", "-o", str(out)
        ).exit_code
        == 0
    )
    ws = openpyxl.load_workbook(out).active
    rows = list(ws.iter_rows(values_only=True))
    header_at = next(i for i, r in enumerate(rows) if r and r[0] == "排名")
    header, body = rows[header_at], rows[header_at + 1 :]
    assert "推荐理由" in header and "综合得分" in header and len(body) == 10
    score = body[0][header.index("综合得分")]
    assert isinstance(score, float) and 0 < score <= 100  # numbers stay numbers


def test_xlsx_needs_output(instance):
    result = run(instance, "targets", "--chain", "device", "--format", "xlsx")
    assert result.exit_code != 0 and "--output" in result.output


def test_unknown_chain_is_a_chinese_sentence(instance):
    result = run(instance, "gaps", "--chain", "不存在")
    assert result.exit_code == 1
    assert "找不到产业链「不存在」" in result.output and "Traceback" not in result.output
