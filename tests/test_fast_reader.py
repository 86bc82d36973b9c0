"""The fast CSV path (pandas' C parser) gives exactly what the strict path gives.

Every test reads the same bytes twice, with ``_text.FAST_PATH`` on and off, and compares
bit-for-bit (points as bytes, masks, ids, notes) or the error (type, message, file, line,
field). Cases cover the real shared tracks, adversarial files (short and long rows, NA
tokens pandas knows, ``1_000``, Unicode line separators, quotes, control bytes, ...) and
fuzzed number tokens, through the small-file checks, the numba scan and the two-thread parse.
"""

from __future__ import annotations

import contextlib
import io
import random
from pathlib import Path

import numpy as np
import pytest

from dfecs_app.errors import InputError
from dfecs_app.io.readers import _fastcsv, _text, detect_format, read_landmarks
from dfecs_app.io.readers._text import FastTable, load_table, read_source

#: small files: pure-Python checks; kernel: the numba scan; threads: scan + 2-thread parse.
MODES = ("small", "kernel", "threads")


@contextlib.contextmanager
def mode(fast: bool, kind: str = "small"):
    saved = _text.FAST_PATH, _fastcsv.KERNEL_BYTES, _fastcsv.PARALLEL_BYTES
    _text.FAST_PATH = fast
    if kind in ("kernel", "threads"):
        _fastcsv.KERNEL_BYTES = 0
    if kind == "threads":
        _fastcsv.PARALLEL_BYTES = 0
    try:
        yield
    finally:
        _text.FAST_PATH, _fastcsv.KERNEL_BYTES, _fastcsv.PARALLEL_BYTES = saved


@contextlib.contextmanager
def strict_calls():
    """Count how often the strict table is built (the fast path's fallback)."""
    calls = []
    original = _text._load_table_strict

    def counting(*args, **kwargs):
        calls.append(args[0])
        return original(*args, **kwargs)

    _text._load_table_strict = counting
    try:
        yield calls
    finally:
        _text._load_table_strict = original


def outcome(paths, **kwargs):
    try:
        t = read_landmarks(paths, **kwargs)
    except InputError as err:
        return ("error", type(err).__name__, str(err), err.path, err.line, err.field)
    return ("table", t.points.tobytes(), t.mask.tobytes(), t.subject.tolist(),
            t.sequence.tolist(), t.frame.tolist(), t.source.tolist(), list(t.notes))


def assert_same(paths, kind: str = "small", expect_fast: bool | None = None, **kwargs):
    """Fast and strict outcome are identical; returns it. ``expect_fast``: the fast path
    must (True) or must not (False) have answered without the strict table."""
    with mode(False):
        strict = outcome(paths, **kwargs)
    with mode(True, kind), strict_calls() as calls:
        fast = outcome(paths, **kwargs)
    assert fast == strict
    if expect_fast is not None:
        assert (not calls) == expect_fast, calls
    return strict


# ---------------------------------------------------------------------------------------------
# Real tracks
# ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize("kind", MODES)
def test_real_tracks_identical(shared_data: Path, kind: str) -> None:
    tracks = shared_data / "tracks"
    files = [tracks / "single_face_dlib68.csv", tracks / "OpenFace_Test.csv",
             *sorted((tracks / "news_sample").glob("*.csv"))]
    for f in files:
        got = assert_same([f], kind, expect_fast=True)
        assert got[0] == "table" and len(got[4]) > 0
    assert_same(files, kind)


def test_real_values_bit_identical_to_loadtxt(shared_data: Path) -> None:
    path = shared_data / "tracks" / "OpenFace_Test.csv"
    text = path.read_text()
    table = load_table(path, read_source(path), header=True)
    assert isinstance(table, FastTable)
    cols = list(range(len(table.columns)))
    ref = np.loadtxt(io.StringIO(text), delimiter=",", skiprows=1, comments=None, ndmin=2)
    assert table.floats(cols).tobytes() == ref.tobytes()


# ---------------------------------------------------------------------------------------------
# Adversarial generic CSVs
# ---------------------------------------------------------------------------------------------
HEADER = ",".join(["subject", "sequence", "frame"] + [f"x_{i}" for i in range(68)]
                  + [f"y_{i}" for i in range(68)])


