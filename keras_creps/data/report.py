"""The report of files a dataset left out or converted."""

import dataclasses

__all__ = ["BadFileReport"]


@dataclasses.dataclass
class BadFileReport:
    """What a dataset build found wrong with its files.

    Every file a pipeline excludes is named here with the reason, so that
    nothing is dropped silently. Images that were kept but converted on the
    fly (a grayscale image in an RGB dataset, an RGBA image whose alpha is
    fully opaque) are listed apart, as are files skipped for their extension.

    Args:
        source: str. The dataset the report is about.
        num_checked: int. How many image files were inspected.
        bad_files: list of `(name, reason)`. Excluded files, names relative
            to the source.
        converted: list of `(name, what)`. Kept files converted on load.
        ignored: list of str. Files skipped because their extension is not
            an image extension (`dataset.json` is not listed).

    Example:
    ```python
    report = BadFileReport("faces/")
    report.add_bad("a/broken.png", "truncated or corrupt: image file is truncated")
    print(report.summary())
    ```
    """

    source: str
    num_checked: int = 0
    bad_files: list = dataclasses.field(default_factory=list)
    converted: list = dataclasses.field(default_factory=list)
    ignored: list = dataclasses.field(default_factory=list)

    def add_bad(self, name, reason):
        self.bad_files.append((str(name), str(reason)))

    @property
    def num_bad(self):
        return len(self.bad_files)

    def summary(self, max_names=5):
        """One paragraph for logs: counts plus the first `max_names` names of each kind."""
        lines = [f"{self.source}: {self.num_checked} image files checked, {self.num_bad} bad"]

        def listing(title, items):
            if not items:
                return
            shown = ", ".join(f"{name} ({why})" if why else name for name, why in items[:max_names])
            more = f", ... and {len(items) - max_names} more" if len(items) > max_names else ""
            lines.append(f"  {title} ({len(items)}): {shown}{more}")

        listing("excluded", self.bad_files)
        listing("converted", self.converted)
        listing("ignored (not .png/.jpg/.jpeg/.webp)", [(name, "") for name in self.ignored])
        return "\n".join(lines)

    def __str__(self):
        return self.summary()
