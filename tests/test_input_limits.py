"""Declared limits and schemas reach the user as one line: option bounds, memory figures, NPY
headers read before allocation, strict numbers, files named when many are given, and valid
inputs that used to be refused (a 68-point DISFA-style .mat, headerless x/y rows)."""

from __future__ import annotations

import io
import json

import numpy as np
import pytest
import scipy.io

from dfecs_app.cli.main import main
from dfecs_app.errors import InputError
from dfecs_app.io.npz import load_arrays
from dfecs_app.io.readers import read_landmarks
from dfecs_app.io.schema import LIMITS, ResourceError, check_bytes, validate
from dfecs_app.io.schemas import SessionFile, TrainParams


def _err(capsys, argv) -> str:  # noqa: ANN001
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err and len(err.strip().splitlines()) == 1, err
    return err


@pytest.mark.parametrize("argv, needle", [
    (["evaluate", "m.npz", "k.npz", "--alpha", "inf"], "[--alpha] must be a finite number"),
    (["evaluate", "m.npz", "k.npz", "--alpha", "nan"], "[--alpha] must be a finite number"),
    (["evaluate", "m.npz", "k.npz", "--alpha", "-1"], "[--alpha] must be >= 0"),
    (["evaluate", "m.npz", "k.npz", "--l1-max", "inf"], "[--l1-max] must be a finite number"),
    (["evaluate", "m.npz", "k.npz", "--l1-points", "100000000"], "[--l1-points] must be 2..10000"),
    (["evaluate", "m.npz", "k.npz", "--l1-points", "1e8"], "[--l1-points] must be a whole number"),
    (["ratings", "summary", "v.csv", "--n-boot", "-5"], "[--n-boot] must be 0..1000000"),
    (["ratings", "summary", "v.csv", "--seed", "-1"], "[--seed] must be 0..4294967295"),
    (["ratings", "summary", "v.csv", "--seed", "abc"], "[--seed] must be a whole number"),
    (["train", "k.npz", "--seed", "Infinity", "--out", "m.npz"], "[--seed] must be a whole number"),
    (["train", "k.npz", "--seed", "1_000", "--out", "m.npz"], "[--seed] must be a whole number"),
    (["track", "face.png", "--upsample", "8", "--out", "t.csv"], "[--upsample] must be 0..4"),
    (["baseline", "pca", "k.npz", "--ve", "nan", "--out", "m.npz"], "[--ve] must be a finite"),
])
def test_options_out_of_bounds_are_one_line(capsys, argv, needle) -> None:  # noqa: ANN001
    assert needle in _err(capsys, argv)


def test_memory_figures_are_stated_up_front(tmp_path) -> None:
    with pytest.raises(ResourceError, match=r"needs 9\.1 TiB; this machine allows"):
        check_bytes(10**10 * 1000, "the thing")
    # an NPY header claiming 10^10 rows: refused from the header, nothing allocated
    buf = io.BytesIO()
    np.lib.format.write_array_header_1_0(buf, {"descr": "<f8", "fortran_order": False,
                                               "shape": (10**10, 136)})
    (tmp_path / "big.npy").write_bytes(buf.getvalue() + b"\0" * 64)
    with pytest.raises(ResourceError, match=r"\[X\] array 'X' of shape \(10000000000, 136\) "
                                            r"float64 needs 9\.9 TiB"):
        load_arrays(tmp_path / "big.npy", allow_npy=True)
    obj = np.empty(1, dtype=object)
    np.save(tmp_path / "obj.npy", obj, allow_pickle=True)
    with pytest.raises(InputError, match="object arrays are refused"):
        load_arrays(tmp_path / "obj.npy", allow_npy=True)


def test_votes_with_a_huge_component_number_are_refused(tmp_path, capsys) -> None:  # noqa: ANN001
    votes = tmp_path / "v.csv"
    votes.write_text("component,rater,vote\n999999999,Ann,1\n")
    err = _err(capsys, ["ratings", "summary", str(votes)])
    assert "v.csv:2: [component] component number 999999999 is beyond" in err
    votes.write_text("component,rater,vote\n1,Ann,1\n2,ann ,0\n")
    assert "spelled 'Ann' elsewhere" in _err(capsys, ["ratings", "summary", str(votes)])
    votes.write_bytes(b"component,rater,vote\n1,Ann,1\n2,B\xe9a,0\n")
    err = _err(capsys, ["ratings", "summary", str(votes)])
    assert "v.csv:3:" in err and "byte 0xe9 at offset 32" in err