def base_rows(n: int = 6, seed: int = 0) -> list[list[str]]:
    rng = np.random.default_rng(seed)
    angle = np.linspace(0, 2 * np.pi, 68, endpoint=False)
    rows = []
    for r in range(n):
        x = 300 + 100 * np.cos(angle) + rng.normal(0, 0.3, 68)
        y = 250 + 120 * np.sin(angle) + rng.normal(0, 0.3, 68)
        rows.append([f"p{r % 2}", f"s{r // 3}", str(r)] + [repr(float(v)) for v in (*x, *y)])
    return rows


def write(tmp_path: Path, name: str, rows: list[list[str]] | None = None, *, header=HEADER,
          sep: str = ",", end: str = "\n", raw: str | None = None) -> Path:
    if raw is None:
        lines = ([header] if header is not None else []) + [sep.join(r) for r in (rows or base_rows())]
        raw = end.join(lines) + end
    path = tmp_path / name
    path.write_bytes(raw.encode("utf-8"))
    return path


COORD_TOKENS = ["", " ", "  ", "\t", " \t", "nan", "NaN", "-nan", "NA", "N/A", "NULL", "#N/A",
                "1_000", "0x10", "0x1p3", "+1.5", "-0", "-0.0", "1e999", "-1e999", "inf", "-Infinity",
                "1e-400", " 1.5", "1.5 ", "1.5\t", "\t1.5", "1.5e", "e5", "--1", "1d5", "1.2.3",
                "\uff11", "\u0663", "1.5\u00a0", "\u00a01.5", "1e13", "123456789012345678901234567890",
                "0.1000000000000000055511151231257827", ".5", "5.", "00012", "1E+05", "'1'",
                '"1.5"', "1.5\x0c", "1.5\x0b", "1.5\x1c", "1.5\x7f"]


@pytest.mark.parametrize("token", COORD_TOKENS)
def test_coordinate_tokens(tmp_path: Path, token: str) -> None:
    rows = base_rows()
    rows[2][10] = token
    path = write(tmp_path, "g.csv", rows)
    for kind in ("small", "kernel"):
        assert_same([path], kind)


@pytest.mark.parametrize("token", ["", " ", "\t", " a b ", "nan", "NA", "Jürgen", "a\u00a0",
                                   "x\u2028y", "x\x85y", "x\x1dy", "x\ry", '"q"', "x'y", "#a"])
def test_id_tokens(tmp_path: Path, token: str) -> None:
    rows = base_rows()
    rows[1][0] = token
    rows[4][1] = token
    path = write(tmp_path, "g.csv", rows)
    for kind in ("small", "kernel"):
        assert_same([path], kind)


def _short(rows, r):
    rows[r] = rows[r][:-1]


def _long(rows, r):
    rows[r] = rows[r] + ["1.0"]


STRUCTURE = {
    "short row": lambda rows: _short(rows, 3),
    "long row": lambda rows: _long(rows, 3),
    "short and long": lambda rows: (_short(rows, 2), _long(rows, 4)),
    "first long, later short": lambda rows: (_long(rows, 0), _short(rows, 5)),
    "trailing comma everywhere": lambda rows: [r.append("") for r in rows],
    "all coordinates empty": lambda rows: rows[3].__setitem__(slice(3, None), [""] * 136),
    "all coordinates spaces": lambda rows: rows[3].__setitem__(slice(3, None), [" "] * 136),
    "some coordinates empty": lambda rows: rows[3].__setitem__(slice(3, 50), [""] * 47),
    "frame not integer": lambda rows: rows[2].__setitem__(2, "2.5"),
    "frame empty": lambda rows: rows[2].__setitem__(2, ""),
    "huge value": lambda rows: rows[1].__setitem__(7, "1e13"),
}


@pytest.mark.parametrize("name", list(STRUCTURE))
def test_structure(tmp_path: Path, name: str) -> None:
    rows = base_rows()
    STRUCTURE[name](rows)
    path = write(tmp_path, "g.csv", rows)
    for kind in MODES:
        assert_same([path], kind)


def _lines() -> list[str]:
    return [HEADER] + [",".join(r) for r in base_rows()]


