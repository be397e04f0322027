"""The synonym table (synonyms.toml next to this module): headers and designations as exports write them.

Read once per process on first use (never at import time), so an edited file takes effect at the next start.
"""

from __future__ import annotations

import functools
import re
import tomllib
import unicodedata
from dataclasses import dataclass
from pathlib import Path

from ..errors import ConfigError
from ..model import QUALIFICATIONS
from ..tabular import normalize_header

SYNONYMS_FILE = Path(__file__).with_name("synonyms.toml")
_QUOTES = re.compile(r"[\"'“”‘’「」『』《》]")


def fold_designation(text: str) -> str:
    """Key for a designation: NFKC, no quotes or spaces, lower case (「专精特新“小巨人”」 = 「专精特新小巨人」)."""
    return _QUOTES.sub("", normalize_header(text))


@dataclass(frozen=True)
class Synonyms:
    columns: dict[str, tuple[str, ...]]  # column key -> headers, best first
    qualifications: dict[str, tuple[str, ...]]  # folded designation -> canonical qualifications
    empty: frozenset[str]  # folded cell values meaning "empty"
    generic: tuple[str, ...] = ()  # standard 经营范围 phrases: weak placement evidence
    designations: tuple[tuple[str, tuple[str, ...]], ...] = ()  # as written in the file (templates)

    def header_rank(self) -> dict[str, tuple[str, int]]:
        """Folded header -> (column key, rank among that key's synonyms)."""
        out: dict[str, tuple[str, int]] = {}
        for key, names in self.columns.items():
            for rank, name in enumerate((*names, key)):
                out.setdefault(normalize_header(name), (key, rank))
        return out


@functools.cache
def load_synonyms(path: Path = SYNONYMS_FILE) -> Synonyms:
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise ConfigError(f"无法读取同义词表 {path}：{exc}") from exc
    quals: dict[str, tuple[str, ...]] = {}
    for word, means in data.get("qualifications", {}).items():
        bad = [m for m in means if m not in QUALIFICATIONS]
        if bad:
            raise ConfigError(f"同义词表 {path} 中「{word}」对应未知资质：{'、'.join(bad)}")
        quals[fold_designation(word)] = tuple(means)
    for canonical in QUALIFICATIONS:
        quals.setdefault(fold_designation(canonical), (canonical,))
    columns = {key: tuple(names) for key, names in data.get("columns", {}).items()}
    empty = frozenset(
        unicodedata.normalize("NFKC", w).strip().lower() for w in data.get("noise", {}).get("empty", [])
    )
    generic = tuple(data.get("placement", {}).get("generic", []))
    written = tuple((word, tuple(means)) for word, means in data.get("qualifications", {}).items())
    return Synonyms(columns, quals, empty, generic, written)
