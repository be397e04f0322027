"""The full export for other systems (城市大脑, a successor system): the chain graph, companies,
leads, activities and indicator values as CSV files in one zip, with `schema.json` describing
every file's columns, so a receiving system can load it without reading our code.

What goes in is what the caller may read: every lead and activity through
crm.permissions.visible_leads (a recruiter's export holds the recruiter's leads), indicator values
only for those who may open 监测. The graph (sectors, chains, nodes, flows, zones, companies and
supplies) is open to every signed-in user, as on the chain pages.

Files are UTF-8 (no BOM), comma-separated, one header row; lists inside a cell are joined with
"|"; empty cells are missing values. Cells are not altered for Excel (this is for machines; the
pages' downloads are the Excel-safe ones). The schema's `version` changes only when a column is
removed or changes meaning; new columns may be added at the end of a file.
"""

from __future__ import annotations

import csv
import dataclasses
import io
import json
import zipfile
from collections.abc import Callable, Iterable, Iterator
from datetime import date, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from graph.model import Chain, ChainNode, Company, Flow, Sector, Supply, Zone
from graph.store import GraphStore

from .masking import ContactPolicy, mask_text
from .models import Activity, Lead, utcnow
from .models_contacts import Contact
from .models_monitoring import IndicatorValue
from .permissions import visible_leads
from .queries.contacts import readable_contacts
from .services._common import Actor, current_actor

SCHEMA_VERSION = "1"
LEAD_COLUMNS = (
    "id", "version", "company_name", "company_id", "uscc", "sector_id", "chain_id", "node_id", "node_name",
    "gap_status", "gap_score", "channel", "stage", "stage_reason", "priority", "key_flag", "investment",
    "expected_output", "land_mu", "floor_m2", "zone", "owner_id", "team_id", "first_contact_at",
    "last_contact_at", "protected_until", "created_at", "updated_at",
)  # fmt: skip
ACTIVITY_COLUMNS = (
    "id", "lead_id", "kind", "occurred_on", "participants", "outcome", "next_step", "due_date", "created_by_id",
    "created_at",
)  # fmt: skip
CONTACT_COLUMNS = ("id", "company_id", "lead_id", "company_name", "name", "title", "mobile", "landline", "email",
                   "wechat", "notes")  # fmt: skip
FREE_TEXT = ("participants", "outcome", "next_step")  # activity cells masked like contact details
INDICATOR_COLUMNS = ("indicator_id", "period_kind", "period_key", "period_end", "value", "source", "note")
DESCRIPTIONS = {
    "sectors.csv": "产业（1+4+3）",
    "chains.csv": "产业链，sector_id 指向 sectors.csv",
    "nodes.csv": "产业链环节，chain_id 指向 chains.csv，parent_id 为上级环节（分组）",
    "flows.csv": "环节间的上下游关系 source_id → target_id",
    "zones.csv": "园区/镇（一极两地五镇、北三县）",
    "companies.csv": "企业（本地与外地）；node_ids 为所在环节；synthetic=true 为示例数据",
    "supplies.csv": "企业间供应关系 supplier_id → buyer_id",
    "leads.csv": "招商线索（调用者可查看的）；version 为乐观锁版本",
    "activities.csv": "线索的跟进活动，lead_id 指向 leads.csv",
    "contacts.csv": "企业联系人（调用者可查看的）；company_id 指向 companies.csv，未关联企业的线索以 lead_id 指向 "
    "leads.csv；调用者角色无权查看完整信息时手机、座机、邮箱、微信为脱敏值（个人信息保护法）",
    "indicator_values.csv": "监测指标的期间值（仅区领导、招商经理的导出包含）",
}


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    if isinstance(value, (list, tuple)):
        return "|".join(_cell(v) for v in value)
    if isinstance(value, dict):
        return json.dumps(value, ensure_ascii=False, sort_keys=True)
    return str(value)


@dataclasses.dataclass(frozen=True)
class Table:
    columns: list[dict[str, str]]  # name and type of each column, in file order
    data: bytes
    rows: int


def _csv(columns: list[dict[str, str]], rows: Iterable[Iterable[Any]]) -> Table:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow([c["name"] for c in columns])
    n = 0
    for row in rows:
        writer.writerow([_cell(v) for v in row])
        n += 1
    return Table(columns, out.getvalue().encode("utf-8"), n)


def _type_name(tp: Any) -> str:
    text = str(tp)
    for word, name in (("tuple", "list"), ("bool", "boolean"), ("int", "integer"), ("float", "number")):
        if word in text:
            return name
    return "string"


def _dataclass_columns(cls: type) -> list[dict[str, str]]:
    return [{"name": f.name, "type": _type_name(f.type)} for f in dataclasses.fields(cls)]


def _orm_columns(model: type, names: tuple[str, ...]) -> list[dict[str, str]]:
    table = model.__table__  # type: ignore[attr-defined]
    return [{"name": n, "type": _sql_type(table.c[n].type)} for n in names]


def _dataclass_table(cls: type, items: Iterable[Any]) -> Table:
    names = [f.name for f in dataclasses.fields(cls)]
    return _csv(_dataclass_columns(cls), ([getattr(x, n) for n in names] for x in items))


