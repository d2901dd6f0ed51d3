"""Coverage-guided fuzzing of one target with atheris (libFuzzer).

    .venv/bin/python tests/fuzz/run.py TARGET [libFuzzer options...]

TARGET is one of ``tests/fuzz/targets.py``'s (request, mof, head, query). Inputs
start from the committed corpus ``tests/fuzz/corpus/TARGET/``, which is only
read; new interesting inputs go to a scratch folder (printed), to be copied
into the corpus when worth keeping. Longer runs: ``-max_total_time=3600``,
``-jobs=2``; a crashing input is written as ``crash-*`` in the current folder.
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

import atheris

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

with atheris.instrument_imports(include=["virtcim", "h11", "tests.fuzz"]):
    from tests.fuzz.targets import TARGETS


def main() -> None:
    if len(sys.argv) < 2 or sys.argv[1] not in TARGETS:
        sys.exit(f"usage: {sys.argv[0]} {{{','.join(TARGETS)}}} [libFuzzer options...]")
    name, options = sys.argv[1], sys.argv[2:]
    corpus = ROOT / "tests" / "fuzz" / "corpus" / name
    scratch = tempfile.mkdtemp(prefix=f"virtcim-fuzz-{name}-")
    print(f"new inputs go to {scratch}", file=sys.stderr)
    atheris.Setup([sys.argv[0], *options, scratch, str(corpus)], TARGETS[name])
    atheris.Fuzz()


if __name__ == "__main__":
    main()
