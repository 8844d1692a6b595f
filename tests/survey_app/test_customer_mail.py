"""Invitations per customer and their mail, through a real SMTP server (aiosmtpd):
segments from the register, the customer's language, reminders, unsubscribing and the
per-unit suppression list, anonymous questionnaires."""

from __future__ import annotations

import re
from datetime import timedelta

from sqlalchemy import func, select

from survey_app.extensions import db
from survey_app.models import Customer, Invitation, OutboxMail, Response, Suppression

from .customer_data import QUESTIONNAIRE, lab_register, lab_survey, run, write


def invitations() -> dict[str, Invitation]:
    db.session.expire_all()
    rows = db.session.execute(
        select(Customer.customer_id, Invitation).join(
            Invitation, Invitation.customer_pk == Customer.id
        )
    ).all()
    return {customer_id: invitation for customer_id, invitation in rows}


def test_invite_customers_sets_segments_from_the_register_and_prints_links(
    app, make_user, make_survey, tmp_path
):
    lab_register(app, make_user, tmp_path)
    survey, _ = lab_survey(make_survey, tmp_path)
    assert run(app, "tier-customers", "--unit", "lab").exit_code == 0
    result = run(
        app, "invite", survey.id, "--customers", "--tier", "A", "--base-url", "https://x.cn"
    )
    assert result.exit_code == 0, result.output
    links = result.stdout.strip().splitlines()
    assert len(links) == 3 and all(re.match(r"^https://x\.cn/s/lab-care\?t=\S+$", x) for x in links)
    found = invitations()
    assert set(found) == {"C1", "C2", "C3"}
    # 华北 and North are titles of the choice north; east is its id
    assert found["C1"].segments == {"tier": "A", "region": "north"}
    assert found["C2"].segments == {"tier": "A", "region": "east"}
    assert found["C3"].segments == {"tier": "A", "region": "north"}
    assert (found["C1"].lang, found["C2"].lang, found["C3"].lang) == ("zh", "en", "zh")
    again = run(app, "invite", survey.id, "--customers", "--tier", "A")
    assert again.exit_code == 0 and again.stdout.strip() == ""  # unanswered ones: remind them


def test_a_register_value_that_is_no_choice_is_refused_listing_the_choices(
    app, make_user, make_survey, tmp_path
):
    lab_register(app, make_user, tmp_path)
    survey, _ = lab_survey(make_survey, tmp_path)
    db.session.scalars(select(Customer).where(Customer.customer_id == "C5")).one().region = "西南"
    db.session.commit()
    result = run(app, "invite", survey.id, "--customers")
    assert result.exit_code == 1
    assert (
        "customer C5: segment 'region': '西南' is not one of its choices "
        "(north (North), east (East)); nothing was created"
    ) in result.output
    assert db.session.scalar(select(func.count()).select_from(Invitation)) == 0


def test_send_mails_each_customer_in_its_language_with_an_unsubscribe_link(
    app, make_user, make_survey, tmp_path, smtp
):
    lab_register(app, make_user, tmp_path)
    survey, _ = lab_survey(make_survey, tmp_path)
    result = run(app, "invite", survey.id, "--customers", "--send")
    assert result.exit_code == 0, result.output
    assert "6 mails queued, 6 sent, 0 failed; 1 without email, 0 unsubscribed" in result.output
    messages = smtp.wait(6)
    assert len(messages) == 6
    alpha = smtp.to("alpha@example.net")[0]
    body = alpha.get_content()
    token = invitations()["C1"].token
    assert f"http://survey.test/s/lab-care?t={token}&lang=zh" in body  # opens in Chinese
    assert "尊敬的Alpha Hospital：" in body and "此链接为您专属，请勿转发。" in body
    assert "实验室服务评价" in alpha["Subject"]  # the customer's language: zh
    beta = smtp.to("beta@example.net")[0]
    assert "Lab service check" in beta["Subject"] and "Dear Beta Clinic," in beta.get_content()
    for message in messages:
        assert message["From"] == "survey@example.org"
        assert re.search(r"http://survey\.test/unsubscribe/\S+", message.get_content())
        assert message["List-Unsubscribe"].startswith("<http://survey.test/unsubscribe/")
        assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert all(i.mailed_at is not None for k, i in invitations().items() if k != "C5")


def test_unsubscribed_addresses_are_never_mailed_again_in_that_unit(
    app, make_user, make_survey, tmp_path, smtp
):
    lab_register(app, make_user, tmp_path)
    survey, _ = lab_survey(make_survey, tmp_path)
    assert run(app, "tier-customers", "--unit", "lab").exit_code == 0
    assert run(app, "invite", survey.id, "--customers", "--tier", "A", "--send").exit_code == 0
    messages = smtp.wait(3)
    link = re.search(r"http://survey\.test(/unsubscribe/\S+)", messages[0].get_content()).group(1)
    client = app.test_client()
    page = client.get(link)
    assert page.status_code == 200 and "Unsubscribe" in page.text
    assert db.session.scalar(select(func.count()).select_from(Suppression)) == 0  # GET asks
    done = client.post(link)  # the one-click POST of RFC 8058 (no form token)
    assert done.status_code == 200 and "will receive no more e-mails" in done.text
    suppressed = db.session.scalars(select(Suppression)).one()
    assert suppressed.unit_id == "lab"
    assert client.get(link[:-3] + "xyz").status_code == 404  # a forged token
    address = suppressed.email
    # the reminder skips the address; the outbox holds nothing for it
    before = len(smtp.messages)
    result = run(app, "remind", survey.id, "--after", "0d", "--send")
    assert result.exit_code == 0, result.output
    assert "2 reminders queued, 2 sent" in result.output and "1 unsubscribed" in result.output
    assert len(smtp.wait(before + 2)) == before + 2
    assert all(address not in m["To"] for m in smtp.messages[before:])
    assert (
        db.session.scalar(
            select(func.count()).select_from(OutboxMail).where(OutboxMail.to == address)
        )
        == 1
    )  # only the first invitation
    # another unit may still mail the same address
    from survey_app import mail

    assert mail.suppressed("lab", address) and not mail.suppressed("default", address)


