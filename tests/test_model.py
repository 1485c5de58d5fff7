"""model.replaced and model.built: dataclasses.replace and a class's __init__ without its call, the same value in every case."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from functools import cached_property

import pytest

from primer_site.frozen import built, replaced
from primer_site.model import ChapterNumber, Heading, PostLink
from primer_site.syntax.markdown import Label


def test_replaced_is_dataclasses_replace() -> None:
    label = Label("eq-1", "equation", "1", "<b>x</b>", "Euler")
    for changes in ({}, {"html": "<i>y</i>"}, {"id": "eq-2", "number": "2"}):
        made = replaced(label, **changes)
        expected = dataclasses.replace(label, **changes)
        assert made == expected and type(made) is Label and hash(made) == hash(expected)
        assert repr(made) == repr(expected) and list(vars(made)) == list(vars(expected))
    assert replaced(label, html="z") is not label and label.html == "<b>x</b>"  # the original untouched
    assert replaced(Heading(2, "a", "A", "A"), level=3) == Heading(3, "a", "A", "A")
    assert replaced(PostLink("t", "/u/", "T"), url="/v/") == PostLink("t", "/v/", "T")


def test_replaced_works_out_a_cached_property_again() -> None:
    number = ChapterNumber("1.2")
    assert number.parts == (1, 2)  # now kept in the object's __dict__
    other = replaced(number, text="3.4.5")
    assert other.parts == (3, 4, 5) and other == ChapterNumber("3.4.5")
    assert vars(other) == {"text": "3.4.5", "parts": (3, 4, 5)}


def test_replaced_refuses_what_replace_refuses() -> None:
    with pytest.raises(TypeError):
        replaced(Heading(2, "a", "A", "A"), colour="red")


@dataclass(frozen=True)
class _Checked:
    value: int

    def __post_init__(self) -> None:
        if self.value < 0:
            raise ValueError("negative")

    @cached_property
    def double(self) -> int:
        return 2 * self.value


@dataclass(frozen=True)
class _Derived:
    value: int
    square: int = dataclasses.field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "square", self.value * self.value)


def test_replaced_runs_post_init_where_a_class_has_one() -> None:
    assert replaced(_Checked(1), value=2).double == 4
    with pytest.raises(ValueError, match="negative"):
        replaced(_Checked(1), value=-1)
    assert replaced(_Derived(2), value=3).square == 9


@dataclass(frozen=True)
class _Slugged:  # an __init__ written by hand: @dataclass keeps it (init=True writes one only where none is)
    name: str
    slug: str = ""

    def __init__(self, name: str, slug: str = "") -> None:
        object.__setattr__(self, "name", name)
        object.__setattr__(self, "slug", slug or name.lower())


@dataclass(frozen=True, init=False)
class _Titled:  # no generated __init__ at all
    title: str
    upper: str = ""

    def __init__(self, title: str, upper: str = "") -> None:
        object.__setattr__(self, "title", title)
        object.__setattr__(self, "upper", upper or title.upper())


def test_a_hand_written_init_is_called_by_built_and_replaced() -> None:
    # the check once looked only at the fields, __post_init__ and __slots__: built(_Slugged, name="Hello") had slug ""
    assert built(_Slugged, name="Hello") == _Slugged("Hello") == _Slugged("Hello", "hello")
    assert built(_Titled, title="Hi").upper == "HI"
    assert replaced(_Slugged("Hello"), name="World", slug="") == _Slugged("World")  # as dataclasses.replace
    assert replaced(_Titled("Hi"), title="Yo", upper="") == dataclasses.replace(_Titled("Hi"), title="Yo", upper="")
