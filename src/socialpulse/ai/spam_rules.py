"""Spam cues, combined with the spam model in analysis.py (scored as ``rules`` describes): the
cue rules of a comment (self-promotion, bait, scams), the scam rules that count on a creator's
own caption, and the marks of spam without which the model alone cannot make a comment spam."""

from __future__ import annotations

import re

from socialpulse.ai.rules import Rule, RuleScore, TextView, regex_rule, score_rules

# Substrings of which a rule's text must hold at least one before its pattern is tried.
_TRIGGERS = {
    "self_promotion": "check|sub|visit|watch|see|listen|go to|look at|f4f|follow|l4l|like|"
    "dm|send|promote",
    "bait": "free|gift|earn|make|home|click|onlyfans|bio",
    "scam": "double|guarantee|signal|earn|mak|made|free|claim|verify|whats|telegram",
}


def _rule(name: str, weight: float, pattern: str) -> Rule:
    return regex_rule(name, weight, pattern, _TRIGGERS.get(name))


_SPAM_RULES = (
    _rule(
        "self_promotion",
        0.7,
        r"\b(?:check\s+(?:out\s+)?|visit\s+|watch\s+|see\s+|listen\s+to\s+|go\s+to\s+"
        r"|look\s+at\s+)my\s+(?:new\s+|latest\s+|first\s+|own\s+)?(?:youtube\s+)?(?:channel"
        r"|page|video|vid|profile|music|song|track|cover|playlist|website|site|blog|store|shop)s?\b"
        r"|\bsubscribe\s+to\s+(?:my|me|us|our)\b|\bsub\s+to\s+(?:my|me)\b|\bsub\s*4\s*sub\b"
        r"|\bsub\s+for\s+sub\b|\bf4f\b|\bfollow\s*4\s*follow\b|\bl4l\b|\blike\s*4\s*like\b"
        r"|\bfollow\s+(?:me\s+)?back\b|\bfollow\s+me\b"
        # Promotion pages: "DM @page to get featured", "send it to @page", "promote it on @page".
        r"|\bdm\s+@\w+\s+(?:to\s+get\s+featured|for\s+(?:a\s+)?(?:feature|shout\s*out|promo\w*))"
        r"|\bsend\s+(?:it|this)\s+to\s+@\w+|\bpromote\s+(?:it|this|yourself)\s+on\s+@\w+",
    ),
    _rule(
        "bait",
        0.8,
        r"\bfree\s+(?:gift\s*cards?|money|iphone|giveaway)\b|\bgift\s*cards?\b"
        r"|\b(?:earn|make)\s+(?:real\s+|easy\s+|extra\s+)?(?:\$|money|cash)\w*"
        r"|\bwork\s+from\s+home\b|\bclick\s+(?:the|this|my)\s+link\b|\bonlyfans\b"
        r"|\bcheck\s+my\s+bio\b",
    ),
)
# Scams: spam wherever they appear, a creator's own caption included (`scam_cues`).
_SCAM_RULES = (
    _rule(
        "scam",
        0.8,
        r"\bdouble\s+your\s+(?:money|bitcoin|btc|crypto|investment)\b"
        r"|\bguaranteed\s+(?:profits?|returns?|income)\b|\b(?:crypto|forex|bitcoin)\s+signals?\b"
        r"|\b(?:earn|make|making)\s+\$?\d[\d,.]*k?\s*(?:\$|dollars?|usd)?\s*(?:a|per|every)\s+"
        r"(?:day|week|hour)\b|\b(?:get\s+)?free\s+(?:followers|likes|robux|v-?bucks)\b"
        r"|\bclaim\s+your\s+(?:prize|reward|gift)\b|\bverify\s+your\s+account\b"
        r"|\b(?:whats\s*app|telegram)\b\D{0,30}\+?\d[\d\s().-]{7,}\d"
        r"|\b(?:made|earned|making)\s+\$\d[\d,.]*k?\b[^.!?]{0,40}\b(?:trading|crypto|bitcoin"
        r"|forex|investing)\b",
    ),
)
_COMMENT_SPAM_RULES = _SPAM_RULES + _SCAM_RULES
# What comment spam needs to be spam at all: a link or web address, a request to subscribe,
# follow, visit, watch, like, vote or share, the poster's own channel or work, money or prizes,
# or contact details. The spam model learned from YouTube comments in which "please", "thank
# you" and "for your" are mostly spam words; without one of these marks its word alone does not
# make a comment spam (`spam_marker`, the gate in analysis.py).
_SPAM_MARKER_WORDS = re.compile(
    r"\b(?:subs?|su[bs]scri(?:b|be|bes|bers?|bing|bir\w*)|s4s"
    r"|(?:my|our|new)\s+(?:\w+\s+)?channels?|canal|follow(?:ers?|ing)?(?!-)|visit\w*|search\w*"
    r"|check\s+(?:out|it|this|my|me|our|us)|look\s+(?:up|at\s+my)|google"
    r"|(?:watch|see|hear|listen\s+to|like|view|try|join|support|help)\s+(?:my|me|us|our)"
    r"|my\s+(?:new\s+|first\s+|latest\s+|own\s+)?(?:video|vid|song|music|page|blog|track"
    r"|playlist|website|site|profile|store|shop|app|game|cover|band|rap|album|mixtape|youtube)s?"
    r"|like\s+(?:this|my)\s+comment|thumbs\s+up|like\s+if|l4l|like\s*4\s*like|f4f"
    r"|(?:make|earn|making|earning|win|won|free|easy|extra|real|quick|fast)\s+(?:money|cash)"
    r"|money\s+(?:online|from\s+home|fast)|giveaway|gift\s*cards?|prizes?|bitcoin|crypto|paypal"
    r"|dollars?|whats\s*app|telegram|kik|snapchat|skype|add\s+me|hit\s+me\s+up"
    r"|(?:e-?mail|contact|dm|message|text|call)\s+(?:me|us)|vote|votes|voting|sign\s+up|donate"
    r"|petition|share\s+(?:this|my|it))\b"
)
# Links and web addresses (only looked for in a text with a dot), and money amounts and phone
# numbers (only in a text with a digit): the costly patterns run where they can match.
_SPAM_MARKER_LINK = re.compile(
    r"https?://|\bwww\.|\b[a-z0-9-]+\.(?:com|net|org|ly|me|info|biz|tk|co|io|tv|gl|be|pl|ro|us)\b"
)
_SPAM_MARKER_NUMBER = re.compile(r"\$\s?\d|\+?\d[\d\s().-]{7,}\d|(?:make|earn)\w*\s+\$")


def spam_cues(text: str | TextView) -> RuleScore:
    """Spam cues of a comment: self-promotion, bait and scams."""
    return score_rules(text, _COMMENT_SPAM_RULES)


def scam_cues(text: str | TextView) -> RuleScore:
    """The spam cues that count on a creator's own caption: scams only (promotion is what a
    caption is for: "link in bio", "use code SUMMER", "check out my new video")."""
    return score_rules(text, _SCAM_RULES)


def spam_marker(text: str | TextView) -> str | None:
    """The first mark of spam in a comment (see `_SPAM_MARKER_WORDS`), None when there is none."""
    view = text if isinstance(text, TextView) else TextView.of(text)
    lowered = view.lowered
    found = _SPAM_MARKER_WORDS.search(lowered)
    if found is None and "." in lowered:
        found = _SPAM_MARKER_LINK.search(lowered)
    if found is None and any(ch.isdigit() for ch in lowered):
        found = _SPAM_MARKER_NUMBER.search(lowered)
    return " ".join(found.group(0).split()) if found else None
