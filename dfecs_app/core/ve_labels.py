"""The names of the three VE figures a model has, written once for the GUI, the CLI and the README.

A DFECS model shows three different "VE(train)" numbers, all ``100·(1 − ‖residual‖²/‖X‖²)`` over
present entries but of different reconstructions or averages:

``FFM``
    the Full Face Model's own reconstruction ``U·A·B`` with the training codes ``B`` of the
    HFM (eq. 2), pooled over all samples — what the §2.3.3 search compares with ``100(1 − β)``;
``NNLS``
    the AUs ``U·A`` with each sample re-encoded by non-negative least squares (eq. 3 at α = 0),
    pooled over all samples — the end point of the VE-vs-k curve and the Evaluate table;
``MEAN``
    the mean over samples of the per-sample VE of the NNLS encoding — the paper's Fig. 5/7
    curves (samples with little motion weigh as much as apexes).
"""

from __future__ import annotations

#: Short labels (table headers, one-line summaries).
VE_FFM = "VE of U·A·B (FFM fit)"
VE_NNLS = "VE of NNLS encoding, pooled"
VE_MEAN = "mean per-sample VE (NNLS)"

#: One-line definitions (tooltips, ``--help``, README).
VE_FFM_HELP = ("FFM reconstruction U·A·B with the HFM's training codes B, pooled over samples: "
               "what the §2.3.3 search compares with 100(1 − β)")
VE_NNLS_HELP = ("the AUs U·A with every sample re-encoded by non-negative least squares "
                "(eq. 3, α = 0), pooled over samples")
VE_MEAN_HELP = ("mean over samples of each sample's VE under the NNLS encoding (the paper's "
                "Fig. 5/7 curves)")
