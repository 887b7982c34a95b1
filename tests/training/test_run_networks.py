import keras
import pytest

from keras_creps.training.run_networks import resolve_jit_compile


def test_explicit_choices_are_kept():
    assert resolve_jit_compile("true", "small") == (True, None)
    assert resolve_jit_compile("FALSE", "demo") == (False, None)


@pytest.mark.skipif(keras.config.backend() != "tensorflow", reason="the choice is TensorFlow's")
def test_auto_on_a_tensorflow_cpu_avoids_xla_only_where_it_compiles_for_too_long():
    jit, why = resolve_jit_compile("auto", "small")
    assert jit is False and "plain TensorFlow graph for --cfg small" in why
    assert resolve_jit_compile("auto", "paper")[0] is False
    jit, why = resolve_jit_compile("auto", "demo")
    assert jit is True and "XLA for --cfg demo" in why


@pytest.mark.skipif(keras.config.backend() == "tensorflow", reason="other backends")
def test_auto_elsewhere_is_keras_auto():
    assert resolve_jit_compile("auto", "small") == ("auto", None)
