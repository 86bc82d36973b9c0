"""Synthetic KPM data with a known DFECS: ground truth for tests, benchmarks and the demo.

:func:`make_kpm_dataset` draws KPM vectors ``X = codes @ true_components + noise`` where

* the **true components** are part-localised keypoint motions in the units of the registration
  targets of :mod:`dfecs_app.core.landmarks` (face width ≈ 800 units: jaw corners at x = 300 and
  1100, eyes at y = 1000, nose tip at y = 1300). The first 20 are hand-made, FACS-like motions
  spanning one to three face parts (both brows raised with the upper lids, brow lowerer, inner
  and outer brow raisers, blink, wink, smile with cheek raise narrowing the lower lids, jaw drop,
  lip-corner depressor, pucker, stretcher, nose wrinkle, upper-lip raiser, chin raiser, lips
  part, a one-sided smile, mouth shift, eye widening, jaw shift) with realistic magnitudes
  (brow raise 30 units, smile lip-corner ≈ 45 units, jaw drop 60 units); further ones (when
  ``n_components > 20``) are random smooth motions of one to three random parts, 20–40 units;
* the **codes** are sparse and non-negative with known correlations: 15 % neutral frames;
  the other frames show one "expression", a fixed prototype combining one to three
  components (happiness = smile + lips part, surprise = brow raise + jaw drop + eye widening,
  ...), at a gamma-distributed intensity (mean 0.8), plus rare independent activations
  (5 % per component); each subject scales each component by a log-normal factor (σ = 0.2),
  mimicking people who move more or less;
* the **noise** is Gaussian tracking noise (``noise`` units, default 0.5) on present keypoints.

``missing="bp4d"`` removes the jaw and the inner lip corners 60/64 (BP4D's 49 points),
``missing="disfa"`` the inner lip corners only (DISFA's 66 points); missing entries are 0 in
``X`` and False in ``mask``, as the KPM step produces them.
"""

from __future__ import annotations

import numpy as np
from sklearn.utils import check_random_state

from dfecs_app.core.kpm import KPMSet
from dfecs_app.core.landmarks import FACE_PARTS, N_POINTS, PART_NAMES, layout_mask, points_to_vec

N_LIBRARY = 20


def neutral_face() -> np.ndarray:
    """A schematic neutral face (68, 2) in registration-target units (y down)."""
    P = np.zeros((N_POINTS, 2))
    theta = np.pi - np.pi * np.arange(17) / 16
    P[:17, 0] = 700 + 400 * np.cos(theta)
    P[:17, 1] = 900 + 750 * np.sin(theta)
    bx = np.linspace(0, 1, 5)
    P[17:22, 0] = 380 + 260 * bx
    P[17:22, 1] = 880 - 40 * np.sin(np.pi * bx)
    P[22:27, 0] = 760 + 260 * bx
    P[22:27, 1] = 880 - 40 * np.sin(np.pi * bx)
    P[27:31] = [(700, 900), (700, 1000), (700, 1100), (700, 1200)]
    P[31:36] = [(640, 1280), (670, 1295), (700, 1300), (730, 1295), (760, 1280)]
    eye = np.array([(0, 0), (60, -30), (140, -30), (200, 0), (140, 30), (60, 30)], dtype=float)
    P[36:42] = eye + (400, 1000)
    P[42:48] = eye + (800, 1000)
    P[48:60] = [(580, 1450), (610, 1425), (650, 1410), (700, 1415), (750, 1410), (790, 1425),
                (820, 1450), (790, 1480), (750, 1500), (700, 1505), (650, 1500), (610, 1480)]
    P[60:68] = [(595, 1450), (650, 1440), (700, 1442), (750, 1440), (805, 1450), (750, 1460),
                (700, 1462), (650, 1460)]
    return P


