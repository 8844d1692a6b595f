"""Staff pages of the customer register (list, one customer, upload, at-risk customers)
and the customers' unsubscribe page."""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired
from sqlalchemy import select
from wtforms import SelectChoice, SelectField
from wtforms.validators import InputRequired, Optional

from .. import mail
from ..auth.policy import (
    follow_up_scope,
    may,
    public,
    requires,
    sees_contacts,
    sees_customer,
    sees_unit,
)
from ..extensions import csrf, db, limiter
from ..guards import ROUTE_LIMITS, UPLOAD_ENDPOINTS
from ..links import query_args
from ..models import TIERS, Customer, FollowUp, Unit
from .csvfile import ImportRefused
from .services import (
    CustomerError,
    import_customers,
    import_orders,
    parse_customers,
    parse_orders,
    set_tier,
)

bp = Blueprint("customers", __name__)
MAX_UPLOAD = 4 * 1024 * 1024


class UploadForm(FlaskForm):
    kind = SelectField(
        _l("What the file holds"),
        choices=[
            SelectChoice("customers", _l("Customers (the register)")),
            SelectChoice("orders", _l("Orders")),
        ],
    )
    unit = SelectField(_l("Unit"), validators=[InputRequired()])
    file = FileField(_l("CSV file"), validators=[FileRequired()])


class TierForm(FlaskForm):
    tier = SelectField(_l("Tier"), validators=[Optional()])


class FilterForm(FlaskForm):
    class Meta:
        csrf = False

    unit = SelectField(_l("Unit"), validators=[Optional()])
    tier = SelectField(_l("Tier"), validators=[Optional()])


def unit_choices(scope_units) -> list[SelectChoice]:
    units = db.session.scalars(select(Unit).order_by(Unit.id)).all()
    return [SelectChoice(u.id, u.name) for u in units if scope_units is None or u.id in scope_units]


def visible_customers(unit_id: str | None = None, tier: str | None = None) -> list[Customer]:
    scope = follow_up_scope(current_user)
    query = select(Customer).order_by(Customer.unit_id, Customer.customer_id)
    if scope.units is not None:
        query = query.where(Customer.unit_id.in_(sorted(scope.units)))
    if scope.agent_id is not None:
        query = query.where(Customer.account_manager_id == scope.agent_id)
    if unit_id:
        query = query.where(Customer.unit_id == unit_id)
    if tier:
        query = query.where(Customer.tier == tier)
    return list(db.session.scalars(query))


def filters() -> FilterForm:
    form = FilterForm(request.args)
    form.unit.choices = [SelectChoice("", _("any"))] + unit_choices(
        follow_up_scope(current_user).units
    )
    form.tier.choices = [SelectChoice("", _("any"))] + [SelectChoice(t, t) for t in TIERS]
    return form


@bp.get("/customers")
@requires("follow_up")
@query_args("unit", "tier")
def index():
    """The customers this account sees (an agent: its own)."""
    form = filters()
    valid = form.validate()
    customers = visible_customers(
        form.unit.data if valid else None, form.tier.data if valid else None
    )
    return render_template(
        "customers/index.html",
        form=form,
        customers=customers[:1000],
        total=len(customers),
        contacts={c.id: sees_contacts(current_user, c) for c in customers[:1000]},
    ), (200 if valid else 400)


def get_customer_or_404(customer_pk: int) -> Customer:
    customer = db.session.get(Customer, customer_pk)
    if customer is None or not sees_customer(current_user, customer):
        abort(404)
    return customer


@bp.get("/customers/<int:customer_pk>")
@requires("follow_up")
def customer(customer_pk: int):
    """One customer: register data, tier (settable by hand), follow-ups."""
    c = get_customer_or_404(customer_pk)
    form = TierForm(tier=c.tier or "", formdata=None)
    form.tier.choices = [SelectChoice("", _("(none)"))] + [SelectChoice(t, t) for t in TIERS]
    cases = db.session.scalars(
        select(FollowUp).where(FollowUp.customer_pk == c.id).order_by(FollowUp.opened_at.desc())
    ).all()
    return render_template(
        "customers/customer.html",
        c=c,
        form=form,
        cases=cases,
        contacts=sees_contacts(current_user, c),
        may_tier=may(current_user, "invite") and sees_unit(current_user, c.unit_id),
    )


