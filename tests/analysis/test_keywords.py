"""Keywords of open answers (the report's open-text page): Chinese cut by jieba, English
by words, respondents counted (not mentions), rare words never shown. Expected counts are
counted by hand."""

from __future__ import annotations

from analysis.keywords import keyword_counts, tokens

ANSWERS = [
    ["报告出具太慢，样本被拒收"],
    ["报告太慢了 and the reports were slow"],
    ["报告出具太慢", "Slow, slow service"],  # one respondent, two answers: counted once
    ["服务很好 good service"],
    ["slow"],
    [None, ""],
]


def test_respondents_per_word_most_used_first_rare_words_hidden():
    assert keyword_counts(ANSWERS, top=10, min_respondents=3) == [
        ("slow", 3),
        ("太慢", 3),
        ("报告", 3),
    ]
    two = dict(keyword_counts(ANSWERS, top=20, min_respondents=2))
    assert two["service"] == 2 and two["出具"] == 2
    assert "拒收" not in two  # one respondent: could point at a person
    assert keyword_counts(ANSWERS, top=1) == [("slow", 3)]


def test_tokens_leave_out_stop_words_and_short_words():
    words = tokens("The reports were slow and 报告太慢了")
    assert {"reports", "slow", "报告", "太慢"} <= words
    assert not {"the", "and", "were", "了"} & words
