"""Database models (SQLAlchemy 2.0, typed), one module per concern."""

from .accounts import DEFAULT_UNIT, ROLES, Unit, User, user_unit
from .audit import AuditEntry, AuditHead
from .customers import (
    FOLLOW_UP_STATES,
    TIERS,
    Customer,
    FollowUp,
    FollowUpEvent,
    Order,
    OutboxMail,
    Suppression,
    UnitSettings,
)
from .jobs import JOB_KINDS, JOB_STATES, Job
from .surveys import (
    STATUSES,
    SURVEY_STATES,
    Invitation,
    QuestionnaireVersion,
    Response,
    Survey,
    aware,
    utcnow,
)
from .tokens import ApiToken

__all__ = [
    "DEFAULT_UNIT",
    "JOB_KINDS",
    "JOB_STATES",
    "FOLLOW_UP_STATES",
    "TIERS",
    "Customer",
    "FollowUp",
    "FollowUpEvent",
    "Order",
    "OutboxMail",
    "Suppression",
    "UnitSettings",
    "ROLES",
    "STATUSES",
    "SURVEY_STATES",
    "ApiToken",
    "AuditEntry",
    "AuditHead",
    "Invitation",
    "Job",
    "QuestionnaireVersion",
    "Response",
    "Survey",
    "Unit",
    "User",
    "aware",
    "user_unit",
    "utcnow",
]
