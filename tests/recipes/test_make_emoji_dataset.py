"""recipes/make_emoji_dataset.py on a few emoji.

Rendering needs the Debian packages fonts-noto-color-emoji and unicode-data;
without them those tests skip (training uses the shipped ZIP, not this script).
"""

import importlib.util
import io
import json
import os
import subprocess
import sys
import zipfile

import numpy as np
import pytest
from PIL import Image
from recipe_cases import run_together

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SCRIPT = os.path.join(ROOT, "recipes", "make_emoji_dataset.py")
SHIPPED = os.path.join(ROOT, "keras_creps", "data", "default", "noto-emoji-64.zip")
FONT = "/usr/share/fonts/truetype/noto/NotoColorEmoji.ttf"
EMOJI_TEST = "/usr/share/unicode/emoji/emoji-test.txt"
SHIPPED_FONT_VERSION = "Version 2.042;"

needs_font = pytest.mark.skipif(
    not os.path.isfile(FONT),
    reason=f"{FONT} not installed (Debian: apt-get install -y fonts-noto-color-emoji); the shipped ZIP is tested "
    "in tests/data/test_default_dataset.py",
)
needs_emoji_test = pytest.mark.skipif(
    not os.path.isfile(EMOJI_TEST), reason=f"{EMOJI_TEST} not installed (Debian: apt-get install -y unicode-data)"
)

# A small emoji-test.txt: a fully-qualified emoji, forms that are not fully
# qualified, a skin-tone variant, a ZWJ sequence with no glyph, the same emoji
# twice, the Component group, and a flag.
SMALL_EMOJI_TEST = """\
# group: Smileys & Emotion
# subgroup: face-smiling
1F600                                  ; fully-qualified     # 😀 E1.0 grinning face
263A                                   ; unqualified         # ☺ E0.6 smiling face
# group: People & Body
1F44B                                  ; fully-qualified     # 👋 E0.6 waving hand
1F44B 1F3FD                            ; fully-qualified     # 👋🏽 E1.0 waving hand: medium skin tone
1F600 200D 1F600                       ; fully-qualified     # 😀‍😀 E0.0 not an emoji
1F44B                                  ; fully-qualified     # 👋 E0.6 waving hand again
# group: Component
1F3FB                                  ; component           # 🏻 E1.0 light skin tone
1F9B0                                  ; fully-qualified     # 🦰 E11.0 red hair
# group: Flags
1F1EB 1F1F7                            ; fully-qualified     # 🇫🇷 E0.6 flag: France
"""


pytestmark = pytest.mark.backend_independent  # no Keras backend involved: run once by the runner


def run(*args):
    return subprocess.run([sys.executable, SCRIPT, *args], check=False, capture_output=True, text=True, timeout=300)


