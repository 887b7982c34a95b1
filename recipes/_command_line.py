"""How a recipe ends on bad input: one line on stderr naming the value, and an exit code.

Every recipe refuses input the same way, so a script that drives them (or a
user reading a log) sees one line `<recipe>.py: <what is wrong>` and can tell
the two kinds of failure apart by the exit code:

- 2: a flag value (`--seeds a`, `--batch abc`, an unknown flag);
- 1: a path or data that cannot be used (a missing file, a broken model).

absl's own parser would print `FATAL Flags parsing error: ...` plus a hint
line and exit 1, the code of a data error; `CommandLine.parse_flags` turns
its errors into the one-line form with exit 2. A message with line breaks
(an exception's text) is folded into one line.

This module imports only the standard library and absl, so a recipe can use
it before Keras or TensorFlow is imported.

Example:
```python
CLI = CommandLine("generate.py")
fail = CLI.fail

def main(argv):
    if FLAGS.batch < 1:
        fail(f"bad --batch {FLAGS.batch}: must be at least 1")   # exit 2

if __name__ == "__main__":
    CLI.run(main)
```
"""

import sys

__all__ = ["BAD_DATA", "BAD_FLAG", "CommandLine", "one_line"]

BAD_FLAG = 2
BAD_DATA = 1


def one_line(message):
    """`message` as one line: its lines stripped and joined by single spaces (inner spacing kept).

    Example:
    ```python
    one_line("bad file:\\n  truncated")  # "bad file: truncated"
    ```
    """
    return " ".join(part.strip() for part in str(message).splitlines() if part.strip())


class CommandLine:
    """One recipe's way to refuse input and to parse its flags.

    Args:
        program: str. The recipe's file name, the prefix of every message
            (e.g. `"export.py"`).

    Example:
    ```python
    CLI = CommandLine("export.py")
    CLI.fail("'/data/x.keras': no such file", code=1)
    # stderr: export.py: '/data/x.keras': no such file    (exit 1)
    ```
    """

    def __init__(self, program):
        if not isinstance(program, str) or not program.strip():
            raise ValueError(f"`program` must be a non-empty string. Received: program={program!r}")
        self.program = program

    def say(self, message):
        """Writes `<program>: <message>` as one line on stderr (warnings, notes)."""
        print(f"{self.program}: {one_line(message)}", file=sys.stderr, flush=True)

    def fail(self, message, code=BAD_FLAG):
        """Ends the run with `<program>: <message>` on stderr: exit 2 for flag values, 1 for paths and data."""
        self.say(message)
        sys.exit(code)

    def parse_flags(self, argv):
        """absl's flag parser, but a bad or unknown flag ends in one line and exit 2."""
        from absl import flags

        try:
            return flags.FLAGS(argv)
        except flags.Error as error:
            self.fail(error)

    def run(self, main):
        """`absl.app.run(main)` with `parse_flags` as its parser."""
        from absl import app

        app.run(main, flags_parser=self.parse_flags)
