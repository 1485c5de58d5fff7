"""A model object's whole fingerprint (fingerprints.whole_fingerprint): shared by two objects exactly when their
fields are equal, type for type, the same in every process (whatever the order a dict was filled or a set hashes
in), and it says whether the object names another model object."""

from __future__ import annotations

import copy
import os
import random
import subprocess
import sys
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta, timezone

from markupsafe import Markup

from fixture_sites import SRC
from primer_site.caches.fingerprints import Ref, _form, fingerprint, whole_fingerprint
from primer_site.model import Extra, Heading, PostLink


@dataclass(frozen=True)
class Thing:
    """A model object of the test's own: three fields of anything."""

    a: object
    b: object = None
    c: object = ()


OTHERS = [Thing("other one"), Thing("other two")]  # model objects, named by key
KEY_OF = {id(OTHERS[0]): "thing:1", id(OTHERS[1]): "thing:2"}


def _value(rng: random.Random, depth: int = 0) -> object:
    """A random field value: plain values that compare equal across types (1, 1.0, True; "x", Markup("x"),
    Ref("x"), b"x"), long strings, containers, dates, dataclasses, model objects."""
    leaves = [
        lambda: rng.choice(["", "x", "thing:1", "é", "a" * 1500, "a" * 1499 + "b"]),
        lambda: rng.choice([0, 1, 2, -1, 10**30]),
        lambda: rng.choice([0.0, -0.0, 1.0, 2.5]),
        lambda: rng.choice([True, False, None]),
        lambda: rng.choice([b"", b"x"]),
        lambda: rng.choice([Markup("x"), Markup(""), Ref("x"), Ref("thing:1")]),
        lambda: rng.choice([datetime(2026, 1, 2, tzinfo=UTC), datetime(2026, 1, 2), date(2026, 1, 2)]),
        lambda: datetime(2026, 1, 2, tzinfo=timezone(timedelta(hours=rng.choice([0, 1])))),
        lambda: rng.choice(OTHERS),
        lambda: Heading(rng.choice([1, 2]), "id", rng.choice(["t", "u"]), "<h2>t</h2>"),
        lambda: PostLink("T", rng.choice(["/a/", "/b/"]), "L"),
    ]
    if depth < 2 and rng.random() < 0.4:
        items = [_value(rng, depth + 1) for _ in range(rng.randint(0, 3))]
        shape = rng.choice(["tuple", "list", "dict", "frozenset", "extra", "thing"])
        if shape == "tuple":
            return tuple(items)
        if shape == "list":
            return items
        if shape == "dict":
            return {rng.choice(["k", "l", 1]): item for item in items}
        if shape == "frozenset":
            return frozenset(item for item in items if type(item) in (str, int, bytes))
        if shape == "extra":
            return Extra.of({"k": items[0] if items else None})
        return Thing(*(items[:3] or [None]))
    return rng.choice(leaves)()


def _strictly_equal(x: object, y: object) -> bool:
    """Equal, and of the same type all the way down; model objects are the same object (or a Ref naming it)."""
    if id(x) in KEY_OF or id(y) in KEY_OF or type(x) is Ref or type(y) is Ref:
        return KEY_OF.get(id(x), x if type(x) is Ref else None) == KEY_OF.get(id(y), y if type(y) is Ref else None)
    if type(x) is not type(y):
        return False
    if type(x) in (tuple, list):
        return len(x) == len(y) and all(map(_strictly_equal, x, y))  # type: ignore[arg-type]
    if type(x) is dict:
        return x.keys() == y.keys() and all(_strictly_equal(x[k], y[k]) for k in x)  # type: ignore[index, union-attr]
    if type(x) is float:
        return repr(x) == repr(y)  # 0.0 and -0.0 are two values to a fingerprint: only ever a page made again
    if type(x) in (Thing, Extra, Heading, PostLink):
        return all(_strictly_equal(getattr(x, f), getattr(y, f)) for f in x.__dataclass_fields__)
    if type(x) is datetime:
        return x == y and x.tzinfo == y.tzinfo
    return x == y


def _names_other(value: object) -> bool:
    if id(value) in KEY_OF or type(value) is Ref:
        return True
    if type(value) in (tuple, list, frozenset):
        return any(map(_names_other, value))  # type: ignore[arg-type]
    if type(value) is dict:
        return any(map(_names_other, value.values()))  # type: ignore[union-attr]
    if type(value) in (Thing, Extra):
        return any(_names_other(getattr(value, f)) for f in value.__dataclass_fields__)
    return False


def test_two_objects_share_a_whole_fingerprint_exactly_when_their_fields_are_equal() -> None:
    rng = random.Random(19)
    things = [Thing(_value(rng), _value(rng), _value(rng)) for _ in range(400)]
    things += [Thing(t.a, t.b, t.c) for t in things[:100]]  # equal, other objects
    things += [copy.deepcopy(t, {id(o): o for o in OTHERS}) for t in things[100:200]]  # equal, every part new
    wholes = [whole_fingerprint(t, KEY_OF) for t in things]
    for thing, (_, names) in zip(things, wholes, strict=True):
        assert names == _names_other(thing), thing
    by_print: dict[bytes, Thing] = {}
    pairs = 0
    for thing, (found, _) in zip(things, wholes, strict=True):
        if found in by_print:
            assert _strictly_equal(by_print[found], thing), (by_print[found], thing)
            # what ledger.changes rests on when it skips a field's own dependency: the same whole, the same fields
            for field in ("a", "b", "c"):
                first, second = getattr(by_print[found], field), getattr(thing, field)
                assert fingerprint(first, KEY_OF) == fingerprint(second, KEY_OF), (field, first, second)
            pairs += 1
        by_print.setdefault(found, thing)
    assert pairs >= 200  # the copies, at least
    for i in range(len(things)):  # and every strictly equal pair shares it
        for j in rng.sample(range(len(things)), 20):
            if _strictly_equal(things[i], things[j]):
                assert wholes[i][0] == wholes[j][0], (things[i], things[j])


