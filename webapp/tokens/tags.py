"""STS session tags in a web identity token: the `https://aws.amazon.com/tags` claim, judged.

STS reads `{"principal_tags": {KEY: [VALUE]}, "transitive_tag_keys": [KEY, …]}` from the token
and attaches the tags to the role session, where policies read them as
`${aws:PrincipalTag/KEY}`. It refuses the call when the claim breaks its rules: at most 50 tags,
keys of 1 to 128 and values of 0 to 256 characters drawn from letters, separators, digits and
`_.:/=+-@`, keys unique regardless of case and not starting with `aws:`, one value per key (STS
has no multi-valued tags), transitive keys among the tags.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Mapping
from typing import Any

from .parse import show

TAGS_CLAIM = "https://aws.amazon.com/tags"
MAX_TAGS, MAX_KEY, MAX_VALUE = 50, 128, 256
_EXTRA_CHARS = frozenset("_.:/=+-@")


class TagProblem(ValueError):
    """The tags claim breaks an STS rule; the message names the offending tag."""


def _allowed(text: str) -> bool:
    """STS's pattern [\\p{L}\\p{Z}\\p{N}_.:/=+\\-@]: letters, separators, numbers, a few marks."""
    return all(unicodedata.category(c)[0] in "LZN" or c in _EXTRA_CHARS for c in text)


def check_session_tags(claims: Mapping[str, Any]) -> tuple[dict[str, str], list[str]]:
    """Session tags (key → value) and transitive keys of a token; TagProblem if STS would refuse.

    A token without the claim has no tags: ({}, []).
    """
    if TAGS_CLAIM not in claims:
        return {}, []
    claim = claims[TAGS_CLAIM]
    if not isinstance(claim, dict):
        raise TagProblem(f"The {TAGS_CLAIM} claim is {show(claim, 60)}, not a JSON object.")
    principal = claim.get("principal_tags", {})
    if not isinstance(principal, dict):
        raise TagProblem(f"principal_tags is {show(principal, 60)}, not an object of KEY: [VALUE].")
    if len(principal) > MAX_TAGS:
        raise TagProblem(f"{len(principal)} session tags; STS takes at most {MAX_TAGS}.")
    tags: dict[str, str] = {}
    seen: dict[str, str] = {}
    for key, values in principal.items():
        _check_key(key, seen)
        if not (isinstance(values, list) and len(values) == 1 and isinstance(values[0], str)):
            raise TagProblem(
                f"Session tag {show(key, 60)}: the value must be a list of one string, "
                f"got {show(values, 60)} (STS has no multi-valued tags)."
            )
        value = values[0]
        if len(value) > MAX_VALUE or not _allowed(value):
            raise TagProblem(
                f"Session tag {show(key, 60)}: the value {show(value, 60)} must be at most "
                f"{MAX_VALUE} characters of letters, digits, spaces and _.:/=+-@."
            )
        seen[key.lower()] = key
        tags[key] = value
    transitive = claim.get("transitive_tag_keys", [])
    if not isinstance(transitive, list) or not all(isinstance(k, str) for k in transitive):
        raise TagProblem(f"transitive_tag_keys is {show(transitive, 60)}, not a list of keys.")
    for key in transitive:
        if key.lower() not in seen:
            raise TagProblem(
                f"Transitive tag key {show(key, 60)} is not one of the session tags; "
                "transitive keys must name tags in principal_tags."
            )
    return tags, list(transitive)


def _check_key(key: str, seen: dict[str, str]) -> None:
    if not 1 <= len(key) <= MAX_KEY or not _allowed(key):
        raise TagProblem(
            f"Session tag key {show(key, 60)} must be 1 to {MAX_KEY} characters of letters, "
            "digits, spaces and _.:/=+-@."
        )
    if key.lower().startswith("aws:"):
        raise TagProblem(f"Session tag key {show(key, 60)}: the aws: prefix is AWS's own.")
    if key.lower() in seen:
        raise TagProblem(
            f"Session tags {show(seen[key.lower()], 60)} and {show(key, 60)} differ only by "
            "case; STS treats keys case-insensitively and refuses both."
        )


def get_session_tags(claims: Mapping[str, Any]) -> dict[str, str]:
    """The tags STS would attach for this token; none when it has no claim or STS would refuse."""
    try:
        return check_session_tags(claims)[0]
    except TagProblem:
        return {}
