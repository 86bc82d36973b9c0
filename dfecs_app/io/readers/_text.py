"""Text decoding and fast numeric parsing of delimited landmark tables.

Parsing is vectorized: ``np.loadtxt`` (C) converts the landmark columns in one call. Only
when it fails does a slow row-by-row pass run, to name the exact line and column at fault.
"""

from __future__ import annotations

import codecs
import csv
import io
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from dfecs_app.core.landmarks import LAYOUTS
from dfecs_app.errors import InputError
from dfecs_app.io.filekind import binary_kind, media_hint
from dfecs_app.io.npz import check_regular_file
from dfecs_app.io.schema import LIMITS


class NotLandmarkData(InputError):
    """A readable file that holds no landmark data (skipped when met inside a directory)."""


#: Point counts of the supported source layouts, largest first.
POINT_COUNTS: tuple[int, ...] = tuple(sorted((len(v) for v in LAYOUTS.values()), reverse=True))
_EMPTY_FIELD = re.compile(r"(^|,)[ \t]*(?=,|\r?$)", flags=re.M)
_X_COL = re.compile(r"^x_(\d+)$")
_Y_COL = re.compile(r"^y_(\d+)$")


def _has_empty_field(text: str) -> bool:
    """Quick test for an empty comma-separated field (before the slower regex fill)."""
    return (",," in text or ", ," in text or ",\n" in text or "\n," in text
            or text.startswith(",") or text.endswith(",") or ",\r" in text
            or ((", " in text or ",\t" in text)
                and re.search(r",[ \t]+(,|$)", text, flags=re.M) is not None))


#: A plain ASCII decimal number (no ``1_000``, no non-ASCII digits, no hex).
_NUMBER = re.compile(r"[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?|[+-]?(?:nan|inf|infinity)",
                     flags=re.I | re.A)


def strict_float(text: str) -> float:
    """``float(text)`` for plain ASCII decimal numbers only; ValueError otherwise."""
    t = text.strip()
    if not _NUMBER.fullmatch(t):
        raise ValueError(f"not a number: {text!r}")
    return float(t)


@dataclass
class TextSource:
    """The bytes of a landmark text file (BOM removed), checked to be valid UTF-8 text.

    ``text`` decodes them on first use; the fast CSV path reads ``data`` directly.
    ``complete`` is False for the head of a file read by ``read_source(..., head=...)``.
    """

    path: Path
    data: bytes
    complete: bool = True
    _decoded: str | None = None

    @property
    def text(self) -> str:
        if self._decoded is None:
            self._decoded = self.data.decode("utf-8")
        return self._decoded


_ASCII_NONSPACE = re.compile(rb"[^ \t\n\r\x0b\x0c]")


def read_source(path: Path, head: int | None = None) -> TextSource:
    """The checked bytes of a text file; InputError if empty, not UTF-8, holding NUL bytes,
    an image or video (named), not a regular file (FIFO, device) or larger than the text
    limit.

    With ``head``, only about the first ``head`` bytes are read and checked (cut after the
    last line break in them; ``complete`` tells whether that is the whole file).
    """
    path = check_regular_file(path, "landmark file")
    size = path.stat().st_size
    if size > LIMITS.text_bytes:
        raise InputError(f"too large for a landmark text file ({size} bytes)", path)
    complete = True
    if head is not None and size > head:
        with open(path, "rb") as fh:
            data = fh.read(head)
        cut = data.rfind(b"\n")
        if len(data) == size:
            pass
        elif cut >= 0:
            data, complete = data[:cut + 1], False
        else:
            return read_source(path, head * 4)
    else:
        data = path.read_bytes()
    kind = binary_kind(data[:16])
    if kind is not None:
        raise InputError(f"this is {kind}, not a landmark file{media_hint(kind)}", path)
    if data.startswith(codecs.BOM_UTF8):
        data = data[len(codecs.BOM_UTF8):]
    if complete and _ASCII_NONSPACE.search(data) is None:
        raise InputError("empty file", path)
    source = TextSource(Path(path), data, complete)
    if not data.isascii():
        try:
            source._decoded = data.decode("utf-8")
        except UnicodeDecodeError as err:
            line = data.count(b"\n", 0, err.start) + 1
            kind = ("a binary file, not text" if data[:8].startswith((b"\x89PNG", b"PK\x03\x04",
                                                                        b"\x93NUMPY", b"MATLAB"))
                    else "not UTF-8 text")
            raise InputError(
                f"{kind} (byte 0x{data[err.start]:02x} at offset {err.start}); "
                + ("not a landmark table" if kind.startswith("a binary") else
                   "save the file as UTF-8"), path, line) from None
    if b"\x00" in data:
        text = source.text
        at = text.index("\x00")
        raise InputError(f"holds a NUL byte (offset {at}): not a landmark text file", path,
                         text.count("\n", 0, at) + 1)
    return source


