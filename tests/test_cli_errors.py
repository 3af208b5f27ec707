"""The command line's last word on errors nothing else handled (issue 32): a message with the fix,
never click's bare 'Aborted!' nor a wrong diagnosis; a reader that went away ends the command quietly."""

from __future__ import annotations

import click
from click.testing import CliRunner

from assistant.apps.cli_errors import handle_errors


def run_raising(error: BaseException):
    @click.command()
    @handle_errors
    def command():
        click.echo("first row")
        raise error

    return CliRunner().invoke(command)


def test_an_unexpected_error_is_a_message_and_not_a_bare_aborted():
    """An EOFError (what a truncated index file used to raise) made click print only 'Aborted!'."""
    result = run_raising(EOFError("No data left in file"))
    assert result.exit_code == 2 and "Aborted!" not in result.output
    assert "Error: unexpected EOFError: No data left in file" in result.output and "/api/health" in result.output


def test_a_closed_pipe_is_not_taken_for_an_unreachable_server():
    """`assistant articles | head -4`: writing to the closed pipe raised BrokenPipeError, a
    ConnectionError, which was reported as "Cannot reach the Chroma server at None"."""
    result = run_raising(BrokenPipeError(32, "Broken pipe"))
    assert result.exit_code == 0 and result.output == "first row\n"
