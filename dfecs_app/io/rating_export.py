"""Rating results out of the app: Table 1/2 as CSV, Markdown, LaTeX and text, the artifact
list (SI Tables 3-4), the rated-AU grid figure with blue-dot artifacts, and the AU pictures of
the rating screen and of rating packs.

Pictures
--------
Built on the render helpers (``dfecs_app.render.arrows`` and ``dfecs_app.render.morph``) and
the one AU-to-image mapping :func:`dfecs_app.core.projection.au_displacements`.
:func:`au_scales` gives each AU its multiplier at the shared intensity unit
(:mod:`dfecs_app.core.intensity`), as the AUs and Projected panels show it;
:func:`display_scale` (largest keypoint move a fixed fraction of the face width) remains for
figures that want equal visual magnitude.
"""

from __future__ import annotations

import csv
import io
import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from dfecs_app.core.aumodel import MODEL_KINDS, AUModel
from dfecs_app.core.projection import au_displacements
from dfecs_app.core.ratings import RatingSummary, Vote
from dfecs_app.errors import InputError
from dfecs_app.io.atomic import write_text_atomic

CHECK = "✓"
CROSS = "×"
TABLE_FORMATS = ("table", "markdown", "latex", "csv")
#: Largest keypoint movement of each AU in the pictures, as a fraction of the face width.
DISPLAY_FRACTION = 0.08
#: Margin around the keypoints' bounding box when cropping the face, fraction of its size.
CROP_MARGIN = 0.35


def fmt_percent(p: float) -> str:
    """87.5 -> '87.5%', 75.0 -> '75%', 81.25 -> '81.25%', NaN -> '–'."""
    if not np.isfinite(p):
        return "–"
    return f"{round(float(p), 2):g}%"


def _mark(value: float) -> str:
    if not np.isfinite(value):
        return ""
    return CHECK if value == 1.0 else CROSS


def table_rows(summary: RatingSummary) -> tuple[list[str], list[list[str]]]:
    """Header and rows of Table 1/2 (✓/×, blank = missing) with the Percentage row last."""
    header = ["Component", *summary.raters, "Majority Vote"]
    rows = []
    for i, name in enumerate(summary.components):
        rows.append([name, *(_mark(x) for x in summary.matrix[i]), _mark(summary.majority[i])])
    rows.append(["Percentage", *(fmt_percent(p) for p in summary.rater_percent),
                 fmt_percent(summary.majority_percent)])
    return header, rows


def to_csv(summary: RatingSummary) -> str:
    """Table 1/2 as CSV (votes as 1/0, blank = missing; percentages as numbers)."""
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(["component", *summary.raters, "majority"])
    for i, name in enumerate(summary.components):
        w.writerow([name, *(_num(x) for x in summary.matrix[i]), _num(summary.majority[i])])
    w.writerow(["percentage", *(f"{p:.4g}" for p in summary.rater_percent),
                f"{summary.majority_percent:.4g}"])
    return buf.getvalue()


def _num(x: float) -> str:
    return "" if not np.isfinite(x) else str(int(x))


def to_markdown(summary: RatingSummary) -> str:
    """Table 1/2 as a GitHub Markdown table (Percentage row in bold)."""
    header, rows = table_rows(summary)
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join(["---"] + [":-:"] * (len(header) - 1)) + "|"]
    for r in rows[:-1]:
        lines.append("| " + " | ".join(r) + " |")
    lines.append("| " + " | ".join(f"**{c}**" for c in rows[-1]) + " |")
    return "\n".join(lines) + "\n"


def _latex_escape(s: str) -> str:
    out = str(s).replace("\\", r"\textbackslash{}")
    for ch in "&%$#_{}":
        out = out.replace(ch, "\\" + ch)
    return out.replace("−", "-").replace("~", r"\textasciitilde{}")


def to_latex(summary: RatingSummary, caption: str = "Interpretability labeling",
             label: str = "tab:interpretability") -> str:
    """Table 1/2 as a LaTeX ``table`` (needs ``amssymb`` for ``\\checkmark``)."""
    header, rows = table_rows(summary)
    cell = {CHECK: r"$\checkmark$", CROSS: r"$\times$", "": ""}
    lines = [r"\begin{table}[ht]", r"\centering",
             r"\caption{" + _latex_escape(caption) + "}", r"\label{" + label + "}",
             r"\begin{tabular}{l" + "c" * (len(header) - 1) + "}", r"\hline",
             " & ".join(_latex_escape(h) for h in header) + r" \\", r"\hline"]
    for r in rows[:-1]:
        lines.append(" & ".join([_latex_escape(r[0]), *(cell[c] for c in r[1:])]) + r" \\")
    lines.append(r"\hline")
    lines.append(" & ".join(r"\textbf{" + _latex_escape(c) + "}" for c in rows[-1]) + r" \\")
    lines += [r"\hline", r"\end{tabular}", r"\end{table}"]
    return "\n".join(lines) + "\n"


