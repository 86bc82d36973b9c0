"""``dfecs encode`` and ``dfecs_app.encode`` end to end on real tracks and the real video."""

from __future__ import annotations

import json
import shutil
import sys

import numpy as np
import pandas as pd
import pytest

import dfecs_app
from dfecs_app.cli import main as cli_main
from dfecs_app.core.recipe import Recipe
from dfecs_app.io.model_file import load_model, save_model
from dfecs_app.io.prepare import prepare_kpm

#: Small fixed hyperparameters: training on nine short clips takes seconds.
PARAMS = json.dumps({
    "parts": {name: {"k": 2, "alpha": 0.5} for name in
              ("jaw", "right_brow", "left_brow", "nose", "right_eye", "left_eye", "lips")},
    "hfm": {"q": 6, "alpha_A": 0.1, "alpha_B": 0.1},
})


def dfecs(capsys, *args):
    code = cli_main.main([str(a) for a in args])
    out = capsys.readouterr()
    return code, out.out, out.err


@pytest.fixture(scope="module")
def trained(shared_data, tmp_path_factory):
    """A DFECS model and a PCA model trained on clips 001-009 of news_sample; clip 010 held out."""
    tmp = tmp_path_factory.mktemp("encode")
    clips = sorted((shared_data / "tracks" / "news_sample").glob("*.csv"))
    assert len(clips) == 10
    train = tmp / "train"
    train.mkdir()
    for c in clips[:9]:
        shutil.copy(c, train / c.name)
    assert cli_main.main(["kpm", str(train), "--out", str(tmp / "train.npz")]) == 0
    assert cli_main.main(["train", str(tmp / "train.npz"), "--params", PARAMS, "--seed", "0",
                          "--out", str(tmp / "dfecs.npz")]) == 0
    assert cli_main.main(["baseline", "pca", str(tmp / "train.npz"), "--ve", "90",
                          "--out", str(tmp / "pca.npz")]) == 0
    return {"dir": tmp, "model": tmp / "dfecs.npz", "pca": tmp / "pca.npz", "held_out": clips[9]}


def test_models_carry_the_recipe_of_their_kpms(trained):
    for name in ("model", "pca"):
        recipe = Recipe.from_dict(load_model(trained[name]).meta["recipe"])
        assert recipe.frontalize and recipe.anchors == "auto"
        assert recipe.neutral == "first" and recipe.neutral_per == "subject"  # dfecs kpm default (§2.2)
        sha = "4f5ad9ebadf11a0e29235b50483e83344b545b1481cd9725ca36adcc5821a160"
        assert recipe.frontalization == {"68": sha}


@pytest.mark.parametrize("which", ["model", "pca"])
def test_held_out_clip_matches_evaluate(trained, capsys, which):
    """Per-frame VE and reconstruction agree with `dfecs evaluate` on the same clip."""
    tmp, held = trained["dir"], trained["held_out"]
    model_path = trained[which]
    out = tmp / f"codes_{which}.csv"
    code, stdout, err = dfecs(capsys, "encode", model_path, held, "--out", out)
    assert code == 0, err
    assert "recipe" not in err
    assert dfecs(capsys, "kpm", held, "--out", tmp / "held.npz")[0] == 0
    code, stdout, _ = dfecs(capsys, "evaluate", model_path, tmp / "held.npz", "--json")
    ev = json.loads(stdout)

    df = pd.read_csv(out)
    model = load_model(model_path)
    assert list(df.columns[4:4 + model.n_components]) == model.names
    assert len(df) == ev["n_samples"] and (df["no_face"] == 0).all()
    assert df["recipe_mismatch"].isna().all()
    # mean of per-frame VE = Evaluate's mean per-sample VE at k = q; pooled from the residuals
    assert abs(df["ve"].mean() - ev["ve_vs_k"][-1][1]) < 1e-9
    codes = df[model.names].to_numpy()
    kpm, _ = prepare_kpm(held, Recipe.from_dict(model.meta["recipe"]))
    np.testing.assert_array_equal(kpm.frame, df["frame"].to_numpy())
    resid = kpm.X - codes @ model.components
    rss = np.einsum("ij,ij->i", resid, resid)
    np.testing.assert_allclose(df["recon_error"], rss, rtol=1e-9, atol=1e-9)
    yy = np.einsum("ij,ij->i", kpm.X, kpm.X)
    assert abs(100 * (1 - rss.sum() / yy.sum()) - ev["ve"]) < 1e-9
    # the KPMs `dfecs kpm` wrote are those the recipe prepares
    from dfecs_app.io.kpm_file import load_kpm

    np.testing.assert_array_equal(load_kpm(tmp / "held.npz").X, kpm.X)


