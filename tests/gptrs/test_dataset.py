"""gpt-rs dataset files: a gpt-rs user moves tokenizer + tokenized stories either way, ids intact."""

from __future__ import annotations

import itertools

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tinygpt import ron
from tinygpt.cli import main
from tinygpt.data.sources import open_corpus
from tinygpt.errors import DataError
from tinygpt.gptrs.dataset import export_gptrs_dataset, import_gptrs_dataset, read_gptrs_dataset
from tinygpt.tokenizer import BPETokenizer

# What gpt-rs writes (ron::to_string: compact; chars raw except quote and backslash) for the
# stories "banana" and "a ban\n" with alphabet ' ' '\n' 'a' 'b' 'n' and three merges:
# an = (2, 4) -> 5, ban = (3, 5) -> 6, " ban" = (0, 6) -> 7.
HAND_WRITTEN = (
    "(char_to_id:{'n':4,' ':0,'\n':1,'a':2,'b':3},"
    "id_to_char:{3:'b',0:' ',1:'\n',2:'a',4:'n'},"
    "mergings:[(from:(2,4),to:5),(from:(3,5),to:6),(from:(0,6),to:7)],"
    "encoded_data:[[6,5,2],[2,7,1]])"
)


@pytest.fixture
def hand_written(tmp_path):
    path = tmp_path / "dataset_8_stories.parquet.ron"
    path.write_text(HAND_WRITTEN, encoding="utf-8")
    return path


def test_hand_written_gptrs_file_imports_with_its_ids(hand_written):
    tokenizer, stories = import_gptrs_dataset(hand_written)
    assert tokenizer.mode == "words" and tokenizer.vocab_size == 8 and tokenizer.special_tokens == {}
    assert tokenizer.alphabet == [" ", "\n", "a", "b", "n"]
    assert [tokenizer.token_bytes(i) for i in range(5, 8)] == [b"an", b"ban", b" ban"]
    assert stories == [[6, 5, 2], [2, 7, 1]]
    assert [tokenizer.decode(story) for story in stories] == ["banana", "a ban\n"]
    assert tokenizer.encode_batch(["banana", "a ban\n"]) == stories


def test_import_appends_special_tokens_after_gptrs_ids(hand_written):
    tokenizer, _ = import_gptrs_dataset(hand_written, special_tokens=("<|endoftext|>",))
    assert tokenizer.eot_id == 8 and tokenizer.vocab_size == 9
    assert tokenizer.encode("banana") == [6, 5, 2]


STORIES = [
    'Once upon a time, a little cat sat on a mat.\n"Hello," said the cat.',
    "The dog ran and ran. It was a big, happy dog!",
    "Lily and Ben went to the park. They played in the sun.",
] * 3


def trained(special_tokens=()) -> BPETokenizer:
    return BPETokenizer.train(STORIES, 90, mode="words", special_tokens=special_tokens)


def test_export_then_import_gives_the_same_tokenizer_and_stories(tmp_path):
    tokenizer = trained()
    path = tmp_path / "dataset.ron"
    assert export_gptrs_dataset(tokenizer, STORIES, path) == len(STORIES)
    imported, stories = import_gptrs_dataset(path)
    assert imported == tokenizer and imported.fingerprint() == tokenizer.fingerprint()
    assert stories == tokenizer.encode_batch(STORIES)
    assert [imported.decode(story) for story in stories] == STORIES


def test_export_writes_gptrs_field_names_and_shapes(tmp_path):
    tokenizer = trained()
    path = tmp_path / "dataset.ron"
    export_gptrs_dataset(tokenizer, STORIES[:1], path)
    content = ron.load(path)
    assert list(content) == ["char_to_id", "id_to_char", "mergings", "encoded_data"]
    assert all(type(char) is ron.Char for char in content["char_to_id"])
    alphabet_size = len(content["char_to_id"])
    assert content["mergings"][0] == {"from": tokenizer.merge_ids[0][:2], "to": alphabet_size}
    text = path.read_text(encoding="utf-8")
    assert "    char_to_id: {\n" in text and "'\\n': " in text and "(from: (" in text


