"""The malformed-input corpus: real files from ``../shared/data`` (and files the app makes from
them), mutated by :mod:`tests.malformed.mutations`, each fed to every CLI command (and reader)
that reads that kind of file.

:func:`build_base` writes the good files once; :func:`cases` lists the cases; :func:`run_case`
runs one in-process through ``dfecs_app.cli.main.main`` and returns what went wrong.
"""

from __future__ import annotations

import contextlib
import io
import json
import shutil
import signal
import traceback
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from tests.malformed import mutations as mu

#: Families of input kinds: a swap inside a family may be valid input.
FAMILIES = {
    "track": "landmarks", "openface": "landmarks", "pyfeat": "landmarks", "pts": "landmarks",
    "xy": "landmarks", "npy": "landmarks", "mat": "landmarks",
    "kpm": "kpm", "model": "model", "facs_npz": "facs", "facs_csv": "facs",
    "open": "session", "closed": "session", "returned": "session", "votes": "votes",
    "params": "params", "png": "image", "mp4": "video", "project": "project", "pack": "pack",
}
SENTINEL = b"PREVIOUS OUTPUT - must survive a failed run\n"


@dataclass
class Slot:
    """One way a command reads a kind of file: ``argv`` with ``{BAD}``, ``{B}`` (base folder)
    and ``{D}`` (the case folder); ``outputs`` pre-exist in ``{D}`` and must survive;
    ``copies`` are base files copied into ``{D}`` (inputs the command may rewrite)."""

    command: str
    argv: list[str] | None = None
    #: other files a correct message may name instead (the file the bad one fails to match)
    may_name: tuple[str, ...] = ()
    #: slow when the input passes (training): field-level mutations skip it
    heavy: bool = False
    call: Callable[[Path], object] | None = None
    outputs: tuple[str, ...] = ()
    copies: tuple[str, ...] = ()


@dataclass
class Case:
    kind: str
    klass: str
    label: str
    slot: Slot
    bad_name: str
    write: mu.Writer
    must_fail: bool

    @property
    def id(self) -> str:
        return f"{self.slot.command}:{self.kind}:{self.label}"


@dataclass
class Outcome:
    code: int | None
    err: str
    problems: list[str] = field(default_factory=list)


