"""Batch runs: many inputs, one output file each, on local processes or a Dask cluster.

A :class:`BatchTask` names its inputs, its output file and a picklable top-level function
``func(*args, **kwargs) -> dict`` that reads the inputs and writes the output atomically
(``io/atomic.py``), returning counts for the summary (``frames``, ``faces``, any others).
:func:`run_batch` runs the tasks

* in this process, one after another (``jobs=1``, no scheduler);
* on ``jobs`` local worker processes (``spawn``ed, each with one decoder/BLAS thread);
* on an existing Dask distributed cluster (``scheduler="tcp://host:8786"``, or the
  ``DFECS_SCHEDULER`` environment variable), whose workers must import ``dfecs_app`` and see
  the input and output folders under the same paths.

Each task's outcome is a :class:`TaskResult`; a failing task (a :class:`DfecsError` or an
``OSError``) becomes one line in the summary and the others carry on. What a task computes
does not depend on where it runs, so outputs are byte-identical between serial, local-pool and
cluster runs.

Complete outputs and ``resume``
-------------------------------
After the output is written, the worker writes a hidden manifest beside it,
``.<output name>.dfecs-done.json`` (atomically, after the output): the task's function and
options, the app version, each input's path, size and mtime (ns), and the output's size and
SHA-256. An output is *complete* when its manifest exists and still matches all of these
(inputs unchanged, same options, output unchanged). With ``resume=True`` complete outputs are
skipped (``status='skipped'``); anything else is redone, so a batch killed at any moment
resumes without redoing finished files and without trusting half-written ones (a killed
write leaves only a hidden ``.<name>.*.tmp`` file, which is removed before the task is redone).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from dfecs_app import __version__
from dfecs_app.core.progress import TaskState, ensure_state
from dfecs_app.errors import DfecsError, InputError
from dfecs_app.io.atomic import write_json_atomic

#: Environment variable naming a Dask scheduler address (``--scheduler`` overrides it).
SCHEDULER_ENV = "DFECS_SCHEDULER"
MANIFEST_FORMAT = "dfecs-batch-done"
MANIFEST_VERSION = 1


@dataclass(frozen=True)
class BatchTask:
    """One unit of a batch.

    Attributes
    ----------
    name : str
        Label in the summary (usually the input path).
    inputs : tuple of str
        Files the task reads (their size and mtime go into the manifest).
    output : str
        The file the task writes.
    func : callable
        Picklable top-level function; called as ``func(*args, **kwargs)``; returns a dict of
        counts (``frames``, ``faces``, ...).
    args, kwargs
        Its arguments (picklable).
    options : dict
        JSON-able settings that change the output (recorded in the manifest).
    """

    name: str
    inputs: tuple[str, ...]
    output: str
    func: Callable[..., dict]
    args: tuple = ()
    kwargs: dict = field(default_factory=dict)
    options: dict = field(default_factory=dict)


@dataclass
class TaskResult:
    """Outcome of one task: ``status`` is 'done', 'skipped' (complete, resumed) or 'failed'."""

    name: str
    output: str
    status: str
    seconds: float = 0.0
    counts: dict = field(default_factory=dict)
    error: str | None = None

    def line(self) -> str:
        """One summary line, e.g. ``a.mp4 -> out/a.csv: done, 72 frames, face in 72, 1.6 s``."""
        if self.status == "failed":
            return f"{self.name}: FAILED: {self.error}"
        head = f"{self.name} -> {self.output}: {self.status}"
        parts = []
        if "frames" in self.counts:
            parts.append(f"{self.counts['frames']} frames")
        if "faces" in self.counts:
            faces = self.counts["faces"]
            parts.append(f"face in {faces}" if faces else "NO FACE in any frame")
        if self.status == "done":
            parts.append(f"{self.seconds:.1f} s")
        return head + (", " + ", ".join(parts) if parts else "")


# ---------------------------------------------------------------------------------------------
# Manifests
# ---------------------------------------------------------------------------------------------
def manifest_path(output: str | os.PathLike) -> Path:
    """The hidden sidecar manifest of an output file."""
    out = Path(output)
    return out.with_name(f".{out.name}.dfecs-done.json")


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def _func_name(func: Callable) -> str:
    return f"{func.__module__}.{func.__qualname__}"


def _input_stats(inputs: Iterable[str]) -> list[dict]:
    out = []
    for p in inputs:
        st = os.stat(p)
        out.append({"path": str(Path(p).resolve()), "size": st.st_size, "mtime_ns": st.st_mtime_ns})
    return out


def _expected(task: BatchTask) -> dict:
    return {
        "format": MANIFEST_FORMAT,
        "format_version": MANIFEST_VERSION,
        "app_version": __version__,
        "func": _func_name(task.func),
        "options": json.loads(json.dumps(task.options, sort_keys=True)),
        "inputs": _input_stats(task.inputs),
    }


def is_complete(task: BatchTask) -> tuple[bool, dict]:
    """Whether ``task.output`` is complete (module docstring), and its recorded counts."""
    out = Path(task.output)
    try:
        recorded = json.loads(manifest_path(out).read_text(encoding="utf-8"))
        expected = _expected(task)
        if not isinstance(recorded, dict) or any(recorded.get(k) != v for k, v in expected.items()):
            return False, {}
        st = out.stat()
        if recorded.get("output", {}).get("size") != st.st_size:
            return False, {}
        if recorded["output"].get("sha256") != _sha256(out):
            return False, {}
        counts = recorded.get("counts", {})
        return True, counts if isinstance(counts, dict) else {}
    except (OSError, ValueError, KeyError, AttributeError):
        return False, {}


def write_manifest(task: BatchTask, counts: dict, expected: dict | None = None) -> None:
    """Mark ``task.output`` complete (call after writing it); ``expected`` defaults to the
    inputs as they are now."""
    out = Path(task.output)
    st = out.stat()
    write_json_atomic(manifest_path(out), {
        **(expected or _expected(task)), "output": {"size": st.st_size, "sha256": _sha256(out)},
        "counts": counts})


def _remove_stale_temporaries(output: Path) -> None:
    """Temporary files a killed atomic write of ``output`` left behind."""
    for tmp in output.parent.glob(f".{output.name}.*.tmp"):
        with contextlib.suppress(OSError):
            tmp.unlink()


# ---------------------------------------------------------------------------------------------
# Running one task (in whichever process runs it)
# ---------------------------------------------------------------------------------------------
def run_task(task: BatchTask) -> TaskResult:
    """Run one task where this is called: output, then manifest; errors become the result."""
    start = time.perf_counter()
    out = Path(task.output)
    try:
        _remove_stale_temporaries(out)
        with contextlib.suppress(FileNotFoundError):
            manifest_path(out).unlink()  # an output being redone is not complete
        expected = _expected(task)  # inputs as they were when the task started
        counts = task.func(*task.args, **task.kwargs) or {}
        write_manifest(task, counts, expected)
        return TaskResult(task.name, task.output, "done", time.perf_counter() - start, counts)
    except DfecsError as err:
        return TaskResult(task.name, task.output, "failed", time.perf_counter() - start,
                          error=str(err))
    except OSError as err:
        where = getattr(err, "filename", None) or task.name
        return TaskResult(task.name, task.output, "failed", time.perf_counter() - start,
                          error=f"{where}: {err.strerror or err}")


def _init_worker() -> None:
    """One thread per worker process for decoding and BLAS (the processes are the parallelism)."""
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    try:
        import cv2

        cv2.setNumThreads(1)
    except ImportError:  # pragma: no cover - a core dependency
        pass
    try:
        from threadpoolctl import threadpool_limits

        threadpool_limits(1)
    except ImportError:  # pragma: no cover - a core dependency
        pass


# ---------------------------------------------------------------------------------------------
# Executors
# ---------------------------------------------------------------------------------------------
def default_jobs() -> int:
    """All cores this process may use."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # pragma: no cover - not Linux
        return max(1, os.cpu_count() or 1)


