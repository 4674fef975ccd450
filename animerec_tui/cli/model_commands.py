"""``train``, ``recommend``, ``evaluate`` and ``crawl``: long work with progress bars.

Ctrl-C is turned into a cancel event the core checks, so an interrupted training leaves the
previous model and an interrupted crawl leaves every finished user cached.
"""

from __future__ import annotations

import argparse
import asyncio
import threading
from collections.abc import Callable
from dataclasses import replace
from typing import TYPE_CHECKING, Any, TypeVar

from animerec_tui.cli.batch import Batch
from animerec_tui.cli.render import (
    emit_json,
    inert,
    note,
    out,
    progress_bar,
    table,
    user_json,
)
from animerec_tui.core.errors import AnimerecError, BadInput, Cancelled
from animerec_tui.core.progress import CrawlProgress, FitProgress, StepProgress
from animerec_tui.core.records import User
from animerec_tui.core.services import Core

if TYPE_CHECKING:  # numpy, scipy and the recommender load only when a command needs them
    from rich.console import JustifyMethod

    from animerec_tui.core.population.crawl import CrawlSummary
    from animerec_tui.core.recommend.filters import RecommendFilters
    from animerec_tui.core.recommend.results import TrainResult
    from animerec_tui.core.recommend.service import LoadedModel, Recommendation
    from animerec_tui.core.recommend.tune import TuneResult
    from animerec_tui.core.settings import ModelParams

T = TypeVar("T")


def _in_thread(fn: Callable[[threading.Event], T], what: str) -> T:
    """Run CPU work in a thread; Ctrl-C sets the cancel event and waits for a clean stop."""
    cancel = threading.Event()
    value: list[T] = []
    error: list[BaseException] = []

    def target() -> None:
        try:
            value.append(fn(cancel))
        except BaseException as exc:  # handed back to the main thread
            error.append(exc)

    worker = threading.Thread(target=target, name=what, daemon=True)
    worker.start()
    try:
        while worker.is_alive():
            worker.join(0.1)
    except KeyboardInterrupt:
        cancel.set()
        worker.join()
        raise Cancelled(what) from None
    if error:
        raise error[0]
    return value[0]


def _model_params(core: Core, args: argparse.Namespace) -> ModelParams:
    from animerec_tui.core.recommend.params import effective_params

    params = effective_params(core.cache, core.settings)
    overrides = {
        k: getattr(args, k)
        for k in ("factors", "regularization", "alpha", "iterations")
        if getattr(args, k, None) is not None
    }
    return replace(params, **overrides) if overrides else params


def _train(
    core: Core,
    params: ModelParams | None,
    show: bool,
    *,
    tune: bool = False,
    model: str | None = None,
) -> TrainResult | TuneResult:
    from animerec_tui.core.recommend import service

    kind = model or service.DEFAULT_KIND
    with progress_bar(enabled=show) as bar:
        label = "Tuning" if tune else f"Training {kind}"
        task = bar.add_task(label, total=None, info="")

        def on_progress(report: FitProgress | StepProgress) -> None:
            loss = getattr(report, "loss", None)
            info = f"loss {loss:.4g}" if loss is not None else ""
            bar.update(task, completed=report.done, total=report.total, info=info)

        def work(cancel: threading.Event) -> TrainResult | TuneResult:
            if tune:
                return service.tune(core.cache, core.settings, progress=on_progress, cancel=cancel)
            return service.train(
                core.cache,
                core.settings,
                model=kind,
                params=params,
                progress=on_progress,
                cancel=cancel,
            )

        return _in_thread(work, "Tuning" if tune else "Training")


def cmd_train(core: Core, args: argparse.Namespace) -> int:
    params = None if args.tune else _model_params(core, args)
    result = _train(core, params, not args.json, tune=args.tune, model=args.model)
    if args.json:
        emit_json(result.to_json())
    else:
        out.print(inert(result.summary()))
    return 0


def ensure_model(core: Core, show: bool) -> LoadedModel:
    """The saved default model, or one trained now with a progress bar (``show``: on
    stderr); what every command that recommends from the model starts with. Raises what
    :func:`~animerec_tui.core.recommend.service.load_or_train` raises; Ctrl-C cancels the
    training (Cancelled)."""
    from animerec_tui.core.recommend import service

    def work(cancel: threading.Event) -> LoadedModel:
        return service.load_or_train(core.cache, core.settings, progress=on_progress, cancel=cancel)

    with progress_bar(enabled=show) as bar:
        task = bar.add_task("Loading model", total=None, info="")

        def on_progress(report: FitProgress) -> None:
            bar.update(
                task,
                description="Training",
                completed=report.done,
                total=report.total,
                info=f"loss {report.loss:.4g}" if report.loss is not None else "",
            )

        return _in_thread(work, "Training")


