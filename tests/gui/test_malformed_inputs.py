"""A sample of the malformed-input corpus through the GUI's open/import paths (pytest-qt):
opening a project, adding landmark files, loading KPMs, resuming a rating session and opening
a rating pack. Each bad file gives one notification naming it (an error dialog recorded in
test mode, or the rating panel's status line) — never an "unexpected error", never a storm of
dialogs — and leaves the window usable (no busy state, the next good file opens)."""

from __future__ import annotations

import shutil

import pytest

from dfecs_app.errors import DfecsError
from dfecs_app.gui import dialogs, worker
from tests.malformed.corpus import FILES, cases

SAMPLE_KINDS = ("project", "track", "pts", "npy", "kpm", "open", "pack")


def _sample(base, per_kind: int = 12):
    by_kind: dict[str, list] = {}
    for case in cases(base):
        # degenerate shapes load (the frame view says "cannot standardize"); KPMs refuse them
        if case.kind in SAMPLE_KINDS and case.must_fail and case.klass != "geometry":
            by_kind.setdefault(case.kind, []).append(case)
    picked = []
    for items in by_kind.values():
        seen, step = set(), max(1, len(items) // per_kind)
        for case in items[::step]:
            if case.label not in seen:  # one slot per mutation is enough here
                seen.add(case.label)
                picked.append(case)
    return picked


def _wait_idle(qtbot) -> None:  # noqa: ANN001
    qtbot.waitUntil(lambda: not worker.running_workers(), timeout=20_000)


def test_corpus_sample_through_the_gui(window, qtbot, corpus_base, tmp_path) -> None:  # noqa: ANN001
    from dfecs_app.gui.rating import RaterWindow

    data = window.panels["data"]
    ratings = window.panels.get("ratings")
    said: list[str] = []
    if ratings is not None:
        ratings.message.connect(said.append)
    sample = _sample(corpus_base)
    assert len(sample) >= 50
    tried = 0
    for i, case in enumerate(sample):
        folder = tmp_path / f"g{i:03d}"
        folder.mkdir()
        if case.kind == "pack":
            shutil.copytree(corpus_base / "pack", folder / "pack")
            bad = folder / "pack" / "pack.json"
            bad.unlink()
        else:
            bad = folder / FILES[case.kind].split("/")[-1]
        case.write(bad)
        dialogs.shown.clear()
        bar = window.notification_bar  # background failures are shown there, not in dialogs
        bar.history.clear()
        if case.kind == "project":
            assert not window.open_project(bad), case.id
        elif case.kind in ("track", "pts", "npy"):
            data.load_paths([bad], "auto")
            _wait_idle(qtbot)
            # not stuck busy: the buttons come back
            qtbot.waitUntil(data.add_files_button.isEnabled, timeout=5_000)
        elif case.kind == "kpm":
            assert not data.load_kpm_file(bad), case.id
        elif case.kind == "open":
            assert ratings is not None
            said.clear()
            assert ratings.open_session(bad) is None, case.id
            assert not dialogs.shown, case.id  # the panel says it in its status line, once
            assert len(said) == 1 and bad.name in said[0], (case.id, said)
            tried += 1
            continue
        else:
            rater = RaterWindow()
            qtbot.addWidget(rater)
            with pytest.raises(DfecsError) as err:
                rater.open_pack(bad.parent)
            assert bad.name in str(err.value) or "ratings.json" in str(err.value), case.id
            tried += 1
            continue
        errors = [s.text for s in dialogs.shown if s.kind == "error"]
        errors += [n.text for n in bar.history for _ in range(n.count)]
        assert len(errors) == 1, (case.id, dialogs.shown, bar.history)  # one notice, no storm
        assert "Unexpected error" not in errors[0], (case.id, errors[0])
        assert bad.name in errors[0], (case.id, errors[0])
        tried += 1
    # still usable: a good project and good tracks open afterwards
    dialogs.shown.clear()
    assert window.open_project(corpus_base / "p.dfecs")
    data.load_paths([corpus_base / "track.csv"], "auto")
    _wait_idle(qtbot)
    assert not [s for s in dialogs.shown if s.kind == "error"]
    assert tried == len(sample)


def test_a_degenerate_frame_is_shown_not_crashed_on(window, qtbot, corpus_base, tmp_path) -> None:  # noqa: ANN001
    """All points on one line: standardizing gives NaN, which used to crash the plot (segfault
    in pyqtgraph's painting); the frame view now says why it cannot standardize."""
    from tests.malformed.corpus import _collinear_track

    bad = tmp_path / "collinear.csv"
    bad.write_text(_collinear_track((corpus_base / "track.csv").read_text()))
    data = window.panels["data"]
    data.load_paths([bad], "auto")
    _wait_idle(qtbot)
    qtbot.waitUntil(data.add_files_button.isEnabled, timeout=5_000)
    qtbot.wait(50)  # paint
    assert "cannot standardize: degenerate shape" in data.frame_label.text()
