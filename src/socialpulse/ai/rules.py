"""Rule and lexicon scorers: question, praise, purchase intent, collaboration, toxicity.

Every rule has a name and a weight in 0..1; a text's score for an intent is the strongest
matching rule's weight plus 0.05 for each further distinct match (capped at 0.99), and each
match is reported as evidence (``rule name: matched text``). An intent fires at 0.5.

Question
    ``question_mark`` (a '?' or '¿' outside URLs, 0.9), ``interrogative_start`` (the first
    word is an interrogative in English, Spanish, French, German, Portuguese or Italian:
    "how", "dónde", "pourquoi", "wie", "onde", "perché" ..., 0.7) and ``auxiliary_start``
    (an auxiliary then a subject: "do you", "is it", "can anyone", "kannst du", 0.6).
Praise
    ``praise_lexicon``: compliments and admiration ("love this", "amazing", "so beautiful",
    "well done", "goals", "hermoso", "magnifique", "wunderschön" ...) and praise emojis
    (😍 🔥 👏 ❤️ 💯 🙌 ...). A match weighs 0.45 and the probability of positive sentiment
    adds up to 0.3, so "not amazing" said negatively does not fire; without a match the
    score is 0.3 x P(positive), which never fires alone. Strong evaluations count as
    compliments too ("life-changing", "changed my life", "made my day", "you're the best",
    ``praise_superlative``: "best trip ever"). ``gratitude`` ("thank you", "thanks",
    "grateful", "gracias", "merci", "danke", "obrigado", "grazie") with such an evaluation
    is praise addressed to the author: the match then weighs at least 0.6 (so with a clearly
    positive sentiment the score reaches 0.85, the default auto-response threshold), unless
    the text also asks or complains ("Thanks, but my order never arrived", "Thanks! Where
    can I buy it?"): there thanks is politeness. Thanks alone is not praise.
Purchase intent
    ``where_to_buy`` ("where can I buy/get/order", "where is it from", "dónde comprar",
    "où acheter", "wo kaufen" ..., 0.9), ``price_question`` ("how much", "price?", "cost",
    "precio", "prix", "preis" ..., 0.85), ``ordering`` ("how do I order", "do you ship to",
    "in stock", "available in", "restock", "sold out", 0.75), ``link_request`` ("link?",
    "link please", "drop the link", 0.75), ``desire`` ("need this", "want one", "take my
    money", "add to cart", 0.6).
Collaboration
    ``collab`` ("collab", "collaborate", "collaboration", 0.9), ``sponsorship`` ("sponsor",
    "sponsored", "brand deal", "paid promotion", "ambassador", "affiliate", "pr package", 0.85),
    ``business_inquiry`` ("business inquiry", "for business", "partnership", "partner with",
    "work with you", "email us", 0.8), ``dm_for_promo`` ("dm me/us for promo/collab/business",
    "send us a dm", "promo", "shoutout for shoutout", 0.8).
Toxicity
    ``slur`` (identity-based slurs, 0.95), ``threat`` ("kill yourself", "kys", "i will kill
    you", "go die", 0.95), ``insult_at_you`` (an insult addressed to the reader: "you idiot",
    "you're pathetic", 0.9), ``profanity`` (strong swear words, 0.6), ``insult`` (a strong
    insult on its own: "idiot", "moron", 0.55), ``weak_insult`` ("stupid", "loser", 0.4) and
    ``mild`` ("damn", "crap", "sucks", 0.3): the last two never flag alone. Letters
    hidden by symbols or digits ("f*ck", "sh1t", "@ss") are restored before matching. A text is
    flagged toxic at 0.5.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from socialpulse.ai.lexicon import PhraseMatcher, words_of

FIRE_AT = 0.5
# What a compliment with thanks weighs at least (see the module docstring).
GRATITUDE_WITH_PRAISE = 0.6


@dataclass(frozen=True)
class TextView:
    """A text with its lower-cased form and words, computed once for all rule sets."""

    text: str
    lowered: str
    words: list[str]

    @classmethod
    def of(cls, text: str) -> TextView:
        return cls(text, text.lower(), words_of(text))


@dataclass(frozen=True)
class Rule:
    """A named regular expression; it runs only when one of its trigger substrings is in
    the lower-cased text (a cheap filter: most texts trigger few rules)."""

    name: str
    weight: float
    pattern: re.Pattern[str]
    trigger: re.Pattern[str] | None = None


@dataclass(frozen=True)
class LexiconRule:
    """Named lists of words and phrases, matched on whole words; each entry carries its
    rule name and weight, so the lexicons of a rule set are searched in one pass."""

    entries: tuple[tuple[str, tuple[str, float]], ...]
    matcher: PhraseMatcher[tuple[str, float]]


@dataclass
class RuleScore:
    score: float
    evidence: list[tuple[str, float]]

    @property
    def fired(self) -> bool:
        return self.score >= FIRE_AT


def _phrases(name: str, weight: float, *items: str) -> LexiconRule:
    entries = tuple((item, (name, weight)) for item in items)
    return LexiconRule(entries, PhraseMatcher(entries))


def _merged(rules: Iterable[Rule | LexiconRule]) -> tuple[Rule | LexiconRule, ...]:
    """The regex rules as they are, plus all lexicons folded into one matcher."""
    patterns = [rule for rule in rules if isinstance(rule, Rule)]
    entries = [e for rule in rules if isinstance(rule, LexiconRule) for e in rule.entries]
    if not entries:
        return tuple(patterns)
    return (*patterns, LexiconRule(tuple(entries), PhraseMatcher(entries)))


# Substrings of which a rule's text must hold at least one before its pattern is tried.
_TRIGGERS = {
    "question_mark": "?|？|¿",
    "where_to_buy": "where|dónde|donde|où|ou |wo |onde|dove",
    "price_question": "how much|pric|cost|precio|cuánto|cuanto|prix|combien|preis|viel|quanto|"
    "preço|preco|prezzo|dollars",
    "ordering": "order|buy|purchase|get|ship|deliver|sell|stock|available|sold out",
    "link_request": "link",
    "desire": "need|want|money|cart|shut up|quiero|veux",
    "collab": "collab|colab",
    "sponsorship": "sponsor|brand|paid|ambassador|affiliate|pr package|patrocin|parrainage",
    "business_inquiry": "business|partner|work with|work together|email|feature|booking|"
    "management|cooperation|kooperation",
    "dm_for_promo": "dm|pm|inbox|message|promo|s4s|shout",
    "threat": "kill|kys|die|hurt|beat|find",
    "insult_at_you": "you|u |ur|what a|shut|stfu|gtfo|screw|fuck",
    "complaint_cue": "never|still|refund|worst|service|support|experience|quality|work|broken|"
    "disappoint|scam|charged|response|cancel|waste|ripped|missing|wrong|damaged",
    "self_promotion": "check|sub|visit|watch|see|listen|go to|look at|f4f|follow|l4l|like|"
    "dm|send|promote",
    "bait": "free|gift|earn|make|home|click|onlyfans|bio",
    "scam": "double|guarantee|signal|earn|mak|made|free|claim|verify|whats|telegram",
    "praise_superlative": "best",
}


def _rule(name: str, weight: float, pattern: str) -> Rule:
    triggers = _TRIGGERS.get(name)
    trigger = re.compile("|".join(map(re.escape, triggers.split("|")))) if triggers else None
    return Rule(name, weight, re.compile(pattern, re.IGNORECASE), trigger)


def score_rules(text: str | TextView, rules: Iterable[Rule | LexiconRule]) -> RuleScore:
    view = text if isinstance(text, TextView) else TextView.of(text)
    lowered = view.lowered
    best = 0.0
    seen: dict[str, float] = {}

    def add(name: str, fragment: str, weight: float) -> None:
        nonlocal best
        key = f"{name}: {fragment}"
        if key not in seen:
            seen[key] = weight
            best = max(best, weight)

    for rule in rules:
        if isinstance(rule, LexiconRule):
            for phrase, (name, weight) in rule.matcher.find(view.words):
                add(name, phrase, weight)
            continue
        if rule.trigger is not None and rule.trigger.search(lowered) is None:
            continue
        for match in rule.pattern.finditer(lowered):
            add(rule.name, " ".join(match.group(0).split()), rule.weight)
    if not seen:
        return RuleScore(0.0, [])
    score = min(0.99, best + 0.05 * (len(seen) - 1))
    evidence = sorted(seen.items(), key=lambda item: -item[1])
    return RuleScore(round(score, 4), evidence)


# --- question -------------------------------------------------------------------------
_WH_WORDS = (
    # English ("what a/an ..." is an exclamation, not a question)
    "who when where why how which whose whom what(?!\\s+an?\\b) "
    # Spanish (accented forms only: unaccented "que", "como" are conjunctions)
    "qué quién quiénes cuándo dónde cómo cuál cuáles cuánto cuánta cuántos cuántas "
    # French
    "pourquoi comment quel quelle quels quelles combien où est-ce\\s+que qu'est-ce "
    # German
    "wer warum wieso weshalb welche welcher welches wieviel wann wie "
    # Portuguese
    "quem onde porquê qual quais quanto quanta "
    # Italian
    "perché dove quale quali"
).split()
_AUX_WORDS = (
    "is are am was were do does did can could would should will shall may have has had "
    "isn't aren't don't doesn't didn't can't won't wouldn't couldn't shouldn't "
    "kannst kann können hast habt gibt ist sind"
).split()
_SUBJECTS = (
    "i you u we they he she it this that these those there anyone anybody someone somebody "
    "the your my y'all ya du ihr sie es man das"
).split()
_QUESTION_RULES = (
    _rule("question_mark", 0.9, r"[?？¿]"),
    _rule("interrogative_start", 0.7, r"^\W*(?:" + "|".join(_WH_WORDS) + r")(?!\w)"),
    _rule(
        "auxiliary_start",
        0.6,
        r"^\W*(?:" + "|".join(_AUX_WORDS) + r")\s+(?:" + "|".join(_SUBJECTS) + r")(?!\w)",
    ),
)

# --- praise ---------------------------------------------------------------------------
_PRAISE_RULES: tuple[Rule | LexiconRule, ...] = (
    _phrases(
        "praise_lexicon",
        0.45,
        "love this",
        "love it",
        "love you",
        "love your",
        "loved it",
        "loving this",
        "amazing",
        "awesome",
        "beautiful",
        "gorgeous",
        "stunning",
        "incredible",
        "fantastic",
        "wonderful",
        "brilliant",
        "excellent",
        "outstanding",
        "superb",
        "perfect",
        "perfection",
        "masterpiece",
        "great job",
        "good job",
        "well done",
        "nice work",
        "great work",
        "so good",
        "so cute",
        "so pretty",
        "so talented",
        "talented",
        "inspiring",
        "inspirational",
        "legend",
        "iconic",
        "goals",
        "obsessed",
        "slay",
        "slayed",
        "queen",
        "best ever",
        "love love love",
        "keep it up",
        "keep up the good work",
        "you rock",
        "proud of you",
        "killing it",
        "nailed it",
        "blessed to",
        "thank you so much",
        "life-changing",
        "life changing",
        "changed my life",
        "loved this",
        "loved every",
        "absolutely loved",
        "made my day",
        "you're the best",
        "you are the best",
        "means the world",
        "hermoso",
        "hermosa",
        "precioso",
        "preciosa",
        "increíble",
        "me encanta",
        "qué bonito",
        "magnifique",
        "génial",
        "superbe",
        "j'adore",
        "bravo",
        "wunderschön",
        "wunderbar",
        "lindo",
        "linda",
        "maravilhoso",
        "maravilhosa",
        "amei",
        "bellissimo",
        "bellissima",
        "stupendo",
        "fantastico",
    ),
    _rule("praise_emoji", 0.45, "(?:😍|🥰|🔥|👏|❤️|❤|💯|🙌|😻|🤩|💖|💕|💗|✨|👌|🏆|🥇)"),
    _rule("praise_superlative", 0.45, r"\bbest\s+(?:[\w'-]+\s+){1,2}ever\b"),
)
# Thanks on its own is politeness ("thanks for the reply"); with a compliment it is praise.
_GRATITUDE_RULES = _merged(
    (
        _phrases(
            "gratitude",
            GRATITUDE_WITH_PRAISE,
            "thank you",
            "thank you so much",
            "thank u",
            "thanks",
            "thanks so much",
            "thx",
            "grateful",
            "gracias",
            "merci",
            "danke",
            "obrigado",
            "obrigada",
            "grazie",
        ),
    )
)

# --- purchase intent ------------------------------------------------------------------
_PURCHASE_RULES = (
    _rule(
        "where_to_buy",
        0.9,
        r"\bwhere\s+(?:can|do|did|could|should|would)\s+(?:i|you|we|one)\s+"
        r"(?:buy|get|find|order|purchase|shop)\b"
        r"|\bwhere\s+(?:is|was|are|'s)\s+(?:this|that|it|these|those|the\s+\w+)\s+from\b"
        r"|\bwhere(?:'s| is)\s+(?:this|that|it)\s+(?:sold|available)\b"
        r"|\bwhere\s+to\s+(?:buy|get|order)\b"
        r"|\bd[oó]nde\s+(?:lo\s+|la\s+|los\s+|las\s+)?(?:compr|consig|venden|pued)\w*"
        r"|\bo[uù]\s+(?:acheter|trouver|l'acheter|commander)\b|\bo[uù]\s+(?:peut-on|puis-je)\b"
        r"|\bwo\s+(?:kann\s+man\s+|kann\s+ich\s+|gibt\s+es\s+)?(?:kaufen|bestellen|bekommen)\b"
        r"|\bonde\s+(?:compr|encontr|vend)\w*|\bdove\s+(?:si\s+)?(?:compr|trov)\w*",
    ),
    _rule(
        "price_question",
        0.85,
        r"\bhow\s+much\b|\bprice\b|\bpricing\b|\bprices\b|\bhow\s+many\s+dollars\b"
        r"|\bwhat(?:'s| is| does)\s+(?:the\s+)?(?:cost|price)\b|\bcost\s*\?"
        r"|\bprecio\b|\bcu[aá]nto\s+(?:cuesta|vale|sale)\b|\bprix\b|\bcombien\b|\bpreis\b"
        r"|\bwie\s*viel\s+kostet\b|\bquanto\s+(?:custa|costa)\b|\bpre[cç]o\b|\bprezzo\b",
    ),
    _rule(
        "ordering",
        0.75,
        r"\bhow\s+(?:do|can|could)\s+i\s+(?:order|buy|purchase|get\s+(?:one|this|it))\b"
        r"|\bdo\s+you\s+(?:ship|deliver|sell)\b|\bship(?:ping)?\s+to\b|\bin\s+stock\b"
        r"|\bavailable\s+in\b|\bis\s+(?:it|this)\s+available\b|\brestock\w*\b|\bsold\s+out\b"
        r"|\bwant\s+to\s+(?:buy|order|purchase)\b|\bi'?d\s+like\s+to\s+order\b|\bpre-?order\b",
    ),
    _rule(
        "link_request",
        0.75,
        r"\blinks?\s*\?|\blink\s+(?:pl(?:ea)?se?|pls|plz)\b|\b(?:drop|send|share|need)\s+"
        r"(?:me\s+|us\s+)?the\s+link\b|\bwhat(?:'s| is)\s+the\s+link\b|\blink\s+in\s+bio\s*\?",
    ),
    _rule(
        "desire",
        0.6,
        r"\bi\s+need\s+(?:this|these|that|one|it)\b|\bi\s+want\s+(?:this|these|that|one|it)\b"
        r"|\btake\s+my\s+money\b|\badd(?:ing|ed)?\s+to\s+(?:my\s+)?cart\b|\bshut\s+up\s+and\s+take\b"
        r"|\bneed\s+(?:this|these)\s+in\s+my\s+life\b|\blo\s+quiero\b|\bje\s+le\s+veux\b",
    ),
)

# --- collaboration --------------------------------------------------------------------
_COLLAB_RULES = (
    _rule("collab", 0.9, r"\bcollab\w*|\bcollaborat\w*|\bcolab\w*|\bcolaboraci[oó]n\b"),
    _rule(
        "sponsorship",
        0.85,
        r"\bsponsor\w*|\bbrand\s+deals?\b|\bpaid\s+(?:promo\w*|partnership|post)\b"
        r"|\bbrand\s+ambassador\w*|\bambassador\s+program\w*|\baffiliate\w*|\bpr\s+package\w*"
        r"|\bpatrocin\w*|\bparrainage\b",
    ),
    _rule(
        "business_inquiry",
        0.8,
        r"\bbusiness\s+(?:inquir\w*|enquir\w*|proposal|opportunit\w*|email)\b|\bfor\s+business\b"
        r"|\bpartnership\w*|\bpartner\s+with\b|\bwork\s+with\s+(?:you|u)\b|\bwork\s+together\b"
        r"|\bemail\s+(?:us|me)\s+at\b|\bfeature\s+(?:you|your)\b|\bbooking\s*s?\s*:"
        r"|\bmanagement\s*:|\bcooperation\b|\bkooperation\b",
    ),
    _rule(
        "dm_for_promo",
        0.8,
        r"\b(?:dm|pm|inbox|message)\s+(?:me|us)\s+(?:for|to)\s+(?:a\s+)?"
        r"(?:promo\w*|collab\w*|business|partnership|features?|shoutouts?|deals?|details)\b"
        r"|\bsend\s+(?:us|me)\s+a\s+(?:dm|pm|message)\b|\bpromo(?:tion)?\s+(?:offer|deal)\b"
        r"|\bdm\s+for\s+\w+|\bs4s\b|\bshout\s*out\s+for\s+shout\s*out\b",
    ),
)

# --- toxicity -------------------------------------------------------------------------
_LEET = str.maketrans({"0": "o", "1": "i", "3": "e", "4": "a", "5": "s", "7": "t", "$": "s"})
_MASKED = re.compile(
    r"(?<!\w)(?:f[\W_]*[u\*@#]+[\W_]*c+[\W_]*k(?:ing|in|ed|er)?|sh[\W_]*[i1\*!]+[\W_]*t"
    r"|b[\W_]*[i1\*!]+[\W_]*t[\W_]*c[\W_]*h|a[s\$\*][\$\*]|@ss|c[\W_]*[u\*]+[\W_]*n[\W_]*t)(?!\w)",
    re.IGNORECASE,
)
_MASK_TO = (
    ("f", "fuck"),
    ("sh", "shit"),
    ("b", "bitch"),
    ("a", "ass"),
    ("@", "ass"),
    ("c", "cunt"),
)
# Insults that flag only when addressed to someone ("you ...").
_INSULT_WORDS = (
    "idiot idiots idiotic moron morons stupid dumb dumbass imbecile loser losers pathetic "
    "worthless useless clown trash garbage scum jerk creep freak ugly fat pig disgusting "
    "clueless brainless retarded retard deadbeat lowlife hypocrite liar fraud joke"
)
# Insults that flag on their own.
_STRONG_INSULTS = "idiot idiots moron morons dumbass imbecile scum lowlife retarded"
# Insults that only add weight ("this stupid printer" is not an attack on anyone).
_WEAK_INSULTS = "stupid dumb loser losers pathetic worthless clown jerk creep"
_TOXIC_RULES: tuple[Rule | LexiconRule, ...] = (
    _phrases(
        "slur",
        0.95,
        "nigger",
        "niggers",
        "nigga",
        "niggas",
        "faggot",
        "faggots",
        "fag",
        "fags",
        "dyke",
        "tranny",
        "trannies",
        "chink",
        "chinks",
        "spic",
        "spics",
        "kike",
        "kikes",
        "wetback",
        "raghead",
        "towelhead",
        "gook",
        "coon",
        "retards",
    ),
    _rule(
        "threat",
        0.95,
        r"\bkill\s+(?:yo)?urself\b|\bkys\b|\bi(?:'ll|\s+will|\s+am\s+going\s+to|'m\s+gonna)\s+"
        r"(?:kill|hurt|find|beat)\s+(?:you|u)\b|\bgo\s+(?:die|kill\s+yourself)\b"
        r"|\bhope\s+(?:you|u)\s+die\b|\byou\s+(?:should|deserve\s+to)\s+die\b",
    ),
    _rule(
        "insult_at_you",
        0.9,
        r"\b(?:you|u|ur|you're|youre|you\s+are|u\s+r|ur\s+a|you're\s+a|you\s+are\s+a"
        r"|you\s+are\s+an|you're\s+an|what\s+an?)\s+(?:such\s+an?\s+|so\s+|fucking\s+|total\s+"
        r"|complete\s+|absolute\s+|little\s+|stupid\s+)*(?:"
        + "|".join(_INSULT_WORDS.split())
        + r"|bitch|bastard|asshole|dick|cunt|whore|slut|piece\s+of\s+shit)\b"
        r"|\bshut\s+(?:the\s+fuck\s+)?up\b|\bstfu\b|\bgtfo\b|\bscrew\s+you\b|\bfuck\s+(?:you|u|off)\b",
    ),
    _phrases(
        "profanity",
        0.6,
        "fuck",
        "fucking",
        "fucked",
        "fucker",
        "fuckers",
        "motherfucker",
        "motherfucking",
        "shit",
        "shitty",
        "bullshit",
        "bitch",
        "bitches",
        "asshole",
        "assholes",
        "bastard",
        "bastards",
        "cunt",
        "cunts",
        "dick",
        "dickhead",
        "prick",
        "whore",
        "slut",
        "sluts",
        "wtf",
        "piss off",
        "pissed off",
        "douche",
        "douchebag",
        "twat",
        "wanker",
        "bollocks",
        "puta",
        "puto",
        "mierda",
        "pendejo",
        "cabrón",
        "gilipollas",
        "merde",
        "putain",
        "connard",
        "salope",
        "scheiße",
        "scheisse",
        "arschloch",
        "fotze",
        "wichser",
        "porra",
        "caralho",
        "cazzo",
        "stronzo",
        "vaffanculo",
    ),
    _phrases("insult", 0.55, *_STRONG_INSULTS.split()),
    _phrases("weak_insult", 0.4, *_WEAK_INSULTS.split()),
    _phrases("mild", 0.3, "damn", "crap", "sucks", "suck", "hell", "freaking", "frickin"),
)


_PRAISE_RULES = _merged(_PRAISE_RULES)
_TOXIC_RULES = _merged(_TOXIC_RULES)


def _unmask(text: str) -> str:
    def restore(match: re.Match[str]) -> str:
        raw = match.group(0).lower()
        for prefix, word in _MASK_TO:
            if raw.startswith(prefix):
                return word
        return raw

    if any(ch in text for ch in "*@#$!_"):
        text = _MASKED.sub(restore, text)
    if any(ch in text for ch in "013457"):
        # Digits inside words are letters in disguise ("sh1t", "1d10t"); numbers stay numbers.
        text = " ".join(
            w.translate(_LEET)
            if not w.isdigit() and not w.isalpha() and any(c.isalpha() for c in w)
            else w
            for w in text.split()
        )
    return text


def question(text: str | TextView) -> RuleScore:
    return score_rules(text, _QUESTION_RULES)


def praise(
    text: str | TextView, positive_probability: float, *, asks_or_complains: bool = False
) -> RuleScore:
    """`asks_or_complains`: another actionable intent (question, complaint, purchase intent,
    collaboration) fired on the text, so its thanks do not strengthen the praise."""
    found = score_rules(text, _PRAISE_RULES)
    if not found.evidence:
        return RuleScore(round(0.3 * positive_probability, 4), [])
    base, evidence = found.score, found.evidence
    if not asks_or_complains:
        thanks = score_rules(text, _GRATITUDE_RULES)
        said = {item.split(": ", 1)[1] for item, _weight in thanks.evidence}
        # "thank you so much" is in both lists: the thanks alone is not an evaluation.
        if thanks.evidence and any(item.split(": ", 1)[1] not in said for item, _ in evidence):
            base = max(base, GRATITUDE_WITH_PRAISE)
            evidence = thanks.evidence[:1] + evidence
    score = min(0.99, base + 0.3 * positive_probability)
    return RuleScore(round(score, 4), evidence + [("sentiment: positive", positive_probability)])


def purchase_intent(text: str | TextView) -> RuleScore:
    return score_rules(text, _PURCHASE_RULES)


def collaboration(text: str | TextView) -> RuleScore:
    return score_rules(text, _COLLAB_RULES)


def toxicity(text: str | TextView) -> RuleScore:
    view = text if isinstance(text, TextView) else TextView.of(text)
    unmasked = _unmask(view.text)
    return score_rules(view if unmasked == view.text else unmasked, _TOXIC_RULES)


# --- complaint and spam cues (combined with the trained models in analysis.py) -------------
_COMPLAINT_RULES = (
    _rule(
        "complaint_cue",
        0.75,
        r"\bnever\s+(?:arrived|came|received|got)\b|\bstill\s+(?:waiting|no\b|haven't)"
        r"|\brefund\w*|\bworst\s+(?:service|customer\s+service|experience|company)\b"
        r"|\b(?:terrible|awful|horrible|poor|bad|rude)\s+(?:service|customer\s+service|support"
        r"|experience|quality)\b|\bnot\s+working\b|\b(?:doesn't|does\s+not|didn't|won't)\s+work\b"
        r"|\bbroken\b|\bdisappointed\b|\bscam\w*|\bcharged\s+(?:me\s+)?twice\b|\bno\s+response\b"
        r"|\bcancel\s+my\b|\bwaste\s+of\s+(?:money|time)\b|\bripped\s+off\b|\bmissing\s+item"
        r"|\bwrong\s+(?:order|item|size)\b|\bdamaged\b",
    ),
)
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


def complaint_cues(text: str | TextView) -> RuleScore:
    return score_rules(text, _COMPLAINT_RULES)


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
