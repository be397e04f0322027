"""Review of the chain files by a bureau: an XLSX laid out as a chain map, read back with a diff.

`export_workbook` writes one sheet per chain (nodes by stage, parent, flows in and out, keywords,
codes, policy phrase, sources, and an empty 审核意见 column). `read_workbook` reads the same file
after a domain expert edited it; `diff` says what changed; `render_chain_file` writes a chain file
(format 2) back, so an accepted review becomes a commit of the seed folder. 下游去向 is the column
that defines flows (上游来自 is shown for reading only), so a flow is edited in one place.
"""

from __future__ import annotations

import io
import json
import re
import zipfile
from collections.abc import Iterable
from dataclasses import dataclass, field, fields, replace
from pathlib import Path

from openpyxl import Workbook, load_workbook
from openpyxl.styles import Alignment, Font, PatternFill

from graph.model import STAGES, THRESHOLD_FIELDS, Chain, ChainNode, Flow

from .loader import FORMAT_VERSION, SeedError, Structure

COLUMNS = (
    ("stage", "阶段", 6),
    ("key", "环节标识", 16),
    ("name", "环节名称", 20),
    ("parent", "上级环节", 16),
    ("importance", "重要度(1-5)", 8),
    ("segment", "共享环节", 12),
    ("inputs", "上游来自（只读）", 28),
    ("outputs", "下游去向", 28),
    ("keywords", "关键词", 36),
    ("negative_keywords", "排除词", 16),
    ("industry_codes", "行业代码(GB/T 4754-2017)", 26),
    ("policy", "政策原文", 30),
    ("tags", "产品属性", 12),
    ("thresholds", "本环节阈值", 18),
    ("sources", "来源", 30),
    ("description", "说明", 24),
    ("remark", "审核意见", 30),
)
TITLES = {key: title for key, title, _ in COLUMNS}
HEADER_ROW = 3
REF = re.compile(r"〔([a-z][a-z0-9_.]*)〕\s*$")
MAX_XLSX_BYTES = 20 * 2**20  # refuse bigger uncompressed workbooks (zip bombs)
_LIST = "、"
CELL_SEPARATORS = re.compile(r"[、；;，,\n]")  # not "/": names such as 「XR/MR设备」 contain it


def _ref(node: ChainNode, chain_id: str) -> str:
    key = node.id.split(".", 1)[1] if node.chain_id == chain_id else node.id
    return f"{node.name}〔{key}〕"


def _threshold_text(node: ChainNode) -> str:
    labels = {
        "weak_firms_below": "弱链企业数低于",
        "weak_output_below": "弱链产值低于(万元)",
        "weak_without_qualified": "无优质企业即弱链",
    }
    parts = []
    for name, value in node.threshold_overrides().items():
        shown = ("是" if value else "否") if isinstance(value, bool) else f"{value:g}"
        parts.append(f"{labels[name]}={shown}")
    return "；".join(parts)


def _parse_thresholds(text: str, where: str) -> dict:
    labels = {
        "弱链企业数低于": "weak_firms_below",
        "弱链产值低于(万元)": "weak_output_below",
        "无优质企业即弱链": "weak_without_qualified",
    }
    out: dict = {}
    for part in filter(None, (p.strip() for p in re.split(r"[；;]", text))):
        label, _, value = part.partition("=")
        name = labels.get(label.strip(), label.strip())
        if name not in THRESHOLD_FIELDS:
            raise SeedError(f"{where}：本环节阈值「{part}」无法识别，应写成 弱链企业数低于=2")
        value = value.strip()
        try:
            if name == "weak_without_qualified":
                out[name] = {"是": True, "否": False}[value]
            elif name == "weak_firms_below":
                out[name] = int(value)
            else:
                out[name] = float(value)
        except (KeyError, ValueError):
            raise SeedError(f"{where}：本环节阈值「{part}」的取值无效")
    return out


