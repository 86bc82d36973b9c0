"""Model files: NPZ + JSON meta, versioned, no pickles; VE over present keypoints."""

from __future__ import annotations

import json

import numpy as np
import pytest

from dfecs_app.core.aumodel import AUModel
from dfecs_app.core.metrics import sample_variance_explained, variance_explained
from dfecs_app.errors import FormatVersionError, InputError
from dfecs_app.io.model_file import load_model, save_model


def _model(q=4, kind="dfecs"):
    rng = np.random.default_rng(0)
    return AUModel(components=rng.normal(size=(q, 136)), kind=kind, meta={"beta": 0.05, "parts": {"lips": {"k": 3}}},
                   arrays={"A": rng.random((5, q))})


def test_round_trip_without_pickles(tmp_path):
    m = _model()
    path = tmp_path / "m.npz"
    save_model(path, m)
    with np.load(path, allow_pickle=False) as npz:  # readable without pickles
        meta = json.loads(str(npz["meta"]))
        assert meta["format_version"] == 1 and meta["kind"] == "dfecs"
    back = load_model(path)
    np.testing.assert_array_equal(back.components, m.components)
    np.testing.assert_array_equal(back.arrays["A"], m.arrays["A"])
    assert back.meta == m.meta and back.names == m.names and back.content_hash() == m.content_hash()


def test_pca_names_follow_table_2():
    m = _model(q=4, kind="pca")
    assert m.names == ["Component 1 (+ve)", "Component 2 (+ve)", "Component 1 (−ve)", "Component 2 (−ve)"]


def test_other_format_version_is_refused(tmp_path):
    path = tmp_path / "m.npz"
    save_model(path, _model())
    with np.load(path, allow_pickle=False) as npz:
        arrays = {k: npz[k] for k in npz.files}
    meta = json.loads(str(arrays["meta"]))
    meta["format_version"] = 99
    arrays["meta"] = np.asarray(json.dumps(meta))
    np.savez(path, **arrays)
    with pytest.raises(FormatVersionError, match=r"m\.npz.*version 99"):
        load_model(path)


@pytest.mark.parametrize("content", [b"", b"not a zip at all"])
def test_garbage_is_a_clear_error(tmp_path, content):
    path = tmp_path / "bad.npz"
    path.write_bytes(content)
    with pytest.raises(InputError, match="bad.npz"):
        load_model(path)


def test_missing_file_and_plain_npy_array_are_clear_errors(tmp_path):
    with pytest.raises(InputError, match="no such file"):
        load_model(tmp_path / "none.npz")
    path = tmp_path / "array.npz"
    with open(path, "wb") as fh:
        np.save(fh, np.zeros((3, 136)))  # an NPY array under an .npz name
    with pytest.raises(InputError, match=r"array\.npz.*not a DFECS model file \(an NPY array"):
        load_model(path)


def test_missing_components_names_the_field(tmp_path):
    path = tmp_path / "x.npz"
    np.savez(path, X=np.zeros((3, 136)))
    with pytest.raises(InputError, match=r"\[components\]"):
        load_model(path)


def test_variance_explained_ignores_missing_keypoints():
    rng = np.random.default_rng(0)
    Y = rng.normal(size=(10, 136))
    Y_hat = Y.copy()
    Y_hat[:, 0] += 100.0  # error only on point 0 (x)
    mask = np.ones((10, 68), bool)
    assert variance_explained(Y, Y_hat) < 0
    mask[:, 0] = False
    assert variance_explained(Y, Y_hat, mask) == pytest.approx(100.0)
    # known answer: half the energy explained
    assert variance_explained(Y, 0.5 * Y) == pytest.approx(75.0)
    np.testing.assert_allclose(sample_variance_explained(Y, 0.5 * Y), 75.0)


def test_atomic_writes_follow_the_umask_and_keep_modes(tmp_path, monkeypatch):
    import stat

    from dfecs_app.io import atomic

    monkeypatch.setattr(atomic, "_UMASK", 0o022)  # the umask read at import
    new = tmp_path / "new.txt"
    atomic.write_text_atomic(new, "a")
    assert stat.S_IMODE(new.stat().st_mode) == 0o644  # not mkstemp's private 0600
    kept = tmp_path / "kept.txt"
    kept.write_text("x")
    kept.chmod(0o640)
    atomic.write_text_atomic(kept, "b")
    assert stat.S_IMODE(kept.stat().st_mode) == 0o640 and kept.read_text() == "b"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["kept.txt", "new.txt"]  # no temp left
