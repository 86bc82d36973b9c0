"""The main window offers the project's models and baselines to the Rating panel, and a
session of another model is recorded under that model's hash."""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("PySide6")

from dfecs_app.core.baselines import pca_aus  # noqa: E402
from dfecs_app.core.synthetic import make_kpm_dataset  # noqa: E402


def test_rating_panel_offers_the_projects_models(window, qtbot, tmp_path) -> None:  # noqa: ANN001
    from tests.ratings.conftest import make_model

    panel = window.panels["ratings"]
    window.raise_panel("ratings")
    qtbot.waitUntil(lambda: window.is_shown("ratings"), timeout=5000)
    doc = window.document
    doc.set_path(tmp_path / "p.dfecs.json")  # session files go to the project's sidecar
    model = make_model(q=4)
    X, mask, _, _ = make_kpm_dataset(200, n_components=8, random_state=1)
    pca = pca_aus(X, mask=mask, n_components=3)
    doc.set_neutral_face(None, np.random.default_rng(0).uniform(100, 300, (68, 2)))
    doc.set_model(model)
    doc.set_baseline("PCA", pca)
    assert list(panel.available) == ["DFECS", "PCA"]
    assert panel.model is model
    panel.setup.check_models(["PCA"])
    assert panel.model is pca and panel.session_path is not None
    panel.start_session(["A", "B"], seed=1)
    assert doc.sessions[pca.content_hash()[:12]] == str(panel.session_path)
    assert panel.session_path.is_relative_to(tmp_path)
    assert model.content_hash()[:12] not in doc.sessions
