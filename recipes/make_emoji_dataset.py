r"""Build the default training set: Noto Color Emoji at 64x64, labelled by emoji group.

Every fully-qualified emoji listed in Unicode's `emoji-test.txt` is drawn with
the Noto Color Emoji font (Pillow, CBDT bitmaps at their native size 109),
put on a white square, resized with Lanczos and saved as an RGB PNG. The label
of an image is the index of its Unicode emoji group (Smileys & Emotion,
People & Body, ..., Flags; the "Component" group is left out) in the order the
groups appear in `emoji-test.txt`.

Emoji that the font cannot draw as one glyph (nothing drawn, a sequence that
falls apart into several glyphs, or the font's unknown-flag placeholder) are
skipped and listed, and so are emoji whose image equals that of an earlier one
(e.g. the flags of Norway, Bouvet Island and Svalbard). By default only the
default skin tone is kept (`--skin_tones=default`): the five toned copies of a
people emoji differ only in colour, would make People & Body 59% of the set and
double its size. `--skin_tones=all` keeps them.

The output is a StyleGAN dataset ZIP: `00000/img00000000.png`, ... and
`dataset.json` = `{"labels": [[name, label], ...], "class_names": [...]}`
(`class_names` is our addition; readers of the format ignore it). The bytes
are reproducible: images in `emoji-test.txt` order, fixed PNG settings, fixed
ZIP timestamps and permissions, keys written in a fixed order. The file is
written to a temporary name and renamed into place.

Needs (Debian): `apt-get install -y fonts-noto-color-emoji unicode-data`.

Examples:
    python recipes/make_emoji_dataset.py                       # -> keras_creps/data/default/noto-emoji-64.zip
    python recipes/make_emoji_dataset.py --skin_tones all --dest /tmp/emoji-all.zip
    python recipes/make_emoji_dataset.py --max_images 20 --resolution 32 --dest /tmp/few.zip
"""

import json
import os
import struct
import zipfile

from _command_line import CommandLine
from absl import flags
from PIL import Image, ImageDraw, ImageFont

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DEFAULT_FONT = "/usr/share/fonts/truetype/noto/NotoColorEmoji.ttf"
DEFAULT_EMOJI_TEST = "/usr/share/unicode/emoji/emoji-test.txt"
DEFAULT_DEST = os.path.join(ROOT, "keras_creps", "data", "default", "noto-emoji-64.zip")

FLAGS = flags.FLAGS
CLI = CommandLine("make_emoji_dataset.py")
fail = CLI.fail
flags.DEFINE_string("font", DEFAULT_FONT, "Noto Color Emoji font file (Debian: fonts-noto-color-emoji).")
flags.DEFINE_string("emoji_test", DEFAULT_EMOJI_TEST, "Unicode emoji-test.txt (Debian: unicode-data).")
flags.DEFINE_string("dest", DEFAULT_DEST, "Output dataset ZIP.")
flags.DEFINE_integer("resolution", 64, "Side of the square output images (a power of two).")
flags.DEFINE_enum("skin_tones", "default", ["default", "all"], "Keep only default-tone emoji, or every tone variant.")
flags.DEFINE_integer("max_images", None, "Stop after this many images (for quick checks).")
flags.DEFINE_integer("font_size", 109, "Pixel size to load the font at (109 is the only size of its CBDT bitmaps).")

EXCLUDED_GROUPS = ("Component",)
SKIN_TONE_MODIFIERS = range(0x1F3FB, 0x1F400)
UNKNOWN_FLAG = "\U0001F1E6\U0001F1E6"  # regional indicators "AA": no such region
ZIP_DATE_TIME = (1980, 1, 1, 0, 0, 0)  # the earliest time a ZIP entry can carry
PNG_COMPRESS_LEVEL = 9


