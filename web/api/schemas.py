"""The API's shapes as marshmallow schemas: responses are dumped through them, request bodies and
query strings are loaded (validated) through them, and apispec turns the same classes into the
OpenAPI components, so the description cannot drift from what the code does.

Field rules (lengths, credit codes, stages) stay in the CRM services: these schemas check only
the JSON types; the service's ValidationError answers the rest with its Chinese message.
"""

from __future__ import annotations

from marshmallow import EXCLUDE, Schema, fields, validate


class _In(Schema):
    class Meta:
        unknown = EXCLUDE  # forward-compatible clients may send more than this version knows


class Error(Schema):
    code = fields.String(
        required=True, metadata={"description": "机器可读的错误代码", "example": "forbidden"}
    )
    message = fields.String(
        required=True, metadata={"description": "中文说明", "example": "您无权查看该线索"}
    )
    details = fields.Raw(metadata={"description": "字段级错误（仅请求校验失败时）"})


class ErrorBody(Schema):
    error = fields.Nested(Error, required=True)


class PageQuery(_In):
    page = fields.Integer(load_default=1, validate=validate.Range(min=1))
    per_page = fields.Integer(load_default=50, validate=validate.Range(min=1))


# ----------------------------------------------------------------------------- graph


class Chain(Schema):
    id = fields.String(required=True, metadata={"example": "nev_drive"})
    name = fields.String(required=True)
    sector_id = fields.String(required=True)


class ChainQuery(_In):
    sector_id = fields.String()


class NodeGap(Schema):
    node_id = fields.String(required=True)
    chain_id = fields.String()
    name = fields.String()
    stage = fields.String(metadata={"description": "上游 / 中游 / 下游"})
    importance = fields.Integer()
    local_firms = fields.Integer()
    local_output = fields.Float(metadata={"description": "本地产值（万元）"})
    qualified_firms = fields.Integer()
    outside_firms = fields.Integer()
    status = fields.String(metadata={"description": "缺链 / 弱链 / 强链"})
    criticality = fields.Float()
    downstream_count = fields.Integer()
    reason = fields.String()


class GapQuery(_In):
    status = fields.String(validate=validate.OneOf(["缺链", "弱链", "强链"]))


class GapReport(Schema):
    chain = fields.Nested(Chain)
    summary = fields.Dict(keys=fields.String(), values=fields.Float())
    nodes = fields.List(fields.Nested(NodeGap))


class Target(Schema):
    company_id = fields.String(required=True)
    company_name = fields.String()
    uscc = fields.String(allow_none=True)
    province = fields.String()
    city = fields.String()
    synthetic = fields.Boolean(metadata={"description": "示例数据"})
    qualifications = fields.List(fields.String())
    revenue = fields.Float(allow_none=True)
    chain_id = fields.String()
    node_id = fields.String()
    node_name = fields.String()
    status = fields.String()
    score = fields.Float(metadata={"description": "0–100"})
    factors = fields.Dict(keys=fields.String(), values=fields.Float())
    reason = fields.String()


class TargetQuery(PageQuery):
    node_id = fields.String()
    status = fields.String(validate=validate.OneOf(["缺链", "弱链"]))


class TargetPage(Schema):
    items = fields.List(fields.Nested(Target))
    page = fields.Integer()
    per_page = fields.Integer()
    total = fields.Integer()


class CompanyBrief(Schema):
    id = fields.String(required=True)
    name = fields.String(attribute="display_name")
    uscc = fields.String(allow_none=True)
    province = fields.String()
    city = fields.String()
    district = fields.String()
    is_local = fields.Boolean()
    qualifications = fields.List(fields.String())
    revenue = fields.Float(allow_none=True)
    employees = fields.Integer(allow_none=True)
    node_ids = fields.List(fields.String())


class NodeDetail(Schema):
    gap = fields.Nested(NodeGap)
    local_firms = fields.List(fields.Nested(CompanyBrief))
    targets = fields.List(fields.Nested(Target))


class Tie(Schema):
    local_id = fields.String()
    local_name = fields.String()
    direction = fields.String(
        metadata={"description": "supplies（向本地企业供货）/ buys（采购本地企业产品）"}
    )
    product = fields.String()


class CompanyDetail(Schema):
    company = fields.Nested(CompanyBrief)
    ties = fields.List(fields.Nested(Tie))


# ----------------------------------------------------------------------------- leads


