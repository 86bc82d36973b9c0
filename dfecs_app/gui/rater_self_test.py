"""``dfecs-studio --rate PACK --self-test``: check that a (frozen) app can rate a pack.

A hidden option, used by the bundle test and by a coordinator who wants to check a build on a
volunteer's kind of machine **on a copy of a pack**: once the rater window shows the pack, it
presses ✓ (the ``Y`` key, sent as a real key event to the rating screen, the same path a
volunteer's key press takes), then reads the pack's ``ratings.json`` back from disk and checks
that the vote is there. It prints one line and exits 0 when the vote was saved, 1 otherwise.
"""

from __future__ import annotations

import sys

from PySide6.QtCore import QEvent, Qt
from PySide6.QtGui import QKeyEvent
from PySide6.QtWidgets import QApplication

from dfecs_app.errors import DfecsError
from dfecs_app.io.rating_session import read_session_json, session_from_json


def vote_and_check(window) -> bool:  # noqa: ANN001 - a RaterWindow
    """Press ✓ on the AU shown in ``window`` and check the saved ratings file holds it.

    Returns
    -------
    bool
        True when ``ratings.json`` on disk has the rater's ✓ for that AU.
    """
    pack = window.pack
    if pack is None or window.screen.current_component is None:
        print("dfecs-studio self-test: FAILED: no rating pack is open", file=sys.stderr)
        return False
    component = window.screen.current_component
    window.screen.setFocus()
    press = QKeyEvent(QEvent.Type.KeyPress, Qt.Key.Key_Y, Qt.KeyboardModifier.NoModifier, "y")
    QApplication.sendEvent(window.screen, press)
    path = pack.session.path
    try:
        saved = session_from_json(path, read_session_json(path)).vote(pack.rater, component)
    except DfecsError as err:
        print(f"dfecs-studio self-test: FAILED: {err}", file=sys.stderr)
        return False
    name = pack.session.components[component]
    if saved is None or not saved.interpretable:
        print(f"dfecs-studio self-test: FAILED: no ✓ for {name} in {path}", file=sys.stderr)
        return False
    print(f"dfecs-studio self-test: ✓ for {name} by {pack.rater} saved to {path}")
    return True
