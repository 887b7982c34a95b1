"""The `tf.Module` that is saved: the generator's variables, the export config and the signatures."""

import json

import tensorflow as tf

SIGNATURES = ("serving_default", "render_z", "render_tile", "render_tile_z")
TILE_INPUTS = ("row_start", "row_stop", "col_start", "col_stop")


def _tf_variable(variable):
    value = getattr(variable, "value", variable)
    if not isinstance(value, tf.Variable):
        raise TypeError(f"Expected a TensorFlow-backed variable. Received: {variable!r}")
    return value


def input_specs(z_dim, c_dim):
    """The signatures' inputs by group: `(view, tile, seeds, latents)`, each a dict of `tf.TensorSpec`."""
    view = {
        "truncation_psi": tf.TensorSpec([], tf.float32, name="truncation_psi"),
        "height": tf.TensorSpec([], tf.int32, name="height"),
        "width": tf.TensorSpec([], tf.int32, name="width"),
        "zoom": tf.TensorSpec([], tf.float32, name="zoom"),
        "center": tf.TensorSpec([2], tf.float32, name="center"),
    }
    tile = {k: tf.TensorSpec([], tf.int32, name=k) for k in TILE_INPUTS}
    seeds = {"seeds": tf.TensorSpec([None], tf.int64, name="seeds")}
    latents = {"z": tf.TensorSpec([None, z_dim], tf.float32, name="z")}
    if c_dim:
        seeds["class_index"] = tf.TensorSpec([None], tf.int64, name="class_index")
        latents["class_labels"] = tf.TensorSpec([None, c_dim], tf.float32, name="class_labels")
    return view, tile, seeds, latents


class ServingModule(tf.Module):
    """Holds the generator's variables and the serving functions (closures).

    The Keras objects are not attributes, so the SavedModel contains only
    variables and graphs: loading it needs neither Keras nor keras_creps.

    Args:
        generator: a `keras_creps.CREPSGenerator` on the TensorFlow backend.
        config: dict. The export config, saved as the JSON string variable
            `export_config`.
        renderer: a `keras_creps.export.renderer.Renderer` of `generator`.
    """

    def __init__(self, generator, config, renderer):
        super().__init__(name="creps_serving")
        # The backend's own tf.Variables: TF1-style loaders (TF Serving,
        # `saved_model_cli run`) restore these, but not Keras' wrappers.
        self.generator_variables = [_tf_variable(v) for v in generator.variables]
        self.export_config = tf.Variable(json.dumps(config, sort_keys=True), trainable=False, name="export_config")
        self._renderer = renderer

    def signature_functions(self):
        """`{name: concrete function}` for `tf.saved_model.save(..., signatures=...)`."""
        renderer = self._renderer
        view, tile, seeds, latents = input_specs(renderer.z_dim, renderer.c_dim)

        def make(name, latent_specs, tiled):
            specs = dict(latent_specs, **view, **(tile if tiled else {}))
            names = list(specs)

            def fn(*args):
                return renderer.render(**dict(zip(names, args)))

            fn.__name__ = name
            return tf.function(fn, input_signature=[specs[k] for k in names], autograph=False)

        functions = {
            "serving_default": make("serving_default", seeds, False),
            "render_z": make("render_z", latents, False),
            "render_tile": make("render_tile", seeds, True),
            "render_tile_z": make("render_tile_z", latents, True),
        }
        # Signatures only: also saving them as attributes of the module would
        # store every graph twice (slower to save and to load).
        return {name: fn.get_concrete_function() for name, fn in functions.items()}
