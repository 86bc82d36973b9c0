"""The malformed-input corpus through every CLI command and reader, in-process.

Each case: no traceback, a non-zero exit (where the mutation cannot be valid), one error line
naming the offending file, every pre-existing output byte-identical, no temporary file left,
no hang. The summary line (cases tried, tracebacks, clobbered outputs, temporary files) is
printed in pytest's terminal summary.
"""

from __future__ import annotations

import collections
import time

from tests.malformed.corpus import cases, run_case


def test_malformed_input_corpus(corpus_base, tmp_path, request) -> None:
    all_cases = cases(corpus_base)
    start = time.perf_counter()
    failures = []
    counts = collections.Counter()
    by_command = collections.Counter()
    for i, case in enumerate(all_cases):
        outcome = run_case(case, corpus_base, tmp_path / f"c{i:05d}")
        by_command[case.slot.command] += 1
        counts["refused"] += outcome.code not in (0, None)
        for p in outcome.problems:
            key = p.split(":")[0].split(" ")[0]
            counts[key] += 1
            failures.append(f"{case.id}: {p}\n    {outcome.err.strip()[-300:]}")
    elapsed = time.perf_counter() - start
    classes = collections.Counter(c.klass for c in all_cases)
    line = (f"malformed-input corpus: {len(all_cases)} cases tried over {len(by_command)} "
            f"commands/readers and {len(classes)} classes in {elapsed:.0f} s; "
            f"{counts['refused']} refused; {counts['traceback']} tracebacks, "
            f"{counts['clobbered']} clobbered outputs, {counts['temporary']} temporary files, "
            f"{counts['hang']} hangs, {counts['accepted']} bad inputs accepted, "
            f"{counts['message']} messages not naming the file")
    request.config.dfecs_corpus_summary.append(line)
    print(line)
    assert len(all_cases) >= 1200
    assert not failures, f"{len(failures)} failures:\n" + "\n".join(failures[:60])
