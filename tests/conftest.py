import os
import sys

import pytest

sys.path.insert(0, os.path.dirname(__file__))

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


def pytest_addoption(parser):
    parser.addoption("--run-slow", action="store_true", default=False, help="also run tests marked slow")


def pytest_collection_modifyitems(config, items):
    if config.getoption("--run-slow"):
        return
    skip = pytest.mark.skip(reason="slow: run with --run-slow (covered by recipes/benchmark.py)")
    for item in items:
        if "slow" in item.keywords:
            item.add_marker(skip)


def pytest_terminal_summary(terminalreporter):
    from test_case import recorded_errors

    errors = recorded_errors()
    if errors:
        terminalreporter.write_sep("-", "largest parity errors (max|ours - ref| / max|ref|)")
        for key in sorted(errors):
            terminalreporter.write_line(f"{key}: {errors[key]:.3e}")
