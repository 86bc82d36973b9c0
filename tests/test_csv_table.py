"""The fast CSV writer (issue 10, Speed): the bytes of ``DataFrame.to_csv``, every float exact."""

from __future__ import annotations

import io
import shutil

import numpy as np
import pandas as pd
import pytest

from dfecs_app.core.aumodel import AUModel
from dfecs_app.core.recipe import Recipe
from dfecs_app.core.synthetic import make_kpm_dataset
from dfecs_app.io import csv_table
from dfecs_app.io._float_text import FALLBACK, float_texts, shortest_digits
from dfecs_app.io.coding import clips_frame, code_file, write_codes
from dfecs_app.io.frontalization_weights import load_frontalization_weights


def pandas_bytes(df: pd.DataFrame) -> bytes:
    buf = io.StringIO()
    df.to_csv(buf, index=False, lineterminator="\n")
    return buf.getvalue().encode("utf-8")


def ours(df: pd.DataFrame) -> bytes:
    buf = io.BytesIO()
    csv_table.write_csv(buf, df)
    return buf.getvalue()


EDGES = [0.0, -0.0, 0.1, 0.2, 0.3, 1 / 3, -2 / 3, 0.5, 1.5, 2.5, 1.0, 100.0, 1e-4, 1e-5,
         1.234e-5, 9.999999e-7, 1e-6, 1e15, 1e16, 9.1e15, 123456789012345.6, 2.0**53,
         2.0**-20, 5e-324, 2.2250738585072014e-308, 1.7976931348623157e308, np.inf, -np.inf,
         0.30000000000000004, 9.999999999999999e22, 4.35, 0.045, 1e-300, -1e300]


def test_float_text_is_reprs_text():
    rng = np.random.default_rng(7)
    values = np.concatenate([
        np.asarray(EDGES),
        rng.random(100_000),  # codes-like: 16-17 significant digits
        rng.normal(size=100_000) * 10.0 ** rng.integers(-9, 19, 100_000),
        np.round(rng.random(50_000) * 1e4) / 10.0 ** rng.integers(0, 8, 50_000),  # short
        rng.integers(-10**6, 10**6, 20_000).astype(float),
        np.frombuffer(rng.bytes(8 * 20_000), dtype=np.float64),  # every exponent
    ])
    values = values[~np.isnan(values)]
    assert float_texts(values) == [repr(v) for v in values.tolist()]
    kind = shortest_digits(values[len(EDGES):len(EDGES) + 100_000])[0]
    assert (kind == FALLBACK).mean() < 0.01  # the fast path formats nearly every value


def test_nan_is_an_empty_cell_and_odd_columns_are_written_by_pandas():
    df = pd.DataFrame({"a": [np.nan, 1.0], "b": ["x", None], "c": [3, -4]})
    assert ours(df) == pandas_bytes(df) == b"a,b,c\n,x,3\n1.0,,-4\n"
    odd = pd.DataFrame({"flag": [True, False], "t": pd.to_datetime(["2020-01-01", "2021-01-01"])})
    assert ours(odd) == pandas_bytes(odd)
    assert ours(df.iloc[:0]) == pandas_bytes(df.iloc[:0])
    assert ours(df[["a"]]) == pandas_bytes(df[["a"]])
    big = pd.DataFrame({"u": np.array([2**64 - 1, 0], dtype=np.uint64), "i": [-2**63, 2**63 - 1],
                        "f32": np.array([0.1, np.nan], dtype=np.float32), "s": ["a", "b"]})
    for cols in (["u", "s"], ["i", "s"], ["f32", "s"]):
        assert ours(big[cols]) == pandas_bytes(big[cols])


def test_text_needing_quotes_unicode_and_edge_floats():
    n = len(EDGES)
    rng = np.random.default_rng(0)
    words = ["plain", 'say "hi"', "a,b", "two\nlines", "", "Zoë ✓", " lead", "cr\rx", "nan"]
    df = pd.DataFrame({
        "subject": [words[i % len(words)] for i in range(n)],
        "frame": np.arange(n, dtype=np.int64) * -7919 + 2**40,
        "v": EDGES,
        "w": rng.normal(size=n) * 1e3,
        "no_face": (np.arange(n) % 3 == 0).astype(np.int8),
        'sour,ce "col"': "dir/with,comma/and \"quote\".csv",
    })
    df.loc[::4, "w"] = np.nan
    assert ours(df) == pandas_bytes(df)


@pytest.fixture(scope="module")
def codes_table(shared_data, tmp_path_factory):
    """The per-frame table of a real track with frames without a face (in a file whose name
    needs quoting) and of a generic landmark CSV (no time_s)."""
    tmp = tmp_path_factory.mktemp("csvtable")
    track = pd.read_csv(shared_data / "tracks" / "single_face_dlib68.csv")
    lost = track.index[5:9]
    track.loc[lost, "detected"] = 0
    track.loc[lost, [c for c in track.columns if c.startswith(("x_", "y_"))]] = np.nan
    odd = tmp / 'clip, "take 2".csv'
    track.to_csv(odd, index=False)
    generic = tmp / "news 010.csv"
    shutil.copy(sorted((shared_data / "tracks" / "news_sample").glob("*.csv"))[9], generic)
    _, _, U, _ = make_kpm_dataset(10, random_state=0)
    sha = load_frontalization_weights("68").sha256
    model = AUModel(components=U, kind="dfecs",
                    meta={"recipe": Recipe(frontalization={"68": sha}).to_dict()})
    clips = [code_file(model, odd), code_file(model, generic)]
    return clips_frame(clips, model), tmp


def test_codes_csv_is_byte_for_byte_pandas(codes_table):
    df, tmp = codes_table
    assert df["no_face"].sum() == 4 and df["time_s"].isna().any() and df["time_s"].notna().any()
    assert df["ve"].isna().any()  # the neutral frames
    out = tmp / "codes.csv"
    write_codes(out, df)
    assert out.read_bytes() == pandas_bytes(df)
    back = pd.read_csv(out)
    old = pd.read_csv(io.BytesIO(pandas_bytes(df)))
    pd.testing.assert_frame_equal(back, old, check_exact=True)
    au = df.attrs["au_columns"]
    np.testing.assert_array_equal(back[au].to_numpy(), df[au].to_numpy())  # bit for bit, NaN
    assert back["source"].iloc[0] == str(tmp / 'clip, "take 2".csv')
