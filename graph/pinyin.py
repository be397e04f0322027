"""Pinyin initials of a firm name, so a directory search for "bjkh" finds 北京康汇 (issue 10).

Computed once when a firm is written (GraphStore upserts, through backend_checks.companies_batch)
and stored with it (`Company.initials`), inside the search text both backends index; a search
never converts anything but the needle.

Heteronyms (多音字): a character with several readings (重 zhòng/chóng, 长 cháng/zhǎng, 行 xíng/háng)
gives every initial variant for the first `VARIANT_CHARS` characters of the name (where users
start typing and where place names like 重庆 and 长春 sit), at most `MAX_VARIANTS` strings; later
characters take their most common reading. Why not pypinyin's phrase-aware `lazy_pinyin`: it costs
~85 µs a name (a million-firm import would pay 85 s) and still picks one reading; a table of each
character's initials, built once from pypinyin's dictionary (~1 s, on first use), costs ~20 µs a
name (most of it the name normalisation and one str.translate) and keeps the variants. Letters and digits in a name are kept as they are (lower case); other characters are
dropped. The legal-form suffix is dropped first (graph.identity.normalize_name).

>>> name_initials("北京康汇医疗器械有限公司")
'bjkhylqx'
>>> name_initials("重庆长安汽车股份有限公司").split()[:2]
['zqzaqc', 'zqcaqc']
>>> "cqcaqc" in name_initials("重庆长安汽车股份有限公司").split()
True
>>> name_initials("北京ABC科技2号")
'bjabckj2h'
"""

from __future__ import annotations

import functools
import itertools
import unicodedata

from .identity import normalize_name

VARIANT_CHARS = 4
MAX_VARIANTS = 8


@functools.cache
def _tables() -> tuple[dict[str, str], dict[int, str | None]]:
    """(character -> its distinct initials, most common reading first; a str.translate table to the
    common initial, ASCII letters and digits kept, everything else dropped), built on first use."""
    from pypinyin.pinyin_dict import pinyin_dict  # noqa: PLC0415 - a 2 MB table, loaded on first use

    variants: dict[str, str] = {}
    common: dict[int, str | None] = {}
    for code, readings in pinyin_dict.items():
        letters = "".join(dict.fromkeys(x for x in (_initial(r) for r in readings.split(",")) if x))
        if letters:
            common[code] = letters[0]
            if len(letters) > 1:
                variants[chr(code)] = letters
        else:
            common[code] = None
    for code in range(128):
        ch = chr(code)
        common[code] = ch.lower() if ch.isalnum() else None
    return variants, common


def _initial(reading: str) -> str:
    """First letter of a toned reading: 'zhòng' -> 'z', 'ǎi' -> 'a', 'ń' -> 'n'."""
    first = unicodedata.normalize("NFD", reading.strip()[:1])[:1].lower()
    return first if first.isascii() and first.isalpha() else ""


def name_initials(name: str) -> str:
    """The name's initials, variants separated by spaces (see the module docstring)."""
    variants, common = _tables()
    norm = normalize_name(name)
    plain = norm.translate(common)
    head: list[str] = []  # initial options of the first VARIANT_CHARS kept characters
    for ch in norm:
        if len(head) == VARIANT_CHARS:
            break
        letters = variants.get(ch) or common.get(ord(ch))
        if letters:  # a character the initials keep
            head.append(letters)
    if all(len(o) == 1 for o in head):  # the common case: no heteronym up front
        return plain
    tail = plain[len(head) :]
    out = []
    for combo in itertools.product(*head):
        out.append("".join(combo) + tail)
        if len(out) >= MAX_VARIANTS:
            break
    return " ".join(out)
