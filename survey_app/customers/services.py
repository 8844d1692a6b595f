"""The customer register of a unit: importing customers and orders, value tiers, the
unit's settings. Functions take validated data, audit what they change and never commit.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable
from datetime import date

import pandas as pd
from sqlalchemy import select

from analysis.value import abc_tiers, rfm

from .. import audit
from ..auth.services import EMAIL, find_user, normal_email
from ..extensions import db
from ..followups.worktime import CALENDARS, WorkCalendar, WorkTimeError
from ..models import TIERS, Customer, Order, Unit, UnitSettings, User, utcnow
from .csvfile import Problems, day, decode, number, rows

log = logging.getLogger(__name__)
CUSTOMER_COLUMNS = ("customer_id", "name", "region", "account_manager", "email", "phone", "revenue")
OPTIONAL_COLUMNS = ("lang", "tier")
ORDER_COLUMNS = ("order_id", "customer_id", "date", "amount")
LANGS = ("en", "zh")
REF = re.compile(r"^[^\s\x00-\x1f][^\x00-\x1f]{0,63}$")
PHONE = re.compile(r"^\+?[0-9 ()\-]{5,32}(\s*(ext\.?|x|转)\s*\d{1,6})?$")


class CustomerError(ValueError):
    """A request about customers that cannot be carried out; the message says why."""


def get_unit(unit_id: str) -> Unit:
    unit = db.session.get(Unit, unit_id)
    if unit is None:
        raise CustomerError(f"no unit {unit_id!r}")
    return unit


def settings_of(unit_id: str) -> UnitSettings:
    """The unit's settings (the defaults, not stored, when none were saved)."""
    found = db.session.get(UnitSettings, unit_id)
    if found is not None:
        return found
    return UnitSettings(
        unit_id=unit_id,
        zone="Asia/Shanghai",
        work_hours="09:00-12:00,13:00-17:00",
        calendar="cn",
        due_hours=4.0,
        default_lang="zh",
    )


def calendar_of(unit_id: str) -> WorkCalendar:
    s = settings_of(unit_id)
    return WorkCalendar(zone=s.zone, hours=s.work_hours, calendar=s.calendar)


def update_settings(unit_id: str, **changes) -> dict:
    """Change a unit's settings (zone, work_hours, calendar, due_hours, default_agent,
    default_lang); return what changed (and audit it)."""
    get_unit(unit_id)
    current = db.session.get(UnitSettings, unit_id)
    if current is None:
        current = settings_of(unit_id)
        db.session.add(current)
    before = {
        "zone": current.zone,
        "work_hours": current.work_hours,
        "calendar": current.calendar,
        "due_hours": current.due_hours,
        "default_agent": current.default_agent.email if current.default_agent else None,
        "default_lang": current.default_lang,
    }
    after = dict(before)
    for key, value in changes.items():
        if value is not None:
            after[key] = value
    try:
        WorkCalendar(after["zone"], after["work_hours"], after["calendar"])
    except WorkTimeError as exc:
        raise CustomerError(str(exc)) from None
    if after["calendar"] not in CALENDARS:
        raise CustomerError(f"calendar: one of {', '.join(CALENDARS)}")
    if not 0 < float(after["due_hours"]) <= 1000:
        raise CustomerError("due hours: a number of working hours from above 0 to 1000")
    if after["default_lang"] not in LANGS:
        raise CustomerError(f"language: one of {', '.join(LANGS)}")
    agent = None
    if after["default_agent"]:
        agent = staff_in_unit(after["default_agent"], unit_id)
        if agent is None:
            raise CustomerError(
                f"default agent: no active staff account {after['default_agent']} works in "
                f"unit {unit_id}"
            )
        after["default_agent"] = agent.email
    current.zone, current.work_hours, current.calendar = (
        after["zone"],
        after["work_hours"],
        after["calendar"],
    )
    current.due_hours = float(after["due_hours"])
    current.default_lang = after["default_lang"]
    current.default_agent = agent
    changed = {k: [before[k], after[k]] for k in before if before[k] != after[k]}
    if changed:
        audit.record("unit.settings", unit_id, changed)
    return changed


def staff_in_unit(email: str, unit_id: str) -> User | None:
    """The active account with ``email`` that works in ``unit_id`` (or in every unit)."""
    user = find_user(email)
    if user is None or not user.active:
        return None
    if user.role in ("admin", "executive") or unit_id in user.unit_ids:
        return user
    return None


