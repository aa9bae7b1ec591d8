"""tinygpt.ron: reads gpt-rs's files as written, writes files gpt-rs reads, fails clearly."""

from __future__ import annotations

import math
import re
import string
from unittest import mock

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.reference.gptrs_files import TRANSFORMER_CONFIG, WARMUP_COSINE_TRAIN_CONFIG
from tinygpt import ron
from tinygpt.errors import DataError
from tinygpt.ron import Char, Ident, Records, RonError, RonMap
from tinygpt.ron import records as ron_records
from tinygpt.ron.values import is_struct

TRAIN_CONFIG = """(learning_rate: 2e-4, training_iterations: 60000, evaluation_interval: 500,
evaluation_iterations: 5, contexts_per_batch: 64)"""


# ron::to_string output for gpt-rs's dataset struct: compact, and chars written raw except
# backslash and quote (so a newline char is a real line break inside the quotes).
TINY_DATASET = (
    "(char_to_id:{'\n':0,' ':1,'\"':2,'\\'':3,'a':4,'é':5,'\\\\':6},"
    "id_to_char:{0:'\n',1:' ',2:'\"',3:'\\'',4:'a',5:'é',6:'\\\\'},"
    "mergings:[(from:(1,4),to:7),(from:(7,5),to:8)],"
    "encoded_data:[[8,0,2,4,2],[],[7,3,6]])"
)


def test_reads_gptrs_transformer_config_as_written():
    assert ron.loads(TRANSFORMER_CONFIG) == {
        "vocab_size": 2048,
        "embedding_size": 128,
        "context_length": 64,
        "head_count": 4,
        "block_count": 8,
        "feed_forward_multiplier": 4,
        "embedding_dropout": 0.05,
        "attention_dropout": 0.05,
        "feed_forward_dropout": 0.05,
        "residual_dropout": 0.05,
    }


def test_reads_gptrs_train_configs_with_exponent_floats():
    constant = ron.loads(TRAIN_CONFIG)
    assert constant["learning_rate"] == 2e-4 and isinstance(constant["learning_rate"], float)
    assert constant["training_iterations"] == 60000 and isinstance(constant["training_iterations"], int)
    cosine = ron.loads(WARMUP_COSINE_TRAIN_CONFIG)
    assert (cosine["min_learning_rate"], cosine["max_learning_rate"], cosine["warmup_iterations"]) == (
        1e-5,
        2e-4,
        3000,
    )


def test_reads_gptrs_dataset_shape_with_raw_and_escaped_chars():
    data = ron.loads(TINY_DATASET)
    assert list(data) == ["char_to_id", "id_to_char", "mergings", "encoded_data"]
    assert isinstance(data["char_to_id"], RonMap)
    assert list(data["char_to_id"]) == ["\n", " ", '"', "'", "a", "é", "\\"]
    assert all(type(key) is Char for key in data["char_to_id"])
    assert data["id_to_char"] == {value: key for key, value in data["char_to_id"].items()}
    assert data["mergings"] == [{"from": (1, 4), "to": 7}, {"from": (7, 5), "to": 8}]
    assert data["encoded_data"] == [[8, 0, 2, 4, 2], [], [7, 3, 6]]


def test_compact_output_has_the_shape_ron_to_string_writes():
    dataset = {
        "char_to_id": RonMap({Char("a"): 0, Char("b"): 1}),
        "id_to_char": RonMap({0: Char("a"), 1: Char("b")}),
        "mergings": [{"from": (0, 1), "to": 2}],
        "encoded_data": [[2, 0], [1]],
    }
    assert ron.dumps(dataset, pretty=False) == (
        "(char_to_id:{'a':0,'b':1},id_to_char:{0:'a',1:'b'},mergings:[(from:(0,1),to:2)],encoded_data:[[2,0],[1]])"
    )


def test_pretty_output_puts_fields_on_lines_and_number_lists_on_one_line():
    text = ron.dumps({"vocab_size": 2048, "learning_rate": 2e-4, "ids": list(range(40))})
    assert text.splitlines()[:3] == ["(", "    vocab_size: 2048,", "    learning_rate: 0.0002,"]
    assert "    ids: [0, 1, 2," in text and text.endswith(")")


