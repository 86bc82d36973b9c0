"""The MIT 68-point frontalization weights ship inside the package: ``dfecs kpm`` works
offline by default, the shipped arrays are the published ones, and a damaged copy is refused."""

from __future__ import annotations

import shutil
import socket
import urllib.request

import numpy as np
import pytest

from dfecs_app.cli.main import main as cli_main
from dfecs_app.errors import MissingResourceError
from dfecs_app.io import frontalization_weights as FW
from dfecs_app.io.kpm_file import load_kpm
from dfecs_app.io.resources import resources_dir


class _NoNetwork(socket.socket):
    def __init__(self, *args, **kwargs):  # noqa: ANN002, ANN003
        raise OSError("network disabled by the test")


@pytest.fixture
def no_network(monkeypatch, tmp_path):
    """Sockets refuse to open, proxies point nowhere, no weights folder, an empty user cache."""
    monkeypatch.setattr(socket, "socket", _NoNetwork)
    monkeypatch.setattr(socket, "create_connection", _NoNetwork)
    for var in ("http_proxy", "https_proxy", "HTTP_PROXY", "HTTPS_PROXY"):
        monkeypatch.setenv(var, "http://127.0.0.1:9")
    monkeypatch.delenv(FW.ENV_VAR, raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "empty-cache"))
    with pytest.raises(OSError):  # the guard holds
        urllib.request.urlopen("https://github.com", timeout=1)


def test_shipped_arrays_are_the_published_files(shared_data, monkeypatch, tmp_path):
    monkeypatch.delenv(FW.ENV_VAR, raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    w = FW.load_frontalization_weights("68")
    assert w.source == "builtin:frontalization/frontalization_68.npz"
    assert w.sha256 == FW.SHA256["frontalization_weights_68.npy"]
    folder = shared_data / "frontalization"
    np.testing.assert_array_equal(w.W, np.load(folder / "frontalization_weights_68.npy"))
    np.testing.assert_array_equal(w.mean_face, np.load(folder / "landmarks_mean_face_68.npy"))
    licence = (FW.shipped_path().parent / "LICENSE-frontalization.txt").read_text()
    assert "MIT License" in licence and "Copyright (c) 2020 Vassilios Vonikakis" in licence


def test_the_env_folder_comes_before_the_shipped_copy(shared_data):
    w = FW.load_frontalization_weights("68")  # conftest points the env var at ../shared
    assert w.source == str(shared_data / "frontalization" / "frontalization_weights_68.npy")


def test_a_damaged_shipped_copy_is_refused(tmp_path, monkeypatch):
    copy = tmp_path / "resources"
    shutil.copytree(resources_dir(), copy)
    monkeypatch.setenv("DFECS_RESOURCES", str(copy))
    monkeypatch.delenv(FW.ENV_VAR, raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    with np.load(FW.shipped_path()) as npz:
        W, mean_face = npz["W"].copy(), npz["mean_face"]
    W[5, 7] += 1e-12
    np.savez_compressed(FW.shipped_path(), W=W, mean_face=mean_face)
    with pytest.raises(MissingResourceError, match=r"'W' differs .*reinstall"):
        FW.load_frontalization_weights("68")
    FW.shipped_path().write_bytes(b"not a zip")
    with pytest.raises(MissingResourceError, match="not readable"):
        FW.load_frontalization_weights("68")
    FW.shipped_path().unlink()
    with pytest.raises(MissingResourceError, match="shipped copy .* is missing"):
        FW.load_frontalization_weights("68")


def test_kpm_works_offline_by_default(no_network, shared_data, tmp_path):
    """No DFECS_FRONTALIZATION_DIR, no cache, no network: the shipped weights give the same
    KPMs as the published files."""
    track = shared_data / "tracks" / "single_face_dlib68.csv"
    out = tmp_path / "kpm.npz"
    assert cli_main(["kpm", str(track), "--neutral", "first", "--out", str(out)]) == 0
    kpm = load_kpm(out)
    assert kpm.meta["frontalization"]["68"]["source"] == "builtin:frontalization/frontalization_68.npz"
    ref_out = tmp_path / "ref.npz"
    assert cli_main(["kpm", str(track), "--neutral", "first", "--out", str(ref_out),
                     "--frontalization-dir", str(shared_data / "frontalization")]) == 0
    ref = load_kpm(ref_out)
    assert kpm.X.shape == ref.X.shape == (72, 136)
    np.testing.assert_array_equal(kpm.X, ref.X)
    assert not (tmp_path / "empty-cache").exists()  # nothing was fetched into a cache
