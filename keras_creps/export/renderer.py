"""The graph code behind every serving signature: checks, latents, view, tiled rendering."""

import tensorflow as tf

from keras_creps.export import request_checks
from keras_creps.export.graph_coords import view_window_coords
from keras_creps.export.graph_images import to_uint8
from keras_creps.export.seeds import seed_latent
from keras_creps.utils.tile_plan import ceil_div
from keras_creps.utils.tile_plan import tile_shape


class Renderer:
    """Renders requests with a generator's mapping and synthesis networks, inside TF graphs.

    Every request is checked first (`request_checks`): all rendering ops
    depend on the checks, so a bad request fails before any allocation.
    Rendering then runs one sample at a time: the line network in chunks of
    `line_chunk` coordinates per axis, the per-pixel network tile by tile
    (`keras_creps.utils.tile_plan`, with `band_pixels` and
    `max_tile_width`), each tile converted to uint8 at once, so memory stays
    bounded for large views.

    Args:
        generator: a `keras_creps.CREPSGenerator`.
        limits: a `request_checks.ServingLimits`.
        align: `"corners"` or `"centers"`.
        keep_aspect: bool.
        band_pixels, max_tile_width, line_chunk: ints.
    """

    def __init__(self, generator, limits, align, keep_aspect, band_pixels, max_tile_width, line_chunk):
        self.mapping = generator.mapping
        self.synthesis = generator.synthesis
        self.z_dim = int(generator.z_dim)
        self.c_dim = int(generator.c_dim)
        self.limits = limits
        self.align, self.keep_aspect = align, keep_aspect
        self.band_pixels, self.max_tile_width, self.line_chunk = band_pixels, max_tile_width, line_chunk
        self.compute_dtype = generator.synthesis.compute_dtype
        # The rendering graph is traced once and shared by every signature.
        grid_specs = [tf.TensorSpec([None, self.z_dim], tf.float32)]
        if self.c_dim:
            grid_specs.append(tf.TensorSpec([None, self.c_dim], tf.float32))
        grid_specs += [tf.TensorSpec([], tf.float32), tf.TensorSpec([None], tf.float32),
                       tf.TensorSpec([None], tf.float32)]
        self._grid = tf.function(self._render_grid_fn, input_signature=grid_specs, autograph=False)

    def render(self, truncation_psi, height, width, zoom, center, seeds=None, z=None, class_index=None,
               class_labels=None, row_start=None, row_stop=None, col_start=None, col_stop=None):
        """The signatures' outputs: `{"images": uint8 [N, rows, cols, C]}` (+ `"z"` for seeds)."""
        from_seeds = seeds is not None
        n = tf.shape(seeds if from_seeds else z)[0]
        window = (row_start, row_stop, col_start, col_stop) if row_start is not None else (0, height, 0, width)
        # Cheapest and most telling first: the first rule broken is the one reported.
        checks = request_checks.CheckChain()
        request_checks.sample_checks(checks, self.limits, n)
        request_checks.view_checks(checks, height, width, zoom, center, truncation_psi,
                                   has_w_avg=self.mapping.w_avg is not None)
        request_checks.window_checks(checks, window, height, width)
        request_checks.pixel_budget_checks(checks, self.limits, n, window)
        request_checks.latent_checks(checks, n, self.c_dim, z=z, class_index=class_index, class_labels=class_labels)
        with tf.control_dependencies(checks.ops):
            height, width = tf.identity(height), tf.identity(width)
            window = tuple(tf.identity(v) for v in window)
            latents = tf.identity(seeds if from_seeds else z)
        if from_seeds:
            z = tf.map_fn(lambda s: seed_latent(s, self.z_dim), latents, fn_output_signature=tf.float32,
                          parallel_iterations=1)
        else:
            z = latents
        labels = None
        if self.c_dim:
            labels = tf.one_hot(class_index, self.c_dim, dtype=tf.float32) if class_index is not None else class_labels
        rows, cols = view_window_coords(height, width, zoom, center, window, align=self.align,
                                        keep_aspect=self.keep_aspect)
        request_checks.coordinate_checks(checks, rows, cols, zoom, center)
        with tf.control_dependencies(checks.ops[-1:]):
            rows, cols = tf.identity(rows), tf.identity(cols)
        images = self._grid(*([z] + ([labels] if self.c_dim else []) + [truncation_psi, rows, cols]))
        outputs = {"images": images}
        if from_seeds:
            outputs["z"] = z
        return outputs

    def _render_grid_fn(self, z, *args):
        """uint8 `[N, len(rows), len(cols), C]`, one sample at a time."""
        labels, (psi, rows, cols) = (args[0], args[1:]) if self.c_dim else (None, args)
        if self.mapping.w_avg is None:
            ws = self.mapping(z, labels)
        else:
            ws = self.mapping(z, labels, truncation_psi=psi)
        n = tf.shape(z)[0]
        channels = self.synthesis.img_channels
        images = tf.TensorArray(tf.uint8, size=n, element_shape=tf.TensorShape([None, None, channels]))

        def body(i, images):
            ws_i = ws[i : i + 1]
            row_lines = self._axis_lines(ws_i, rows, axis=0)
            col_lines = self._axis_lines(ws_i, cols, axis=1)
            return i + 1, images.write(i, self._render_pixels(row_lines, col_lines, ws_i[:, -1]))

        _, images = tf.while_loop(lambda i, _: i < n, body, (tf.constant(0), images), parallel_iterations=1)
        return images.stack()

    def _axis_lines(self, ws, coords, axis):
        """Line-network outputs for one axis of one sample, in chunks: list of `[L, rank, b]`."""
        chunk = self.line_chunk
        num_chunks = ceil_div(tf.shape(coords)[0], chunk)
        num_blocks = len(self.synthesis.line_blocks) - 1
        shape = tf.TensorShape([None, self.synthesis.rank, self.synthesis.biline_channels])
        arrays = [
            tf.TensorArray(self.compute_dtype, size=num_chunks, infer_shape=False, element_shape=shape)
            for _ in range(num_blocks)
        ]
        empty = tf.zeros([1, 0], self.compute_dtype)

        def body(k, *arrays):
            part = tf.cast(coords[k * chunk : (k + 1) * chunk][None], self.compute_dtype)
            if axis == 0:
                lines, _ = self.synthesis.line_network(ws, part, empty)
            else:
                _, lines = self.synthesis.line_network(ws, empty, part)
            return (k + 1,) + tuple(a.write(k, line[0]) for a, line in zip(arrays, lines))

        out = tf.while_loop(lambda k, *_: k < num_chunks, body, (tf.constant(0), *arrays), parallel_iterations=1)
        return [a.concat() for a in out[1:]]

    def _render_pixels(self, row_lines, col_lines, w_last):
        """uint8 `[H, W, C]` of one sample from its line outputs, tile by tile (`tile_plan`)."""
        height = tf.shape(row_lines[0])[0]
        width = tf.shape(col_lines[0])[0]
        band, tile_width = tile_shape(height, width, self.band_pixels, self.max_tile_width,
                                      minimum=tf.minimum, maximum=tf.maximum)
        num_bands, num_tiles = ceil_div(height, band), ceil_div(width, tile_width)
        element = tf.TensorShape([None, None, self.synthesis.img_channels])

        def band_body(b, bands):
            row_parts = [r[None, b * band : (b + 1) * band] for r in row_lines]

            def tile_body(t, tiles):
                col_parts = [c[None, t * tile_width : (t + 1) * tile_width] for c in col_lines]
                tile = self.synthesis.render_rows(row_parts, col_parts, w_last)[0]  # [h, w, C]
                pixel_check = request_checks.CheckChain()
                request_checks.pixel_checks(pixel_check, tile)
                with tf.control_dependencies(pixel_check.ops):
                    pixels = to_uint8(tile)
                # Stored transposed so that `concat` joins along columns.
                return t + 1, tiles.write(t, tf.transpose(pixels, (1, 0, 2)))

            tiles = tf.TensorArray(tf.uint8, size=num_tiles, infer_shape=False, element_shape=element)
            _, tiles = tf.while_loop(lambda t, _: t < num_tiles, tile_body, (tf.constant(0), tiles),
                                     parallel_iterations=1)
            return b + 1, bands.write(b, tf.transpose(tiles.concat(), (1, 0, 2)))

        bands = tf.TensorArray(tf.uint8, size=num_bands, infer_shape=False, element_shape=element)
        _, bands = tf.while_loop(lambda b, _: b < num_bands, band_body, (tf.constant(0), bands),
                                 parallel_iterations=1)
        return bands.concat()