@pytest.mark.parametrize(
    "text",
    [
        "(a: 1, b: [1, 2])",
        "(a:1,b:[1,2])",
        "(a: 1, b: [1, 2,],)",
        "\n\t (\r\n a :\t1 ,\n\n b : [ 1 , 2 ] , ) \n",
        "// leading comment\n(a: 1, /* inline */ b: [1, // one\n 2])// trailing",
        "/* nested /* block */ comment */ (a: 1, b: [1, 2])",
        "#![enable(implicit_some)]\n(a: 1, b: [1, 2])",
        "Config(a: 1, b: [1, 2])",
        "(a: Some(1), b: [1, 2])",
        "(r#a: 1, b: [1, 2])",
        "(a: 1, b: [0x1, 0b10])",
    ],
)
def test_whitespace_comments_trailing_commas_and_names_do_not_change_the_value(text):
    assert ron.loads(text) == {"a": 1, "b": [1, 2]}


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("-5", -5),
        ("+5", 5),
        ("1_000_000", 1_000_000),
        ("-0x1F", -31),
        ("0o17", 15),
        ("2e-4", 2e-4),
        ("1E5", 1e5),
        ("-1.5e+3", -1500.0),
        ("3.", 3.0),
        (".5", 0.5),
        ("-0.0", -0.0),
        ("inf", math.inf),
        ("-inf", -math.inf),
        ("[-1, -2]", [-1, -2]),
    ],
)
def test_numbers_in_every_rust_spelling(text, expected):
    value = ron.loads(text)
    assert value == expected and type(value) is type(expected)


def test_nan_reads_as_float_nan():
    assert math.isnan(ron.loads("NaN"))


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (r'"a\"b"', 'a"b'),
        (r'"back\\slash"', "back\\slash"),
        (r'"tab\tnl\ncr\r"', "tab\tnl\ncr\r"),
        (r'"nul\0"', "nul\0"),
        (r'"\u{1F600}"', "😀"),
        (r'"\u00e9"', "é"),
        (r'"\ud83d\ude00"', "😀"),
        (r'"\x41"', "A"),
        (r"'\''", "'"),
        (r"'\n'", "\n"),
        ("'\"'", '"'),
        ("'é'", "é"),
        (r"'\u{301}'", "\u0301"),
        ('"raw\nnewline"', "raw\nnewline"),
        ('r#"a "quoted" \\n"#', 'a "quoted" \\n'),
        (r'r"plain"', "plain"),
        ('"日本語 ✓"', "日本語 ✓"),
    ],
)
def test_escapes_in_strings_and_chars(text, expected):
    value = ron.loads(text)
    assert value == expected
    assert type(value) is (Char if text.startswith("'") else str)


def test_bare_values_and_units():
    assert ron.loads("true") is True and ron.loads("false") is False and ron.loads("None") is None
    assert ron.loads("()") == () and ron.loads("(1,)") == (1,) and ron.loads("(1)") == (1,)
    variant = ron.loads("Words")
    assert variant == "Words" and type(variant) is Ident
    assert ron.loads("{}") == {} and type(ron.loads("{}")) is RonMap


@pytest.mark.parametrize(
    ("text", "line", "column", "message"),
    [
        ('(a: "unterminated', 1, 5, "unterminated string"),
        ("(\n  a: 1,\n  b: 'x,\n)", 3, 6, "close the char literal"),
        ("(a: 1, a: 2)", 1, 8, "duplicate field"),
        ("{1: 2, 1: 3}", 1, 8, "duplicate map key"),
        ("(a: 1\n b: 2)", 2, 2, "expected ',' or ')'"),
        ("[1, 2", 1, 6, "end of input"),
        ("", 1, 1, "expected a value"),
        ("(a: 1) (b: 2)", 1, 8, "after the value"),
        ("/* open", 1, 1, "unterminated block comment"),
        (r'"\q"', 1, 2, "unknown escape"),
        (r'"\u{110000}"', 1, 2, "invalid code point"),
        (r'"\ud800"', 1, 2, "lone surrogate"),
        ("12abc", 1, 1, "malformed number"),
        ('(a: b"x")', 1, 5, "byte strings"),
        ("{[1]: 2}", 1, 2, "hashable"),
        ('r#"never closed"', 1, 1, "unterminated raw string"),
    ],
)
def test_bad_input_raises_ron_error_with_line_and_column(text, line, column, message):
    with pytest.raises(RonError, match=re.escape(message)) as caught:
        ron.loads(text)
    assert (caught.value.line, caught.value.column) == (line, column)
    assert str(caught.value).startswith(f"<string>:{line}:{column}: ")
    assert isinstance(caught.value, DataError)


