"""The customer register: import with row-by-row checks (all or nothing), re-import
updates, orders never doubled, tiers by ABC, RFM and by hand, the upload page, masking."""

from __future__ import annotations

import io

from sqlalchemy import func, select

from survey_app.extensions import db
from survey_app.models import AuditEntry, Customer, Order

from ..conftest import csrf_token, login_as
from .customer_data import REGISTER, lab_register, run, write


def customers() -> dict[str, Customer]:
    db.session.expire_all()
    return {c.customer_id: c for c in db.session.scalars(select(Customer))}


def test_import_customers_keeps_every_column_and_extra_ones_as_attributes(app, make_user, tmp_path):
    users = lab_register(app, make_user, tmp_path)
    found = customers()
    assert len(found) == 7
    alpha = found["C1"]
    assert (alpha.name, alpha.region, alpha.email, alpha.phone, alpha.revenue, alpha.lang) == (
        "Alpha Hospital",
        "华北",
        "alpha@example.net",
        "+86 10 1234 5678",
        500.0,
        "zh",
    )
    assert alpha.account_manager_id == users["agent_a"].id
    assert alpha.attributes == {"contract": "K-1"}
    assert found["C3"].account_manager_id is None and found["C3"].lang is None
    entry = db.session.scalars(
        select(AuditEntry).where(AuditEntry.action == "customers.import")
    ).one()
    assert '"added": 7' in entry.details and entry.target == "lab"


def test_a_bad_row_imports_nothing_and_names_line_column_and_reason(app, make_user, tmp_path):
    make_user("agent", ("lab",), email="agent-a@example.com")
    text = (
        "customer_id,name,region,account_manager,email,phone,revenue\n"
        "C1,Alpha,north,agent-a@example.com,a@example.net,,100\n"
        "C2,,north,,not-an-email,,-5\n"
        "C1,Again,north,nobody@example.com,,12ab,1\n"
    )
    result = run(app, "import-customers", str(write(tmp_path, "bad.csv", text)), "--unit", "lab")
    assert result.exit_code == 1
    out = result.output
    assert "bad.csv, line 3, column name: empty" in out
    assert "line 3, column email: 'not-an-email' is not an email address" in out
    assert "line 3, column revenue: cannot be negative" in out
    assert "line 4, column customer_id: 'C1' is given twice (first on line 2)" in out
    assert "line 4, column account_manager: no active staff account nobody@example.com" in out
    assert "line 4, column phone: '12ab' is not a phone number" in out
    assert "nothing was imported" in out
    assert customers() == {}


def test_missing_columns_are_refused_on_line_1(app, make_user, tmp_path):
    make_user("agent", ("lab",))
    path = write(tmp_path, "c.csv", "customer_id,name\nC1,Alpha\n")
    result = run(app, "import-customers", str(path), "--unit", "lab")
    assert result.exit_code == 1
    assert "line 1: missing column(s) region, account_manager, email, phone, revenue" in (
        result.output
    )


def test_reimport_updates_by_customer_id_and_keeps_others(app, make_user, tmp_path):
    lab_register(app, make_user, tmp_path)
    update = (
        "customer_id,name,region,account_manager,email,phone,revenue,owner_note\n"
        "C1,Alpha Hospital (new name),east,,alpha2@example.net,,900,vip\n"
        "C8,Theta,north,,,,10,\n"
    )
    result = run(app, "import-customers", str(write(tmp_path, "u.csv", update)), "--unit", "lab")
    assert result.exit_code == 0, result.output
    assert "1 customers added, 1 updated" in result.output
    found = customers()
    assert len(found) == 8
    alpha = found["C1"]
    assert (alpha.name, alpha.region, alpha.revenue, alpha.account_manager_id) == (
        "Alpha Hospital (new name)",
        "east",
        900.0,
        None,
    )
    assert alpha.attributes == {"contract": "K-1", "owner_note": "vip"}


def test_excel_gb18030_files_are_read(app, make_user, tmp_path):
    make_user("agent", ("lab",))
    text = (
        "customer_id,name,region,account_manager,email,phone,revenue\nC1,华北医院,华北,,,,1,200\n"
    )
    path = write(tmp_path, "gbk.csv", text.replace(",1,200", ",1200"), encoding="gb18030")
    result = run(app, "import-customers", str(path), "--unit", "lab")
    assert result.exit_code == 0, result.output
    assert customers()["C1"].name == "华北医院"