def _library() -> list[np.ndarray]:
    """The 20 hand-made motions, each (68, 2) in units (y down: negative y is up)."""
    F = neutral_face()
    out: list[np.ndarray] = []

    def new() -> np.ndarray:
        return np.zeros((N_POINTS, 2))

    rb, lb = list(range(17, 22)), list(range(22, 27))
    up_r, up_l, lo_r, lo_l = [37, 38], [43, 44], [40, 41], [46, 47]
    jaw_low = [i for i in range(17) if F[i, 1] > 1150]
    upper_lip, lower_lip = [49, 50, 51, 52, 53, 61, 62, 63], [55, 56, 57, 58, 59, 65, 66, 67]
    # 1 brow raise (both brows + upper lids)
    m = new()
    m[rb + lb, 1] = -30
    m[up_r + up_l, 1] = -6
    out.append(m)
    # 2 brow lowerer: brows down, inner ends toward the midline
    m = new()
    m[rb + lb, 1] = 14
    m[[20, 21], 0] = [8, 16]
    m[[22, 23], 0] = [-16, -8]
    m[[21, 22], 1] = 22
    out.append(m)
    # 3 inner brow raiser
    m = new()
    m[rb, 1] = [0, -5, -12, -20, -28]
    m[lb, 1] = [-28, -20, -12, -5, 0]
    out.append(m)
    # 4 right outer brow raiser
    m = new()
    m[[17, 18, 19], 1] = [-32, -25, -12]
    out.append(m)
    # 5 left outer brow raiser
    m = new()
    m[[25, 26, 24], 1] = [-25, -32, -12]
    out.append(m)
    # 6 blink (both eyes)
    m = new()
    m[up_r + up_l, 1] = 28
    m[lo_r + lo_l, 1] = -5
    out.append(m)
    # 7 right wink with the right brow
    m = new()
    m[up_r, 1] = 28
    m[lo_r, 1] = -8
    m[rb, 1] = 8
    out.append(m)
    # 8 smile: lip corners out and up, cheeks narrow the lower lids
    m = new()
    m[48] = (-35, -28)
    m[54] = (35, -28)
    m[[49, 59, 60]] = (-15, -12)
    m[[53, 55, 64]] = (15, -12)
    m[lo_r + lo_l, 1] = -8
    out.append(m)
    # 9 jaw drop
    m = new()
    for i in jaw_low:
        m[i, 1] = 60 * (F[i, 1] - 1150) / 500
    m[lower_lip, 1] = 55
    m[[48, 54, 60, 64], 1] = 25
    out.append(m)
    # 10 lip-corner depressor
    m = new()
    m[48] = (-5, 25)
    m[54] = (5, 25)
    m[[59, 55], 1] = 10
    out.append(m)
    # 11 pucker: lips toward the mouth centre
    m = new()
    centre = F[48:68].mean(axis=0)
    m[48:68] = 0.3 * (centre - F[48:68])
    out.append(m)
    # 12 lip stretcher (with a little jaw widening)
    m = new()
    m[48] = (-40, 5)
    m[54] = (40, 5)
    m[[49, 59, 60]] = (-18, 2)
    m[[53, 55, 64]] = (18, 2)
    m[4:7, 0] = -8
    m[10:13, 0] = 8
    out.append(m)
    # 13 nose wrinkler with the upper lip
    m = new()
    m[31:36, 1] = -15
    m[[29, 30], 1] = -8
    m[upper_lip, 1] = -8
    out.append(m)
    # 14 upper-lip raiser
    m = new()
    m[upper_lip, 1] = -20
    m[31:36, 1] = -5
    out.append(m)
    # 15 chin raiser / lip press
    m = new()
    m[lower_lip, 1] = -15
    m[[7, 8, 9], 1] = -12
    m[upper_lip, 1] = 5
    out.append(m)
    # 16 lips part
    m = new()
    m[[61, 62, 63], 1] = -10
    m[[65, 66, 67], 1] = 22
    m[[56, 57, 58], 1] = 12
    out.append(m)
    # 17 one-sided smile (right)
    m = new()
    m[48] = (-30, -30)
    m[[49, 59, 60]] = (-12, -12)
    m[lo_r, 1] = -8
    out.append(m)
    # 18 mouth shift to the left of the image
    m = new()
    m[48:68, 0] = -25
    out.append(m)
    # 19 eye widening
    m = new()
    m[up_r + up_l, 1] = -15
    m[lo_r + lo_l, 1] = 4
    out.append(m)
    # 20 jaw shift
    m = new()
    for i in jaw_low:
        m[i, 0] = 30 * (F[i, 1] - 1150) / 500
    m[lower_lip, 0] = 20
    out.append(m)
    assert len(out) == N_LIBRARY
    return out


