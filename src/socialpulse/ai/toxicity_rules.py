"""Rule and lexicon scorer of toxicity (scored as ``rules`` describes).

Toxicity
    ``slur`` (identity-based slurs, 0.95), ``threat`` ("kill yourself", "kys", "i will kill
    you", "go die", 0.95), ``insult_at_you`` (an insult addressed to the reader: "you idiot",
    "you're pathetic", 0.9), ``profanity`` (strong swear words, 0.6), ``insult`` (a strong
    insult on its own: "idiot", "moron", 0.55), ``weak_insult`` ("stupid", "loser", 0.4) and
    ``mild`` ("damn", "crap", "sucks", 0.3): the last two never flag alone. Threats, insults
    addressed to the reader and strong insults are known in Spanish, Portuguese, French, German
    and Italian too ("te voy a matar", "du bist ein Vollidiot", "coglione"), as is their
    profanity. Letters
    hidden by symbols or digits ("f*ck", "sh1t", "@ss") are restored before matching. A text is
    flagged toxic at 0.5.
"""

from __future__ import annotations

import re

from socialpulse.ai.rules import (
    LexiconRule,
    Rule,
    RuleScore,
    TextView,
    merge_lexicons,
    phrase_rule,
    regex_rule,
    score_rules,
)

# Substrings of which a rule's text must hold at least one before its pattern is tried.
_TRIGGERS = {
    "threat": "kill|kys|die|hurt|beat|find",
    "insult_at_you": "you|u |ur|what a|shut|stfu|gtfo|screw|fuck",
    "threat_other_languages": "mat|tuer|tue-toi|tue toi|umbring|bring dich|ammazz|muér|muer|"
    "crever|stirb|suicid",
    "insult_at_you_other_languages": "eres|sos |és|é |e um|es |t'es|bist|sei ",
}


def _rule(name: str, weight: float, pattern: str) -> Rule:
    return regex_rule(name, weight, pattern, _TRIGGERS.get(name))


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
# The strong insults of Spanish, Portuguese, French, German and Italian (the audience's other
# languages, as the multilingual sentiment model's): they flag on their own too.
_STRONG_INSULTS_OTHER = (
    "idiota idiotas imbécil imbecil imbéciles cretino cretina subnormal retrasado "
    "otário otária babaca imbecis "
    "imbécile imbéciles crétin crétine abruti abrutie "
    "vollidiot trottel idioten missgeburt "
    "coglione imbecille"
)
# Insults that flag only when addressed to someone ("eres un inútil", "du bist so dumm").
_INSULTS_AT_YOU_OTHER = (
    "basura inútil inutil estúpido estúpida patético patética ridículo ridícula "
    "lixo inútil patético burro burra "
    "nul nulle minable débile pathétique "
    "dumm dummer blöd blöde erbärmlich "
    "stupido stupida inutile patetico patetica"
)
# Insults that only add weight ("this stupid printer" is not an attack on anyone).
_WEAK_INSULTS = "stupid dumb loser losers pathetic worthless clown jerk creep"
_TOXIC_RULES: tuple[Rule | LexiconRule, ...] = (
    phrase_rule(
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
    phrase_rule(
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
    _rule(
        "threat_other_languages",
        0.95,
        r"\bte\s+voy\s+a\s+matar\b|\bm[aá]tate\b|\bsuic[ií]date\b|\bmu[eé]rete\b"
        r"|\bvou\s+te\s+matar\b|\bje\s+vais\s+te\s+tuer\b|\btue[-\s]toi\b|\bva\s+crever\b"
        r"|\bich\s+(?:bring|werde)\s+dich\s+um(?:bringen)?\b|\bbring\s+dich\s+um\b"
        r"|\bstirb\s+doch\b|\bti\s+ammazzo\b|\bammazzati\b",
    ),
    _rule(
        "insult_at_you_other_languages",
        0.9,
        r"\b(?:eres|sos|(?:voc[eê]|vc)\s+[ée]|tu\s+[ée]s?|t'es|du\s+bist|sei)\s+"
        r"(?:(?:un|una|um|uma|une|ein|eine|so|tan|t[aã]o|trop|tellement|totaler|totale"
        r"|proprio|davvero|muy|muito)\s+)*(?:"
        + "|".join(_STRONG_INSULTS_OTHER.split() + _INSULTS_AT_YOU_OTHER.split())
        + r")(?!\w)",
    ),
    phrase_rule("insult", 0.55, *_STRONG_INSULTS.split(), *_STRONG_INSULTS_OTHER.split()),
    phrase_rule("weak_insult", 0.4, *_WEAK_INSULTS.split()),
    phrase_rule("mild", 0.3, "damn", "crap", "sucks", "suck", "hell", "freaking", "frickin"),
)
_TOXIC_RULES = merge_lexicons(_TOXIC_RULES)


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


def toxicity(text: str | TextView) -> RuleScore:
    view = text if isinstance(text, TextView) else TextView.of(text)
    unmasked = _unmask(view.text)
    return score_rules(view if unmasked == view.text else unmasked, _TOXIC_RULES)
