"""Keywords of open answers: the words most respondents used, in Chinese and English.

Chinese is cut into words by jieba (a dictionary and HMM segmenter); English words are
letters runs. A keyword counts respondents, not mentions (a respondent who repeats a
word counts once), and a word used by fewer than ``min_respondents`` respondents is never
shown, so that a rare word (a name, a place) cannot point at one person.
"""

from __future__ import annotations

import logging
import re
from collections import Counter
from collections.abc import Iterable
from functools import lru_cache

import jieba

jieba.setLogLevel(logging.WARNING)

WORD = re.compile(r"[A-Za-z][A-Za-z'’-]+|[\u3400-\u4dbf\u4e00-\u9fff]+")
STOP_EN = frozenset(
    [
        "about",
        "after",
        "again",
        "also",
        "although",
        "always",
        "among",
        "and",
        "another",
        "any",
        "are",
        "around",
        "because",
        "been",
        "before",
        "being",
        "both",
        "but",
        "can",
        "cannot",
        "could",
        "did",
        "does",
        "doing",
        "done",
        "don't",
        "down",
        "during",
        "each",
        "either",
        "even",
        "ever",
        "every",
        "few",
        "for",
        "from",
        "get",
        "gets",
        "getting",
        "got",
        "had",
        "has",
        "have",
        "having",
        "her",
        "here",
        "hers",
        "him",
        "his",
        "how",
        "however",
        "into",
        "its",
        "just",
        "least",
        "less",
        "like",
        "made",
        "make",
        "many",
        "may",
        "more",
        "most",
        "much",
        "must",
        "never",
        "not",
        "now",
        "off",
        "once",
        "one",
        "only",
        "other",
        "our",
        "ours",
        "out",
        "over",
        "own",
        "please",
        "quite",
        "rather",
        "really",
        "same",
        "she",
        "should",
        "since",
        "some",
        "still",
        "such",
        "than",
        "that",
        "the",
        "their",
        "theirs",
        "them",
        "then",
        "there",
        "these",
        "they",
        "this",
        "those",
        "though",
        "through",
        "too",
        "under",
        "until",
        "very",
        "was",
        "way",
        "well",
        "were",
        "what",
        "when",
        "where",
        "which",
        "while",
        "who",
        "whom",
        "why",
        "will",
        "with",
        "within",
        "without",
        "would",
        "yet",
        "you",
        "your",
        "yours",
        "it's",
        "i'm",
        "i've",
        "we're",
        "they're",
        "isn't",
        "wasn't",
    ]
)
STOP_ZH = frozenset(
    [
        "我们",
        "你们",
        "他们",
        "她们",
        "它们",
        "这个",
        "那个",
        "这些",
        "那些",
        "这样",
        "那样",
        "没有",
        "不是",
        "就是",
        "还是",
        "可以",
        "可能",
        "应该",
        "非常",
        "一个",
        "一些",
        "什么",
        "怎么",
        "因为",
        "所以",
        "但是",
        "而且",
        "如果",
        "已经",
        "还有",
        "自己",
        "比较",
        "觉得",
        "希望",
        "能够",
        "时候",
        "一下",
        "一点",
        "其他",
        "以及",
        "或者",
        "然后",
        "现在",
        "目前",
        "问题",
        "需要",
        "有点",
        "特别",
        "真的",
        "感觉",
        "总是",
        "还是",
        "并且",
        "不过",
    ]
)


@lru_cache(maxsize=200_000)
def tokens(text: str) -> frozenset[str]:
    """The distinct keywords of one answer (lower-cased English words of 3+ letters and
    Chinese words of 2+ characters, stop words left out)."""
    words = set()
    for run in WORD.findall(text):
        if run[0].isascii():
            word = run.lower().strip("'’-")
            if len(word) >= 3 and word not in STOP_EN:
                words.add(word)
            continue
        for word in jieba.lcut(run):
            if len(word) >= 2 and word not in STOP_ZH:
                words.add(word)
    return frozenset(words)


def keyword_counts(
    answers: Iterable[Iterable[str | None]], top: int = 10, min_respondents: int = 3
) -> list[tuple[str, int]]:
    """The ``top`` words used by the most respondents (each respondent's answers are the
    inner iterable), most used first, ties by word; only words used by at least
    ``min_respondents``."""
    counts: Counter[str] = Counter()
    for respondent in answers:
        words: set[str] = set()
        for text in respondent:
            if text:
                words |= tokens(text)
        counts.update(words)
    kept = [(w, n) for w, n in counts.items() if n >= min_respondents]
    kept.sort(key=lambda pair: (-pair[1], pair[0]))
    return kept[:top]
