"""One function per command: call the core, then print a Rich table or JSON lines."""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Callable

from rich.progress import TaskID

from animerec_tui.cli import discovery_commands, model_commands
from animerec_tui.cli.batch import Batch
from animerec_tui.cli.render import (
    KITSU_RATING,
    YOUR_RATING,
    emit_json,
    inert,
    kitsu_rating_cell,
    note,
    out,
    progress_bar,
    status_cell,
    subtype_cell,
    table,
    user_json,
    your_rating_cell,
)
from animerec_tui.core.errors import AnimerecError
from animerec_tui.core.progress import LibraryProgress
from animerec_tui.core.records import STATUSES, Anime, count_statuses
from animerec_tui.core.services import Core, FetchResult, LibraryResult
from animerec_tui.core.settings import Settings


def run(args: argparse.Namespace, settings: Settings) -> int:
    handler: Callable[[Core, argparse.Namespace], int] = COMMANDS[args.command]
    core = Core.open(settings)
    if core.cache.recovered_from is not None:
        sys.stderr.write(  # one line, never wrapped: a path people will copy
            f"animerec: the cache was damaged: moved it aside to {core.cache.recovered_from} "
            "and started a fresh one (sample population re-seeded)\n"
        )
    try:
        return handler(core, args)
    finally:
        core.close()


def _offline_note(core: Core, args: argparse.Namespace, what: str = "cached data") -> None:
    if core.offline and not args.json:
        why = "offline mode" if core.settings.offline else "Kitsu cannot be reached"
        note(f"offline ({why}): showing {what}")


# -- search ----------------------------------------------------------------------------------


def cmd_search(core: Core, args: argparse.Namespace) -> int:
    result = asyncio.run(core.search(args.query))
    if args.json:
        emit_json(
            {
                "query": result.query,
                "offline": result.offline,
                "users": [
                    {
                        **user_json(h.user),
                        "cached": h.cached,
                        "sample": h.sample,
                        "source": h.source,
                    }
                    for h in result.hits
                ],
            }
        )
        return 0
    _offline_note(core, args, "cached users only")
    if not result.hits:
        note(f"No users match {args.query!r}.", style="default")
        return 0
    rows = [
        (
            h.user.id,
            h.user.name,
            h.user.slug or "",
            "sample" if h.sample else ("cached" if h.cached else ""),
            h.source,
        )
        for h in result.hits
    ]
    out.print(
        table(f"Users matching {args.query!r}", ["Id", "Name", "Slug", "Cache", "From"], rows)
    )
    return 0


# -- fetch -----------------------------------------------------------------------------------


def cmd_fetch(core: Core, args: argparse.Namespace) -> int:
    batch = Batch(args)

    async def go() -> int:
        client = None if core.offline else core.client()
        try:
            with progress_bar(enabled=not args.json) as bar:
                for query in args.users:
                    task = bar.add_task(f"{query}", total=None, info="")

                    def on_progress(p: LibraryProgress, task: TaskID = task) -> None:
                        bar.update(
                            task,
                            completed=p.entries_done,
                            total=p.entries_total or None,
                            info=f"page {p.pages_done}/{p.pages_total}",
                        )

                    try:
                        result = await core.fetch(
                            query, refresh=args.refresh, client=client, progress=on_progress
                        )
                    except AnimerecError as exc:
                        bar.remove_task(task)
                        batch.failed(query, exc)
                        continue
                    bar.remove_task(task)
                    if result.mode != "cached":  # franchises: the library's relations too
                        ent, fav = core.cache.user_interactions(result.user.id)
                        await core.ensure_relations(
                            str(int(a)) for a in [*ent[:, 0].tolist(), *fav.tolist()]
                        )
                    batch.ok()
                    _print_fetch(args, result)
        finally:
            if client is not None:
                await client.aclose()
        return batch.exit_code

    return asyncio.run(go())


def _print_fetch(args: argparse.Namespace, result: FetchResult) -> None:
    if args.json:
        emit_json(
            {
                "user": user_json(result.user),
                "entries": result.entries,
                "favorites": result.favorites,
                "requests": result.requests,
                "seconds": round(result.seconds, 3),
                "mode": result.mode,
                "offline": result.offline,
                "hidden_adult_titles": result.withheld,
            }
        )
        return
    if result.offline:
        note(f"offline: {result.user.label} served from the cache (not refreshed)")
    out.print(
        inert(
            f"{result.user.label} (id {result.user.id}): {result.entries} entries, "
            f"{result.favorites} favourites — {result.mode}, {result.requests} requests, "
            f"{result.seconds:.2f} s"
        )
    )


# -- library ---------------------------------------------------------------------------------


def cmd_library(core: Core, args: argparse.Namespace) -> int:
    batch = Batch(args)
    for query in args.users:
        try:
            result = asyncio.run(core.library(query))
        except AnimerecError as exc:
            batch.failed(query, exc)
            continue
        batch.ok()
        _print_library(core, args, result)
    return batch.exit_code


