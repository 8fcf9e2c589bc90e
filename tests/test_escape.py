"""Templates escape with render.quick_escape: the same text as MarkupSafe's escape
(a str, not Markup: templates only join what it returns)."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st
from jinja2 import Environment
from markupsafe import Markup, escape

from generator.render import QuickEscapeTemplate, quick_escape


class Html:
    def __html__(self) -> str:
        return "<b>safe</b>"


HOSTILE = ['"><script>alert(1)</script>', "O'Brien & <Co>", "普京与泽连斯基“会谈”", "",
           "\x00\ud800&#5;"]


@given(st.text())
def test_quick_escape_equals_markupsafe_on_any_text(text: str) -> None:
    quick = quick_escape(text)
    assert quick == escape(text)
    assert isinstance(quick, str)


@given(st.one_of(st.integers(), st.floats(allow_nan=False), st.booleans(), st.none(),
                 st.text().map(Markup)))
def test_quick_escape_equals_markupsafe_on_other_values(value: object) -> None:
    quick = quick_escape(value)
    assert quick == escape(value)
    assert isinstance(quick, str)


def test_quick_escape_keeps_markup_as_it_is() -> None:
    safe = Markup("<i>kept</i>")
    assert quick_escape(safe) is safe


def test_quick_escape_uses_html_of_objects_that_have_it() -> None:
    assert quick_escape(Html()) == Markup("<b>safe</b>")


def test_templates_made_with_it_escape_exactly_as_jinja_does() -> None:
    plain = Environment(autoescape=True)
    quick = Environment(autoescape=True)
    quick.template_class = QuickEscapeTemplate
    source = ('{% macro item(x) %}<li title="{{ x }}">{{ x }}</li>{% endmacro %}'
              '{% block b %}{% for x in xs %}{{ item(x) }}{{ x|upper }}{% endfor %}{% endblock %}'
              '{{ self.b() }}{{ n }}{{ m }}')
    values = {"xs": HOSTILE, "n": 42, "m": Markup("<i>kept</i>")}
    made = quick.from_string(source)
    assert made.render(values) == plain.from_string(source).render(values)
    # …and the quick escape is the one its compiled code calls.
    assert made.root_render_func.__globals__["escape"] is quick_escape