@pytest.fixture(scope="module")
def recipe():
    # Other recipes imported in this process (tests/recipes/test_train.py
    # imports train.py) define flags with the same names: set theirs aside
    # while this recipe's flags exist, then restore them.
    from absl import flags

    saved = {}
    for module_name, module_flags in flags.FLAGS.flags_by_module_dict().items():
        if not module_name.startswith("absl"):
            for flag in module_flags:
                saved[flag.name] = flag
    for name in saved:
        delattr(flags.FLAGS, name)
    before = set(flags.FLAGS)
    spec = importlib.util.spec_from_file_location("make_emoji_dataset", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    yield module
    for name in set(flags.FLAGS) - before:
        delattr(flags.FLAGS, name)
    for name, flag in saved.items():
        flags.FLAGS[name] = flag


def read_zip(path):
    with zipfile.ZipFile(path) as archive:
        metadata = json.loads(archive.read("dataset.json"))
        images = {name: np.asarray(Image.open(io.BytesIO(archive.read(name)))) for name, _ in metadata["labels"]}
        infos = archive.infolist()
    return metadata, images, infos


@needs_font
@needs_emoji_test
def test_first_twenty_emoji_reproducible(tmp_path, recipe):
    first, second = tmp_path / "a" / "few.zip", tmp_path / "b" / "few.zip"
    for dest in (first, second):
        proc = run("--max_images", "20", "--dest", str(dest))
        assert proc.returncode == 0, proc.stderr[-2000:]
        assert "wrote 20 images" in proc.stdout
    assert first.read_bytes() == second.read_bytes()
    assert sorted(os.listdir(first.parent)) == ["few.zip"]  # no temporary file left behind

    metadata, images, infos = read_zip(first)
    assert [name for name, _ in metadata["labels"]] == [f"00000/img{i:08d}.png" for i in range(20)]
    assert [label for _, label in metadata["labels"]] == [0] * 20  # emoji-test.txt starts with smileys
    assert metadata["class_names"][0] == "Smileys & Emotion" and "Component" not in metadata["class_names"]
    assert all(info.date_time == (1980, 1, 1, 0, 0, 0) for info in infos)
    for image in images.values():
        assert image.shape == (64, 64, 3) and image.dtype == np.uint8
        assert image.std() > 5 and (image[0, 0] == 255).all()

    if recipe.font_version(FONT).startswith(SHIPPED_FONT_VERSION):
        # Same font as the shipped set: its first images are these, up to Pillow version drift.
        _, shipped, _ = read_zip(SHIPPED)
        for name, image in images.items():
            assert np.abs(image.astype(int) - shipped[name]).mean() < 1.0, name


@needs_font
def test_selection_skipping_and_labels(tmp_path, recipe):
    emoji_test = tmp_path / "emoji-test.txt"
    emoji_test.write_text(SMALL_EMOJI_TEST, encoding="utf-8")
    records, class_names, skipped = recipe.build_dataset(FONT, str(emoji_test), resolution=16)
    assert class_names == ["Smileys & Emotion", "People & Body", "Flags"]
    assert [(name, label) for _, label, _, _, name in records] == [
        ("grinning face", 0), ("waving hand", 1), ("flag: France", 2)]
    reasons = {name: reason for _, name, reason in skipped}
    assert reasons == {
        "not an emoji": "the font draws no single glyph for it",
        "waving hand again": "same image as 'waving hand'",
    }
    for _, _, data, _, _ in records:
        with Image.open(io.BytesIO(data)) as image:
            assert (image.mode, image.size) == ("RGB", (16, 16))

    records, _, _ = recipe.build_dataset(FONT, str(emoji_test), resolution=16, skin_tones="all", max_images=3)
    assert [name for _, _, _, _, name in records] == [
        "grinning face", "waving hand", "waving hand: medium skin tone"]


def test_font_version_and_bad_emoji_test(tmp_path, recipe):
    not_emoji = tmp_path / "empty.txt"
    not_emoji.write_text("# nothing here\n", encoding="utf-8")
    with pytest.raises(ValueError, match="no fully-qualified emoji found"):
        recipe.read_emoji_test(str(not_emoji))
    bad = tmp_path / "bad.txt"
    bad.write_text("# group: X\nZZZZ ; fully-qualified # ? E0.0 bad\n", encoding="utf-8")
    with pytest.raises(ValueError, match="bad code points 'ZZZZ'"):
        recipe.read_emoji_test(str(bad))
    if os.path.isfile(FONT):
        assert recipe.font_version(FONT).startswith("Version ")


BAD_INPUT = [
    (["--resolution", "48"], "bad --resolution 48"),
    (["--max_images", "0"], "bad --max_images 0"),
    (["--dest", "out.tar"], "bad --dest 'out.tar'"),
    (["--font", "/no/such/font.ttf"], "apt-get install -y fonts-noto-color-emoji"),
]


def test_bad_input_gives_one_clear_line(tmp_path):
    # The first case through a real process (`app.run`; the tests that build data sets need
    # the font and are skipped without it), the others together in one (no start-up each).
    cases = [[*(["--dest", str(tmp_path / "x.zip")] if "--dest" not in args else []), *args] for args, _ in BAD_INPUT]
    procs = [run(*cases[0]), *run_together("make_emoji_dataset.py", cases[1:])]
    for proc, (args, message) in zip(procs, BAD_INPUT):
        assert proc.returncode == 2, (args, proc.stderr[-1000:])
        assert message in proc.stderr.strip().splitlines()[-1], (args, proc.stderr[-1000:])
    assert not os.listdir(tmp_path)
