"""A progress bar on stderr for long runs at a terminal (rich; never when piped)."""

from __future__ import annotations

from contextlib import contextmanager
from typing import Callable, Iterator

SHOW_AFTER_FILES = 500  # small projects finish before a bar would help


@contextmanager
def terminal_progress() -> Iterator[Callable[[int, int], None]]:
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    with Progress(TextColumn("scanning"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(), transient=True) as bar:
        task = None

        def update(done: int, total: int) -> None:
            nonlocal task
            if total < SHOW_AFTER_FILES:
                return
            if task is None:
                task = bar.add_task("scan", total=total)
            bar.update(task, completed=done)

        yield update