class Lead(Schema):
    id = fields.Integer(required=True)
    version = fields.Integer(
        required=True, metadata={"description": "乐观锁版本：修改时以 If-Match 或 version 提交"}
    )
    company_name = fields.String()
    company_id = fields.String(allow_none=True)
    uscc = fields.String(allow_none=True)
    sector_id = fields.String(allow_none=True)
    chain_id = fields.String(allow_none=True)
    chain_name = fields.String(allow_none=True)
    node_id = fields.String(allow_none=True)
    node_name = fields.String(allow_none=True)
    gap_status = fields.String(allow_none=True)
    gap_score = fields.Float(allow_none=True)
    channel = fields.String()
    stage = fields.String()
    stage_reason = fields.String(allow_none=True)
    priority = fields.String()
    key_flag = fields.Boolean()
    investment = fields.Float(allow_none=True, metadata={"description": "万元"})
    expected_output = fields.Float(allow_none=True)
    zone = fields.String(allow_none=True)
    notes = fields.String(allow_none=True)
    owner_id = fields.Integer(allow_none=True)
    team_id = fields.Integer(allow_none=True)
    first_contact_at = fields.DateTime(allow_none=True)
    last_contact_at = fields.DateTime(allow_none=True)
    protected_until = fields.DateTime(allow_none=True)
    created_at = fields.DateTime()
    updated_at = fields.DateTime()


class LeadPage(Schema):
    items = fields.List(fields.Nested(Lead))
    page = fields.Integer()
    per_page = fields.Integer()
    total = fields.Integer()


class LeadQuery(PageQuery):
    scope = fields.String(
        load_default="all",
        validate=validate.OneOf(["mine", "pool", "team", "all"]),
        metadata={"description": "mine 我负责的 / pool 公共池 / team 本组 / all 我可见的全部"},
    )
    stage = fields.String()
    sector_id = fields.String()
    chain_id = fields.String()
    node_id = fields.String()
    q = fields.String(validate=validate.Length(max=100), metadata={"description": "企业名称包含"})
    key_only = fields.Boolean(load_default=False)
    overdue_only = fields.Boolean(load_default=False)


class LeadWrite(_In):
    """Fields a client may set; the service validates values (and refuses the rest by role)."""

    company_name = fields.String()
    company_id = fields.String(allow_none=True)
    uscc = fields.String(allow_none=True)
    sector_id = fields.String(allow_none=True)
    sector_name = fields.String(allow_none=True)
    chain_id = fields.String(allow_none=True)
    chain_name = fields.String(allow_none=True)
    node_id = fields.String(allow_none=True)
    node_name = fields.String(allow_none=True)
    gap_status = fields.String(allow_none=True)
    gap_reason = fields.String(allow_none=True)
    channel = fields.String()
    priority = fields.String()
    key_flag = fields.Boolean()
    investment = fields.Float(allow_none=True)
    expected_output = fields.Float(allow_none=True)
    land_mu = fields.Float(allow_none=True)
    floor_m2 = fields.Float(allow_none=True)
    zone = fields.String(allow_none=True)
    notes = fields.String(allow_none=True)


class LeadCreate(LeadWrite):
    company_name = fields.String(required=True)


class LeadUpdate(LeadWrite):
    version = fields.Integer(metadata={"description": "读取时的 version（也可用 If-Match 头）"})


class StageMove(_In):
    target = fields.String(required=True, metadata={"description": "目标阶段，如 接洽"})
    reason = fields.String(allow_none=True)
    version = fields.Integer()
    facts = fields.Dict(
        keys=fields.String(),
        values=fields.Raw(),
        metadata={
            "description": "进入须举证的阶段（签约、落地、投产…）时的事实项，如 signed_on；此时生成待确认的阶段申报"
        },
    )


class StageClaim(Schema):
    id = fields.Integer(required=True)
    lead_id = fields.Integer()
    from_stage = fields.String()
    to_stage = fields.String()
    facts = fields.Dict()
    status = fields.String(metadata={"description": "pending / confirmed / returned / withdrawn"})
    claimed_by_id = fields.Integer(allow_none=True)
    claimed_at = fields.DateTime()
    decided_by_id = fields.Integer(allow_none=True)
    decided_at = fields.DateTime(allow_none=True)
    decision_reason = fields.String(allow_none=True)


class StageMoveResult(Schema):
    lead = fields.Nested(Lead)
    claim = fields.Nested(StageClaim, allow_none=True, metadata={"description": "经申报时：待确认的阶段申报"})


class ClaimList(Schema):
    items = fields.List(fields.Nested(StageClaim))


class ClaimDecision(_In):
    action = fields.String(required=True, validate=validate.OneOf(["confirm", "return", "withdraw"]))
    reason = fields.String(allow_none=True, metadata={"description": "退回时必填"})


class Activity(Schema):
    id = fields.Integer(required=True)
    lead_id = fields.Integer()
    kind = fields.String()
    occurred_on = fields.Date()
    participants = fields.String(allow_none=True)
    outcome = fields.String(allow_none=True)
    next_step = fields.String(allow_none=True)
    due_date = fields.Date(allow_none=True)
    created_by_id = fields.Integer(allow_none=True)
    created_at = fields.DateTime()


class ActivityList(Schema):
    items = fields.List(fields.Nested(Activity))


class Attachment(Schema):
    id = fields.Integer(required=True)
    lead_id = fields.Integer()
    activity_id = fields.Integer(allow_none=True)
    claim_id = fields.Integer(allow_none=True)
    filename = fields.String(metadata={"description": "上传时的文件名（中文保留）"})
    kind = fields.String(metadata={"description": "按内容识别的类型：pdf、jpg、docx ……"})
    mime = fields.String()
    size = fields.Integer(metadata={"description": "字节"})
    sha256 = fields.String()
    uploaded_by_id = fields.Integer(allow_none=True)
    uploaded_at = fields.DateTime()
    note = fields.String(allow_none=True)