#: Expression prototypes over the library (component index -> weight).
_PROTOTYPES = (
    {7: 1.0, 15: 0.5},          # happiness: smile + lips part
    {0: 1.0, 8: 0.8, 18: 0.6},  # surprise: brow raise + jaw drop + eye widening
    {1: 1.0, 14: 0.6},          # anger: brow lowerer + chin raiser
    {2: 1.0, 9: 0.8},           # sadness: inner brow raiser + lip-corner depressor
    {12: 1.0, 13: 0.7},         # disgust: nose wrinkler + upper-lip raiser
    {1: 0.7, 11: 1.0},          # fear-ish: brow lowerer + stretcher
    {5: 1.0},                   # blink
    {10: 1.0},                  # pucker
    {3: 1.0}, {4: 1.0}, {6: 1.0}, {16: 1.0}, {17: 1.0}, {19: 1.0},
)


def _random_motion(rng: np.random.RandomState, F: np.ndarray) -> np.ndarray:
    """A smooth motion of one to three random face parts, 20–40 units."""
    m = np.zeros((N_POINTS, 2))
    parts = rng.choice(len(PART_NAMES), size=rng.randint(1, 4), replace=False)
    for p in parts:
        idx = list(FACE_PARTS[PART_NAMES[p]])
        base = rng.normal(size=2)
        base /= np.linalg.norm(base)
        grad = rng.normal(size=(2, 2)) / 300.0
        rel = F[idx] - F[idx].mean(axis=0)
        disp = base + rel @ grad
        disp /= np.abs(disp).max()
        m[idx] = disp * rng.uniform(20, 40)
    return m


