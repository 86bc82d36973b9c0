# DFECS Studio — the two commands:
#   make run    install everything and start the app on its built-in demo
#   make test   install everything and run the whole test suite
#   make package  build the frozen one-folder app (dfecs-studio + dfecs) with PyInstaller
PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
PIP    := $(PY) -m pip
STAMP  := $(VENV)/.installed
APT_PACKAGES := xvfb libegl1 libgl1 libxkbcommon0 libxkbcommon-x11-0 libfontconfig1 libdbus-1-3 \
                libglib2.0-0 libxcb-cursor0 libxcb-icccm4 libxcb-keysyms1 libxcb-image0 \
                libxcb-render-util0 libxcb-shape0 libxcb-xinerama0 libxcb-randr0 \
                binutils

.PHONY: run test install system-deps lint screenshot bench package clean

run: install
	$(VENV)/bin/dfecs-studio --demo

test: install
	$(VENV)/bin/ruff check dfecs_app tests benchmarks
	$(VENV)/bin/lint-imports
	QT_QPA_PLATFORM=offscreen $(PY) -m pytest

install: system-deps $(STAMP)

# apt packages Qt needs (offscreen and xcb), Xvfb for screenshots and binutils (objdump, which
# PyInstaller needs for make package); installed only when missing.
system-deps:
	@missing=""; for p in $(APT_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
	  echo "installing system packages:$$missing"; \
	  SUDO=""; [ "$$(id -u)" = 0 ] || SUDO=sudo; \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq $$missing; \
	fi

$(STAMP): pyproject.toml packaging/requirements-nodeps.txt
	$(PYTHON) -m venv $(VENV)
	$(PIP) install -q --upgrade pip
	$(PIP) install -q -e ".[gui,track,cluster,ratings,test,package]"
	$(PIP) install -q --no-deps -r packaging/requirements-nodeps.txt
	touch $(STAMP)

lint: install
	$(VENV)/bin/ruff check dfecs_app tests benchmarks
	$(VENV)/bin/lint-imports

screenshot: install
	xvfb-run -a -s "-screen 0 1600x1000x24" $(VENV)/bin/dfecs-studio --demo --screenshot resources/screenshot.png

package: install
	$(PY) packaging/build.py

bench: install
	for b in benchmarks/bench_*.py; do $(PY) $$b || exit 1; done

clean:
	rm -rf $(VENV)
