"""A short run of the mutation fuzzer (fuzz/run.py); the long run is documented in fuzz/README.md."""

from __future__ import annotations

from fuzz.run import fuzz


def test_a_short_fuzz_run_finds_nothing() -> None:
    # Raises FuzzFailure (and saves the shrunk input under fuzz/failures/) on a finding.
    stats = fuzz(seconds=12, build_every=10_000, seed=20240911, quiet=True)
    assert stats.examples >= 200, stats
    assert stats.published and stats.reported
    assert stats.builds == 1  # the mutants were also built into a site and audited
