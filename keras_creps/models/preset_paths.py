"""Moved to `keras_creps.utils.preset_paths`; this alias goes once every importer has moved."""

from keras_creps.utils.preset_paths import *  # noqa: F401,F403
from keras_creps.utils.preset_paths import search_dirs  # noqa: F401
