import pytest

from keras_creps.utils.thread_setting import ThreadSetting

pytestmark = pytest.mark.backend_independent  # no Keras backend involved: run once by the runner


def _level(value):
    if value not in ("low", "high", "off"):
        raise ValueError(f"`level` must be 'low', 'high' or 'off'. Received: level={value!r}")
    return None if value == "off" else value


def test_check_normalises_the_value():
    setting = ThreadSetting(None, check=_level)
    with setting.scope("high"):
        with setting.scope("off"):
            assert setting.value() is None
        assert setting.value() == "high"


def test_bad_value_raises_before_the_block():
    setting = ThreadSetting(None, check=_level)
    # The error comes from `scope(...)` itself, so even an unentered scope names it.
    with pytest.raises(ValueError, match="Received: level='max'"):
        setting.scope("max")


def test_value_is_restored_when_the_block_raises():
    setting = ThreadSetting("low", check=_level)
    with pytest.raises(RuntimeError, match="inside"):
        with setting.scope("high"):
            with setting.scope("off"):
                raise RuntimeError("inside")
    assert setting.value() == "low"


def test_settings_are_independent():
    first, second = ThreadSetting(None, check=_level), ThreadSetting(None, check=_level)
    with first.scope("high"):
        assert second.value() is None