def test_special_tokens_are_left_out_and_come_back_on_import(tmp_path):
    tokenizer = trained(special_tokens=("<|endoftext|>",))
    path = tmp_path / "dataset.ron"
    export_gptrs_dataset(tokenizer, STORIES, path)
    assert read_gptrs_dataset(path).vocab_size == tokenizer.vocab_size - 1
    imported, _ = import_gptrs_dataset(path, special_tokens=("<|endoftext|>",))
    assert imported == tokenizer


def test_export_accepts_encoded_stories_and_rejects_foreign_ids(tmp_path):
    tokenizer = trained(special_tokens=("<|endoftext|>",))
    encoded = tokenizer.encode_batch(STORIES)
    path = tmp_path / "dataset.ron"
    export_gptrs_dataset(tokenizer, (tuple(story) for story in encoded), path)
    assert read_gptrs_dataset(path).stories == encoded
    with pytest.raises(DataError, match=r"story\[1\]: id .* outside gpt-rs's vocabulary"):
        export_gptrs_dataset(tokenizer, [encoded[0], encoded[1] + [tokenizer.eot_id]], path)


def test_export_needs_a_words_mode_tokenizer(tmp_path):
    tokenizer = BPETokenizer.train(STORIES, 300, mode="bytes")
    with pytest.raises(DataError, match="words-mode"):
        export_gptrs_dataset(tokenizer, STORIES, tmp_path / "dataset.ron")


@settings(max_examples=15, deadline=None)
@given(st.lists(st.text(alphabet='ab c\n"é', min_size=1, max_size=40), min_size=1, max_size=6), st.integers(0, 30))
def test_round_trip_on_generated_text(tmp_path_factory, texts, extra_merges):
    alphabet_size = len(set("".join(texts)))
    tokenizer = BPETokenizer.train(texts, alphabet_size + extra_merges, mode="words", special_tokens=())
    path = tmp_path_factory.mktemp("gptrs") / "dataset.ron"
    export_gptrs_dataset(tokenizer, texts, path)
    imported, stories = import_gptrs_dataset(path)
    assert imported == tokenizer
    assert [imported.decode(story) for story in stories] == texts


def test_real_stories_round_trip(tmp_path, tinystories_txt):
    texts = list(itertools.islice(open_corpus(tinystories_txt), 300))
    tokenizer = BPETokenizer.train(texts, 512, mode="words", special_tokens=())
    path = tmp_path / "dataset_512_stories.ron"
    export_gptrs_dataset(tokenizer, texts, path)
    imported, stories = import_gptrs_dataset(path)
    assert imported == tokenizer
    assert stories == tokenizer.encode_batch(texts)


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("[1, 2]", "expected a struct"),
        ("(char_to_id: {}, id_to_char: {}, mergings: [])", "missing field.* encoded_data"),
        ("(char_to_id: {}, id_to_char: {}, mergings: [], encoded_data: [], extra: 1)", "unknown field.* extra"),
        ("(char_to_id: {'a': 0}, id_to_char: {1: 'a'}, mergings: [], encoded_data: [])", "id 0 has nothing"),
        (
            "(char_to_id: {'a': 0, 'b': 1}, id_to_char: {0: 'a', 1: 'c'}, mergings: [], encoded_data: [])",
            "not the inverse",
        ),
        (
            "(char_to_id: {'a': 0}, id_to_char: {0: 'a'}, mergings: [(from: (0, 0), to: 5)], encoded_data: [])",
            r"mergings\[0\] makes id 5.* must be 1",
        ),
        (
            "(char_to_id: {'a': 0}, id_to_char: {0: 'a'}, mergings: [(from: (0, 1), to: 1)], encoded_data: [])",
            r"mergings\[0\]: expected \(from: \(a, b\), to: 1\)",
        ),
        (
            "(char_to_id: {'a': 0}, id_to_char: {0: 'a'}, mergings: [], encoded_data: [[0], [0, 1]])",
            r"encoded_data\[1\]: id 1 is outside",
        ),
        (
            "(char_to_id: {'a': 0}, id_to_char: {0: 'a'}, mergings: [], encoded_data: [[0], \"x\"])",
            r"encoded_data\[1\] is not a list",
        ),
        ("(char_to_id: {'a': 0}, id_to_char: {0: 'a'}, mergings: [], encoded_data: [[0]", "expected ',' or ']'"),
    ],
)
def test_bad_files_name_the_file_and_the_problem(tmp_path, content, message):
    path = tmp_path / "dataset.ron"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(DataError, match=message) as caught:
        read_gptrs_dataset(path)
    assert str(path) in str(caught.value)


