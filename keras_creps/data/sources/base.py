"""The interface every dataset source gives the pipeline, and the TensorFlow image helpers they share.

A source is built once, validating what it can (files, headers, metadata),
and then only describes itself (`Source` attributes) and streams
`(uint8 image [R, R, C], float32 label)` elements on request
(`Source.elements(StreamOptions)`). Streaming changes nothing in the
source, so any number of pipelines can be built from one, in any order.
"""

import dataclasses

import tensorflow as tf

__all__ = ["RecordSource", "Source", "StreamOptions", "decode_image", "maybe_flip"]


@dataclasses.dataclass(frozen=True)
class StreamOptions:
    """How to stream a source (see `make_dataset` for the meanings)."""

    shuffle: bool = False
    repeat: bool = False
    seed: int = 0
    xflip: bool = False
    input_context: object = None
    use_labels: bool = False
    shuffle_buffer: int = 1
    # Elements of this pipeline's stream left out at its start (a resumed run
    # continuing where it stopped). Sources leave them out before reading or
    # decoding where they can: at 150 kimg, reading and decoding the skipped
    # images took over 15 minutes; skipping positions takes well under a second.
    skip: int = 0

    @property
    def pipelines(self):
        return self.input_context.num_input_pipelines if self.input_context is not None else 1


def decode_image(data, channels):
    """uint8 [H, W, channels] from PNG/JPEG/WebP bytes (a TF function).

    JPEGs use the accurate integer IDCT so the pixels match Pillow's.
    """

    def jpeg():
        return tf.io.decode_jpeg(data, channels=channels, dct_method="INTEGER_ACCURATE")

    def other():
        return tf.io.decode_image(data, channels=channels, expand_animations=False, dtype=tf.uint8)

    return tf.cond(tf.io.is_jpeg(data), jpeg, other)


def maybe_flip(image, flip):
    return tf.cond(flip, lambda: tf.reverse(image, axis=[1]), lambda: image)


class Source:
    """A validated dataset source.

    Attributes:
        kind: str. `"folder"`, `"zip"`, `"tfrecord"` or `"tfds"`.
        source: str. The source as given.
        name: str. A short name for run directories.
        num_images: int. Usable images.
        resolution, channels: int. Image size and channels (1 or 3).
        label_kind: str or None. `"class"`, `"vector"` or None.
        c_dim: int. Label vector width (0 without labels).
        class_names: tuple of str or None.
        report: `BadFileReport`.
    """

    kind = ""

    def __init__(self, source, name, num_images, resolution, channels, label_kind, c_dim, class_names, report):
        self.source = source
        self.name = name
        self.num_images = num_images
        self.resolution = resolution
        self.channels = channels
        self.label_kind = label_kind
        self.c_dim = c_dim
        self.class_names = tuple(class_names) if class_names else None
        self.report = report

    def elements(self, options):
        """A `tf.data.Dataset` of `(uint8 [R, R, C] image, float32 label)`, per `StreamOptions`."""
        raise NotImplementedError

    def finish_image(self, image):
        """A decoded image checked to be `R x R` and given the source's channel count."""
        image = tf.ensure_shape(image, [self.resolution, self.resolution, None])
        if self.channels == 3 and image.shape[-1] == 1:
            image = tf.image.grayscale_to_rgb(image)
        return tf.ensure_shape(image, [self.resolution, self.resolution, self.channels])


class RecordSource(Source):
    """A source of encoded records (TFRecord shards, TFDS), streamed and shuffled with a buffer."""

    def records(self, options):
        """`(dataset of (encoded image, label), sharded)`: `sharded` says whether the
        records are already split by `options.input_context`."""
        raise NotImplementedError

    def decode(self, encoded):
        return decode_image(encoded, self.channels)

    def elements(self, options):
        pairs, sharded = self.records(options)
        if options.pipelines > 1 and not sharded:
            pairs = pairs.shard(options.pipelines, options.input_context.input_pipeline_id)
        if not options.use_labels:
            pairs = pairs.map(lambda encoded, label: (encoded, tf.zeros([0], tf.float32)))
        if options.xflip:
            pairs = pairs.map(
                lambda encoded, label: (tf.stack([encoded, encoded]), tf.stack([label, label]), tf.constant([False, True]))
            ).unbatch()
        else:
            pairs = pairs.map(lambda encoded, label: (encoded, label, tf.constant(False)))
        if options.shuffle:
            pairs = pairs.shuffle(options.shuffle_buffer, seed=options.seed, reshuffle_each_iteration=True)
        if options.skip:
            # Records must still be read to keep the shuffle buffer's order, but not decoded.
            pairs = pairs.skip(options.skip)

        def load(encoded, label, flip):
            image = self.finish_image(self.decode(encoded))
            return maybe_flip(image, flip), label

        return pairs.map(load, num_parallel_calls=tf.data.AUTOTUNE, deterministic=True)