def read_text(path: Path) -> str:
    """Decode a file as UTF-8 (a BOM is allowed); the errors of :func:`read_source`."""
    return read_source(path).text


def check_point_count(path: Path, n: int, what: str, line: int | None = None,
                      required: int | None = None) -> str:
    """The layout name ('68', '66', '49') of ``n`` points, else InputError."""
    allowed = (required,) if required else POINT_COUNTS
    if n not in allowed:
        names = [str(a) for a in allowed]
        expected = names[0] if len(names) == 1 else ", ".join(names[:-1]) + " or " + names[-1]
        raise InputError(f"{what} has {n} points; expected {expected}", path, line)
    return str(n)


def split_fields(line: str, sep: str | None) -> list[str]:
    """Fields of one line (``sep`` None = runs of whitespace), stripped."""
    if sep is None:
        return line.split()
    return [f.strip() for f in next(csv.reader([line], delimiter=sep, skipinitialspace=True))]


def guess_separator(line: str) -> str | None:
    """',' or tab when present in ``line``, else None (whitespace)."""
    if "," in line:
        return ","
    if "\t" in line:
        return "\t"
    if ";" in line:
        return ";"
    return None


def is_numeric_line(fields: list[str]) -> bool:
    try:
        for f in fields:
            float(f)
    except ValueError:
        return False
    return bool(fields)


