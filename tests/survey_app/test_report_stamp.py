"""The reports' stamp (what every cached frame and report is keyed by) changes with every
change to a survey's complete responses: a completion moves its latest completion time
and largest id, an import or a backdated row its largest id; a deletion or an edit, by
the app or by hand in SQL, bumps the survey's ``data_revision`` (a trigger), so that a
cache never appends to or serves a frame from before them. Starting or saving an
unfinished response changes nothing."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
from sqlalchemy import select, text

from survey_app.admin.services import delete_response
from survey_app.demo import add_demo_responses
from survey_app.extensions import db
from survey_app.models import Response
from survey_app.reports.cache import FrameCache, current_stamp
from survey_app.storage import responses_frame
from survey_app.surveys.services import record_response

from .exports_data import servqual_answers
from .test_exports import run
from .test_imports import HEADER, write


def seeded(make_survey, count: int = 3):
    survey, q = make_survey("servqual-22")
    for i in range(count):
        record_response(survey, servqual_answers(3 + i))
    db.session.commit()
    return survey, q


def ids(survey) -> list[int]:
    query = select(Response.id).where(Response.survey_id == survey.id).order_by(Response.id)
    return list(db.session.scalars(query))


def test_a_completion_moves_the_stamp_and_keeps_it_appendable(app, make_survey):
    survey, _q = seeded(make_survey)
    before = current_stamp(survey.id)
    assert before.revision == 0 and before.last_completed > 0
    record_response(survey, servqual_answers(6))
    db.session.commit()
    after = current_stamp(survey.id)
    assert after.last_completed > before.last_completed
    assert after.revision == before.revision and after.appendable_from(before)


def test_an_unfinished_response_changes_nothing(app, make_survey):
    survey, _q = seeded(make_survey)
    before = current_stamp(survey.id)
    record_response(survey, servqual_answers(4), complete=False)
    db.session.commit()
    assert current_stamp(survey.id) == before


def test_a_deletion_by_the_app_bumps_the_revision(app, make_survey):
    survey, _q = seeded(make_survey)
    before = current_stamp(survey.id)
    first = ids(survey)[0]  # not the latest: the latest completion time stays
    assert delete_response(survey, str(first)) is not None
    db.session.commit()
    after = current_stamp(survey.id)
    assert after.last_completed == before.last_completed
    assert after.revision == before.revision + 1 and not after.appendable_from(before)


def test_a_deletion_or_an_edit_in_sql_bumps_the_revision(app, make_survey):
    survey, _q = seeded(make_survey)
    first, second, _third = ids(survey)
    start = current_stamp(survey.id).revision
    db.session.execute(text("DELETE FROM response WHERE id = :id"), {"id": first})
    db.session.commit()
    assert current_stamp(survey.id).revision == start + 1
    db.session.execute(
        text("UPDATE response SET test = :yes WHERE id = :id"), {"yes": True, "id": second}
    )
    db.session.commit()
    assert current_stamp(survey.id).revision == start + 2
    # the no-op UPDATE that takes SQLite's write lock changes nothing
    db.session.execute(text("UPDATE response SET id = id WHERE survey_id = :s"), {"s": survey.id})
    db.session.commit()
    assert current_stamp(survey.id).revision == start + 2


def test_imported_and_backdated_responses_are_appended(app, make_survey, tmp_path):
    survey, q = seeded(make_survey)
    before = current_stamp(survey.id)
    frames = FrameCache(tmp_path / "cache")
    assert len(frames.get(before)) == 3
    # paper forms dated last year: completed long before the latest completion
    path = write(tmp_path, f"{HEADER},submitted_at\n5,6,7,9,yes,4,A,More staff,2025-06-01\n")
    assert run(app, "import-responses", survey.id, path).exit_code == 0
    add_demo_responses(survey, 5, seed=4)  # backdated over 90 days
    after = current_stamp(survey.id)
    assert after.last_completed == before.last_completed and after.max_id > before.max_id
    assert after.appendable_from(before)
    frame = frames.get(after)  # appended from the frame in memory, not read again
    assert len(frame) == 9 and frame["response_id"].is_unique
    assert frame["response_id"].tolist() == ids(survey)
    # the same file again imports nothing and changes nothing
    assert run(app, "import-responses", survey.id, path).exit_code == 0
    assert current_stamp(survey.id) == after


def test_the_frame_file_is_written_for_the_other_processes(app, make_survey, tmp_path, monkeypatch):
    import survey_app.reports.cache as cache

    survey, _q = seeded(make_survey)
    record_response(survey, servqual_answers(5, SUGGESTION="More staff"))
    db.session.commit()
    first = FrameCache(tmp_path / "cache")
    stamp = current_stamp(survey.id)
    assert len(first.get(stamp)) == 4  # read without the open texts, which come with the file
    first.written(stamp)
    assert cache._disk_stamp(first.path(stamp)) == stamp
    assert first.get(stamp, texts=True)["SUGGESTION"].tolist()[-1] == "More staff"
    # the numbers read first and the open texts added: a whole read, column for column
    pd.testing.assert_frame_equal(
        cache._read_frame(first.path(stamp)), responses_frame(survey.id, metadata=True)
    )
    # another process (a FrameCache of its own) reads the file, never the database
    read_from_database = []
    loaded = cache.responses_frame
    monkeypatch.setattr(
        cache,
        "responses_frame",
        lambda *a, **k: read_from_database.append(k) or loaded(*a, **k),
    )
    other = FrameCache(tmp_path / "cache")
    texts = other.get(stamp, texts=True)
    assert texts["response_id"].tolist() == ids(survey)
    assert texts["SUGGESTION"].isna().tolist() == [True, True, True, False]
    assert read_from_database == []
    # new responses: a process that read the file (the open texts come with it: mapped,
    # not copied) appends them with their texts; no text is read again from the database
    texts_read = []
    monkeypatch.setattr(cache, "open_texts", lambda *a, **k: texts_read.append(a))
    third = FrameCache(tmp_path / "cache")
    assert len(third.get(stamp)) == 4
    record_response(survey, servqual_answers(2, COMPLAINT="Slow"))
    db.session.commit()
    newer = current_stamp(survey.id)
    assert third.get(newer)["COMPLAINT"].tolist()[-1] == "Slow" and len(third.get(newer)) == 5
    third.written(newer)
    assert cache._disk_stamp(third.path(newer)) == newer and texts_read == []
    pd.testing.assert_frame_equal(
        cache._read_frame(third.path(newer)), responses_frame(survey.id, metadata=True)
    )
    # and another process appends the next one to the file's frame
    record_response(survey, servqual_answers(2))
    db.session.commit()
    newer = current_stamp(survey.id)
    assert other.get(newer)["response_id"].tolist() == ids(survey)
    assert [k.get("completed_since") is not None for k in read_from_database] == [True, True]
    other.written(newer)
    assert cache._disk_stamp(other.path(newer)) == newer


def mapped_from(path, values) -> bool:
    """Whether the memory of the array ``values`` is a mapping of the file at ``path``
    (this process's map of its memory, ``/proc/self/maps``)."""
    address = values.__array_interface__["data"][0]
    for line in Path("/proc/self/maps").read_text().splitlines():
        if line.endswith(" " + str(path)):
            low, high = (int(x, 16) for x in line.split()[0].split("-"))
            if low <= address < high:
                return True
    return False


def test_a_frame_file_is_read_without_a_copy(app, make_survey, tmp_path):
    """A fresh process reads the 1M frame in 0.01 s instead of 0.2-1.5 s: the answers
    are the file's pages (shared by the processes that read it), not copies of them."""
    import pyarrow as pa

    import survey_app.reports.cache as cache

    survey, _q = seeded(make_survey)
    record_response(survey, servqual_answers(4, SUGGESTION="More staff", SAT1=None))
    db.session.commit()
    frames = FrameCache(tmp_path / "cache")
    stamp = current_stamp(survey.id)
    frames.get(stamp)
    frames.written(stamp)
    path = frames.path(stamp)
    with pa.memory_map(str(path)) as source:
        reader = pa.ipc.open_file(source)
        assert reader.num_record_batches == 1
        sat1 = reader.get_batch(0).column("SAT1")
        # a skipped answer is NaN in the file, not an Arrow null (which pandas fills in a copy)
        assert sat1.null_count == 0 and pd.isna(sat1.to_pylist()[-1])
    other = FrameCache(tmp_path / "cache")  # another process
    frame = other.get(stamp)
    assert mapped_from(path, frame["P_TA1"].to_numpy())
    assert mapped_from(path, frame["SAT1"].to_numpy()) and pd.isna(frame["SAT1"].iloc[-1])
    assert frame["SUGGESTION"].tolist()[-1] == "More staff"  # (the texts come with it)
    pd.testing.assert_frame_equal(frame, responses_frame(survey.id, metadata=True))
    # replaced by a newer file (os.replace), the frame held is still the older file's
    record_response(survey, servqual_answers(2))
    db.session.commit()
    newer = current_stamp(survey.id)
    assert len(frames.get(newer)) == 5
    frames.written(newer)
    assert cache._disk_stamp(path) == newer
    assert len(frame) == 4 and frame["P_TA1"].tolist() == [2.0, 3.0, 4.0, 3.0]
    # and the file of an appended frame is read without a copy too (one record batch)
    appended = FrameCache(tmp_path / "cache").get(newer)
    assert mapped_from(path, appended["P_TA1"].to_numpy()) and len(appended) == 5
    pd.testing.assert_frame_equal(appended, responses_frame(survey.id, metadata=True))


def test_the_frame_file_waits_for_the_report_a_request_asked_for(app, make_survey, tmp_path):
    """Reading the open texts and writing the file hold the GIL for seconds at 1M: they
    wait while a report a request asked for is computed, but never keep a newer frame
    of this process waiting for the file's lock."""
    import threading
    import time

    import survey_app.reports.cache as cache

    survey, _q = seeded(make_survey)
    asked = threading.Event()
    asked.set()
    frames = FrameCache(tmp_path / "cache")
    frames.asked = asked.is_set
    stamp = current_stamp(survey.id)
    assert len(frames.get(stamp)) == 3  # read at once, without the open texts
    time.sleep(0.3)
    assert cache._disk_stamp(frames.path(stamp)) is None  # not yet: a report is computed
    asked.clear()
    frames.written(stamp)
    assert cache._disk_stamp(frames.path(stamp)) == stamp
    # while a report is computed, a newer frame that needs the lock is not held up
    record_response(survey, servqual_answers(4))
    db.session.commit()
    asked.set()
    record_response(survey, servqual_answers(2))
    db.session.commit()
    newest = current_stamp(survey.id)
    frames._memory.clear()  # a whole load again (no file to append to): the file waits
    frames.path(stamp).unlink()
    frames.get(newest)
    time.sleep(0.2)
    assert cache._disk_stamp(frames.path(stamp)) is None
    got, start = [], time.monotonic()

    def newer_frame():
        with app.app_context():
            got.append(len(frames.get(newest, texts=True)))

    reader = threading.Thread(target=newer_frame)
    reader.start()
    reader.join(10)
    assert got == [5] and time.monotonic() - start < 5
    asked.clear()


def test_while_responses_arrive_requests_read_one_stamp_for_a_few_seconds(
    app, make_survey, tmp_path, monkeypatch
):
    """``REPORTS_REFRESH_SECONDS``: while responses keep arriving, a newer stamp that only
    adds responses is read as the one read first until its first report is ready and that
    many seconds after (at most ``SETTLE_LIMIT`` times as long in all); then the newest; a
    deletion at once, and responses that stopped arriving (a batch) after
    ``QUIET_SECONDS``."""
    from survey_app.reports import services
    from survey_app.reports.services import Options, report_json
    from survey_app.selection import Selection

    app.config.update(REPORTS_CACHE=str(tmp_path / "cache"), REPORTS_REFRESH_SECONDS=10)
    app.extensions.pop("reports", None)
    clock = [1000.0]
    monkeypatch.setattr(services.time, "monotonic", lambda: clock[0])
    survey, q = seeded(make_survey)
    svc = services.service()
    first = svc.stamp(survey.id)
    assert first == current_stamp(survey.id)

    def arrives(seconds: float) -> None:
        """A response, then ``seconds`` later a request (which asserts on the stamp)."""
        record_response(survey, servqual_answers(6))
        db.session.commit()
        clock[0] += seconds

    arrives(30)
    assert svc.stamp(survey.id) == first  # no report of it yet: still read
    everyone = Selection.from_args(q, {})
    assert report_json(survey, everyone, Options(bootstrap=0), wait=None, stamp=first)
    for _ in range(19):
        arrives(0.5)
        assert svc.stamp(survey.id) == first  # up to 9.5 s after its first report: still read
    arrives(1)
    newer = svc.stamp(survey.id)  # 10.5 s: the newest, read from now on
    assert newer == current_stamp(survey.id) != first
    for _ in range(59):
        arrives(1)
        assert svc.stamp(survey.id) == newer  # none of its reports computed: read up to 60 s
    arrives(2)
    assert svc.stamp(survey.id) == current_stamp(survey.id) != newer

    # a batch: read as a stream at first, then at once when no more arrive
    batch = svc.stamp(survey.id)
    for _ in range(5):
        record_response(survey, servqual_answers(3))
    db.session.commit()
    clock[0] += 0.1
    assert svc.stamp(survey.id) == batch  # (a stream's first responses look the same)
    clock[0] += 0.8
    assert svc.stamp(survey.id) == batch
    clock[0] += 0.25  # unchanged for QUIET_SECONDS
    assert svc.stamp(survey.id) == current_stamp(survey.id) != batch
    newest = current_stamp(survey.id)

    assert delete_response(survey, str(ids(survey)[0])) is not None
    db.session.commit()
    clock[0] += 0.1
    deleted = svc.stamp(survey.id)  # a deletion is never held back
    assert deleted == current_stamp(survey.id) and deleted.revision > newest.revision

    app.config["REPORTS_REFRESH_SECONDS"] = 0  # off: always the newest
    record_response(survey, servqual_answers(2))
    db.session.commit()
    assert svc.stamp(survey.id) == current_stamp(survey.id) != deleted


def test_an_older_stamp_of_the_frame_held_is_its_rows_not_a_new_read(
    app, make_survey, tmp_path, monkeypatch
):
    """A filter computed ahead (or the bootstrap) for data that requests have since gone
    past asks for an older stamp than the frame held: it gets the held frame's rows at
    that stamp; the database is not read again (at 1M under load: 14 s)."""
    import survey_app.reports.cache as cache

    survey, _q = seeded(make_survey)
    frames = FrameCache(tmp_path / "cache")
    older = current_stamp(survey.id)
    at_older = frames.get(older).copy()
    frames.written(older)
    record_response(survey, servqual_answers(5))
    db.session.commit()
    newer = current_stamp(survey.id)
    assert len(frames.get(newer)) == len(at_older) + 1
    frames.written(newer)
    reads = []
    monkeypatch.setattr(cache, "responses_frame", lambda *a, **k: reads.append(k))
    monkeypatch.setattr(cache, "_read_frame", lambda *a, **k: reads.append(a))
    again = frames.get(older)
    pd.testing.assert_frame_equal(again[at_older.columns], at_older)  # (and the texts, held)
    assert reads == [] and frames.holds(newer)  # the newer frame is still the one held
    assert frames.get(older) is again  # the next filter of the same round: the same rows