@pytest.mark.parametrize("opening", ["[", "(", "{1:", "Some(", "(a:"])
def test_deep_nesting_is_a_ron_error_not_a_recursion_error(opening):
    with pytest.raises(RonError, match="nesting deeper than"):
        ron.loads(opening * 100_000)


def test_unterminated_inputs_fail_fast_at_any_cut():
    text = ron.dumps({"name": 'story "quoted"', "chars": RonMap({Char("'"): 1}), "ids": [[1, 2], [3]]})
    for cut in range(len(text) - 1):
        with pytest.raises(RonError):
            ron.loads(text[:cut])


def test_writer_rejects_what_ron_cannot_hold():
    with pytest.raises(TypeError, match="set"):
        ron.dumps({"a": {1, 2}})
    with pytest.raises(ValueError, match="surrogate"):
        ron.dumps("\ud800")
    cycle: list = []
    cycle.append(cycle)
    with pytest.raises(ValueError, match="deeper"):
        ron.dumps(cycle)


def test_dict_with_non_identifier_keys_is_written_as_a_map():
    value = {"two words": 1, "ok": 2}
    text = ron.dumps(value, pretty=False)
    assert text == '{"two words":1,"ok":2}'
    assert ron.loads(text) == value


# ------------------------------------------------------------------ round trips (hypothesis)


def _same(a, b) -> bool:
    """``b`` (read back) equals ``a`` (written) with the same RON types (Char vs str, tuple vs
    list, struct vs map); a dict that cannot be a struct comes back as a RonMap."""
    if isinstance(a, float) and isinstance(b, float):
        return a == b and math.copysign(1, a) == math.copysign(1, b)
    if type(a) is not type(b):
        return isinstance(a, dict) and isinstance(b, RonMap) and not is_struct(a) and _same_items(a, b)
    if isinstance(a, dict):
        return _same_items(a, b)
    if isinstance(a, (list, tuple)):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b))
    return a == b


def _same_items(a: dict, b: dict) -> bool:
    return (
        list(a) == list(b) and all(type(k) is type(j) for k, j in zip(a, b)) and all(_same(a[key], b[key]) for key in a)
    )


text = st.text(st.characters(exclude_categories=("Cs",)), max_size=12)
chars = text.filter(lambda s: len(s) == 1).map(Char) | st.sampled_from("'\"\\\n\t\r\0é").map(Char)
scalars = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.integers(-(2**70), 2**70)
    | st.floats(allow_nan=False)
    | text
    | chars
    | st.sampled_from(["Words", "Bytes", "inf_", "Nothing"]).map(Ident)
)
identifiers = st.from_regex(r"[a-z_][a-z0-9_]{0,8}", fullmatch=True)
keys = st.integers() | text | chars | st.booleans() | st.tuples(st.integers(), st.integers())
values = st.recursive(
    scalars,
    lambda inner: (
        st.lists(inner, max_size=5)
        | st.lists(inner, min_size=1, max_size=4).map(tuple)
        | st.just(())
        | st.dictionaries(identifiers, inner, min_size=1, max_size=4)
        | st.dictionaries(keys, inner, max_size=4).map(RonMap)
        | st.dictionaries(text, inner, max_size=3)
    ),
    max_leaves=25,
)