@dataclass
class TextTable:
    """A delimited text table: optional header, data lines and their 1-based line numbers."""

    path: Path
    columns: list[str] | None
    lines: list[str]
    line_no: np.ndarray
    sep: str | None

    @property
    def n_rows(self) -> int:
        return len(self.lines)

    @property
    def n_columns(self) -> int:
        if self.columns is not None:
            return len(self.columns)
        return len(split_fields(self.lines[0], self.sep)) if self.lines else 0

    def column_name(self, j: int) -> str:
        return self.columns[j] if self.columns is not None else f"column {j + 1}"

    def error(self, message: str, row: int | None = None, col: int | None = None) -> InputError:
        """An InputError located at data row ``row`` and column index ``col``."""
        line = None if row is None else int(self.line_no[row])
        field = None if col is None else self.column_name(col)
        return InputError(message, self.path, line, field)

    def index(self, name: str, required: bool = True) -> int | None:
        """Column index of ``name`` (case-sensitive), None or InputError when absent."""
        if self.columns is not None and name in self.columns:
            return self.columns.index(name)
        if required:
            raise InputError(f"missing column {name!r}", self.path, 1)
        return None

    def check_column_counts(self) -> None:
        """InputError naming the first line whose number of fields differs from the header."""
        n = self.n_columns
        quoted = any('"' in ln for ln in self.lines)
        if self.sep is None:
            counts = np.fromiter((len(ln.split()) for ln in self.lines), dtype=np.int64,
                                 count=len(self.lines))
        elif quoted:
            counts = np.fromiter((len(split_fields(ln, self.sep)) for ln in self.lines),
                                 dtype=np.int64, count=len(self.lines))
        else:
            counts = np.fromiter((ln.count(self.sep) + 1 for ln in self.lines), dtype=np.int64,
                                 count=len(self.lines))
        bad = np.flatnonzero(counts != n)
        if bad.size:
            r = int(bad[0])
            raise self.error(f"{counts[r]} fields, expected {n} (as in the first line)", r)

    def floats(self, cols: list[int] | np.ndarray) -> np.ndarray:
        """Float values of the given columns, shape (n_rows, len(cols)); empty fields are NaN.

        Raises InputError naming line and column of the first value that is not a number.
        """
        cols = [int(c) for c in cols]
        if not self.lines:
            return np.empty((0, len(cols)))
        text = self._text()
        if '"' not in text:
            try:
                return np.loadtxt(io.StringIO(text), delimiter=self.sep, usecols=cols,
                                  dtype=np.float64, ndmin=2, comments=None)
            except ValueError:
                pass  # locate the culprit below
        return self._floats_slow(cols)

    def _text(self) -> str:
        """The data lines joined, empty fields written as ``nan`` (computed once)."""
        cached = getattr(self, "_joined", None)
        if cached is None:
            cached = "\n".join(self.lines)
            if self.sep == "," and _has_empty_field(cached):
                cached = _EMPTY_FIELD.sub(r"\1nan", cached)
            self._joined = cached
        return cached

    def float_groups(self, groups: list[list[int]],
                     orders: list[list[int] | None] | None = None) -> list[np.ndarray]:
        """:meth:`floats` of the columns of all ``groups`` (in that order: the order errors
        are looked for in), returned as one C-ordered array of shape (n_rows, len(group))
        per group, its columns in ``groups[i]`` order or permuted by ``orders[i]``."""
        values = self.floats([c for g in groups for c in g])
        bounds = np.cumsum([0] + [len(g) for g in groups])
        orders = orders or [None] * len(groups)
        return [np.ascontiguousarray(values[:, a:b] if o is None else values[:, a:b][:, o])
                for a, b, o in zip(bounds[:-1], bounds[1:], orders)]

    def _floats_slow(self, cols: list[int]) -> np.ndarray:
        out = np.empty((len(self.lines), len(cols)))
        for r, ln in enumerate(self.lines):
            fields = split_fields(ln, self.sep)
            for k, c in enumerate(cols):
                if c >= len(fields):
                    raise self.error(f"{len(fields)} fields, expected {self.n_columns}", r)
                value = fields[c]
                if value == "":
                    out[r, k] = np.nan
                    continue
                try:
                    out[r, k] = strict_float(value)
                except ValueError:
                    raise self.error(f"not a number: {value!r}", r, c) from None
        return out

    def strings(self, col: int) -> list[str]:
        """The raw (stripped) values of one column."""
        if self.sep is not None and not any('"' in ln for ln in self.lines):
            return [ln.split(self.sep)[col].strip() for ln in self.lines]
        return [split_fields(ln, self.sep)[col] for ln in self.lines]

    def check_finite(self, values: np.ndarray, cols: list[int] | np.ndarray,
                     rows: np.ndarray | None = None, what: str = "coordinate") -> None:
        """InputError at the first NaN/inf in ``values`` (restricted to ``rows`` if given)."""
        rows = None if rows is None else np.asarray(rows, dtype=bool)
        step = 8192  # rows per block: no temporary as large as ``values``
        for r0 in range(0, len(values), step):
            with np.errstate(invalid="ignore"):
                ok = np.abs(values[r0:r0 + step]) <= LIMITS.magnitude  # False for NaN, inf
            if rows is not None:
                ok |= ~rows[r0:r0 + step, None]
            if ok.all():
                continue
            r, k = np.argwhere(~ok)[0]
            r += r0
            raise self.error(f"{what} is {values[r, k]} (a number is required)", int(r), int(cols[k]))


#: Use the fast pandas path of :func:`load_table` where it applies (tests switch it off to
#: compare with the strict path).
FAST_PATH = True
#: Columns read as strings by the readers (parsed along with the numbers on the fast path).
ID_COLUMNS = ("subject", "sequence", "Identity")


