"""XLSX of a target-company list, through crm.tables (formatted, formula-safe cells)."""

from __future__ import annotations

from crm.tables import Column, table_bytes
from graph.targets import FACTOR_LABELS


def list_title(tl, sector_name: str, chain_name: str | None) -> str:
    scope = f"{sector_name}·{chain_name}" if chain_name else sector_name
    if tl.status == "approved" and tl.approved_at:
        state = f"第{tl.version_no}版，{tl.approved_at:%Y-%m-%d}批准"
    else:
        state = tl.status_label
    return f"{tl.title}（{scope}，{state}）"


def contact_cells(found: list | None) -> dict[str, str]:
    """A company's contacts in three cells (first person named, the others counted); the values
    are already full or masked for the reader (crm.queries.contacts)."""
    if not found:
        return {"contact_name": "", "contact_phone": "", "contact_email": ""}
    first = found[0]
    more = f" 等 {len(found)} 人" if len(found) > 1 else ""
    return {
        "contact_name": f"{first.name}{'（' + first.title + '）' if first.title else ''}{more}",
        "contact_phone": first.mobile or first.landline,
        "contact_email": first.email,
    }


CONTACT_COLUMNS = [
    Column("contact_name", "联系人"),
    Column("contact_phone", "联系电话"),
    Column("contact_email", "邮箱"),
]


def list_xlsx(
    tl, sector_name: str, chain_name: str | None, contacts: dict[str, list] | None = None
) -> tuple[bytes, str]:
    """(workbook bytes, download file name) for one list; rows in the list's order. `contacts`
    (company id -> ContactView, as the reader may see them) adds the contact columns."""
    columns = [
        Column("position", "序号", "int"),
        Column("company_name", "企业名称"),
        Column("uscc", "统一社会信用代码"),
        Column("chain_name", "产业链"),
        Column("node_name", "补链环节"),
        Column("gap_status", "环节状态"),
        Column("score", "评分", "score"),
    ]
    columns += [Column(f"f_{key}", label, "percent") for key, label in FACTOR_LABELS.items()]
    columns += [Column("reason", "推荐理由"), Column("note", "批注")]
    if contacts is not None:
        columns += CONTACT_COLUMNS
    rows = []
    for row in sorted(tl.rows, key=lambda r: r.position):
        record = {
            c: getattr(row, c)
            for c in (
                "position",
                "company_name",
                "uscc",
                "chain_name",
                "node_name",
                "gap_status",
                "score",
                "reason",
                "note",
            )
        }
        for key in FACTOR_LABELS:
            record[f"f_{key}"] = (row.factors or {}).get(key)
        if contacts is not None:
            record.update(contact_cells(contacts.get(row.company_id)))
        rows.append(record)
    title = list_title(tl, sector_name, chain_name)
    data = table_bytes(rows, columns, "xlsx", title=title, sheet_name="目标企业名录")
    suffix = f"第{tl.version_no}版" if tl.status == "approved" else tl.status_label
    return data, f"补链目标企业名录_{tl.id}_{suffix}.xlsx"


def ranking_xlsx(targets, chain_names: dict[str, str], title: str) -> bytes:
    """The ranked 补链 targets as shown on the page (same filters), formatted."""
    columns = [
        Column("rank", "排名", "int"),
        Column("company_name", "企业名称"),
        Column("uscc", "统一社会信用代码"),
        Column("place", "所在地"),
        Column("chain_name", "产业链"),
        Column("node_name", "补链环节"),
        Column("status", "环节状态"),
        Column("score", "评分", "score"),
    ]
    columns += [Column(f"f_{key}", label, "percent") for key, label in FACTOR_LABELS.items()]
    columns += [Column("reason", "推荐理由")]
    rows = []
    for rank, t in enumerate(targets, start=1):
        record = {
            "rank": rank,
            "company_name": t.company_name,
            "uscc": t.uscc,
            "place": t.province + (t.city if t.city and t.city != t.province else ""),
            "chain_name": chain_names.get(t.chain_id, t.chain_id),
            "node_name": t.node_name,
            "status": t.status,
            "score": round(t.score, 1),
            "reason": t.reason,
        }
        for key in FACTOR_LABELS:
            record[f"f_{key}"] = t.factors.get(key)
        rows.append(record)
    return table_bytes(rows, columns, "xlsx", title=title, sheet_name="补链目标")
