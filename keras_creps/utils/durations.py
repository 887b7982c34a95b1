"""Durations as people read them in progress lines and logs."""


def format_duration(seconds):
    """`"2d 03h 04m"`, `"1h 02m 03s"`, `"4m 05s"` or `"6s"` (whole seconds, truncated)."""
    seconds = int(max(0, seconds))
    days, rest = divmod(seconds, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    if days:
        return f"{days}d {hours:02d}h {minutes:02d}m"
    if hours:
        return f"{hours}h {minutes:02d}m {secs:02d}s"
    return f"{minutes}m {secs:02d}s" if minutes else f"{secs}s"
