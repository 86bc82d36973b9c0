"""The frozen bundle (``make package``) works with nothing but itself and no network.

Builds the PyInstaller one-folder bundle on this checkout (or reuses the cached build of the
same inputs, ``packaging/build.py``), then runs the frozen programs with networking unavailable
to them — a new network namespace (``unshare -n``, or ``unshare -rn`` without root) when the
system allows it, else proxy variables pointing at a closed port — with an empty home and user
cache, no ``DFECS_FRONTALIZATION_DIR``, and a ``PATH`` without the venv:

* ``dfecs kpm`` on a shared track (the shipped weights; the KPMs equal the checkout's),
* ``dfecs track`` on a shared face image (dlib and its model in the bundle),
* ``dfecs train`` (numba kernels; their cache lands in the user cache),
* ``dfecs ratings pack`` with projected AU images (pychubby in the bundle),
* ``dfecs-studio --rate PACK --self-test`` (a ✓ through the rating screen, saved to
  ``ratings.json``, which the checkout then merges) and, under Xvfb on Qt's xcb plugin,
  ``dfecs-studio --rate PACK --screenshot``,
* ``dfecs-studio --demo --screenshot OUT.png`` offscreen (a PNG of the window's size).
"""

from __future__ import annotations

import faulthandler
import importlib.util
import json
import os
import shutil
import struct
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from dfecs_app.core.landmarks import PART_NAMES
from dfecs_app.io.demo import demo_files
from dfecs_app.io.kpm_file import load_kpm
from dfecs_app.io.model_file import load_model
from dfecs_app.io.rating_pack import import_returned_ratings
from dfecs_app.io.rating_session import RatingSession

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[1]
#: MainWindow's size (gui/main_window.py: ``self.resize(1500, 950)``).
WINDOW_SIZE = (1500, 950)
#: RaterWindow's size (gui/rating/rater_window.py: ``self.resize(1200, 760)``).
RATER_SIZE = (1200, 760)
TIMEOUT = 900