@settings(max_examples=300, deadline=None)
@given(values)
def test_round_trip_pretty_and_compact(value):
    assert _same(value, ron.loads(ron.dumps(value)))
    assert _same(value, ron.loads(ron.dumps(value, pretty=False)))


@settings(max_examples=200, deadline=None)
@given(st.text(alphabet=string.printable + "'\"\\(){}[]:,/*é", max_size=40))
def test_arbitrary_text_parses_or_raises_ron_error(source):
    try:
        ron.loads(source)
    except RonError:
        pass


# ------------------------------------------- long lists of int records (the fast paths)


def _records_like(layout):
    """Values laid out as ``layout``: ``int``, a tuple of layouts, or a dict of them (a struct).
    Mostly ids, sometimes ints too long for the reader's fast path or for one line."""
    if layout is int:
        return st.integers(0, 60_000) | st.integers(-(10**30), 10**30)
    if isinstance(layout, tuple):
        return st.tuples(*map(_records_like, layout))
    keys = list(layout)
    return st.tuples(*(_records_like(layout[key]) for key in keys)).map(lambda values: dict(zip(keys, values)))


layouts = st.recursive(
    st.just(int),
    lambda inner: (
        st.lists(inner, min_size=1, max_size=3).map(tuple) | st.dictionaries(identifiers, inner, min_size=1, max_size=3)
    ),
    max_leaves=6,
)
laid_out_records = layouts.flatmap(
    lambda layout: st.tuples(st.just(layout), st.lists(_records_like(layout), max_size=30))
)
record_lists = laid_out_records.map(lambda pair: pair[1])


def _columns(layout, records):
    """The ron.Records layout holding ``records`` column by column."""
    if layout is int:
        return list(records)
    if isinstance(layout, tuple):
        return tuple(_columns(part, [record[i] for record in records]) for i, part in enumerate(layout))
    return {key: _columns(part, [record[key] for record in records]) for key, part in layout.items()}


def _general_writer():
    """Switch off the writer's fast path for lists of records."""
    return mock.patch.object(ron_records, "_column_layout", return_value=None)


@settings(max_examples=100, deadline=None)
@given(laid_out_records)
def test_record_lists_and_records_are_written_exactly_as_the_general_writer_writes_lists(laid_out):
    layout, records = laid_out
    value = {"mergings": records, "nested": [records]}
    held_by_columns = {"mergings": Records(_columns(layout, records)), "nested": [records]}
    fast = [ron.dumps(v, pretty=pretty) for v in (value, held_by_columns) for pretty in (True, False)]
    with _general_writer():
        assert fast == [ron.dumps(value), ron.dumps(value, pretty=False)] * 2


def test_records_around_the_line_width_break_exactly_where_the_general_writer_breaks_them():
    for digits in range(40, 100):
        big = 10**digits
        for record in ({"from": (big, 1), "to": 2}, ((big, 1), 2), {"a": ((big,), 1)}, (big, 1)):
            value = {"mergings": [record, record], "nested": [[record, record]]}
            fast = ron.dumps(value)
            with _general_writer():
                assert fast == ron.dumps(value)


@settings(max_examples=100, deadline=None)
@given(record_lists)
def test_record_lists_are_read_exactly_as_the_full_parser_reads_them(records):
    pretty = ron.dumps({"mergings": records})
    texts = [pretty, ron.dumps(records, pretty=False), pretty.replace(",", " ,\t\r\n ")]
    for text in texts:
        fast = ron.loads(text)
        with mock.patch.object(ron_records, "record_regex", return_value=None):
            assert _same(ron.loads(text), fast)
    assert _same(records, ron.loads(pretty)["mergings"])


def test_records_stand_for_the_list_of_their_rows():
    merges = Records({"from": ([3, 5], [7, 9]), "to": [64, 65]})
    assert len(merges) == 2 and list(merges) == [{"from": (3, 7), "to": 64}, {"from": (5, 9), "to": 65}]
    assert merges[-1] == {"from": (5, 9), "to": 65} and merges[:1] == [{"from": (3, 7), "to": 64}]
    with pytest.raises(IndexError):
        merges[2]
    assert ron.loads(ron.dumps({"m": merges}))["m"] == list(merges)
    assert ron.dumps(Records(([1], [2]))) == "[(1, 2)]" and ron.dumps(Records(([],))) == "[]"