RAW = {
    "crlf": "\r\n".join(_lines()) + "\r\n",
    "no final newline": "\n".join(_lines()),
    "bare cr": "\r".join(_lines()) + "\r",
    "mixed cr": "\n".join(_lines()[:3]) + "\r" + "\n".join(_lines()[3:]) + "\n",
    "blank line": "\n".join(_lines()[:3] + [""] + _lines()[3:]) + "\n",
    "spaces line": "\n".join(_lines()[:3] + ["   "] + _lines()[3:]) + "\n",
    "tab line": "\n".join(_lines()[:3] + ["\t"] + _lines()[3:]) + "\n",
    "leading blank lines": "\n\n" + "\n".join(_lines()) + "\n",
    "trailing blank lines": "\n".join(_lines()) + "\n\n \n",
    "header only": HEADER + "\n",
    "header and blanks": HEADER + "\n\n\n",
    "bom": "\ufeff" + "\n".join(_lines()) + "\n",
    "line separator u2028": "\n".join(_lines()).replace(",2", ",\u20282", 1) + "\n",
    "line separator x85": "\n".join(_lines()).replace(",2", ",\x852", 1) + "\n",
    "vertical tab": "\n".join(_lines()).replace(",2", "\x0b,2", 1) + "\n",
    "form feed line": "\n".join(_lines()[:2]) + "\x0c" + "\n".join(_lines()[2:]) + "\n",
    "group separator": "\n".join(_lines()).replace(",2", ",\x1d2", 1) + "\n",
    "quoted header": '"subject",' + "\n".join(_lines())[8:] + "\n",
    "quoted field": "\n".join(_lines()).replace("\np1,", '\n"p1",', 1) + "\n",
    "quoted comma": "\n".join(_lines()).replace("\np1,s0,", '\n"p1,s0",', 1) + "\n",
    "header with tab": "\n".join(_lines()).replace("subject,", "subject\t,", 1) + "\n",
    "semicolons": "\n".join(ln.replace(",", ";") for ln in _lines()) + "\n",
    "tabs": "\n".join(ln.replace(",", "\t") for ln in _lines()) + "\n",
    "comment char": "\n".join(_lines()).replace("\np1,", "\n#p1,", 1) + "\n",
}


@pytest.mark.parametrize("name", list(RAW))
def test_raw_files(tmp_path: Path, name: str) -> None:
    assert RAW[name] != "\n".join(_lines()) + "\n"
    path = write(tmp_path, "g.csv", raw=RAW[name])
    for kind in MODES:
        assert_same([path], kind)


def test_plain_files_take_the_fast_path(tmp_path: Path) -> None:
    for name in ("crlf", "no final newline", "bom", "quoted header"):
        path = write(tmp_path, f"{name}.csv", raw=RAW[name])
        assert_same([path], expect_fast=True)
    for name in ("blank line", "bare cr", "quoted field", "line separator u2028"):
        path = write(tmp_path, f"{name}.csv", raw=RAW[name])
        assert_same([path], expect_fast=False)


@pytest.mark.parametrize("kind", MODES)
def test_headerless_rows(tmp_path: Path, kind: str) -> None:
    rows = [r[3:] for r in base_rows(8)]
    path = write(tmp_path, "rows.csv", rows, header=None)
    assert_same([path], kind, expect_fast=True)
    rows[3] = rows[3][:-1]
    assert_same([write(tmp_path, "short.csv", rows, header=None)], kind)


def test_openface_layouts(shared_data: Path, tmp_path: Path) -> None:
    src = (shared_data / "tracks" / "OpenFace_Test.csv").read_text()
    new = src.replace(", ", ",")  # the new layout's separators
    lines = new.splitlines()
    bad = lines[:5] + [lines[5].replace(",", ",,", 1)] + lines[6:]
    zero = lines[:7] + [lines[7].replace(", 1,", ", 0,", 1)] + lines[8:]
    for name, text in (("old.csv", src), ("new.csv", new), ("bad.csv", "\n".join(bad)),
                       ("low.csv", src.replace("0.98", "0.2"))):
        path = tmp_path / name
        path.write_text(text)
        assert_same([path])
        assert_same([path], "kernel")
    (tmp_path / "zero.csv").write_text("\n".join(zero))
    assert_same([tmp_path / "zero.csv"], min_confidence=0.9)