def test_a_whole_fingerprint_is_the_same_whatever_order_a_dict_was_filled_or_a_set_hashes_in() -> None:
    first = Thing({"k": 1, "l": 2}, frozenset({"x", "y", "z", "w"}))
    second = Thing({"l": 2, "k": 1}, frozenset({"w", "z", "y", "x"}))
    assert whole_fingerprint(first, {}) == whole_fingerprint(second, {})
    script = (
        "from primer_site.caches.fingerprints import whole_fingerprint\n"
        "from primer_site.model import Heading\n"
        "value = Heading(2, 'id', 'text', 'html')\n"
        "print(whole_fingerprint(value, {})[0].hex(), whole_fingerprint(frozenset(map(str, range(50))), {})[0].hex())"
    )
    found = set()
    for seed in ("1", "2", "3"):
        env = {**os.environ, "PYTHONHASHSEED": seed, "PYTHONPATH": str(SRC)}
        found.add(subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, text=True).stdout)
    assert len(found) == 1 and found != {""}


def test_values_that_python_calls_equal_but_a_template_can_tell_apart_have_other_fingerprints() -> None:
    """(A Ref and the model object it names are one value: the object, as fingerprints.Ref says.)"""
    lookalikes = [
        (1, 1.0),
        (1, True),
        (0, False),
        ("x", Markup("x")),
        ("x", Ref("x")),
        ("thing:1", OTHERS[0]),
        ("x", b"x"),
        ((1, 2), [1, 2]),
        ((), None),
        ((("k", 1),), {"k": 1}),
        (datetime(2026, 1, 2, tzinfo=UTC), datetime(2026, 1, 2)),
        (datetime(2026, 1, 2), date(2026, 1, 2)),
        ("a" * 1500, "a" * 1499 + "b"),
        ("a" * 1500, ("a" * 1500,)),
        (Heading(2, "id", "t", "h"), (2, "id", "t", "h")),
        (Extra.of({"k": 1}), (("k", 1),)),
        (frozenset({"x"}), ("x",)),
        (Thing("x"), Extra.of({"a": "x"})),
    ]
    for x, y in lookalikes:
        assert whole_fingerprint(Thing(x, 1), KEY_OF)[0] != whole_fingerprint(Thing(y, 1), KEY_OF)[0], (x, y)
        assert whole_fingerprint(Thing((x,), 1), KEY_OF)[0] != whole_fingerprint(Thing((y,), 1), KEY_OF)[0], (x, y)


def _item_by_item(value: tuple, named: list[str]) -> tuple:
    """A tuple's form as the items give it one at a time (fingerprints._form on each)."""
    return tuple(
        item if type(item) in (str, int, float, bool, type(None), bytes) else _form(item, KEY_OF, named)
        for item in value
    )


def test_the_tuples_a_model_holds_by_the_hundred_have_the_form_their_items_give_one_by_one() -> None:
    """A site's posts by key, a post's headings and links, its macros: worked out in one pass, the very form (and
    the very names) the items give one at a time; a tuple that only nearly has one of these shapes too."""
    rng = random.Random(7)
    shapes = [
        lambda: tuple(rng.choice(OTHERS) for _ in range(rng.randint(1, 5))),  # model objects, by key
        lambda: tuple(Heading(rng.choice([1, 2]), "id", rng.choice(["t", "é"]), "<h2>t</h2>") for _ in range(3)),
        lambda: tuple(PostLink("T", rng.choice(["/a/", "/b/"]), "L") for _ in range(2)),
        lambda: tuple((rng.choice(["\\R", "\\N"]), rng.choice(["x", "a" * 1500])) for _ in range(4)),  # macros
        lambda: (*(rng.choice(OTHERS) for _ in range(3)), Thing("not named")),  # one not a model object
        lambda: (Heading(1, "i", "t", "h"), PostLink("T", "/a/", "L")),  # two kinds
        lambda: (Heading(1, "i", "t", Markup("h")), Heading(1, "i", "t", "h")),  # a field not plain
        lambda: (("a", "b"), ("a", ("b",))),  # a pair not of plain values
        lambda: (Thing(OTHERS[0]), Thing(1)),  # a dataclass naming a model object
        lambda: (Extra.of({"k": 1}), Extra.of({})),
        lambda: (Ref("thing:1"), Ref("x")),
        lambda: (datetime(2026, 1, 2, tzinfo=UTC), datetime(2026, 1, 3, tzinfo=UTC)),
    ]
    for _ in range(200):
        value = rng.choice(shapes)()
        named: list[str] = []
        expected: list[str] = []
        assert _form(value, KEY_OF, named) == _item_by_item(value, expected), value
        assert named == expected, value
