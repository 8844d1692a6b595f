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

__all__ = [
    "DEFAULT_UNIT",
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
    "AuditEntry",
    "AuditHead",
    "Invitation",
    "QuestionnaireVersion",
    "Response",
    "Survey",
    "Unit",
    "User",
    "aware",
    "user_unit",
    "utcnow",
]