def test_track_without_faces(shared_data: Path, tmp_path: Path) -> None:
    lines = (shared_data / "tracks" / "single_face_dlib68.csv").read_text().splitlines()
    head = lines[0].split(",")
    first_xy = head.index("x_0")
    for r in (3, 10):
        f = lines[r].split(",")
        f[2] = "0"
        f[first_xy:] = [""] * (len(f) - first_xy)
        lines[r] = ",".join(f)
    path = tmp_path / "track.csv"
    path.write_text("\n".join(lines) + "\n")
    got = assert_same([path], expect_fast=True)
    assert any("dropped 2 of" in n for n in got[7])
    f = lines[5].split(",")
    f[first_xy + 4] = ""
    lines[5] = ",".join(f)
    path.write_text("\n".join(lines) + "\n")
    assert assert_same([path])[0] == "error"


# ---------------------------------------------------------------------------------------------
# Numbers: fuzzed tokens and bit identity of the values
# ---------------------------------------------------------------------------------------------
def _floats(path: Path, fast: bool, kind: str):
    with mode(fast, kind):
        try:
            table = load_table(path, read_source(path), header=True)
            return ("ok", table.floats([0, 1, 2]).tobytes())
        except InputError as err:
            return ("error", str(err))


def test_fuzzed_number_tokens(tmp_path: Path) -> None:
    rnd = random.Random(7)
    alphabet = "0123456789.eE+- _xnaifINFtyNA\t"
    tokens = {"".join(rnd.choice(alphabet) for _ in range(rnd.randint(1, 6))) for _ in range(300)}
    for i, token in enumerate(sorted(tokens)):
        path = tmp_path / f"t{i}.csv"
        path.write_text(f"a,b,c\n1,2,3\n4,{token},6\n7,8,9\n")
        strict = _floats(path, False, "small")
        assert _floats(path, True, "small") == strict, token
        assert _floats(path, True, "kernel") == strict, token


def test_values_bit_identical(tmp_path: Path) -> None:
    rng = np.random.default_rng(3)
    values = np.concatenate([rng.normal(300, 100, 3000), rng.uniform(-1, 1, 1000) * 10.0 ** rng.integers(-300, 300, 1000),
                             rng.normal(0, 1e-310, 200)])
    tokens = [repr(float(v)) for v in values] + [f"{v:.17g}" for v in values[:1000]]
    digits = rng.integers(0, 10, (600, 28))
    tokens += [f"{d[0]}{''.join(map(str, d[1:10]))}.{''.join(map(str, d[10:]))}" for d in digits]
    n = len(tokens) // 3 * 3
    rows = np.asarray(tokens[:n]).reshape(-1, 3)
    path = tmp_path / "v.csv"
    path.write_text("a,b,c\n" + "\n".join(",".join(r) for r in rows) + "\n")
    expect = np.array([[float(t) for t in r] for r in rows])
    ref = np.loadtxt(path, delimiter=",", skiprows=1, comments=None, ndmin=2)
    assert ref.tobytes() == expect.tobytes()
    for kind in MODES:
        with mode(True, kind):
            table = load_table(path, read_source(path), header=True)
            assert isinstance(table, FastTable)
            assert table.floats([0, 1, 2]).tobytes() == expect.tobytes(), kind


# ---------------------------------------------------------------------------------------------
# detect_format
# ---------------------------------------------------------------------------------------------
def test_detect_format_head_only(shared_data: Path, tmp_path: Path) -> None:
    tracks = shared_data / "tracks"
    for f in [tracks / "single_face_dlib68.csv", tracks / "OpenFace_Test.csv",
              tracks / "news_sample" / "001.csv", shared_data / "pts" / "breakingbad.pts"]:
        assert detect_format(f, head_only=True) == detect_format(f)
    # a big track whose end is broken: the head decides, the full check refuses
    big = tmp_path / "big.csv"
    src = (tracks / "single_face_dlib68.csv").read_bytes()
    body = src.split(b"\n", 1)[1]
    big.write_bytes(src + body * 40 + b"\xff\xfe\n")
    assert detect_format(big, head_only=True) == "dfecs_track"
    with pytest.raises(InputError, match="not UTF-8"):
        detect_format(big)
    # a header longer than the head that is read first
    wide = tmp_path / "wide.csv"
    names = [f"c{i}" for i in range(20000)] + [f"x_{i}" for i in range(68)] + [f"y_{i}" for i in range(68)]
    wide.write_text(",".join(names) + "\n" + ",".join(["1"] * len(names)) + "\n")
    assert detect_format(wide, head_only=True) == detect_format(wide) == "csv"
    # point lists need every line: the head is not enough, the answer stays the same
    pts = tmp_path / "frame_0001.txt"
    pts.write_text(" " * 70000 + "\n" + "\n".join(f"{i} {i + 1}" for i in range(49)) + "\n")
    assert detect_format(pts, head_only=True) == detect_format(pts) == "bp4d"


