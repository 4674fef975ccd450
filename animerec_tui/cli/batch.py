"""Commands over several users: every user that works is printed, each failure is one line."""

from __future__ import annotations

import argparse

from animerec_tui.cli.render import emit_json, err, inert, user_json
from animerec_tui.core.errors import AnimerecError
from animerec_tui.core.records import User


class Batch:
    """Per-user outcomes of a command over several users (``fetch``, ``library``,
    ``recommend``): a user that fails gets one line on stderr (``animerec: USER: message``) and,
    with ``--json``, an ``{"user": {"query", ...}, "error": {"message", "exit_code"}}`` object in
    its place on stdout; the others are printed as usual. The exit code is the worst one
    (0 ok < 1 failure < 2 bad input). With a single user the error is raised as before: one line
    from ``main``, nothing on stdout.
    """

    def __init__(self, args: argparse.Namespace) -> None:
        self.args = args
        self.codes: list[int] = []

    @property
    def single(self) -> bool:
        return len(self.args.users) == 1

    def ok(self) -> None:
        self.codes.append(0)

    def failed(self, query: str, exc: AnimerecError, *, user: User | None = None) -> None:
        """Report one user's failure now (raises it again when it is the only user)."""
        self.say(query, exc)
        self.record(query, exc, user=user)

    def say(self, query: str, exc: AnimerecError) -> None:
        """The failure's line on stderr, at once (raises it again when it is the only user)."""
        if self.single:
            raise exc
        err.print(inert(f"animerec: {query}: {exc}"), style="red", soft_wrap=True)

    def record(self, query: str, exc: AnimerecError, *, user: User | None = None) -> None:
        """The failure's exit code and, with ``--json``, its error object in output order."""
        self.codes.append(exc.exit_code)
        if self.args.json:
            who = {"query": query, **(user_json(user) if user is not None else {})}
            emit_json({"user": who, "error": {"message": str(exc), "exit_code": exc.exit_code}})

    @property
    def exit_code(self) -> int:
        return max(self.codes, default=0)