def to_text(summary: RatingSummary) -> str:
    """Table 1/2 as aligned plain text for a terminal."""
    header, rows = table_rows(summary)
    table = [header, *rows]
    widths = [max(len(r[j]) for r in table) for j in range(len(header))]
    fmt = lambda r: "  ".join(c.ljust(w) if j == 0 else c.center(w)  # noqa: E731
                              for j, (c, w) in enumerate(zip(r, widths))).rstrip()
    rule = "-" * (sum(widths) + 2 * (len(widths) - 1))
    return "\n".join([fmt(header), rule, *(fmt(r) for r in rows[:-1]), rule, fmt(rows[-1])]) + "\n"


def format_table(summary: RatingSummary, fmt: str) -> str:
    """Table 1/2 in one of :data:`TABLE_FORMATS`."""
    funcs = {"table": to_text, "markdown": to_markdown, "latex": to_latex, "csv": to_csv}
    if fmt not in funcs:
        raise ValueError(f"format must be one of {TABLE_FORMATS}, got {fmt!r}")
    return funcs[fmt](summary)


def export_table(summary: RatingSummary, path: str | os.PathLike, fmt: str | None = None) -> Path:
    """Write Table 1/2 atomically; the format follows the suffix (.csv .md .tex .txt)."""
    path = Path(path)
    if fmt is None:
        fmt = {".csv": "csv", ".md": "markdown", ".tex": "latex", ".txt": "table"}.get(
            path.suffix.lower())
        if fmt is None:
            raise InputError("unknown table format (use .csv, .md, .tex or .txt)", path)
    write_text_atomic(path, format_table(summary, fmt))
    return path


# ---------------------------------------------------------------------------------------------
# artifact list (SI Tables 3-4)
# ---------------------------------------------------------------------------------------------
ARTIFACT_COLUMNS = ("component", "rater", "keypoints", "artifact", "muscular_basis", "thumbnail")


def artifact_rows(votes: Sequence[Vote], components: Sequence[str],
                  thumbnails: dict[int, str] | None = None) -> list[dict[str, str]]:
    """One row per × vote, by component then rater, with its thumbnail path (if any)."""
    rows = []
    for v in sorted((v for v in votes if not v.interpretable), key=lambda v: v.component):
        rows.append({"component": components[v.component], "rater": v.rater,
                     "keypoints": " ".join(str(p) for p in v.points), "artifact": v.artifact,
                     "muscular_basis": v.basis,
                     "thumbnail": (thumbnails or {}).get(v.component, "")})
    return rows


def artifacts_to_csv(rows: list[dict[str, str]]) -> str:
    buf = io.StringIO()
    w = csv.DictWriter(buf, fieldnames=ARTIFACT_COLUMNS, lineterminator="\n")
    w.writeheader()
    w.writerows(rows)
    return buf.getvalue()


def artifacts_to_markdown(rows: list[dict[str, str]]) -> str:
    """SI Table 3/4 style: Component | Rater | Keypoints | Artifact | Muscular Basis | image."""
    lines = ["| Component | Rater | Keypoints | Artifact | Muscular Basis | Thumbnail |",
             "|---|---|---|---|---|---|"]
    for r in rows:
        thumb = f"![{r['component']}]({r['thumbnail']})" if r["thumbnail"] else ""
        cells = [r["component"], r["rater"], r["keypoints"], r["artifact"], r["muscular_basis"],
                 thumb]
        lines.append("| " + " | ".join(c.replace("|", "\\|").replace("\n", " ") for c in cells)
                     + " |")
    return "\n".join(lines) + "\n"


