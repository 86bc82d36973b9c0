"""View settings that belong to a project: arrow scale and morph intensity.

The AU panel's arrow-scale box and the Projected panel's intensity slider keep their last
value as the user's default (QSettings, :mod:`dfecs_app.gui.settings`); on top of that each
project stores its own values in its ``view`` (``ProjectDocument.view_value``), so a reopened
project shows its AUs as they were saved. :func:`bind_view_settings` connects the two
without the panels knowing about projects.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from dfecs_app.gui.document import ProjectDocument

__all__ = ["VIEW_BINDINGS", "bind_view_settings"]

#: (view key, panel id, slider attribute, read value, set value).
VIEW_BINDINGS: tuple[tuple[str, str, str, Callable[[Any], float], Callable[[Any, float], None]], ...] = (
    ("arrow_scale", "aus", "arrow_spin", lambda p: p.arrow_scale,
     lambda p, v: p.arrow_spin.setValue(v)),
    ("morph_intensity", "projected", "intensity_slider", lambda p: p.intensity,
     lambda p, v: p.set_intensity(v)),
)


def bind_view_settings(document: ProjectDocument, panels: dict[str, Any]) -> None:
    """Keep the panels' view sliders and ``document``'s view settings in step."""
    for key, pid, slider_name, read, write in VIEW_BINDINGS:
        panel = panels.get(pid)
        slider = getattr(panel, slider_name, None)
        if slider is None:
            continue

        def changed(_: int, key: str = key, panel: Any = panel, read: Callable = read) -> None:
            document.set_view_value(key, float(read(panel)))

        def replaced(key: str = key, panel: Any = panel, read: Callable = read,
                     write: Callable = write) -> None:
            value = document.view_value(key)
            if isinstance(value, (int, float)) and not isinstance(value, bool):
                write(panel, float(value))
            else:  # a new project, or one saved without it: the user's current value
                document.extra.setdefault("view", {})[key] = float(read(panel))

        slider.valueChanged.connect(changed)
        document.replaced.connect(replaced)
        replaced()
