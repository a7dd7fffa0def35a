"""Item 12: the run summary prints error text as text, never as Rich markup."""

from __future__ import annotations

import pytest

from jobs.cli.commands.loop import print_outcomes
from jobs.runtime.runner import JobOutcome


@pytest.mark.parametrize("error", ["closing tag '[/]' here", "[bold red]not styled[/bold red]"])
def test_error_text_with_brackets_prints_verbatim(
    capsys: pytest.CaptureFixture[str], error: str
) -> None:
    print_outcomes([JobOutcome("shop", "sync", "failed", {"orders": 3}, (error,), 1.0)])
    out = capsys.readouterr().out
    assert error in out.replace("\n", "")