def test_orders_reimport_updates_and_never_doubles(app, make_user, tmp_path):
    lab_register(app, make_user, tmp_path)
    orders = 'order_id,customer_id,date,amount\nO1,C1,2026-01-05,100\nO2,C2,2026/02/01,"1,250.50"\n'
    path = write(tmp_path, "o.csv", orders)
    assert run(app, "import-orders", str(path), "--unit", "lab").exit_code == 0
    again = run(app, "import-orders", str(path), "--unit", "lab")
    assert "0 orders added, 2 updated" in again.output
    assert db.session.scalar(select(func.count()).select_from(Order)) == 2
    amounts = dict(db.session.execute(select(Order.order_id, Order.amount)).all())
    assert amounts == {"O1": 100.0, "O2": 1250.5}
    bad = write(tmp_path, "b.csv", "order_id,customer_id,date,amount\nO3,C99,2026-13-01,x\n")
    result = run(app, "import-orders", str(bad), "--unit", "lab")
    assert result.exit_code == 1
    assert "line 2, column customer_id: 'C99' is not in the customer register of unit lab" in (
        result.output
    )
    assert "line 2, column date: '2026-13-01' is not a date" in result.output
    assert "line 2, column amount: 'x' is not a number" in result.output


def test_abc_tiers_from_the_register_and_hand_set_tiers_are_kept(app, make_user, tmp_path):
    # revenue 500, 200, 120, 80, 50, 30, 20 (total 1000): shares before each customer
    # 0, .50, .70, .82, .90, .95, .98 -> A A A B B C C (worked out by hand)
    lab_register(app, make_user, tmp_path)
    result = run(app, "tier-customers", "--unit", "lab")
    assert result.exit_code == 0, result.output
    assert "lab: A: 3, B: 2, C: 2 (abc; 0 set by hand kept)" in result.output
    tiers = {k: c.tier for k, c in customers().items()}
    assert tiers == {"C1": "A", "C2": "A", "C3": "A", "C4": "B", "C5": "B", "C6": "C", "C7": "C"}
    assert run(app, "set-tier", "C7", "A", "--unit", "lab").exit_code == 0
    stricter = run(app, "tier-customers", "--unit", "lab", "--a-share", "0.6", "--b-share", "0.9")
    assert "(abc; 1 set by hand kept)" in stricter.output
    tiers = {k: (c.tier, c.tier_source) for k, c in customers().items()}
    # shares before: 0, .5 -> A; .7, .82 -> B; .9 and after -> C; C7 stays A by hand
    assert tiers["C2"] == ("A", "abc") and tiers["C3"] == ("B", "abc")
    assert tiers["C4"] == ("B", "abc") and tiers["C5"] == ("C", "abc")
    assert tiers["C7"] == ("A", "manual")


def test_rfm_tiers_from_orders(app, make_user, tmp_path):
    lab_register(app, make_user, tmp_path)
    orders = (
        "order_id,customer_id,date,amount\n"
        "1,C1,2026-01-01,100\n2,C1,2026-06-01,100\n3,C2,2026-05-01,1000\n"
        "4,C3,2026-02-01,10\n5,C3,2026-03-01,10\n6,C3,2026-06-20,10\n"
        "7,C4,2025-01-01,50\n8,C5,2026-06-25,5\n"
    )
    assert run(app, "import-orders", str(write(tmp_path, "o.csv", orders)), "--unit", "lab")
    result = run(app, "tier-customers", "--unit", "lab", "--method", "rfm", "--as-of", "2026-07-01")
    assert result.exit_code == 0, result.output
    found = customers()
    # recency 30, 61, 11, 547, 6 days -> R 3, 2, 4, 1, 5; orders 2, 1, 3, 1, 1 -> F 4, 1, 5,
    # 1, 1; totals 200, 1000, 30, 50, 5 -> M 4, 5, 2, 3, 1 (by hand)
    assert found["C1"].rfm == {"r": 3, "f": 4, "m": 4, "segment": "important_retain"}
    assert found["C2"].rfm == {"r": 2, "f": 1, "m": 5, "segment": "important_winback"}
    assert found["C3"].rfm == {"r": 4, "f": 5, "m": 2, "segment": "general_value"}
    assert found["C4"].rfm["segment"] == "general_winback"
    assert found["C5"].rfm == {"r": 5, "f": 1, "m": 1, "segment": "general_develop"}
    assert found["C6"].rfm == {"segment": "no_orders"}
    assert [found[k].tier for k in ("C1", "C2", "C3", "C4", "C5", "C6")] == list("AABCCC")


