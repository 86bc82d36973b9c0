"""``dfecs encode --out-dir``: one table per input as a batch (``--jobs``, ``--resume``, a
failed input in the summary), on real tracks of ``../shared/data``."""

from __future__ import annotations

import shutil

import numpy as np
import pandas as pd
import pytest
from test_encode import PARAMS, dfecs  # the same small training settings and CLI runner

from dfecs_app.cli import main as cli_main
from dfecs_app.io.batch import manifest_path


@pytest.fixture(scope="module")
def trained(shared_data, tmp_path_factory):
    """A DFECS model trained on clips 001-005 of news_sample; clips 008-010 are coded."""
    tmp = tmp_path_factory.mktemp("encode_batch")
    clips = sorted((shared_data / "tracks" / "news_sample").glob("*.csv"))
    assert len(clips) == 10
    train = tmp / "train"
    train.mkdir()
    for c in clips[:5]:
        shutil.copy(c, train / c.name)
    assert cli_main.main(["kpm", str(train), "--out", str(tmp / "train.npz"), "--jobs", "1"]) == 0
    assert cli_main.main(["train", str(tmp / "train.npz"), "--params", PARAMS, "--seed", "0",
                          "--out", str(tmp / "dfecs.npz")]) == 0
    inputs = tmp / "in"
    inputs.mkdir()
    for c in clips[7:]:
        shutil.copy(c, inputs / c.name)
    return {"dir": tmp, "model": tmp / "dfecs.npz", "inputs": sorted(inputs.glob("*.csv"))}


def _outputs(folder):
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir()) if not p.name.startswith(".")}


def test_per_input_tables_are_the_one_table_split_and_jobs_do_not_change_them(
        trained, capsys, tmp_path):
    model, inputs = trained["model"], trained["inputs"]
    code, _, err = dfecs(capsys, "encode", model, *inputs, "--out-dir", tmp_path / "serial",
                         "--jobs", "1")
    assert code == 0, err
    assert sorted(_outputs(tmp_path / "serial")) == ["008.csv", "009.csv", "010.csv"]
    assert "batch: 3 inputs, 3 done, 0 skipped (complete), 0 failed" in err
    for p in inputs:
        table = pd.read_csv(tmp_path / "serial" / f"{p.stem}.csv")
        assert (table["source"] == str(p)).all() and table["ve"].mean() > 50
        n = len(table)
        assert f"{p} -> {tmp_path / 'serial' / (p.stem + '.csv')}: done, {n} frames, " \
               f"face in {n}, " in err
    code, _, err = dfecs(capsys, "encode", model, *inputs, "--out-dir", tmp_path / "pool",
                         "--jobs", "2")
    assert code == 0, err
    assert _outputs(tmp_path / "pool") == _outputs(tmp_path / "serial")
    # the one-table run (here on two processes too) holds the same rows, input after input
    code, _, err = dfecs(capsys, "encode", model, *inputs, "--out", tmp_path / "all.csv",
                         "--jobs", "2")
    assert code == 0, err
    whole = pd.read_csv(tmp_path / "all.csv", dtype=str)
    parts = pd.concat([pd.read_csv(tmp_path / "serial" / f"{p.stem}.csv", dtype=str)
                       for p in inputs], ignore_index=True)
    pd.testing.assert_frame_equal(whole, parts)


def test_resume_skips_complete_tables_and_redoes_a_deleted_one(trained, capsys, tmp_path):
    model, inputs = trained["model"], trained["inputs"]
    out = tmp_path / "codes"
    out.mkdir()  # an existing folder given to --out acts as --out-dir
    assert dfecs(capsys, "encode", model, *inputs, "--out", out, "--jobs", "1")[0] == 0
    first = _outputs(out)
    mtimes = {n: (out / n).stat().st_mtime_ns for n in first}
    (out / "009.csv").unlink()
    code, _, err = dfecs(capsys, "encode", model, *inputs, "--out", out, "--jobs", "1",
                         "--resume")
    assert code == 0, err
    assert "batch: 3 inputs, 1 done, 2 skipped (complete), 0 failed" in err
    assert f"{inputs[0]} -> {out / '008.csv'}: skipped" in err
    assert f"{inputs[1]} -> {out / '009.csv'}: done" in err
    for name in ("008.csv", "010.csv"):
        assert (out / name).stat().st_mtime_ns == mtimes[name]  # not rewritten
    assert _outputs(out) == first
    assert manifest_path(out / "009.csv").exists()
    # other options make other tables: nothing is complete
    code, _, err = dfecs(capsys, "encode", model, *inputs, "--out", out, "--jobs", "1",
                         "--resume", "--alpha", "50")
    assert code == 0 and "3 done, 0 skipped" in err
    assert _outputs(out) != first


