"""recipes/_command_line.py: every recipe refuses input with one line on stderr and exit 2 (flags) or 1 (data)."""

import os
import subprocess
import sys

import keras
import pytest
from absl import flags

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
RECIPES = os.path.join(ROOT, "recipes")
sys.path.insert(0, RECIPES)

import _command_line
from _command_line import CommandLine

# A flag of this test only, in absl's process-wide registry (what `parse_flags` reads).
flags.DEFINE_integer("command_line_test_batch", 4, "Only for tests/recipes/test_command_line.py.")

SCRIPTS = sorted(name for name in os.listdir(RECIPES) if name.endswith(".py") and not name.startswith("_"))
backend_independent = pytest.mark.skipif(
    keras.config.backend() != "tensorflow", reason="the command line does not depend on the Keras backend")


@pytest.fixture
def parsed_flags():
    yield
    flags.FLAGS.unparse_flags()


def test_one_line_folds_lines_and_keeps_inner_spacing():
    assert _command_line.one_line("bad file:\n   truncated\n\n") == "bad file: truncated"
    assert _command_line.one_line("a  b") == "a  b"
    assert _command_line.one_line(ValueError("x\ny")) == "x y"


def test_fail_writes_one_line_and_exits_with_the_code(capsys):
    cli = CommandLine("tool.py")
    with pytest.raises(SystemExit) as exited:
        cli.fail("bad --seeds 'a':\n  not a number")
    assert exited.value.code == 2
    assert capsys.readouterr().err == "tool.py: bad --seeds 'a': not a number\n"
    with pytest.raises(SystemExit) as exited:
        cli.fail("'/x.keras': no such file", code=_command_line.BAD_DATA)
    assert exited.value.code == 1


def test_parse_flags_returns_the_arguments_and_sets_the_flag(parsed_flags):
    assert CommandLine("tool.py").parse_flags(["tool.py", "--command_line_test_batch", "8", "rest"]) == \
        ["tool.py", "rest"]
    assert flags.FLAGS.command_line_test_batch == 8


@pytest.mark.parametrize("argv, named", [
    (["--command_line_test_batch", "abc"], "abc"),
    (["--no_such_flag_here"], "no_such_flag_here"),
])
def test_a_bad_flag_is_one_line_and_exit_2(argv, named, capsys, parsed_flags):
    with pytest.raises(SystemExit) as exited:
        CommandLine("tool.py").parse_flags(["tool.py", *argv])
    assert exited.value.code == 2
    err = capsys.readouterr().err
    assert err.startswith("tool.py: ") and err.count("\n") == 1 and named in err


@pytest.mark.parametrize("program", ["", None, 3])
def test_the_program_name_is_checked(program):
    with pytest.raises(ValueError, match=f"Received: program={program!r}"):
        CommandLine(program)


@backend_independent
@pytest.mark.parametrize("script", SCRIPTS)
def test_every_recipe_refuses_an_unknown_flag_in_one_line(script):
    # Through a real process and absl's app.run: absl alone prints "FATAL Flags parsing error" and exits 1.
    proc = subprocess.run([sys.executable, os.path.join(RECIPES, script), "--no_such_flag_here=1"],
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 2, (script, proc.stderr[-2000:])
    assert proc.stderr.strip().splitlines() == [
        f"{script}: Unknown command line flag 'no_such_flag_here'"], proc.stderr[-2000:]