def test_max_active_and_alpha_are_evaluates_encoders(trained, capsys):
    tmp, held, model_path = trained["dir"], trained["held_out"], trained["model"]
    assert dfecs(capsys, "kpm", held, "--out", tmp / "held.npz")[0] == 0
    ev = json.loads(dfecs(capsys, "evaluate", model_path, tmp / "held.npz", "--json")[1])
    names = load_model(model_path).names
    df = dfecs_app.encode(model_path, held, max_active=2)
    assert ((df[names] > 0).sum(axis=1) <= 2).all()
    assert abs(df["ve"].mean() - dict(ev["ve_vs_k"])[2]) < 1e-9
    ev_a = json.loads(dfecs(capsys, "evaluate", model_path, tmp / "held.npz", "--alpha", "50",
                            "--json")[1])
    df_a = dfecs_app.encode(model_path, [held], alpha=50.0)
    yy = df_a["recon_error"] / (1 - df_a["ve"] / 100)
    pooled = 100 * (1 - df_a["recon_error"].sum() / yy.fillna(0).sum())
    assert abs(pooled - ev_a["ve"]) < 1e-6
    assert (df_a[names].to_numpy() <= df[names].to_numpy().max() * 10).all()


def test_video_equals_track_then_encode(trained, shared_data, capsys, tmp_path):
    video = shared_data / "videos" / "single_face.mp4"
    model = trained["model"]
    assert dfecs(capsys, "track", video, "--out", tmp_path / "single_face.csv")[0] == 0
    code, _, err = dfecs(capsys, "encode", model, video, "--out", tmp_path / "from_video.csv")
    assert code == 0, err
    code, _, err = dfecs(capsys, "encode", model, tmp_path / "single_face.csv",
                         "--out", tmp_path / "from_csv.npz")
    assert code == 0, err
    a = pd.read_csv(tmp_path / "from_video.csv")
    b = np.load(tmp_path / "from_csv.npz", allow_pickle=False)
    assert len(a) == 72 and a["time_s"].notna().all()
    np.testing.assert_allclose(a["time_s"], b["time_s"], atol=1e-4)
    names = list(b["au_names"])
    np.testing.assert_allclose(a[names].to_numpy(), b["codes"], rtol=1e-12, atol=1e-12)
    np.testing.assert_array_equal(a["no_face"].to_numpy(), b["no_face"].astype(int))
    assert a[names].to_numpy().max() > 0  # the smile is coded


def test_forced_preparation_is_flagged(trained, capsys, tmp_path):
    out = tmp_path / "codes.csv"
    code, _, err = dfecs(capsys, "encode", trained["model"], trained["held_out"],
                         "--no-frontalize", "--out", out)
    assert code == 0
    assert "warning" in err and "frontalize: model on, data off" in err
    df = pd.read_csv(out)
    assert (df["recipe_mismatch"] == "frontalize: model on, data off").all()


def test_api_equals_cli(trained, capsys, tmp_path):
    out = tmp_path / "codes.csv"
    assert dfecs(capsys, "encode", trained["model"], trained["held_out"], "--out", out)[0] == 0
    api = dfecs_app.encode(load_model(trained["model"]), [trained["held_out"]])
    cli = pd.read_csv(out, dtype={"subject": str, "sequence": str})
    pd.testing.assert_frame_equal(api.drop(columns="recipe_mismatch"),
                                  cli.drop(columns="recipe_mismatch"), check_dtype=False)


