"""The API's endpoints: parse, call the service the pages call, dump through the schema.

Graph data comes from ChainService (the chain pages are open to every signed-in user, and so is
this); CRM data from crm.services / crm.queries with the caller as the actor, so every refusal
is the service's own (PermissionDenied -> 403 JSON).
"""

from __future__ import annotations

import io
from dataclasses import asdict

from flask import g, jsonify, send_file, url_for

from crm import full_export, permissions
from crm.errors import PermissionDenied
from crm.queries import contacts as contact_queries
from crm.queries.contacts import contacts_by_company
from crm.queries.monitoring import indicator_board
from crm.queries.spaces import SpaceFilter, list_resources
from crm.queries.worklist import WorkFilter, worklist
from crm.services import activities, assignment, attachments, leads, stage_claims, target_lists
from crm.services._common import current_actor
from crm.services.spaces import can_read as can_read_spaces

from .. import backend
from ..access import may_open
from ..blueprints.attachments import download_response
from ..blueprints.monitoring import default_year
from ..blueprints.monitoring import monitoring as monitoring_plan
from ..list_export import list_xlsx
from ..loop import attachment_store, contact_policy, district, graph_store, loop_settings
from . import schemas as s
from .core import (
    etag,
    if_match_version,
    load_body,
    load_query,
    operation,
    page_args,
    paged,
    remote_ip,
    slice_page,
)

LEAD_ERRORS = (400, 401, 403, 404, 409, 412)

# ----------------------------------------------------------------------------- chains


@operation("/chains", summary="产业链列表", tag="产业链", query=s.ChainQuery, response=s.ChainList)
def list_chains():
    """Every chain, optionally of one sector (`sector_id`)."""
    args = load_query(s.ChainQuery)
    chains = backend.chain_service().chains(args.get("sector_id"))
    return jsonify({"items": s.Chain(many=True).dump(chains)})


@operation(
    "/chains/<chain_id>/gaps",
    summary="产业链缺口分析",
    tag="产业链",
    query=s.GapQuery,
    response=s.GapReport,
    errors=(404,),
)
def chain_gaps(chain_id: str):
    """Each node's local firms, output, qualified firms and 缺链/弱链/强链 status with its reason."""
    args = load_query(s.GapQuery)
    report = backend.chain_service().gap_report(chain_id)
    nodes = [n for n in report.nodes if not args.get("status") or n.status == args["status"]]
    return jsonify(s.GapReport().dump({"chain": report.chain, "summary": report.summary, "nodes": nodes}))


@operation(
    "/chains/<chain_id>/targets",
    summary="补链目标企业排名",
    tag="产业链",
    query=s.TargetQuery,
    response=s.TargetPage,
    paged=True,
    errors=(404,),
)
def chain_targets(chain_id: str):
    """Outside firms on the chain's gap nodes, best score first, each with its factors and reason."""
    args = load_query(s.TargetQuery)
    page, per_page = page_args(args)
    rows = backend.chain_service().targets(
        chain_id, node_id=args.get("node_id"), status=args.get("status"), top=None
    )
    return paged([asdict(t) for t in slice_page(rows, page, per_page)], s.Target, page, per_page, len(rows))


@operation("/nodes/<node_id>", summary="环节详情", tag="产业链", response=s.NodeDetail, errors=(404,))
def node_detail(node_id: str):
    """A node's gap status, its local firms and its top ranked targets."""
    detail = backend.chain_service().node_detail(node_id)
    return jsonify(
        s.NodeDetail().dump(
            {
                "gap": detail.gap,
                "local_firms": detail.local_firms,
                "targets": [asdict(t) for t in detail.targets],
            }
        )
    )


@operation("/companies/<company_id>", summary="企业详情", tag="企业", response=s.CompanyDetail, errors=(404,))
def company_detail(company_id: str):
    """A company of the chain graph with its nodes and, for an outside firm, its ties to local firms."""
    detail = backend.chain_service().company_detail(company_id)
    return jsonify(s.CompanyDetail().dump({"company": detail.company, "ties": detail.ties}))


# ----------------------------------------------------------------------------- leads


def _lead_response(lead, status: int = 200):
    response = jsonify(s.Lead().dump(lead))
    response.status_code = status
    response.headers["ETag"] = etag("lead", lead.id, lead.version)
    if status == 201:
        response.headers["Location"] = url_for("api.get_lead", lead_id=lead.id)
    return response