class FastTable(TextTable):
    """A :class:`TextTable` of a plain comma-separated file, parsed by pandas' C parser.

    Built by :func:`load_table` only after :func:`~._fastcsv.plain_bytes` and
    :func:`~._fastcsv.row_starts` have proved that its lines are those the strict path
    would find (so ``line_no`` and ``check_column_counts`` agree). Whenever pandas cannot
    give the strict result (see :mod:`._fastcsv`), the methods hand over to the strict
    table, built on first need.
    """

    def __init__(self, path: Path, source: TextSource | str, columns: list[str] | None,
                 data: bytes, rows: tuple[np.ndarray, bool], n_fields: int, header: bool) -> None:
        starts, self._spaces = rows
        self.path = Path(path)
        self.columns = columns
        self.sep = ","
        self.line_no = np.arange(len(starts) - 1, dtype=np.int64) + (2 if header else 1)
        self._source = source
        self._data = data
        self._starts = starts
        self._n_fields = n_fields
        self._header = header
        self._strings: dict[int, list[str]] = {}
        self._strict_table: TextTable | None = None

    def _strict(self) -> TextTable:
        if self._strict_table is None:
            text = self._source.text if isinstance(self._source, TextSource) else self._source
            self._strict_table = _load_table_strict(self.path, text, self._header)
        return self._strict_table

    @property
    def lines(self) -> list[str]:  # type: ignore[override]
        return self._strict().lines

    @property
    def n_rows(self) -> int:
        return len(self._starts) - 1

    @property
    def n_columns(self) -> int:
        return self._n_fields

    def check_column_counts(self) -> None:
        """Nothing to do: every line was checked to hold ``n_columns`` fields."""

    def floats(self, cols: list[int] | np.ndarray) -> np.ndarray:
        return self.float_groups([[int(c) for c in cols]])[0]

    def float_groups(self, groups: list[list[int]],
                     orders: list[list[int] | None] | None = None) -> list[np.ndarray]:
        from dfecs_app.io.readers._fastcsv import parse_columns

        groups = [[int(c) for c in g] for g in groups]
        orders = orders or [None] * len(groups)
        laid_out = [g if o is None else [g[k] for k in o] for g, o in zip(groups, orders)]
        flat = {c for g in groups for c in g}
        ids = [j for name in ID_COLUMNS if (j := self.index(name, required=False)) is not None]
        parsed = parse_columns(self._data, self._starts, laid_out,
                               [j for j in ids if j not in flat], self._spaces)
        if parsed is None:
            return self._strict().float_groups(groups, orders)
        self._strings.update(parsed[1])
        return parsed[0]

    def strings(self, col: int) -> list[str]:
        from dfecs_app.io.readers._fastcsv import parse_columns

        if col not in self._strings:
            parsed = parse_columns(self._data, self._starts, [], [col], self._spaces)
            if parsed is None:
                return self._strict().strings(col)
            self._strings.update(parsed[1])
        return list(self._strings[col])


def load_table(path: Path, text: TextSource | str, header: bool) -> TextTable:
    """Split ``text`` into header and data lines (blank lines skipped).

    Plain comma-separated files get a :class:`FastTable` (same results, parsed by pandas);
    everything else (and everything when ``FAST_PATH`` is False) the strict table.
    """
    if FAST_PATH:
        table = _fast_table(path, text, header)
        if table is not None:
            return table
    return _load_table_strict(path, text.text if isinstance(text, TextSource) else text, header)


def _fast_table(path: Path, text: TextSource | str, header: bool) -> FastTable | None:
    from dfecs_app.io.readers._fastcsv import checked_rows, plain_bytes

    if isinstance(text, TextSource):
        data = text.data
    else:
        try:
            data = text.encode("utf-8")
        except UnicodeEncodeError:
            return None
    nl = data.find(b"\n")
    if nl < 0:
        return None
    first_bytes = data[:nl]
    if first_bytes.endswith(b"\r"):
        first_bytes = first_bytes[:-1]
    if (not first_bytes.strip() or b"," not in first_bytes
            or not plain_bytes(data[:nl + 1].replace(b'"', b""))):  # split_fields unquotes
        return None
    first = first_bytes.decode("utf-8")
    if not first.strip():
        return None
    columns = split_fields(first, ",") if header else None
    n_fields = len(columns) if header else first.count(",") + 1
    rows = checked_rows(data, nl + 1 if header else 0, n_fields)
    if rows is None:
        return None
    return FastTable(Path(path), text, columns, data, rows, n_fields, header)


def _load_table_strict(path: Path, text: str, header: bool) -> TextTable:
    """The strict :func:`load_table`: lines by ``str.splitlines``, numbers by ``np.loadtxt``
    (row by row to name the culprit)."""
    raw = text.splitlines()
    keep = [i for i, ln in enumerate(raw) if ln.strip()]
    if not keep:
        raise InputError("empty file", path)
    first = raw[keep[0]]
    sep = guess_separator(first)
    columns = None
    if header:
        columns = split_fields(first, sep)
        keep = keep[1:]
        if not keep:
            raise InputError("no data rows after the header", path, 1)
    lines = [raw[i] for i in keep]
    table = TextTable(Path(path), columns, lines, np.asarray(keep, dtype=np.int64) + 1, sep)
    table.check_column_counts()
    return table


