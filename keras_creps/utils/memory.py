"""How much memory this process holds, for progress lines and run statistics.

Both readers use only the standard library and return None where the
platform cannot tell (no `resource` module on Windows, no `/proc` outside
Linux), so callers print what is known and skip the rest.
"""

import os
import sys

__all__ = ["GIB", "current_rss_bytes", "describe_memory", "peak_rss_bytes"]

GIB = float(1 << 30)


def peak_rss_bytes():
    """The largest resident set size this process has had, in bytes, or None.

    Read from `/proc/self/status` (`VmHWM`) where it exists: `getrusage`'s
    `ru_maxrss` survives `exec`, so a process started by a large one (a
    recipe run from a test, a notebook kernel) would report its parent's
    peak. Elsewhere `ru_maxrss`. Never below `current_rss_bytes()`.

    Example:
    ```python
    print(f"peak {peak_rss_bytes() / GIB:.2f} GiB")
    ```
    """
    peak = _status_bytes("VmHWM:")
    if peak is None:
        try:
            import resource
        except ImportError:
            return None
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        # Linux reports kibibytes, macOS bytes.
        peak = int(peak) if sys.platform == "darwin" else int(peak) * 1024
    return max(peak, current_rss_bytes() or 0)


def _status_bytes(key):
    """A `kB` field of `/proc/self/status` (e.g. `"VmHWM:"`) in bytes, or None."""
    try:
        with open("/proc/self/status", encoding="ascii") as f:
            for line in f:
                if line.startswith(key):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        return None
    return None


def current_rss_bytes():
    """The resident set size of this process now, in bytes, or None (read from `/proc/self/statm`).

    Example:
    ```python
    rss = current_rss_bytes()   # None on macOS and Windows
    ```
    """
    try:
        with open("/proc/self/statm", encoding="ascii") as f:
            resident_pages = int(f.read().split()[1])
        return resident_pages * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError, AttributeError):
        return None


def describe_memory():
    """`"memory 1.95 GiB, peak 2.31 GiB"`, with whatever part is known (`""` for none).

    Example:
    ```python
    print(f"step 1 done; {describe_memory()}")
    ```
    """
    now, peak = current_rss_bytes(), peak_rss_bytes()
    parts = []
    if now is not None:
        parts.append(f"{now / GIB:.2f} GiB")
    if peak is not None:
        parts.append(f"peak {peak / GIB:.2f} GiB")
    return f"memory {', '.join(parts)}" if parts else ""
