"""HTML → XHTML: a fragment of a page read as a browser reads it, written as well-formed XML (for the EPUB).

The fragment is parsed by html5lib, which follows the HTML standard's tokenizer and tree builder (§13.2: implied
end tags, foreign content for MathML and SVG, every named character reference), so that the tree written is the
one a browser builds; it is written out here with XML's escaping and namespaces. XHTML without a DTD knows only
XML's five entities: every other character is written as itself (UTF-8).
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from collections.abc import Callable, Iterator

import html5lib

XHTML = "http://www.w3.org/1999/xhtml"
MATHML = "http://www.w3.org/1998/Math/MathML"
SVG = "http://www.w3.org/2000/svg"
XLINK = "http://www.w3.org/1999/xlink"
_XMLNS = "http://www.w3.org/2000/xmlns/"
_XML = "http://www.w3.org/XML/1998/namespace"
_PREFIXES = {XLINK: "xlink", _XML: "xml"}
# XML 1.0's Name production (§2.3), for the letters HTML allows in attribute names and XML does not ("@click")
_XML_NAME = re.compile(r"[A-Za-z_:\u00c0-\ufffd][\w.:\-\u00b7\u00c0-\ufffd]*")
# characters XML 1.0 (§2.2) does not allow in a document at all
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")

Visit = Callable[[ET.Element], None]  # sees (and may change) each element before it is written


def parse_fragment(fragment: str) -> ET.Element:
    """`fragment` as the children of a <div> (html5lib's tree, elements named "{namespace}name")."""
    parser = html5lib.HTMLParser(tree=html5lib.getTreeBuilder("etree", ET), namespaceHTMLElements=True)
    return parser.parseFragment(fragment, container="div")


def elements(root: ET.Element) -> Iterator[ET.Element]:
    """Every element under `root` (comments left out), in document order."""
    return (el for el in root.iter() if isinstance(el.tag, str) and el is not root)


def xhtml_fragment(root: ET.Element) -> str:
    """The children of `root` (parse_fragment's) as XHTML in the XHTML namespace: each MathML or SVG root
    declares its own. Comments are left out. ValueError for a name XML cannot write (an attribute "@click")."""
    out: list[str] = []
    if root.text:
        out.append(_text(root.text))
    for child in root:
        _write(child, XHTML, out)
    return "".join(out)


def _write(element: ET.Element, parent_namespace: str, out: list[str]) -> None:
    if not isinstance(element.tag, str):  # a comment or processing instruction: a page's, not the reader's
        if element.tail:
            out.append(_text(element.tail))
        return
    namespace, name = _split(element.tag)
    if not _XML_NAME.fullmatch(name):
        raise ValueError(f"<{name}> is not an element name XML can write")
    out.append("<" + name)
    if namespace != parent_namespace:
        out.append(f' xmlns="{namespace}"')
    declared = set()
    for key, value in element.attrib.items():
        key_namespace, key_name = _split(key)
        if key_namespace == _XMLNS or (key_namespace == "" and key_name == "xmlns"):
            continue  # declared by the writer
        if not _XML_NAME.fullmatch(key_name):
            raise ValueError(f"the attribute {key_name!r} of <{name}> is not a name XML can write")
        if key_namespace:
            prefix = _PREFIXES.get(key_namespace)
            if prefix is None:
                raise ValueError(f"the attribute {key_name!r} of <{name}> is in a namespace XHTML does not know")
            if prefix != "xml" and prefix not in declared:
                out.append(f' xmlns:{prefix}="{key_namespace}"')
                declared.add(prefix)
            key_name = f"{prefix}:{key_name}"
        out.append(f' {key_name}="{_attribute(value)}"')
    children = list(element)
    if not element.text and not children:
        out.append("/>")
    else:
        out.append(">")
        if element.text:
            out.append(_text(element.text))
        for child in children:
            _write(child, namespace, out)
        out.append(f"</{name}>")
    if element.tail:
        out.append(_text(element.tail))


def _split(tag: str) -> tuple[str, str]:
    if tag.startswith("{"):
        namespace, _, name = tag[1:].partition("}")
        return namespace, name
    return "", tag


def _text(value: str) -> str:
    return _NOT_XML.sub("\ufffd", value).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _attribute(value: str) -> str:
    return _text(value).replace('"', "&quot;").replace("\t", "&#9;").replace("\n", "&#10;").replace("\r", "&#13;")
