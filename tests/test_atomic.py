"""Atomic writes: devices and FIFOs are never replaced, stale temporary files are cleaned up."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
import threading

import pytest

from dfecs_app.errors import InputError
from dfecs_app.io import atomic
from dfecs_app.io.atomic import remove_stale_temps, write_bytes_atomic, write_text_atomic

posix_only = pytest.mark.skipif(os.name != "posix", reason="FIFOs, device nodes and pids are POSIX")


@posix_only
def test_a_fifo_with_a_reader_is_written_in_place_and_stays_a_fifo(tmp_path):
    fifo = tmp_path / "curves.csv"
    os.mkfifo(fifo)
    got: list[bytes] = []
    reader = threading.Thread(target=lambda: got.append(fifo.read_bytes()))
    reader.start()
    for _ in range(200):  # wait until the reader has the pipe open
        try:
            write_text_atomic(fifo, "model,data\n")
            break
        except InputError:
            threading.Event().wait(0.01)
    reader.join(5)
    assert got == [b"model,data\n"]
    assert stat.S_ISFIFO(os.lstat(fifo).st_mode)
    assert [p.name for p in tmp_path.iterdir()] == ["curves.csv"]


@posix_only
def test_a_fifo_nobody_reads_is_refused_without_waiting(tmp_path):
    fifo = tmp_path / "curves.csv"
    os.mkfifo(fifo)
    with pytest.raises(InputError, match="named pipe .* no program is reading") as err:
        write_text_atomic(fifo, "x\n")
    assert str(fifo) in str(err.value)
    assert stat.S_ISFIFO(os.lstat(fifo).st_mode)
    assert [p.name for p in tmp_path.iterdir()] == ["curves.csv"]


@posix_only
def test_a_character_device_is_written_in_place_not_replaced(tmp_path):
    node = tmp_path / "null"
    try:  # a node of the null device (1, 3) of our own; needs CAP_MKNOD (root)
        os.mknod(node, 0o666 | stat.S_IFCHR, os.makedev(1, 3))
    except PermissionError:
        pytest.skip("creating a device node needs root; the char-device path is not tested here")
    write_bytes_atomic(node, b"discarded")
    st = os.lstat(node)
    assert stat.S_ISCHR(st.st_mode) and st.st_rdev == os.makedev(1, 3)
    assert [p.name for p in tmp_path.iterdir()] == ["null"]


def test_a_folder_is_refused_and_a_symlink_stays_a_link(tmp_path):
    with pytest.raises(InputError, match="is a folder"):
        write_text_atomic(tmp_path, "x")
    real = tmp_path / "real.csv"
    real.write_text("old")
    link = tmp_path / "latest.csv"
    link.symlink_to(real)
    write_text_atomic(link, "new")
    assert link.is_symlink() and real.read_text() == "new"


def _dead_pid() -> int:
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    return child.pid


@posix_only
def test_stale_temporary_files_of_dead_processes_go_on_the_next_write(tmp_path):
    host = atomic._HOST
    stale = tmp_path / f".model.npz.dfecs{_dead_pid()}-{host}.k2j4x9a1.tmp"
    stale.write_bytes(b"\0" * 1000)
    sleeper = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        live = tmp_path / f".kpm.npz.dfecs{sleeper.pid}-{host}.abcdefgh.tmp"
        live.write_bytes(b"in progress")
        other_host = tmp_path / f".x.npz.dfecs{_dead_pid()}-{'0' * 6 if host != '0' * 6 else '1' * 6}.abcdefgh.tmp"
        other_host.write_bytes(b"another machine's")
        users = tmp_path / ".notes.txt.tmp"
        users.write_bytes(b"not ours")
        write_text_atomic(tmp_path / "out.csv", "a\n")
        assert not stale.exists()
        assert live.read_bytes() == b"in progress"
        assert other_host.exists() and users.exists()
        assert (tmp_path / "out.csv").read_text() == "a\n"
        assert remove_stale_temps(tmp_path, force=True) == []
    finally:
        sleeper.kill()
        sleeper.wait()


@posix_only
def test_a_killed_writer_leaves_a_temp_that_the_next_run_removes(tmp_path):
    """A real process killed (SIGKILL) in the middle of an atomic write."""
    code = ("import sys, time; from dfecs_app.io.atomic import atomic_open\n"
            "with atomic_open(sys.argv[1], 'wb') as fh:\n"
            "    fh.write(b'x' * 100000); fh.flush(); print('writing', flush=True); time.sleep(60)\n")
    target = tmp_path / "model.npz"
    target.write_bytes(b"the good old model")
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(sys.path))
    child = subprocess.Popen([sys.executable, "-c", code, str(target)], stdout=subprocess.PIPE, env=env)
    assert child.stdout.readline() == b"writing\n"
    child.kill()
    child.wait()
    child.stdout.close()
    leftovers = [p for p in tmp_path.iterdir() if p.name.endswith(".tmp")]
    assert len(leftovers) == 1 and target.read_bytes() == b"the good old model"
    write_bytes_atomic(tmp_path / "other.csv", b"next run")
    assert [p.name for p in sorted(tmp_path.iterdir())] == ["model.npz", "other.csv"]


def test_outputs_of_one_run_are_written_together_or_not_at_all(tmp_path):
    from dfecs_app.io.atomic import write_files_atomic

    a, b = tmp_path / "a.csv", tmp_path / "b.png"
    a.write_bytes(b"old a")
    (tmp_path / "sub").write_bytes(b"a file where a folder should be")
    with pytest.raises(InputError, match="not a folder"):
        write_files_atomic([(a, b"new a"), (tmp_path / "sub" / "b.png", b"new b")])
    assert a.read_bytes() == b"old a" and sorted(p.name for p in tmp_path.iterdir()) == ["a.csv", "sub"]
    with pytest.raises(InputError, match="same file"):
        write_files_atomic([(a, b"1"), (tmp_path / "." / "a.csv", b"2")])
    assert write_files_atomic([(a, b"new a"), (b, b"new b")]) == [a, b]
    assert a.read_bytes() == b"new a" and b.read_bytes() == b"new b"