# ---------------------------------------------------------------------------------------------
def build_base(shared: Path, base: Path) -> None:
    """Write the good inputs (from the shared real data) into ``base``."""
    from dfecs_app.cli.main import main
    from dfecs_app.io.au_vectors import read_au_npz
    from dfecs_app.io.model_file import load_model
    from dfecs_app.io.rating_pack import export_pack
    from dfecs_app.io.rating_session import RatingSession
    from dfecs_app.io.readers import read_landmarks

    base.mkdir(parents=True, exist_ok=True)
    track_lines = (shared / "tracks" / "single_face_dlib68.csv").read_text().splitlines()
    (base / "track.csv").write_text("\n".join(track_lines[:6]) + "\n")
    (base / "openface.csv").write_text(
        "\n".join((shared / "tracks" / "OpenFace_Test.csv").read_text().splitlines()[:5]) + "\n")
    (base / "pyfeat.csv").write_text(
        "\n".join((shared / "tracks" / "news_sample" / "001.csv").read_text().splitlines()[:5])
        + "\n")
    shutil.copy(shared / "faces" / "single_face_frame0.pts", base / "face.pts")
    shutil.copy(shared / "pts" / "einstein.pts", base / "einstein.pts")
    shutil.copy(shared / "templates" / "neutral_face_coordinates.csv", base / "xy.csv")
    shutil.copy(shared / "faces" / "single_face_frame0.png", base / "face.png")
    (base / "clip.mp4").write_bytes((shared / "videos" / "single_face.mp4").read_bytes()[:200_000])
    pts = read_landmarks(base / "face.pts").points[0]
    pts2 = read_landmarks(base / "einstein.pts").points[0]
    np.save(base / "lm.npy", np.stack([pts, pts2]))
    import scipy.io
    scipy.io.savemat(base / "face.mat", {"pts": pts})
    quiet = io.StringIO()
    with contextlib.redirect_stderr(quiet), contextlib.redirect_stdout(quiet):
        assert main(["kpm", str(shared / "tracks" / "single_face_dlib68.csv"), "--out",
                     str(base / "kpm.npz")]) == 0, quiet.getvalue()
        assert main(["baseline", "pca", str(base / "kpm.npz"), "--out",
                     str(base / "model.npz")]) == 0, quiet.getvalue()
    model = load_model(base / "model.npz")
    facs = read_au_npz(shared / "au_reference" / "pyfeat_aus_to_landmarks_2021_tables.npz")
    shutil.copy(shared / "au_reference" / "pyfeat_aus_to_landmarks_2021_tables.npz",
                base / "facs.npz")
    rows = ["name," + ",".join(f"v{i}" for i in range(136))]
    rows += [f"{n}," + ",".join(f"{v:.5f}" for v in c)
             for n, c in zip(facs.names[:4], facs.components[:4])]
    (base / "facs.csv").write_text("\n".join(rows) + "\n")
    names = list(model.names)
    votes = ["component,rater,vote,points"]
    for i, n in enumerate(names):
        for r in ("Ann", "Bob", "Cat"):
            votes.append(f"{n},{r},{'1' if (i + len(r)) % 2 else '0'},{'17 18' if i else ''}")
    (base / "votes.csv").write_text("\n".join(votes) + "\n")
    closed = RatingSession.create(base / "closed.json", model, ["Ann", "Bob"], seed=3)
    for c in range(model.n_components):
        closed.set_vote("Ann", c, True, points=[17, 18], artifact="lips", basis="UF1")
        closed.set_vote("Bob", c, c % 2 == 0)
    closed.close()
    session = RatingSession.create(base / "open.json", model, ["Ann", "Bob", "Cat"], seed=5,
                                   model_path=base / "model.npz")
    session.set_vote("Ann", 0, False, points=[48])
    pack = export_pack(session, "Bob", base / "pack", model=model, neutral_points=pts)
    returned = RatingSession.open(pack / "ratings.json")
    for c in range(model.n_components):
        returned.set_vote("Bob", c, True)
    shutil.copy(pack / "ratings.json", base / "returned.json")
    (base / "params.json").write_text(json.dumps(
        {"hfm": {"q": 2, "alpha_A": 0.1, "alpha_B": 0.1},
         "parts": {"lips": {"k": 2, "alpha": 0.5}}}))
    from dfecs_app.io.project import Dataset, ModelRef, Project, SessionRef, TestSet, save_project
    project = Project(name="corpus", datasets=[Dataset(name="news", paths=[base / "track.csv"])],
                      models=[ModelRef(name="pca", path=base / "model.npz", role="baseline")],
                      active_model="pca",
                      sessions=[SessionRef(name="s", path=base / "closed.json")],
                      test_sets=[TestSet(name="t", path=base / "kpm.npz")])
    save_project(base / "p.dfecs", project)


def _text(base: Path, name: str) -> str:
    return (base / name).read_text(encoding="utf-8")


def _npz(path: Path) -> dict[str, np.ndarray]:
    with np.load(path, allow_pickle=False) as z:
        return {k: z[k] for k in z.files}


