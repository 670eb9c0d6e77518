"""How much the fuzz suite runs: FUZZ_EXAMPLES examples per method and property (default: the CI bound).

`make test` runs the default, derandomized (the same examples on every run, no example database), sized so the
whole suite takes about a minute on two cores. `make fuzz` raises FUZZ_EXAMPLES and, with FUZZ_SEED unset,
draws new examples on every run (Hypothesis prints the seed that reproduces a failure).
"""

from __future__ import annotations

import os

from hypothesis import HealthCheck, settings

CI_EXAMPLES = 8


def fuzz_settings() -> settings:
    examples = int(os.environ.get("FUZZ_EXAMPLES") or CI_EXAMPLES)
    long_run = "FUZZ_EXAMPLES" in os.environ and "FUZZ_SEED" not in os.environ
    return settings(
        max_examples=examples,
        deadline=None,
        derandomize=not long_run,
        database=None,
        print_blob=True,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.filter_too_much],
    )
