"""Declared schemas of the app's input files and the one place their errors become words.

Every JSON-like input (rating sessions, rating packs, project files, model metadata, ``--params``)
is checked against a pydantic model declared in :mod:`dfecs_app.io.schemas` through
:func:`validate`: strict types (``"false"`` is not ``False``, ``true`` is not ``1``), bounded
integers, finite floats. A :class:`pydantic.ValidationError` becomes one :class:`InputError`
naming the file and the first offending field (``votes[3].component``), so a new file format
gets clear errors by declaring its model.

Limits on what may be allocated for an input are declared once here (:data:`LIMITS`) and
:func:`check_bytes` refuses anything larger with the figure ("needs 155 GiB").
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any, TypeVar, get_args

from pydantic import BaseModel, ValidationError

from dfecs_app.errors import InputError

__all__ = ["LIMITS", "Limits", "ResourceError", "check_bytes", "format_bytes",
           "validate", "validation_message"]

M = TypeVar("M", bound=BaseModel)


@dataclass(frozen=True)
class Limits:
    """Upper bounds on inputs and options, declared once (see the README's limits section)."""

    #: Largest JSON text read (sessions, projects, packs, --params).
    json_bytes: int = 256 * 2**20
    #: Deepest JSON nesting accepted.
    json_depth: int = 64
    #: Largest CSV / landmark text file read.
    text_bytes: int = 2 * 2**30
    #: Longest CSV field (characters).
    csv_field: int = 1 << 20
    #: Most components (AUs) a model, session or votes file may have.
    components: int = 10_000
    #: Most raters in a session.
    raters: int = 10_000
    #: Largest integer seed (NumPy seeds are unsigned 32/64-bit; we keep them in int64 range).
    seed: int = 2**63 - 1
    #: Most bootstrap replicates.
    n_boot: int = 1_000_000
    #: Most points on an L1 curve.
    l1_points: int = 10_000
    #: Largest dlib upsampling factor on an image.
    upsample: int = 4
    #: Largest finite magnitude of a coordinate / KPM value / model component.
    magnitude: float = 1e12
    #: Most memory one input may ask for (a fraction of the machine's RAM, at least 1 GiB).
    memory_fraction: float = 0.5


LIMITS = Limits()


class ResourceError(InputError):
    """An input or option would need more memory than the machine has."""


def format_bytes(n: float) -> str:
    """``1.5 GiB`` style sizes."""
    for unit in ("B", "KiB", "MiB", "GiB", "TiB", "PiB"):
        if abs(n) < 1024 or unit == "PiB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}".replace(".0 ", " ")
        n /= 1024
    return f"{n:.0f} PiB"  # pragma: no cover


def machine_memory() -> int:
    """Physical memory of the machine in bytes (8 GiB when unknown)."""
    try:
        return int(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES"))
    except (ValueError, OSError, AttributeError):  # pragma: no cover - not POSIX
        return 8 * 2**30


def memory_budget() -> int:
    """Bytes one input or option may make the app allocate."""
    return max(2**30, int(machine_memory() * LIMITS.memory_fraction))


def check_bytes(nbytes: float, what: str, path: str | os.PathLike | None = None,
                field: str | None = None) -> None:
    """Refuse ``what`` up front when it needs more than :func:`memory_budget` bytes.

    Raises
    ------
    ResourceError
        ``"<what> needs 155 GiB; this machine allows 3.9 GiB"``.
    """
    budget = memory_budget()
    if nbytes > budget:
        raise ResourceError(f"{what} needs {format_bytes(nbytes)}; this machine allows "
                            f"{format_bytes(budget)}", path, field=field)


def _loc(loc: tuple[Any, ...]) -> str:
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        elif part in ("function-after", "function-before", "function-wrap"):
            continue
        else:
            out += ("." if out else "") + str(part)
    return out


def _inner_models(annotation: Any) -> list[type[BaseModel]]:
    """The pydantic models inside ``list[M]``, ``dict[str, M]``, ``M | None``, ..."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return [annotation]
    out: list[type[BaseModel]] = []
    for arg in get_args(annotation):
        out += _inner_models(arg)
    return out


def _field_description(model: type[BaseModel], loc: tuple[Any, ...]) -> str | None:
    """The ``description`` declared on the field at ``loc`` (or its list/dict container)."""
    models = [model]
    info = None
    for part in loc:
        if isinstance(part, int):
            continue
        found = next((m.model_fields[part] for m in models if part in m.model_fields), None)
        if found is None:
            continue  # a dict key
        info = found
        models = _inner_models(found.annotation)
    return None if info is None else info.description


def validation_message(err: ValidationError, model: type[BaseModel] | None = None
                       ) -> tuple[str, str | None]:
    """(message, field) of the first error of ``err``, in plain words.

    A field's declared ``description`` ("a number in [0, 1)") becomes "must be <description>".
    """
    first = err.errors(include_url=False)[0]
    loc = tuple(p for p in first.get("loc", ()) if not str(p).startswith(("function", "tagged")))
    field = _loc(loc)
    kind = str(first.get("type", ""))
    msg = str(first.get("msg", "invalid"))
    msg = msg.removeprefix("Value error, ")
    described = _field_description(model, loc) if model is not None else None
    if kind == "missing":
        msg = "missing"
    elif kind == "extra_forbidden":
        msg = "unknown key"
    elif described and kind != "value_error":
        msg = f"must be {described}"
    given = first.get("input")
    if kind not in ("missing", "extra_forbidden") and not isinstance(given, (dict, list)):
        shown = repr(given)
        if len(shown) > 40:
            shown = shown[:37] + "..."
        msg += f" (got {shown})"
    n = err.error_count()
    if n > 1:
        msg += f"; {n - 1} more problem{'s' if n > 2 else ''}"
    return msg, field or None


def validate(model: type[M], data: Any, path: str | os.PathLike | None, *,
             prefix: str | None = None) -> M:
    """``model.model_validate(data, strict=True)``, its errors as one :class:`InputError`.

    Parameters
    ----------
    model : pydantic model class
    data : object
        The parsed JSON (or any mapping).
    path : path or None
        The file, named in the error.
    prefix : str, optional
        Prepended to the field (``"meta"`` for a model file's metadata).
    """
    try:
        return model.model_validate(data, strict=True)
    except ValidationError as err:
        msg, field = validation_message(err, model)
        if prefix:
            field = prefix if field is None else f"{prefix}.{field}"
        raise InputError(msg, path, field=field) from None
    except RecursionError:
        raise InputError("nested too deeply", path, field=prefix) from None