# -- the register -----------------------------------------------------------------------
def parse_customers(data: bytes, unit_id: str, source: str) -> list[dict]:
    """Check a register file row by row; return the rows, or raise
    :class:`~.csvfile.ImportRefused` listing every problem."""
    get_unit(unit_id)
    text = decode(data, source)
    header, records = rows(text, source, CUSTOMER_COLUMNS)
    extra = [c for c in header if c not in CUSTOMER_COLUMNS + OPTIONAL_COLUMNS]
    problems = Problems(source)
    seen: dict[str, int] = {}
    managers: dict[str, User | None] = {}
    result = []
    for line, record in records:
        if record is None:
            problems.add(line, "", "more cells than columns")
            continue
        row: dict = {"line": line}
        ref = record["customer_id"]
        if not ref:
            problems.add(line, "customer_id", "empty")
        elif not REF.match(ref):
            problems.add(line, "customer_id", "at most 64 characters, no control characters")
        elif ref in seen:
            problems.add(line, "customer_id", f"{ref!r} is given twice (first on line {seen[ref]})")
        else:
            seen[ref] = line
        row["customer_id"] = ref
        name = record["name"]
        if not name:
            problems.add(line, "name", "empty")
        elif len(name) > 200:
            problems.add(line, "name", "longer than 200 characters")
        row["name"] = name
        region = record["region"]
        if len(region) > 100:
            problems.add(line, "region", "longer than 100 characters")
        row["region"] = region or None
        email = normal_email(record["email"])
        if email and (not EMAIL.match(email) or len(email) > 254):
            problems.add(line, "email", f"{record['email']!r} is not an email address")
        row["email"] = email or None
        phone = record["phone"]
        if phone and not PHONE.match(phone):
            problems.add(line, "phone", f"{phone!r} is not a phone number")
        row["phone"] = phone or None
        revenue = None
        if record["revenue"]:
            try:
                revenue = number(record["revenue"])
            except ValueError as exc:
                problems.add(line, "revenue", str(exc))
            else:
                if revenue < 0:
                    problems.add(line, "revenue", "cannot be negative")
        row["revenue"] = revenue
        manager_email = normal_email(record["account_manager"])
        row["account_manager"] = None
        if manager_email:
            if manager_email not in managers:
                managers[manager_email] = staff_in_unit(manager_email, unit_id)
            if managers[manager_email] is None:
                problems.add(
                    line,
                    "account_manager",
                    f"no active staff account {manager_email} works in unit {unit_id}",
                )
            row["account_manager"] = managers[manager_email]
        lang = record.get("lang", "")
        if lang and lang not in LANGS:
            problems.add(line, "lang", f"{lang!r} is not one of {', '.join(LANGS)}")
        row["lang"] = lang or None
        tier = record.get("tier", "").upper()
        if tier and tier not in TIERS:
            problems.add(line, "tier", f"{tier!r} is not one of {', '.join(TIERS)}")
        row["tier"] = tier or None
        row["attributes"] = {c: record[c] for c in extra if record[c]}
        result.append(row)
    problems.raise_any()
    if not result:
        problems.add(2, "", "the file has no rows")
        problems.raise_any()
    return result


def import_customers(unit_id: str, parsed: list[dict], source: str) -> tuple[int, int]:
    """Add or update (by ``customer_id``) the checked rows; return (added, updated)."""
    existing = {
        c.customer_id: c
        for c in db.session.scalars(select(Customer).where(Customer.unit_id == unit_id))
    }
    added = updated = 0
    now = utcnow()
    for row in parsed:
        customer = existing.get(row["customer_id"])
        if customer is None:
            customer = Customer(unit_id=unit_id, customer_id=row["customer_id"], attributes={})
            db.session.add(customer)
            existing[row["customer_id"]] = customer
            added += 1
        else:
            updated += 1
        customer.name = row["name"]
        customer.region = row["region"]
        customer.email = row["email"]
        customer.phone = row["phone"]
        customer.revenue = row["revenue"]
        customer.account_manager = row["account_manager"]
        customer.lang = row["lang"]
        customer.attributes = {**(customer.attributes or {}), **row["attributes"]}
        if row["tier"]:
            customer.tier, customer.tier_source = row["tier"], "manual"
        customer.updated_at = now
    audit.record("customers.import", unit_id, {"file": source, "added": added, "updated": updated})
    log.info("unit %s: %s customers added, %s updated from %s", unit_id, added, updated, source)
    return added, updated


def parse_orders(data: bytes, unit_id: str, source: str) -> list[dict]:
    """Check an orders file row by row (customers must be in the unit's register)."""
    get_unit(unit_id)
    text = decode(data, source)
    _, records = rows(text, source, ORDER_COLUMNS)
    customers = dict(
        db.session.execute(
            select(Customer.customer_id, Customer.id).where(Customer.unit_id == unit_id)
        ).all()
    )
    problems = Problems(source)
    seen: dict[str, int] = {}
    result = []
    for line, record in records:
        if record is None:
            problems.add(line, "", "more cells than columns")
            continue
        ref = record["order_id"]
        if not ref:
            problems.add(line, "order_id", "empty")
        elif not REF.match(ref):
            problems.add(line, "order_id", "at most 64 characters, no control characters")
        elif ref in seen:
            problems.add(line, "order_id", f"{ref!r} is given twice (first on line {seen[ref]})")
        else:
            seen[ref] = line
        customer = customers.get(record["customer_id"])
        if not record["customer_id"]:
            problems.add(line, "customer_id", "empty")
        elif customer is None:
            problems.add(
                line,
                "customer_id",
                f"{record['customer_id']!r} is not in the customer register of unit {unit_id}",
            )
        when = amount = None
        try:
            when = day(record["date"])
        except ValueError as exc:
            problems.add(line, "date", str(exc))
        try:
            amount = number(record["amount"])
        except ValueError as exc:
            problems.add(line, "amount", str(exc))
        else:
            if amount < 0:
                problems.add(line, "amount", "cannot be negative (net a refund into its order)")
        result.append(
            {"line": line, "order_id": ref, "customer_pk": customer, "date": when, "amount": amount}
        )
    problems.raise_any()
    if not result:
        problems.add(2, "", "the file has no rows")
        problems.raise_any()
    return result


