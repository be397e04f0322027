"""Cell parsers: each returns a value or raises ValueError with a Chinese message for the row."""

from __future__ import annotations

import datetime as _dt
import math
import re
import unicodedata

from .synonyms import fold_designation, load_synonyms

_LIST_SPLIT = re.compile(r"[；;、,，\n]+")
_DESIGNATION_SPLIT = re.compile(r"[；;、,，\n\s|/]+")
_TRUE = {"是", "true", "1", "y", "yes", "本地"}
_FALSE = {"否", "false", "0", "n", "no", "外地", "非本地"}
_YEAR = re.compile(r"^(\d{4})(?:\.0+|[-/.年].*)?$")


def parse_number(text: str, label: str, *, integer: bool = False) -> float | int | None:
    """「1,234.5」「１２３４」 -> number; empty -> None; negative or not a number -> ValueError.

    >>> parse_number("1,234.5万元", "营业收入"), parse_number("１２３４", "员工人数", integer=True)
    (1234.5, 1234)
    >>> parse_number("-3", "注册资本")
    Traceback (most recent call last):
        ...
    ValueError: 注册资本不能为负数：-3
    """
    if not text:
        return None
    cleaned = unicodedata.normalize("NFKC", text).replace(",", "").replace(" ", "").replace("_", "")
    if cleaned.endswith("万元"):
        cleaned = cleaned[:-2]
    try:
        value = float(cleaned)
    except ValueError:
        raise ValueError(f"{label}「{text}」不是有效数字") from None
    if not math.isfinite(value):
        raise ValueError(f"{label}「{text}」不是有效数字")
    if value < 0:
        raise ValueError(f"{label}不能为负数：{text}")
    if integer:
        if not value.is_integer():
            raise ValueError(f"{label}应为整数：{text}")
        return int(value)
    return value


def parse_bool(text: str, label: str = "是否本地") -> bool | None:
    if not text:
        return None
    key = unicodedata.normalize("NFKC", text).strip().lower()
    if key in _TRUE:
        return True
    if key in _FALSE:
        return False
    raise ValueError(f"{label}应为 是/否（或 true/false、1/0、Y/N），实际为「{text}」")


def parse_year(text: str, *, today: _dt.date | None = None) -> int | None:
    if not text:
        return None
    match = _YEAR.match(unicodedata.normalize("NFKC", text).strip())
    if not match:
        raise ValueError(f"成立年份「{text}」不是有效年份")
    year = int(match.group(1))
    last = (today or _dt.date.today()).year
    if not 1900 <= year <= last:
        raise ValueError(f"成立年份应在 1900 到 {last} 之间：{text}")
    return year


def parse_designations(text: str) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """(qualifications, unknown words) by the synonym table; unknown words are kept, not refused.

    >>> parse_designations('国家级专精特新“小巨人”企业；高企、科技型中小企业')
    (('小巨人', '专精特新', '高新技术企业'), ('科技型中小企业',))
    """
    if not text:
        return (), ()
    table = load_synonyms().qualifications
    found: list[str] = []
    unknown: list[str] = []
    for part in _DESIGNATION_SPLIT.split(unicodedata.normalize("NFKC", text)):
        part = part.strip()
        if not part or fold_designation(part) in load_synonyms().empty:
            continue
        key = fold_designation(part)
        means = table.get(key)
        if means is None and not key.startswith(("拟", "非", "未")):
            # 「2023年国家级专精特新小巨人企业」: the longest known designation inside the word
            inside = [word for word in table if len(word) >= 4 and word in key]
            if inside:
                means = table[max(inside, key=len)]
        if means is None:
            if part not in unknown:
                unknown.append(part)
            continue
        for q in means:
            if q not in found:
                found.append(q)
    return tuple(found), tuple(unknown)


def parse_qualifications(text: str) -> tuple[str, ...]:
    """The known qualifications of a cell (unknown words dropped: see parse_designations)."""
    return parse_designations(text)[0]


def is_empty(text: str) -> bool:
    """「-」「--」「暂无」... : what exporters write for nothing."""
    return not text or unicodedata.normalize("NFKC", text).strip().lower() in load_synonyms().empty


_MONEY = re.compile(r"^(?P<num>\d+(?:\.\d+)?)(?P<unit>千万|百万|亿|万|千|百)?(?P<cur>[^\d]*)$")
_CNY = ("", "元", "人民币", "人民币元", "元人民币", "rmb", "cny")


def header_scale(header: str) -> float:
    """万元 per unit of a money column's header: 「营业收入(千元)」 -> 0.1, 「(元)」 -> 0.0001, else 1."""
    folded = unicodedata.normalize("NFKC", header or "").replace(" ", "")
    for unit, scale in (("亿元", 10000.0), ("千元", 0.1), ("万元", 1.0), ("(元)", 0.0001)):
        if unit in folded:
            return scale
    return 1.0