def test_params_q_is_bounded_and_strict() -> None:
    with pytest.raises(InputError, match=r"\[hfm\.q\] Input should be less than or equal to 10000"):
        validate(TrainParams, {"hfm": {"q": 10**6, "alpha_A": 0.1, "alpha_B": 0.1}}, None)
    with pytest.raises(InputError, match=r"\[hfm\.q\]"):
        validate(TrainParams, {"hfm": {"q": True, "alpha_A": 0.1, "alpha_B": 0.1}}, None)
    with pytest.raises(InputError, match=r"\[parts\.lips\.alpha\]"):
        validate(TrainParams, {"parts": {"lips": {"k": 2, "alpha": "0.5"}}}, None)


def test_session_schema_is_strict() -> None:
    doc = {"format": "dfecs-rating-session", "format_version": 1, "model": {},
           "components": ["a", "b"], "raters": [{"name": "A", "order": [1, 0]}], "votes": [],
           "closed": "false"}
    with pytest.raises(InputError, match=r"s\.json: \[closed\] must be true or false"):
        validate(SessionFile, doc, "s.json")
    doc.update(closed=False, seed=-3)
    with pytest.raises(InputError, match=r"\[seed\] must be an int 0"):
        validate(SessionFile, doc, "s.json")


def test_errors_name_the_degenerate_files_among_many(shared_data, tmp_path, capsys) -> None:  # noqa: ANN001
    from tests.malformed.corpus import _collinear_track

    track = (shared_data / "tracks" / "single_face_dlib68.csv").read_text()
    head = "\n".join(track.splitlines()[:4]) + "\n"
    a, b = tmp_path / "flat_a.csv", tmp_path / "flat_b.csv"
    a.write_text(_collinear_track(head))
    b.write_text(_collinear_track(head))
    err = _err(capsys, ["kpm", str(a), str(b), "--out", str(tmp_path / "k.npz")])
    assert "degenerate shapes" in err and "flat_a.csv" in err and "flat_b.csv" in err
    # beside a good file, the degenerate one is dropped with a note naming it
    assert main(["kpm", str(shared_data / "faces" / "single_face_frame0.pts"), str(a),
                 str(shared_data / "pts" / "einstein.pts"), "--out", str(tmp_path / "k.npz")]) == 0
    assert "flat_a.csv" in capsys.readouterr().out


def test_valid_inputs_that_were_refused(shared_data, tmp_path) -> None:
    pts = np.loadtxt(shared_data / "templates" / "neutral_face_coordinates.csv", delimiter=",",
                     skiprows=1)
    scipy.io.savemat(tmp_path / "disfa68.mat", {"pts": pts})
    table = read_landmarks(tmp_path / "disfa68.mat", format="disfa")
    assert table.mask.all() and np.allclose(table.points[0], pts)
    rows = tmp_path / "rows.csv"
    rows.write_text("\n".join(f"{x},{y}" for x, y in pts) + "\n")
    assert np.allclose(read_landmarks(rows).points[0], pts)


def test_strict_numbers_in_landmark_files(shared_data, tmp_path) -> None:
    lines = (shared_data / "faces" / "single_face_frame0.pts").read_text().splitlines()
    k = lines.index("{") + 1
    for bad in ("1_000", "١٢", "1e308"):
        out = lines[:k] + [f"{bad} 10.0"] + lines[k + 1:]
        (tmp_path / "f.pts").write_text("\n".join(out) + "\n")
        with pytest.raises(InputError, match=r"f\.pts:\d+"):
            read_landmarks(tmp_path / "f.pts")


def test_json_nested_too_deep_or_infinite(tmp_path) -> None:
    from dfecs_app.io.textfile import read_json_file

    (tmp_path / "d.json").write_text("[" * 100_000 + "]" * 100_000)
    with pytest.raises(InputError, match="nested too deeply"):
        read_json_file(tmp_path / "d.json")
    (tmp_path / "i.json").write_text(json.dumps({"a": 1}).replace("1", "1e400"))
    assert LIMITS.json_depth == 64
    with pytest.raises(InputError, match="beyond the finite numbers"):
        read_json_file(tmp_path / "i.json")
