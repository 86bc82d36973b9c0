"""Coding frames with an AU model: per-frame activations, VE and reconstruction error.

The encoders are those of the evaluation (:mod:`dfecs_app.core.evaluation`):

``nnls`` (default, ``alpha = 0``)
    Non-negative least squares, the end point of every positive LARS-lasso path.
``lasso`` (``alpha > 0``)
    Eq. 3–4 of the paper, ``min ‖y − U v‖² + α‖v‖₁, v ≥ 0`` (no ½).
``max_active`` (``max_active = K``)
    The best encoding with at most K non-zero AUs on the positive LARS-lasso path: the point
    whose RSS gives Evaluate's "VE with k or fewer active AUs" at k = K.

Per frame: ``ve = 100 (1 − ‖y − ŷ‖² / ‖y‖²)`` over present coordinates (NaN for an all-zero
KPM, e.g. the neutral frame itself) and ``recon_error = ‖y − ŷ‖²`` (sum of squares over
present coordinates, registration units²). Their means are Evaluate's figures: the mean of
``ve`` over frames where it is defined is the mean per-sample VE; ``100 (1 − Σ recon_error /
Σ ‖y‖²)`` is the pooled VE.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from dfecs_app.core._cd import single_blas_thread
from dfecs_app.core._nnls import encode_max_active
from dfecs_app.core.encoding import encode_frames, masked_grams
from dfecs_app.core.metrics import feature_mask
from dfecs_app.errors import InputError

ENCODERS = ("nnls", "lasso", "max_active")


@dataclass
class Coding:
    """Codes of n frames on q AUs.

    Attributes
    ----------
    codes : ndarray, shape (n, q)
        Non-negative activations.
    sq_norm : ndarray, shape (n,)
        ``‖y‖²`` over present coordinates.
    recon_error : ndarray, shape (n,)
        ``‖y − codes·components‖²`` over present coordinates.
    ve : ndarray, shape (n,)
        Per-frame VE in percent; NaN where ``sq_norm`` is 0.
    encoder : str
        'nnls', 'lasso' or 'max_active'.
    """

    codes: np.ndarray
    sq_norm: np.ndarray
    recon_error: np.ndarray
    ve: np.ndarray
    encoder: str


def encoder_name(alpha: float = 0.0, max_active: int | None = None) -> str:
    """The encoder the options select; InputError on contradictory or invalid ones."""
    if not alpha >= 0.0:
        raise InputError(f"alpha must be >= 0, got {alpha}", field="alpha")
    if max_active is not None:
        if alpha > 0.0:
            raise InputError("give either alpha or max_active, not both", field="max_active")
        if int(max_active) < 1:
            raise InputError(f"max_active must be >= 1, got {max_active}", field="max_active")
        return "max_active"
    return "lasso" if alpha > 0.0 else "nnls"


def code_frames(
    components: np.ndarray,
    X: np.ndarray,
    mask: np.ndarray | None = None,
    *,
    alpha: float = 0.0,
    max_active: int | None = None,
) -> Coding:
    """Encode KPM rows on AUs with the chosen encoder.

    Parameters
    ----------
    components : ndarray, shape (q, 136)
    X : ndarray, shape (n, 136)
        KPMs; 0 where missing.
    mask : ndarray of bool, shape (n, 68), optional
    alpha : float
        α of eq. 3 (``lasso`` when > 0).
    max_active : int, optional
        At most this many active AUs per frame (``max_active`` encoder).

    Returns
    -------
    Coding
    """
    encoder = encoder_name(alpha, max_active)
    X = np.asarray(X, dtype=np.float64)
    components = np.asarray(components, dtype=np.float64)
    if X.ndim != 2 or components.ndim != 2 or X.shape[1] != components.shape[1]:
        raise InputError(f"KPMs {X.shape} and components {components.shape} do not fit",
                         field="X")
    if encoder == "max_active":
        fmask = feature_mask(mask, X.shape)
        Xm = X if fmask is None else np.where(fmask, X, 0.0)
        G, gidx = masked_grams(components, fmask)
        if fmask is None:
            gidx = np.zeros(X.shape[0], dtype=np.int64)
        with single_blas_thread():
            C = Xm @ components.T
            sq = np.einsum("ij,ij->i", Xm, Xm)
            codes, rss = encode_max_active(G, gidx, C, sq, int(max_active))
    else:
        codes, sq, rss = encode_frames(X, components, alpha, mask)
    with np.errstate(invalid="ignore", divide="ignore"):
        ve = np.where(sq > 0.0, 100.0 * (1.0 - rss / sq), np.nan)
    return Coding(codes=codes, sq_norm=sq, recon_error=rss, ve=ve, encoder=encoder)
