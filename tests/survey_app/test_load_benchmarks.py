"""The load benchmark's textbook form (``benchmarks/skeleton.py``) serves a whole
servqual-22 response the way ``benchmarks/loadclient.mjs`` takes it, so that its figures
in ``benchmarks/production_load.py --skeleton`` are of a working form."""

from __future__ import annotations

import re
import sys
from pathlib import Path

from questionnaires import SHIPPED_DIR, load_questionnaire

BENCH = Path(__file__).resolve().parents[2] / "benchmarks"
HIDDEN = re.compile(r'name="(csrf_token|rk|page)" type="hidden" value="([^"]*)"')


def test_the_textbook_form_takes_a_whole_response_and_checks_each_page(tmp_path, monkeypatch):
    monkeypatch.syspath_prepend(str(BENCH))
    sys.modules.pop("skeleton", None)
    import skeleton
    from submit import page_forms

    app = skeleton.create_app(f"sqlite:///{tmp_path / 'skeleton.sqlite'}")
    with app.app_context():
        skeleton.db.create_all()
    client = app.test_client()
    forms = page_forms(load_questionnaire(SHIPPED_DIR / "servqual-22.yaml"))
    path = f"{skeleton.PREFIX}/s"
    for number, answers in enumerate(forms, start=1):
        page = client.get(path)
        assert page.status_code == 200, page.text
        fields = dict(HIDDEN.findall(page.text))
        assert fields["page"] == str(number) and fields["rk"] and fields["csrf_token"]
        if number == 1:  # without its token, or with an answer missing, nothing is stored
            assert client.post(path, data={**answers, "page": "1"}).status_code == 422
            missing = dict(list(answers.items())[1:])
            assert client.post(path, data={**fields, **missing}).status_code == 422
            with app.app_context():
                assert skeleton.db.session.query(skeleton.Draft).count() == 0
        posted = client.post(path, data={**fields, "nav": "next", **answers})
        assert posted.status_code == 302
        path = posted.headers["Location"]
        assert f"page={number + 1}" in path if number < len(forms) else path.endswith("/thanks")
    assert "have been saved" in client.get(path).text
    with app.app_context():
        (draft,) = skeleton.db.session.query(skeleton.Draft).all()
        assert draft.page == len(forms) + 1
        assert draft.answers["q_E_TA1"] == "5" and draft.answers["q_SUGGESTION"]
