"""A fake Kitsu API server (real HTTP on 127.0.0.1) for tests, benchmarks and offline demos.

Kitsu cannot be reached from where this project is built and tested, so this server is the
stand-in: it reproduces the API's documented behaviour (docs/kitsu-api.md) over synthetic,
deterministic data, and can inject the failures a CDN produces.

    from animerec_tui.fakekitsu import Dataset, FakeKitsu, Faults
    ds = Dataset(seed=0)
    ds.add_anime(n=3000)
    ds.add_user(id="1001", name="alice", slug="alice", entries=500, favorites=10)
    with FakeKitsu(ds) as server:
        ...  # point the client at server.url

``python -m animerec_tui.fakekitsu --port 8123`` serves a demo population.

Rooms: ``server`` (lifecycle), ``handler`` (HTTP), ``faults`` (simulated outages, one function
per kind), ``api`` (routing, content negotiation), ``query`` (parameters and their 400s),
``documents``/``resources`` (JSON:API documents), ``library``/``people``/``anime``/
``relations`` (endpoints), ``schema`` (what each resource declares, page limits), and the
data: ``dataset`` (public face, demo catalogue and franchises), ``store`` (record storage),
``generate``/``population`` (synthetic records), ``media`` (relations, manga, categories),
``records`` (record conventions).
"""

from animerec_tui.fakekitsu.dataset import (
    HOSTILE_NAME,
    HOSTILE_TITLE,
    STATUSES,
    Dataset,
    add_demo_franchises,
    demo_dataset,
)
from animerec_tui.fakekitsu.faults import KINDS, Faults
from animerec_tui.fakekitsu.server import PREFIX, REDIRECTED_PREFIX, FakeKitsu, KitsuApi, LogEntry

__all__ = [
    "HOSTILE_NAME",
    "HOSTILE_TITLE",
    "KINDS",
    "PREFIX",
    "REDIRECTED_PREFIX",
    "STATUSES",
    "Dataset",
    "FakeKitsu",
    "Faults",
    "KitsuApi",
    "LogEntry",
    "add_demo_franchises",
    "demo_dataset",
]