def test_a_bad_input_is_one_failed_line_and_the_others_are_written(trained, capsys, tmp_path):
    model, inputs = trained["model"], trained["inputs"]
    text = inputs[0].read_text()
    bad = tmp_path / "cut.csv"
    bad.write_text(text[: len(text) // 2])  # ends inside a row
    out = tmp_path / "out"
    code, _, err = dfecs(capsys, "encode", model, inputs[0], bad, inputs[2],
                         tmp_path / "missing.csv", "--out-dir", out, "--jobs", "2",
                         "--out-format", "npz")
    assert code == 1
    lines = err.splitlines()
    failed = [ln for ln in lines if "FAILED" in ln]
    assert len(failed) == 2, lines
    assert failed[0].startswith(f"{tmp_path / 'missing.csv'}: FAILED: ")
    assert "no such file" in failed[0]
    assert failed[1].startswith(f"{bad}: FAILED: {bad}")
    assert "Traceback" not in err
    assert "batch: 4 inputs, 2 done, 0 skipped (complete), 2 failed" in err
    assert sorted(_outputs(out)) == ["008.npz", "010.npz"]
    with np.load(out / "008.npz", allow_pickle=False) as z:
        assert z["codes"].shape[0] == len(pd.read_csv(inputs[0])) and z["codes"].max() > 0


def test_one_table_resume_and_option_checks(trained, capsys, tmp_path):
    model, inputs = trained["model"], trained["inputs"]
    out = tmp_path / "all.csv"
    assert dfecs(capsys, "encode", model, *inputs[:2], "--out", out, "--jobs", "1")[0] == 0
    mtime = out.stat().st_mtime_ns
    code, stdout, _ = dfecs(capsys, "encode", model, *inputs[:2], "--out", out, "--resume")
    assert code == 0 and "skipped (--resume)" in stdout and out.stat().st_mtime_ns == mtime
    code, _, err = dfecs(capsys, "encode", model, inputs[0], "--out", out, "--out-format", "npz")
    assert code == 2 and err.count("\n") == 1 and "--out-format" in err
    code, _, err = dfecs(capsys, "encode", model, inputs[0], "--out-dir", out)
    assert code == 2 and err.count("\n") == 1 and "not a folder" in err
    code, _, err = dfecs(capsys, "encode", model, inputs[0], "--out-dir", tmp_path / "pq",
                         "--out-format", "parquet", "--jobs", "1")
    try:
        import pyarrow  # noqa: F401
    except ImportError:
        assert code == 2 and err.count("\n") == 1 and "pyarrow" in err
        assert not (tmp_path / "pq").exists()
    else:
        assert code == 0 and len(pd.read_parquet(tmp_path / "pq" / "008.parquet")) > 0
    # an input folder holding the output folder is refused for that input
    code, _, err = dfecs(capsys, "encode", model, inputs[0].parent, "--out-dir",
                         inputs[0].parent / "codes")
    assert code == 1 and "choose another --out-dir" in err


@pytest.mark.slow
def test_dask_local_cluster_writes_the_serial_tables_byte_for_byte(trained, capsys, tmp_path,
                                                                    monkeypatch):
    from dask.distributed import LocalCluster

    model, inputs = trained["model"], trained["inputs"]
    assert dfecs(capsys, "encode", model, *inputs, "--out-dir", tmp_path / "serial",
                 "--jobs", "1")[0] == 0
    assert dfecs(capsys, "encode", model, *inputs, "--out", tmp_path / "serial.npz",
                 "--jobs", "1")[0] == 0
    with LocalCluster(n_workers=2, processes=True, threads_per_worker=1,
                      dashboard_address=None) as cluster:
        code, _, err = dfecs(capsys, "encode", model, *inputs, "--out-dir", tmp_path / "dask",
                             "--scheduler", cluster.scheduler_address)
        assert code == 0, err
        assert "batch: 3 inputs, 3 done, 0 skipped (complete), 0 failed" in err
        monkeypatch.setenv("DFECS_SCHEDULER", cluster.scheduler_address)  # the variable alike
        code, _, err = dfecs(capsys, "encode", model, *inputs, "--out", tmp_path / "dask.npz")
        assert code == 0, err
    assert _outputs(tmp_path / "dask") == _outputs(tmp_path / "serial")
    assert (tmp_path / "dask.npz").read_bytes() == (tmp_path / "serial.npz").read_bytes()
