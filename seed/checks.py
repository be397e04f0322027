"""Lint of the chain files (`lianzhao chains check`): what the loader accepts but a reviewer would reject.

The loader refuses files it cannot turn into a graph (syntax, unknown references, cycles). These checks
go further, on the loaded structure: nodes cut off from every flow, product nodes that feed nothing (their
criticality would be importance alone), keywords that would misfile firms (shared by unrelated nodes, or
short ASCII words that match inside other words), GB/T 4754-2017 codes that do not exist, and policy
phrases that are not the policy's words. Pure functions over plain data; the CLI only prints them.
"""

from __future__ import annotations

import csv
import io
import re
import tomllib
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from graph.model import STAGES, ChainNode

from .loader import SEED_DIR, SeedError, Structure, load_structure

REFERENCE_DIR = SEED_DIR / "reference"
POLICY_FILE = REFERENCE_DIR / "policy_tongzhou_2022_23.txt"
CODES_FILE = REFERENCE_DIR / "gbt4754_2017.csv"
POLICY_TERMS_FILE = REFERENCE_DIR / "policy_terms.toml"

ERROR, NOTE = "错误", "提示"
ASCII_WORD = re.compile(r"^[A-Za-z0-9+\-/.]+$")
CODE = re.compile(r"^\d{2,4}$")
MIN_ASCII_KEYWORD = 3


@dataclass(frozen=True)
class Finding:
    severity: str  # 错误 (fails the check) or 提示
    check: str  # short ASCII name of the rule, stable for scripts
    file: str  # file name relative to the seed folder
    node_id: str  # "" when the finding is about a file
    message: str  # Chinese, names the node

    def line(self) -> str:
        where = f"{self.file}" + (f"［{self.node_id}］" if self.node_id else "")
        return f"{self.severity}  {where}：{self.message}"


def read_codes(path: Path = CODES_FILE) -> dict[str, str]:
    """GB/T 4754-2017 code -> name, from the shipped excerpt (lines starting with # are comments)."""
    text = path.read_text(encoding="utf-8")
    rows = csv.DictReader(io.StringIO("\n".join(ln for ln in text.splitlines() if not ln.startswith("#"))))
    return {r["code"].strip(): r["name"].strip() for r in rows}


def read_policy(path: Path = POLICY_FILE) -> str:
    return path.read_text(encoding="utf-8")


def _squash(text: str) -> str:
    """Policy text without whitespace, so a phrase matches across the file's line breaks."""
    return re.sub(r"\s+", "", text)


@dataclass(frozen=True)
class PolicyTerm:
    """A segment, product or technology the policy names (sections 二–四), and where."""

    term: str
    section: str
    not_a_node: str = ""  # why this term is deliberately not a chain node (e.g. a zone attribute)


def read_policy_terms(path: Path = POLICY_TERMS_FILE) -> list[PolicyTerm]:
    with open(path, "rb") as fh:
        data = tomllib.load(fh)
    return [PolicyTerm(t["term"], t["section"], t.get("not_a_node", "")) for t in data.get("terms", [])]


def _rel(structure: Structure, node_id: str) -> str:
    path = structure.files.get(node_id)
    if path is None:
        return "chains"
    try:
        return str(path.relative_to(structure.source_dir))
    except ValueError:
        return path.name


def _ancestors(node: ChainNode, by_id: dict[str, ChainNode]) -> set[str]:
    out, parent = set(), node.parent_id
    while parent:
        out.add(parent)
        parent = by_id[parent].parent_id
    return out


def _related(a: ChainNode, b: ChainNode, by_id: dict[str, ChainNode]) -> bool:
    """Same shared segment, or one is the other's ancestor (a group repeats its children's words)."""
    if a.segment and a.segment == b.segment:
        return True
    return a.id in _ancestors(b, by_id) or b.id in _ancestors(a, by_id)


