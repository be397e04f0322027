"""Placement by evidence: which chain nodes a firm without 产业链环节 belongs to, how sure, and why.

The rules (issue 10), all here:

* 主营产品 counts more than 经营范围 (PRODUCT_WEIGHT vs SCOPE_WEIGHT); the standard 经营范围 phrases every
  firm of a trade carries (synonyms.toml [placement] generic: 专用设备制造, 药品生产, 技术服务...) count little;
* a word shared by several nodes counts less on each (it says little about which one);
* ASCII keywords match whole tokens only (「ar」 is not in 「smart」);
* a node's negative keywords veto it (硅片 but not 光伏);
* the GB/T 4754-2017 industry code is a second signal (class or group match);
* in each listed item the last term is the head word, words before it are modifiers; a trade word ending the
  item (配送, 销售, 代理, 租赁...) makes all its product words modifiers (「高值耗材配送」 trades in 耗材);
* a matching child node beats its parent: a grouping node gets a firm only when none of its children match
  by words (a child matched only by its industry code does not drop the parent's words);
* a node tagged 需确认 in its chain file (an application scene or customer segment: 交通物流场景, 精装房与工程渠道,
  投资中心...) is only ever proposed: words like 快递, 房地产 or 股权投资 are shared by firms of no chain, so a
  user confirms such a link (the firm goes to 待确认 with the node as its candidate).

Confidence is the strength of the best node's evidence times its margin over the runner-up. At or above
`confident` the firm is placed; below, it goes to 待确认 with its candidates (nothing is refused).
One regex shaped like a trie scans each text once, however many nodes exist (1M rows stay fast).
"""

from __future__ import annotations

import math
import re
import unicodedata
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass

from ..model import CANDIDATE, INDUSTRY_CODE, KEYWORD, ChainNode, Placement
from .synonyms import load_synonyms

PRODUCT_WEIGHT = 3.0
SCOPE_WEIGHT = 1.0
NAME_WEIGHT = 1.5  # the firm's own name (「北京某某光刻胶科技有限公司」)
GENERIC_FACTOR = 0.15
CODE_WEIGHT = 1.2  # an industry-code match, shared among the nodes carrying the code
SATURATION = 1.2  # evidence score at which strength reaches 1/2
MAX_CANDIDATES = 3
_ASCII = re.compile(r"[a-z0-9]")
_ITEMS = re.compile(r"[、，,；;。:：()（）\n]+")
MODIFIER_FACTOR = 0.5  # a word before the head word of a listed item
CONFIRM_TAG = "需确认"  # chain-file tag: keyword evidence only proposes this node
# Words that, ending a listed item after its product words, make it a trade in those products.
TRADE_WORDS = tuple("配送 销售 批发 零售 代理 经销 分销 租赁 维修 维保 回收 进出口".split())
# Whitespace is dropped except between two ASCII letters or digits, where it bounds a token (「her2 adc」).
_SPACE = re.compile(r"(?<![a-z0-9])\s+|\s+(?![a-z0-9])")


def fold_text(text: str) -> str:
    """Placement's text key: like columns.fold, but a space between ASCII words stays a token bound.

    >>> fold_text("HER2 ADC、AR/VR/XR 可穿戴")
    'her2 adc、ar/vr/xr可穿戴'
    """
    return _SPACE.sub("", unicodedata.normalize("NFKC", text or "").lower()).replace("\u3000", "")


@dataclass(frozen=True)
class PlacementResult:
    placed: tuple[Placement, ...]  # confident links (node_ids of the firm)
    candidates: tuple[Placement, ...]  # 待确认: the best nodes with their evidence
    confidence: float

    @property
    def pending(self) -> bool:
        return not self.placed


