"""The declared schemas of the app's JSON inputs (pydantic v2, validated strictly).

Validate with :func:`dfecs_app.io.schema.validate`, which turns the first violation into one
:class:`~dfecs_app.errors.InputError` naming the file and field. Bounds come from
:data:`dfecs_app.io.schema.LIMITS`.

======================  ===========================================================
:class:`SessionFile`    rating session / returned ratings JSON (``io/rating_session.py``)
:class:`PackFile`       ``pack.json`` of a rating pack (the types; paths are confined elsewhere)
:class:`ModelMeta`      the ``meta`` JSON of a model NPZ (``io/model_file.py``)
:class:`KPMMeta`        the ``meta`` JSON of a KPM NPZ (``io/kpm_file.py``)
:class:`TrainParams`    ``dfecs train --params``
:class:`ProjectFile`    a ``.dfecs`` project file (types only; ``io/project.py`` reads it)
======================  ===========================================================
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, FiniteFloat, model_validator

from dfecs_app.core.landmarks import N_POINTS
from dfecs_app.io.schema import LIMITS

__all__ = ["SessionFile", "PackFile", "ModelMeta", "KPMMeta", "TrainParams", "ProjectFile",
           "Seed", "Count"]

#: A seed: an integer in 0..2**63-1 (no bools, no strings, no floats).
Seed = Annotated[int, Field(ge=0, le=LIMITS.seed,
                            description=f"an int 0..{LIMITS.seed} (a seed: a whole number)")]
Flag = Annotated[bool, Field(description="true or false (a JSON boolean, not a string)")]
#: A count of components (q, k): 1..LIMITS.components.
Count = Annotated[int, Field(ge=1, le=LIMITS.components)]
ComponentId = Annotated[int, Field(ge=0, lt=LIMITS.components, description=(
    f"a component index 0..{LIMITS.components - 1} (a whole number)"))]


def _keypoint(value: int) -> int:
    if not 0 <= value < N_POINTS:
        raise ValueError(f"a keypoint index must be 0..{N_POINTS - 1}")
    return value


Keypoint = Annotated[int, AfterValidator(_keypoint)]
Name = Annotated[str, Field(min_length=1, max_length=1000)]
Text = Annotated[str, Field(max_length=100_000)]
NonNegative = Annotated[FiniteFloat, Field(ge=0.0, le=LIMITS.magnitude)]
Coordinate = Annotated[FiniteFloat, Field(ge=-LIMITS.magnitude, le=LIMITS.magnitude,
                                          description="a finite number")]


# ``defer_build``: a model's validator is built when it first validates, so a command pays only
# for the schemas it reads (``dfecs encode``: the model file's meta), not for all of them.
class _Strict(BaseModel):
    model_config = ConfigDict(strict=True, extra="forbid", defer_build=True)


class _Open(BaseModel):
    """Unknown keys are kept (files written by newer app versions may hold more)."""

    model_config = ConfigDict(strict=True, extra="allow", defer_build=True)


# -- rating sessions -----------------------------------------------------------------------
class SessionModelRef(_Open):
    hash: Annotated[str, Field(max_length=128)] | None = None
    kind: Annotated[str, Field(max_length=100)] = "dfecs"
    path: Annotated[str, Field(max_length=4096)] | None = None


class RaterEntry(_Open):
    name: Name
    order: Annotated[list[ComponentId], Field(max_length=LIMITS.components)]


class VoteEntry(_Open):
    rater: Name
    component: ComponentId
    vote: Flag
    points: Annotated[list[Keypoint], Field(max_length=N_POINTS)] = []
    artifact: Text = ""
    basis: Text = ""
    time: Annotated[str, Field(max_length=100)] = ""


class PackRef(_Open):
    rater: Name
    session_id: Annotated[str, Field(max_length=200)] | None = None


class SessionFile(_Open):
    """A rating session (see :mod:`dfecs_app.io.rating_session` for the layout)."""

    format: Literal["dfecs-rating-session"]
    format_version: int
    session_id: Annotated[str, Field(max_length=200)] | None = None
    created: Annotated[str, Field(max_length=100)] = ""
    modified: Annotated[str, Field(max_length=100)] = ""
    model: SessionModelRef
    components: Annotated[list[Name], Field(min_length=1, max_length=LIMITS.components)]
    raters: Annotated[list[RaterEntry], Field(max_length=LIMITS.raters)]
    seed: Seed = 0
    tie_rule: str = "non_interpretable"
    blinded: Flag = True
    closed: Flag = False
    pack: PackRef | None = None
    votes: Annotated[list[VoteEntry], Field(max_length=LIMITS.components * 100)]

    @model_validator(mode="after")
    def _consistent(self) -> SessionFile:
        k = len(self.components)
        for i, r in enumerate(self.raters):
            if sorted(r.order) != list(range(k)):
                raise ValueError(f"raters[{i}].order must be a permutation of 0..{k - 1}")
        return self


# -- rating packs --------------------------------------------------------------------------
class PackFile(_Open):
    format: Literal["dfecs-rating-pack"]
    format_version: int
    rater: Name
    components: Annotated[list[Name], Field(min_length=1, max_length=LIMITS.components)]
    model: SessionModelRef = SessionModelRef()
    neutral_points: Annotated[list[Annotated[list[Coordinate], Field(min_length=2, max_length=2)]],
                              Field(min_length=N_POINTS, max_length=N_POINTS)]
    components_std: Annotated[list[Annotated[list[Coordinate], Field(max_length=2 * N_POINTS)]],
                              Field(max_length=LIMITS.components)]
    scales: Annotated[list[Coordinate], Field(max_length=LIMITS.components)]
    ratings: Annotated[str, Field(min_length=1, max_length=4096)] = "ratings.json"
    au_images: dict[str, Annotated[str, Field(max_length=4096)]] = {}
    arrow_images: dict[str, Annotated[str, Field(max_length=4096)]] = {}


# -- NPZ metadata --------------------------------------------------------------------------
class ModelMeta(_Open):
    """The ``meta`` JSON of a model file: ``format``, ``format_version``, ``kind`` + free keys."""

    format: Literal["dfecs-model"]
    format_version: int
    kind: str
    app_version: Annotated[str, Field(max_length=100)] | None = None


class KPMMeta(_Open):
    format: str = "dfecs-kpm"
    format_version: int = 1


# -- dfecs train --params ------------------------------------------------------------------
class PartParams(_Strict):
    k: Count
    alpha: NonNegative


class HFMParams(_Strict):
    q: Count
    alpha_A: NonNegative
    alpha_B: NonNegative


class TrainParams(_Strict):
    """``{"parts": {part: {"k", "alpha"}}, "hfm": {"q", "alpha_A", "alpha_B"}}``."""

    parts: Annotated[dict[Annotated[str, Field(max_length=100)], PartParams],
                     Field(max_length=100)] = {}
    hfm: HFMParams | None = None


# -- projects ------------------------------------------------------------------------------
class ProjectDataset(_Open):
    name: Name = "data"
    kind: str = "landmarks"
    paths: Annotated[list[Annotated[str, Field(min_length=1, max_length=4096)]],
                     Field(max_length=1_000_000, description="a list of non-empty paths")] = []
    neutral: str | Annotated[int, Field(ge=0, le=2**62)] = "first"
    frontalization: Flag = True
    group_by: str = "sequence"
    params: dict[str, Any] = {}


class ProjectTraining(_Open):
    beta: Annotated[FiniteFloat, Field(ge=0.0, lt=1.0, description="a number in [0, 1)")] = 0.05
    mode: str = "search"
    seed: Seed = 0
    hyperparameters: dict[str, Any] = {}


class ProjectModel(_Open):
    name: Name
    path: Annotated[str, Field(min_length=1, max_length=4096, description="a non-empty path")]
    role: str = "dfecs"


class ProjectFile(_Open):
    """A project file; what each field means is in :mod:`dfecs_app.io.project`."""

    format: Literal["dfecs-project"]
    format_version: int
    name: Annotated[str, Field(max_length=1000)] | None = None
    datasets: Annotated[list[ProjectDataset], Field(max_length=10_000)] = []
    models: Annotated[list[ProjectModel], Field(max_length=10_000)] = []
    active_model: str | None = None
    training: ProjectTraining = ProjectTraining()
    view: dict[str, Any] = {}
