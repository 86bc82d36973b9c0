"""Kill -9 of ``dfecs train``, ``dfecs kpm`` and a voting rating session at random moments (a
sample of ``benchmarks/bench_kill9.py``, which runs >= 50 kills each): the output is absent
or complete and parses, an older output survives intact, no completed vote is lost."""

from __future__ import annotations

import importlib.util
import random
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def _bench():
    spec = importlib.util.spec_from_file_location("bench_kill9", ROOT / "benchmarks" / "bench_kill9.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules["bench_kill9"] = module  # dataclasses look their module up
    spec.loader.exec_module(module)
    return module


@pytest.mark.slow
def test_kill9_leaves_complete_or_no_output_and_loses_no_vote(shared_data, tmp_path) -> None:
    bench = _bench()
    rng = random.Random(7)
    files = bench.prepare(tmp_path)
    train = bench.kill_train(tmp_path, files, 4, rng, 9.0)
    kpm = bench.kill_kpm(tmp_path, files, 4, rng, 7.0)
    votes = bench.kill_votes(tmp_path, 5, rng, 2.5)
    for tally in (train, kpm, votes):
        assert tally.runs and not tally.broken, tally.broken
    assert votes.votes_checked > 0
    assert train.absent + train.complete + train.old_kept == train.runs
    assert kpm.absent + kpm.complete + kpm.old_kept == kpm.runs
