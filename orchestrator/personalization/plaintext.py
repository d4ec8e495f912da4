"""The plain-text part of an HTML email, made from its HTML.

Links are kept as `text (url)`, list items start with `- `, block elements
and `<br>` become line breaks, and nothing of the markup, scripts or styles
remains. It is for mail clients that show text only and for spam filters,
which distrust HTML-only mail; it is not meant to look like the HTML.

The text is what the standard library's `html.parser.HTMLParser` makes of the
HTML (`convert_charrefs=True`), as `_TextCollector` collects it. That parser
reads character by character in Python, so `html_to_text` first tries
`_fast_parts`, which splits the HTML with one compiled regex and accepts only
markup that HTMLParser reads in a single way, both before and after CPython's
2025 security releases changed how it reads comments, raw-text elements and
references in attribute values: text (a `<` that cannot open markup
included), start and end tags with quoted, unquoted or valueless attributes
separated by ASCII whitespace, whole script and style elements, titles
without markup, comments ended by a plain `-->`, `<!...>` declarations other
than `<![`, and processing instructions. On anything else (an unclosed tag,
comment or script, `<![CDATA[`, attributes run together or split by `/` or a
non-ASCII space, `href==x`, `</ p>`, `&copy=` in a link...) it gives up and
`_TextCollector` reads the whole document, so the text is the same for every
input, exceptions included. The tests compare the two on hand-written and
generated HTML.
"""

from __future__ import annotations

import re
from html import unescape
from html.entities import html5
from html.parser import HTMLParser

_BLOCKS = frozenset(
    {
        "address", "article", "aside", "blockquote", "div", "dl", "dt", "dd", "fieldset", "figure", "footer",
        "form", "h1", "h2", "h3", "h4", "h5", "h6", "header", "hr", "main", "nav", "ol", "p", "pre", "section",
        "table", "tr", "ul", "body", "html",
    }
)  # fmt: skip
_SKIPPED = frozenset({"head", "script", "style", "title", "template", "noscript"})
_LINK_SCHEMES = ("http://", "https://")


class _TextCollector(HTMLParser):
    """The reference: what `html_to_text` must produce, and what it falls back to for odd markup."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.skipping = 0
        self.links: list[tuple[str | None, int]] = []
        """For each open <a>: its href and where its text starts in `parts`."""

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _SKIPPED:
            self.skipping += 1
        elif tag == "br":
            self.parts.append("\n")
        elif tag == "li":
            self.parts.append("\n- ")
        elif tag in ("td", "th"):
            self.parts.append(" ")
        elif tag == "img":
            alt = dict(attrs).get("alt")
            if alt:
                self.parts.append(alt)
        elif tag == "a":
            self.links.append((dict(attrs).get("href"), len(self.parts)))
        if tag in _BLOCKS:
            self.parts.append("\n\n")

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag not in _SKIPPED:
            self.handle_starttag(tag, attrs)

    def handle_endtag(self, tag: str) -> None:
        if tag in _SKIPPED:
            self.skipping = max(0, self.skipping - 1)
        elif tag == "a" and self.links:
            href, start = self.links.pop()
            _close_link(self.parts, href, start)
        if tag in _BLOCKS:
            self.parts.append("\n\n")

    def handle_data(self, data: str) -> None:
        if not self.skipping:
            self.parts.append(data.replace("\n", " "))


def _close_link(parts: list[str], href: str | None, start: int) -> None:
    """At `</a>`: show the link's address after its text, unless the text already is the address."""
    text = " ".join("".join(parts[start:]).split())
    if href and href.strip().lower().startswith((*_LINK_SCHEMES, "mailto:")):
        href = href.strip()
        shown = href.removeprefix("mailto:") if href.lower().startswith("mailto:") else href
        if not text:
            parts.append(shown)
        elif text != shown:
            parts.append(f" ({shown})")


# --- the fast path -------------------------------------------------------------------------------------------------
#
# Every piece is written so that what it accepts, HTMLParser reads the same way; where HTMLParser is lenient
# (`/` between attributes, quotes inside unquoted values, names with odd characters) or has changed (other
# whitespace than ASCII's, `==`, comment ends, raw-text elements) these patterns are strict instead, and the
# input goes to the reference. Quantifiers are possessive so that a pattern never reaches a reading by
# backtracking that HTMLParser's greedy regexes would not.