def resolve_scheduler(scheduler: str | None) -> str | None:
    """``scheduler``, else ``$DFECS_SCHEDULER``, else None (the local pool)."""
    value = scheduler if scheduler else os.environ.get(SCHEDULER_ENV, "")
    return value.strip() or None


def map_unordered(func: Callable[[Any], Any], items: Sequence, *, jobs: int | None = None,
                  scheduler: str | None = None, state: TaskState | None = None):
    """Yield ``(index, func(item))`` as each finishes: in process, on a pool or on Dask.

    ``func`` must be a picklable top-level function when ``jobs > 1`` or ``scheduler`` is
    given. ``state`` is checked between items (Cancel stops submitting and cancels the rest).
    """
    state = ensure_state(state)
    scheduler = resolve_scheduler(scheduler)
    jobs = default_jobs() if jobs is None else int(jobs)
    if jobs < 1:
        raise InputError("must be 1 or more", field="--jobs")
    if not items:
        return
    if scheduler is not None:
        yield from _map_dask(func, items, scheduler, state)
    elif jobs == 1 or len(items) == 1:
        for i, item in enumerate(items):
            state.check()
            yield i, func(item)
    else:
        yield from _map_pool(func, items, min(jobs, len(items)), state)


def map_ordered(func: Callable[[Any], Any], items: Sequence, *, jobs: int | None = None,
                scheduler: str | None = None, state: TaskState | None = None) -> list:
    """``[func(item) for item in items]``, computed as :func:`map_unordered` does."""
    out: list = [None] * len(items)
    for i, value in map_unordered(func, items, jobs=jobs, scheduler=scheduler, state=state):
        out[i] = value
    return out