def test_the_upload_page_imports_or_lists_every_problem(app, make_user, tmp_path):
    admin = make_user("unit_admin", ("lab",))
    make_user("agent", ("lab",), email="agent-a@example.com")
    make_user("agent", ("lab",), email="agent-b@example.com")
    client = app.test_client()
    login_as(client, admin)
    page = client.get("/customers/upload").text
    bad = REGISTER.replace("C3,Gamma Lab", "C3,")
    response = client.post(
        "/customers/upload",
        data={
            "csrf_token": csrf_token(page),
            "kind": "customers",
            "unit": "lab",
            "file": (io.BytesIO(bad.encode()), "register.csv"),
        },
        content_type="multipart/form-data",
    )
    assert response.status_code == 422
    assert "line 4, column name: empty" in response.text
    assert customers() == {}
    response = client.post(
        "/customers/upload",
        data={
            "csrf_token": csrf_token(page),
            "kind": "customers",
            "unit": "lab",
            "file": (io.BytesIO(REGISTER.encode()), "register.csv"),
        },
        content_type="multipart/form-data",
    )
    assert response.status_code == 302
    assert len(customers()) == 7
    manager = app.test_client()
    login_as(manager, make_user("manager", ("lab",)))
    assert manager.get("/customers/upload").status_code == 403


def test_customer_pages_mask_contacts_and_agents_see_only_their_own(app, make_user, tmp_path):
    users = lab_register(app, make_user, tmp_path)
    manager, agent = app.test_client(), app.test_client()
    login_as(manager, users["manager"])
    login_as(agent, users["agent_a"])
    listing = manager.get("/customers").text
    assert "Gamma Lab" in listing and "alpha@example.net" not in listing and "***" in listing
    mine = agent.get("/customers").text
    assert "Alpha Hospital" in mine and "Beta Clinic" in mine and "Gamma Lab" not in mine
    assert "alpha@example.net" in mine  # its own customers' contacts
    gamma = customers()["C3"]
    assert agent.get(f"/customers/{gamma.id}").status_code == 404
    assert manager.get(f"/customers/{gamma.id}").status_code == 200
    granted = app.test_client()
    login_as(granted, make_user("manager", ("lab",), personal=True))
    assert "gamma@example.net" in granted.get(f"/customers/{gamma.id}").text
    other_unit = app.test_client()
    login_as(other_unit, make_user("manager", ("elsewhere",)))
    assert other_unit.get(f"/customers/{gamma.id}").status_code == 404
    assert "Gamma Lab" not in other_unit.get("/customers").text


def test_a_tier_set_by_hand_on_the_page(app, make_user, tmp_path):
    lab_register(app, make_user, tmp_path)
    admin = make_user("unit_admin", ("lab",))
    client = app.test_client()
    login_as(client, admin)
    gamma = customers()["C3"]
    page = client.get(f"/customers/{gamma.id}").text
    response = client.post(
        f"/customers/{gamma.id}/tier", data={"csrf_token": csrf_token(page), "tier": "B"}
    )
    assert response.status_code == 302
    assert (customers()["C3"].tier, customers()["C3"].tier_source) == ("B", "manual")
    manager = app.test_client()
    login_as(manager, make_user("manager", ("lab",)))
    token = csrf_token(manager.get(f"/customers/{gamma.id}").text)
    assert (
        manager.post(
            f"/customers/{gamma.id}/tier", data={"csrf_token": token, "tier": "A"}
        ).status_code
        == 403
    )
    assert customers()["C3"].tier == "B"
