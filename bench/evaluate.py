"""Regenerate the README's evaluation table (bundled sample, K = 10, shipped defaults).

    python bench/evaluate.py            # print the table, the margin and grouping lines
    python bench/evaluate.py --check    # also compare with README.md; exit 1 if they differ

A fresh cache in a temp folder is seeded with the bundled sample, so neither a tuned state nor
a settings file can change the numbers: every row uses the shipped
:class:`~animerec_tui.core.settings.ModelParams` (themselves the validation search's result,
see ``animerec_tui/core/recommend/tune.py``). The table rows are exactly what
``ANIMEREC_CACHE_DIR=$(mktemp -d) ANIMEREC_OFFLINE=1 animerec evaluate -k 10`` prints.

The bundled sample has no relations offline, so the grouping line (the default model's recall
with franchises grouped, beside not grouped) is measured against the fake Kitsu's demo
franchises (``animerec_tui.fakekitsu.dataset.demo_dataset``: relations derived from the
sample's own title stems, DEMO DATA, not Kitsu's), fetched through the real client
(:func:`~animerec_tui.core.kitsu.relations.fetch_relations`) from a fake on 127.0.0.1, as
``python -m animerec_tui.fakekitsu`` serves them. ``--no-franchises``
skips that step (the grouping line then says it was not measured).
The README block compared is the one between ``<!-- evaluation table -->`` and
``<!-- end evaluation table -->``.
"""

from __future__ import annotations

import argparse
import asyncio
import re
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from animerec_tui.core.cache import Cache  # noqa: E402
from animerec_tui.core.cache.relations import save_relations  # noqa: E402
from animerec_tui.core.kitsu import KitsuClient  # noqa: E402
from animerec_tui.core.kitsu.relations import fetch_relations  # noqa: E402
from animerec_tui.core.recommend.evaluate import evaluate  # noqa: E402
from animerec_tui.core.services import Core  # noqa: E402
from animerec_tui.core.settings import Settings  # noqa: E402
from animerec_tui.fakekitsu import FakeKitsu  # noqa: E402
from animerec_tui.fakekitsu.dataset import demo_dataset  # noqa: E402

START, END = "<!-- evaluation table -->", "<!-- end evaluation table -->"


async def _demo_relations(cache: Cache, url: str) -> None:
    """The demo franchises of every sample anime, fetched through the real client and cached.

    Only the relations are kept, not the fake's anime records: the fake's start dates are
    random (generated), while its demo chains run in Kitsu id order, as the sample's undated
    records are ordered (:func:`~animerec_tui.core.recommend.franchise.chronological_key`).
    """
    ids = list(cache.all_anime())
    async with KitsuClient(url) as client:
        got = await fetch_relations(client, ids)
    adult = {a for a, rec in got.anime.items() if rec.adult}
    kept = [
        r for r in got.relations if r.source_id in got.fetched and r.destination_id not in adult
    ]
    save_relations(cache, got.fetched, kept, fetched_at="2026-01-01T00:00:00Z")


def table(k: int = 10, franchises: bool = True) -> str:
    """The markdown table plus margin and grouping lines, as the README shows them."""
    with tempfile.TemporaryDirectory() as tmp:
        core = Core.open(Settings(cache_dir=Path(tmp), offline=True))
        try:
            if franchises:
                with FakeKitsu(demo_dataset(users=0, anime=5000), latency=0.0) as kitsu:
                    asyncio.run(_demo_relations(core.cache, kitsu.url))
            report = evaluate(core.cache, core.settings, k=k)
        finally:
            core.close()
    text = report.markdown()
    if report.grouping is None:
        text += "\n\nno relation data: recall with franchises grouped not measured"
    else:
        popularity = report.model("popularity").recall
        text += (
            f"; {report.grouping.recall_grouped / popularity:.2f}x popularity not grouped "
            "(demo franchises)"
        )
    return text


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-k", type=int, default=10)
    parser.add_argument("--check", action="store_true", help="compare with README.md")
    parser.add_argument("--no-franchises", action="store_true", help="skip the demo relations")
    args = parser.parse_args()
    text = table(args.k, franchises=not args.no_franchises)
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
