"""The rating screen: one rater rates every AU of a session in their blinded order.

For the current AU: the projected AU image, its KPM arrow plot (click keypoints to mark
artifacts, blue dots) and the reference schematic of feasible muscle movements; ✓ / × buttons,
navigation, undo/redo, and for × the artifact keypoints, the artifact text and its muscular
basis. Every change goes through :class:`~dfecs_app.io.rating_session.RatingSession`, which
saves it atomically before the call returns. The screen only ever reads the current rater's own
votes (blinding): it shows the rater's own name and progress only, names AUs by the session's
:meth:`~dfecs_app.io.rating_session.RatingSession.display_names` (neutral labels in a model
comparison), and its messages never carry a rater's name (hosts log them). Keys:
:mod:`dfecs_app.gui.rating.shortcuts`.

Rater aids (each toggled by a check box and a key): keypoint numbers on the arrow plot and the
image (Fig. 2), the neutral face instead of the AU, a looping animation from the neutral face
to the AU (keypoints move along their arrows; the image cross-fades from the neutral crop to
the projected AU image — a blend, not a sequence of morphs), and a scale bar.

In *turn mode* (the coordinator's panel) an *End my turn* button hands the screen back to the
coordinator (``endTurnRequested``).

Signals
-------
voteChanged(str, int)
    A vote of (rater, component) changed (set, cleared, undone, artifacts edited).
raterFinished(str)
    The rater has now rated every AU.
endTurnRequested()
    The rater ends their turn (turn mode only).
message(str)
    A status line for the host window.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from PySide6.QtCore import QEvent, QObject, QPointF, QSize, Qt, QTimer, Signal
from PySide6.QtGui import QColor, QImage, QKeyEvent, QKeySequence, QPainter, QPixmap
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QMessageBox,
    QPushButton,
    QSizePolicy,
    QSplitter,
    QVBoxLayout,
    QWidget,
)

from dfecs_app.core.landmarks import N_POINTS
from dfecs_app.core.projection import au_displacements
from dfecs_app.core.ratings import MUSCLE_DIRECTIONS
from dfecs_app.errors import DfecsError
from dfecs_app.gui.image_view import to_qimage
from dfecs_app.gui.rating.arrow_plot import ArrowPlotWidget
from dfecs_app.gui.rating.reference import ReferencePanel
from dfecs_app.gui.rating.shortcuts import action_for, help_html, keys_text
from dfecs_app.io.rating_export import face_crop
from dfecs_app.io.rating_session import RatingSession

#: Animation: frames per second and seconds from the neutral face to the AU (then it holds the
#: AU for a third of that and starts again).
ANIMATION_FPS = 25
ANIMATION_SECONDS = 1.2


@dataclass
class RatingMaterial:
    """What the screen shows for each AU.

    Attributes
    ----------
    names : list of str, length q
    neutral_points : ndarray (68, 2) or None
        Neutral keypoints in image pixels (None: no arrow plot).
    components : ndarray, shape (q, 136)
        AUs in standardized units.
    scales : ndarray, shape (q,)
        Display intensity per AU.
    images : dict of int -> QImage or Path
        Projected AU images (filled as they are rendered).
    neutral_image : ndarray (H, W, 3) uint8, QImage, Path or None
        The whole neutral face (for the neutral ↔ AU aid and the animation).
    """

    names: list[str]
    neutral_points: np.ndarray | None
    components: np.ndarray
    scales: np.ndarray
    images: dict[int, QImage | Path] = field(default_factory=dict)
    neutral_image: np.ndarray | QImage | Path | None = None

    def neutral_qimage(self) -> QImage | None:
        img = self.neutral_image
        if img is None:
            return None
        if isinstance(img, np.ndarray):
            self.neutral_image = img = to_qimage(img)
        elif isinstance(img, Path):
            self.neutral_image = img = QImage(str(img))
        return None if img.isNull() else img

    def crop_box(self, component: int) -> tuple[int, int, int, int] | None:
        """(top, bottom, left, right) of the projected AU image of ``component`` in the
        neutral image (as :func:`~dfecs_app.io.rating_export.render_au_image` crops it)."""
        disp = self.displacement(component)
        neutral = self.neutral_qimage()
        if disp is None or neutral is None:
            return None
        pts = self.neutral_points
        return face_crop((neutral.height(), neutral.width()), np.vstack([pts, pts + disp]))

    def displacement(self, component: int) -> np.ndarray | None:
        """Keypoint displacement (68, 2) of ``component`` in image pixels."""
        if self.neutral_points is None:
            return None
        return au_displacements(self.neutral_points, self.components[component],
                                float(self.scales[component]))


def parse_points(text: str) -> list[int]:
    """'17 18, 21' -> [17, 18, 21]; raises DfecsError on anything else."""
    items = text.replace(",", " ").replace(";", " ").split()
    try:
        pts = [int(t) for t in items]
    except ValueError as err:
        raise DfecsError(f"keypoints must be numbers 0-{N_POINTS - 1}: {text!r}") from err
    bad = [p for p in pts if not 0 <= p < N_POINTS]
    if bad:
        raise DfecsError(f"keypoints out of range 0-{N_POINTS - 1}: {bad}")
    return sorted(set(pts))


class RatingScreen(QWidget):
    """The rating screen; see the module docstring."""

    voteChanged = Signal(str, int)
    raterFinished = Signal(str)
    endTurnRequested = Signal()
    message = Signal(str)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self.session: RatingSession | None = None
        self.rater: str | None = None
        self.material: RatingMaterial | None = None
        self._order: list[int] = []
        self._names: list[str] = []
        self._pos = 0
        self._frame = 0
        self._timer = QTimer(self)
        self._timer.setInterval(int(1000 / ANIMATION_FPS))
        self._timer.timeout.connect(self._tick)
        self._build()
        self._refresh()

    # -- layout ---------------------------------------------------------------------------
    def _build(self) -> None:
        self.header = QLabel()
        self.header.setTextFormat(Qt.TextFormat.RichText)
        self.image_label = QLabel("no image")
        self.image_label.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.image_label.setMinimumSize(240, 240)
        self.image_label.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Ignored)
        self.image_label.setAccessibleName("Projected AU image")
        self.plot = ArrowPlotWidget()
        self.plot.pointClicked.connect(lambda p: self._guarded(self.toggle_point, p))
        self.reference = ReferencePanel()
        split = QSplitter(Qt.Orientation.Horizontal)
        for w in (self.image_label, self.plot, self.reference):
            split.addWidget(w)
        split.setStretchFactor(0, 3)
        split.setStretchFactor(1, 3)
        split.setStretchFactor(2, 2)
        self.splitter = split

        def button(text: str, action: str) -> QPushButton:
            b = QPushButton(f"{text}  ({keys_text(action)})")
            b.clicked.connect(lambda: self.trigger(action))
            return b

        self.yes_button = button("✓ Interpretable", "vote_yes")
        self.no_button = button("× Not interpretable", "vote_no")
        self.prev_button = button("◀ Previous", "previous")
        self.next_button = button("Next ▶", "next")
        self.undo_button = button("Undo", "undo")
        self.redo_button = button("Redo", "redo")
        self.help_button = button("Keys", "help")
        self.end_turn_button = QPushButton("End my &turn")
        self.end_turn_button.setToolTip("Hand the screen back to the coordinator")
        self.end_turn_button.clicked.connect(self.endTurnRequested)
        self.end_turn_button.setVisible(False)
        self.vote_label = QLabel()
        self.vote_label.setMinimumWidth(160)
        buttons = QHBoxLayout()
        for b in (self.yes_button, self.no_button):
            buttons.addWidget(b)
        buttons.addWidget(self.vote_label)
        buttons.addStretch(1)
        for b in (self.prev_button, self.next_button, self.undo_button, self.redo_button,
                  self.help_button, self.end_turn_button):
            buttons.addWidget(b)

        aids = QHBoxLayout()
        aids.addWidget(QLabel("Aids:"))
        self.aid_checks: dict[str, QCheckBox] = {}
        for action, text in (("toggle_numbers", "keypoint numbers"),
                             ("toggle_neutral", "neutral face"),
                             ("toggle_animation", "animate neutral → AU"),
                             ("toggle_scale_bar", "scale bar")):
            box = QCheckBox(f"{text} ({keys_text(action)})")
            box.setFocusPolicy(Qt.FocusPolicy.NoFocus)
            box.toggled.connect(self._aids_changed)
            aids.addWidget(box)
            self.aid_checks[action] = box
        aids.addStretch(1)

        self.points_edit = QLineEdit()
        self.points_edit.setPlaceholderText("click the keypoints on the arrow plot, or type "
                                            "their numbers (0-67)")
        self.artifact_edit = QLineEdit()
        self.artifact_edit.setPlaceholderText("what moves wrongly, e.g. eyebrow keypoints pulled "
                                              "horizontally outwards")
        self.basis_edit = QComboBox()
        self.basis_edit.setEditable(True)
        self.basis_edit.addItem("")
        for code, (region, desc) in MUSCLE_DIRECTIONS.items():
            self.basis_edit.addItem(f"{code} ({region}): {desc}")
        self.basis_edit.lineEdit().setPlaceholderText("why no muscle does this (UF1-UF4, LF1-LF2)")
        self.basis_edit.setInsertPolicy(QComboBox.InsertPolicy.NoInsert)
        form = QFormLayout()
        form.addRow(f"Artifact &keypoints ({keys_text('edit_points')}):", self.points_edit)
        form.addRow(f"&Artifact ({keys_text('edit_artifact')}):", self.artifact_edit)
        form.addRow(f"Muscular &basis ({keys_text('edit_basis')}):", self.basis_edit)
        self.artifact_box = QWidget()
        self.artifact_box.setLayout(form)

        self.points_edit.editingFinished.connect(lambda: self._guarded(self._commit_points))
        self.artifact_edit.editingFinished.connect(lambda: self._guarded(self._commit_artifact))
        self.basis_edit.lineEdit().editingFinished.connect(
            lambda: self._guarded(self._commit_basis))
        self.basis_edit.activated.connect(lambda _i: self._commit_basis())

        self.status = QLabel()
        self.status.setTextFormat(Qt.TextFormat.RichText)
        self.status.setWordWrap(True)
        self.message.connect(lambda text: self.status.setText(text))
        layout = QVBoxLayout(self)
        layout.addWidget(self.header)
        layout.addWidget(split, 1)
        layout.addLayout(buttons)
        layout.addLayout(aids)
        layout.addWidget(self.artifact_box)
        layout.addWidget(self.status)
        self._text_fields = (self.points_edit, self.artifact_edit, self.basis_edit.lineEdit())
        for w in self.findChildren(QWidget):
            w.installEventFilter(self)

    # -- public API -----------------------------------------------------------------------
    def set_session(self, session: RatingSession | None, rater: str | None,
                    material: RatingMaterial | None) -> None:
        """Rate ``session`` as ``rater`` showing ``material``; resumes where the rater stopped."""
        self.session, self.rater, self.material = session, rater, material
        if session is not None and rater is not None:
            if material is not None and len(material.names) != session.n_components:
                raise DfecsError(f"{len(material.names)} AUs shown for a session of "
                                 f"{session.n_components} components")
            self._order = session.order(rater)
            self._names = session.display_names()
            self._pos = session.resume_position(rater)
        else:
            self._order, self._names, self._pos = [], [], 0
        self.status.setText("")  # nothing of an earlier rater's turn stays on screen
        self._refresh()

    def set_turn_mode(self, on: bool) -> None:
        """Show the *End my turn* button (the coordinator's panel hosts raters in turns)."""
        self.end_turn_button.setVisible(bool(on))

    # -- rater aids -----------------------------------------------------------------------
    def set_aid(self, action: str, on: bool) -> None:
        """Switch a rater aid by its shortcut id (``toggle_numbers``, ``toggle_neutral``,
        ``toggle_animation``, ``toggle_scale_bar``)."""
        self.aid_checks[action].setChecked(bool(on))

    def aid(self, action: str) -> bool:
        return self.aid_checks[action].isChecked()

    def _aids_changed(self) -> None:
        self.plot.set_show_numbers(self.aid("toggle_numbers"))
        self.plot.set_show_scale_bar(self.aid("toggle_scale_bar"))
        if self.aid("toggle_animation"):
            self._frame = 0
            self._timer.start()
        else:
            self._timer.stop()
        self._apply_fraction()

    @property
    def fraction(self) -> float:
        """How much of the AU is shown: 0 neutral, 1 the AU (animated when that aid is on)."""
        if self.aid("toggle_neutral"):
            return 0.0
        if self.aid("toggle_animation"):
            n = int(ANIMATION_FPS * ANIMATION_SECONDS)
            return min(self._frame / n, 1.0)
        return 1.0

    def _tick(self) -> None:
        n = int(ANIMATION_FPS * ANIMATION_SECONDS)
        self._frame = (self._frame + 1) % (n + n // 3 + 1)
        self._apply_fraction()

    def _apply_fraction(self) -> None:
        self.plot.set_fraction(self.fraction)
        self._show_image()

    @property
    def position(self) -> int:
        """Position in the rater's order (0-based)."""
        return self._pos

    @property
    def current_component(self) -> int | None:
        """Model index of the AU shown (None when nothing is shown)."""
        return self._order[self._pos] if self._order else None

    def go_to(self, position: int) -> None:
        if not self._order:
            return
        self._commit_fields()
        self._pos = int(np.clip(position, 0, len(self._order) - 1))
        self._refresh()

    def show_component(self, component: int) -> None:
        """Show model component ``component`` (its position in the rater's order)."""
        if component in self._order:
            self.go_to(self._order.index(component))

    def set_au_image(self, component: int, image: QImage | Path | np.ndarray | str) -> None:
        """Provide (or replace) the projected AU image of ``component`` (a ``str``: the
        reason it cannot be made, shown in its place)."""
        if self.material is None:
            return
        if isinstance(image, np.ndarray):
            image = to_qimage(image)
        self.material.images[component] = image
        if component == self.current_component:
            self._show_image()

    def trigger(self, action: str) -> None:
        """Run a shortcut action by id (see :data:`RATING_SHORTCUTS`)."""
        handlers = {
            "vote_yes": self.vote_yes, "vote_no": self.vote_no, "next": self.next,
            "previous": self.previous, "first_unrated": self.first_unrated, "undo": self.undo,
            "redo": self.redo, "clear_vote": self.clear_vote,
            "edit_points": lambda: self._focus(self.points_edit),
            "edit_artifact": lambda: self._focus(self.artifact_edit),
            "edit_basis": lambda: self._focus(self.basis_edit.lineEdit()),
            "leave_field": self.setFocus, "help": self.show_help,
        }
        for aid in self.aid_checks:
            handlers[aid] = lambda a=aid: self.set_aid(a, not self.aid(a))
        self._guarded(handlers[action])

    def _guarded(self, action, *args) -> None:
        """Run ``action``; a DfecsError (e.g. a vote that could not be saved) is shown in the
        status line — never a blocking dialog — and the screen shows the state as saved."""
        try:
            action(*args)
        except DfecsError as err:
            if self.session is not None and self.rater:
                self._refresh()
            self.status.setText(f"<span style='color:#b00020'>{err}</span>")
            self.message.emit(str(err))

    # -- actions --------------------------------------------------------------------------
    def _ready(self) -> bool:
        return bool(self.session is not None and self.rater and self._order
                    and not self.session.closed)

    def vote_yes(self) -> None:
        if not self._ready():
            return
        self._commit_fields()
        c = self.current_component
        self.session.set_vote(self.rater, c, True)
        self._after_change(c)
        if self._pos < len(self._order) - 1:
            self._pos += 1
        self._refresh()

    def vote_no(self) -> None:
        if not self._ready():
            return
        self._commit_fields()
        c = self.current_component
        self.session.set_vote(self.rater, c, False)
        self._after_change(c)
        self.message.emit(f"× recorded for {self._names[c]}: mark the offending "
                          "keypoints and describe the artifact, then go on")
        self._refresh()

    def clear_vote(self) -> None:
        if not self._ready():
            return
        c = self.current_component
        self.session.clear_vote(self.rater, c)
        self._after_change(c)
        self._refresh()

    def next(self) -> None:
        self.go_to(self._pos + 1)

    def previous(self) -> None:
        self.go_to(self._pos - 1)

    def first_unrated(self) -> None:
        if self.session is not None and self.rater:
            self.go_to(self.session.resume_position(self.rater))

    def undo(self) -> None:
        if not self._ready():
            return
        c = self.session.undo(self.rater)
        if c is None:
            self.message.emit("nothing to undo")
            return
        self._after_change(c, finished_check=False)
        self._pos = self._order.index(c)
        self._refresh()

    def redo(self) -> None:
        if not self._ready():
            return
        c = self.session.redo(self.rater)
        if c is None:
            self.message.emit("nothing to redo")
            return
        self._after_change(c)
        self._pos = self._order.index(c)
        self._refresh()

    def toggle_point(self, point: int) -> None:
        """Mark / unmark keypoint ``point`` as an artifact of the current AU (a × vote)."""
        if not self._ready():
            return
        c = self.current_component
        self.session.toggle_point(self.rater, c, point)
        self._after_change(c)
        self._refresh()

    def show_help(self) -> None:
        box = QMessageBox(self)
        box.setWindowTitle("Rating keys")
        box.setTextFormat(Qt.TextFormat.RichText)
        box.setText(help_html())
        box.open()

    # -- internals ------------------------------------------------------------------------
    def _after_change(self, component: int, finished_check: bool = True) -> None:
        self.voteChanged.emit(self.rater, component)
        if finished_check and self.session.rater_done(self.rater):
            self.message.emit(f"All {self.session.n_components} AUs rated — thank you.")
            self.raterFinished.emit(self.rater)

    def _focus(self, widget: QWidget) -> None:
        widget.setFocus(Qt.FocusReason.ShortcutFocusReason)
        if isinstance(widget, QLineEdit):
            widget.selectAll()

    def _commit_points(self) -> None:
        if not self._ready():
            return
        c = self.current_component
        vote = self.session.vote(self.rater, c)
        try:
            pts = parse_points(self.points_edit.text())
        except DfecsError as err:
            self.message.emit(str(err))
            self._refresh()
            return
        if (vote is None and not pts) or (vote is not None and list(vote.points) == pts):
            return
        self.session.set_points(self.rater, c, pts)
        self._after_change(c)
        self._refresh()

    def _commit_text(self, artifact: str | None, basis: str | None) -> None:
        if not self._ready():
            return
        c = self.current_component
        vote = self.session.vote(self.rater, c)
        old_a = vote.artifact if vote else ""
        old_b = vote.basis if vote else ""
        if (artifact is None or artifact == old_a) and (basis is None or basis == old_b):
            return
        self.session.set_artifact(self.rater, c, artifact=artifact, basis=basis)
        self._after_change(c)
        self._refresh()

    def _commit_artifact(self) -> None:
        self._commit_text(self.artifact_edit.text().strip(), None)

    def _commit_basis(self) -> None:
        self._commit_text(None, self.basis_edit.currentText().strip())

    def _commit_fields(self) -> None:
        """Save whatever is typed in the artifact fields (before moving or voting)."""
        self._commit_points()
        self._commit_artifact()
        self._commit_basis()

    def composed_image(self, size: QSize | None = None) -> QImage | None:
        """The picture shown for the current AU with the aids applied (None: none yet),
        scaled to fit ``size`` when given (keypoint numbers are drawn after scaling, so they
        keep a readable size)."""
        c = self.current_component
        img = None if self.material is None or c is None else self.material.images.get(c)
        if isinstance(img, Path):
            img = QImage(str(img))
        elif isinstance(img, str):  # a failed morph's reason: no picture
            img = None
        t = self.fraction
        box = self.material.crop_box(c) if self.material is not None and c is not None else None
        neutral = self.material.neutral_qimage() if box is not None else None
        crop = None
        if neutral is not None:
            top, bottom, left, right = box
            crop = neutral.copy(left, top, right - left, bottom - top)
        if img is None or img.isNull():
            if crop is None or t > 0.0:
                return None
            img = crop
        out = img.convertToFormat(QImage.Format.Format_RGB888)
        if t < 1.0 and crop is not None and crop.size() == out.size():
            p = QPainter(out)
            p.setOpacity(1.0 - t)  # cross-fade: neutral crop over the AU image
            p.drawImage(0, 0, crop)
            p.end()
        width = out.width()
        if size is not None and size.width() > 0 and size.height() > 0:
            out = out.scaled(size, Qt.AspectRatioMode.KeepAspectRatio,
                             Qt.TransformationMode.SmoothTransformation)
        if self.aid("toggle_numbers") and box is not None:
            top, _, left, _ = box
            disp = self.material.displacement(c)
            f = out.width() / max(width, 1)
            pts = (self.material.neutral_points + t * disp - [left, top]) * f
            p = QPainter(out)
            p.setRenderHint(QPainter.RenderHint.Antialiasing)
            font = p.font()
            font.setPointSizeF(7.0)
            p.setFont(font)
            for i, (x, y) in enumerate(pts):
                p.setPen(Qt.PenStyle.NoPen)
                p.setBrush(QColor(255, 230, 0))
                p.drawEllipse(QPointF(x, y), 1.6, 1.6)
                p.setPen(QColor(255, 255, 255))
                p.drawText(QPointF(x + 3.0, y - 1.0), str(i))
                p.setPen(QColor(20, 20, 20))
                p.drawText(QPointF(x + 2.0, y - 2.0), str(i))
            p.end()
        return out

    def _show_image(self) -> None:
        c = self.current_component
        reason = None if self.material is None or c is None else self.material.images.get(c)
        if isinstance(reason, str):  # the morph failed: say why, in place
            self.image_label.setPixmap(QPixmap())
            self.image_label.setText(f"no projected AU image:\n{reason}")
            return
        img = self.composed_image(self.image_label.size())
        if img is None:
            self.image_label.setPixmap(QPixmap())
            self.image_label.setText("projected AU image\nrendering…" if self.material
                                     and self.material.neutral_points is not None
                                     else "no projected AU image")
            return
        self.image_label.setPixmap(QPixmap.fromImage(img))

    def resizeEvent(self, event) -> None:  # noqa: N802 - Qt API
        super().resizeEvent(event)
        self._show_image()

    def _refresh(self) -> None:
        ready = bool(self.session is not None and self.rater and self._order)
        c = self.current_component if ready else None
        vote = self.session.vote(self.rater, c) if ready else None
        if not ready:
            self.header.setText("<b>No rating session.</b> Start or resume one to rate AUs.")
            self.plot.set_data(None, None)
        else:
            done, k = self.session.progress(self.rater)
            closed = " — <b>session closed</b>" if self.session.closed else ""
            self.header.setText(
                f"<b>{self.rater}</b> — {self._pos + 1} of {k}: "
                f"<b>{self._names[c]}</b> — your progress: {done}/{k} rated{closed}")
            disp = self.material.displacement(c) if self.material else None
            npts = self.material.neutral_points if self.material else None
            self.plot.set_data(npts, disp, vote.points if vote else ())
        if vote is None:
            self.vote_label.setText("your vote: —")
        else:
            self.vote_label.setText("your vote: ✓ interpretable" if vote.interpretable
                                    else "your vote: × not interpretable")
        editable = self._ready()
        for w in (self.yes_button, self.no_button, self.artifact_box):
            w.setEnabled(editable)
        self.undo_button.setEnabled(editable and self.session.can_undo(self.rater))
        self.redo_button.setEnabled(editable and self.session.can_redo(self.rater))
        self.prev_button.setEnabled(ready and self._pos > 0)
        self.next_button.setEnabled(ready and self._pos < len(self._order) - 1)
        for w, text in ((self.points_edit, " ".join(map(str, vote.points)) if vote else ""),
                        (self.artifact_edit, vote.artifact if vote else "")):
            if not w.hasFocus() or w.text() != text:
                w.blockSignals(True)
                w.setText(text)
                w.blockSignals(False)
        self.basis_edit.blockSignals(True)
        self.basis_edit.lineEdit().blockSignals(True)
        self.basis_edit.setCurrentIndex(0)
        self.basis_edit.setEditText(vote.basis if vote else "")
        self.basis_edit.lineEdit().blockSignals(False)
        self.basis_edit.blockSignals(False)
        self._show_image()

    # -- keys -----------------------------------------------------------------------------
    def _handle_key(self, event: QKeyEvent) -> bool:
        action = action_for(QKeySequence(event.keyCombination()))
        if action is None or action == "leave_field":
            return False
        self.trigger(action)
        return True

    def keyPressEvent(self, event: QKeyEvent) -> None:  # noqa: N802 - Qt API
        if not self._handle_key(event):
            super().keyPressEvent(event)

    def eventFilter(self, obj: QObject, event: QEvent) -> bool:  # noqa: N802 - Qt API
        if obj is self.image_label and event.type() == QEvent.Type.Resize:
            self._show_image()  # the splitter resizes the label without resizing the screen
            return False
        if event.type() == QEvent.Type.KeyPress:
            if obj in self._text_fields:
                if event.key() in (Qt.Key.Key_Return, Qt.Key.Key_Enter, Qt.Key.Key_Escape):
                    self._commit_fields()
                    self.setFocus(Qt.FocusReason.ShortcutFocusReason)
                    return True
                return False
            if isinstance(obj, QComboBox | QLineEdit):
                return False
            if event.key() in (Qt.Key.Key_Space, Qt.Key.Key_Return, Qt.Key.Key_Enter,
                               Qt.Key.Key_Tab, Qt.Key.Key_Backtab):
                return False  # buttons and focus chain keep their keys
            return self._handle_key(event)
        return super().eventFilter(obj, event)