def check_structure(structure: Structure, codes: dict[str, str], policy_text: str) -> list[Finding]:
    """Every lint finding on a loaded structure, ordered by file then node."""
    found: list[Finding] = []
    by_id = structure.node_by_id
    groups = {n.parent_id for n in structure.nodes if n.parent_id}
    out_edges: dict[str, int] = defaultdict(int)
    in_edges: dict[str, int] = defaultdict(int)
    for f in structure.flows:
        out_edges[f.source_id] += 1
        in_edges[f.target_id] += 1
    squashed_policy = _squash(policy_text)
    rank = {s: i for i, s in enumerate(STAGES)}

    def add(severity: str, check: str, node: ChainNode, message: str) -> None:
        found.append(Finding(severity, check, _rel(structure, node.id), node.id, message))

    words: dict[str, list[ChainNode]] = defaultdict(list)
    for node in structure.nodes:
        is_group = node.id in groups
        if not is_group and not out_edges[node.id] and not in_edges[node.id]:
            add(ERROR, "no-flow", node, f"环节「{node.name}」没有任何上下游流向（flows）")
        elif not is_group and node.stage != "下游" and not out_edges[node.id]:
            add(
                ERROR,
                "no-downstream",
                node,
                f"{node.stage}环节「{node.name}」没有下游流向，其关键度只剩重要度；请在 flows 中写明它供给谁",
            )
        for kw in node.keywords + node.negative_keywords:
            if ASCII_WORD.match(kw) and len(kw) < MIN_ASCII_KEYWORD:
                add(
                    ERROR,
                    "short-ascii",
                    node,
                    f"英文关键词「{kw}」少于{MIN_ASCII_KEYWORD}个字符，会匹配到其他词内部",
                )
        both = set(node.keywords) & set(node.negative_keywords)
        if both:
            add(ERROR, "keyword-negated", node, f"关键词同时是排除词：{'、'.join(sorted(both))}")
        for kw in dict.fromkeys(k.lower() for k in node.keywords):
            words[kw].append(node)
        for code in node.industry_codes:
            if not CODE.match(code):
                add(ERROR, "bad-code", node, f"行业代码「{code}」格式不对，应为 GB/T 4754-2017 的 2–4 位数字")
            elif code not in codes:
                add(
                    ERROR,
                    "unknown-code",
                    node,
                    f"行业代码「{code}」不在 GB/T 4754-2017 代码表（{CODES_FILE.name}）中",
                )
        if node.policy and _squash(node.policy) not in squashed_policy:
            add(ERROR, "policy-phrase", node, f"policy 原文「{node.policy}」在政策文本中找不到，请逐字摘录")
        if not node.keywords:
            add(ERROR, "no-keywords", node, f"环节「{node.name}」没有关键词，导入时无法按主营产品归入")
    for f in structure.flows:
        src, dst = by_id[f.source_id], by_id[f.target_id]
        if rank[src.stage] > rank[dst.stage]:
            add(
                NOTE,
                "stage-order",
                src,
                f"流向「{src.name}（{src.stage}）→ {dst.name}（{dst.stage}）」由下游指向上游",
            )
        if f.target_id in groups:
            add(NOTE, "flow-to-group", src, f"流向指向了归类环节「{dst.name}」，请指向它的具体子环节")
    for kw, nodes in sorted(words.items()):
        for i, a in enumerate(nodes):
            clash = [b for b in nodes[i + 1 :] if not _related(a, b, by_id)]
            for b in clash:
                add(
                    ERROR,
                    "shared-keyword",
                    a,
                    f"关键词「{kw}」同时属于无关环节「{a.name}」（{a.id}）和「{b.name}」（{b.id}）；"
                    "同一环节请定义为共享环节（segments.toml），否则换用更具体的词",
                )
    return sorted(found, key=lambda x: (x.file, x.node_id, x.check, x.message))


def check_files(
    seed_dir: str | Path | None = None,
    codes_path: Path = CODES_FILE,
    policy_path: Path = POLICY_FILE,
) -> tuple[Structure | None, list[Finding]]:
    """Load and lint the seed folder; a file the loader refuses is one 错误 finding."""
    try:
        structure = load_structure(seed_dir)
    except SeedError as exc:
        return None, [Finding(ERROR, "load", str(seed_dir or SEED_DIR), "", str(exc))]
    return structure, check_structure(structure, read_codes(codes_path), read_policy(policy_path))


def errors(findings: Iterable[Finding]) -> list[Finding]:
    return [f for f in findings if f.severity == ERROR]


# ---- policy coverage ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Coverage:
    term: PolicyTerm
    node_ids: tuple[str, ...]


def policy_coverage(structure: Structure, terms: Sequence[PolicyTerm]) -> list[Coverage]:
    """For each term the policy names, the nodes whose `policy` phrase contains it."""
    out = []
    for term in terms:
        needle = _squash(term.term)
        ids = tuple(n.id for n in structure.nodes if n.policy and needle in _squash(n.policy))
        out.append(Coverage(term, ids))
    return out


def coverage_findings(coverage: Sequence[Coverage]) -> list[Finding]:
    return [
        Finding(
            ERROR,
            "policy-gap",
            POLICY_TERMS_FILE.name,
            "",
            f"政策点名的「{c.term.term}」（{c.term.section}）没有对应环节",
        )
        for c in coverage
        if not c.node_ids and not c.term.not_a_node
    ]


def coverage_markdown(structure: Structure, coverage: Sequence[Coverage]) -> str:
    """The table of seed/README.md: policy term, section, nodes (or why none)."""
    names = structure.node_by_id
    lines = ["| 政策表述 | 出处 | 环节 |", "| --- | --- | --- |"]
    for c in coverage:
        if c.node_ids:
            cell = "；".join(f"{names[i].name}（`{i}`）" for i in c.node_ids)
        elif c.term.not_a_node:
            cell = f"不设环节：{c.term.not_a_node}"
        else:
            cell = "**缺：尚无环节**"
        lines.append(f"| {c.term.term} | {c.term.section} | {cell} |")
    gaps = sum(1 for c in coverage if not c.node_ids and not c.term.not_a_node)
    lines.append("")
    lines.append(f"共 {len(coverage)} 项，{len(coverage) - gaps} 项已有环节或说明，缺 {gaps} 项。")
    return "\n".join(lines) + "\n"