_WS = r"[ \t\n\r\f]"
"""ASCII whitespace: HTMLParser always ended tag names at these only, and since 2025 knows no other whitespace in tags."""
_TAG_NAME = r"[a-zA-Z][-.a-zA-Z0-9:_]*+"
"""What HTMLParser's end-tag pattern accepts; a subset of the start-tag names it accepts."""
_ATTRIBUTE_NAME = r"[^\s\"'<>/=\x00]++"
_ATTRIBUTE_VALUE = r"\"[^\"]*+\"|'[^']*+'|[^\s\"'<>=`][^\s\"'<>`]*+"
"""Double-quoted, single-quoted or unquoted.

An unquoted value may hold `/` (HTMLParser reads `href=a/>` as the value `a/` and a plain start tag),
must not start with `=` (`a==b` had the value `b`, since 2025 `=b`) and must end at whitespace or `>`."""
_ATTRIBUTE_LIST = rf"(?:{_WS}++{_ATTRIBUTE_NAME}(?:{_WS}*+={_WS}*+(?:{_ATTRIBUTE_VALUE}))?+)*+"
_ATTRIBUTES = re.compile(rf"{_WS}++({_ATTRIBUTE_NAME})(?:{_WS}*+={_WS}*+({_ATTRIBUTE_VALUE}))?+")


def _caseless(name: str) -> str:
    return "".join(f"[{c}{c.upper()}]" for c in name)


def _raw_text_element(name: str) -> str:
    """A whole script (or style) element, whose content is not markup, ended by the first `</script>`.

    HTMLParser has looked for that end in two ways: up to 2025, the first `</\\s*script\\s*>` ignoring
    case the Unicode way (U+017F, long s, matches s) whose name is ASCII; since, the first `</script`
    followed by whitespace, `/` or `>`, ignoring ASCII case only. Content holding nothing that either
    could take for an end makes them agree; an element with such content, or with no end at all, does
    not match, and `_fast_parts` sees its start tag alone and gives up.
    """
    return rf"<{_caseless(name)}{_ATTRIBUTE_LIST}{_WS}*+>(?:[^<]++|<(?!/\s*(?i:{name})))*+</{_caseless(name)}{_WS}*+>"


_TITLE = rf"<{_caseless('title')}{_ATTRIBUTE_LIST}{_WS}*+>[^<]*+</{_caseless('title')}{_WS}*+>"
"""A title without markup inside: since 2025 HTMLParser reads a title's content as text, before as markup."""
_RAW_TEXT = frozenset(
    {
        *HTMLParser.CDATA_CONTENT_ELEMENTS, *getattr(HTMLParser, "RCDATA_CONTENT_ELEMENTS", ()),
        "script", "style", "title", "textarea", "xmp", "iframe", "noembed", "noframes", "plaintext",
    }
)  # fmt: skip
"""Elements whose content some HTMLParser reads as text, not markup."""
_COMMENT = r"<!--(?!-?>)(?:(?!--!>|--\s++>)(?s:.))*?-->"
"""A comment whose end is the first `-->`, with no `--!>` or `-- >` before it: until 2025 HTMLParser ended
comments at `--\\s*>`, since at `--!?>`; and it has begun to end `<!-->` and `<!--->` at once."""


_TOKEN = re.compile(
    r"((?:[^<]++|<(?![a-zA-Z/!?]))++)"  # text; HTMLParser passes on a `<` that cannot open markup as text
    rf"|{_raw_text_element('script')}|{_raw_text_element('style')}|{_TITLE}"  # skipped whole, and nothing in them counts
    rf"|<({_TAG_NAME})({_ATTRIBUTE_LIST}){_WS}*+(/?)>"  # start tag: name, attributes, `/` if self-closing
    rf"|</({_TAG_NAME}){_WS}*+>"  # end tag
    rf"|{_COMMENT}|<!(?!--|\[)[^>]*+>|<\?[^>]*+>"  # comment, doctype or bogus comment, processing instruction
    r"|(<)"  # anything else, which HTMLParser has its own ways with
)
"""One token per match; `findall` gives each as (text, tag, attributes, slash, end tag, other), all empty if ignored."""
_START_TEXT = {"br": "\n", "li": "\n- ", "td": " ", "th": " "} | dict.fromkeys(_BLOCKS, "\n\n")
"""What a start tag adds, for every tag but a, img and the skipped ones, which are not blocks and add nothing else."""


