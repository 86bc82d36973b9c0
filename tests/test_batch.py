"""Batch runs: a real Dask LocalCluster, a killed batch resumed, bad inputs in the summary."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import cv2
import numpy as np
import pytest

from dfecs_app.cli.main import main
from dfecs_app.io.batch import BatchTask, is_complete, manifest_path, run_batch
from dfecs_app.io.tracking import track_to_csv

ROOT = Path(__file__).resolve().parents[1]


def _frames(video: Path) -> list[np.ndarray]:
    cap = cv2.VideoCapture(str(video))
    out = []
    while True:
        ok, f = cap.read()
        if not ok:
            break
        out.append(f)
    cap.release()
    return out


def _write(path: Path, frames: list[np.ndarray]) -> Path:
    h, w = frames[0].shape[:2]
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), 30, (w, h))
    for f in frames:
        writer.write(f)
    writer.release()
    return path


@pytest.fixture(scope="module")
def videos(shared_data, tmp_path_factory) -> Path:
    """Three real videos: the shared one, a mirrored 40-frame clip and a 60 px shifted copy."""
    folder = tmp_path_factory.mktemp("videos")
    src = shared_data / "videos" / "single_face.mp4"
    frames = _frames(src)
    shutil.copy(src, folder / "a.mp4")
    _write(folder / "b.mp4", [np.ascontiguousarray(f[:, ::-1]) for f in frames[20:60]])
    _write(folder / "c.mp4", [np.roll(f, 60, axis=1) for f in frames[::2]])
    return folder


def _outputs(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir()) if not p.name.startswith(".")}


@pytest.mark.slow
def test_dask_local_cluster_gives_the_serial_outputs_byte_for_byte(videos, shared_data, tmp_path, capsys):
    from dask.distributed import LocalCluster

    news = shared_data / "tracks" / "news_sample"
    assert main(["track", str(videos), "--out", str(tmp_path / "serial"), "--jobs", "1"]) == 0
    assert main(["kpm", str(news), "--out", str(tmp_path / "serial.npz"), "--jobs", "1"]) == 0
    serial = _outputs(tmp_path / "serial")
    assert sorted(serial) == ["a.csv", "b.csv", "c.csv"]
    with LocalCluster(n_workers=2, processes=True, threads_per_worker=1,
                      dashboard_address=None) as cluster:
        address = cluster.scheduler_address
        assert main(["track", str(videos), "--out", str(tmp_path / "dask"),
                     "--scheduler", address]) == 0
        os.environ["DFECS_SCHEDULER"] = address  # the environment variable works alike
        try:
            assert main(["kpm", str(news), "--out", str(tmp_path / "dask.npz")]) == 0
        finally:
            del os.environ["DFECS_SCHEDULER"]
    assert _outputs(tmp_path / "dask") == serial
    assert (tmp_path / "dask.npz").read_bytes() == (tmp_path / "serial.npz").read_bytes()
    assert main(["track", str(videos), "--out", str(tmp_path / "pool"), "--jobs", "2"]) == 0
    assert _outputs(tmp_path / "pool") == serial
    err = capsys.readouterr().err
    assert "batch: 3 inputs, 3 done, 0 skipped (complete), 0 failed; 148 frames" in err


@pytest.mark.slow
def test_a_killed_batch_resumes_without_redoing_finished_files(videos, tmp_path):
    inputs = tmp_path / "in"
    inputs.mkdir()
    for k in range(5):
        shutil.copy(videos / "b.mp4", inputs / f"v{k}.mp4")
    out = tmp_path / "out"
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    cmd = [sys.executable, "-m", "dfecs_app.cli.main", "track", str(inputs), "--out", str(out),
           "--jobs", "1"]
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 120
    while not manifest_path(out / "v0.csv").exists() and time.monotonic() < deadline:
        time.sleep(0.02)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    done = sorted(p.name for p in out.glob(".*.dfecs-done.json"))
    assert 1 <= len(done) < 5, done  # killed midway
    finished = {p: (out / p).stat().st_mtime_ns
                for p in (n[1:].removesuffix(".dfecs-done.json") for n in done)}
    result = subprocess.run(cmd + ["--resume"], env=env, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    for name, mtime in finished.items():
        assert (out / name).stat().st_mtime_ns == mtime  # not redone
        assert f"{name}: skipped" in result.stderr
    assert f"{5 - len(finished)} done, {len(finished)} skipped" in result.stderr
    assert not list(out.glob("*.tmp")) and not list(out.glob(".*.tmp"))
    fresh = tmp_path / "fresh"
    assert main(["track", str(inputs), "--out", str(fresh), "--jobs", "1"]) == 0
    assert _outputs(out) == _outputs(fresh)


def test_bad_inputs_are_one_line_each_and_the_others_are_done(videos, tmp_path, capsys):
    mixed = tmp_path / "mixed"
    mixed.mkdir()
    shutil.copy(videos / "b.mp4", mixed / "good.mp4")
    (mixed / "fake.mp4").write_text("this is not a video\n")
    _write(mixed / "blank.mp4", [np.zeros((120, 160, 3), np.uint8)] * 8)
    (mixed / "notes.txt").write_text("session notes\n")
    out = tmp_path / "out"
    code = main(["track", str(mixed), str(tmp_path / "missing.mp4"), "--out", str(out),
                 "--jobs", "2"])
    assert code == 1
    lines = capsys.readouterr().err.splitlines()

    def line(name: str) -> str:
        hits = [ln for ln in lines if ln.startswith(str(mixed / name)) or ln.startswith(name)]
        assert len(hits) == 1, (name, lines)
        return hits[0]

    assert line("fake.mp4").endswith(f"FAILED: {mixed / 'fake.mp4'}: cannot open as a video")
    assert "done, 8 frames, NO FACE in any frame" in line("blank.mp4")
    assert line("notes.txt").endswith("neither a video nor an image (by its extension); skipped")
    assert line(str(tmp_path / "missing.mp4")).endswith("no such file or directory")
    assert "done, 40 frames, face in 40" in line("good.mp4")
    assert not any("Traceback" in ln for ln in lines)
    assert sorted(_outputs(out)) == ["blank.csv", "good.csv"]


def test_resume_redoes_outputs_whose_inputs_or_options_changed(videos, tmp_path):
    video = tmp_path / "v.mp4"
    shutil.copy(videos / "b.mp4", video)
    out = tmp_path / "v.csv"

    def task(detect: str) -> BatchTask:
        return BatchTask(str(video), (str(video),), str(out), track_to_csv,
                         args=("video", str(video), str(out)), kwargs={"detect": detect},
                         options={"detect": detect})

    [first] = run_batch([task("track")], jobs=1)
    assert first.status == "done" and first.counts["frames"] == 40
    assert is_complete(task("track"))[0] and not is_complete(task("every-frame"))[0]
    assert run_batch([task("track")], jobs=1, resume=True)[0].status == "skipped"
    assert run_batch([task("every-frame")], jobs=1, resume=True)[0].status == "done"
    manifest = json.loads(manifest_path(out).read_text())
    assert manifest["options"] == {"detect": "every-frame"} and manifest["counts"]["faces"] == 40
    out.write_text(out.read_text() + "\n")  # an output changed since: not complete
    assert not is_complete(task("every-frame"))[0]
    os.utime(video, ns=(1, 1))  # an input changed since: not complete
    assert not is_complete(task("every-frame"))[0]
