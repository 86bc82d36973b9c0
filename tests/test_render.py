"""KPM arrow plots, the AU grid, image export and pychubby projected AU images."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import xml.etree.ElementTree as ET
from collections import Counter
from pathlib import Path

import numpy as np
import pytest
from matplotlib.colors import to_rgb
from matplotlib.image import imread

from dfecs_app.core.aumodel import AUModel
from dfecs_app.core.progress import TaskState
from dfecs_app.core.projection import project_au
from dfecs_app.errors import Cancelled, InputError
from dfecs_app.io.demo import demo_neutral_face
from dfecs_app.render.arrows import (
    ARTIFACT_COLOR,
    MOVED_COLOR,
    NEUTRAL_COLOR,
    au_grid_figure,
    draw_kpm_arrows,
    kpm_arrow_figure,
    save_figure,
)
from dfecs_app.render.figures import au_pair_figure, save_image
from dfecs_app.render.morph import MorphCache, morph_au, morph_aus, morph_region

SVG = "{http://www.w3.org/2000/svg}"


@pytest.fixture(scope="module")
def demo_face() -> tuple[np.ndarray, np.ndarray]:
    return demo_neutral_face()


def _au(moves: dict[int, tuple[float, float]]) -> np.ndarray:
    au = np.zeros(136)
    for i, (dx, dy) in moves.items():
        au[i], au[68 + i] = dx, dy
    return au


#: A smile-like AU in standardized units: lip corners out and up, the lips following.
SMILE = _au({48: (-45, -40), 54: (45, -40), 49: (-15, -20), 53: (15, -20), 59: (-20, -15),
             55: (20, -15), 60: (-30, -30), 64: (30, -30)})


def _svg_groups(path: Path) -> dict[str, Counter]:
    root = ET.parse(path).getroot()
    out = {}
    for g in root.iter(f"{SVG}g"):
        gid = g.get("id") or ""
        out[gid] = Counter(c.tag.replace(SVG, "") for c in g.iter() if c is not g)
    return out


def _color_pixels(rgb: np.ndarray, color: str, tol: float = 0.08) -> int:
    return int((np.abs(rgb[..., :3] - np.array(to_rgb(color))) < tol).all(axis=-1).sum())


# ---------------------------------------------------------------------------------------------
# Arrow plots
# ---------------------------------------------------------------------------------------------
def test_arrow_plot_artists_match_the_projection(demo_face):
    image, points = demo_face
    fig = kpm_arrow_figure(points, SMILE, scale=2.0, image=image, artifacts=[59, 48], title="smile")
    ax = fig.axes[0]
    assert ax.get_title() == "smile"
    quiver = next(c for c in ax.collections if c.get_gid() == "kpm-arrows")
    assert quiver.N == 8  # one arrow per moving keypoint
    moved = project_au(points, SMILE, 2.0)
    ends = np.column_stack([quiver.X + quiver.U, quiver.Y + quiver.V])
    idx = [48, 49, 53, 54, 55, 59, 60, 64]
    np.testing.assert_allclose(np.sort(ends, axis=0), np.sort(moved[idx], axis=0), atol=1e-9)
    by_gid = {c.get_gid(): c for c in ax.collections}
    assert len(by_gid["neutral-keypoints"].get_offsets()) == 68
    np.testing.assert_allclose(by_gid["moved-keypoints"].get_offsets(), moved)
    np.testing.assert_allclose(by_gid["artifact-keypoints"].get_offsets(), points[[48, 59]])
    # y points down, equal aspect, zoomed on the face within the image
    y0, y1 = ax.get_ylim()
    assert y0 > y1
    assert ax.get_aspect() == 1.0
    x0, x1 = ax.get_xlim()
    assert -0.5 <= x0 < points[:, 0].min() and points[:, 0].max() < x1 <= image.shape[1] - 0.5


def test_arrow_plot_png_and_svg_files(tmp_path, demo_face):
    _, points = demo_face
    fig = kpm_arrow_figure(points, SMILE, scale=3.0, artifacts=[48], figsize=(4, 4), dpi=100)
    png = save_figure(fig, tmp_path / "smile.png")
    svg = save_figure(fig, tmp_path / "smile.svg")
    pdf = save_figure(fig, tmp_path / "smile.pdf")
    assert pdf.read_bytes().startswith(b"%PDF")
    rgb = imread(png)
    assert rgb.shape[:2] == (400, 400)
    for color in (NEUTRAL_COLOR, MOVED_COLOR, ARTIFACT_COLOR):
        assert _color_pixels(rgb, color) > 5, color
    groups = _svg_groups(svg)
    assert groups["neutral-keypoints"]["use"] == 68
    assert groups["moved-keypoints"]["use"] == 68
    assert groups["artifact-keypoints"]["use"] == 1
    assert groups["kpm-arrows"]["path"] == 8
    assert sum(1 for k in groups if k.startswith("face-outline-")) == 9
    assert list(tmp_path.glob(".*.tmp")) == []  # atomic writes leave no temporaries


def test_static_keypoints_show_red_and_missing_ones_are_not_drawn(demo_face):
    _, points = demo_face
    mask = np.ones(68, bool)
    mask[:17] = False  # no jaw
    from matplotlib.figure import Figure

    fig = Figure()
    ax = fig.add_subplot()
    arts = draw_kpm_arrows(ax, points, np.zeros(136), mask=mask)
    assert arts.arrows.N == 0
    assert len(arts.neutral.get_offsets()) == 51
    # red is drawn above green: a keypoint that does not move is seen as neutral
    assert arts.neutral.get_zorder() > arts.moved.get_zorder()
    assert arts.artifacts is None and arts.image is None


def test_au_grid_figure(tmp_path, demo_face):
    image, points = demo_face
    rng = np.random.default_rng(0)
    comps = rng.normal(0, 10, (6, 136))
    comps[2] = SMILE
    model = AUModel(comps, "dfecs")
    fig = au_grid_figure(model, points, scale=1.5, ncols=4, images=image, artifacts={2: [48, 54]},
                         order=[2, 0, 1, 3, 4, 5], suptitle="AUs")
    assert len(fig.axes) == 6
    assert [ax.get_title() for ax in fig.axes] == [model.names[i] for i in (2, 0, 1, 3, 4, 5)]
    first = {c.get_gid(): c for c in fig.axes[0].collections}
    assert len(first["artifact-keypoints"].get_offsets()) == 2
    assert all("artifact-keypoints" not in {c.get_gid() for c in ax.collections} for ax in fig.axes[1:])
    assert all(len(ax.images) == 1 for ax in fig.axes)
    w, h = fig.get_size_inches()
    assert w > h  # 4 columns, 2 rows
    out = save_figure(fig, tmp_path / "grid.png")
    assert imread(out).shape[1] > imread(out).shape[0]
    # per-component backgrounds and length checks
    fig = au_grid_figure(model, points, images=[image] * 6, ncols=3)
    assert len(fig.axes) == 6
    with pytest.raises(ValueError, match="5 images for 6"):
        au_grid_figure(model, points, images=[image] * 5)


def test_save_figure_and_image_reject_unknown_suffix(tmp_path, demo_face):
    fig = kpm_arrow_figure(demo_face[1], SMILE)
    with pytest.raises(InputError, match="jpg"):
        save_figure(fig, tmp_path / "x.jpg")
    with pytest.raises(InputError):
        save_image(tmp_path / "x", demo_face[0])
    assert list(tmp_path.iterdir()) == []


def test_save_image_png_is_pixel_exact_and_svg_embeds_it(tmp_path, demo_face):
    image = demo_face[0][100:180, 150:260]
    png = save_image(tmp_path / "au.png", image)
    back = (imread(png)[..., :3] * 255).round().astype(np.uint8)
    np.testing.assert_array_equal(back, image)
    svg = save_image(tmp_path / "au.svg", image)
    root = ET.parse(svg).getroot()
    assert (root.get("width"), root.get("height")) == ("79.2pt", "57.6pt")  # 110x80 px at 100 dpi
    assert any(el.tag == f"{SVG}image" for el in root.iter())


# ---------------------------------------------------------------------------------------------
# Projected AU images (pychubby)
# ---------------------------------------------------------------------------------------------
def _patch(image: np.ndarray, xy: np.ndarray, r: int = 4) -> np.ndarray:
    x, y = np.round(xy).astype(int)
    return image[y - r:y + r + 1, x - r:x + r + 1].astype(float)


def test_zero_au_leaves_the_image_unchanged(demo_face):
    image, points = demo_face
    out = morph_au(image, points, np.zeros(136))
    assert out.dtype == np.uint8 and out.shape == image.shape
    np.testing.assert_array_equal(out, image)
    assert out is not image
    # a vanishing AU goes through pychubby's warp: only interpolation round-off remains
    tiny = morph_au(image, points, SMILE * 1e-4)
    assert np.abs(tiny.astype(int) - image).max() <= 2


def test_lip_corner_au_moves_the_mouth_and_nothing_far_away(demo_face):
    image, points = demo_face
    before = image.copy()
    out = morph_au(image, points, SMILE, 2.0)
    np.testing.assert_array_equal(image, before)  # input untouched
    assert out.shape == image.shape and out.dtype == np.uint8
    diff = np.abs(out.astype(int) - image.astype(int)).sum(axis=2)
    moved = project_au(points, SMILE, 2.0)
    for i in (48, 54):
        x, y = np.round(points[i]).astype(int)
        assert diff[y - 6:y + 7, x - 6:x + 7].mean() > 15, i
        # the content around the old corner is now found around the new corner
        same_place = np.abs(_patch(out, points[i]) - _patch(image, points[i])).mean()
        followed = np.abs(_patch(out, moved[i]) - _patch(image, points[i])).mean()
        assert followed < 0.6 * same_place, (i, followed, same_place)
    # forehead corner above the outer end of the right brow: no change beyond round-off
    face = points.max(axis=0) - points.min(axis=0)
    fx, fy = np.round(points[17] + (0.05 * face[0], -0.25 * face[1])).astype(int)
    forehead = diff[fy - 5:fy + 6, fx - 5:fx + 6]
    assert forehead.mean() <= 3 and forehead.max() <= 15
    # outside the warped face region, pixels are untouched
    x0, y0, x1, y1 = morph_region(np.vstack([points, moved]), image.shape[:2])
    assert 0 < x0 and x1 < image.shape[1]
    np.testing.assert_array_equal(out[:, :x0], image[:, :x0])
    np.testing.assert_array_equal(out[y1:], image[y1:])


def test_whole_image_warp_as_pychubby_does(demo_face):
    image, points = demo_face
    out = morph_au(image, points, SMILE, 2.0, margin=None)
    diff = np.abs(out.astype(int) - image.astype(int)).sum(axis=2)
    x, y = np.round(points[54]).astype(int)
    assert diff[y - 6:y + 7, x - 6:x + 7].mean() > 15
    # pychubby fixes the four image corners only: they stay, the rest shifts by subpixels
    assert diff[0, 0] == diff[0, -1] == diff[-1, 0] == diff[-1, -1] == 0
    assert diff[:20, :20].mean() < 0.2 * diff[y - 6:y + 7, x - 6:x + 7].mean()


def test_morph_input_errors(demo_face):
    image, points = demo_face
    with pytest.raises(InputError, match="uint8"):
        morph_au(image.astype(float), points, SMILE)
    with pytest.raises(InputError, match="outside"):
        morph_au(image, points + 1000, SMILE)
    off = points.copy()
    off[[5, 9], 1] = -3.0
    with pytest.raises(InputError, match="landmarks 5, 9 lie outside"):
        morph_au(image, off, SMILE)
    with pytest.raises(InputError, match="136"):
        morph_au(image, points, SMILE[:100])


def test_morph_cache_hits_evicts_and_is_thread_safe(demo_face):
    image, points = demo_face
    cache = MorphCache(max_items=2)
    a = cache.get(image, points, SMILE, 1.0)
    assert cache.get(image, points, SMILE, 1.0) is a
    assert (cache.hits, cache.misses) == (1, 1)
    assert not a.flags.writeable
    b = cache.get(image, points, SMILE, 2.0)
    cache.get(image, points, -SMILE, 1.0)  # evicts the least recently used (intensity 1.0)
    assert len(cache) == 2
    assert cache.key(image, points, SMILE, 1.0) not in cache
    assert cache.key(image, points, SMILE, 2.0) in cache
    np.testing.assert_array_equal(b, morph_au(image, points, SMILE, 2.0))

    cache = MorphCache(max_items=8)
    results: list[tuple[float, np.ndarray]] = []
    errors: list[BaseException] = []

    def work(intensity: float) -> None:
        try:
            results.append((intensity, cache.get(image, points, SMILE, intensity)))
        except BaseException as err:  # noqa: BLE001 - reported below
            errors.append(err)

    threads = [threading.Thread(target=work, args=(1.0 + (i % 2),)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    assert len(results) == 4 and len(cache) == 2
    expected = {k: morph_au(image, points, SMILE, k) for k in (1.0, 2.0)}
    for intensity, result in results:
        np.testing.assert_array_equal(result, expected[intensity])


def test_morph_aus_reports_progress_and_cancels(demo_face):
    image, points = demo_face
    seen = []
    comps = np.stack([SMILE, np.zeros(136), -SMILE])
    out = morph_aus(image, points, comps, 1.0, state=TaskState(lambda p: seen.append(p.fraction)))
    assert len(out) == 3
    np.testing.assert_array_equal(out[1], image)
    assert seen[0] == 0.0 and seen[-1] == 1.0
    state = TaskState()
    state.cancel()
    with pytest.raises(Cancelled):
        morph_aus(image, points, comps, state=state)


def test_au_pair_figure(tmp_path, demo_face):
    image, points = demo_face
    projected = morph_au(image, points, SMILE, 2.0)
    fig = au_pair_figure(image, points, SMILE, projected, scale=2.0, title="Component 1",
                         artifacts=[48])
    left, right = fig.axes
    assert left.get_xlim() == right.get_xlim() and left.get_ylim() == right.get_ylim()
    assert left.images[0].get_array().shape == image.shape
    assert save_figure(fig, tmp_path / "pair.svg").stat().st_size > 1000


def test_pychubby_import_survives_an_unwritable_home(tmp_path):
    code = ("import numpy as np; from dfecs_app.render.morph import load_pychubby; "
            "m = load_pychubby(); print(m['base'].CACHE_FOLDER)")
    env = dict(os.environ, HOME="/proc/dfecs-no-home")
    res = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True,
                         timeout=120)
    assert res.returncode == 0, res.stderr
    assert "dfecs-pychubby-home" in res.stdout
