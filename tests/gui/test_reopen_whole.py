"""A saved and reopened project is the project that was saved: everything the user made."""

from __future__ import annotations

import json

import numpy as np
from PySide6.QtGui import QImage, QPainter
from scipy.ndimage import uniform_filter

from dfecs_app.core.aumodel import AUModel
from dfecs_app.core.kpm import KPMSet
from dfecs_app.core.synthetic import make_kpm_dataset
from dfecs_app.gui.main_window import MainWindow
from dfecs_app.io.images import read_image
from dfecs_app.io.kpm_file import save_kpm
from dfecs_app.io.rating_session import RatingSession
from dfecs_app.io.readers import read_landmarks


def _differences(a, b, where: str = "") -> list[str]:  # noqa: ANN001
    """Where two plain states differ (dotted paths), for a readable failure."""
    if isinstance(a, dict) and isinstance(b, dict):
        return [d for k in sorted(set(a) | set(b), key=str)
                for d in _differences(a.get(k), b.get(k), f"{where}.{k}")]
    if isinstance(a, list) and isinstance(b, list) and len(a) == len(b) and a[:1] != ["array"]:
        return [d for i, (x, y) in enumerate(zip(a, b)) for d in _differences(x, y, f"{where}[{i}]")]
    return [] if a == b else [f"{where}: {str(a)[:80]} != {str(b)[:80]}"]


def _build_everything(win, qtbot, shared_data, tmp_path) -> None:  # noqa: ANN001
    """One of everything: landmark data with a neutral rule and a pick, KPMs computed with
    them, a neutral face moved by hand, a model, PCA and FACS baselines, a test set,
    evaluation results, a rating session, training and view settings."""
    doc = win.document
    data, evaluate = win.panels["data"], win.panels["evaluate"]
    with qtbot.waitSignal(data.loaded, timeout=20000):
        data.load_paths([shared_data / "tracks" / "single_face_dlib68.csv"])
    doc.set_neutral_rule("auto")
    doc.set_neutral_override(str(doc.table.subject[0]), str(doc.table.sequence[0]), 3)
    doc.set_frontalize(False)
    with qtbot.waitSignal(data.kpmReady, timeout=30000):
        data.compute_kpms()
    assert doc.kpm.meta["options"]["neutral"] == "auto"
    doc.set_neutral_rule("first")  # changed after computing: the KPMs stay those of "auto"
    face = shared_data / "faces" / "single_face_frame0.png"
    doc.set_neutral_face(read_image(face),
                         read_landmarks([str(face.with_suffix(".pts"))]).points[0], str(face))
    doc.move_landmark(48, (301.25, 402.5))
    _, _, comps, _ = make_kpm_dataset(10, n_components=5, random_state=4)
    doc.set_model(AUModel(components=comps, kind="dfecs", meta={"ve_train": 91.0}),
                  {"beta": 0.1, "mode": "explicit", "seed": 4,
                   "params": {"parts": {"lips": {"k": 3, "alpha": 1.5}},
                              "hfm": {"q": 5, "alpha_A": 2.0, "alpha_B": 0.5}}})
    assert evaluate.load_facs(shared_data / "au_reference" / "pyfeat_aus_to_landmarks_2021_tables.npz")
    test = tmp_path / "held_out.npz"
    k = doc.kpm
    rows = np.arange(0, k.X.shape[0], 3)
    save_kpm(test, KPMSet(X=k.X[rows], mask=k.mask[rows], subject=k.subject[rows],
                          sequence=k.sequence[rows], frame=k.frame[rows]))
    assert evaluate.add_test_set(test)
    with qtbot.waitSignal(evaluate.evaluated, timeout=60000):
        evaluate.evaluate()
    assert {m for m, _ in doc.evaluation} == {"DFECS", "PCA", "FACS"} and "PCA" in doc.baselines
    session = RatingSession.create(tmp_path / "ratings" / "session.json", doc.model, seed=1)
    win._on_session_changed(str(session.path))
    win.panels["aus"].arrow_spin.setValue(5.5)
    win.panels["projected"].set_intensity(2.5)