def _orm_table(model: type, names: tuple[str, ...], items: Iterable[Any]) -> Table:
    return _csv(_orm_columns(model, names), ([getattr(x, n) for n in names] for x in items))


def _sql_type(sqltype: Any) -> str:
    name = type(sqltype).__name__.lower()
    for word, out in (("int", "integer"), ("float", "number"), ("bool", "boolean"), ("datetime", "datetime")):
        if word in name:
            return out
    return "date" if name == "date" else "string"


def _companies(store: GraphStore, chunk: int = 2000) -> Iterator[Company]:
    ids = sorted(store.company_ids())
    for i in range(0, len(ids), chunk):
        yield from store.companies(ids[i : i + chunk])


def _supplies(store: GraphStore, chunk: int = 2000) -> Iterator[Supply]:
    ids = sorted(store.company_ids())
    for i in range(0, len(ids), chunk):
        yield from store.supplies_from(ids[i : i + chunk])


def build_zip(
    session: Session,
    actor: Actor,
    store: GraphStore,
    *,
    may_read_indicators: Callable[[Any], bool],
    contact_policy: ContactPolicy | None = None,
    now: datetime | None = None,
) -> bytes:
    """The zip's bytes (schema.json first). Contacts, and phone numbers or e-mail addresses in
    activity texts, are masked by crm.masking unless the caller's role sees them in full."""
    actor = current_actor(session, actor)
    now = now or utcnow()
    tables: dict[str, Table] = {
        "sectors.csv": _dataclass_table(Sector, store.sectors()),
        "chains.csv": _dataclass_table(Chain, store.chains()),
        "nodes.csv": _dataclass_table(ChainNode, store.nodes()),
        "flows.csv": _dataclass_table(Flow, store.flows()),
        "zones.csv": _dataclass_table(Zone, store.zones()),
        "companies.csv": _dataclass_table(Company, _companies(store)),
        "supplies.csv": _dataclass_table(Supply, _supplies(store)),
    }
    leads = list(session.scalars(visible_leads(actor).order_by(Lead.id)))
    tables["leads.csv"] = _orm_table(Lead, LEAD_COLUMNS, leads)
    lead_ids = [lead.id for lead in leads]
    acts: list[Activity] = []
    for i in range(0, len(lead_ids), 500):
        acts += session.scalars(
            select(Activity).where(Activity.lead_id.in_(lead_ids[i : i + 500])).order_by(Activity.id)
        )
    policy = contact_policy or ContactPolicy()
    full = policy.sees_full(actor)
    tables["activities.csv"] = _csv(
        _orm_columns(Activity, ACTIVITY_COLUMNS),
        (
            [
                mask_text(getattr(a, n)) if n in FREE_TEXT and not full else getattr(a, n)
                for n in ACTIVITY_COLUMNS
            ]
            for a in acts
        ),
    )
    tables["contacts.csv"] = _orm_table(Contact, CONTACT_COLUMNS, readable_contacts(session, actor, policy))
    if may_read_indicators(actor):
        values = session.scalars(
            select(IndicatorValue).order_by(IndicatorValue.indicator_id, IndicatorValue.period_end)
        )
        tables["indicator_values.csv"] = _orm_table(IndicatorValue, INDICATOR_COLUMNS, values)
    schema = {
        "name": "lianzhao-export",
        "version": SCHEMA_VERSION,
        "generated_at": now.isoformat() + "Z",
        "generated_for": getattr(actor, "username", None),
        "encoding": "utf-8",
        "list_separator": "|",
        "files": {
            name: {"description": DESCRIPTIONS[name], "columns": t.columns, "rows": t.rows}
            for name, t in tables.items()
        },
    }
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("schema.json", json.dumps(schema, ensure_ascii=False, indent=2))
        for name, t in tables.items():
            zf.writestr(name, t.data)
    return buf.getvalue()


def schema_only() -> dict[str, Any]:
    """The column description without data (docs/API.md, `GET /api/v1/export/schema.json`)."""
    graph = (("sectors.csv", Sector), ("chains.csv", Chain), ("nodes.csv", ChainNode), ("flows.csv", Flow),
             ("zones.csv", Zone), ("companies.csv", Company), ("supplies.csv", Supply))  # fmt: skip
    crm = (("leads.csv", Lead, LEAD_COLUMNS), ("activities.csv", Activity, ACTIVITY_COLUMNS),
           ("contacts.csv", Contact, CONTACT_COLUMNS), ("indicator_values.csv", IndicatorValue, INDICATOR_COLUMNS))  # fmt: skip
    files: dict[str, Any] = {
        n: {"description": DESCRIPTIONS[n], "columns": _dataclass_columns(c)} for n, c in graph
    }
    for name, model, names in crm:
        files[name] = {"description": DESCRIPTIONS[name], "columns": _orm_columns(model, names)}
    return {"name": "lianzhao-export", "version": SCHEMA_VERSION, "encoding": "utf-8", "list_separator": "|",
            "files": files}  # fmt: skip
