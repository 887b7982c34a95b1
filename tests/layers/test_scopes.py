"""The three per-thread scopes the layers read: `matmul_precision`, `modulate_inputs`, `compiled_bias_act`.

Each is a `ThreadSetting` (`keras_creps/utils/thread_setting.py`); these
tests hold every public pair (scope, reader) to the same contract.
"""

import threading

import pytest

from keras_creps.layers.fused_bias_act import compiled_bias_act
from keras_creps.layers.fused_bias_act import compiles_bias_act
from keras_creps.layers.input_modulation import modulate_inputs
from keras_creps.layers.input_modulation import modulates_inputs
from keras_creps.layers.matmul_precision import current_matmul_dtype
from keras_creps.layers.matmul_precision import matmul_precision

# (scope, reader, default read, value set -> read, value that restores the default, bad value, its error)
SCOPES = {
    "matmul_precision": (matmul_precision, current_matmul_dtype, None, ("bfloat16", "bfloat16"), "float32",
                         "float16", "dtype='float16'"),
    "modulate_inputs": (modulate_inputs, modulates_inputs, False, (True, True), False,
                        "yes", "Received: enabled='yes'"),
    "compiled_bias_act": (compiled_bias_act, compiles_bias_act, False, (True, True), False,
                          "yes", "Received: enabled='yes'"),
}


@pytest.fixture(params=sorted(SCOPES))
def scope(request):
    return SCOPES[request.param]


def test_scope_nests_and_restores(scope):
    enter, read, default, (value, seen), off, _, _ = scope
    assert read() == default
    with enter(value):
        assert read() == seen
        with enter(off):
            assert read() == default
        assert read() == seen
    assert read() == default


def test_scope_belongs_to_its_thread(scope):
    enter, read, default, (value, seen), _, _, _ = scope
    inside = []
    with enter(value):
        thread = threading.Thread(target=lambda: inside.append(read()))
        thread.start()
        thread.join()
        assert read() == seen
    assert inside == [default]


def test_bad_value_is_named_and_changes_nothing(scope):
    enter, read, default, _, _, bad, message = scope
    with pytest.raises(ValueError, match=message):
        with enter(bad):
            pass
    assert read() == default