def import_orders(unit_id: str, parsed: list[dict], source: str) -> tuple[int, int]:
    """Add or update (by ``order_id``) the checked orders; return (added, updated)."""
    existing = {
        o.order_id: o for o in db.session.scalars(select(Order).where(Order.unit_id == unit_id))
    }
    added = updated = 0
    for row in parsed:
        order = existing.get(row["order_id"])
        if order is None:
            order = Order(unit_id=unit_id, order_id=row["order_id"])
            db.session.add(order)
            existing[row["order_id"]] = order
            added += 1
        else:
            updated += 1
        order.customer_pk, order.date, order.amount = row["customer_pk"], row["date"], row["amount"]
    audit.record("orders.import", unit_id, {"file": source, "added": added, "updated": updated})
    return added, updated


# -- tiers ------------------------------------------------------------------------------
def tier_customers(
    unit_id: str,
    method: str = "abc",
    *,
    a: float = 0.8,
    b: float = 0.95,
    today: date | None = None,
    keep_manual: bool = True,
) -> dict[str, int]:
    """Grade the unit's customers A/B/C by ``abc`` (revenue share) or ``rfm`` (orders);
    tiers set by hand are kept unless ``keep_manual`` is False. Returns counts by tier
    (and ``manual``: how many hand-set tiers were kept)."""
    customers = list(
        db.session.scalars(
            select(Customer).where(Customer.unit_id == unit_id).order_by(Customer.id)
        )
    )
    if not customers:
        raise CustomerError(f"unit {unit_id} has no customers: import the register first")
    index = pd.Index([c.id for c in customers])
    if method == "abc":
        tiers = abc_tiers(pd.Series([c.revenue for c in customers], index=index), a, b)
        details = {c.id: None for c in customers}
    elif method == "rfm":
        orders = db.session.execute(
            select(Order.customer_pk, Order.date, Order.amount).where(Order.unit_id == unit_id)
        ).all()
        frame = pd.DataFrame(orders, columns=["customer", "date", "amount"])
        if frame.empty:
            raise CustomerError(f"unit {unit_id} has no orders: import them first")
        scored = rfm(frame, index, today or date.today())
        tiers = scored["tier"]
        details = {}
        for pk, row in scored.iterrows():
            details[pk] = {"segment": row["segment"]}
            if not pd.isna(row["r"]):
                details[pk].update(r=int(row["r"]), f=int(row["f"]), m=int(row["m"]))
    else:
        raise CustomerError(f"unknown method {method!r} (abc or rfm)")
    counts = {t: 0 for t in TIERS} | {"manual": 0}
    now = utcnow()
    for customer in customers:
        if keep_manual and customer.tier_source == "manual":
            counts["manual"] += 1
            continue
        if customer.tier != tiers[customer.id]:
            customer.updated_at = now  # the reports' customer figures are keyed by it
        customer.tier, customer.tier_source = tiers[customer.id], method
        if method == "rfm":
            customer.rfm = details[customer.id]
        counts[customer.tier] += 1
    audit.record("customers.tier", unit_id, {"method": method, "a": a, "b": b, **counts})
    return counts


def set_tier(customer: Customer, tier: str | None) -> None:
    """Set a customer's tier by hand (kept by later automatic tiering); None clears it."""
    if tier is not None and tier not in TIERS:
        raise CustomerError(f"tier {tier!r}: one of {', '.join(TIERS)}")
    before = customer.tier
    customer.tier = tier
    customer.tier_source = "manual" if tier else None
    customer.updated_at = utcnow()
    audit.record(
        "customer.tier",
        customer.unit_id,
        {"customer_id": customer.customer_id, "from": before, "to": tier},
    )


def find_customer(unit_id: str, customer_id: str) -> Customer | None:
    return db.session.scalars(
        select(Customer).where(Customer.unit_id == unit_id, Customer.customer_id == customer_id)
    ).first()


def customers_of(unit_ids: Iterable[str] | None, tier: str | None = None) -> list[Customer]:
    query = select(Customer).order_by(Customer.unit_id, Customer.customer_id)
    if unit_ids is not None:
        query = query.where(Customer.unit_id.in_(sorted(unit_ids)))
    if tier:
        query = query.where(Customer.tier == tier)
    return list(db.session.scalars(query))
