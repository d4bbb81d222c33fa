"""The README is a front page and the manual is in docs/: every link between them resolves.

Plain text checks, no TensorFlow: a moved section or a renamed heading breaks a link here, not in
a reader's browser.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
README = REPO / "README.md"
PAGES = sorted((REPO / "docs").glob("*.md"))
FENCE = re.compile(r"^(```|~~~).*?^\1", re.MULTILINE | re.DOTALL)
CODE_SPAN = re.compile(r"`+[^`\n]*`+")
LINK = re.compile(r"!?\[[^\]\n]*\]\(\s*<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)")
HEADING = re.compile(r"^#{1,6}\s+(.+?)\s*#*\s*$", re.MULTILINE)


def prose(text: str) -> str:
    """The text without code blocks and code spans, where brackets are not links."""
    return CODE_SPAN.sub("", FENCE.sub("", text))


def anchors(page: Path) -> set[str]:
    """GitHub's anchors for the headings of a page: lower case, punctuation dropped, spaces to -,
    and -1, -2, ... for repeated headings."""
    seen: dict[str, int] = {}
    result = set()
    for heading in HEADING.findall(FENCE.sub("", page.read_text())):
        slug = re.sub(r"[^\w\- ]", "", heading.lower()).replace(" ", "-")
        count = seen.get(slug, 0)
        seen[slug] = count + 1
        result.add(slug if count == 0 else f"{slug}-{count}")
    return result


def relative_links(page: Path) -> list[str]:
    """Every link target of a page that is not a URL."""
    targets = LINK.findall(prose(page.read_text()))
    return [t for t in targets if not re.match(r"^[a-z][a-z0-9+.-]*:", t)]


LINKS = [(page, target) for page in [README, *PAGES] for target in relative_links(page)]


@pytest.mark.parametrize(
    ("page", "target"), LINKS, ids=[f"{p.relative_to(REPO)}->{t}" for p, t in LINKS]
)
def test_every_relative_link_resolves(page: Path, target: str) -> None:
    path, _, anchor = target.partition("#")
    linked = (page.parent / path).resolve() if path else page
    assert linked.exists(), f"{page.relative_to(REPO)} links to {target}: no such file"
    if anchor:
        assert linked.suffix == ".md", f"{page.relative_to(REPO)}: an anchor into {path}"
        assert anchor in anchors(linked), (
            f"{page.relative_to(REPO)} links to {target}: {linked.name} has no such heading"
        )


def test_the_link_checker_finds_links_and_headings() -> None:
    """The checker itself: it sees the README's links, ignores code, and makes GitHub's slugs."""
    assert ("docs/eval.md" in relative_links(README)) and len(LINKS) > 50
    assert "where-outputs-go---out" in anchors(REPO / "docs" / "outputs.md")
    assert "new-checkpoints-outcheckpoint" in anchors(REPO / "docs" / "outputs.md")
    assert prose("a `[x](y)` b\n```\n[z](w)\n```\n") == "a  b\n\n"


def test_the_readme_is_a_front_page_linking_every_docs_page() -> None:
    """At most 250 lines, starting with the two commands that work on a fresh machine, and every
    page of the manual reachable from it."""
    text = README.read_text()
    assert len(text.splitlines()) <= 250
    first_block = text.split("```sh\n", 1)[1].split("```", 1)[0]
    assert [line.split()[:2] for line in first_block.splitlines()] == [
        ["make", "demo"],
        ["make", "test"],
    ]
    linked = {(REPO / t.partition("#")[0]).resolve() for t in relative_links(README)}
    assert [p.name for p in PAGES if p.resolve() not in linked] == []