# ---------------------------------------------------------------------------------------------
def slots() -> dict[str, list[Slot]]:
    from dfecs_app.io.project import load_project
    from dfecs_app.io.rating_pack import RatingPack

    kpm_out = ("out.npz",)
    lm = [Slot("kpm", ["kpm", "{BAD}", "--out", "{D}/out.npz"], outputs=kpm_out),
          Slot("kpm-many", ["kpm", "{B}/face.pts", "{BAD}", "{B}/einstein.pts",
                            "--out", "{D}/out.npz"], outputs=kpm_out)]
    neutral = Slot("ratings pack --neutral", ["ratings", "pack", "{D}/open.json", "--rater",
                                              "Cat", "--model", "{B}/model.npz", "--neutral",
                                              "{BAD}", "--out", "{D}/packdir"],
                   copies=("open.json",), outputs=("open.json",))
    session_open = [
        Slot("ratings close", ["ratings", "close", "{BAD}"]),
        Slot("ratings pack", ["ratings", "pack", "{BAD}", "--rater", "Cat", "--model",
                              "{B}/model.npz", "--neutral", "{B}/face.pts", "--out",
                              "{D}/packdir"]),
        Slot("ratings merge (session)", ["ratings", "merge", "{BAD}", "{B}/returned.json"],
             may_name=("returned.json",)),
        Slot("ratings summary (open)", ["ratings", "summary", "{BAD}", "--n-boot", "20"]),
    ]
    return {
        "track": lm, "openface": lm, "pyfeat": lm, "xy": [*lm, neutral],
        "pts": [*lm, neutral,
                Slot("baseline facs --from-landmarks",
                     ["baseline", "facs", "--from-landmarks", "{BAD}", "{B}/einstein.pts",
                      "--out", "{D}/out.npz"], outputs=kpm_out)],
        "npy": lm, "mat": lm,
        "kpm": [
            Slot("train", ["train", "{BAD}", "--params", "{B}/params.json", "--out",
                           "{D}/out.npz"], outputs=kpm_out, heavy=True),
            Slot("baseline pca", ["baseline", "pca", "{BAD}", "--out", "{D}/out.npz"],
                 outputs=kpm_out, heavy=True),
            Slot("evaluate (kpm)", ["evaluate", "{B}/model.npz", "{BAD}", "--curves",
                                    "{D}/out.csv"], outputs=("out.csv",)),
            Slot("compare --test", ["compare", "{B}/model.npz", "--test", "{BAD}", "--csv",
                                    "{D}/out.csv"], outputs=("out.csv",)),
            Slot("compare --train", ["compare", "{B}/model.npz", "--train", "{BAD}", "--csv",
                                     "{D}/out.csv"], outputs=("out.csv",)),
        ],
        "model": [
            Slot("evaluate (model)", ["evaluate", "{BAD}", "{B}/kpm.npz", "--curves",
                                      "{D}/out.csv"], outputs=("out.csv",)),
            Slot("compare (model)", ["compare", "{BAD}", "--train", "{B}/kpm.npz", "--csv",
                                     "{D}/out.csv"], outputs=("out.csv",)),
            Slot("ratings import --model", ["ratings", "import", "{B}/votes.csv", "--model",
                                            "{BAD}", "--out", "{D}/out.json", "--force"],
                 outputs=("out.json",)),
            Slot("ratings summary --model", ["ratings", "summary", "{B}/closed.json",
                                             "--model", "{BAD}", "--n-boot", "20"]),
            Slot("ratings pack --model", ["ratings", "pack", "{D}/open.json", "--rater", "Cat",
                                          "--model", "{BAD}", "--neutral", "{B}/face.pts",
                                          "--out", "{D}/packdir"], copies=("open.json",),
                 outputs=("open.json",)),
            Slot("ratings export --model", ["ratings", "export", "{B}/closed.json",
                                            "{D}/out.png", "--model", "{BAD}", "--neutral",
                                            "{B}/face.pts"], outputs=("out.png",)),
        ],
        "closed": [
            Slot("ratings summary", ["ratings", "summary", "{BAD}", "--n-boot", "20"]),
            Slot("ratings export", ["ratings", "export", "{BAD}", "{D}/out.csv"],
                 outputs=("out.csv",)),
        ],
        "open": session_open,
        "returned": [Slot("ratings merge", ["ratings", "merge", "{D}/open.json", "{BAD}"],
                          copies=("open.json",), outputs=("open.json",))],
        "votes": [
            Slot("ratings import", ["ratings", "import", "{BAD}", "--out", "{D}/out.json",
                                    "--force"], outputs=("out.json",)),
            Slot("ratings summary (csv)", ["ratings", "summary", "{BAD}", "--n-boot", "20"]),
            Slot("ratings import (model)", ["ratings", "import", "{BAD}", "--model",
                                            "{B}/model.npz", "--out", "{D}/out.json",
                                            "--force"], outputs=("out.json",)),
        ],
        "params": [Slot("train --params", ["train", "{B}/kpm.npz", "--params", "{BAD}",
                                           "--out", "{D}/out.npz"], outputs=kpm_out)],
        "facs_npz": [Slot("baseline facs", ["baseline", "facs", "{BAD}", "--out",
                                            "{D}/out.npz"], outputs=kpm_out)],
        "facs_csv": [Slot("baseline facs (csv)", ["baseline", "facs", "{BAD}", "--out",
                                                  "{D}/out.npz"], outputs=kpm_out)],
        "png": [Slot("ratings pack --image", ["ratings", "pack", "{D}/open.json", "--rater",
                                              "Cat", "--model", "{B}/model.npz", "--neutral",
                                              "{B}/face.pts", "--image", "{BAD}", "--out",
                                              "{D}/packdir"], copies=("open.json",),
                     outputs=("open.json",)),
                Slot("track (image)", ["track", "{BAD}", "--out", "{D}/out.csv"],
                     outputs=("out.csv",))],
        "mp4": [Slot("track (video)", ["track", "{BAD}", "--out", "{D}/out.csv"],
                     outputs=("out.csv",))],
        "project": [Slot("load_project", call=load_project)],
        "pack": [Slot("RatingPack", call=lambda p: RatingPack(p.parent),
                      may_name=("ratings.json",))],
    }