@pytest.mark.parametrize(
    ("layout", "error", "message"),
    [
        ({"from": ([1], [2]), "to": [3, 4]}, ValueError, "one length"),
        ([1, "2"], TypeError, "only ints"),
        ([1, True], TypeError, "only ints"),
        ((1, 2), TypeError, "layout"),
        ((), TypeError, "layout"),
        ({"two words": [1]}, TypeError, "layout"),
        (RonMap({"a": [1]}), TypeError, "layout"),
    ],
)
def test_records_reject_layouts_that_are_not_int_columns(layout, error, message):
    with pytest.raises(error, match=message):
        Records(layout)


def test_gptrs_merges_read_with_the_writers_and_other_spellings():
    merges = [{"from": (a, a + 1), "to": 100 + a} for a in range(5)]
    spellings = [
        "[(from:(0,1),to:100),(from:(1,2),to:101),(from:(2,3),to:102),(from:(3,4),to:103),(from:(4,5),to:104)]",
        "[(from: (0, 1), to: 100), (from: (1, 2,), to: 101,), (from: (2, 3), to: 102),\n"
        " (from: (3, 4), to: 103), /* last */ (from: (4, 5), to: 104), ]",
        "[(from: (0, 1), to: 100), (from: (1, 2), to: 101), Merge(from: (2, 3), to: 102),"
        " (from: (0x3, 4), to: 103), (from: (4, 5), to: 104)]",
    ]
    for text in spellings:
        assert ron.loads(text) == merges


def test_a_list_of_records_that_changes_shape_is_read_item_by_item():
    assert ron.loads("[(1, 2), (3, 4), (5, 6, 7), (8, 9), (a: 1)]") == [(1, 2), (3, 4), (5, 6, 7), (8, 9), {"a": 1}]
    assert ron.loads("[(1, 2), (3, 4), (5, 99999999999999999999999)]")[2] == (5, 99999999999999999999999)


@pytest.mark.parametrize(
    ("text", "line", "column", "message"),
    [
        ("[(from: (0, 1), to: 2),\n (from: (0, 1), to: 2),\n (from: (0 1), to: 2),\n]", 3, 12, "expected ','"),
        ("[(from: (0, 1), to: 2),\n (from: (0, 1), to: 2)\n (from: (0, 1), to: 2),\n]", 3, 2, "expected ','"),
        ("[(from: (0, 1), to: 2),\n (from: (0, 1), to: 2),\n (from: (0, 1), to: 2),", 3, 24, "end of input"),
    ],
)
def test_malformed_records_late_in_a_long_list_report_their_line_and_column(text, line, column, message):
    with pytest.raises(RonError, match=re.escape(message)) as caught:
        ron.loads(text)
    assert (caught.value.line, caught.value.column) == (line, column)


# ------------------------------------------------------------------ files and config structs


def test_dump_then_load_a_file(tmp_path):
    path = tmp_path / "sub" / "transformer_config.ron"
    value = ron.loads(TRANSFORMER_CONFIG)
    ron.dump(value, path)
    assert ron.load(path) == value
    assert not [p for p in path.parent.iterdir() if p.name != path.name]


def test_load_names_the_file_in_syntax_errors_and_bad_utf8(tmp_path):
    broken = tmp_path / "broken.ron"
    broken.write_text("(\n  a: 1,\n  b: ]\n)", encoding="utf-8")
    with pytest.raises(RonError, match=rf"^{broken}:3:6: expected a value"):
        ron.load(broken)
    binary = tmp_path / "binary.ron"
    binary.write_bytes(b'(a: "\xff")')
    with pytest.raises(DataError, match=r"binary.ron: invalid UTF-8 at byte offset 5"):
        ron.load(binary)
    with pytest.raises(DataError, match="missing.ron"):
        ron.load(tmp_path / "missing.ron")
