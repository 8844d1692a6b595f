"""Extension objects, created unbound and initialised in :func:`survey_app.create_app`."""

from flask_babel import Babel
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_login import LoginManager
from flask_migrate import Migrate
from flask_sqlalchemy import SQLAlchemy
from flask_wtf import CSRFProtect
from sqlalchemy.orm import DeclarativeBase

from . import ratelimits  # noqa: F401  (registers locked-memory://)


class Base(DeclarativeBase):
    pass


db = SQLAlchemy(model_class=Base)
migrate = Migrate()
babel = Babel()
csrf = CSRFProtect()
login_manager = LoginManager()
# Memory storage by default (per process); production names a shared one (Redis) in
# RATELIMIT_STORAGE_URI. Limits apply only where a view declares one.
limiter = Limiter(key_func=get_remote_address, default_limits=[])
limiter.request_filter(ratelimits.reads_are_not_limited)
