"""Many command lines of one recipe, run in one Python process.

A recipe run as its own process spends 4-6 s importing Keras and its backend
before it reads a flag (TensorFlow's lane ran 97 such tests: ~680 s). Tests
of refused input need no fresh process each: `run_cases` starts one,
imports the recipe once, and calls its `main` for every command line, the
flags reset in between. Each case gets what a user would see: the exit code
(0 when `main` returns, the `SystemExit` code otherwise, or the exception's
type and text when one escapes, which a test then reports) and its stderr.

Each recipe test file keeps at least one check through a real process (`absl.app.run`, the
start-up filtering of native log lines), as these do not pass through here.

Example:
```python
results = run_cases("generate.py", [["--seeds", "a", "--outdir", out]])
code, stderr = results[0]  # 2, "generate.py: bad --seeds 'a' ...\n"
```
"""

import json
import os
import subprocess
import sys

import keras

RECIPES = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))), "recipes")

_DRIVER = r"""
import contextlib, io, json, resource, sys
sys.path.insert(0, sys.argv[1])
name = sys.argv[2]
sys.argv[0] = name + ".py"
recipe = __import__(name)
import keras_creps  # noqa: F401 - imported before the memory limit is measured

if sys.argv[3] == "limit":
    # Refused input must be refused before any large allocation: 2 GiB over
    # what the imports took ends a case that tries (hostile sizes ask for more).
    with open("/proc/self/status") as f:
        vm = next(int(line.split()[1]) << 10 for line in f if line.startswith("VmSize:"))
    resource.setrlimit(resource.RLIMIT_AS, (vm + (2 << 30), resource.RLIM_INFINITY))
parse = recipe.CLI.parse_flags
results = []
for args in json.loads(sys.stdin.read()):
    recipe.FLAGS.unparse_flags()
    err, out = io.StringIO(), io.StringIO()
    with contextlib.redirect_stderr(err), contextlib.redirect_stdout(out):
        try:
            result = recipe.main(parse([name + ".py", *args]))
            code = 0 if result is None else result
        except SystemExit as e:
            code = e.code
        except BaseException as e:  # a traceback where one line was due
            code = f"{type(e).__name__}: {e}"
    results.append([code, err.getvalue(), out.getvalue()])
print(json.dumps(results))
"""


def run_cases(script, cases, env=None, limit_memory=False, timeout=900, stdout=False):
    """`[(exit code, stderr)]` of `recipes/<script>` run with each argument list in `cases`, in one process.

    Args:
        script: the recipe's file name, e.g. `"generate.py"`.
        cases: list of argument lists (without the program name).
        env: extra environment variables for the process (they win over
            the suite's, `KERAS_BACKEND` included).
        limit_memory: bool. Limit the address space to 2 GiB over the
            imports', so that a case that allocates for absurd sizes fails
            with MemoryError (not for cases that compile: JAX's compiler
            reserves more address space than that).
        timeout: seconds for all cases together.
        stdout: bool. Also return each case's stdout: `[(exit code, stderr, stdout)]`.
    """
    env = {**os.environ, "KERAS_BACKEND": keras.config.backend(), "TF_CPP_MIN_LOG_LEVEL": "3", **(env or {})}
    name = os.path.splitext(script)[0]
    command = [sys.executable, "-c", _DRIVER, RECIPES, name, "limit" if limit_memory else "-"]
    proc = subprocess.run(command, input=json.dumps(cases), capture_output=True, text=True, env=env, timeout=timeout)
    assert proc.returncode == 0, proc.stderr[-3000:]
    results = json.loads(proc.stdout.strip().splitlines()[-1])
    assert len(results) == len(cases), results
    return [tuple(result) if stdout else tuple(result[:2]) for result in results]


def run_together(script, cases, env=None):
    """`run_cases` with stdout, as `subprocess.CompletedProcess`es: a drop-in for one process per command line.

    Example:
    ```python
    bad, good = run_together("generate.py", [["--seeds", "a"], ["--seeds", "1", "--outdir", out]])
    assert bad.returncode == 2 and good.returncode == 0, good.stderr
    ```
    """
    results = run_cases(script, [list(args) for args in cases], env=env, stdout=True)
    return [subprocess.CompletedProcess(list(args), code, out, err) for args, (code, err, out) in zip(cases, results)]


def last_line(stderr):
    """The last non-empty line of a case's stderr ("" when there is none): where a recipe's one-line error goes."""
    lines = stderr.strip().splitlines()
    return lines[-1] if lines else ""