# ------------------------------------------------------------------------------------ CLI


def test_cli_export_then_import_writes_shards_with_the_files_ids(tmp_path, capsys):
    from tinygpt.data import read_manifest

    corpus = tmp_path / "stories.txt"
    corpus.write_text("\n<|endoftext|>\n".join(STORIES) + "\n", encoding="utf-8")
    tokenizer = trained()
    tokenizer.save(tmp_path / "tokenizer.ron")
    dataset = tmp_path / "dataset.ron"
    assert (
        main(
            [
                "gptrs",
                "export",
                str(tmp_path / "tokenizer.ron"),
                "--data",
                str(corpus),
                "--out",
                str(dataset),
                "--max-stories",
                "5",
                "--no-progress",
            ]
        )
        == 0
    )
    assert "wrote 5 stories" in capsys.readouterr().out
    out = tmp_path / "shards"
    assert main(["gptrs", "import", str(dataset), "--out", str(out), "--no-progress"]) == 0
    imported = BPETokenizer.load(out / "tokenizer.ron")
    assert imported.eot_id == tokenizer.vocab_size
    assert BPETokenizer.from_alphabet_merges(imported.alphabet, [m[:2] for m in imported.merge_ids]) == tokenizer
    manifest = read_manifest(out)
    expected_tokens = sum(len(story) + 1 for story in tokenizer.encode_batch(STORIES[:5]))
    assert manifest.split("train").tokens + manifest.split("val").tokens == expected_tokens


def test_cli_export_keeps_an_empty_story_as_gptrs_would_and_says_so(tmp_path, capsys):
    corpus = tmp_path / "stories.txt"
    corpus.write_text(f"{STORIES[0]}\n<|endoftext|>\n<|endoftext|>\n{STORIES[1]}\n", encoding="utf-8")
    tokenizer = trained()
    tokenizer.save(tmp_path / "tokenizer.ron")
    dataset = tmp_path / "dataset.ron"
    assert (
        main(
            [
                "gptrs",
                "export",
                str(tmp_path / "tokenizer.ron"),
                "--data",
                str(corpus),
                "--out",
                str(dataset),
                "--no-progress",
            ]
        )
        == 0
    )
    assert "wrote 3 stories (1 of them empty)" in capsys.readouterr().out
    assert read_gptrs_dataset(dataset).stories == [tokenizer.encode(STORIES[0]), [], tokenizer.encode(STORIES[1])]
    assert main(["gptrs", "import", str(dataset), "--out", str(tmp_path / "shards"), "--no-progress"]) == 0
    assert "skipped 1 empty document(s)" in capsys.readouterr().out


def test_cli_import_of_a_bad_file_exits_with_a_message(tmp_path, capsys):
    path = tmp_path / "dataset.ron"
    path.write_text("(char_to_id: {}", encoding="utf-8")
    assert main(["gptrs", "import", str(path), "--out", str(tmp_path / "out")]) == 2
    assert "dataset.ron:1:16" in capsys.readouterr().err


def test_cli_export_with_a_missing_corpus_exits_with_a_message(tmp_path, capsys):
    trained().save(tmp_path / "tokenizer.ron")
    code = main(
        [
            "gptrs",
            "export",
            str(tmp_path / "tokenizer.ron"),
            "--data",
            str(tmp_path / "nope.parquet"),
            "--out",
            str(tmp_path / "dataset.ron"),
            "--no-progress",
        ]
    )
    assert code == 2
    assert "nope.parquet: no such file or directory" in capsys.readouterr().err
    assert not (tmp_path / "dataset.ron").exists()


def test_cli_import_refuses_stories_that_would_not_re_encode_to_the_files_ids(tmp_path, capsys):
    path = tmp_path / "dataset.ron"
    # "banana" spelled with unmerged ids: gpt-rs itself would have merged them.
    path.write_text(HAND_WRITTEN.replace("[[6,5,2],", "[[3,2,4,2,4,2],"), encoding="utf-8")
    assert main(["gptrs", "import", str(path), "--out", str(tmp_path / "out"), "--no-progress"]) == 2
    assert "story 0 re-encodes to different ids" in capsys.readouterr().err
    assert not (tmp_path / "out" / "manifest.json").exists()