@bp.post("/customers/<int:customer_pk>/tier")
@requires("invite")
def tier(customer_pk: int):
    """Set a customer's tier by hand (kept by automatic tiering)."""
    c = db.session.get(Customer, customer_pk)
    if c is None or not sees_unit(current_user, c.unit_id):
        abort(404)
    form = TierForm()
    form.tier.choices = [SelectChoice("", "")] + [SelectChoice(t, t) for t in TIERS]
    if not form.validate():
        abort(400)
    set_tier(c, form.tier.data or None)
    db.session.commit()
    flash(_("The tier of %(name)s was set.", name=c.name))
    return redirect(url_for(".customer", customer_pk=c.id))


@bp.route("/customers/upload", methods=["GET", "POST"])
@requires("invite")
def upload():
    """Import the register or orders of a unit from CSV: all rows, or none."""
    form = UploadForm()
    from ..auth.policy import visible_units

    form.unit.choices = unit_choices(visible_units(current_user))
    problems = None
    if form.validate_on_submit():
        storage = form.file.data
        data = storage.read(MAX_UPLOAD + 1)
        name = (storage.filename or "upload.csv").rsplit("/", 1)[-1][:255]
        try:
            if len(data) > MAX_UPLOAD:
                raise CustomerError(_("The file is larger than 4 MB."))
            if form.kind.data == "customers":
                rows = parse_customers(data, form.unit.data, name)
                added, updated = import_customers(form.unit.data, rows, name)
            else:
                rows = parse_orders(data, form.unit.data, name)
                added, updated = import_orders(form.unit.data, rows, name)
        except ImportRefused as exc:
            db.session.rollback()
            problems = [str(p) for p in exc.problems]
            if exc.more:
                problems.append(_("... and %(n)s more problems", n=exc.more))
        except CustomerError as exc:
            db.session.rollback()
            problems = [str(exc)]
        else:
            db.session.commit()
            flash(_("%(added)s added, %(updated)s updated.", added=added, updated=updated))
            return redirect(url_for(".index", unit=form.unit.data))
    status = 422 if problems else (400 if request.method == "POST" else 200)
    return render_template("customers/upload.html", form=form, problems=problems), status


UPLOAD_ENDPOINTS.add("customers.upload")
ROUTE_LIMITS["customers.upload"] = MAX_UPLOAD + 64 * 1024


@bp.get("/customers/at-risk")
@requires("follow_up")
@query_args("unit")
def at_risk():
    """Customers at risk in a unit, ranked by value at risk."""
    from .risk import at_risk as find_at_risk
    from .risk import reason_text

    form = filters()
    scope = follow_up_scope(current_user)
    choices = [c.value for c in form.unit.choices if c.value]
    unit_id = request.args.get("unit") or (choices[0] if choices else None)
    if unit_id not in choices:
        abort(404)
    customers = visible_customers(unit_id) if scope.agent_id is not None else None
    found = find_at_risk(unit_id, customers=customers) if unit_id else []
    lang = str(get_locale())
    return render_template(
        "customers/at_risk.html",
        form=form,
        unit_id=unit_id,
        found=found,
        reasons={a.customer.id: [reason_text(r, lang) for r in a.reasons] for a in found},
    )


# -- for customers ---------------------------------------------------------------------
@bp.route("/unsubscribe/<token>", methods=["GET", "POST"])
@public
@csrf.exempt  # one-click unsubscribe (RFC 8058) posts from the mail client; the token is signed
@limiter.limit("30 per minute", methods=["POST"])
def unsubscribe(token: str):
    """Stop mail to this address from this unit (GET asks, POST does it)."""
    found = mail.read_unsubscribe_token(token)
    if found is None or db.session.get(Unit, found[0]) is None:
        abort(404, description=_("This unsubscribe link is not valid."))
    unit_id, email = found
    done = False
    if request.method == "POST":
        mail.suppress(unit_id, email)
        db.session.commit()
        done = True
    unit = db.session.get(Unit, unit_id)
    return render_template(
        "customers/unsubscribe.html", unit=unit, email=email, done=done, token=token
    )