@operation("/leads", summary="线索列表", tag="线索", query=s.LeadQuery, response=s.LeadPage, paged=True)
def list_leads():
    """The leads the caller may read (the pages' rule), filtered, in the work order (overdue first)."""
    args = load_query(s.LeadQuery)
    page, per_page = page_args(args)
    f = WorkFilter(
        scope=args["scope"],
        stage=args.get("stage"),
        sector_id=args.get("sector_id"),
        chain_id=args.get("chain_id"),
        node_id=args.get("node_id"),
        text=args.get("q"),
        key_only=args["key_only"],
        overdue_only=args["overdue_only"],
    )
    result = worklist(backend.db(), g.actor, f, backend.crm_settings(), page=page, per_page=per_page)
    return paged(result.items, s.Lead, result.page, result.per_page, result.total)


@operation(
    "/leads",
    "POST",
    summary="登记线索",
    tag="线索",
    scope="write",
    body=s.LeadCreate,
    response=s.Lead,
    status=201,
    errors=(400, 401, 403, 409),
)
def create_lead():
    """Register a firm as a lead (首报首谈: a firm another lead holds is refused with 409)."""
    data = load_body(s.LeadCreate)
    with backend.unit_of_work() as session:
        lead = leads.create_lead(session, g.actor, data, settings=backend.crm_settings(), ip=remote_ip())
    return _lead_response(lead, 201)


@operation("/leads/<int:lead_id>", summary="线索详情", tag="线索", response=s.Lead, errors=(401, 403, 404))
def get_lead(lead_id: int):
    """One lead; its ETag (and `version`) is what an update must send back."""
    return _lead_response(leads.get_lead(backend.db(), g.actor, lead_id))


@operation(
    "/leads/<int:lead_id>",
    "PATCH",
    summary="修改线索",
    tag="线索",
    scope="write",
    body=s.LeadUpdate,
    response=s.Lead,
    errors=LEAD_ERRORS,
)
def update_lead(lead_id: int):
    """Change fields. Send the version read (If-Match: the ETag, or `version`): a save over a
    newer one is refused (412 with If-Match, 409 otherwise)."""
    data = load_body(s.LeadUpdate, partial=True)
    version = if_match_version()
    body_version = data.pop("version", None)
    with backend.unit_of_work() as session:
        lead = leads.update_lead(
            session,
            g.actor,
            lead_id,
            data,
            expected_version=version if version is not None else body_version,
            settings=backend.crm_settings(),
            ip=remote_ip(),
        )
    return _lead_response(lead)


@operation(
    "/leads/<int:lead_id>/stage",
    "POST",
    summary="变更阶段",
    tag="线索",
    scope="write",
    body=s.StageMove,
    response=s.StageMoveResult,
    errors=LEAD_ERRORS,
)
def move_lead(lead_id: int):
    """Move the lead along the workflow, as the lead page does: into a stage that asks for facts
    (签约, 落地 …) the move is a claim that waits for confirmation (`claim` in the answer); a key
    project without its "四个一" is refused (409 gate_not_satisfied), missing facts with 400."""
    data = load_body(s.StageMove)
    version = if_match_version()
    with backend.unit_of_work() as session:
        result = stage_claims.move(
            session,
            g.actor,
            lead_id,
            data["target"],
            data.get("reason"),
            facts=data.get("facts") or {},
            expected_version=version if version is not None else data.get("version"),
            settings=backend.crm_settings(),
            loop=loop_settings(),
            graph=graph_store(),
            district=district(),
            ip=remote_ip(),
        )
    response = jsonify(s.StageMoveResult().dump({"lead": result.lead, "claim": result.claim}))
    response.headers["ETag"] = etag("lead", result.lead.id, result.lead.version)
    return response


@operation(
    "/leads/<int:lead_id>/claims",
    summary="阶段申报列表",
    tag="线索",
    response=s.ClaimList,
    errors=(401, 403, 404),
)
def list_claims(lead_id: int):
    """A lead's stage claims (pending, confirmed, returned, withdrawn)."""
    return jsonify(
        {"items": s.StageClaim(many=True).dump(stage_claims.claims_of(backend.db(), g.actor, lead_id))}
    )


@operation(
    "/claims/<int:claim_id>/decision",
    "POST",
    summary="确认、退回或撤回阶段申报",
    tag="线索",
    scope="write",
    body=s.ClaimDecision,
    response=s.StageClaim,
    errors=LEAD_ERRORS,
)
def decide_claim(claim_id: int):
    """confirm / return (with a reason) by those who may decide; withdraw by the claimant."""
    data = load_body(s.ClaimDecision)
    settings, loop = backend.crm_settings(), loop_settings()
    with backend.unit_of_work() as session:
        if data["action"] == "confirm":
            claim = stage_claims.confirm(session, g.actor, claim_id, settings=settings, loop=loop,
                                         graph=graph_store(), district=district(), ip=remote_ip())  # fmt: skip
        elif data["action"] == "return":
            claim = stage_claims.return_claim(session, g.actor, claim_id, data.get("reason") or "",
                                              settings=settings, loop=loop, ip=remote_ip())  # fmt: skip
        else:
            claim = stage_claims.withdraw(session, g.actor, claim_id, ip=remote_ip())
    return jsonify(s.StageClaim().dump(claim))