def test_a_reopened_project_holds_everything_that_was_saved(window, qtbot, shared_data,
                                                           tmp_path) -> None:  # noqa: ANN001
    win = window
    _build_everything(win, qtbot, shared_data, tmp_path)
    win.document.set_name("study")  # "Save as study.dfecs.json" names the project
    before = win.document.state_dict()
    path = tmp_path / "study.dfecs.json"
    assert win.save_project(path)
    assert win.document.state_dict() == before  # saving changes nothing the user made
    # the user's global defaults move on; the project keeps its own view settings
    win.panels["aus"].arrow_spin.setValue(1.0)
    win.panels["projected"].set_intensity(1.0)

    other = MainWindow()
    try:
        assert other.open_project(path)
        after = other.document.state_dict()
        assert _differences(before, after) == []
        assert after == before
        assert not other.document.dirty
        # what the panels show: curves drawn, PCA listed, the project's view settings
        evaluate = other.panels["evaluate"]
        assert evaluate.hint_text() == "" and evaluate.table.rowCount() == 3
        assert other.panels["aus"].arrow_scale == 5.5
        assert other.panels["projected"].intensity == 2.5
        assert other.document.kpms_out_of_date()  # as saved: rule changed after computing
    finally:
        other.shutdown()
        other.close()
        other.deleteLater()
    raw = json.loads(path.read_text(encoding="utf-8"))
    kpm_dataset = next(d for d in raw["datasets"] if d["kind"] == "kpm")
    assert kpm_dataset["neutral"] == "auto" and kpm_dataset["frontalization"] is False
    assert [m["role"] for m in raw["models"]] == ["dfecs", "baseline", "baseline"]
    assert raw["view"] == {"arrow_scale": 5.5, "morph_intensity": 2.5}
    assert raw["evaluations"].startswith("study.dfecs/evaluation/")


def _rgb(image: QImage) -> np.ndarray:
    image = image.convertToFormat(QImage.Format.Format_RGB888)
    return np.frombuffer(image.constBits(), np.uint8).reshape(
        image.height(), image.bytesPerLine())[:, :3 * image.width()].reshape(
        image.height(), image.width(), 3).astype(float)


def _mismatch(got: np.ndarray, shown: np.ndarray) -> float:
    """Mean difference of two (h, w, 3) pictures where the shown one has ink, both blurred
    (lines drawn a pixel apart at another resolution still match)."""
    ink = shown.mean(axis=2) < 200
    assert ink.sum() > 200
    blur = lambda a: uniform_filter(a.mean(axis=2), 9)  # noqa: E731
    return float(np.abs(blur(got) - blur(shown))[ink].mean())


def test_the_data_panel_exports_hold_the_whole_plot(window, qtbot, shared_data, tmp_path) -> None:  # noqa: ANN001
    """The exported PNG is the plot as shown at twice its size — not its top-left quarter —
    and the SVG draws the curves inside their axes."""
    from PySide6.QtSvg import QSvgRenderer

    panel = window.panels["data"]
    with qtbot.waitSignal(panel.loaded, timeout=20000):
        panel.load_paths([shared_data / "tracks" / "single_face_dlib68.csv"])
    panel.frame_slider.setValue(10)
    window.raise_panel("data")
    qtbot.wait(50)
    out = panel.export_plots(tmp_path)
    assert [p.name for p in out] == ["landmarks_raw.png", "landmarks_raw.svg",
                                     "landmarks_std.png", "landmarks_std.svg"]
    for (png, svg), plot in zip((out[:2], out[2:]), (panel.raw_plot, panel.std_plot)):
        w, h = plot.width(), plot.height()
        shown = _rgb(plot.grab().toImage())
        img = read_image(png).astype(float)
        assert img.shape[:2] == (2 * h, 2 * w)
        small = img.reshape(h, 2, w, 2, 3).mean(axis=(1, 3))  # back to the shown size
        assert _mismatch(small, shown) < 18  # measured: 9-11; the top-left quarter: 28
        drawn = QImage(w, h, QImage.Format.Format_RGB32)
        drawn.fill(0xFFFFFFFF)
        painter = QPainter(drawn)
        QSvgRenderer(str(svg)).render(painter)
        painter.end()
        assert _mismatch(_rgb(drawn), shown) < 12
