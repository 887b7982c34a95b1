"""Bounded one-line summaries of values read from a file (`describe_official_pickle`, error messages)."""

import itertools

import numpy as np

from keras_creps.official_pickle.limits import _MESSAGE_CHARS


_SUMMARY_NODES = 400
_SUMMARY_DEPTH = 4
_SUMMARY_ITEMS = 16
_SUMMARY_TENSORS = 100_000


class _SummaryFull(Exception):
    """The summary used up its characters or visits."""


class _Summary:
    """A repr-like rendering that stops at a character and visit budget.

    Walks at most `max_nodes` values, `max_depth` containers deep and
    `max_items` items per container, renders a container met again (shared,
    or a cycle) as a short reference instead of walking it twice, and never
    calls `repr` on anything whose repr could be large: strings and bytes
    are cut before `repr`, huge integers shown by size, arrays by shape.
    """

    _OPEN = {dict: ("{", "}"), list: ("[", "]"), tuple: ("(", ")"), set: ("{", "}"),
             frozenset: ("frozenset({", "})")}
    _EMPTY = {dict: "{}", list: "[]", tuple: "()", set: "set()", frozenset: "frozenset()"}

    def __init__(self, max_chars, max_nodes=_SUMMARY_NODES, max_depth=_SUMMARY_DEPTH, max_items=_SUMMARY_ITEMS):
        self.parts = []
        self.room = max(max_chars, 3)
        self.nodes = max_nodes
        self.max_depth = max_depth
        self.max_items = max_items
        self.seen = set()

    def text(self):
        return "".join(self.parts)

    def put(self, text):
        if len(text) > self.room:
            self.parts.append(text[: self.room - 3] + "..." if self.room >= 3 else "")
            self.room = 0
            raise _SummaryFull
        self.parts.append(text)
        self.room -= len(text)

    def render(self, value):
        """Adds `value`; returns `self.text()` (cut short if the budget ran out)."""
        try:
            self.value(value, 0)
        except _SummaryFull:
            pass
        except (RecursionError, MemoryError, ValueError, TypeError):
            self.parts.append(" <unprintable>")
        return self.text()

    def value(self, value, depth):
        self.nodes -= 1
        if self.nodes < 0:
            self.put("...")
            raise _SummaryFull
        if value is None or isinstance(value, (bool, float, complex, np.bool_, np.number)):
            self.put(repr(value))
        elif isinstance(value, int):
            bits = value.bit_length()
            self.put(int.__repr__(value) if bits <= 64 else f"<{bits}-bit int>")
        elif isinstance(value, (str, bytes, bytearray)):
            cut = value[: max(self.room, 1)]
            self.put(repr(cut) + ("..." if len(cut) < len(value) else ""))
        elif isinstance(value, np.ndarray):
            self.put(f"array(shape={value.shape}, dtype={value.dtype})")
        else:
            kind = next((k for k in self._OPEN if isinstance(value, k)), None)
            if kind is None:
                self.put(f"<{type(value).__name__}>")
            else:
                self.container(value, kind, depth)

    def container(self, value, kind, depth):
        if not value:
            self.put(self._EMPTY[kind])
            return
        if id(value) in self.seen:
            self.put(f"<{kind.__name__} shown before>")
            return
        self.seen.add(id(value))
        if depth >= self.max_depth:
            self.put(f"<{kind.__name__} of {len(value)}>")
            return
        opening, closing = self._OPEN[kind]
        self.put(opening)
        items = value.items() if kind is dict else value
        for index, item in enumerate(itertools.islice(items, self.max_items)):
            if index:
                self.put(", ")
            if kind is dict:
                self.value(item[0], depth + 1)
                self.put(": ")
                self.value(item[1], depth + 1)
            else:
                self.value(item, depth + 1)
        if len(value) > self.max_items:
            self.put(f", ... {len(value) - self.max_items:,} more")
        if kind is tuple and len(value) == 1:
            self.put(",")
        self.put(closing)


def short_repr(value, limit=_MESSAGE_CHARS):
    """A one-line repr of a value read from a file, bounded in length and time.

    Shared sub-objects are shown once, cycles and deep nesting are cut, long
    strings and numbers are shortened: safe for error messages whatever the
    file holds.

    Example:
    ```python
    short_repr({"k": "x" * 10**7})   # "{'k': 'xxxxxxxx...'}", at most 200 characters
    ```
    """
    return _Summary(limit, max_nodes=64, max_depth=3, max_items=8).render(value)



def _clip(text, limit=_MESSAGE_CHARS):
    """`text` itself if short and printable, else a cut-down repr (one line)."""
    if isinstance(text, str) and len(text) <= limit and text.isprintable():
        return text
    return short_repr(text, limit)


def _is_network(value):
    return isinstance(value, dict) and isinstance(value.get("state_dict"), dict)


def describe_official_pickle(data, max_entries=64, max_line_chars=500):
    """One line per top-level entry of a loaded official pickle, bounded.

    Networks read as `G: Generator, 92 tensors, 84,481 values, kwargs {...}`,
    other entries as a cut-down repr. Whatever `data` holds (shared
    sub-objects, cycles, deep nesting, huge strings or integers), the text
    has at most `max_entries + 1` lines of at most `max_line_chars`
    characters each, and building it visits a bounded number of values:
    no full `repr` is ever built.

    Args:
        data: dict returned by `load_official_pickle` (anything else is
            summarised on one line).
        max_entries: int. Top-level entries listed; the rest are counted.
        max_line_chars: int. Characters per line.

    Returns:
        str, lines separated by `"\\n"`.

    Example:
    ```python
    print(describe_official_pickle(load_official_pickle("network-snapshot-025000.pkl")))
    ```
    """
    if not isinstance(data, dict):
        return _Summary(max_line_chars).render(data)
    lines = []
    for index, (key, value) in enumerate(data.items()):
        if index == max_entries:
            lines.append(f"... {len(data) - max_entries:,} more entries")
            break
        head = f"{_clip(key, 80)}: "
        summary = _Summary(max_line_chars - len(head))
        if _is_network(value):
            state = value["state_dict"]
            counted = itertools.islice(state.values(), _SUMMARY_TENSORS)
            values = sum(int(v.size) for v in counted if isinstance(v, np.ndarray))
            more = "+" if len(state) > _SUMMARY_TENSORS else ""
            try:
                summary.put(f"{_clip(value.get('class_name'), 80)}, {len(state):,} tensors, "
                            f"{values:,}{more} values, kwargs ")
            except _SummaryFull:
                lines.append(head + summary.text())
                continue
            summary.render(value.get("init_kwargs"))
        else:
            summary.render(value)
        lines.append(head + summary.text())
    return "\n".join(lines)
