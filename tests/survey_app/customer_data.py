"""Test data of the customer and follow-up tests: a small questionnaire with a follow-up
rule, and helpers to make a register, invitations and responses."""

from __future__ import annotations

from pathlib import Path

from survey_app.extensions import db

QUESTIONNAIRE = """\
id: lab-care
title: {en: Lab service check, zh: 实验室服务评价}
scale: {min: 1, max: 7}
anonymous: ANONYMOUS
dimensions:
  - id: reliability
    title: {en: Reliability, zh: 可靠性}
    items:
      - {id: R1, text: {en: Reports on time., zh: 报告按时出具。}}
outcomes:
  - id: satisfaction
    role: satisfaction
    title: {en: Overall, zh: 总体}
    items:
      - {id: SAT1, text: {en: Overall I am satisfied., zh: 总体满意。}}
questions:
  - id: more
    items:
      - id: TOPIC
        type: single
        required: false
        text: {en: "What was it about?", zh: 问题涉及哪方面？}
        choices:
          - {id: tat, title: {en: Turnaround time, zh: 报告周期}}
          - {id: billing, title: {en: Billing, zh: 收费}}
          - {id: service, title: {en: Staff, zh: 服务态度}}
      - {id: COMPLAINT, type: text, text: {en: "Any complaint?", zh: 有什么投诉？}}
segments:
  - id: tier
    title: {en: Tier, zh: 等级}
    hidden: true
    choices: [A, B, C]
  - id: region
    title: {en: Region, zh: 地区}
    choices:
      - {id: north, title: {en: North, zh: 华北}}
      - {id: east, title: {en: East, zh: 华东}}
follow_up:
  when: {item: SAT1, max: 3}
  complaint: COMPLAINT
  category: TOPIC
"""

REGISTER = """\
customer_id,name,region,account_manager,email,phone,revenue,lang,contract
C1,Alpha Hospital,华北,agent-a@example.com,alpha@example.net,+86 10 1234 5678,500,zh,K-1
C2,Beta Clinic,east,agent-a@example.com,beta@example.net,021-5555-6666,200,en,K-2
C3,Gamma Lab,North,,gamma@example.net,,120,,
C4,Delta Center,east,agent-b@example.com,delta@example.net,,80,zh,
C5,Epsilon Group,north,,,,50,,
C6,Zeta Clinic,east,,zeta@example.net,,30,en,
C7,Eta Lab,north,,eta@example.net,,20,,
"""


def write(tmp_path: Path, name: str, text: str, encoding: str = "utf-8") -> Path:
    path = tmp_path / name
    path.write_bytes(text.encode(encoding))
    return path


def run(app, *args, input=None):
    return app.test_cli_runner().invoke(args=list(args), input=input)


def lab_survey(make_survey, tmp_path: Path, unit: str = "lab", anonymous: bool = False):
    path = write(
        tmp_path, "lab-care.yaml", QUESTIONNAIRE.replace("ANONYMOUS", str(anonymous).lower())
    )
    survey, q = make_survey(path=path)
    survey.unit_id = unit
    db.session.commit()
    return survey, q


def lab_register(app, make_user, tmp_path: Path, unit: str = "lab") -> dict:
    """The unit ``lab`` with two agents, a manager, the register above (C1..C7)."""
    users = {
        "agent_a": make_user("agent", (unit,), email="agent-a@example.com"),
        "agent_b": make_user("agent", (unit,), email="agent-b@example.com"),
        "default": make_user("agent", (unit,), email="desk@example.com"),
        "manager": make_user("manager", (unit,), email="head@example.com"),
    }
    result = run(app, "import-customers", str(write(tmp_path, "c.csv", REGISTER)), "--unit", unit)
    assert result.exit_code == 0, result.output
    result = run(app, "unit-settings", unit, "--default-agent", "desk@example.com")
    assert result.exit_code == 0, result.output
    return users