def landmark_columns(table: TextTable, required: int | None = None) -> tuple[str, list[int]]:
    """Layout and column indices ``[x_0..x_{N-1}, y_0..y_{N-1}]`` of a header table.

    Raises NotLandmarkData when there are no ``x_i``/``y_i`` columns, InputError when they
    are inconsistent or of an unsupported count (e.g. 67 points).
    """
    assert table.columns is not None
    xs = {int(m.group(1)): j for j, c in enumerate(table.columns) if (m := _X_COL.match(c))}
    ys = {int(m.group(1)): j for j, c in enumerate(table.columns) if (m := _Y_COL.match(c))}
    if not xs and not ys:
        raise NotLandmarkData("no landmark columns x_0.., y_0.. in the header", table.path, 1)
    if set(xs) != set(ys):
        missing = sorted(set(xs) ^ set(ys))
        raise InputError(f"x_i and y_i columns do not match (unpaired index {missing[0]})",
                         table.path, 1)
    n = len(xs)
    if set(xs) != set(range(n)):
        gap = min(set(range(n)) - set(xs))
        raise InputError(f"landmark columns are not numbered 0..{n - 1} (x_{gap} missing)",
                         table.path, 1)
    layout = check_point_count(table.path, n, "the header", 1, required)
    return layout, [xs[i] for i in range(n)] + [ys[i] for i in range(n)]


class NeedMoreText(Exception):
    """The head of a file (``read_source(..., head=...)``) does not decide; read it all."""


def _head_text(text: TextSource | str, size: int) -> tuple[str, bool]:
    """A prefix of ``text`` ending at a line break (or all of it) and whether it is all."""
    if isinstance(text, str):
        if len(text) <= size:
            return text, True
        cut = text.rfind("\n", 0, size)
        return (text[:cut + 1], False) if cut >= 0 else _head_text(text, size * 4)
    data = text.data
    if len(data) <= size:
        return text.text, text.complete
    cut = data.rfind(b"\n", 0, size)
    if cut < 0:
        return _head_text(text, size * 4)
    return data[:cut + 1].decode("utf-8"), False


def _grow(text: TextSource | str, size: int) -> None:
    """NeedMoreText when the first ``size`` characters were all of a file's head."""
    if isinstance(text, TextSource) and not text.complete and size >= len(text.data):
        raise NeedMoreText


def first_line(text: TextSource | str) -> str | None:
    """The first non-blank line of ``text`` as ``str.splitlines`` finds it (None if none),
    looking only at as much of the text as needed."""
    size = 1 << 16
    while True:
        head, whole = _head_text(text, size)
        line = next((ln for ln in head.splitlines() if ln.strip()), None)
        if line is not None or whole:
            return line
        _grow(text, size)
        size *= 4


def text_start(text: TextSource | str, n: int = 32) -> str:
    """The first ``n`` characters of ``text.lstrip()``, from as little of the text as needed."""
    size = 1 << 16
    while True:
        head, whole = _head_text(text, size)
        start = head.lstrip()
        if start or whole:
            return start[:n]
        _grow(text, size)
        size *= 4


def full_text(text: TextSource | str) -> str:
    """All of ``text`` (NeedMoreText for the head of a file)."""
    if isinstance(text, str):
        return text
    if not text.complete:
        raise NeedMoreText
    return text.text


def sniff(path: Path, text: TextSource | str) -> tuple[str, int | None, int]:
    """Classify a text file by content.

    Returns
    -------
    kind : {'header', 'points', 'rows'}
        A header line; lines of exactly two numbers (one frame per file); or rows of more
        numbers (one frame per row).
    n_lines : int or None
        Number of non-blank lines (counted for 'points' only; None otherwise).
    n_fields : int
        Fields in the first line.
    """
    first = first_line(text)
    if first is None:
        raise InputError("empty file", path)
    sep = guess_separator(first)
    fields = split_fields(first, sep)
    if not is_numeric_line(fields):
        return "header", None, len(fields)
    if len(fields) == 2:
        return "points", sum(1 for ln in full_text(text).splitlines() if ln.strip()), 2
    if len(fields) < 2:
        raise NotLandmarkData("not landmark data (one number per line)", path, 1)
    return "rows", None, len(fields)
