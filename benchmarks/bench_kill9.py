"""Kill -9 at random moments: ``dfecs train``, ``dfecs kpm`` and a rating session mid-vote.

Each run starts the real command as a subprocess on real data (``../shared/data``), sends
SIGKILL after a random delay, and checks what is left:

- ``train`` / ``kpm``: the output is absent, or complete and parses (``load_model`` /
  ``load_kpm``); when an older output existed it is either that file, intact, or the new one;
- rating session: a writer votes as fast as it can and prints each vote once ``set_vote``
  returned; after the kill every printed vote is in the session file.

Hidden temporary files left beside the output (``.NAME.*.tmp``) are counted and reported
(their clean-up is another part of issue 14). Run from the project root::

    .venv/bin/python benchmarks/bench_kill9.py [--runs 50] [--seed 0]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("DFECS_SHARED_DATA", ROOT.parent / "shared" / "data"))
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DFECS_FRONTALIZATION_DIR", str(SHARED / "frontalization"))

PARAMS = json.dumps({"hfm": {"q": 3, "alpha_A": 0.1, "alpha_B": 0.1}})
VOTER = """
import sys
from dfecs_app.io.rating_session import RatingSession
s = RatingSession.open(sys.argv[1])
k, n = s.n_components, 0
while True:
    c = n % k
    s.set_vote("Ann", c, (n // k) % 2 == 0, points=[n % 68])
    print(n, c, (n // k) % 2 == 0, n % 68, flush=True)
    n += 1
"""


@dataclass
class Tally:
    runs: int = 0
    absent: int = 0
    complete: int = 0
    old_kept: int = 0
    broken: list[str] = field(default_factory=list)
    temp_files: int = 0
    votes_checked: int = 0

    def line(self, name: str) -> str:
        return (f"{name:8s} {self.runs} kills: {self.absent} output absent, {self.complete} "
                f"complete, {self.old_kept} older output intact, {len(self.broken)} broken; "
                f"{self.temp_files} temporary files left"
                + (f"; {self.votes_checked} completed votes checked" if self.votes_checked
                   else ""))


def _env() -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": str(ROOT),
            "DFECS_FRONTALIZATION_DIR": str(SHARED / "frontalization")}


def _dfecs(*args: str) -> list[str]:
    return [sys.executable, "-c", "import sys; from dfecs_app.cli.main import main; "
            "sys.exit(main(sys.argv[1:]))", *args]


def _kill_after(cmd: list[str], delay: float, capture: bool = False) -> subprocess.Popen:
    proc = subprocess.Popen(cmd, env=_env(), stderr=subprocess.DEVNULL,
                            stdout=subprocess.PIPE if capture else subprocess.DEVNULL)
    try:
        proc.wait(timeout=delay)
    except subprocess.TimeoutExpired:
        proc.send_signal(signal.SIGKILL)
        proc.wait()
    return proc


def _check_output(out: Path, loader, old: bytes | None, tally: Tally) -> None:
    tally.runs += 1
    tally.temp_files += len(list(out.parent.glob(f".{out.name}.*.tmp")))
    for leftover in out.parent.glob(f".{out.name}.*.tmp"):
        leftover.unlink()
    if not out.exists():
        if old is not None:
            tally.broken.append(f"{out}: the older output vanished")
        else:
            tally.absent += 1
        return
    if old is not None and out.read_bytes() == old:
        tally.old_kept += 1
        return
    try:
        loader(out)
        tally.complete += 1
    except Exception as err:  # noqa: BLE001 - a broken output is what we count
        tally.broken.append(f"{out}: {err}")


def prepare(work: Path) -> dict[str, Path]:
    """A KPM file and an old model/KPM output made from the shared real tracks."""
    from dfecs_app.cli.main import main

    kpm = work / "kpm.npz"
    assert main(["kpm", str(SHARED / "tracks" / "news_sample"), "--out", str(kpm)]) == 0
    model = work / "old_model.npz"
    assert main(["baseline", "pca", str(kpm), "--out", str(model)]) == 0
    return {"kpm": kpm, "old_model": model, "old_kpm": kpm}


def measure(work: Path, files: dict[str, Path]) -> tuple[float, float]:
    """Seconds of one uninterrupted ``dfecs train`` and ``dfecs kpm`` subprocess here."""
    out = []
    for cmd in (_dfecs("train", str(files["kpm"]), "--params", PARAMS, "--out",
                       str(work / "m_full.npz")),
                _dfecs("kpm", str(SHARED / "tracks" / "news_sample"), "--out",
                       str(work / "k_full.npz"))):
        t = time.perf_counter()
        subprocess.run(cmd, env=_env(), check=True, capture_output=True)
        out.append(time.perf_counter() - t)
    return out[0], out[1]


def kill_train(work: Path, files: dict[str, Path], runs: int, rng: random.Random,
               max_delay: float) -> Tally:
    from dfecs_app.io.model_file import load_model

    tally = Tally()
    for i in range(runs):
        out = work / f"train{i}" / "model.npz"
        out.parent.mkdir()
        old = None
        if i % 2:
            shutil.copy(files["old_model"], out)
            old = out.read_bytes()
        _kill_after(_dfecs("train", str(files["kpm"]), "--params", PARAMS, "--out", str(out)),
                    rng.uniform(0.0, max_delay))
        _check_output(out, load_model, old, tally)
    return tally


def kill_kpm(work: Path, files: dict[str, Path], runs: int, rng: random.Random,
             max_delay: float) -> Tally:
    from dfecs_app.io.kpm_file import load_kpm

    tally = Tally()
    for i in range(runs):
        out = work / f"kpm{i}" / "kpm.npz"
        out.parent.mkdir()
        old = None
        if i % 2:
            shutil.copy(files["old_kpm"], out)
            old = out.read_bytes()
        _kill_after(_dfecs("kpm", str(SHARED / "tracks" / "news_sample"), "--out", str(out)),
                    rng.uniform(0.0, max_delay))
        _check_output(out, load_kpm, old, tally)
    return tally


def kill_votes(work: Path, runs: int, rng: random.Random, max_delay: float) -> Tally:
    from dfecs_app.io.rating_session import RatingSession

    tally = Tally()
    for i in range(runs):
        path = work / f"votes{i}" / "session.json"
        path.parent.mkdir()
        RatingSession.create_from_names(path, [f"AU {j}" for j in range(12)], ["Ann"], seed=i)
        proc = _kill_after([sys.executable, "-c", VOTER, str(path)], rng.uniform(0.3, max_delay),
                           capture=True)
        with proc.stdout:
            printed = proc.stdout.read().decode().splitlines()
        done = [tuple(ln.split()) for ln in printed if len(ln.split()) == 4]
        tally.runs += 1
        tally.temp_files += len(list(path.parent.glob(".*.tmp")))
        try:
            session = RatingSession.open(path)
        except Exception as err:  # noqa: BLE001
            tally.broken.append(f"{path}: {err}")
            continue
        k = session.n_components
        latest: dict[int, tuple[bool, tuple[int, ...]]] = {}
        for _, c, vote, point in done:
            latest[int(c)] = (vote == "True", (int(point),))
        n_next = int(done[-1][0]) + 1 if done else 0  # the vote in flight when killed
        in_flight = (n_next % k, ((n_next // k) % 2 == 0, (n_next % 68,)))
        for c, want in latest.items():
            v = session.vote("Ann", c)
            got = None if v is None else (v.interpretable, v.points)
            if got != want and not (c == in_flight[0] and got == in_flight[1]):
                tally.broken.append(f"{path}: completed vote on component {c} lost "
                                    f"(printed {want}, on disk {got})")
        tally.votes_checked += len(done)
        tally.complete += 1
    return tally


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=50, help="kills per command (default 50)")
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args(argv)
    rng = random.Random(args.seed)
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        files = prepare(work)
        start = time.perf_counter()
        t_train, t_kpm = measure(work, files)
        print(f"uninterrupted runs: train {t_train:.1f} s, kpm {t_kpm:.1f} s; kills fall "
              "uniformly in 0..1.15 x that")
        results = {"train": kill_train(work, files, args.runs, rng, 1.15 * t_train),
                   "kpm": kill_kpm(work, files, args.runs, rng, 1.15 * t_kpm),
                   "session": kill_votes(work, args.runs, rng, 3.0)}
        for name, tally in results.items():
            print(tally.line(name))
            for b in tally.broken[:5]:
                print("   BROKEN", b)
        print(f"total {time.perf_counter() - start:.0f} s")
    return 0 if not any(t.broken for t in results.values()) else 1


if __name__ == "__main__":
    sys.exit(main())
