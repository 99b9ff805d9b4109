from parley.chat.conversations.titles import DEFAULT_TITLE, TITLE_CHARS, title_from_message


def test_a_short_first_line_is_the_title() -> None:
    assert title_from_message("\n  What is a llama?  \nmore text") == "What is a llama?"


def test_a_long_line_is_cut_at_a_word() -> None:
    title = title_from_message("word " * 40)
    assert title.endswith("…") and len(title) <= TITLE_CHARS + 1
    assert not title[:-1].endswith(" ")


def test_one_long_word_is_cut_hard() -> None:
    assert title_from_message("x" * 100) == "x" * TITLE_CHARS + "…"


def test_blank_content_keeps_the_default() -> None:
    assert title_from_message("   \n ") == DEFAULT_TITLE