def _load_build_module():
    spec = importlib.util.spec_from_file_location("dfecs_build", ROOT / "packaging" / "build.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def bundle() -> Path:
    # a first build takes about 8 min here: give this test 30 min before pytest's faulthandler
    # (faulthandler_timeout, 10 min) dumps the stacks; pytest cancels the timer after the test
    faulthandler.dump_traceback_later(1800, file=sys.__stderr__)
    build = _load_build_module()
    folder, info = build.build(ROOT / "build" / "package")
    sys.stderr.write(f"\nbundle {folder}: {info['size_bytes'] / 1e6:.0f} MB, "
                     f"build {info['build_seconds']:.0f} s{' (cached)' if info['reused'] else ''}\n")
    assert (folder / "dfecs-studio").is_file() and (folder / "dfecs").is_file()
    return folder


def _offline_prefix() -> list[str]:
    """A command prefix that runs a program without network access ([] if none works)."""
    if shutil.which("unshare"):
        for prefix in (["unshare", "-n"], ["unshare", "-rn"]):
            if subprocess.run([*prefix, "true"], capture_output=True).returncode == 0:
                return prefix
    return []


@pytest.fixture(scope="module")
def run_offline(bundle, tmp_path_factory):
    """Run a frozen program of the bundle offline, in an empty home; returns the process."""
    home = tmp_path_factory.mktemp("home")
    prefix = _offline_prefix()
    env = {k: v for k, v in os.environ.items()
           if k not in ("PYTHONPATH", "VIRTUAL_ENV", "DFECS_FRONTALIZATION_DIR", "DFECS_RESOURCES",
                        "NUMBA_CACHE_DIR", "MPLCONFIGDIR", "DFECS_CACHE_DIR")}
    env.update(HOME=str(home), XDG_CACHE_HOME=str(home / ".cache"),
               XDG_CONFIG_HOME=str(home / ".config"), PATH="/usr/bin:/bin",
               QT_QPA_PLATFORM="offscreen", http_proxy="http://127.0.0.1:9",
               https_proxy="http://127.0.0.1:9", HTTP_PROXY="http://127.0.0.1:9",
               HTTPS_PROXY="http://127.0.0.1:9", no_proxy="", NO_PROXY="")

    def run(program: str, *args: str | Path, xvfb: bool = False) -> subprocess.CompletedProcess:
        """``xvfb``: on Qt's xcb platform plugin under ``xvfb-run`` instead of offscreen."""
        display = ["xvfb-run", "-a", "-s", "-screen 0 1600x1000x24"] if xvfb else []
        cmd = [*prefix, *display, str(bundle / program), *map(str, args)]
        proc = subprocess.run(cmd, env={**env, "QT_QPA_PLATFORM": "xcb" if xvfb else "offscreen"},
                              cwd=home, capture_output=True, text=True, timeout=TIMEOUT)
        assert proc.returncode == 0, f"{cmd} exited {proc.returncode}:\n{proc.stdout}\n{proc.stderr}"
        return proc

    run.home = home
    return run


def _png_size(path: Path) -> tuple[int, int]:
    head = path.read_bytes()[:24]
    assert head[:8] == b"\x89PNG\r\n\x1a\n", f"{path} is not a PNG"
    return struct.unpack(">II", head[16:24])


def test_frozen_cli_runs_the_pipeline_offline(run_offline, shared_data, tmp_path):
    from dfecs_app.cli.main import main as cli_main

    assert "dfecs 0" in run_offline("dfecs", "--version").stdout
    track = shared_data / "tracks" / "single_face_dlib68.csv"
    kpm_path = tmp_path / "kpm.npz"
    run_offline("dfecs", "kpm", track, "--neutral", "first", "--out", kpm_path)
    kpm = load_kpm(kpm_path)
    assert kpm.meta["frontalization"]["68"]["source"] == "builtin:frontalization/frontalization_68.npz"
    ref_path = tmp_path / "ref.npz"
    assert cli_main(["kpm", str(track), "--neutral", "first", "--out", str(ref_path)]) == 0
    np.testing.assert_allclose(kpm.X, load_kpm(ref_path).X, rtol=0, atol=1e-12)

    # dlib and its 68-point model: the frozen tracker finds the checkout's landmarks
    face = shared_data / "faces" / "single_face_frame0.png"
    out = tmp_path / "face.csv"
    run_offline("dfecs", "track", face, "--out", out)
    from dfecs_app.io.tracking import track_images

    ref = track_images([face]).points
    from dfecs_app.io.readers import read_landmarks

    np.testing.assert_allclose(read_landmarks([out]).points, ref, atol=1e-3)

    # numba kernels train a small model; their cache goes to the user cache
    params = {"parts": {p: {"k": 2, "alpha": 0.5} for p in PART_NAMES},
              "hfm": {"q": 4, "alpha_A": 0.1, "alpha_B": 0.1}}
    model_path = tmp_path / "model.npz"
    run_offline("dfecs", "train", kpm_path, "--params", json.dumps(params), "--out", model_path)
    model = load_model(model_path)
    assert model.components.shape == (4, 136)
    numba_cache = run_offline.home / ".cache" / "dfecs-studio" / "numba"
    assert any(numba_cache.rglob("*.nbi")), f"no numba cache in {numba_cache}"

    # a rating pack made by the frozen CLI, rated by the frozen app, merged by the checkout
    session_path = tmp_path / "session.json"
    session = RatingSession.create(session_path, model, raters=["Ann", "Bob"], seed=1,
                                   model_path=model_path)
    image, pts = demo_files()
    pack = tmp_path / "pack"
    run_offline("dfecs", "ratings", "pack", session_path, "--rater", "Bob", "--model",
                model_path, "--neutral", pts, "--image", image, "--out", pack)
    assert len(list(pack.rglob("*.png"))) >= 4
    proc = run_offline("dfecs-studio", "--rate", pack / "pack.json", "--self-test")
    assert "saved to" in proc.stdout
    if shutil.which("xvfb-run"):  # the xcb plugin and its libraries are in the bundle too
        shown = tmp_path / "rater.png"
        run_offline("dfecs-studio", "--rate", shutil.copytree(pack, tmp_path / "copy"),
                    "--screenshot", shown, xvfb=True)
        width, height = _png_size(shown)
        assert width >= RATER_SIZE[0] and height >= RATER_SIZE[1]  # xcb may grow it to fit
    assert import_returned_ratings(session, pack) == 1
    reopened = RatingSession.open(session_path)
    first = reopened.order("Bob")[0]
    assert reopened.vote("Bob", first).interpretable is True and reopened.vote_count("Bob") == 1


def test_frozen_studio_screenshots_the_demo_offline(run_offline, tmp_path):
    out = tmp_path / "demo.png"
    run_offline("dfecs-studio", "--demo", "--screenshot", out)
    assert _png_size(out) == WINDOW_SIZE
    from matplotlib.image import imread

    pixels = imread(out)
    assert pixels.std() > 0.05  # a drawn window, not a blank grab


def test_desktop_integration_opens_packs_in_rater_mode(bundle, tmp_path):
    """install-desktop.sh: menu entry and rater entry point at the bundle; pack.json is a type."""
    env = {**os.environ, "XDG_DATA_HOME": str(tmp_path), "HOME": str(tmp_path)}
    subprocess.run([str(bundle / "install-desktop.sh")], env=env, check=True, capture_output=True)
    rater = (tmp_path / "applications" / "dfecs-rating-pack.desktop").read_text()
    assert f'Exec="{bundle / "dfecs-studio"}" --rate %f' in rater
    assert "MimeType=application/x-dfecs-rating-pack;" in rater
    assert (tmp_path / "icons" / "hicolor" / "scalable" / "apps" / "dfecs-studio.svg").is_file()
    if shutil.which("update-mime-database"):
        globs = (tmp_path / "mime" / "globs2").read_text()
        assert "application/x-dfecs-rating-pack:pack.json" in globs
    subprocess.run([str(bundle / "install-desktop.sh"), "--remove"], env=env, check=True,
                   capture_output=True)
    assert not (tmp_path / "applications" / "dfecs-rating-pack.desktop").exists()