def read_emoji_test(path):
    """Parses `emoji-test.txt`.

    Returns `(group_names, entries)`: the groups in file order, and one
    `(text, group, name)` per fully-qualified emoji in file order, where `text`
    is the emoji as a string and `name` its CLDR short name.
    """
    groups, entries = [], []
    group = None
    with open(path, encoding="utf-8") as file:
        for number, line in enumerate(file, start=1):
            line = line.strip()
            if line.startswith("# group:"):
                group = line.split(":", 1)[1].strip()
                if group not in groups:
                    groups.append(group)
                continue
            if not line or line.startswith("#"):
                continue
            fields, _, comment = line.partition("#")
            codepoints, _, status = fields.partition(";")
            if status.strip() != "fully-qualified":
                continue
            if group is None:
                raise ValueError(f"{path}:{number}: emoji listed before any '# group:' line")
            try:
                text = "".join(chr(int(cp, 16)) for cp in codepoints.split())
            except ValueError:
                raise ValueError(f"{path}:{number}: bad code points {codepoints.strip()!r}") from None
            # The comment is "<emoji> E<version> <name>".
            name = comment.strip().split(" ", 2)[-1]
            entries.append((text, group, name))
    if not entries:
        raise ValueError(f"{path}: no fully-qualified emoji found; is this an emoji-test.txt file?")
    return groups, entries


def has_skin_tone(text):
    return any(ord(ch) in SKIN_TONE_MODIFIERS for ch in text)


def font_version(path):
    """The version string (name ID 5) of an OpenType/TrueType font, or None."""
    with open(path, "rb") as file:
        data = file.read()
    num_tables = struct.unpack_from(">H", data, 4)[0]
    for i in range(num_tables):
        tag, _, offset, _ = struct.unpack_from(">4sIII", data, 12 + 16 * i)
        if tag != b"name":
            continue
        _, count, strings = struct.unpack_from(">HHH", data, offset)
        for j in range(count):
            platform, _, _, name_id, length, start = struct.unpack_from(">HHHHHH", data, offset + 6 + 12 * j)
            if name_id != 5:
                continue
            raw = data[offset + strings + start: offset + strings + start + length]
            return raw.decode("utf-16-be" if platform in (0, 3) else "latin-1")
    return None