# ---------------------------------------------------------------------------------------------
# pictures
# ---------------------------------------------------------------------------------------------
def display_scale(components: np.ndarray, neutral_points: np.ndarray,
                  fraction: float = DISPLAY_FRACTION) -> np.ndarray:
    """Per-AU intensity so that each AU's largest keypoint movement on this neutral face is
    ``fraction`` × the face width (AUs differ in norm; a rater judges directions).

    Parameters
    ----------
    components : ndarray, shape (q, 136)
        AUs in standardized units.
    neutral_points : ndarray, shape (68, 2)
        Neutral keypoints in image pixels.

    Returns
    -------
    ndarray, shape (q,)
        Intensities for :func:`~dfecs_app.core.projection.au_displacements` and the render
        helpers (0 for an all-zero AU).
    """
    comps = np.atleast_2d(np.asarray(components, dtype=float))
    pts = np.asarray(neutral_points, dtype=float)
    width = float(np.ptp(pts[:, 0])) or 1.0
    moves = np.linalg.norm(au_displacements(pts, comps), axis=-1).max(axis=1)
    safe = np.where(moves > 0, moves, 1.0)
    return np.where(moves > 0, fraction * width / safe, 0.0)


def au_scales(model: AUModel, intensity: float | None = None) -> np.ndarray:
    """Multiplier of each AU vector in the rating pictures: the shared intensity unit
    (:mod:`dfecs_app.core.intensity`, 1 = the AU's 95th-percentile activation in the training
    data; the model's ``au_stats`` or the stated fallback) at ``intensity`` (default
    :data:`~dfecs_app.core.intensity.DEFAULT_INTENSITY`, a typical strong occurrence).

    Returns
    -------
    ndarray, shape (q,)
    """
    from dfecs_app.core.intensity import DEFAULT_INTENSITY, intensity_unit

    parts = getattr(model, "models", None)  # a blinded comparison: each model its own unit
    if parts is not None:
        return np.concatenate([au_scales(m, intensity) for m in parts])
    unit = intensity_unit(model.components, model.meta)
    return unit.scales(DEFAULT_INTENSITY if intensity is None else intensity)


def scales_definition(model: AUModel, intensity: float | None = None) -> str:
    """What :func:`au_scales` gives, in words (for packs and exports)."""
    from dfecs_app.core.intensity import DEFAULT_INTENSITY, intensity_unit

    value = DEFAULT_INTENSITY if intensity is None else intensity
    parts = getattr(model, "models", None)
    if parts is not None:  # a blinded comparison: each model its own unit, models unnamed
        units = "; ".join(dict.fromkeys(intensity_unit(m.components, m.meta).definition
                                        for m in parts))
        return f"intensity {value:g} per AU; {units}; arrows x1 (the true motion)"
    unit = intensity_unit(model.components, model.meta)
    return f"intensity {value:g} per AU; {unit.definition}; arrows x1 (the true motion)"


def face_crop(image_shape: tuple[int, ...], points: np.ndarray,
              margin: float = CROP_MARGIN) -> tuple[int, int, int, int]:
    """(top, bottom, left, right) of a square crop around ``points`` (n, 2), inside the image."""
    h, w = image_shape[:2]
    x0, y0 = points.min(axis=0)
    x1, y1 = points.max(axis=0)
    size = max(x1 - x0, y1 - y0) * (1 + 2 * margin)
    cx, cy = (x0 + x1) / 2, (y0 + y1) / 2
    left, right = int(max(0, cx - size / 2)), int(min(w, cx + size / 2))
    top, bottom = int(max(0, cy - size / 2)), int(min(h, cy + size / 2))
    return top, bottom, left, right


def render_au_image(neutral_image: np.ndarray, neutral_points: np.ndarray, au: np.ndarray,
                    scale: float = 1.0) -> np.ndarray:
    """The projected AU image of one AU (SI 7.1, pychubby via :func:`render.morph.morph_au`),
    cropped around the face.

    Parameters
    ----------
    neutral_image : ndarray (H, W, 3) or (H, W), uint8
    neutral_points : ndarray, shape (68, 2)
        Neutral keypoints in image pixels.
    au : ndarray, shape (136,)
        The AU in standardized units.
    scale : float
        Intensity (see :func:`display_scale`).

    Returns
    -------
    ndarray (h, w, 3) uint8
    """
    from dfecs_app.render.morph import morph_au

    img = np.asarray(neutral_image)
    if img.ndim == 2:
        img = np.repeat(img[:, :, None], 3, axis=2)
    img = np.ascontiguousarray(img[:, :, :3])
    pts = np.asarray(neutral_points, dtype=float)
    morphed = morph_au(img, pts, np.asarray(au, dtype=float), intensity=float(scale))
    moved = pts + au_displacements(pts, np.asarray(au, dtype=float), float(scale))
    top, bottom, left, right = face_crop(img.shape, np.vstack([pts, moved]))
    return np.ascontiguousarray(morphed[top:bottom, left:right])