def _map_pool(func, items, jobs, state):
    import multiprocessing
    from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait

    ctx = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(jobs, mp_context=ctx, initializer=_init_worker) as pool:
        futures = {pool.submit(func, item): i for i, item in enumerate(items)}
        pending = set(futures)
        try:
            while pending:
                done, pending = wait(pending, timeout=0.2, return_when=FIRST_COMPLETED)
                state.check()
                for f in done:
                    yield futures[f], f.result()
        finally:
            for f in pending:
                f.cancel()


def _map_dask(func, items, address, state):
    try:
        from dask.distributed import Client, as_completed
    except ImportError:
        from dfecs_app.errors import MissingResourceError

        raise MissingResourceError(
            "running on a cluster needs dask.distributed: pip install dfecs-studio[cluster]"
        ) from None
    try:
        client = Client(address, timeout="10s")
    except (OSError, TimeoutError) as err:
        raise InputError(f"cannot reach the Dask scheduler at {address} ({err})",
                         field="--scheduler") from None
    try:
        futures = client.map(func, list(items), pure=False)
        index = {f.key: i for i, f in enumerate(futures)}
        try:
            for f in as_completed(futures):
                state.check()
                yield index[f.key], f.result()
        finally:
            client.cancel([f for f in futures if not f.done()])
    finally:
        client.close()


# ---------------------------------------------------------------------------------------------
# The batch
# ---------------------------------------------------------------------------------------------
def run_batch(tasks: Sequence[BatchTask], *, jobs: int | None = None, scheduler: str | None = None,
              resume: bool = False, progress: TaskState | None = None,
              failed: Sequence[TaskResult] = ()) -> list[TaskResult]:
    """Run ``tasks``; one :class:`TaskResult` each, in task order.

    Parameters
    ----------
    tasks : sequence of BatchTask
        Outputs must be distinct.
    jobs : int, optional
        Local worker processes (default: all cores; 1 runs in this process).
    scheduler : str, optional
        Dask scheduler address (default ``$DFECS_SCHEDULER``; none: the local pool).
    resume : bool
        Skip tasks whose outputs are complete (module docstring).
    progress : TaskState, optional
        ``report("batch", fraction, last finished)`` per task; cancellable between tasks.
    failed : sequence of TaskResult
        Inputs that failed before any task could be made (e.g. unreadable paths); they are
        counted by the progress and returned first.
    """
    state = ensure_state(progress)
    outputs = [str(Path(t.output).resolve()) for t in tasks]
    if len(set(outputs)) != len(outputs):
        dup = next(o for o in outputs if outputs.count(o) > 1)
        raise InputError("two inputs would write the same output", dup)
    results: list[TaskResult | None] = [None] * len(tasks)
    todo: list[int] = []
    for i, task in enumerate(tasks):
        if resume:
            complete, counts = is_complete(task)
            if complete:
                results[i] = TaskResult(task.name, task.output, "skipped", 0.0, counts)
                continue
        todo.append(i)
    total = len(tasks) + len(failed)
    finished = total - len(todo)
    state.report("batch", finished / total if total else 1.0,
                 f"{finished} of {total} complete", force=True)
    for j, result in map_unordered(run_task, [tasks[i] for i in todo], jobs=jobs,
                                   scheduler=scheduler, state=state):
        results[todo[j]] = result
        finished += 1
        state.report("batch", finished / total, f"{Path(result.name).name}: {result.status}",
                     force=True)
    return list(failed) + [r for r in results if r is not None]


def summary_lines(results: Sequence[TaskResult]) -> list[str]:
    """Per-input lines, then a total line."""
    lines = [r.line() for r in results]
    n = {s: sum(r.status == s for r in results) for s in ("done", "skipped", "failed")}
    frames = sum(int(r.counts.get("frames", 0)) for r in results)
    secs = sum(r.seconds for r in results)
    lines.append(f"batch: {len(results)} inputs, {n['done']} done, {n['skipped']} skipped "
                 f"(complete), {n['failed']} failed; {frames} frames; {secs:.1f} s of work")
    return lines