class EvidencePlacer:
    def __init__(
        self,
        nodes: Iterable[ChainNode],
        *,
        confident: float = 0.6,
        second_share: float = 0.5,
        generic: Iterable[str] | None = None,
    ):
        self.confident, self.second_share = confident, second_share
        nodes = list(nodes)
        self.nodes = {n.id: n for n in nodes}
        self.parent = {n.id: n.parent_id for n in nodes if n.parent_id}
        self.segment = {n.id: n.segment for n in nodes if n.segment}  # one shared segment, several chains
        self.confirm_only = {n.id for n in nodes if CONFIRM_TAG in n.tags}
        self.term_nodes: dict[str, set[str]] = defaultdict(set)
        for node in nodes:
            for term in (*node.keywords, node.name):
                key = fold_text(term)
                if len(key) >= 2:
                    self.term_nodes[key].add(node.id)
        self.negatives: dict[str, tuple[str, ...]] = {
            n.id: tuple(fold_text(w) for w in n.negative_keywords if fold_text(w))
            for n in nodes
            if n.negative_keywords
        }
        self.codes: dict[str, set[str]] = defaultdict(set)
        for node in nodes:
            for code in node.industry_codes:
                self.codes[code.strip()].add(node.id)
        words = load_synonyms().generic if generic is None else tuple(generic)
        self.generic: dict[str, list[str]] = {}
        for phrase in words:
            key = fold_text(phrase)
            inside = [t for t in self.term_nodes if t in key]
            self.generic[key] = inside
        terms = set(self.term_nodes) | set(self.generic)
        self.pattern = re.compile(_trie_pattern(terms)) if terms else None

    # ---- evidence ---------------------------------------------------------------------------
    def _hits(self, text: str) -> dict[str, float]:
        """Terms found in `text` (folded), longest at each position, ASCII terms on token bounds, each
        with its factor: in every listed item (split on 、，；) the last term is the head word (汉语复合词
        head-final: 「动力电池BMS」 is a BMS, 「工控防火墙」 a firewall); words before it count MODIFIER_FACTOR."""
        if self.pattern is None or not text:
            return {}
        out: dict[str, float] = {}
        for item in _ITEMS.split(text):
            found, last_end = [], 0
            for match in self.pattern.finditer(item):
                term, start, end = match.group(), match.start(), match.end()
                if _ASCII.match(term[0]) and start > 0 and _ASCII.match(item[start - 1]):
                    continue
                if _ASCII.match(term[-1]) and end < len(item) and _ASCII.match(item[end]):
                    continue
                found.append(term)
                last_end = end
            # 「高值耗材配送」「瓷砖卫浴零售」: a trade word after the products makes the item a trade, not a product.
            trade = bool(found) and item[last_end:].endswith(TRADE_WORDS)
            for position, term in enumerate(found):
                factor = 1.0 if position == len(found) - 1 and not trade else MODIFIER_FACTOR
                out[term] = max(out.get(term, 0.0), factor)
        return out

    def _score(
        self, text: str, weight: float, scores: dict[str, float], evidence: dict[str, list[str]]
    ) -> None:
        for term, factor in self._hits(text).items():
            if term in self.generic:
                for inner in self.generic[term]:
                    self._credit(inner, weight * factor * GENERIC_FACTOR, scores, evidence, shown=term)
                continue
            self._credit(term, weight * factor, scores, evidence, shown=term)

    def _credit(
        self, term: str, weight: float, scores: dict[str, float], evidence: dict[str, list[str]], shown: str
    ) -> None:
        owners = self.term_nodes.get(term, ())
        if not owners:
            return
        value = weight * min(len(term), 4) / 3 / math.sqrt(len(owners))
        for node_id in owners:
            scores[node_id] += value
            if shown not in evidence[node_id]:
                evidence[node_id].append(shown)

    def place(
        self, products: str = "", scope: str = "", industry_code: str = "", name: str = ""
    ) -> PlacementResult:
        scores: dict[str, float] = defaultdict(float)
        evidence: dict[str, list[str]] = defaultdict(list)
        products_f, scope_f = fold_text(products), fold_text(scope)
        self._score(products_f, PRODUCT_WEIGHT, scores, evidence)
        self._score(scope_f, SCOPE_WEIGHT, scores, evidence)
        if name:
            self._score(fold_text(name), NAME_WEIGHT, scores, evidence)
        code_nodes: set[str] = set()
        code = (industry_code or "").strip()
        if code:
            for key in {code, code[:3]}:
                owners = self.codes.get(key, set())
                for node_id in owners:
                    scores[node_id] += CODE_WEIGHT / math.sqrt(len(owners))
                    evidence[node_id].append(f"行业代码{key}")
                    code_nodes.add(node_id)
        scores = defaultdict(float, {k: v for k, v in scores.items() if v > 0})
        if not scores:
            return PlacementResult((), (), 0.0)
        text = products_f + " " + scope_f
        for node_id in list(scores):
            if any(word in text for word in self.negatives.get(node_id, ())):
                del scores[node_id]
        # A matching child beats its parent: drop every ancestor of a node with words of its own (an
        # industry code alone on the child does not outweigh the parent's words: 离子注入机 under 3562).
        for node_id in list(scores):
            if not any(not e.startswith("行业代码") for e in evidence[node_id]):
                continue
            parent = self.parent.get(node_id)
            while parent is not None:
                scores.pop(parent, None)
                parent = self.parent.get(parent)
        if not scores:
            return PlacementResult((), (), 0.0)
        ranked = sorted(scores.items(), key=lambda kv: (-kv[1], kv[0]))
        best_id, best = ranked[0]

        def strength(score: float) -> float:
            return score / (score + SATURATION)

        words = {n: {e for e in evidence[n] if not e.startswith("行业代码")} for n, _ in ranked}
        # Rivals share the best node's words (the same evidence pointing elsewhere): they lower its
        # confidence. A node with words of its own is another product line (硅片 and 外延片).
        segment = self.segment.get(best_id)
        twins = [n for n, _ in ranked[1:] if segment and self.segment.get(n) == segment]
        rivals = [
            score
            for node_id, score in ranked[1:]
            if node_id not in twins and (not words[node_id] or words[node_id] & words[best_id])
        ]
        second = rivals[0] if rivals else 0.0
        margin = (best - second) / best
        confidence = round(strength(best) * (0.4 + 0.6 * margin), 2)
        winners = [ranked[0]] + [
            (node_id, score)
            for node_id, score in ranked[1:]
            if node_id not in self.confirm_only
            and words[node_id]
            and not words[node_id] & words[best_id]
            and score >= self.second_share * best
            and strength(score) >= self.confident
            and node_id not in twins
        ][: MAX_CANDIDATES - 1]
        winners += [(n, s) for n, s in ranked if n in twins]  # the same segment in another chain

        def link(node_id: str, source: str, conf: float) -> Placement:
            if source != CANDIDATE:
                words = [e for e in evidence[node_id] if not e.startswith("行业代码")]
                source = KEYWORD if words else INDUSTRY_CODE
            return Placement(node_id, source, conf, tuple(evidence[node_id]))

        if confidence >= self.confident and best_id not in self.confirm_only:
            placed = [link(best_id, KEYWORD, confidence)]
            placed += [link(node_id, KEYWORD, round(strength(score), 2)) for node_id, score in winners[1:]]
            return PlacementResult(tuple(placed), (), confidence)
        candidates = tuple(
            link(node_id, CANDIDATE, confidence if i == 0 else round(strength(score) * 0.4, 2))
            for i, (node_id, score) in enumerate(ranked[:MAX_CANDIDATES])
        )
        return PlacementResult((), candidates, confidence)


def _trie_pattern(terms: Iterable[str]) -> str:
    """A regex matching the longest of `terms` at each position, built as a character trie."""
    trie: dict = {}
    for term in terms:
        branch = trie
        for ch in term:
            branch = branch.setdefault(ch, {})
        branch[""] = {}

    def build(branch: dict) -> str:
        ends = "" in branch
        alternatives = [re.escape(ch) + build(sub) for ch, sub in sorted(branch.items()) if ch]
        if not alternatives:
            return ""
        body = alternatives[0] if len(alternatives) == 1 else "(?:" + "|".join(alternatives) + ")"
        if ends:
            body = "(?:" + body + ")?"
        return body

    return build(trie)