def render_arrow_png(path: str | os.PathLike, neutral_points: np.ndarray, au: np.ndarray,
                     scale: float = 1.0, title: str | None = None,
                     artifacts: Sequence[int] = ()) -> Path:
    """Write one KPM arrow plot (:func:`render.arrows.kpm_arrow_figure`) as PNG, atomically."""
    from dfecs_app.render.arrows import kpm_arrow_figure, save_figure

    fig = kpm_arrow_figure(neutral_points, np.asarray(au, dtype=float), scale=float(scale),
                           artifacts=artifacts, title=title, figsize=(3.2, 3.2))
    return save_figure(fig, path)


def artifact_points_by_component(summary: RatingSummary, rater: str | None = None
                                 ) -> dict[int, list[int]]:
    """Blue dots per component: the × voters' keypoints (of ``rater`` only, if given)."""
    dots: dict[int, set[int]] = {}
    for v in summary.votes:
        if not v.interpretable and (rater is None or v.rater == rater):
            dots.setdefault(v.component, set()).update(v.points)
    return {c: sorted(p) for c, p in dots.items()}


def export_grid_figure(summary: RatingSummary, model: AUModel, neutral_points: np.ndarray,
                       path: str | os.PathLike, rater: str | None = None,
                       scale: np.ndarray | float | None = None, ncols: int = 4) -> Path:
    """The rated AU grid (Fig. 6 / Fig. 8) as PNG, PDF or SVG (by the suffix of ``path``).

    One arrow plot per component titled with its name and majority vote (✓/×); the artifact
    keypoints are blue dots — those of ``rater`` (the paper shows volunteer 1's) or of every
    rater who voted × when ``rater`` is None.
    """
    from dfecs_app.render.arrows import au_grid_figure, save_figure

    path = Path(path)
    if path.suffix.lower() not in (".png", ".pdf", ".svg"):
        raise InputError("figure format must be .png, .pdf or .svg", path)
    if rater is not None and rater not in summary.raters:
        raise InputError(f"unknown rater {rater!r}", path)
    pts = np.asarray(neutral_points, dtype=float)
    s = au_scales(model) if scale is None else np.broadcast_to(
        np.asarray(scale, dtype=float), (model.n_components,))
    scaled = AUModel(components=model.components * s[:, None],
                     kind=model.kind if model.kind in MODEL_KINDS else "dfecs",
                     names=list(model.names))
    titles = [f"{name} {_mark(summary.majority[i])}".strip()
              for i, name in enumerate(summary.components)]
    fig = au_grid_figure(scaled, pts, scale=1.0, ncols=ncols, titles=titles,
                         artifacts=artifact_points_by_component(summary, rater))
    return save_figure(fig, path)


def export_fig6_figure(summary: RatingSummary, model: AUModel, neutral_points: np.ndarray,
                       images: dict[int, np.ndarray], path: str | os.PathLike,
                       rater: str | None = None, scale: np.ndarray | float | None = None,
                       ncols: int = 4) -> Path:
    """Fig. 6 style (PNG, PDF or SVG by suffix): every AU's projected image above its arrow
    plot, blue artifact dots (of ``rater``, or of every × voter), the majority vote in the
    title (:func:`dfecs_app.render.rated_figure.rated_au_figure`).

    ``images`` are the projected AU images by component (those missing show "no image");
    ``model`` may be an AUModel or a set of models rated together.
    """
    from dfecs_app.render.arrows import save_figure
    from dfecs_app.render.rated_figure import rated_au_figure

    path = Path(path)
    if path.suffix.lower() not in (".png", ".pdf", ".svg"):
        raise InputError("figure format must be .png, .pdf or .svg", path)
    if rater is not None and rater not in summary.raters:
        raise InputError(f"unknown rater {rater!r}", path)
    pts = np.asarray(neutral_points, dtype=float)
    comps = np.asarray(model.components, dtype=float)
    s = display_scale(comps, pts) if scale is None else np.broadcast_to(
        np.asarray(scale, dtype=float), (comps.shape[0],))
    titles = [f"{name} {_mark(summary.majority[i])}".strip()
              for i, name in enumerate(summary.components)]
    fig = rated_au_figure(pts, comps * s[:, None], images, titles,
                          artifact_points_by_component(summary, rater), ncols=ncols)
    return save_figure(fig, path)
