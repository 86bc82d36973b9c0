"""AUs grid, large view, projected AU images (pychubby, off the GUI thread) and exports."""

from __future__ import annotations

import json

import numpy as np
from PySide6.QtCore import Qt

from dfecs_app.core.aumodel import AUModel
from dfecs_app.core.intensity import intensity_unit
from dfecs_app.core.projection import au_displacements
from dfecs_app.core.synthetic import make_kpm_dataset
from dfecs_app.render.morph import morph_au


def _model(q: int = 6) -> AUModel:
    _, _, comps, _ = make_kpm_dataset(10, n_components=q, random_state=1)
    usage = np.array([1.0, 5.0, 3.0, 0.5, 4.0, 2.0])[:q]
    return AUModel(components=comps, kind="dfecs", arrays={"usage": usage})


def test_au_grid_fills_sorted_by_usage_and_scales(demo_window, qtbot) -> None:  # noqa: ANN001
    win = demo_window
    aus = win.panels["aus"]
    win.document.set_model(_model())
    assert not aus.cells  # built when the panel is looked at, not while another is in front
    with qtbot.waitSignal(aus.gridFilled, timeout=5000) as blocker:
        win.raise_panel("aus")
    assert blocker.args == [6] and len(aus.cells) == 6
    assert list(aus.order) == [1, 4, 2, 5, 0, 3]  # decreasing usage
    # the first cell draws AU 2 (most used): green points = neutral + displacement at the
    # shared intensity (unit: the fallback, this model has no au_stats) x the arrow scale
    neutral = win.document.neutral_landmarks
    comp = win.document.model.components[1]
    aus.arrow_spin.setValue(2.0)
    aus.intensity_slider.setValue(15)
    assert win.panels["projected"].intensity == 1.5  # one intensity for plots and images
    unit = intensity_unit(win.document.model.components, win.document.model.meta,
                          win.document.kpm.X, win.document.kpm.mask)
    assert unit.source == "kpm"  # the demo project's KPMs are at hand
    xs, ys = aus.cells[0][1].moved.getData()
    expected = neutral + au_displacements(neutral, comp, 1.5 * unit.p95[1] * 2.0)
    np.testing.assert_allclose(np.c_[xs, ys], expected)
    ax, _ = aus.cells[0][1].arrows.getData()
    assert len(ax) > 0  # arrows drawn

    # clicking a cell selects it for the large view
    vb = aus.cells[2][0]
    assert aus.cells[2][2].text.startswith("Component 3 · usage 3")  # order[2] == 2
    center = vb.sceneBoundingRect().center()
    view_pos = aus.grid.mapFromScene(center)
    qtbot.mouseClick(aus.grid.viewport(), Qt.MouseButton.LeftButton, pos=view_pos)
    assert aus.current == int(aus.order[2])
    # keyboard: Right selects the next cell
    aus.setFocus()
    qtbot.keyClick(aus, Qt.Key.Key_Right)
    assert aus.current == int(aus.order[3])


def test_morph_one_au_in_worker_with_cache(demo_window, qtbot) -> None:  # noqa: ANN001
    win = demo_window
    proj = win.panels["projected"]
    proj._debounce.stop()
    win.document.set_model(_model())
    proj._debounce.stop()  # morph only what this test asks for
    doc = win.document
    with qtbot.waitSignal(proj.imageReady, timeout=60000,
                          check_params_cb=lambda c, i, img: c == 1) as blocker:
        proj.request(1)
    qtbot.waitUntil(lambda: proj._worker is None, timeout=10000)
    comp, intensity, image = blocker.args
    assert intensity == proj.intensity == 1.0  # the default: a typical strong occurrence
    expected = morph_au(doc.neutral_image, doc.neutral_landmarks, doc.model.components[1],
                        proj.scales()[1])
    np.testing.assert_array_equal(image, expected)  # the same function as the CLI/render
    diff = np.abs(image.astype(int) - doc.neutral_image.astype(int)).sum(axis=2)
    assert diff.max() > 30  # the face moved
    assert diff[:40, :40].max() == 0  # far from the face nothing changes
    # a second request is served from the cache, without a new worker
    misses = proj.cache.misses
    with qtbot.waitSignal(proj.imageReady, timeout=5000):
        proj.request(1)
    assert proj.cache.misses == misses and proj._worker is None


def test_exports_png_svg_csv(demo_window, qtbot, tmp_path) -> None:  # noqa: ANN001
    win = demo_window
    proj = win.panels["projected"]
    win.document.set_model(_model(q=3))
    proj._debounce.stop()
    with qtbot.waitSignal(proj.allReady, timeout=60000):
        proj.morph_all()
    qtbot.waitUntil(lambda: proj._worker is None, timeout=10000)
    outs = proj.export_all(tmp_path / "images")
    assert len(outs) == 7  # 3 AUs x PNG/SVG + projected_aus.json
    desc = json.loads((tmp_path / "images" / "projected_aus.json").read_text())
    assert desc["intensity"] == 1.0 and desc["unit_source"] in ("kpm", "default")
    assert [a["files"] for a in desc["aus"]][0] == ["01_Component_1.png", "01_Component_1.svg"]
    grid_png = win.panels["aus"].export_grid(tmp_path / "grid.png")
    grid_svg = win.panels["aus"].export_grid(tmp_path / "grid.svg")
    one_svg = win.panels["aus"].export_selected(tmp_path / "au.svg")
    for p in [*outs, grid_png, grid_svg, one_svg]:
        assert p.exists() and p.stat().st_size > 500, p
    assert grid_png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert b"<svg" in grid_svg.read_bytes()[:2000] and b"kpm-arrows" in grid_svg.read_bytes()
    assert b"<svg" in (tmp_path / "images" / "01_Component_1.svg").read_bytes()[:1000]