def test_remind_after_3d_lists_and_mails_those_who_have_not_finished(
    app, make_user, make_survey, tmp_path, smtp
):
    from survey_app.surveys.services import record_response

    lab_register(app, make_user, tmp_path)
    survey, _ = lab_survey(make_survey, tmp_path)
    assert run(app, "invite", survey.id, "--customers", "--send").exit_code == 0
    smtp.wait(6)
    found = invitations()
    record_response(survey, {"SAT1": 6, "R1": 6}, invitation=found["C1"])
    db.session.commit()
    soon = run(app, "remind", survey.id, "--after", "3d")
    assert soon.stdout == "" and "0 to remind" in soon.output
    for invitation in found.values():
        invitation.created_at -= timedelta(days=4)
        if invitation.mailed_at is not None:  # C5 has no email
            invitation.mailed_at -= timedelta(days=4)
    db.session.commit()
    listed = run(app, "remind", survey.id, "--after", "3d")
    lines = listed.stdout.strip().splitlines()
    assert [line.split("\t")[0] for line in lines] == ["C2", "C3", "C4", "C5", "C6", "C7"]
    sent = run(app, "remind", survey.id, "--after", "3d", "--send")
    assert sent.exit_code == 0, sent.output
    assert "5 reminders queued, 5 sent" in sent.output and "1 without email" in sent.output
    smtp.wait(11)
    reminder = smtp.to("beta@example.net")[-1]
    assert reminder["Subject"].startswith("Reminder: Lab service check")
    assert found["C2"].token in reminder.get_content()
    assert smtp.to("alpha@example.net") and len(smtp.to("alpha@example.net")) == 1  # finished
    again = run(app, "remind", survey.id, "--after", "3d", "--send")
    assert "0 reminders queued" in again.output  # reminded just now
    assert run(app, "remind", survey.id, "--after", "soon").exit_code == 1


def test_anonymous_questionnaires_keep_segments_but_not_the_customer(
    app, make_user, make_survey, tmp_path, smtp
):
    lab_register(app, make_user, tmp_path)
    survey, q = lab_survey(make_survey, tmp_path, anonymous=True)
    assert q.anonymous
    assert run(app, "invite", survey.id, "--customers", "--send").exit_code == 0
    made = db.session.scalars(select(Invitation)).all()
    assert len(made) == 7 and all(i.customer_pk is None for i in made)
    assert sorted(i.segments["region"] for i in made) == ["east"] * 3 + ["north"] * 4
    assert len(smtp.wait(6)) == 6
    refused = run(app, "remind", survey.id, "--after", "0d")
    assert refused.exit_code == 1 and "anonymous" in refused.output
    from survey_app.surveys.services import record_response

    response = record_response(survey, {"SAT1": 1}, invitation=made[0], follow_up=True)
    db.session.commit()
    from survey_app.models import FollowUp

    case = db.session.scalars(select(FollowUp)).one()
    assert case.customer_pk is None and case.response_id == response.id
    assert case.owner.email == "desk@example.com"  # the unit's default agent


def test_no_mail_server_means_no_send(app, make_user, make_survey, tmp_path):
    lab_register(app, make_user, tmp_path)
    survey, _ = lab_survey(make_survey, tmp_path)
    result = run(app, "invite", survey.id, "--customers", "--send")
    assert result.exit_code == 1 and "mail is not configured" in result.output
    assert db.session.scalar(select(func.count()).select_from(Invitation)) == 0
    assert QUESTIONNAIRE and db.session.scalar(select(func.count()).select_from(Response)) == 0


def test_a_failing_server_keeps_mail_in_the_outbox_for_send_mail(
    app, make_user, make_survey, tmp_path, smtp
):
    lab_register(app, make_user, tmp_path)
    survey, _ = lab_survey(make_survey, tmp_path)
    assert run(app, "tier-customers", "--unit", "lab").exit_code == 0
    port = app.config["MAIL_PORT"]
    app.config["MAIL_PORT"] = 1  # nothing listens there
    result = run(app, "invite", survey.id, "--customers", "--tier", "A", "--send")
    assert result.exit_code == 1 and "stay in the outbox" in result.output
    assert len(result.stdout.strip().splitlines()) == 3  # the invitations exist; links printed
    pending = db.session.scalars(select(OutboxMail).where(OutboxMail.sent_at.is_(None))).all()
    assert len(pending) == 3 and all(m.last_error for m in pending)
    app.config["MAIL_PORT"] = port
    retry = run(app, "send-mail")
    assert retry.exit_code == 0 and "3 sent, 0 failed" in retry.output
    assert len(smtp.wait(3)) == 3
    assert write  # the helper module is shared with the other tests
