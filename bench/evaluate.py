"""Regenerate the README's evaluation table (bundled sample, K = 10, shipped defaults).

    python bench/evaluate.py            # print the table and the margin lines
    python bench/evaluate.py --check    # also compare with README.md; exit 1 if they differ

A fresh cache in a temp folder is seeded with the bundled sample, so neither a tuned state nor
a settings file can change the numbers: every row uses the shipped
:class:`~animerec_tui.core.settings.ModelParams` (themselves the validation search's result,
see ``animerec_tui/core/recommend/tune.py``). It runs exactly what
``ANIMEREC_CACHE_DIR=$(mktemp -d) ANIMEREC_OFFLINE=1 animerec evaluate -k 10`` runs.
The README block compared is the one between ``<!-- evaluation table -->`` and
``<!-- end evaluation table -->``.
"""

from __future__ import annotations

import argparse
import re
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from animerec_tui.core.cache import Cache  # noqa: E402
from animerec_tui.core.population.sample import seed_if_empty  # noqa: E402
from animerec_tui.core.recommend.evaluate import evaluate  # noqa: E402
from animerec_tui.core.settings import Settings  # noqa: E402

START, END = "<!-- evaluation table -->", "<!-- end evaluation table -->"


def table(k: int = 10) -> str:
    """The markdown table plus margin lines, as the README shows them."""
    with tempfile.TemporaryDirectory() as tmp:
        settings = Settings(cache_dir=Path(tmp), offline=True)
        with Cache(settings.db_path) as cache:
            seed_if_empty(cache)
            report = evaluate(cache, settings, k=k)
    return report.markdown()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-k", type=int, default=10)
    parser.add_argument("--check", action="store_true", help="compare with README.md")
    args = parser.parse_args()
    text = table(args.k)
    print(text)
    if not args.check:
        return 0
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    found = re.search(re.escape(START) + r"\n(.*?)\n" + re.escape(END), readme, re.S)
    if found is None:
        print(f"README.md has no {START} block", file=sys.stderr)
        return 1
    if found.group(1).strip() != text.strip():
        print("README.md's evaluation table differs from this run", file=sys.stderr)
        return 1
    print("README.md's evaluation table matches", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
