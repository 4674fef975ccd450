"""``animerec`` entry point: no command opens the TUI, commands run the core once.

Every failure becomes one line on stderr and an exit code (0 ok, 1 failure, 2 bad input):
never a traceback. Heavy imports (numpy, implicit, Rich tables) wait until a command needs them.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from pathlib import Path

from animerec_tui import __version__

DESCRIPTION = """\
Anime recommendations for Kitsu users, in the terminal.

With no command, animerec opens the interactive app. Every command works offline from the local
cache (a bundled sample population is there from the start); --json prints one JSON object
per line for scripts.
"""

EPILOG = """\
settings (environment):
  ANIMEREC_CACHE_DIR   cache folder (default: the checkout's cache/, else the user cache dir)
  ANIMEREC_API_URL     Kitsu API base (default: https://kitsu.app/api/edge)
  ANIMEREC_OFFLINE=1   never touch the network (same as --offline)
  ANIMEREC_SETTINGS    settings file (default: <cache dir>/settings.toml)

USER is a Kitsu numeric id, a slug, a name, or a sample user's id (sample:KEY) or name
(sample-KEY). Exit codes: 0 ok, 1 failure (e.g. Kitsu unreachable and nothing cached),
2 bad input (unknown or ambiguous user, invalid option).
"""


class _Parser(argparse.ArgumentParser):
    """argparse, but usage errors are one line (exit 2), like every other error."""

    def error(self, message: str) -> None:  # type: ignore[override]
        sys.stderr.write(f"animerec: {message} (see '{self.prog} --help')\n")
        raise SystemExit(2)


def _positive(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"{text!r} must be at least 1")
    return value


def _positive_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if not value > 0:
        raise argparse.ArgumentTypeError(f"{text!r} must be greater than 0")
    return value


def build_parser() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--json", action="store_true", help="print JSON (one object per line)")
    common.add_argument("--offline", action="store_true", help="use only the local cache")
    common.add_argument("--cache-dir", type=Path, metavar="DIR", help="cache folder to use")

    parser = _Parser(
        prog="animerec",
        description=DESCRIPTION,
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"animerec {__version__}")
    parser.add_argument("--offline", action="store_true", help="use only the local cache")
    parser.add_argument("--cache-dir", type=Path, metavar="DIR", help="cache folder to use")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)

    def add(name: str, help_text: str) -> argparse.ArgumentParser:
        return sub.add_parser(name, help=help_text, description=help_text, parents=[common])

    p = add("search", "Find Kitsu users by id, slug, name or fuzzy query (cached users too).")
    p.add_argument("query", metavar="QUERY")

    p = add("fetch", "Fetch and cache each user's anime library entries and anime favourites.")
    p.add_argument("users", nargs="+", metavar="USER")
    p.add_argument(
        "--refresh",
        action="store_true",
        help="sync only what changed since the last fetch (falls back to a full fetch "
        "when entries were removed)",
    )

    p = add("library", "Show a cached user's library (fetched first when online and not cached).")
    p.add_argument("user", metavar="USER")

    p = add("crawl", "Grow the training population from Kitsu, politely and resumably.")
    mode = p.add_mutually_exclusive_group()
    mode.add_argument("--around", metavar="USER", help="people who share this user's anime")
    mode.add_argument("--random", action="store_true", help="a uniform sample of Kitsu users")
    p.add_argument(
        "--max-users",
        type=_positive,
        default=100,
        metavar="N",
        help="new users to cache (default 100)",
    )

    p = add("train", "Train the ALS model on the cached population and save it.")
    p.add_argument("--factors", type=_positive, help="latent factors")
    p.add_argument("--regularization", type=_positive_float, help="L2 regularization")
    p.add_argument("--alpha", type=_positive_float, help="confidence scaling")
    p.add_argument("--iterations", type=_positive, help="ALS iterations")
    p.add_argument(
        "--model",
        choices=("blend", "als", "ease", "item-knn", "popularity"),
        default=None,
        help="model to train (default blend: ALS and EASE, per-user z-scored scores mixed)",
    )
    p.add_argument(
        "--tune",
        action="store_true",
        help="search factors/regularization/alpha/iterations on a validation split "
        "and save the best as this cache's default",
    )

    p = add("recommend", "Ranked recommendations (fetches an uncached user; trains when needed).")
    p.add_argument("users", nargs="+", metavar="USER")
    p.add_argument("-n", type=_positive, default=10, metavar="N", help="how many (default 10)")
    p.add_argument(
        "--type",
        dest="subtypes",
        action="append",
        metavar="SUBTYPE",
        help="only this subtype (TV, movie, OVA, ONA, special, music); repeatable",
    )
    p.add_argument("--include-adult", action="store_true", help="do not hide R18/nsfw titles")

    p = add("evaluate", "Held-out evaluation: ALS beside popularity, item-kNN and EASE.")
    p.add_argument("-k", type=_positive, default=10, metavar="K", help="cut-off K (default 10)")
    p.add_argument(
        "--model",
        dest="models",
        action="append",
        choices=("blend", "als", "ease", "ease-binary", "item-knn", "popularity"),
        help="evaluate only this model (repeatable; default: every model, the default first)",
    )

    add("stats", "The cached population: users, anime, entries, status mix, activity segments.")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        from animerec_tui.core.errors import AnimerecError
        from animerec_tui.core.settings import load_settings

        try:
            settings = load_settings(args.cache_dir, offline=args.offline or None)
            if args.command is None:
                from animerec_tui.tui.app import run_app

                return run_app(settings)
            from animerec_tui.cli import commands

            return commands.run(args, settings)
        except AnimerecError as exc:
            sys.stderr.write(f"animerec: {exc}\n")
            return exc.exit_code
    except KeyboardInterrupt:
        sys.stderr.write("animerec: interrupted; the cache keeps everything completed so far.\n")
        return 130
    except BrokenPipeError:
        return 0
    except Exception as exc:  # last line of defence: one line, never a traceback
        if os.environ.get("ANIMEREC_DEBUG"):
            raise
        sys.stderr.write(f"animerec: unexpected error: {type(exc).__name__}: {exc}\n")
        return 1
