import pytest

from keras_creps.utils import arguments


pytestmark = pytest.mark.backend_independent  # no Keras backend involved: run once by the runner


@pytest.mark.parametrize("value", [float("nan"), float("inf"), -float("inf"), "1", None, True])
def test_finite_float_rejects(value):
    with pytest.raises(ValueError, match="zoom"):
        arguments.finite_float("zoom", value)


def test_finite_float_accepts():
    assert arguments.finite_float("zoom", 2) == 2.0


@pytest.mark.parametrize("value", [0, 2, 3, 12, 4.0, True, -8])
def test_power_of_two_rejects(value):
    with pytest.raises(ValueError, match=f"resolution={value!r}"):
        arguments.power_of_two("resolution", value)


def test_power_of_two_minimum():
    assert arguments.power_of_two("resolution", 8, minimum=8) == 8
    with pytest.raises(ValueError, match=">= 8"):
        arguments.power_of_two("resolution", 4, minimum=8)


@pytest.mark.parametrize("value", ["yes", "no", 1, 0, None])
def test_boolean_rejects_truthy_and_falsy_stand_ins(value):
    with pytest.raises(ValueError, match=f"enabled={value!r}"):
        arguments.boolean("enabled", value)


def test_boolean_accepts():
    assert arguments.boolean("enabled", False) is False


def test_jit_compile_setting():
    assert [arguments.jit_compile_setting(v) for v in ("auto", "true", "false")] == ["auto", True, False]
    with pytest.raises(ValueError, match="jit_compile='yes'"):
        arguments.jit_compile_setting("yes")
