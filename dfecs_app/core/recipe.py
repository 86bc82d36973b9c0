"""A model's recipe: how the KPMs it was learned from were prepared, so new data can match.

An AU model is only meaningful on KPMs made the same way as its training KPMs (same
frontalization weights, registration anchors and neutral rule). ``model.meta["recipe"]``
records that preparation as a JSON object::

    {"recipe_version": 1,
     "frontalize": true,
     "frontalization": {"68": "<sha256 of the weights>", ...} | null,
     "anchors": "auto" | "jaw" | "eyes",
     "neutral": "first" | "auto" | <frame number>,
     "neutral_per": "sequence" | "subject",
     "reader": {"format": "auto", "min_confidence": 0.9, ...}}

It is read from a KPM file's meta (``options`` and ``frontalization``, written by
:func:`dfecs_app.core.kpm.compute_kpm`, plus ``reader``), stored by ``dfecs train`` and
``dfecs baseline``, and applied by :func:`dfecs_app.io.prepare.prepare_kpm`. A preparation the
user forces to differ (``--no-frontalize`` against a frontalized model, ...) is listed by
:meth:`Recipe.differences` and flagged in the output.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from dfecs_app.core.landmarks import ANCHOR_CHOICES
from dfecs_app.errors import InputError

RECIPE_VERSION = 1
NEUTRAL_PER = ("sequence", "subject")


@dataclass(frozen=True)
class Recipe:
    """Preparation of KPMs (see the module docstring for the JSON form).

    Attributes
    ----------
    frontalize : bool
    frontalization : dict of str -> str, or None
        sha256 of the frontalization weights per layout ('68', '66', '49') that were used.
    anchors : {'auto', 'jaw', 'eyes'}
    neutral : 'first', 'auto' or int
    neutral_per : {'sequence', 'subject'}
        The unit sharing one neutral frame (``compute_kpm``'s ``group_by``).
    reader : dict
        Landmark reader options (``format``, ``min_confidence``).
    """

    frontalize: bool = True
    frontalization: dict[str, str] | None = None
    anchors: str = "auto"
    neutral: str | int = "first"
    neutral_per: str = "sequence"
    reader: dict[str, Any] = field(default_factory=lambda: {"format": "auto"})

    def to_dict(self) -> dict[str, Any]:
        """The JSON object stored in ``meta["recipe"]``."""
        return {
            "recipe_version": RECIPE_VERSION,
            "frontalize": bool(self.frontalize),
            "frontalization": None if self.frontalization is None else dict(self.frontalization),
            "anchors": self.anchors,
            "neutral": self.neutral,
            "neutral_per": self.neutral_per,
            "reader": dict(self.reader),
        }

    @classmethod
    def from_dict(cls, d: Any, source: str | None = None) -> Recipe:
        """Validate a stored recipe.

        Raises
        ------
        InputError
            Not an object, another ``recipe_version``, or a field of the wrong kind (named).
        """
        if not isinstance(d, Mapping):
            raise InputError("recipe must be a JSON object", source, field="recipe")
        version = d.get("recipe_version")
        if version != RECIPE_VERSION:
            raise InputError(f"recipe version {version!r} is not supported (this app reads "
                             f"version {RECIPE_VERSION})", source, field="recipe.recipe_version")
        front = d.get("frontalize")
        if not isinstance(front, bool):
            raise InputError("must be true or false", source, field="recipe.frontalize")
        weights = d.get("frontalization")
        if weights is not None and not (isinstance(weights, Mapping) and all(
                isinstance(k, str) and isinstance(v, str) for k, v in weights.items())):
            raise InputError("must be null or {layout: sha256}", source,
                             field="recipe.frontalization")
        anchors = d.get("anchors")
        if anchors not in ANCHOR_CHOICES:
            raise InputError(f"must be one of {', '.join(ANCHOR_CHOICES)}", source,
                             field="recipe.anchors")
        neutral = d.get("neutral")
        if not (neutral in ("first", "auto") or (isinstance(neutral, int)
                                                 and not isinstance(neutral, bool)
                                                 and neutral >= 0)):
            raise InputError("must be 'first', 'auto' or a frame number", source,
                             field="recipe.neutral")
        per = d.get("neutral_per")
        if per not in NEUTRAL_PER:
            raise InputError(f"must be one of {', '.join(NEUTRAL_PER)}", source,
                             field="recipe.neutral_per")
        reader = d.get("reader", {"format": "auto"})
        if not isinstance(reader, Mapping):
            raise InputError("must be an object", source, field="recipe.reader")
        return cls(frontalize=front, frontalization=None if weights is None else dict(weights),
                   anchors=anchors, neutral=neutral, neutral_per=per, reader=dict(reader))

    @classmethod
    def from_kpm_meta(cls, meta: Mapping[str, Any]) -> Recipe | None:
        """The recipe a KPM file's meta records, or None (a plain NPY/NPZ says nothing)."""
        options = meta.get("options")
        if not isinstance(options, Mapping) or "frontalize" not in options:
            return None
        weights = meta.get("frontalization")
        sha = None
        if isinstance(weights, Mapping):
            sha = {str(k): str(v.get("sha256")) for k, v in weights.items()
                   if isinstance(v, Mapping)}
        neutral = options.get("neutral", "first")
        return cls(
            frontalize=bool(options["frontalize"]),
            frontalization=sha,
            anchors=str(options.get("anchors", "auto")),
            neutral=neutral if isinstance(neutral, str) else int(neutral),
            neutral_per=str(options.get("group_by", "sequence")),
            reader=dict(meta.get("reader") or {"format": "auto"}),
        )

    def with_overrides(self, **overrides: Any) -> Recipe:
        """A copy with the given fields replaced (None values are ignored)."""
        given = {k: v for k, v in overrides.items() if v is not None}
        if given.get("frontalize") is False:
            given.setdefault("frontalization", None)
        return replace(self, **given)

    def differences(self, used: Recipe) -> list[str]:
        """What ``used`` (the preparation actually applied) changes from this recipe.

        Returns
        -------
        list of str
            One short phrase per differing field, e.g. ``"frontalize: model on, data off"``;
            empty when the data were prepared exactly as the model's KPMs.
        """
        out = []
        if self.frontalize != used.frontalize:
            out.append(f"frontalize: model {_onoff(self.frontalize)}, data {_onoff(used.frontalize)}")
        elif self.frontalize and self.frontalization and used.frontalization:
            for layout, sha in sorted(used.frontalization.items()):
                want = self.frontalization.get(layout)
                if want is not None and want != sha:
                    out.append(f"frontalization weights {layout}: model sha256 {want[:12]}, "
                               f"data {sha[:12]}")
        for name in ("anchors", "neutral", "neutral_per"):
            a, b = getattr(self, name), getattr(used, name)
            if a != b:
                out.append(f"{name}: model {a}, data {b}")
        return out


def _onoff(flag: bool) -> str:
    return "on" if flag else "off"


def attach_recipe(model_meta: dict[str, Any], kpm_meta: Mapping[str, Any]) -> Recipe | None:
    """Store the recipe of a training KPM set in a model's meta (``meta["recipe"]``).

    A KPM set that records no preparation (a plain NPY/NPZ) leaves the model without one;
    returns the recipe stored, or None.
    """
    recipe = Recipe.from_kpm_meta(kpm_meta)
    if recipe is not None:
        model_meta["recipe"] = recipe.to_dict()
    return recipe
