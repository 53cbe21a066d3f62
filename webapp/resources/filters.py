"""Template filter for the resource pages: human file sizes."""

from __future__ import annotations

from . import bp

UNITS = ("KiB", "MiB", "GiB", "TiB", "PiB")


@bp.app_template_filter("filesize")
def filesize(size: int | None) -> str:
    """A byte count as '999 B', '1.5 KiB', '12.0 MiB' (binary units)."""
    if size is None:
        return "—"
    if size < 1024:
        return f"{size} B"
    value = float(size)
    for unit in UNITS:  # noqa: B007  (the unit we stop at is the one we print)
        value /= 1024
        if value < 1024:
            break
    return f"{value:.1f} {unit}"
