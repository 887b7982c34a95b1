"""Checks a pickle stream against the limits before anything is unpickled.

Parses opcodes only (`pickletools.genops`), modelling the stack and memo
with numbers, so a few hostile bytes cannot make the C unpickler allocate
a huge memo, nest tuples past the C stack, or hash for hours.
"""

import pickletools
import struct

from keras_creps.official_pickle.limits import OfficialPickleError
from keras_creps.official_pickle.limits import _LimitError
from keras_creps.official_pickle.limits import _MAX_DEPTH
from keras_creps.official_pickle.limits import _MAX_HASH_WORK
from keras_creps.official_pickle.limits import _MAX_MARKS
from keras_creps.official_pickle.limits import _MAX_OPCODES
from keras_creps.official_pickle.limits import _MAX_STACK
from keras_creps.official_pickle.limits import _exception_text


_MARK = pickletools.markobject

# What each opcode does to the modelled stack, by opcode byte: (name, action,
# with_mark, below, pushes, hashed). action: "put" / "memoize" / "get" / "pop"
# / "tuple" / "dup" / "mark" / "op"; with_mark: it pops back to the last MARK;
# below: items it takes under the MARK (or from the stack, without a MARK);
# pushes: objects it pushes (0 or 1); hashed: which popped items the unpickler
# hashes ("key" for SETITEM, "keys" for key/value pairs, "all").
_ACTIONS = {"PUT": "put", "BINPUT": "put", "LONG_BINPUT": "put", "MEMOIZE": "memoize",
            "GET": "get", "BINGET": "get", "LONG_BINGET": "get", "POP": "pop", "DUP": "dup", "MARK": "mark",
            "EMPTY_TUPLE": "tuple", "TUPLE1": "tuple", "TUPLE2": "tuple", "TUPLE3": "tuple", "TUPLE": "tuple"}
_HASHED = {"SETITEM": "key", "SETITEMS": "keys", "DICT": "keys", "ADDITEMS": "all", "FROZENSET": "all"}


def _opcode_table():
    table = {}
    for opcode in pickletools.opcodes:
        before = opcode.stack_before
        with_mark = _MARK in before
        below = before.index(_MARK) if with_mark else len(before)
        pushes = sum(1 for item in opcode.stack_after if item is not _MARK)
        table[opcode.code] = (opcode.name, _ACTIONS.get(opcode.name, "op"), with_mark, below, pushes,
                              _HASHED.get(opcode.name))
    return table


_OPCODES = _opcode_table()
_DEPTH_SHIFT = 32  # weights are capped at _MAX_HASH_WORK + 1 < 2**32
_WEIGHT_MASK = (1 << _DEPTH_SHIFT) - 1