class AttachmentList(Schema):
    items = fields.List(fields.Nested(Attachment))


class Contact(Schema):
    """A person at a company; mobile, landline, email and wechat are masked (138****5678) unless
    the caller's role sees contact details in full ([contacts] full_view_roles)."""

    id = fields.Integer(required=True)
    company_id = fields.String(allow_none=True)
    lead_id = fields.Integer(allow_none=True)
    company_name = fields.String()
    name = fields.String()
    title = fields.String()
    mobile = fields.String()
    landline = fields.String()
    email = fields.String()
    wechat = fields.String()
    notes = fields.String()
    full = fields.Boolean(metadata={"description": "true: details in full; false: masked"})


class ContactList(Schema):
    items = fields.List(fields.Nested(Contact))


class ActivityCreate(_In):
    kind = fields.String(
        required=True, metadata={"description": "拜访 / 电话 / 会议 / 活动 / 备注", "example": "拜访"}
    )
    occurred_on = fields.Date(allow_none=True)
    participants = fields.String(allow_none=True)
    outcome = fields.String(required=True)
    next_step = fields.String(allow_none=True)
    due_date = fields.Date(allow_none=True)


# ----------------------------------------------------------------------------- target lists


class TargetListRow(Schema):
    position = fields.Integer()
    company_id = fields.String()
    company_name = fields.String()
    uscc = fields.String(allow_none=True)
    chain_id = fields.String(allow_none=True)
    node_id = fields.String(allow_none=True)
    node_name = fields.String(allow_none=True)
    gap_status = fields.String(allow_none=True)
    score = fields.Float(allow_none=True)
    factors = fields.Dict()
    reason = fields.String(allow_none=True)
    note = fields.String(allow_none=True)


class TargetList(Schema):
    id = fields.Integer(required=True)
    version = fields.Integer()
    title = fields.String()
    sector_id = fields.String()
    chain_id = fields.String(allow_none=True)
    status = fields.String(metadata={"description": "draft / submitted / returned / approved"})
    version_no = fields.Integer(allow_none=True, metadata={"description": "批准后的版本号"})
    approved_at = fields.DateTime(allow_none=True)
    updated_at = fields.DateTime()


class TargetListDetail(TargetList):
    rows = fields.List(fields.Nested(TargetListRow))


class TargetListQuery(_In):
    sector_id = fields.String()
    chain_id = fields.String()
    status = fields.String(validate=validate.OneOf(["draft", "submitted", "returned", "approved"]))


class TargetListList(Schema):
    items = fields.List(fields.Nested(TargetList))


class ChainList(Schema):
    items = fields.List(fields.Nested(Chain))


# ----------------------------------------------------------------------------- spaces, indicators


class SpaceQuery(_In):
    kind = fields.String(validate=validate.OneOf(["land", "factory", "office"]))
    status = fields.String(metadata={"description": "可招商 / 意向锁定 / 已签约 / 已入驻 / 暂不可用"})
    zone_id = fields.String()
    q = fields.String(validate=validate.Length(max=100))


class Space(Schema):
    id = fields.Integer(required=True)
    code = fields.String()
    kind = fields.String()
    name = fields.String()
    zone_id = fields.String(allow_none=True)
    park = fields.String(allow_none=True)
    address = fields.String(allow_none=True)
    area_m2 = fields.Float(allow_none=True)
    area_mu = fields.Float(allow_none=True)
    land_use = fields.String(allow_none=True)
    supply_mode = fields.String(allow_none=True)
    status = fields.String()
    hold_until = fields.DateTime(allow_none=True)
    available_from = fields.Date(allow_none=True)
    lead_id = fields.Integer(
        allow_none=True, metadata={"description": "锁定/签约的线索（仅当调用者可查看该线索）"}
    )


class SpaceList(Schema):
    items = fields.List(fields.Nested(Space))


class IndicatorQuery(_In):
    year = fields.Integer()


class Indicator(Schema):
    id = fields.String(required=True)
    no = fields.Integer()
    name = fields.String()
    unit = fields.String()
    category = fields.String()
    year = fields.Integer()
    target = fields.Float(allow_none=True)
    target_text = fields.String(allow_none=True)
    value = fields.Float(allow_none=True, metadata={"description": "本年最新一期的值"})
    period = fields.String(allow_none=True, metadata={"description": "该值的期间，如 2026-Q3"})
    progress = fields.Float(allow_none=True)
    off_track = fields.Boolean()
    note = fields.String()
    computed = fields.Integer(allow_none=True, metadata={"description": "由企业资质统计得出的值（如有）"})


class IndicatorList(Schema):
    year = fields.Integer()
    items = fields.List(fields.Nested(Indicator))
