"""Build the frozen DFECS Studio bundle (``make package``): one folder, ``dfecs-studio`` + ``dfecs``.

Runs PyInstaller on ``packaging/pyinstaller/dfecs.spec`` and adds the desktop integration
(``packaging/linux``: ``.desktop`` entries, the rating-pack MIME type, ``install-desktop.sh``)
and ``BUILD_INFO.json`` (version, build key, build time, size) to the folder. It prints the
bundle's path, size and build time.

Builds are cached: the output folder is ``<dist>/<key>/dfecs-studio`` where ``key`` is a hash
of everything that goes into the bundle — the app's files (``dfecs_app``, without caches),
this script, ``packaging/{pyinstaller,linux,icons}``, the Python version and the name and
version of every installed distribution (documentation changes do not rebuild). An existing complete build with the same key is reused (``--force``
rebuilds); older builds in ``<dist>`` are removed.

Usage::

    .venv/bin/python packaging/build.py [--dist build/package] [--force]
"""

from __future__ import annotations

import argparse
import hashlib
import importlib.metadata
import json
import os
import platform
import shutil
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SPEC = ROOT / "packaging" / "pyinstaller" / "dfecs.spec"
BUNDLE_NAME = "dfecs-studio"
INFO_FILE = "BUILD_INFO.json"
#: Files copied to the top of the bundle folder.
DESKTOP_FILES = ("dfecs-studio.desktop", "dfecs-rating-pack.desktop", "dfecs-rating-pack.xml",
                 "install-desktop.sh")
#: The folders of packaging/ whose files go into the bundle (with build.py: the build key's inputs).
BUNDLED_PACKAGING_DIRS = ("pyinstaller", "linux", "icons")
_SKIP_DIRS = {"__pycache__", ".pytest_cache", ".ruff_cache"}
_SKIP_SUFFIXES = (".pyc", ".nbi", ".nbc")


def _input_files() -> list[Path]:
    files = [ROOT / "packaging" / "build.py"]
    for top in [ROOT / "dfecs_app"] + [ROOT / "packaging" / d for d in BUNDLED_PACKAGING_DIRS]:
        for dirpath, dirnames, filenames in os.walk(top):
            dirnames[:] = sorted(d for d in dirnames if d not in _SKIP_DIRS)
            files += [Path(dirpath) / f for f in sorted(filenames) if not f.endswith(_SKIP_SUFFIXES)]
    return files


def build_key() -> str:
    """Hash of every input of the bundle (see the module docstring), 16 hex digits."""
    h = hashlib.sha256()
    for path in _input_files():
        h.update(path.relative_to(ROOT).as_posix().encode() + b"\0")
        h.update(hashlib.sha256(path.read_bytes()).digest())
    h.update(sys.version.encode())
    dists = sorted(f"{d.metadata['Name']}=={d.version}" for d in importlib.metadata.distributions())
    h.update("\n".join(dists).encode())
    return h.hexdigest()[:16]


def folder_size(folder: Path) -> tuple[int, int]:
    """(bytes, number of files) of a folder, symlinks not followed."""
    total = n = 0
    for dirpath, _dirnames, filenames in os.walk(folder):
        for f in filenames:
            p = Path(dirpath) / f
            if not p.is_symlink():
                total += p.stat().st_size
                n += 1
    return total, n


def _add_desktop_files(bundle: Path) -> None:
    for name in DESKTOP_FILES:
        shutil.copy2(ROOT / "packaging" / "linux" / name, bundle / name)
    (bundle / "install-desktop.sh").chmod(0o755)


def build(dist: Path, force: bool = False) -> tuple[Path, dict]:
    """Build (or reuse) the bundle; return its folder and its build info.

    Raises
    ------
    SystemExit
        PyInstaller failed (its output is shown).
    """
    from dfecs_app import __version__

    key = build_key()
    out = dist / key
    bundle = out / BUNDLE_NAME
    info_path = bundle / INFO_FILE
    if not force and info_path.is_file():
        info = json.loads(info_path.read_text(encoding="utf-8"))
        if info.get("key") == key:
            info["reused"] = True
            return bundle, info
    dist.mkdir(parents=True, exist_ok=True)
    for old in dist.iterdir():  # one cached build at a time (each is ~1 GB)
        if old.is_dir() and old.name not in (key, "work"):
            shutil.rmtree(old, ignore_errors=True)
    shutil.rmtree(out, ignore_errors=True)
    t0 = time.perf_counter()
    cmd = [sys.executable, "-m", "PyInstaller", "--noconfirm", "--log-level", "WARN",
           "--workpath", str(dist / "work"), "--distpath", str(out), str(SPEC)]
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True)
    if proc.returncode != 0:
        sys.stderr.write(proc.stdout[-4000:] + proc.stderr[-8000:])
        raise SystemExit(f"PyInstaller failed (exit {proc.returncode})")
    _add_desktop_files(bundle)
    seconds = time.perf_counter() - t0
    size, n_files = folder_size(bundle)
    info = {"name": "DFECS Studio", "version": __version__, "key": key,
            "platform": f"{platform.system()}-{platform.machine()}",
            "python": platform.python_version(), "build_seconds": round(seconds, 1),
            "size_bytes": size, "n_files": n_files}
    info_path.write_text(json.dumps(info, indent=2) + "\n", encoding="utf-8")
    info["reused"] = False
    return bundle, info


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dist", type=Path, default=ROOT / "build" / "package",
                        help="where builds are kept (default build/package)")
    parser.add_argument("--force", action="store_true", help="rebuild even if a build is cached")
    args = parser.parse_args(argv)
    sys.path.insert(0, str(ROOT))
    bundle, info = build(args.dist.resolve(), force=args.force)
    how = "reused cached build" if info["reused"] else f"built in {info['build_seconds']:.0f} s"
    print(f"DFECS Studio {info['version']} bundle ({info['platform']}): {bundle}")
    print(f"size: {info['size_bytes'] / 1e6:.0f} MB in {info['n_files']} files; {how} "
          f"(first build: {info['build_seconds']:.0f} s)")
    print(f"run: {bundle / 'dfecs-studio'}   or   {bundle / 'dfecs'} --help")
    return 0


if __name__ == "__main__":
    sys.exit(main())