class _StackModel:
    """The unpickler's stack, marks and memo, modelled as packed numbers (see `_scan_pickle`)."""

    def __init__(self, budget, what):
        self.budget, self.what = budget, what
        self.stack = []  # depth << _DEPTH_SHIFT | weight, per item
        self.marks = []  # stack heights at each MARK
        self.memo = []  # the same per memo index, None where unset
        self.memo_len = 0  # memo entries set: MEMOIZE's index, as the unpickler's len(memo)
        self.count = 0  # opcodes read

    def corrupt(self, why, pos):
        return OfficialPickleError(f"{self.what} is corrupt: {why} at byte {pos}")

    def floor(self):
        return self.marks[-1] if self.marks else 0

    def memoize(self, index, name, pos):
        """PUT / MEMOIZE: the top item is stored at memo `index`."""
        if index < 0:
            raise self.corrupt("negative memo index", pos)
        if index > self.count:
            raise _LimitError("memo", f"memo index {index:,} at byte {pos} of {self.what}, "
                                      f"after only {self.count:,} opcodes")
        if len(self.stack) <= self.floor():
            raise self.corrupt(f"{name} with nothing on the stack", pos)
        if index >= len(self.memo):
            self.memo.extend([None] * (index + 1 - len(self.memo)))
        if self.memo[index] is None:
            self.memo_len += 1
        self.memo[index] = self.stack[-1]

    def get(self, index, pos):
        if not 0 <= index < len(self.memo) or self.memo[index] is None:
            raise self.corrupt(f"memo index {index} read before it is written", pos)
        self.stack.append(self.memo[index])

    def mark(self, pos):
        self.marks.append(len(self.stack))
        if len(self.marks) > _MAX_MARKS:
            raise _LimitError("nesting", f"MARKs nested more than {_MAX_MARKS:,} deep at byte {pos} of {self.what}")

    def take(self, with_mark, below, name, pos):
        """Pops what an opcode consumes: the items above its MARK (if it has one), then `below` more."""
        stack, items = self.stack, []
        if with_mark:
            if not self.marks:
                raise self.corrupt(f"{name} without a MARK", pos)
            height = self.marks.pop()
            items = stack[height:]
            del stack[height:]
        if len(stack) - below < self.floor():
            raise self.corrupt(f"stack underflow in {name}", pos)
        if not with_mark:
            items = stack[len(stack) - below:]
        del stack[len(stack) - below:]
        return items

    def push_result(self, action, hashed, pushes, items, pos):
        """Pushes what an opcode builds from `items`, charging the hashing it makes the unpickler do."""
        if action == "tuple":
            depth = 1 + (max(items) >> _DEPTH_SHIFT if items else 0)
            if depth > _MAX_DEPTH:
                raise _LimitError("nesting", f"tuples nested more than {_MAX_DEPTH} deep at byte {pos} of {self.what}")
            weight = min(1 + sum(item & _WEIGHT_MASK for item in items), _MAX_HASH_WORK + 1)
            self.stack.append(depth << _DEPTH_SHIFT | weight)
            return
        if action == "dup":
            self.stack += items * 2
            return
        if hashed == "key":
            self.budget.hash(items[1] & _WEIGHT_MASK)
        elif hashed == "keys":
            self.budget.hash(sum(item & _WEIGHT_MASK for item in items[0::2]))
        elif hashed == "all":
            self.budget.hash(sum(item & _WEIGHT_MASK for item in items))
        if pushes:
            self.stack.append(1)

    def step(self, opcode, arg, pos):
        """Applies one opcode to the model."""
        name, action, with_mark, below, pushes, hashed = _OPCODES[opcode.code]
        if action in ("put", "memoize"):
            self.memoize(self.memo_len if action == "memoize" else arg, name, pos)
        elif action == "get":
            self.get(arg, pos)
        elif action == "mark":
            self.mark(pos)
        elif action == "pop" and self.marks and len(self.stack) == self.floor():
            self.marks.pop()  # POP also drops a MARK with nothing above it
        else:
            self.push_result(action, hashed, pushes, self.take(with_mark, below, name, pos), pos)
        if len(self.stack) > _MAX_STACK:
            raise _LimitError("stack", f"more than {_MAX_STACK:,} items on the unpickling stack "
                                       f"at byte {pos} of {self.what}")


def _scan_pickle(stream, budget, what):
    """Checks the pickle starting at `stream`'s position against the limits.

    Parses opcodes with `pickletools.genops` (which builds nothing: it only
    reads each opcode and its argument) and models the unpickler's stack and
    memo with numbers: an item's "weight" is how many objects hashing it
    visits (1, or for a tuple 1 plus the weights of its items, counted again
    for every reference, as `hash` does), and its "depth" how deeply tuples
    nest in it (hashing a tuple recurses in C without a recursion check, so
    a million nested 1-tuples crash the interpreter). Each stack and memo
    entry packs both as `depth << _DEPTH_SHIFT | weight`. Leaves `stream`
    where it was.
    """
    start = stream.tell()
    model = _StackModel(budget, what)
    room = _MAX_OPCODES - budget.opcodes
    try:
        for opcode, arg, pos in pickletools.genops(stream):
            model.count += 1
            if model.count > room:
                raise _LimitError("opcode", f"more than {_MAX_OPCODES:,} pickle opcodes")
            model.step(opcode, arg, pos)
    except OfficialPickleError:
        raise
    except (ValueError, OverflowError, EOFError, struct.error) as exc:
        raise OfficialPickleError(f"{what} is truncated or corrupt: {_exception_text(exc)}") from None
    finally:
        budget.opcodes += model.count
    budget.scan_bytes += stream.tell() - start
    if budget.scan_bytes > budget.max_scan_bytes:
        raise _LimitError("scan", f"its pickles add up to more than {budget.max_scan_bytes:,} bytes")
    stream.seek(start)


def _load_checked(unpickler, stream, budget, what):
    """`unpickler.load()` of the pickle at `stream`'s position, once it passes the scan."""
    _scan_pickle(stream, budget, what)
    return unpickler.load()