def chain_rows(structure: Structure, chain_id: str) -> list[dict]:
    """The rows of one chain's review sheet: by stage, each group followed by its children."""
    by_id = structure.node_by_id
    nodes = structure.chain_nodes(chain_id)
    inputs: dict[str, list[str]] = {n.id: [] for n in nodes}
    outputs: dict[str, list[str]] = {n.id: [] for n in nodes}
    for f in structure.flows_touching(chain_id):
        if f.target_id in inputs:
            inputs[f.target_id].append(_ref(by_id[f.source_id], chain_id))
        if f.source_id in outputs:
            outputs[f.source_id].append(_ref(by_id[f.target_id], chain_id))
    stage_rank = {s: i for i, s in enumerate(STAGES)}

    def order(n: ChainNode) -> tuple:
        top = n
        while top.parent_id:
            top = by_id[top.parent_id]
        return (stage_rank[top.stage], top.id, n.parent_id is not None, stage_rank[n.stage], n.id)

    rows = []
    for n in sorted(nodes, key=order):
        rows.append(
            {
                "stage": n.stage,
                "key": n.id.split(".", 1)[1],
                "name": ("　" if n.parent_id else "") + n.name,
                "parent": by_id[n.parent_id].name if n.parent_id else "",
                "importance": n.importance,
                "segment": n.segment,
                "inputs": _LIST.join(inputs[n.id]),
                "outputs": _LIST.join(outputs[n.id]),
                "keywords": _LIST.join(n.keywords),
                "negative_keywords": _LIST.join(n.negative_keywords),
                "industry_codes": _LIST.join(n.industry_codes),
                "policy": n.policy,
                "tags": _LIST.join(n.tags),
                "thresholds": _threshold_text(n),
                "sources": "；".join(n.sources),
                "description": n.description,
                "remark": "",
            }
        )
    return rows


def export_workbook(
    structure: Structure, codes: dict[str, str], chain_ids: Iterable[str] | None = None
) -> bytes:
    """The review workbook: a 说明 sheet, then one sheet per chain named after its id."""
    wb = Workbook()
    intro = wb.active
    intro.title = "说明"
    intro.append(["产业链审核表（链招 LianZhao 导出）"])
    intro["A1"].font = Font(bold=True, size=14)
    for line in (
        "每条产业链一张工作表，按上游、中游、下游排列；缩进的环节属于其上级环节。",
        "可修改：环节名称、阶段、上级环节、重要度、下游去向、关键词、排除词、行业代码、政策原文、产品属性、本环节阈值、来源、说明。",
        "「下游去向」决定上下游关系，写成 名称〔环节标识〕，多个用顿号分隔；其他链的环节写 名称〔链标识.环节标识〕。「上游来自」仅供阅读。",
        "新增环节：新增一行并填写唯一的环节标识（小写英文字母、数字、下划线）；删除环节：删除整行。",
        "「审核意见」供审核人填写，导入时列出，不写入文件。",
        "改完后用 lianzhao chains import 文件.xlsx 查看差异，确认后加 --apply 写回产业链文件。",
    ):
        intro.append([line])
    intro.column_dimensions["A"].width = 110
    header_fill = PatternFill("solid", fgColor="DDE5F0")
    stage_fill = {"上游": "F3F8EE", "中游": "FFF8E6", "下游": "EEF3FA"}
    for chain in structure.chains:
        if chain_ids is not None and chain.id not in set(chain_ids):
            continue
        sheet = wb.create_sheet(chain.id[:31])
        sector = next((s.name for s in structure.sectors if s.id == chain.sector_id), chain.sector_id)
        sheet.cell(1, 1, f"{chain.name}（{chain.id}）— {sector}").font = Font(bold=True, size=14)
        sheet.cell(2, 1, "链来源：" + "；".join(chain.sources))
        sheet.cell(2, 1).alignment = Alignment(wrap_text=False)
        for col, (_, title, width) in enumerate(COLUMNS, 1):
            cell = sheet.cell(HEADER_ROW, col, title)
            cell.font = Font(bold=True)
            cell.fill = header_fill
            sheet.column_dimensions[cell.column_letter].width = width
        for r, row in enumerate(chain_rows(structure, chain.id), HEADER_ROW + 1):
            for col, (key, _, _) in enumerate(COLUMNS, 1):
                value = row[key]
                if key == "industry_codes" and value:
                    value = _LIST.join(f"{c} {codes.get(c, '')}".strip() for c in value.split(_LIST))
                cell = sheet.cell(r, col, value if value != "" else None)
                if isinstance(value, str):
                    cell.data_type = "s"  # never a formula, whatever the text starts with
                cell.alignment = Alignment(wrap_text=True, vertical="top")
                cell.fill = PatternFill("solid", fgColor=stage_fill[row["stage"]])
        sheet.freeze_panes = sheet.cell(HEADER_ROW + 1, 4)
        sheet.page_setup.orientation = "landscape"
        sheet.page_setup.paperSize = sheet.PAPERSIZE_A3
        sheet.page_setup.fitToWidth, sheet.page_setup.fitToHeight = 1, 0
        sheet.sheet_properties.pageSetUpPr.fitToPage = True
        sheet.print_title_rows = f"{HEADER_ROW}:{HEADER_ROW}"
    buffer = io.BytesIO()
    wb.save(buffer)
    return buffer.getvalue()


