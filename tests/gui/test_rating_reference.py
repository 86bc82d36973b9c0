"""The muscle-direction schematic of the rating screen: its code labels never crowd each other
or cover an arrow, at the sizes the rating screen gives it."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from dfecs_app.core.ratings import MUSCLE_DIRECTIONS
from dfecs_app.gui.rating.reference import SCHEMATIC_ARROWS, DirectionSchematic


@pytest.mark.parametrize("size", [(230, 240), (300, 300), (480, 420), (420, 700)])
def test_labels_do_not_overlap_each_other_or_the_arrows(qtbot, size) -> None:  # noqa: ANN001
    widget = DirectionSchematic()
    qtbot.addWidget(widget)
    widget.resize(*size)
    boxes = widget.label_boxes()
    assert set(boxes) == set(MUSCLE_DIRECTIONS)  # every code is labelled once
    for (a, ra), (b, rb) in itertools.combinations(boxes.items(), 2):
        assert not ra.intersects(rb), (a, b, size)
    for code, start, end in SCHEMATIC_ARROWS:
        p0, p1 = widget._map(*start), widget._map(*end)
        for t in np.linspace(0.0, 1.0, 60):
            x = p0.x() + t * (p1.x() - p0.x())
            y = p0.y() + t * (p1.y() - p0.y())
            for label, box in boxes.items():
                assert not box.contains(x, y), (label, "covers an arrow of", code, size)
        for box in boxes.values():
            assert widget.rect().toRectF().contains(box)  # inside the widget
    assert not widget.grab().isNull()
