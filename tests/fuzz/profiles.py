"""How much the fuzz suite runs: FUZZ_EXAMPLES examples per method and property (default: the CI bound).

`make test` runs the default, derandomized (the same examples on every run, no example database), sized so the
whole suite takes about a minute on two cores. `make fuzz` raises FUZZ_EXAMPLES and draws new examples on every
run; FUZZ_SEED=<n> makes such a run reproducible (Hypothesis also prints a `@reproduce_failure` for a failure).
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any

import hypothesis
from hypothesis import HealthCheck, settings

CI_EXAMPLES = 25


def fuzzing(test: Callable[..., Any]) -> Callable[..., Any]:
    """Applies the run's settings (and seed) to a `@given` test: put it above `@given`."""
    examples = os.environ.get("FUZZ_EXAMPLES", "")
    seed = os.environ.get("FUZZ_SEED", "")
    configured = settings(
        max_examples=int(examples or CI_EXAMPLES),
        deadline=None,
        derandomize=not examples and not seed,
        database=None,
        print_blob=True,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.filter_too_much],
    )(test)
    return hypothesis.seed(int(seed))(configured) if seed else configured
