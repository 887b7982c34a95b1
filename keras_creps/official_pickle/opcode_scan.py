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
    stack = []  # depth << _DEPTH_SHIFT | weight, per item
    marks = []  # stack heights at each MARK
    memo = []  # the same per memo index, None where unset
    memo_len = 0
    count = 0
    cap = _MAX_HASH_WORK + 1
    room = _MAX_OPCODES - budget.opcodes
    try:
        for opcode, arg, pos in pickletools.genops(stream):
            count += 1
            if count > room:
                raise _LimitError("opcode", f"more than {_MAX_OPCODES:,} pickle opcodes")
            name, action, with_mark, below, pushes, hashed = _OPCODES[opcode.code]
            floor = marks[-1] if marks else 0
            if action == "put" or action == "memoize":
                index = memo_len if action == "memoize" else arg
                if index < 0:
                    raise OfficialPickleError(f"{what} is corrupt: negative memo index at byte {pos}")
                if index > count:
                    raise _LimitError("memo", f"memo index {index:,} at byte {pos} of {what}, "
                                              f"after only {count:,} opcodes")
                if len(stack) <= floor:
                    raise OfficialPickleError(f"{what} is corrupt: {name} with nothing on the stack at byte {pos}")
                if index >= len(memo):
                    memo.extend([None] * (index + 1 - len(memo)))
                if memo[index] is None:
                    memo_len += 1
                memo[index] = stack[-1]
                continue
            if action == "get":
                if not 0 <= arg < len(memo) or memo[arg] is None:
                    raise OfficialPickleError(f"{what} is corrupt: memo index {arg} read before it is written "
                                              f"at byte {pos}")
                stack.append(memo[arg])
            elif action == "mark":
                marks.append(len(stack))
                if len(marks) > _MAX_MARKS:
                    raise _LimitError("nesting", f"MARKs nested more than {_MAX_MARKS:,} deep at byte {pos} of {what}")
            elif action == "pop" and marks and len(stack) == floor:
                marks.pop()  # POP also drops a MARK with nothing above it
            else:
                if with_mark:
                    if not marks:
                        raise OfficialPickleError(f"{what} is corrupt: {name} without a MARK at byte {pos}")
                    height = marks.pop()
                    items = stack[height:]
                    del stack[height:]
                    floor = marks[-1] if marks else 0
                    if len(stack) - below < floor:
                        raise OfficialPickleError(f"{what} is corrupt: stack underflow in {name} at byte {pos}")
                    del stack[len(stack) - below:]
                else:
                    if len(stack) - below < floor:
                        raise OfficialPickleError(f"{what} is corrupt: stack underflow in {name} at byte {pos}")
                    items = stack[len(stack) - below:]
                    del stack[len(stack) - below:]
                if action == "tuple":
                    depth = 1 + (max(items) >> _DEPTH_SHIFT if items else 0)
                    if depth > _MAX_DEPTH:
                        raise _LimitError("nesting", f"tuples nested more than {_MAX_DEPTH} deep at byte {pos} "
                                                     f"of {what}")
                    weight = min(1 + sum(item & _WEIGHT_MASK for item in items), cap)
                    stack.append(depth << _DEPTH_SHIFT | weight)
                elif action == "dup":
                    stack += items * 2
                else:
                    if hashed == "key":
                        budget.hash(items[1] & _WEIGHT_MASK)
                    elif hashed == "keys":
                        budget.hash(sum(item & _WEIGHT_MASK for item in items[0::2]))
                    elif hashed == "all":
                        budget.hash(sum(item & _WEIGHT_MASK for item in items))
                    if pushes:
                        stack.append(1)
            if len(stack) > _MAX_STACK:
                raise _LimitError("stack", f"more than {_MAX_STACK:,} items on the unpickling stack "
                                           f"at byte {pos} of {what}")
    except OfficialPickleError:
        raise
    except (ValueError, OverflowError, EOFError, struct.error) as exc:
        raise OfficialPickleError(f"{what} is truncated or corrupt: {_exception_text(exc)}") from None
    finally:
        budget.opcodes += count
    budget.scan_bytes += stream.tell() - start
    if budget.scan_bytes > budget.max_scan_bytes:
        raise _LimitError("scan", f"its pickles add up to more than {budget.max_scan_bytes:,} bytes")
    stream.seek(start)


def _load_checked(unpickler, stream, budget, what):
    """`unpickler.load()` of the pickle at `stream`'s position, once it passes the scan."""
    _scan_pickle(stream, budget, what)
    return unpickler.load()