FILES = {"track": "track.csv", "openface": "openface.csv", "pyfeat": "pyfeat.csv",
         "pts": "face.pts", "xy": "xy.csv", "npy": "lm.npy", "mat": "face.mat",
         "kpm": "kpm.npz", "model": "model.npz", "closed": "closed.json", "open": "open.json",
         "returned": "returned.json", "votes": "votes.csv", "params": "params.json",
         "facs_npz": "facs.npz", "facs_csv": "facs.csv", "png": "face.png", "mp4": "clip.mp4",
         "project": "p.dfecs", "pack": "pack/pack.json"}
TEXT = {"track", "openface", "pyfeat", "pts", "xy", "votes", "facs_csv", "closed", "open",
        "returned", "params", "project", "pack"}
JSON_KINDS = {"closed", "open", "returned", "params", "project", "pack"}
NULLABLE = {("model", "hash"), ("model", "path"), ("session_id",), ("pack",),
            ("pack", "session_id"), ("hfm",), ("active_model",), ("name",)}


def _lenient(kind: str, doc: object) -> Callable[[tuple, str], bool]:
    """Fields whose mutation may leave a valid file."""
    def value_was_null(path: tuple) -> bool:
        cur = doc
        for p in path:
            cur = cur[p]
        return cur is None

    def lenient(path: tuple, label: str) -> bool:
        keys = tuple(p for p in path if not isinstance(p, int))
        if not keys:
            return False
        if keys[0] in ("app_version",) or (label == "null" and keys in NULLABLE):
            return True
        if value_was_null(path):
            return True
        if kind == "project":
            if keys[-1] in ("format", "params") and len(keys) > 1:
                return True  # free text / free-form options of a dataset
            if keys[-1] == "neutral" and label in ("int", "negative", "huge"):
                return label == "int"  # a frame number is a valid neutral
            return keys[0] not in ("format", "format_version", "datasets", "models",
                                   "training", "active_model", "name")
        if kind == "pack":
            if keys == ("model", "path") or keys == ("model", "kind") and label == "long":
                return True
            return keys[0] not in ("format", "format_version", "rater", "components",
                                   "neutral_points", "components_std", "scales", "model")
        if kind in ("open", "closed", "returned") and keys[0] == "pack" and kind != "returned":
            return True  # a session that is not a returned file may carry any pack value
        if kind == "closed" and keys[0] == "raters" and label == "negative":
            return False
        if kind == "params" and label in ("negative",) and keys[-1].startswith("alpha"):
            return False
        if keys[-1] in ("time", "created", "modified") and label == "long":
            return True  # free text without a length bound
        return False
    return lenient


