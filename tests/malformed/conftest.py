"""The corpus summary lines, printed in pytest's terminal summary of every run that ran the
corpus (tests append them to ``config.dfecs_corpus_summary``)."""

from __future__ import annotations


def pytest_configure(config) -> None:  # noqa: ANN001
    config.dfecs_corpus_summary = []


def pytest_terminal_summary(terminalreporter, exitstatus, config) -> None:  # noqa: ANN001
    for line in getattr(config, "dfecs_corpus_summary", []):
        terminalreporter.write_line(line)
