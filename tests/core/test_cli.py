"""The command line: a plain GUI start skips the subcommands' parsers; anything else gets the full parser."""

from __future__ import annotations

import pytest

from paygo_desktop.cli import build_parser, names_a_command


@pytest.mark.parametrize(
    ("argv", "full"),
    [
        ([], False),
        (["--data-dir", "sandbox", "--self-test"], False),  # an option's value is not a command
        (["--theme", "dark", "--debug", "--page", "settings", "--screenshot", "x.png"], False),
        (["sandbox"], True),
        (["--data-dir", "d", "session", "list"], True),
        (["--help"], True),
        (["sandox"], True),  # a mistyped command gets argparse's "invalid choice" message
    ],
)
def test_the_full_parser_only_when_a_command_or_help_may_be_named(argv: list[str], full: bool) -> None:
    assert names_a_command(argv) is full


def test_the_light_parser_reads_the_gui_options_as_the_full_one_does() -> None:
    argv = ["--data-dir", "d", "--self-test", "--theme", "dark"]
    light, full = build_parser(commands=False).parse_args(argv), build_parser().parse_args(argv)
    assert vars(light) == vars(full)
    assert light.command is None


def test_a_mistyped_command_is_named_in_the_error(capsys: pytest.CaptureFixture[str]) -> None:
    from paygo_desktop.cli import main

    with pytest.raises(SystemExit):
        main(["sandox"])
    assert "invalid choice: 'sandox'" in capsys.readouterr().err