def _draw(
    n_samples: int,
    n_components: int,
    n_subjects: int,
    noise: float,
    missing: str | None,
    neutral_fraction: float,
    random_state: int | np.random.RandomState | None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """:func:`make_kpm_dataset`'s draw, plus the subject index of each sample."""
    rng = check_random_state(random_state)
    n_samples = int(n_samples)
    q = int(n_components)
    if n_samples < 1 or q < 1 or n_subjects < 1:
        raise ValueError("n_samples, n_components and n_subjects must be positive")
    F = neutral_face()
    lib = _library()
    motions = lib[:q] + [_random_motion(rng, F) for _ in range(max(0, q - N_LIBRARY))]
    true_components = points_to_vec(np.stack(motions))

    prototypes = [p for p in _PROTOTYPES if all(j < q for j in p)]
    while len(prototypes) < max(4, q // 2):
        js = rng.choice(q, size=min(q, rng.randint(1, 4)), replace=False)
        prototypes.append({int(j): float(w) for j, w in zip(js, rng.uniform(0.5, 1.0, len(js)))})
    P = np.zeros((len(prototypes), q))
    for r, proto in enumerate(prototypes):
        for j, w in proto.items():
            P[r, j] = w

    subject = rng.randint(n_subjects, size=n_samples)
    amplitude = np.exp(rng.normal(0.0, 0.2, size=(n_subjects, q)))
    which = rng.randint(len(prototypes), size=n_samples)
    intensity = rng.gamma(2.0, 0.4, size=n_samples)
    codes = P[which] * intensity[:, None]
    extra = rng.exponential(0.5, size=(n_samples, q)) * (rng.random_sample((n_samples, q)) < 0.05)
    codes = (codes + extra) * amplitude[subject]
    codes[rng.random_sample(n_samples) < neutral_fraction] = 0.0

    X = codes @ true_components + rng.normal(0.0, noise, size=(n_samples, 2 * N_POINTS))
    if missing is None:
        pmask = np.ones(N_POINTS, dtype=bool)
    elif missing == "bp4d":
        pmask = layout_mask("49")
    elif missing == "disfa":
        pmask = layout_mask("66")
    else:
        raise ValueError(f"missing must be None, 'bp4d' or 'disfa', got {missing!r}")
    mask = np.broadcast_to(pmask, (n_samples, N_POINTS)).copy()
    X[:, ~np.concatenate([pmask, pmask])] = 0.0
    return X, mask, true_components, codes, subject


def make_kpm_dataset(
    n_samples: int,
    *,
    n_components: int = 16,
    n_subjects: int = 20,
    noise: float = 0.5,
    missing: str | None = None,
    neutral_fraction: float = 0.15,
    random_state: int | np.random.RandomState | None = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Draw KPMs from known sparse, non-negative, part-localised components.

    Parameters
    ----------
    n_samples : int
    n_components : int
        Number of true components ``q`` (the first ``min(q, 20)`` are the hand-made motions).
    n_subjects : int
        Subjects, each with its own per-component amplitude.
    noise : float
        Standard deviation of the tracking noise, in KPM units.
    missing : {None, 'bp4d', 'disfa'}
        Remove BP4D's or DISFA's missing keypoints.
    neutral_fraction : float
        Fraction of frames with no motion (codes all 0).
    random_state : int, RandomState or None

    Returns
    -------
    X : ndarray, shape (n_samples, 136)
        KPMs ``[x0..x67, y0..y67]``; missing entries are 0.
    mask : ndarray of bool, shape (n_samples, 68)
        Present keypoints.
    true_components : ndarray, shape (n_components, 136)
        The generating motions (at intensity 1).
    codes : ndarray, shape (n_samples, n_components)
        The generating non-negative codes (``X ≈ codes @ true_components``).
    """
    X, mask, true_components, codes, _ = _draw(
        n_samples, n_components, n_subjects, noise, missing, neutral_fraction, random_state)
    return X, mask, true_components, codes


def make_kpm_set(
    n_samples: int,
    *,
    n_components: int = 16,
    n_subjects: int = 20,
    noise: float = 0.5,
    missing: str | None = None,
    neutral_fraction: float = 0.15,
    random_state: int | np.random.RandomState | None = None,
) -> KPMSet:
    """The draw of :func:`make_kpm_dataset` (same arguments, same numbers) as a :class:`KPMSet`.

    Subjects are ``"S01"``, ``"S02"``, ... (each with its own per-component amplitudes), one
    sequence ``"synthetic"`` each, frames numbered in order of appearance; ``meta`` records the
    generator's arguments.
    """
    X, mask, _, _, subject = _draw(n_samples, n_components, n_subjects, noise, missing,
                                   neutral_fraction, random_state)
    width = len(str(n_subjects))
    names = np.array([f"S{i + 1:0{width}d}" for i in range(n_subjects)])[subject]
    frame = np.zeros(len(subject), dtype=np.int64)
    for i in np.unique(subject):
        rows = subject == i
        frame[rows] = np.arange(rows.sum())
    generator = {"n_samples": int(n_samples), "n_components": int(n_components),
                 "n_subjects": int(n_subjects), "noise": float(noise), "missing": missing,
                 "neutral_fraction": float(neutral_fraction),
                 "random_state": random_state if isinstance(random_state, int) else None}
    return KPMSet(X=X, mask=mask, subject=names, sequence=np.full(len(subject), "synthetic"),
                  frame=frame, meta={"sources": ["dfecs_app.core.synthetic"], "synthetic": generator})