@operation(
    "/leads/<int:lead_id>/claim",
    "POST",
    summary="认领公共池线索",
    tag="线索",
    scope="write",
    response=s.Lead,
    errors=LEAD_ERRORS,
)
def claim_lead(lead_id: int):
    """A recruiter takes a pool lead of their own team."""
    with backend.unit_of_work() as session:
        lead = assignment.claim_lead(session, g.actor, lead_id, ip=remote_ip())
    return _lead_response(lead)


@operation(
    "/leads/<int:lead_id>/activities",
    summary="跟进活动列表",
    tag="线索",
    response=s.ActivityList,
    errors=(401, 403, 404),
)
def list_activities(lead_id: int):
    """A lead's activities, newest first."""
    items = activities.list_activities(backend.db(), g.actor, lead_id)
    return jsonify({"items": s.Activity(many=True).dump(items)})


@operation(
    "/leads/<int:lead_id>/activities",
    "POST",
    summary="登记跟进活动",
    tag="线索",
    scope="write",
    body=s.ActivityCreate,
    response=s.Activity,
    status=201,
    errors=(400, 401, 403, 404),
)
def add_activity(lead_id: int):
    """Log a visit, call or meeting on a lead the caller may edit (its outcome is required)."""
    data = load_body(s.ActivityCreate)
    with backend.unit_of_work() as session:
        act = activities.add_activity(
            session, g.actor, lead_id, settings=backend.crm_settings(), ip=remote_ip(), **data
        )
    response = jsonify(s.Activity().dump(act))
    response.status_code = 201
    return response


@operation(
    "/leads/<int:lead_id>/attachments",
    summary="附件列表",
    tag="线索",
    response=s.AttachmentList,
    errors=(401, 403, 404),
)
def list_attachments(lead_id: int):
    """A lead's files (not deleted), newest first; the type is the one detected from the content."""
    rows = attachments.list_for_lead(backend.db(), g.actor, lead_id)
    return jsonify({"items": s.Attachment(many=True).dump([r.attachment for r in rows])})


@operation(
    "/leads/<int:lead_id>/attachments/<int:attachment_id>",
    summary="下载附件",
    tag="线索",
    errors=(401, 403, 404),
    produces="application/octet-stream",
)
def download_attachment(lead_id: int, attachment_id: int):
    """One file, always as an attachment (Content-Disposition with the UTF-8 name); audited."""
    with backend.unit_of_work() as session:
        got = attachments.download(
            session, g.actor, lead_id, attachment_id, files=attachment_store(), ip=remote_ip()
        )
    return download_response(got, attachment_id)


@operation(
    "/leads/<int:lead_id>/contacts",
    summary="线索企业的联系人",
    tag="线索",
    response=s.ContactList,
    errors=(401, 403, 404),
)
def lead_contacts(lead_id: int):
    """The contacts of the lead's company (or the lead's own), masked unless the role sees them."""
    leads.get_lead(backend.db(), g.actor, lead_id)  # the lead read rule first: 403 / 404
    found = contact_queries.lead_contacts(backend.db(), g.actor, lead_id, contact_policy())
    return jsonify({"items": s.Contact(many=True).dump(found.items)})


@operation(
    "/companies/<company_id>/contacts",
    summary="企业联系人",
    tag="企业",
    response=s.ContactList,
    errors=(401, 403),
)
def company_contacts(company_id: str):
    """A company's contacts, for managers, leaders and recruiters who may read a lead on it."""
    found = contact_queries.company_contacts(backend.db(), g.actor, company_id, contact_policy())
    return jsonify({"items": s.Contact(many=True).dump(found.items)})


# ----------------------------------------------------------------------------- target lists


@operation(
    "/target-lists",
    summary="目标企业名录列表",
    tag="目标名录",
    query=s.TargetListQuery,
    response=s.TargetListList,
    errors=(401, 403),
)
def list_target_lists():
    """The lists the caller may read, newest first."""
    args = load_query(s.TargetListQuery)
    items = target_lists.list_lists(backend.db(), g.actor, **args)
    return jsonify({"items": s.TargetList(many=True).dump(items)})


