"""Domain errors of the CRM. Every message is a Chinese sentence meant for the user.

Each kind is also one of the project's kinds in `graph/errors.py` (the one root every layer
shares), so the web maps them to status codes by type and the CLI catches `LianzhaoError`.
`CrmError` stays the CRM's own base for callers that only care about CRM refusals.
"""

from __future__ import annotations

from datetime import datetime

from graph import errors as base


class CrmError(base.LianzhaoError):
    """Base class of the CRM's errors: catch this in views and the CLI and show `str(exc)`."""


class NotFound(CrmError, base.NotFound):
    """The object does not exist (or the actor may not know that it exists)."""


class PermissionDenied(CrmError, base.PermissionDenied):
    """The actor's role or team does not allow this on this object."""


class ValidationError(CrmError, base.InvalidInput):
    """Input that breaks a field rule; nothing was written."""

    reassignment: bool = False  # set on "改派须填写原因" so views say 未改派 (not 未分派)


class WorkflowError(CrmError, base.InvalidInput):
    """A stage transition that the workflow does not allow."""


class GateNotSatisfied(WorkflowError):
    """A key project lacks some of the "四个一" items; `missing` lists them in Chinese."""

    def __init__(self, stage: str, missing: list[str]):
        self.stage = stage
        self.missing = list(missing)
        super().__init__(f"重点项目进入「{stage}」前须落实“四个一”，尚缺：{'、'.join(self.missing)}")


class DuplicateLead(CrmError, base.Conflict):
    """首报首谈: another lead already holds this company; says who and until when."""

    def __init__(
        self,
        company_name: str,
        holder: str,
        registered_at: datetime,
        protected_until: datetime | None,
        lead_id: int,
        holder_user_id: int | None = None,
    ):
        self.company_name = company_name
        self.holder_user_id = holder_user_id  # who registered the holding lead
        self.holder = holder
        self.registered_at = registered_at
        self.protected_until = protected_until
        self.lead_id = lead_id
        until = f"，首报首谈保护期至{protected_until:%Y-%m-%d}" if protected_until else ""
        super().__init__(
            f"「{company_name}」已由{holder}于{registered_at:%Y-%m-%d}首报登记（线索编号 {lead_id}）"
            f"{until}，不能重复登记"
        )


class MergeRefused(CrmError, base.Conflict):
    """Two firms that both have open leads are merged only by an administrator who forces it."""


class StaleEdit(CrmError, base.Conflict):
    """Someone else saved the object since it was loaded; the second save is refused."""

    def __init__(self, what: str = "该记录"):
        super().__init__(f"{what}已被其他人修改，您的保存未生效。请刷新页面查看最新内容后重新修改")