# ---- reading a reviewed workbook back ------------------------------------------------------------


@dataclass
class ReviewedChain:
    chain_id: str
    nodes: list[ChainNode]
    flows: list[Flow]  # out of this chain's nodes, as written in 下游去向
    remarks: list[tuple[str, str]] = field(default_factory=list)  # (node name, 审核意见)


def _split(text) -> tuple[str, ...]:
    if text is None:
        return ()
    return tuple(p.strip() for p in CELL_SEPARATORS.split(str(text)) if p.strip())


def _check_size(data: bytes) -> None:
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        if sum(i.file_size for i in zf.infolist()) > MAX_XLSX_BYTES:
            raise SeedError("审核表解压后过大，拒绝读取")


def read_workbook(data: bytes, structure: Structure) -> list[ReviewedChain]:
    """Chains as the reviewed workbook describes them (sheets named after unknown chains are skipped)."""
    try:
        _check_size(data)
        wb = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except SeedError:
        raise
    except Exception as exc:  # openpyxl raises many kinds for a file that is not a workbook
        raise SeedError(f"无法读取审核表：{exc}") from exc
    out = []
    for sheet in wb.worksheets:
        chain = structure.chain_by_id.get(sheet.title)
        if chain is None:
            continue
        out.append(_read_sheet(sheet, chain, structure))
    wb.close()
    return out


def _read_sheet(sheet, chain: Chain, structure: Structure) -> ReviewedChain:
    rows = list(sheet.iter_rows(values_only=True))
    titles = [str(c).strip() if c is not None else "" for c in rows[HEADER_ROW - 1]]
    index = {key: titles.index(title) for key, title in TITLES.items() if title in titles}
    missing = [TITLES[k] for k in ("key", "name", "stage") if k not in index]
    if missing:
        raise SeedError(f"审核表「{sheet.title}」缺少列：{'、'.join(missing)}")
    old = {n.id: n for n in structure.chain_nodes(chain.id)}
    raw, remarks = [], []
    for number, row in enumerate(rows[HEADER_ROW:], HEADER_ROW + 1):

        def cell(key, row=row):
            i = index.get(key)
            value = row[i] if i is not None and i < len(row) else None
            return "" if value is None else str(value).strip()

        if not cell("key") and not cell("name"):
            continue
        where = f"审核表「{sheet.title}」第{number}行"
        if not cell("key"):
            raise SeedError(f"{where}：缺少环节标识")
        raw.append((where, cell))
        if cell("remark"):
            remarks.append((cell("name"), cell("remark")))
    by_name = {c("name"): f"{chain.id}.{c('key')}" for _, c in raw}
    nodes, flows = [], []
    for where, cell in raw:
        nid = f"{chain.id}.{cell('key')}"
        base = old.get(nid) or ChainNode(nid, chain.id, cell("name"), cell("stage"))
        parent = cell("parent")
        parent_id = by_name.get(parent) or (f"{chain.id}.{parent}" if parent else None)
        try:
            importance = int(float(cell("importance") or base.importance))
        except ValueError:
            raise SeedError(f"{where}：重要度应为 1 到 5 的整数")
        thresholds = (
            _parse_thresholds(cell("thresholds"), where)
            if "thresholds" in index
            else base.threshold_overrides()
        )
        changes = dict(
            name=cell("name"),
            stage=cell("stage"),
            parent_id=parent_id,
            importance=importance,
            keywords=_split(cell("keywords")),
            negative_keywords=_split(cell("negative_keywords")),
            industry_codes=tuple(
                re.match(r"\d+", c).group(0) for c in _split(cell("industry_codes")) if re.match(r"\d+", c)
            ),
            policy=cell("policy"),
            tags=_split(cell("tags")),
            sources=tuple(p.strip() for p in re.split(r"[；;\n]", cell("sources")) if p.strip()),
            description=cell("description"),
            **{name: thresholds.get(name) for name in THRESHOLD_FIELDS},
        )
        column = {"parent_id": "parent", **dict.fromkeys(THRESHOLD_FIELDS, "thresholds")}
        changes = {k: v for k, v in changes.items() if column.get(k, k) in index}
        nodes.append(replace(base, **changes))
        for part in _split(cell("outputs")):
            m = REF.search(part)
            ref = m.group(1) if m else None
            if ref is None:
                target = by_name.get(part)
            else:
                target = ref if "." in ref else f"{chain.id}.{ref}"
            if target is None:
                raise SeedError(f"{where}：下游去向「{part}」无法识别，请写成 名称〔环节标识〕")
            flows.append(Flow(nid, target))
    return ReviewedChain(
        chain.id, nodes, sorted(set(flows), key=lambda f: (f.source_id, f.target_id)), remarks
    )