def _mutations(kind: str, base: Path, others: dict[str, bytes]) -> Iterator[tuple[str, str, mu.Writer, bool]]:
    path = base / FILES[kind]
    data = path.read_bytes()
    text = kind in TEXT
    for label, w, f in mu.byte_mutations(data, text=text,
                                         truncation_fails=kind in JSON_KINDS | {
                                             "kpm", "model", "facs_npz", "png", "pts", "npy",
                                             "mat"}):
        yield "bytes", label, w, f
    for label, w, f in mu.swapped(others, FAMILIES[kind], FAMILIES):
        valid_swap = (kind, label) in {("votes", "swapped-closed"), ("facs_npz", "swapped-model"),
                                       ("facs_csv", "swapped-track")}
        yield "swapped-format", label, w, f and not valid_swap
    if kind in JSON_KINDS:
        doc = json.loads(data)
        for label, w, f in mu.json_mutations(doc, _lenient(kind, doc)):
            yield "json-field", label, w, f
    if kind == "kpm":
        arrays = _npz(path)
        for label, w, f in mu.npz_mutations(arrays, "X", {"X"}, checked={
                "X", "mask", "subject", "sequence", "frame", "meta"}):
            yield "npz-member", label, w, f
    if kind == "model":
        arrays = _npz(path)
        for label, w, f in mu.npz_mutations(arrays, "components", {"components", "meta"},
                                            checked={"components", "names", "meta"}):
            yield "npz-member", label, w, f
        mixed = dict(arrays)
        mixed["names"] = arrays["names"].reshape(1, -1)
        yield "npz-member", "names=2-d", mu.put_bytes(mu.npz_bytes(mixed)), True
    if kind == "facs_npz":
        arrays = _npz(path)
        for label, w, f in mu.npz_mutations(arrays, "delta_xy", {"delta_xy", "zero_xy"},
                                            meta_key=None):
            yield "npz-member", label, w, f
    if kind == "npy":
        for label, w, f in mu.npy_mutations(np.load(path)):
            yield "npy", label, w, f
    if kind in ("track", "openface", "pyfeat"):
        t = data.decode()
        header = t.splitlines()[0].replace(" ", "").split(",")
        cols = {"x_30": header.index("x_30"), "y_7": header.index("y_7")}
        if "frame" in header:
            cols["frame"] = header.index("frame")
        values = [*mu.BAD_NUMBERS, ("beyond-int64", "9223372036854775808")]
        for label, w, f in mu.csv_cell_mutations(
                t if kind != "openface" else t.replace(", ", ","), 2, cols, values,
                fails=lambda col, lab: col == "frame" or lab != "beyond-int64"):
            yield "csv-cell", label, w, f
        yield "geometry", "collinear", mu.put_bytes(_collinear_track(t).encode()), True
    if kind == "xy":
        t = data.decode()
        for label, w, f in mu.csv_cell_mutations(t, 5, {"x": 0, "y": 1}):
            yield "csv-cell", label, w, f
        lines = t.splitlines()
        yield "geometry", "collinear", mu.put_bytes(
            ("\n".join([lines[0]] + [f"{i},{i}" for i in range(68)]) + "\n").encode()), True
        yield "geometry", "one-spot", mu.put_bytes(
            ("\n".join([lines[0]] + ["5,5"] * 68) + "\n").encode()), True
    if kind == "pts":
        t = data.decode()
        lines = t.splitlines()
        k = lines.index("{") + 3
        for label, value in mu.BAD_NUMBERS:
            out = lines[:k] + [f"{value} 100.0"] + lines[k + 1:]
            yield "pts-value", label, mu.put_bytes(("\n".join(out) + "\n").encode()), True
    if kind == "votes":
        t = data.decode()
        for label, w, f in mu.csv_cell_mutations(
                t, 2, {"vote": 2, "points": 3},
                [("abc", "abc"), ("superscript", "²"), ("underscore", "1_0"), ("99", "99"),
                 ("long", "1" * 300_000), ("negative", "-1")]):
            yield "csv-cell", label, w, f
        lines = t.splitlines()
        huge = "component,rater,vote\n999999999,Ann,1\n"
        yield "csv-cell", "component=999999999", mu.put_bytes(huge.encode()), True
        yield "csv-cell", "component=²", mu.put_bytes(b"component,rater,vote\n\xc2\xb2,Ann,1\n"
                                                      b"1,Ann,0\n"), False
        yield "csv-cell", "rater-two-spellings", mu.put_bytes(
            (lines[0] + "\n" + lines[1] + "\n" + lines[1].replace("Ann", " ann")
             .replace(lines[1].split(",")[0], lines[4].split(",")[0]) + "\n").encode()), True
        yield "csv-cell", "duplicate-row", mu.put_bytes((t + lines[1] + "\n").encode()), True
    if kind == "facs_csv":
        t = data.decode()
        lines = t.splitlines()
        dup = lines[:3] + [lines[1]] + lines[3:]
        yield "csv-cell", "duplicate-au-name", mu.put_bytes(("\n".join(dup) + "\n").encode()), \
            True
        for label, w, f in mu.csv_cell_mutations(t, 2, {"v5": 6}):
            yield "csv-cell", label, w, f


def _collinear_track(text: str) -> str:
    """Every frame's points on one line (y = x): no frame can be standardized."""
    lines = text.splitlines()
    header = lines[0].replace(" ", "").split(",")
    xs = [header.index(f"x_{i}") for i in range(68)]
    ys = [header.index(f"y_{i}") for i in range(68)]
    out = [lines[0]]
    for ln in lines[1:]:
        cells = ln.replace(", ", ",").split(",")
        for i, (a, b) in enumerate(zip(xs, ys)):
            cells[a] = f"{100 + i}.0"
            cells[b] = f"{100 + i}.0"
        out.append(",".join(cells))
    return "\n".join(out) + "\n"


