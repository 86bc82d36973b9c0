"""Does a projected AU image show the AU? A landmark round trip: run dlib's 68-point predictor
on each projected AU image inside the face box found on the neutral image and compare the
motion it finds with the motion the AU asked for
(:func:`dfecs_app.core.warp_field.motion_recovered`). Used by the tests and
``benchmarks/bench_morph.py``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from dfecs_app.core.projection import au_displacements
from dfecs_app.core.warp_field import motion_recovered
from dfecs_app.errors import InputError

__all__ = ["RoundTrip", "landmark_round_trip"]


@dataclass
class RoundTrip:
    """Per AU: fraction of the requested motion recovered (``recovered``: of the AU's own
    motion; ``recovered_applied``: of the motion the morph applied after the no-crossing stop
    and the fold cap), largest requested move (px), capped or not."""

    recovered: np.ndarray
    recovered_applied: np.ndarray
    largest_move: np.ndarray
    capped: np.ndarray

    @property
    def median(self) -> float:
        return float(np.nanmedian(self.recovered))


def landmark_round_trip(image: np.ndarray, neutral_points: np.ndarray, components: np.ndarray,
                        scales: np.ndarray) -> RoundTrip:
    """Morph each AU at ``scales[k]`` and measure what dlib finds again.

    The found motion is (landmarks on the morphed image) − (landmarks on the neutral image),
    both predicted in the neutral image's face box; the requested motion is where the morph
    asked: the AU at ``scales[k]`` (and, in ``recovered_applied``, what the morph applied).

    Raises
    ------
    InputError
        dlib finds no face on the neutral image.
    """
    import dlib

    from dfecs_app.io.tracking import _models, to_gray
    from dfecs_app.render.morph import morph_au_result

    detector, predictor = _models()
    gray = to_gray(image)
    dets, scores, _ = detector.run(gray, 0, 0.0)
    if len(dets) == 0:
        raise InputError("dlib finds no face on the neutral image", field="image")
    d = dets[int(np.argmax(scores))]
    box = dlib.rectangle(d.left(), d.top(), d.right(), d.bottom())

    def landmarks(img: np.ndarray) -> np.ndarray:
        shape = predictor(to_gray(img), box)
        return np.array([(p.x, p.y) for p in shape.parts()], dtype=np.float64)

    base = landmarks(image)
    points = np.asarray(neutral_points, dtype=np.float64)
    rec, rec_applied, moves, capped = [], [], [], []
    for au, s in zip(np.atleast_2d(components), np.asarray(scales, dtype=np.float64)):
        result = morph_au_result(image, points, au, float(s))
        requested = au_displacements(points, au, float(s))
        found = landmarks(result.image) - base
        rec.append(motion_recovered(requested, found))
        rec_applied.append(motion_recovered(result.targets - points, found))
        moves.append(float(np.linalg.norm(requested, axis=1).max()))
        capped.append(result.capped)
    return RoundTrip(np.array(rec), np.array(rec_applied), np.array(moves), np.array(capped))