# ---- diff and write-back -----------------------------------------------------------------------

_FIELD_LABELS = {
    "name": "名称",
    "stage": "阶段",
    "parent_id": "上级环节",
    "importance": "重要度",
    "keywords": "关键词",
    "negative_keywords": "排除词",
    "industry_codes": "行业代码",
    "policy": "政策原文",
    "tags": "产品属性",
    "sources": "来源",
    "description": "说明",
    "weak_firms_below": "弱链企业数阈值",
    "weak_output_below": "弱链产值阈值",
    "weak_without_qualified": "无优质企业即弱链",
}


def _shown(value) -> str:
    if isinstance(value, tuple):
        return "、".join(value) or "（空）"
    return "（空）" if value in (None, "") else str(value)


def diff(structure: Structure, reviewed: ReviewedChain) -> list[str]:
    """Chinese lines saying what the review changes in one chain (empty: nothing)."""
    old = {n.id: n for n in structure.chain_nodes(reviewed.chain_id)}
    new = {n.id: n for n in reviewed.nodes}
    lines = []
    for nid in sorted(new.keys() - old.keys()):
        lines.append(f"+ 新增环节「{new[nid].name}」（{nid}，{new[nid].stage}）")
    for nid in sorted(old.keys() - new.keys()):
        lines.append(f"- 删除环节「{old[nid].name}」（{nid}）")
    for nid in sorted(old.keys() & new.keys()):
        a, b = old[nid], new[nid]
        for f in fields(ChainNode):
            before, after = getattr(a, f.name), getattr(b, f.name)
            if before != after and f.name in _FIELD_LABELS:
                show = _shown
                lines.append(f"~ 「{a.name}」{_FIELD_LABELS[f.name]}：{show(before)} → {show(after)}")
    own = set(new)
    before = {(f.source_id, f.target_id) for f in structure.chain_flows(reviewed.chain_id)}
    after = {(f.source_id, f.target_id) for f in reviewed.flows}
    names = {**{n.id: n.name for n in structure.nodes}, **{n.id: n.name for n in reviewed.nodes}}
    for s, t in sorted(after - before):
        lines.append(f"+ 新增流向 {names.get(s, s)} → {names.get(t, t)}")
    for s, t in sorted(before - after):
        if s in own or s in old:
            lines.append(f"- 删除流向 {names.get(s, s)} → {names.get(t, t)}")
    return lines