def cases(base: Path) -> list[Case]:
    """Every (mutation x slot) case of the corpus."""
    others = {k: (base / FILES[k]).read_bytes() for k in ("png", "kpm", "votes", "closed",
                                                          "track", "model", "params")}
    others = {k: v[:4096] if k == "png" else v for k, v in others.items()}
    out = []
    table = slots()
    for kind, kind_slots in table.items():
        name = Path(FILES[kind]).name
        turn = 0
        light = [s for s in kind_slots if not s.heavy] or kind_slots
        for klass, label, writer, must_fail in _mutations(kind, base, others):
            if klass in ROTATED:  # many field-level mutations: each through one reader in turn
                turn += 1
                if kind in SAMPLED and turn % SAMPLED[kind]:
                    continue  # the session schema is covered by "open": a sample
                chosen = [light[turn % len(light)]]
            else:  # file-level mutations reach every command that reads the kind
                chosen = kind_slots
            for slot in chosen:
                # beside good files a degenerate one is dropped with a note naming it
                fails = must_fail and not (klass == "geometry" and slot.command == "kpm-many")
                out.append(Case(kind, klass, label, slot, name, writer, fails))
    return out


#: Session files sharing the schema of "open", whose field mutations are sampled.
SAMPLED = {"open": 2, "closed": 3, "returned": 3}
#: Mutation classes spread over a kind's readers instead of crossed with all of them.
ROTATED = {"json-field", "npz-member", "csv-cell", "pts-value", "npy"}


# ---------------------------------------------------------------------------------------------
class _Hang(Exception):
    pass


def _alarm(signum, frame):  # noqa: ANN001
    raise _Hang


def _tmp_files(folder: Path) -> list[Path]:
    return [p for p in folder.rglob("*") if p.name.endswith(".tmp") or ".tmp" in p.suffixes]


def run_case(case: Case, base: Path, folder: Path, timeout: int = 10) -> Outcome:
    """Run one case in ``folder``; the returned problems are empty when all is well."""
    from dfecs_app.cli.main import main
    from dfecs_app.errors import DfecsError

    folder.mkdir(parents=True)
    if case.kind == "pack":
        shutil.copytree(base / "pack", folder / "pack")
        bad = folder / "pack" / "pack.json"
        bad.unlink()
    else:
        bad = folder / case.bad_name
    for name in case.slot.copies:
        shutil.copy(base / name, folder / name)
    for name in case.slot.outputs:
        if name not in case.slot.copies:
            (folder / name).write_bytes(SENTINEL)
    case.write(bad)
    before = {n: (folder / n).read_bytes() for n in case.slot.outputs}
    if bad.is_file() and not bad.is_symlink():
        before_bad = bad.read_bytes()
    else:
        before_bad = None
    err, out = io.StringIO(), io.StringIO()
    code: int | None = None
    problems: list[str] = []
    old = signal.signal(signal.SIGALRM, _alarm)
    signal.alarm(timeout)
    try:
        with contextlib.redirect_stderr(err), contextlib.redirect_stdout(out):
            if case.slot.call is not None:
                try:
                    case.slot.call(bad)
                    code = 0
                except DfecsError as e:
                    print(f"error: {e}", file=err)
                    code = 2
            else:
                argv = [a.replace("{BAD}", str(bad)).replace("{B}", str(base))
                        .replace("{D}", str(folder)) for a in case.slot.argv]
                code = main(argv)
    except _Hang:
        problems.append("hang")
    except BaseException as e:  # noqa: BLE001 - anything escaping is the defect we look for
        problems.append("traceback: " + "".join(
            traceback.format_exception_only(type(e), e)).strip()[:300])
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, old)
    text = err.getvalue()
    if "Traceback" in text:
        problems.append("traceback in stderr")
    failed = code not in (0, None)
    if case.must_fail and code == 0:
        problems.append("accepted (exit 0)")
    if failed:
        lines = [ln for ln in text.splitlines() if "error:" in ln]
        if len(lines) != 1:
            problems.append(f"{len(lines)} error lines")
        elif not any(n in lines[0] for n in (bad.name, *case.slot.may_name)):
            problems.append("message does not name the file")
        for n, data in before.items():
            now = (folder / n).read_bytes() if (folder / n).is_file() else None
            if now != data:
                problems.append(f"clobbered {n}")
        if before_bad is not None and bad.is_file() and bad.read_bytes() != before_bad:
            problems.append("clobbered the input")
    if _tmp_files(folder):
        problems.append("temporary files left")
    return Outcome(code, text, problems)