def parse_money(
    text: str, label: str, rates: dict[str, float] | None = None, scale: float = 1.0
) -> tuple[float | None, str]:
    """Money as exporters write it -> (万元 人民币, original text when a currency was converted).

    A bare number is in the column's unit (`scale` 万元 per unit, from header_scale).

    >>> parse_money("5000万元人民币", "注册资本")
    (5000.0, '')
    >>> parse_money("1.2亿元", "注册资本"), parse_money("12,000万元", "注册资本")
    ((12000.0, ''), (12000.0, ''))
    >>> parse_money("3000万美元", "注册资本", {"美元": 7.1})
    (21300.0, '3000万美元')
    >>> parse_money("--", "注册资本")
    (None, '')
    """
    if is_empty(text):
        return None, ""
    cleaned = unicodedata.normalize("NFKC", text).replace(",", "").replace(" ", "").replace("_", "")
    cleaned = cleaned.replace("(", "").replace(")", "")
    currency = ""
    for prefix in ("人民币", *(rates or {})):
        if cleaned.startswith(prefix) and len(cleaned) > len(prefix):
            currency, cleaned = prefix, cleaned[len(prefix) :]
            break
    match = _MONEY.match(cleaned)
    if not match:
        if cleaned.startswith("-") and _MONEY.match(cleaned[1:]):
            raise ValueError(f"{label}不能为负数：{text}")
        raise ValueError(f"{label}「{text}」不是有效数字")
    value = float(match.group("num"))
    if not math.isfinite(value):
        raise ValueError(f"{label}「{text}」不是有效数字")
    unit, currency = match.group("unit"), currency or match.group("cur")
    if unit is not None:
        value *= {"亿": 10000.0, "千万": 1000.0, "百万": 100.0, "万": 1.0, "千": 0.1, "百": 0.01}[unit]
    elif currency:
        value /= 10000  # 「500000元」: 元, not 万元
    else:
        value *= scale  # a bare number is in the column's unit
    if currency in _CNY:
        return value, ""
    rates = rates or {}
    rate = rates.get(
        currency, rates.get(currency.removesuffix("元") + "元", rates.get(currency.removesuffix("元")))
    )
    if rate is None:
        known = "、".join(["人民币", *rates])
        raise ValueError(f"{label}「{text}」的币种「{currency}」未配置汇率（可用：{known}）")
    return round(value * rate, 6), text.strip()


_DATE = re.compile(r"^(\d{4})(?:[-/.年](\d{1,2})(?:[-/.月](\d{1,2})日?)?月?)?(?:[ T].*)?$")
_COMPACT_DATE = re.compile(r"^(\d{4})(\d{2})(\d{2})$")


def parse_date(text: str, *, today: _dt.date | None = None) -> tuple[int | None, str]:
    """(year, ISO date or "") from 2012-05-01, 2012/5/1, 2012年5月1日, 20120501 or a bare year.

    >>> parse_date("2012年5月1日"), parse_date("2012/5/1"), parse_date("2012")
    ((2012, '2012-05-01'), (2012, '2012-05-01'), (2012, ''))
    """
    if is_empty(text):
        return None, ""
    cleaned = unicodedata.normalize("NFKC", text).strip()
    if re.fullmatch(r"\d{4}(?:\.0+)?", cleaned):  # a bare year, or 「2012.0」 from a spreadsheet number
        return parse_year(cleaned, today=today), ""
    match = _COMPACT_DATE.match(cleaned) or _DATE.match(cleaned)
    if not match:
        raise ValueError(f"成立日期「{text}」不是有效日期（可写 2012-05-01、2012/5/1 或 2012年5月1日）")
    year = parse_year(match.group(1), today=today)
    month, day = match.group(2), match.group(3)
    if not month:
        return year, ""
    try:
        date = _dt.date(int(match.group(1)), int(month), int(day or 1))
    except ValueError:
        raise ValueError(f"成立日期「{text}」不是有效日期") from None
    return year, date.isoformat() if day else ""


def parse_status(text: str, active_words: list[str], inactive_words: list[str]) -> tuple[bool, bool]:
    """(active, known) for a 登记状态: an inactive word anywhere wins (「吊销，未注销」); an unknown status
    counts as alive and `known` is False so the import can warn.

    >>> parse_status("存续（在营、开业、在册）", ["存续"], ["注销"]), parse_status("注销", ["存续"], ["注销"])
    ((True, True), (False, True))
    """
    folded = unicodedata.normalize("NFKC", text or "").strip()
    if not folded:
        return True, True
    if folded in active_words:
        return True, True
    if any(word in folded for word in inactive_words):
        return False, True
    if any(word in folded for word in active_words):
        return True, True
    return True, False
