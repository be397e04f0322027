"""Company identity: 统一社会信用代码 (GB 32100-2015) checks and name normalisation for matching.

Shared by graph import and the CRM's 首报首谈 duplicate check, so both agree on "the same firm".
"""

from __future__ import annotations

import hashlib
import re
import unicodedata

from .errors import InvalidInput

USCC_CHARS = "0123456789ABCDEFGHJKLMNPQRTUWXY"
_USCC_VALUE = {ch: i for i, ch in enumerate(USCC_CHARS)}
_USCC_WEIGHTS = [pow(3, i, 31) for i in range(17)]
_SUFFIXES = ("股份有限公司", "有限责任公司", "有限公司", "股份公司", "集团公司", "公司")
_SPACE = re.compile(r"\s+")


class InvalidCreditCode(InvalidInput):
    """A credit code that fails GB 32100-2015; the message is Chinese, for the user."""


def uscc_check_char(first17: str) -> str:
    """The 18th character for the first 17 characters of a credit code.

    >>> uscc_check_char("91350100M000100Y4")
    '3'
    """
    total = sum(_USCC_VALUE[ch] * w for ch, w in zip(first17, _USCC_WEIGHTS, strict=False))
    return USCC_CHARS[(31 - total % 31) % 31]


def clean_uscc(raw: str | None) -> str | None:
    """Normalise and validate a credit code; None for an empty cell.

    Raises InvalidCreditCode with the reason in Chinese.

    >>> clean_uscc(" 914403001922038216 ")
    '914403001922038216'
    """
    if raw is None:
        return None
    code = unicodedata.normalize("NFKC", str(raw)).strip().upper().replace(" ", "")
    if not code:
        return None
    if len(code) != 18:
        raise InvalidCreditCode(f"统一社会信用代码应为18位，实际为{len(code)}位：{code}")
    bad = sorted({ch for ch in code if ch not in _USCC_VALUE})
    if bad:
        raise InvalidCreditCode(f"统一社会信用代码含有非法字符「{''.join(bad)}」：{code}")
    expected = uscc_check_char(code[:17])
    if code[17] != expected:
        raise InvalidCreditCode(f"统一社会信用代码校验位错误（应为{expected}）：{code}")
    return code


def is_valid_uscc(raw: str | None) -> bool:
    try:
        return clean_uscc(raw) is not None
    except InvalidCreditCode:
        return False


def normalize_name(name: str) -> str:
    """Key for matching firm names: full/half width, spaces, case and legal-form suffix folded.

    >>> normalize_name("北京 春立正达（医疗器械）股份有限公司") == normalize_name("北京春立正达(医疗器械)有限公司")
    True
    """
    text = unicodedata.normalize("NFKC", name or "")
    text = _SPACE.sub("", text).lower()
    for suffix in _SUFFIXES:
        if text.endswith(suffix) and len(text) > len(suffix):
            text = text[: -len(suffix)]
            break
    return text


def company_id_for(name: str, uscc: str | None = None) -> str:
    """A stable id for a new firm: its credit code, else a hash of its normalised name."""
    if uscc:
        return uscc
    digest = hashlib.sha1(normalize_name(name).encode("utf-8")).hexdigest()[:16]
    return f"N{digest}"


def fold_search(text: str | None) -> str:
    """Key for directory search: NFKC, lower case, no whitespace (「北京 康汇」 finds 「北京康汇」).

    >>> fold_search(" 北京 Kang汇 ")
    '北京kang汇'
    """
    return _SPACE.sub("", unicodedata.normalize("NFKC", text or "")).lower()


def company_search_text(
    name: str, former_names: tuple[str, ...] = (), uscc: str | None = None, initials: str = ""
) -> str:
    """What directory search looks in: name, then 曾用名, then credit code, then the pinyin initials
    (graph/pinyin.py, variants space-separated), tab-separated (a needle never holds a tab, so no
    match spans two fields; the text starts with the name for prefix order)."""
    fields = [fold_search(name), *(fold_search(f) for f in former_names), fold_search(uscc)]
    fields += initials.split()
    return "\t".join(fields)
