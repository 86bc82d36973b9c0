"""Interpretability rating widgets (paper §3.4, Tables 1-2).

* :class:`RatingPanel` — the whole workflow for the main window's tab:
  ``set_model(model, neutral_image, neutral_points, session_path, model_path=None)``.
* :class:`RatingScreen` — rate every AU of a session as one rater (keyboard-driven).
* :class:`SessionSetupWidget`, :class:`ResultsWidget` — its other two tabs.
* :class:`RaterWindow` — rater mode: a rating pack, the rating screen, nothing else.
"""

from dfecs_app.gui.rating.arrow_plot import ArrowPlotWidget
from dfecs_app.gui.rating.panel import RatingPanel
from dfecs_app.gui.rating.rater_window import RaterWindow
from dfecs_app.gui.rating.reference import ReferencePanel
from dfecs_app.gui.rating.results import ResultsWidget
from dfecs_app.gui.rating.screen import RatingMaterial, RatingScreen
from dfecs_app.gui.rating.setup import SessionSetupWidget
from dfecs_app.gui.rating.shortcuts import RATING_SHORTCUTS, help_text

__all__ = ["ArrowPlotWidget", "RatingPanel", "RaterWindow", "ReferencePanel", "ResultsWidget",
           "RatingMaterial", "RatingScreen", "SessionSetupWidget", "RATING_SHORTCUTS",
           "help_text"]
