"""The project's Markdown documents: every relative link reaches a file, and its #anchor a heading.

The README is read on the repository's web page and docs/ as an mkdocs site, and the two turn
headings into anchors by slightly different rules, so a linked heading must give the same
anchor under both. The documents speak of the project, so they name no one's machine paths,
and every `tinygpt.x.y` name they mention exists, so a moved module cannot leave them behind.
"""

from __future__ import annotations

import importlib
import re
import unicodedata
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]
DOCS = REPO_ROOT / "docs"
DOCUMENTS = sorted(
    [
        REPO_ROOT / "README.md",
        REPO_ROOT / "benches" / "README.md",
        *(REPO_ROOT / "docs").glob("*.md"),
    ]
    + [path for path in [REPO_ROOT / "CONTRIBUTING.md"] if path.is_file()]
)
FENCE = re.compile(r"^(```|~~~).*?^\1", re.MULTILINE | re.DOTALL)
INLINE_CODE = re.compile(r"`[^`\n]*`")
LINK = re.compile(r"\[[^\]\n]*\]\(([^)\s]+)\)")
HEADING = re.compile(r"^#{1,6}[ \t]+(.+?)[ \t#]*$", re.MULTILINE)
DOTTED_NAME = re.compile(r"\btinygpt(?:\.[A-Za-z_]\w*)+")
MACHINE_PATH = re.compile(r"(?<![\w.])(/work/|/home/|/Users/|/root/|[A-Z]:\\Users\\)")


def _prose(text: str) -> str:
    """The text outside fenced code blocks, where links and headings are real."""
    return FENCE.sub("", text)


def _heading_text(heading: str) -> str:
    """What a heading renders as: code spans keep their content, link targets drop out."""
    return re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", heading).replace("`", "").replace("*", "")


def github_anchor(heading: str) -> str:
    """GitHub's anchor: lower case, punctuation dropped, every space a hyphen."""
    text = _heading_text(heading).strip().lower()
    return re.sub(r"[^\w\- ]", "", text).replace(" ", "-")


def mkdocs_anchor(heading: str) -> str:
    """Python-Markdown's default toc slug, which mkdocs uses."""
    text = unicodedata.normalize("NFKD", _heading_text(heading)).encode("ascii", "ignore").decode()
    text = re.sub(r"[^\w\s-]", "", text).strip().lower()
    return re.sub(r"[-\s]+", "-", text)


def _headings(path: Path) -> list[str]:
    return HEADING.findall(_prose(path.read_text(encoding="utf-8")))


def _links(path: Path) -> list[str]:
    prose = INLINE_CODE.sub("", _prose(path.read_text(encoding="utf-8")))
    return [target for target in LINK.findall(prose) if not re.match(r"[a-z]+:", target)]


def test_the_documents_are_found() -> None:
    assert REPO_ROOT / "docs" / "index.md" in DOCUMENTS
    assert all(path.is_file() for path in DOCUMENTS)


@pytest.mark.parametrize("document", DOCUMENTS, ids=lambda path: str(path.relative_to(REPO_ROOT)))
def test_relative_links_resolve(document: Path) -> None:
    broken = []
    for target in _links(document):
        file_part, _, anchor = target.partition("#")
        linked = (document.parent / file_part).resolve() if file_part else document
        if not linked.exists():
            broken.append(f"{target}: no file {linked}")
            continue
        if DOCS in document.parents and DOCS not in linked.parents:
            broken.append(f"{target}: the mkdocs site holds only docs/, so its pages link inside it")
            continue
        if not anchor:
            continue
        if linked.is_dir() or linked.suffix != ".md":
            broken.append(f"{target}: an anchor into a file that is not Markdown")
            continue
        headings = _headings(linked)
        on_github = {github_anchor(heading) for heading in headings}
        on_the_site = {mkdocs_anchor(heading) for heading in headings}
        if anchor not in on_github:
            broken.append(f"{target}: no heading with that anchor in {linked.name}")
        elif "docs" in linked.parts and anchor not in on_the_site:
            broken.append(f"{target}: mkdocs gives that heading another anchor")
    assert not broken, f"{document.relative_to(REPO_ROOT)}: " + "; ".join(broken)


def test_anchor_rules_agree_on_plain_headings() -> None:
    heading = "Token shards (`train_*.bin`) and `manifest.json`"
    assert github_anchor(heading) == mkdocs_anchor(heading) == "token-shards-train_bin-and-manifestjson"
    assert github_anchor("Corpora (`--data`)") == "corpora---data"
    assert mkdocs_anchor("Corpora (`--data`)") == "corpora-data"


@pytest.mark.parametrize("document", DOCUMENTS, ids=lambda path: str(path.relative_to(REPO_ROOT)))
def test_no_machine_paths(document: Path) -> None:
    lines = document.read_text(encoding="utf-8").splitlines()
    found = [f"line {number}: {line.strip()}" for number, line in enumerate(lines, 1) if MACHINE_PATH.search(line)]
    assert not found, f"{document.relative_to(REPO_ROOT)} names a development machine's path: " + "; ".join(found)


def test_every_page_is_in_the_site_nav() -> None:
    nav = re.findall(
        r"^\s*-\s*[^:\n]+:\s*(\S+\.md)\s*$",
        (REPO_ROOT / "mkdocs.yml").read_text(),
        re.MULTILINE,
    )
    pages = sorted(path.name for path in (REPO_ROOT / "docs").glob("*.md"))
    assert sorted(nav) == pages, "mkdocs.yml's nav should list each page of docs/ once"


def _resolve(dotted: str) -> object:
    """The object a dotted name means: the longest importable module, then attributes."""
    parts = dotted.split(".")
    for length in range(len(parts), 0, -1):
        try:
            found: object = importlib.import_module(".".join(parts[:length]))
        except ImportError:
            continue
        for attribute in parts[length:]:
            found = getattr(found, attribute)
        return found
    raise ImportError(dotted)


@pytest.mark.parametrize("document", DOCUMENTS, ids=lambda path: str(path.relative_to(REPO_ROOT)))
def test_named_python_objects_exist(document: Path) -> None:
    missing = []
    for dotted in sorted(set(DOTTED_NAME.findall(document.read_text(encoding="utf-8")))):
        try:
            _resolve(dotted)
        except (ImportError, AttributeError) as error:
            missing.append(f"{dotted} ({error})")
    assert not missing, f"{document.relative_to(REPO_ROOT)} names what tinygpt lacks: " + "; ".join(missing)
