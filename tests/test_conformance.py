"""The conformance corpus: BMv2 JSON compiled by the real p4c, with p4c's STF tests.

Every program whose STF test the real BMv2 passes (EXPECTED_PASS) must pass on
pybm-switch too.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from pybm.stf.conformance import run_corpus

CORPUS = Path(__file__).resolve().parents[1].parent / "shared" / "conformance"


def _expected() -> list[str]:
    path = CORPUS / "EXPECTED_PASS"
    return [ln.strip() for ln in path.read_text().splitlines() if ln.strip()]


def test_corpus_is_present() -> None:
    assert (CORPUS / "v1model").is_dir(), f"conformance corpus missing at {CORPUS}"
    assert len(_expected()) >= 190


def test_every_program_real_bmv2_passes_passes_on_pybm() -> None:
    expected = _expected()
    passed, failed = run_corpus(CORPUS, expected)
    print(f"conformance: {len(passed)} passed, {len(failed)} failed")
    assert not failed, "failing: " + "; ".join(f"{n}: {why.splitlines()[0]}" for n, why in failed.items())
    assert len(passed) == len(expected)


@pytest.mark.parametrize("name", ["v1model-special-ops-bmv2", "table-entries-ternary-bmv2"])
def test_a_wrong_expectation_is_caught(name: str, tmp_path: Path) -> None:
    """The runner must fail when an expected byte differs (no vacuous passes)."""
    from pybm.stf.stf import run_stf

    stf = (CORPUS / "v1model" / f"{name}.stf").read_text().splitlines()
    for i, line in enumerate(stf):
        if line.startswith("expect "):
            words = line.split()
            payload = "".join(words[2:]).rstrip("$")
            flipped = ("0" if payload[0] != "0" else "1") + payload[1:]
            stf[i] = f"expect {words[1]} {flipped}"
            break
    res = run_stf((CORPUS / "v1model" / f"{name}.json").read_bytes(), "\n".join(stf))
    assert not res.passed
    assert any("differs" in f or "expected" in f for f in res.failures)