class EmojiRenderer:
    """Draws one emoji per call as a `resolution`^2 RGB image on white, or None if it can't.

    The font's glyph box (136x128 for Noto Color Emoji at size 109) is padded to a
    square, with the glyph centred, so every emoji keeps the size and placement its
    designers gave it. An emoji counts as not drawable when nothing is drawn, when
    the sequence falls apart into several glyphs, or when the font draws its
    placeholder for unknown flags (a white flag with a question mark), which it
    also draws for the unassigned pair of regional indicators "AA".
    """

    def __init__(self, font_path, font_size, resolution):
        self.font = ImageFont.truetype(font_path, font_size)
        left, top, right, bottom = self.font.getbbox("\U0001F600")
        self.glyph_width, self.glyph_height = right - left, bottom - top
        if self.glyph_width <= 0 or self.glyph_height <= 0:
            raise ValueError(f"{font_path!r} does not draw U+1F600; is it an emoji font?")
        self.side = max(self.glyph_width, self.glyph_height)
        self.resolution = resolution
        self.placeholders = set()
        placeholder = self(UNKNOWN_FLAG)
        if placeholder is not None:
            self.placeholders.add(placeholder.tobytes())

    def __call__(self, text):
        left, top, right, bottom = self.font.getbbox(text)
        if right - left > self.glyph_width or bottom - top > self.glyph_height:
            return None  # not one glyph: the font has no ligature for this sequence
        layer = Image.new("RGBA", (self.side, self.side), (255, 255, 255, 0))
        origin = ((self.side - self.glyph_width) // 2, (self.side - self.glyph_height) // 2)
        ImageDraw.Draw(layer).text(origin, text, font=self.font, embedded_color=True)
        if layer.getchannel("A").getextrema()[1] == 0:
            return None  # nothing drawn: no glyph for it
        image = Image.new("RGB", layer.size, (255, 255, 255))
        image.paste(layer, mask=layer)
        image = image.resize((self.resolution, self.resolution), Image.Resampling.LANCZOS)
        if image.tobytes() in self.placeholders:
            return None
        return image


def zip_entry(name):
    info = zipfile.ZipInfo(name, date_time=ZIP_DATE_TIME)
    info.create_system = 3  # Unix, so the permission bits below mean the same everywhere
    info.external_attr = 0o644 << 16
    info.compress_type = zipfile.ZIP_STORED  # PNGs are already deflated
    return info


def build_dataset(font_path, emoji_test_path, resolution, skin_tones="default", max_images=None,
                  font_size=109):
    """Renders the emoji; returns `(records, class_names, skipped)`.

    `records` is a list of `(archive_name, label, png_bytes, text, name)`; `skipped`
    lists `(text, name, reason)` for each emoji left out because the font could not
    draw it or because its image equals that of an earlier emoji (territories that
    use their country's flag, "family" and "family: man, man, boy").
    """
    from keras_creps.utils.images import png_bytes

    groups, entries = read_emoji_test(emoji_test_path)
    class_names = [g for g in groups if g not in EXCLUDED_GROUPS]
    renderer = EmojiRenderer(font_path, font_size, resolution)
    records, skipped, first_with_pixels = [], [], {}
    for text, group, name in entries:
        if max_images is not None and len(records) >= max_images:
            break
        if group in EXCLUDED_GROUPS or (skin_tones == "default" and has_skin_tone(text)):
            continue
        image = renderer(text)
        if image is None:
            skipped.append((text, name, "the font draws no single glyph for it"))
            continue
        pixels = image.tobytes()
        if pixels in first_with_pixels:
            skipped.append((text, name, f"same image as {first_with_pixels[pixels]!r}"))
            continue
        first_with_pixels[pixels] = name
        index = f"{len(records):08d}"
        records.append((f"{index[:5]}/img{index}.png", class_names.index(group), png_bytes(image, PNG_COMPRESS_LEVEL), text, name))
    return records, class_names, skipped


def write_zip(dest, records, class_names):
    """Writes the dataset ZIP atomically (temporary file in the same folder, then rename)."""
    from keras_creps.utils.files import atomic_write

    metadata = {
        "labels": [[archive_name, label] for archive_name, label, *_ in records],
        "class_names": list(class_names),
    }
    with atomic_write(dest) as tmp, open(tmp, "wb") as file, zipfile.ZipFile(file, "w") as archive:
        for archive_name, _, data, *_ in records:
            archive.writestr(zip_entry(archive_name), data)
        info = zip_entry("dataset.json")
        info.compress_type = zipfile.ZIP_DEFLATED
        archive.writestr(info, json.dumps(metadata, separators=(",", ":")), compresslevel=9)


def main(argv):
    from _startup import quiet_startup  # beside this script, on sys.path when it runs

    quiet_startup()  # keras_creps (imported below) imports Keras and its backend
    from keras_creps.utils.arguments import positive_int, power_of_two

    if len(argv) > 1:
        fail(f"unexpected arguments {argv[1:]}")
    resolution = FLAGS.resolution
    try:
        power_of_two("resolution", resolution)
    except ValueError:
        fail(f"bad --resolution {resolution}: must be a power of two, at least 4")
    try:
        if FLAGS.max_images is not None:
            positive_int("max_images", FLAGS.max_images)
    except ValueError:
        fail(f"bad --max_images {FLAGS.max_images}: must be at least 1")
    if not FLAGS.dest.endswith(".zip"):
        fail(f"bad --dest {FLAGS.dest!r}: must name a .zip file")
    for flag, path, package in (("font", FLAGS.font, "fonts-noto-color-emoji"),
                                ("emoji_test", FLAGS.emoji_test, "unicode-data")):
        if not os.path.isfile(path):
            fail(f"--{flag} {path!r}: no such file (Debian: apt-get install -y {package})")
    try:
        records, class_names, skipped = build_dataset(FLAGS.font, FLAGS.emoji_test, resolution,
                                                      FLAGS.skin_tones, FLAGS.max_images, FLAGS.font_size)
    except (ValueError, OSError) as error:
        fail(str(error))
    try:
        write_zip(FLAGS.dest, records, class_names)
    except OSError as error:
        fail(f"cannot write --dest {FLAGS.dest!r}: {error.strerror or error}", 1)

    counts = [0] * len(class_names)
    for _, label, *_ in records:
        counts[label] += 1
    print(f"font: {FLAGS.font} (version {font_version(FLAGS.font)!r})")
    print(f"emoji data: {FLAGS.emoji_test}")
    for label, (class_name, count) in enumerate(zip(class_names, counts)):
        print(f"  {label}  {class_name:<20} {count:5d}")
    print(f"skipped: {len(skipped)}")
    for text, name, reason in skipped:
        print(f"    {' '.join(f'U+{ord(ch):04X}' for ch in text)}  {name}: {reason}")
    print(f"wrote {len(records)} images, {os.path.getsize(FLAGS.dest)} bytes -> {FLAGS.dest}")


if __name__ == "__main__":
    CLI.run(main)