def _fast_parts(html: str) -> list[str] | None:
    """The pieces of text `_TextCollector` would collect, or None if the HTML holds markup left to it."""
    parts: list[str] = []
    append = parts.append
    skipping = 0
    links: list[tuple[str | None, int]] = []
    try:  # costs nothing in the loop unless raised
        for text, tag, attributes, slash, closing, other in _TOKEN.findall(html):
            if text:
                if not skipping:
                    if "&" in text:
                        text = unescape(text)
                    append(text.replace("\n", " "))
            elif tag:
                tag = tag.lower()
                added = _START_TEXT.get(tag)
                if added is not None:
                    append(added)
                elif tag == "a":
                    links.append((_attribute(attributes, "href"), len(parts)))
                elif tag == "img":
                    alt = _attribute(attributes, "alt")
                    if alt:
                        append(alt)
                elif tag in _RAW_TEXT:
                    # Not one that _TOKEN takes whole: the content or the end is odd, or the element is one
                    # whose reading differs between HTMLParsers.
                    return None
                elif tag in _SKIPPED and not slash:  # the collector ignores a self-closing skipped tag
                    skipping += 1
            elif closing:
                closing = closing.lower()
                if closing in _BLOCKS:
                    append("\n\n")
                elif closing == "a":
                    if links:
                        href, start = links.pop()
                        _close_link(parts, href, start)
                elif closing in _SKIPPED:
                    skipping = max(0, skipping - 1)
            elif other:
                return None
    except _Ambiguous:
        return None
    return parts


class _Ambiguous(Exception):
    """An attribute value that HTMLParsers of different Pythons decode differently."""


def _attribute(attributes: str, wanted: str) -> str | None:
    """The value of the last attribute named `wanted` (as `dict(attrs)` keeps it), None if valueless or absent."""
    value: str | None = None
    for name, raw in _ATTRIBUTES.findall(attributes):
        if name.lower() == wanted:
            if not raw:
                value = None
            elif raw[0] in "\"'":  # an unquoted value cannot start with a quote
                value = raw[1:-1]
            else:
                value = raw
            if value and "&" in value:
                for reference, semicolon in _NAMED_REFERENCE.findall(value):
                    if reference.startswith(_LEGACY_NAMES) and not (semicolon and reference + ";" in html5):
                        raise _Ambiguous
                value = unescape(value)
    return value


_NAMED_REFERENCE = re.compile(r"&([a-zA-Z][a-zA-Z0-9]*+)(;?)")
_LEGACY_NAMES = tuple(name for name in html5 if not name.endswith(";"))
"""Names `html.unescape` also decodes without `;`, and then even at the start of a longer name (`&region` is ®ion).

Up to 2025 HTMLParser decoded attribute values with `html.unescape`; since, it decodes a named reference
only if the whole name is known and no `=` follows (`?a=1&copy=2` keeps `&copy`). The two agree on
numeric references, on complete known names ended by `;`, and on names that start with no legacy name."""


# --- layout ------------------------------------------------------------------------------------------------------

_RUNS = re.compile(" {2,}")


def _layout(text: str) -> str:
    """Runs of spaces made one, lines stripped, at most one empty line in a row, one final newline.

    What a regex call per line gives (tests/personalization/test_plaintext.py compares the two),
    without one: the regexes' fixed cost per call and per match, not the scanning, is most of the
    time on an email's few hundred characters.
    """
    for space in "\t\r\f\v\u00a0":  # the spaces other than " " a run may hold; usually absent, and `in` is a fast scan
        if space in text:
            text = text.replace(space, " ")
    if "  " in text:
        text = _RUNS.sub(" ", text)
    text = "\n".join([line.strip() for line in text.split("\n")])
    while "\n\n\n" in text:  # each pass shortens a longer run, and none below two
        text = text.replace("\n\n\n", "\n\n")
    return text.strip() + "\n"


def _reference_parts(html: str) -> list[str]:
    collector = _TextCollector()
    collector.feed(html)
    collector.close()
    return collector.parts


def html_to_text(html: str) -> str:
    """Readable plain text for an HTML document or fragment."""
    parts = _fast_parts(html)
    if parts is None:
        parts = _reference_parts(html)
    return _layout("".join(parts))