def _filters(core: Core, args: argparse.Namespace) -> RecommendFilters:
    """The recommend options as the core's filters; BadInput (exit 2) naming the valid values."""
    from animerec_tui.core.recommend.filters import RecommendFilters
    from animerec_tui.core.recommend.pipeline import check_genres

    filters = RecommendFilters.parse(
        genres=args.genres,
        exclude_genres=args.exclude_genres,
        year=args.year,
        episodes=args.episodes,
        statuses=args.statuses,
        subtypes=args.subtypes or (),
    )
    check_genres(core.cache, filters)
    return filters


def cmd_recommend(core: Core, args: argparse.Namespace) -> int:
    from animerec_tui.core.describe import described_top
    from animerec_tui.core.recommend import service

    filters = _filters(core, args)  # bad values exit 2 before anything is fetched or trained
    batch = Batch(args)
    resolved: list[tuple[str, User | AnimerecError]] = []  # or the error it failed with
    for query in args.users:  # resolve (and fetch when online and uncached) before training
        try:
            resolved.append((query, asyncio.run(core.library(query)).library.user))
        except AnimerecError as exc:
            batch.say(query, exc)
            resolved.append((query, exc))
    if all(isinstance(outcome, AnimerecError) for _, outcome in resolved):
        for query, outcome in resolved:
            if isinstance(outcome, AnimerecError):
                batch.record(query, outcome)
        return batch.exit_code  # nobody to recommend for: no model loaded or trained
    if core.offline and not args.json:
        note("offline: recommending from cached libraries")
    loaded = ensure_model(core, not args.json)
    model_info = loaded.info
    reason = loaded.retrained_because
    if reason:  # stderr, also with --json: a retrain is worth knowing about
        note(f"trained a new model ({reason})")
    if model_info.get("stale") and not args.json:
        note("the model is older than the cache; run 'animerec train' to include recent data")
    for query, user in resolved:
        if isinstance(user, AnimerecError):  # its line is on stderr already
            batch.record(query, user)
            continue

        def top(k: int, user_id: str = user.id) -> list[Recommendation]:
            recs = service.recommend(
                core.cache,
                core.settings,
                user_id,
                n=k,
                filters=filters,
                niche=args.niche,
                all_entries=args.all_entries,
                include_adult=args.include_adult,
                model=loaded,
            )
            return recs.continuing() if args.continue_ else recs

        try:
            if core.connectivity.may_ask():  # franchises: relations of library and candidates
                wanted = service.franchise_candidates(
                    core.cache,
                    core.settings,
                    user.id,
                    filters=filters,
                    include_adult=args.include_adult,
                    model=loaded,
                )
                asyncio.run(core.ensure_relations(wanted, statuses=bool(filters.statuses)))
            recs = described_top(core, top, args.n)  # sample-only anime described from Kitsu
        except AnimerecError as exc:
            batch.failed(query, exc, user=user)
            continue
        batch.ok()
        _print_recommendations(args, user, model_info, core.offline, recs)
    return batch.exit_code


def _print_recommendations(
    args: argparse.Namespace,
    user: User,
    model_info: dict[str, Any],
    offline: bool,
    recs: list[Recommendation],
) -> None:
    from animerec_tui.core.describe import anime_details
    from animerec_tui.core.recommend.filters import subtype_label

    notice = getattr(recs, "notice", None)
    if notice:  # stderr, also with --json: the list is not personal
        note(f"{user.label}: {notice}")
    relations_notice = getattr(recs, "relations_notice", None)
    filters_notice = getattr(recs, "filters_notice", None)
    if args.json:
        emit_json(
            {
                "user": user_json(user),
                "model": model_info,
                "offline": offline,
                "fallback": getattr(recs, "fallback", None),
                "notice": notice,
                "list": "continue" if args.continue_ else "discovery",
                "grouped": getattr(recs, "grouped", False),
                "relations_notice": relations_notice,
                "filters_notice": filters_notice,
                "recommendations": [
                    {
                        "rank": r.rank,
                        "anime_id": r.anime_id,
                        "title": r.title,
                        "score": round(float(r.score), 6),
                        "match": r.match,
                        "because": list(r.because),
                        "how": r.how,
                        "franchise": list(r.franchise) or [r.anime_id],
                        "subtype": r.anime.subtype if r.anime else None,
                        **anime_details(r.anime),  # slug, url, titles, synopsis, start_date
                    }
                    for r in recs
                ],
            }
        )
        return
    for line in (relations_notice, filters_notice):
        if line:
            note(f"{user.label}: {line}")
    percent = any(r.match is not None for r in recs)
    rows = [
        (
            r.rank,
            _row_title(r),
            subtype_label(r.anime.subtype) if r.anime else "",
            f"{r.match:.0f}%" if percent and r.match is not None else f"{r.score:.3f}",
            "; ".join(r.because),
        )
        for r in recs
    ]
    if args.continue_:
        title = f"Continue for {user.label} (next entries of franchises you have started)"
        columns: list[str | tuple[str, JustifyMethod]] = [
            ("#", "right"),
            "Next entry",
            "Type",
            ("Score", "right"),
            "Because",
        ]
    else:
        title = f"Recommendations for {user.label}"
        columns = [("#", "right"), "Title", "Type", ("Score", "right"), "Because you watched"]
    if getattr(recs, "fallback", None):
        title += " (most popular: nothing personal to go on)"
    if percent:
        columns[3] = ("Match", "right")
    if not rows and args.continue_:
        note(f"{user.label}: no franchise you have started has an entry left to recommend")
    elif not rows:
        note(f"{user.label}: no anime is left to recommend under these options")
    out.print(table(title, columns, rows))