@operation(
    "/target-lists/<int:list_id>",
    summary="名录详情（含企业行）",
    tag="目标名录",
    response=s.TargetListDetail,
    errors=(401, 403, 404),
)
def get_target_list(list_id: int):
    """One list with its rows in order."""
    tl = target_lists.get_list(backend.db(), g.actor, list_id)
    response = jsonify(s.TargetListDetail().dump(tl))
    response.headers["ETag"] = etag("list", tl.id, tl.version)
    return response


@operation(
    "/target-lists/<int:list_id>/export.xlsx",
    summary="导出名录（XLSX）",
    tag="目标名录",
    errors=(401, 403, 404),
    produces="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
)
def export_target_list(list_id: int):
    """The list as the same workbook the 目标名录 page downloads."""
    tl = target_lists.get_list(backend.db(), g.actor, list_id)
    svc = backend.chain_service()
    sectors = {x.id: x.name for x in svc.sectors()}
    chain_name = next((c.name for c in svc.chains() if c.id == tl.chain_id), None)
    found = contacts_by_company(backend.db(), g.actor, [r.company_id for r in tl.rows], contact_policy())
    data, filename = list_xlsx(tl, sectors.get(tl.sector_id, tl.sector_id), chain_name, found)
    response = send_file(
        io.BytesIO(data),
        mimetype="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        as_attachment=True,
        download_name=filename,
    )
    response.headers["Cache-Control"] = "no-store"
    return response


# ----------------------------------------------------------------------------- spaces, indicators


@operation("/spaces", summary="空间资源（载体）列表", tag="空间资源", query=s.SpaceQuery, response=s.SpaceList,
           errors=(401, 403))  # fmt: skip
def list_spaces():
    """The space register (土地/厂房/楼宇) for those who may open it; a resource's lead only if readable."""
    actor = current_actor(backend.db(), g.actor)
    if not can_read_spaces(actor):
        raise PermissionDenied("您无权查看空间资源")
    args = load_query(s.SpaceQuery)
    f = SpaceFilter(
        kind=args.get("kind"), status=args.get("status"), zone_id=args.get("zone_id"), text=args.get("q")
    )
    rows = []
    for r in list_resources(backend.db(), f):
        item = s.Space().dump(r)
        item["lead_id"] = r.lead_id if r.lead is not None and permissions.can_read(actor, r.lead) else None
        rows.append(item)
    return jsonify({"items": rows})


@operation("/indicators", summary="监测指标（年度进度）", tag="监测", query=s.IndicatorQuery,
           response=s.IndicatorList, errors=(401, 403))  # fmt: skip
def list_indicators():
    """The plan's indicators for a year: latest value, target, progress, off-track mark (the 监测 page's)."""
    if not may_open(g.actor, "monitoring"):
        raise PermissionDenied("监测指标仅供区领导和招商经理查看")
    msettings, plan = monitoring_plan()
    years = sorted({y for ind in plan.indicators for y in ind.targets})
    year = load_query(s.IndicatorQuery).get("year") or default_year(years)
    items = []
    for row in indicator_board(backend.db(), plan, msettings, year):
        target = row.target
        items.append(
            {
                "id": row.ind.id,
                "no": row.ind.no,
                "name": row.ind.name,
                "unit": row.ind.unit,
                "category": row.ind.category,
                "year": year,
                "target": target.value if target else None,
                "target_text": target.text if target else None,
                "value": row.latest.value if row.latest else None,
                "period": row.latest.period_key if row.latest else None,
                "progress": row.assessment.progress,
                "off_track": row.assessment.off_track,
                "note": row.assessment.note,
                "computed": row.computed,
            }
        )
    return jsonify(s.IndicatorList().dump({"year": year, "items": items}))


# ----------------------------------------------------------------------------- full export


@operation(
    "/export.zip",
    summary="全量导出（CSV 压缩包）",
    tag="导出",
    errors=(401,),
    produces="application/zip",
)
def export_all():
    """Companies, the chain graph, leads, activities and indicator values the caller may read, as
    CSV files in one zip with schema.json (see /export/schema.json)."""
    data = full_export.build_zip(
        backend.db(),
        g.actor,
        backend.chain_service().store,
        may_read_indicators=lambda u: may_open(u, "monitoring"),
        contact_policy=contact_policy(),
    )
    response = send_file(io.BytesIO(data), mimetype="application/zip", as_attachment=True,
                         download_name="lianzhao-export.zip")  # fmt: skip
    response.headers["Cache-Control"] = "no-store"
    return response


@operation("/export/schema.json", summary="全量导出的文件与字段说明", tag="导出", scope=None)
def export_schema():
    """The stable description of the export's files and columns (holds no data)."""
    return jsonify(full_export.schema_only())
