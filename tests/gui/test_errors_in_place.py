"""GUI errors in place: bad form values beside the field, background failures in the
window's notification bar — once, non-modal, every panel usable."""

from __future__ import annotations

import pytest

from dfecs_app.gui import dialogs
from dfecs_app.gui.params_validation import check_params_cell, check_params_row
from dfecs_app.gui.worker import start_worker

HFM = 7  # the HFM row of the Train panel's table (after the 7 face parts)


@pytest.mark.parametrize(("q", "says"), [("inf", "finite"), ("1e6", "from 1 to 136"),
                                         ("2.5", "whole number"), ("abc", "not a number"),
                                         ("0", "from 1 to 136")])
def test_an_invalid_hfm_q_is_shown_beside_the_table_and_blocks_train(demo_window, q, says) -> None:  # noqa: ANN001
    train = demo_window.panels["train"]
    train.mode_combo.setCurrentIndex(train.mode_combo.findData("explicit"))
    assert train.train_button.isEnabled() and not train.validation.label.text()
    for col, text in enumerate((q, "1.0", "0.5")):
        train.params_table.item(HFM, col).setText(text)
    label = train.validation.label.text()
    assert label.startswith("HFM q") and says in label and "Unexpected" not in label
    assert train.validation.label.isVisibleTo(train)
    assert not train.train_button.isEnabled()
    assert train.params_table.item(HFM, 0).background().color().red() == 255
    assert train.start_training() is None and not train.is_running()
    assert dialogs.shown == []  # no dialog, no traceback
    train.params_table.item(HFM, 0).setText("8")  # fixed: Train comes back
    assert train.validation.label.text() == "" and train.train_button.isEnabled()
    train.mode_combo.setCurrentIndex(train.mode_combo.findData("search"))
    train.params_table.item(HFM, 0).setText("inf")  # a search ignores the table
    assert train.train_button.isEnabled()


def test_cell_and_row_checks() -> None:
    assert check_params_cell(6, 0, "5") is None and check_params_cell(6, 1, "1.5") is None
    assert "from 1 to 40" in check_params_cell(6, 0, "41")  # lips: 20 points, 40 features
    assert "≥ 0" in check_params_cell(HFM, 2, "-1")
    assert "give k and α" in check_params_row(6, ["5", ""])
    assert check_params_row(HFM, ["", "", ""]) is None


def test_a_background_failure_shows_once_in_the_notification_bar(window, qtbot, shared_data) -> None:  # noqa: ANN001
    """A PNG offered as tracks, three times: one line, counted; no dialog; the panel works."""
    panel = window.panels["data"]
    image = shared_data / "faces" / "single_face_frame0.png"
    for _ in range(3):
        w = panel.load_paths([image])
        qtbot.waitUntil(w.isFinished, timeout=10000)
        qtbot.waitUntil(panel.add_files_button.isEnabled, timeout=5000)
    bar = window.notification_bar
    assert dialogs.shown == []
    assert len(bar.history) == 1 and bar.history[0].count == 3
    assert "this is a PNG image, not a landmark file" in bar.current.text
    assert "UTF-8" not in bar.current.text and "(×3)" in bar.label.text()
    assert bar.isVisibleTo(window) and not bar.details_button.isVisibleTo(window)
    # the panel is usable: real tracks load while the notice is shown
    with qtbot.waitSignal(panel.loaded, timeout=20000):
        panel.load_paths([shared_data / "tracks" / "single_face_dlib68.csv"])
    assert window.document.table is not None
    bar.dismiss()
    assert bar.current is None and not bar.isVisibleTo(window)


def test_an_unexpected_background_error_keeps_its_traceback_in_details(window, qtbot) -> None:  # noqa: ANN001
    panel = window.panels["evaluate"]

    def broken(state=None) -> None:  # noqa: ANN001
        raise ValueError("q must be <= 136")

    def failed(err: BaseException) -> None:
        dialogs.exception(panel, "Evaluation", err, w.error_traceback)

    w = start_worker(broken, name="evaluating", on_errored=failed)
    qtbot.waitUntil(lambda: window.notification_bar.current is not None, timeout=5000)
    qtbot.waitUntil(w.isFinished, timeout=5000)
    notice = window.notification_bar.current
    assert notice.text == "Unexpected error while evaluation: ValueError: q must be <= 136"
    assert "Traceback" in notice.detail and dialogs.shown == []
    assert panel.evaluate_button.isEnabled()