def _row_title(r: Recommendation) -> str:
    """The title, with how many more franchise entries its row stands for."""
    more = len(r.franchise) - 1
    if more <= 0:
        return r.title
    return f"{r.title} (+{more} more in the franchise)"


def cmd_evaluate(core: Core, args: argparse.Namespace) -> int:
    from animerec_tui.core.recommend import service

    with progress_bar(enabled=not args.json) as bar:
        task = bar.add_task("Evaluating", total=None, info="")

        def on_progress(report: StepProgress) -> None:
            bar.update(task, completed=report.done, total=report.total, info=report.what)

        report = _in_thread(
            lambda cancel: service.evaluate(
                core.cache,
                core.settings,
                k=args.k,
                progress=on_progress,
                cancel=cancel,
                models=args.models,
            ),
            "Evaluation",
        )
    data = report.to_json()
    if args.json:
        emit_json(data)
        return 0
    rows = [
        (
            m["name"],
            f"{m['precision']:.4f}",
            f"{m['recall']:.4f}",
            f"{m['map']:.4f}",
            f"{m['ndcg']:.4f}",
            f"{m['auc']:.4f}",
            f"{m.get('coverage', 0):.3f}",
        )
        for m in data["models"]
    ]
    k = data["k"]
    cols: list[str | tuple[str, JustifyMethod]] = [
        "Model",
        *[(f"{n}@{k}", "right") for n in ("Precision", "Recall", "MAP", "NDCG")],
    ]
    out.print(
        table(
            f"Held-out evaluation at K={k}", [*cols, ("AUC", "right"), ("Coverage", "right")], rows
        )
    )
    for g in data.get("margins", []):
        out.print(
            inert(
                f"{g['model']} - {g['baseline']}, {g['metric']}@{k}: {g['diff']:+.4f} "
                f"(95% paired bootstrap over users: {g['low']:+.4f} to {g['high']:+.4f})"
            )
        )
    if report.grouping is not None:
        out.print(inert(report.grouping.line(k)))
    else:
        out.print(inert("no relation data: recall with franchises grouped not measured"))
    out.print(inert(data["protocol"]), style="dim")
    return 0


def cmd_crawl(core: Core, args: argparse.Namespace) -> int:
    from animerec_tui.core.population.crawl import crawl

    if core.offline:
        raise AnimerecError("crawl needs Kitsu, and animerec is offline.")
    if not args.around and not args.random:
        raise BadInput("crawl needs --around USER or --random.")

    async def go() -> CrawlSummary:
        crawl_settings = core.settings.crawl
        around = None
        if args.around:
            around = (await core.library(args.around)).library.user.id
        client = core.client(
            max_rps=crawl_settings.requests_per_second, concurrency=crawl_settings.concurrency
        )
        async with client:
            with progress_bar(enabled=not args.json) as bar:
                task = bar.add_task("Crawling", total=args.max_users, info="")

                def on_progress(p: CrawlProgress) -> None:
                    bar.update(
                        task,
                        completed=p.users_done,
                        total=p.users_target,
                        info=f"{p.requests} requests",
                    )

                return await crawl(
                    core.cache,
                    client,
                    core.settings,
                    around=around,
                    random=args.random,
                    max_users=args.max_users,
                    progress=on_progress,
                )

    summary = asyncio.run(go())
    if args.json:
        emit_json(summary.to_json())
    else:
        out.print(inert(summary.summary()))
    return 0
