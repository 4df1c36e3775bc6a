from __future__ import annotations

import pytest

from spell.errors import InvalidInput
from spell.runtimes.host.templating import render, render_text


def test_whole_token_keeps_the_json_type_of_the_input_value() -> None:
    data = {"count": 3, "flags": [True, None], "nested": {"x": 1.5}}
    assert render_text("{{INPUT.count}}", data, {}) == 3
    assert render_text("{{INPUT.flags}}", data, {}) == [True, None]
    assert render_text("{{ INPUT.nested }}", data, {}) == {"x": 1.5}


def test_embedded_token_becomes_text_and_non_strings_become_json() -> None:
    data = {"name": "world", "n": 2, "obj": {"a": 1}}
    assert render_text("hi {{INPUT.name}} x{{INPUT.n}} {{INPUT.obj}}", data, {}) == 'hi world x2 {"a":1}'


@pytest.mark.parametrize("tricky", ["a$&b", "$$", "\\1 \\g<0>", "$1$`$'"])
def test_values_with_replacement_patterns_arrive_byte_for_byte(tricky: str) -> None:
    assert render_text("pre {{INPUT.v}} post", {"v": tricky}, {}) == f"pre {tricky} post"
    assert render_text("{{ENV.T}}-x", {}, {"T": tricky}) == f"{tricky}-x"


def test_render_walks_objects_and_lists_but_not_keys() -> None:
    value = {"{{INPUT.k}}": ["{{INPUT.k}}", 1, {"deep": "{{ENV.E}}"}]}
    assert render(value, {"k": "v"}, {"E": "e"}) == {"{{INPUT.k}}": ["v", 1, {"deep": "e"}]}


def test_missing_input_path_is_refused() -> None:
    with pytest.raises(InvalidInput) as info:
        render_text("{{INPUT.absent}}", {}, {})
    assert info.value.code == "VALIDATION_ERROR"


def test_unset_env_name_is_refused() -> None:
    with pytest.raises(InvalidInput) as info:
        render_text("x {{ENV.NOPE}}", {}, {})
    assert info.value.details == {"placeholder": "ENV.NOPE"}