def test_big_file_copy_identical(shared_data: Path, tmp_path: Path) -> None:
    """A track of > 8 MB (numba scan, two threads by default) reads as the strict path."""
    src = (shared_data / "tracks" / "single_face_dlib68.csv").read_bytes()
    head, body = src.split(b"\n", 1)
    path = tmp_path / "long.csv"
    with open(path, "wb") as fh:
        fh.write(head + b"\n")
        for _ in range(140):
            fh.write(body)
    assert path.stat().st_size > _fastcsv.PARALLEL_BYTES
    got = assert_same([path], expect_fast=True)
    assert len(got[5]) == 140 * 72


def test_scan_kernel_matches_python_checks() -> None:
    """The numba scan (8 bytes at a time) and the pure-Python checks agree on random bytes."""
    from dfecs_app.io.readers._scan_kernel import plain_row_starts

    rnd = random.Random(1)
    alphabet = b'0123456789.,,,\n\n\r\t "\x7f\x0b\x1c\xc2\x85\xe2\x80\xa8\xa9a'
    pieces = [b"1.5,2,3\n", b"4,5,6\n", b"7,8,9\r\n", b"1,2\n", b"12345678,9,0\n",
              b"1, 2, 3\n", b"abcdefgh, 1,2\n", b" 1,2,3\n"]
    for i in range(1500):
        tail = bytes(rnd.choice(alphabet) for _ in range(rnd.randint(0, 40)))
        data = b"".join(rnd.choice(pieces) for _ in range(rnd.randint(0, 12))) + tail[:rnd.randint(0, 40)]
        for n_fields in (2, 3, 4):
            for start in (0, min(3, len(data))):
                slow = (_fastcsv.row_starts(data, start, n_fields)
                        if _fastcsv.plain_bytes(data[start:]) else None)
                # split at line breaks, the parts scanned in threads (a pool per call: slow)
                for threads in (1, 2, 3) if i % 20 == 0 else (1,):
                    fast = plain_row_starts(data, start, n_fields, threads)
                    assert (fast is None) == (slow is None), (data, start, n_fields, threads)
                    if fast is not None:
                        assert fast[0].tolist() == slow.tolist(), (data, start, n_fields)
                        assert fast[1] == (b" " in data[start:]), (data, start, n_fields)


# ---------------------------------------------------------------------------------------------
# the numba number parser (_parse_kernel) against Python's float
# ---------------------------------------------------------------------------------------------
def _kernel_floats(tokens: list[str], threads: int = 2):
    """``parse_plain`` of one column of ``tokens`` (and an id column), or None."""
    from dfecs_app.io.readers._parse_kernel import parse_plain
    from dfecs_app.io.readers._scan_kernel import plain_row_starts

    data = ("\n".join(f"{t},id{i % 7}" for i, t in enumerate(tokens)) + "\n").encode()
    rows = plain_row_starts(data, 0, 2)
    assert rows is not None
    parsed = parse_plain(data, rows[0], [[0]], [1], threads)
    if parsed is not None:
        assert parsed[1][1] == [f"id{i % 7}" for i in range(len(tokens))]
        return parsed[0][0][:, 0]
    return None


def _decimal_ties(rng: np.random.Generator, n: int) -> list[str]:
    """Exact decimal expansions of points halfway between two adjacent doubles."""
    out = []
    for _ in range(n):
        m = int(rng.integers(2**52, 2**53))
        e = int(rng.integers(-40, 40))
        num, k = (2 * m + 1) * 2 ** max(e - 1, 0), max(1 - e, 0)  # the tie is num / 2**k
        digits = str(num * 5**k)
        out.append(digits if k == 0 else (digits[:-k] or "0") + "." + digits[-k:].rjust(k, "0"))
    return out