def _print_library(core: Core, args: argparse.Namespace, result: LibraryResult) -> None:
    lib = result.library
    if args.json:
        emit_json(
            {
                "user": user_json(lib.user),
                "offline": result.offline,
                "synced_at": result.synced_at,
                "entries": [
                    {
                        "anime_id": e.anime_id,
                        "title": _title(lib.anime, e.anime_id),
                        "status": e.status,
                        "progress": e.progress,
                        "rating_twenty": e.rating_twenty,
                        "updated_at": e.updated_at,
                    }
                    for e in lib.entries
                ],
                "favorites": [
                    {"anime_id": f.anime_id, "title": _title(lib.anime, f.anime_id)}
                    for f in lib.favorites
                ],
                "hidden_adult_titles": len(lib.withheld),  # Kitsu hides their anime from us
            }
        )
        return
    if result.offline and not lib.user.is_sample:
        note(f"offline: cached library as of {result.synced_at}")
    counts = count_statuses(lib.entries)
    summary = ", ".join(f"{status_cell(s)} {counts[s]}" for s in STATUSES if s in counts)
    rows = [
        (
            status_cell(e.status),
            _title(lib.anime, e.anime_id),
            subtype_cell(lib.anime.get(e.anime_id)),
            _progress(e.progress, lib.anime.get(e.anime_id)),
            your_rating_cell(e.rating_twenty),
            kitsu_rating_cell(lib.anime.get(e.anime_id)),
            (e.updated_at or "")[:10],
        )
        for e in lib.entries
    ]
    out.print(
        table(
            f"{lib.user.label} — {len(lib.entries)} entries ({summary}), "
            f"{len(lib.favorites)} favourites",
            [
                "Status",
                "Title",
                "Type",
                ("Progress", "right"),
                (YOUR_RATING, "right"),
                (KITSU_RATING, "right"),
                "Updated",
            ],
            rows,
        )
    )
    if lib.favorites:
        favs = ", ".join(_title(lib.anime, f.anime_id) for f in lib.favorites)
        out.print(inert("Favourites: " + favs))
    if lib.withheld:
        out.print(inert(f"{lib.hidden_note} (Kitsu hides them)"))


def _title(anime: dict[str, Anime], anime_id: str) -> str:
    a = anime.get(anime_id)
    return a.display_title if a is not None else f"anime {anime_id}"


def _progress(progress: int | None, anime: Anime | None) -> str:
    if progress is None:
        return ""
    total = anime.episode_count if anime is not None else None
    return f"{progress}/{total}" if total else str(progress)


# -- stats -----------------------------------------------------------------------------------


def cmd_stats(core: Core, args: argparse.Namespace) -> int:
    from animerec_tui.core.population.stats import population_stats

    stats = population_stats(core.cache)
    data = stats.to_json()
    if args.json:
        emit_json(data)
        return 0
    rows = [
        ("users", data["users"]),
        ("  Kitsu users", data["kitsu_users"]),
        ("  sample users", data["sample_users"]),
        ("anime", data["anime"]),
        ("entries", data["entries"]),
    ]
    out.print(table("Cached population", ["", ("Count", "right")], rows))
    out.print(inert("The model " + data["learned_from"]))
    total = sum(data["status_counts"].values()) or 1
    out.print(
        table(
            "Status mix",
            ["Status", ("Entries", "right"), ("Share", "right")],
            [(s, n, f"{100 * n / total:.1f}%") for s, n in data["status_counts"].items()],
        )
    )
    sizes = data.get("library_sizes") or {}
    histogram = data.get("library_size_histogram") or {}
    out.print(
        table(
            "Library sizes (entries per user)",
            ["", ("Entries", "right")],
            [(k, f"{v:g}") for k, v in sizes.items()],
        )
    )
    out.print(
        table("Library size histogram", ["Entries", ("Users", "right")], list(histogram.items()))
    )
    segments = data.get("activity_segments") or {}
    if segments:
        fields = list(next(iter(segments.values())))
        out.print(
            table(
                "Activity segments",
                ["Segment", *[(f.replace("_", " "), "right") for f in fields]],
                [(name, *(f"{seg[f]:g}" for f in fields)) for name, seg in segments.items()],
            )
        )
        out.print(inert(f"activity score = {data.get('activity_formula', '')}"), style="dim")
    return 0


COMMANDS: dict[str, Callable[[Core, argparse.Namespace], int]] = {
    "search": cmd_search,
    "train": model_commands.cmd_train,
    "recommend": model_commands.cmd_recommend,
    "evaluate": model_commands.cmd_evaluate,
    "crawl": model_commands.cmd_crawl,
    "fetch": cmd_fetch,
    "library": cmd_library,
    "stats": cmd_stats,
    **discovery_commands.COMMANDS,
}
