"""The named presets of keras-creps, installed as the data package `keras_creps.saved_models`.

`pyproject.toml` maps this directory to that package so that `pip install`
ships the presets; `keras_creps.utils.preset_paths` finds them here with
`importlib.resources`. Nothing to import: the presets are data.
"""