@pytest.mark.slow
def test_parse_kernel_rounds_as_float() -> None:
    """Bit-identical to ``float`` on repr/%.17g/%.20f numbers over the whole exponent range,
    exact ties (to even), 20-25 digit mantissas, leading zeros, signs and exponents."""
    import dfecs_app.io.readers._parse_kernel as pk

    rng = np.random.default_rng(11)
    values = np.concatenate([rng.normal(300, 100, 40000), rng.standard_normal(20000) * 1e-4,
                             rng.uniform(-1, 1, 40000) * 10.0 ** rng.integers(-307, 308, 40000)])
    tokens = ([repr(float(v)) for v in values] + [f"{v:.17g}" for v in values[::4]]
              + [f"{v:.20f}" for v in values[:5000]] + [f"{v:.16E}" for v in values[::8]])
    rnd = random.Random(5)
    for _ in range(30000):
        d = "".join(rnd.choice("0123456789") for _ in range(rnd.randint(1, 25)))
        p = rnd.randint(0, len(d))
        t = rnd.choice(["", "-", "+"]) + (d[:p] + "." + d[p:] if rnd.random() < 0.8 else d)
        tokens.append(t + (f"e{rnd.randint(-340, 280)}" if rnd.random() < 0.5 else ""))
    tokens += _decimal_ties(rng, 3000) + ["0", "-0", "-0.0", "000.000", "0e5", ".5", "5.", "00012",
                                          "9007199254740993", "9007199254740992.5", "1E+05", "1e-5"]
    expect = np.array([float(t) for t in tokens])
    saved = pk.MAX_HARD
    pk.MAX_HARD = len(tokens)  # the ties are left to Python; here all of them may be
    try:
        got = _kernel_floats(tokens)
    finally:
        pk.MAX_HARD = saved
    assert got is not None
    bad = np.flatnonzero(got.view(np.int64) != expect.view(np.int64))
    assert bad.size == 0, [tokens[i] for i in bad[:5]]


def test_parse_kernel_leaves_few_numbers_to_python() -> None:
    """Ordinary numbers (repr of coordinates, 0-3 decimals) never reach Python's float."""
    import dfecs_app.io.readers._parse_kernel as pk

    rng = np.random.default_rng(2)
    v = rng.normal(300, 100, 20000)
    tokens = [repr(float(x)) for x in v] + [f"{x:.3f}" for x in v] + [str(int(x)) for x in v]
    saved = pk.MAX_HARD
    pk.MAX_HARD = 0  # any number left to Python ends the kernel
    try:
        got = _kernel_floats(tokens)
    finally:
        pk.MAX_HARD = saved
    assert got is not None and got.tobytes() == np.array([float(t) for t in tokens]).tobytes()


@pytest.mark.parametrize("token", ["nan", "inf", "-Infinity", "1_000", "0x10", "1.5e", "e5", ".",
                                   "--1", "1 2", "1.2.3", "1e999", "1.5\u00a0", "+"])
def test_parse_kernel_hands_over(token: str) -> None:
    """A field that is not a plain finite number: the kernel returns None (pandas, then the
    strict path decide), for one bad field among ordinary ones."""
    tokens = ["1.5"] * 50 + [token] + ["2.5"] * 50
    assert _kernel_floats(tokens, threads=1) is None


def test_parse_kernel_python_share_overflows(tmp_path: Path) -> None:
    """More near-ties than ``MAX_HARD``: the kernel gives up and the result is still exact."""
    import dfecs_app.io.readers._parse_kernel as pk

    ties = _decimal_ties(np.random.default_rng(4), 60)
    rows = base_rows()
    for r, t in zip(rows, ties):
        r[5] = t
    path = write(tmp_path, "ties.csv", rows)
    saved = pk.MAX_HARD
    pk.MAX_HARD = 3
    try:
        assert_same([path], "threads")
    finally:
        pk.MAX_HARD = saved


@pytest.mark.parametrize("kind", ("small", "kernel"))
def test_first_bad_value_in_planar_order(tmp_path: Path, kind: str) -> None:
    """Landmarks are parsed as [x0, y0, x1, ...]; errors still name the first bad value in
    the file's planar order x_0..x_67, y_0..y_67 (as the row-by-row check always did)."""
    rows = base_rows()
    rows[3][3 + 5] = ""  # x_5
    rows[3][3 + 68 + 2] = "inf"  # y_2: first in interleaved order, second in planar order
    got = assert_same([write(tmp_path, "g.csv", rows)], kind)
    assert got[0] == "error" and got[4] == 5 and got[5] == "x_5", got