def _toml(value) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    if isinstance(value, (tuple, list)):
        return "[" + ", ".join(_toml(v) for v in value) + "]"
    return json.dumps(value, ensure_ascii=False)  # a JSON string is a valid TOML basic string


def _node_table(node: ChainNode, chain_id: str, segments: dict[str, dict]) -> list[str]:
    key = node.id.split(".", 1)[1]
    seg = segments.get(node.segment, {}) if node.segment else {}
    values = {
        "name": node.name,
        "stage": node.stage,
        "importance": node.importance,
        "keywords": node.keywords,
        "negative_keywords": node.negative_keywords,
        "industry_codes": node.industry_codes,
        "policy": node.policy,
        "tags": node.tags,
        "sources": node.sources,
        "description": node.description,
    }
    defaults = {"importance": 3}
    lines = ["[[nodes]]"]
    if not (node.segment and key == node.segment):
        lines.append(f"key = {_toml(key)}")
    if node.segment:
        lines.append(f"segment = {_toml(node.segment)}")
    if node.parent_id:
        lines.append(f"parent = {_toml(node.parent_id.split('.', 1)[1])}")
    for name, value in values.items():
        if node.segment and name in seg:
            seg_value = seg[name]
            if (tuple(seg_value) if isinstance(seg_value, list) else seg_value) == value:
                continue
        elif value in ((), "", defaults.get(name, object())) and not (node.segment and name in seg):
            if name not in ("name", "stage"):
                continue
        lines.append(f"{name} = {_toml(value)}")
    overrides = node.threshold_overrides()
    seg_thresholds = seg.get("thresholds", {})
    if overrides and overrides != seg_thresholds:
        inner = ", ".join(f"{k} = {_toml(v)}" for k, v in overrides.items())
        lines.append(f"thresholds = {{ {inner} }}")
    return lines


def render_chain_file(
    chain: Chain,
    nodes: Iterable[ChainNode],
    flows: Iterable[Flow],
    firm_words: tuple[str, ...] = (),
    segments: dict[str, dict] | None = None,
) -> str:
    """A chain file in format 2 (what `lianzhao chains import --apply` writes)."""
    segments = segments or {}
    nodes = list(nodes)
    own = {n.id for n in nodes}

    def end(nid: str) -> str:
        return nid.split(".", 1)[1] if nid in own else nid

    out = [
        f"# 产业链：{chain.name}。格式说明见 seed/README.md（format 2）。",
        "",
        f"format = {FORMAT_VERSION}",
        "# 上游 -> 下游（FEEDS）：[供给方, 需求方]；其他链的环节写 链标识.环节key。",
        "flows = [",
    ]
    out += [f"  [{_toml(end(f.source_id))}, {_toml(end(f.target_id))}]," for f in flows]
    out += [
        "]",
        "",
        "[chain]",
        f"id = {_toml(chain.id)}",
        f"name = {_toml(chain.name)}",
        f"sector = {_toml(chain.sector_id)}",
    ]
    if chain.description:
        out.append(f"description = {_toml(chain.description)}")
    out.append("sources = [")
    out += [f"  {_toml(s)}," for s in chain.sources]
    out.append("]")
    if firm_words:
        out.append(f"firm_words = {_toml(firm_words)}")
    stage_rank = {s: i for i, s in enumerate(STAGES)}
    current = None
    for node in sorted(nodes, key=lambda n: (stage_rank[n.stage], n.id)):
        if node.stage != current:
            current = node.stage
            out += ["", f"# ---- {current} ----"]
        out.append("")
        out += _node_table(node, chain.id, segments)
    return "\n".join(out) + "\n"


def apply_review(structure: Structure, reviewed: ReviewedChain) -> Path:
    """Write the reviewed chain back to its file in the structure's seed folder."""
    chain = structure.chain_by_id[reviewed.chain_id]
    path = structure.source_dir / "chains" / f"{chain.id}.toml"
    text = render_chain_file(
        chain,
        reviewed.nodes,
        reviewed.flows,
        structure.firm_words.get(chain.id, ()),
        structure.segments,
    )
    path.write_text(text, encoding="utf-8")
    return path
