"""The fuzz targets of tests/fuzz: their committed corpus, and a bounded coverage-guided run each.

Longer runs are on demand: ``.venv/bin/python tests/fuzz/run.py TARGET -max_total_time=3600``.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from pywbem import CIM_ERR_INVALID_PARAMETER, CIMError

from tests.fuzz.targets import TARGETS
from virtcim.cimxml.limits import MAX_ARRAY_ITEMS
from virtcim.cimxml.mofinstance import parse_mof_instance

ROOT = Path(__file__).resolve().parents[2]
CORPUS = ROOT / "tests" / "fuzz" / "corpus"
#: Inputs per target in the test suite: a few seconds each.
RUNS = 20000

CORPUS_FILES = sorted((path.parent.name, path) for path in CORPUS.glob("*/*"))


def test_every_target_has_a_corpus():
    assert {target for target, _ in CORPUS_FILES} == set(TARGETS)


@pytest.mark.parametrize(("target", "path"), CORPUS_FILES,
                         ids=[f"{target}/{path.name}" for target, path in CORPUS_FILES])
def test_the_corpus_goes_through_its_target(target, path):
    TARGETS[target](path.read_bytes())


@pytest.mark.timeout(120)
@pytest.mark.parametrize("target", sorted(TARGETS))
def test_a_bounded_fuzzing_run_finds_nothing(target, tmp_path):
    result = subprocess.run(
        [sys.executable, str(ROOT / "tests" / "fuzz" / "run.py"), target, f"-runs={RUNS}",
         f"-artifact_prefix={tmp_path}/"],
        capture_output=True, text=True, timeout=110, cwd=tmp_path,
        env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert result.returncode == 0, result.stderr[-3000:]
    assert f"Done {RUNS} runs" in result.stderr
    assert not list(tmp_path.glob("crash-*"))


def test_a_target_that_raises_fails_the_run(tmp_path):
    # The harness itself: an input a target chokes on is reported, not swallowed.
    script = (
        "import sys, atheris\n"
        "def target(data):\n"
        "    if data[:1] == b'<': raise ValueError('planted bug')\n"
        "atheris.Setup([sys.argv[0], '-runs=100000', sys.argv[1]], target)\n"
        "atheris.Fuzz()\n"
    )
    seeds = tmp_path / "seeds"
    seeds.mkdir()
    (seeds / "seed").write_bytes(b"<CIM")
    result = subprocess.run([sys.executable, "-c", script, str(seeds)], capture_output=True,
                            text=True, timeout=60, cwd=tmp_path)
    assert result.returncode != 0
    assert [path.read_bytes() for path in tmp_path.glob("crash-*")] == [b"<CIM"]


def test_a_mof_array_over_the_limit_is_refused():
    items = ", ".join(["1"] * (MAX_ARRAY_ITEMS + 1))
    with pytest.raises(CIMError) as refused:
        parse_mof_instance(f"instance of X {{ A = {{{items}}}; }};")
    assert refused.value.status_code == CIM_ERR_INVALID_PARAMETER
    assert f"more than {MAX_ARRAY_ITEMS} items" in refused.value.status_description
    assert len(parse_mof_instance(
        "instance of X { A = {" + ", ".join(["1"] * MAX_ARRAY_ITEMS) + "}; };")["A"]) == MAX_ARRAY_ITEMS
