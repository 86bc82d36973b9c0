"""One table of the rating screen's keyboard shortcuts; it drives the key handling and the help.

:data:`RATING_SHORTCUTS` rows are (action id, keys, description). :class:`RatingScreen` maps a
key press to its action id through :func:`action_for`, and :func:`help_text` /
:func:`help_html` list the same rows, so behaviour and help cannot disagree.
"""

from __future__ import annotations

from dataclasses import dataclass

from PySide6.QtGui import QKeySequence


@dataclass(frozen=True)
class RatingShortcut:
    """One shortcut: ``action`` id, its key sequences (portable text), a description."""

    action: str
    keys: tuple[str, ...]
    description: str

    def sequences(self) -> list[QKeySequence]:
        return [QKeySequence(k) for k in self.keys]


RATING_SHORTCUTS: tuple[RatingShortcut, ...] = (
    RatingShortcut("vote_yes", ("Y",), "Interpretable (✓): record and go to the next AU"),
    RatingShortcut("vote_no", ("N",), "Non-interpretable (×): record; then mark the offending "
                   "keypoints (click them on the arrow plot, or K) and describe the artifact (A, B)"),
    RatingShortcut("next", ("Right", "PgDown"), "Next AU in your order"),
    RatingShortcut("previous", ("Left", "PgUp"), "Previous AU in your order"),
    RatingShortcut("first_unrated", ("Home",), "First AU you have not rated yet"),
    RatingShortcut("undo", ("Ctrl+Z",), "Undo your last change"),
    RatingShortcut("redo", ("Ctrl+Shift+Z", "Ctrl+Y"), "Redo"),
    RatingShortcut("clear_vote", ("Delete",), "Remove your vote on this AU"),
    RatingShortcut("edit_points", ("K",), "Type the artifact keypoints (0-67, space separated)"),
    RatingShortcut("edit_artifact", ("A",), "Describe the artifact"),
    RatingShortcut("edit_basis", ("B",), "Give the muscular basis (UF1-UF4, LF1-LF2, ...)"),
    RatingShortcut("leave_field", ("Esc",), "In a text field: back to voting (Enter also saves)"),
    RatingShortcut("toggle_numbers", ("I",), "Rater aid: keypoint numbers on the arrow plot and "
                   "the image (paper Fig. 2)"),
    RatingShortcut("toggle_neutral", ("V",), "Rater aid: show the neutral face instead of the AU "
                   "(press again for the AU)"),
    RatingShortcut("toggle_animation", ("P",), "Rater aid: loop an animation from the neutral "
                   "face to the AU"),
    RatingShortcut("toggle_scale_bar", ("S",), "Rater aid: scale bar (neutral-image pixels)"),
    RatingShortcut("help", ("F1",), "Show these shortcuts"),
)


def action_for(sequence: QKeySequence) -> str | None:
    """The action id bound to ``sequence`` (None if none)."""
    for s in RATING_SHORTCUTS:
        for seq in s.sequences():
            if seq.matches(sequence) == QKeySequence.SequenceMatch.ExactMatch:
                return s.action
    return None


def keys_text(action: str) -> str:
    """The keys of ``action`` as the user sees them (native text)."""
    for s in RATING_SHORTCUTS:
        if s.action == action:
            return " / ".join(q.toString(QKeySequence.SequenceFormat.NativeText)
                              for q in s.sequences())
    raise KeyError(action)


def help_text() -> str:
    """The shortcuts as plain text (one per line)."""
    width = max(len(keys_text(s.action)) for s in RATING_SHORTCUTS)
    return "\n".join(f"{keys_text(s.action).ljust(width)}  {s.description}"
                     for s in RATING_SHORTCUTS) + "\n"


def help_html() -> str:
    """The shortcuts as an HTML table (help dialog)."""
    rows = "".join(f"<tr><td><b>{keys_text(s.action)}</b></td><td>{s.description}</td></tr>"
                   for s in RATING_SHORTCUTS)
    return f"<table cellspacing='6'>{rows}</table>"