def test_model_without_recipe_one_line_nothing_written(trained, capsys, tmp_path):
    old = load_model(trained["model"])
    del old.meta["recipe"]
    save_model(tmp_path / "old.npz", old)
    out = tmp_path / "codes.csv"
    code, _, err = dfecs(capsys, "encode", tmp_path / "old.npz", trained["held_out"],
                         "--out", out)
    assert code == 2 and not out.exists()
    assert err.count("\n") == 1 and "old.npz" in err and "recipe" in err
    # the training KPM file supplies it
    code, _, err = dfecs(capsys, "encode", tmp_path / "old.npz", trained["held_out"],
                         "--recipe-from", trained["dir"] / "train.npz", "--out", out)
    assert code == 0 and out.exists()


def test_truncated_landmark_file_one_line_nothing_written(trained, capsys, tmp_path):
    text = trained["held_out"].read_text()
    bad = tmp_path / "cut.csv"
    bad.write_text(text[: len(text) // 2])  # ends inside a row
    out = tmp_path / "codes.csv"
    code, _, err = dfecs(capsys, "encode", trained["model"], trained["held_out"], bad,
                         "--out", out)
    assert code == 2 and not out.exists()
    assert err.count("\n") == 1 and "cut.csv" in err


def test_video_without_a_face_one_line(trained, capsys, tmp_path):
    import cv2

    video = tmp_path / "blank.avi"
    writer = cv2.VideoWriter(str(video), cv2.VideoWriter_fourcc(*"MJPG"), 10, (160, 120))
    for k in range(5):
        writer.write(np.full((120, 160, 3), 40 * k, dtype=np.uint8))
    writer.release()
    out = tmp_path / "codes.csv"
    code, _, err = dfecs(capsys, "encode", trained["model"], video, "--out", out)
    assert code == 2 and not out.exists()
    assert err.count("\n") == 1 and "blank.avi" in err and "no face" in err


def test_kpm_file_input_and_output_checks(trained, capsys, tmp_path):
    """A KPM NPZ codes as the landmark file it came from; a bad --out fails before any work."""
    held = trained["held_out"]
    assert dfecs(capsys, "kpm", held, "--out", tmp_path / "held.npz")[0] == 0
    from_kpm = dfecs_app.encode(trained["model"], tmp_path / "held.npz")
    from_csv = dfecs_app.encode(trained["model"], held)
    names = from_kpm.attrs["au_columns"]
    np.testing.assert_array_equal(from_kpm[names].to_numpy(), from_csv[names].to_numpy())
    assert not from_kpm.attrs["recipe_mismatch"]
    for bad in ("codes.txt", "codes.parquet"):
        code, _, err = dfecs(capsys, "encode", trained["model"], held, "--out", tmp_path / bad)
        if bad.endswith(".parquet") and code == 0:  # pyarrow installed: a real Parquet file
            assert pd.read_parquet(tmp_path / bad).shape[0] == len(from_csv)
            continue
        assert code == 2 and err.count("\n") == 1 and bad in err
        assert not (tmp_path / bad).exists()


def test_preparation_errors_name_the_input(trained, capsys, tmp_path):
    out = tmp_path / "codes.csv"
    code, _, err = dfecs(capsys, "encode", trained["model"], trained["held_out"],
                         "--neutral", "999", "--out", out)
    assert code == 2 and not out.exists()
    assert err.count("\n") == 1 and "010.csv" in err and "neutral" in err


#: Modules ``dfecs encode`` of a landmark CSV does not need: scikit-learn and the rating
#: statistics (train, ratings), scipy.io (DISFA .mat files only), tqdm (no bar without a terminal).
NOT_FOR_ENCODE = ("sklearn", "dfecs_app.stats.agreement", "scipy.io", "tqdm")


def test_dfecs_encode_starts_without_the_other_commands_imports(tmp_path):
    """``dfecs encode`` builds only its own sub-parser: none of :data:`NOT_FOR_ENCODE` is
    loaded, and ``dfecs --help`` still lists every command."""
    import subprocess
    import sys

    code = ("import sys; from dfecs_app.cli import main as m; "
            "m._cached_parser(m._command_of(['encode', 'x'])); "
            f"print(*[int(n in sys.modules) for n in {NOT_FOR_ENCODE!r}])")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["0"] * len(NOT_FOR_ENCODE)
    from dfecs_app.cli.main import COMMAND_MODULES, build_parser

    text = build_parser().format_help()
    assert all(name in text for name in COMMAND_MODULES)


def test_dfecs_encode_as_its_own_process(trained, capsys, tmp_path):
    """The ``dfecs`` process (``main()`` without argv: the collector tuned, frozen at exit)
    writes the bytes ``main(argv)`` writes in this process, and its whole run of a landmark CSV
    loads none of :data:`NOT_FOR_ENCODE`; ``main(argv)`` leaves the collector as it was."""
    import gc
    import subprocess
    import sys

    before = gc.get_threshold(), gc.get_freeze_count()
    args = ["encode", str(trained["model"]), str(trained["held_out"]), "--out"]
    code, _, err = dfecs(capsys, *args, tmp_path / "here.csv")
    assert code == 0, err
    assert (gc.get_threshold(), gc.get_freeze_count()) == before
    script = ("import gc, sys; from dfecs_app.cli import main as m; code = m.main(); "
              "print(code, int(gc.get_freeze_count() > 0), "
              f"*[int(n in sys.modules) for n in {NOT_FOR_ENCODE!r}])")
    out = subprocess.run([sys.executable, "-c", script, *args, str(tmp_path / "own.csv")],
                         capture_output=True, text=True, check=True)
    assert out.stdout.splitlines()[-1].split() == ["0", "1"] + ["0"] * len(NOT_FOR_ENCODE)
    assert (tmp_path / "own.csv").read_bytes() == (tmp_path / "here.csv").read_bytes()


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc's mallopt")
def test_keep_freed_memory_reuses_large_blocks():
    """After :func:`dfecs_app.process.keep_freed_memory` a 64 MB array freed and allocated
    again is served from memory already touched (few page faults); without it, every page of
    the new array faults again."""
    import subprocess

    script = (
        "import resource, sys, numpy as np\n"
        "from dfecs_app.process import keep_freed_memory, no_huge_pages\n"
        "no_huge_pages()\n"
        "kept = keep_freed_memory() if sys.argv[1] == '1' else True\n"
        "a = np.ones(8 << 20); del a\n"
        "f0 = resource.getrusage(resource.RUSAGE_SELF).ru_minflt\n"
        "b = np.ones(8 << 20)\n"
        "print(int(kept), resource.getrusage(resource.RUSAGE_SELF).ru_minflt - f0)\n")
    pages = (8 << 20) * 8 // 4096
    runs = {}
    for flag in ("0", "1"):
        out = subprocess.run([sys.executable, "-c", script, flag], capture_output=True,
                             text=True, check=True)
        kept, faults = map(int, out.stdout.split())
        assert kept == 1
        runs[flag] = faults
    assert runs["0"] > pages // 2 and runs["1"] < pages // 10, runs


def test_frames_the_reader_drops_are_no_face_rows(trained, shared_data, tmp_path):
    """py-feat rows without landmarks and OpenFace rows with success=0 are dropped by the
    readers; coded, every frame of the file has its row (no_face set, no codes) and OpenFace's
    timestamp is the time_s column. The other frames are coded as without the dropped ones."""
    import csv

    with open(trained["held_out"], newline="") as fh:
        header, *rows = list(csv.reader(fh))
    full = dfecs_app.encode(trained["model"], [trained["held_out"]])
    for r in (2, 5):
        for j, name in enumerate(header):
            if name.startswith(("x_", "y_")):
                rows[r][j] = ""
    holed = tmp_path / "holed.csv"
    with open(holed, "w", newline="") as fh:
        csv.writer(fh).writerows([header] + rows)
    got = dfecs_app.encode(trained["model"], [holed])
    assert len(got) == len(full) == len(rows)
    assert got["frame"].tolist() == full["frame"].tolist()
    assert got["no_face"].tolist() == [int(r in (2, 5)) for r in range(len(rows))]
    from dfecs_app.io.coding import HEAD_COLUMNS, TAIL_COLUMNS

    au = [c for c in got.columns if c not in HEAD_COLUMNS + TAIL_COLUMNS]
    assert au and got.loc[[2, 5], au].isna().all().all()
    kept = [r for r in range(len(rows)) if r not in (2, 5)]
    assert got.loc[kept, au].notna().all().all()
    np.testing.assert_allclose(got.loc[kept, au].to_numpy(), full.loc[kept, au].to_numpy(),
                               rtol=1e-12, atol=1e-12)

    lines = (shared_data / "tracks" / "OpenFace_Test.csv").read_text().splitlines()
    names = [c.strip() for c in lines[0].split(",")]
    success = names.index("success")
    for r in (3, 4, 50):
        fields = lines[1 + r].split(",")
        fields[success] = " 0"
        lines[1 + r] = ",".join(fields)
    openface = tmp_path / "openface.csv"
    openface.write_text("\n".join(lines) + "\n")
    coded = dfecs_app.encode(trained["model"], [openface])
    assert len(coded) == len(lines) - 1
    assert coded["no_face"].tolist() == [int(r in (3, 4, 50)) for r in range(len(coded))]
    stamps = [float(ln.split(",")[names.index("timestamp")]) for ln in lines[1:]]
    np.testing.assert_array_equal(coded["time_s"].to_numpy(), stamps)


def test_no_face_rows_come_from_the_reader_without_reading_the_file_again(
        trained, shared_data, tmp_path, monkeypatch):
    """The trackers' readers hand over every row's frame and time (the dropped rows too): equal
    to a pandas re-read of the file, and coding does not read the file again. A time column
    with a non-number is not the reader's to refuse: that file is read as before, re-read
    for its rows, the odd time NaN."""
    from dfecs_app.io import coding
    from dfecs_app.io.readers import read_landmark_files

    lines = (shared_data / "tracks" / "single_face_dlib68.csv").read_text().splitlines()
    names = lines[0].split(",")
    rows = [ln.split(",") for ln in lines[1:]]
    for r in (7, 8):
        rows[r][names.index("detected")] = "0"
    track = tmp_path / "track.csv"
    track.write_text("\n".join([lines[0]] + [",".join(f) for f in rows]) + "\n")
    result = read_landmark_files([track])
    frame, time_s = result.file_rows[str(track)]
    again = coding._reread_track_rows(track)
    np.testing.assert_array_equal(frame, again[0])
    np.testing.assert_array_equal(time_s, again[1])
    assert len(frame) == len(rows) and len(result.table) == len(rows) - 2

    def no_reread(path):
        raise AssertionError(f"{path} read again")

    with monkeypatch.context() as m:
        m.setattr(coding, "_reread_track_rows", no_reread)
        coded = dfecs_app.encode(trained["model"], [track])
    assert coded["no_face"].tolist() == [int(r in (7, 8)) for r in range(len(rows))]
    np.testing.assert_array_equal(coded["time_s"].to_numpy(), time_s)

    rows[3][names.index("time_s")] = "n/a"
    odd = tmp_path / "odd_time.csv"
    odd.write_text("\n".join([lines[0]] + [",".join(f) for f in rows]) + "\n")
    odd_read = read_landmark_files([odd])
    assert not odd_read.errors and str(odd) not in odd_read.file_rows
    coded_odd = dfecs_app.encode(trained["model"], [odd])
    assert coded_odd["no_face"].tolist() == coded["no_face"].tolist()
    want = time_s.copy()
    want[3] = np.nan
    np.testing.assert_array_equal(coded_odd["time_s"].to_numpy(), want)
