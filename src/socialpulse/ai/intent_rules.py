"""Rule and lexicon scorers of intents: question, praise, purchase intent, collaboration, and
the complaint cues combined with the complaint model in analysis.py. Scored as ``rules``
describes: an intent fires at ``rules.FIRE_AT``.

Question
    ``question_mark`` (a '?', '¿' or Arabic '؟' outside URLs, 0.9), ``interrogative_start``
    (the first word is an interrogative in English, Spanish, French, German, Portuguese,
    Italian, Arabic or romanised Hindi: "how", "dónde", "pourquoi", "wie", "onde", "perché",
    "كيف", "kaise" ..., 0.7, unless it opens an
    exclamation: "¡Qué maravilla!", "How cute!!", "Quelle belle photo", "Wie schön") and
    ``auxiliary_start``
    (an auxiliary then a subject: "do you", "is it", "can anyone", "kannst du", 0.6).
Praise
    ``praise_lexicon``: compliments and admiration ("love this", "amazing", "so beautiful",
    "well done", "goals", "hermoso", "magnifique", "wunderschön", "keep it up" and "weiter so",
    "sigue así", "complimenti", "ما شاء الله", "zabardast" ...) and praise emojis
    (😍 🔥 👏 ❤️ 💯 🙌 ...). A match weighs 0.45 and the probability of positive sentiment
    adds up to 0.3, so "not amazing" said negatively does not fire; without a match the
    score is 0.3 x P(positive), which never fires alone. Strong evaluations count as
    compliments too ("life-changing", "changed my life", "made my day", "you're the best",
    ``praise_superlative``: "best trip ever", "best tutorial I've seen"), and so do
    exclamations of a compliment (``praise_exclamation``: "How cute!", "¡Qué maravilla!",
    "Wie schön"). ``gratitude``
    ("thank you", "thanks", "grateful", "gracias", "merci", "danke", "obrigado", "grazie")
    with such an evaluation
    is praise addressed to the author: the match then weighs at least 0.6 (so with a clearly
    positive sentiment the score reaches 0.85, the default auto-response threshold), unless
    the text also asks or complains ("Thanks, but my order never arrived", "Thanks! Where
    can I buy it?"): there thanks is politeness. Thanks alone is not praise.
Purchase intent
    ``where_to_buy`` ("where can I buy/get/order", "where is it from", "dónde comprar",
    "où acheter", "wo kaufen" ..., 0.9), ``price_question`` ("how much", "price?", "cost",
    "precio", "prix", "preis", "بكم", "kitne ka" ..., 0.85), ``ordering`` ("how do I order",
    "do you ship to", "in stock", "available in", "restock", "sold out", 0.75),
    ``link_request`` ("link?",
    "link please", "drop the link", 0.75), ``desire`` ("need this", "want one", "take my
    money", "add to cart", 0.6).
Collaboration
    ``collab`` ("collab", "collaborate", "collaboration", 0.9), ``sponsorship`` ("sponsor",
    "sponsored", "brand deal", "paid promotion", "ambassador", "affiliate", "pr package", 0.85),
    ``business_inquiry`` ("business inquiry", "for business", "partnership", "partner with",
    "work with you", "email us", 0.8), ``dm_for_promo`` ("dm me/us for promo/collab/business",
    "send us a dm", "promo", "shoutout for shoutout", 0.8).
"""

from __future__ import annotations

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

# What a compliment with thanks weighs at least (see the module docstring).
GRATITUDE_WITH_PRAISE = 0.6

# Substrings of which a rule's text must hold at least one before its pattern is tried.
_TRIGGERS = {
    "question_mark": "?|？|¿|؟",
    "where_to_buy": "where|dónde|donde|où|ou |wo |onde|dove",
    "price_question": "how much|pric|cost|precio|cuánto|cuanto|prix|combien|preis|viel|quanto|"
    "preço|preco|prezzo|dollars|kostet|بكم|سعر|kitne|kitna|kitni",
    "ordering": "order|buy|bought|purchase|get|ship|deliver|sell|stock|available|sold out|"
    "discount|descuento|cupom|cupón|cupon|code promo|code de réduction|rabatt|gutschein|sconto",
    "link_request": "link",
    "desire": "need|want|money|cart|shut up|quiero|necesito|veux|faut|quero|preciso|voglio|"
    "will ich|brauch",
    "collab": "collab|colab",
    "sponsorship": "sponsor|brand|paid|ambassador|affiliate|pr package|patrocin|parrainage",
    "business_inquiry": "business|partner|work with|work together|email|feature|booking|"
    "management|cooperation|kooperation|parceri|partenariat|zusammenarbeit|publi",
    "dm_for_promo": "dm|pm|inbox|message|promo|s4s|shout",
    "complaint_cue": "never|still|refund|worst|service|support|experience|quality|work|broken|"
    "disappoint|scam|charged|response|cancel|waste|ripped|missing|wrong|damaged|"
    # the same cues in Spanish, Portuguese, French, German and Italian
    "funciona|marche|fonctionn|funktioniert|geht nicht|lleg|cheg|reçu|rien|arriv|angekommen|"
    "immer noch|ricevut|rot|rompi|quebr|defe|cass|kaputt|beschädigt|decepci|decepç|decepcao|"
    "déçu|décevant|déception|enttäusch|delus|delud|reembolso|rembours|rückerstattung|"
    "geld zurück|rimborso|estafa|arnaque|betrug|abzocke|truffa|"
    # Arabic and romanised Hindi
    "يصل|وصل|يعمل|يشتغل|شغال|استرجاع|احتيال|نصب|nahi|nahin|wapas|dhokha",
    "praise_superlative": "best",
}


def _rule(name: str, weight: float, pattern: str) -> Rule:
    return regex_rule(name, weight, pattern, _TRIGGERS.get(name))


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
    "perché dove quale quali "
    # Arabic
    "كيف متى أين اين وين لماذا ليش ماذا شو هل "
    # Hindi, romanised as the audience writes it
    "kya kaise kab kahan kyun kyon kaun kitna kitne kitni"
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
# Evaluations that make a wh-word an exclamation ("how cute", "qué bonito", "quelle belle
# photo", "wie schön", "che bello"), not what a question asks about. The positive ones are
# compliments too (``praise_exclamation``). "how good", "how bad" stay questions ("how good is
# the battery?").
_EXCLAIMED_POSITIVE = (
    # English
    "cute beautiful lovely amazing awesome nice cool sweet pretty gorgeous stunning "
    "wonderful adorable fun funny brave inspiring talented perfect clever kind fantastic "
    "brilliant incredible beautifully amazingly "
    # Spanish
    "bonito bonita bonitos bonitas lindo linda lindos lindas hermoso hermosa bello bella "
    "bueno buena buenísimo buenísima maravilla maravilloso maravillosa precioso preciosa guapo "
    "guapa genial increíble chulo chula talento arte "
    # French
    "belle beau beaux belles magnifique joli jolie jolis talent bonheur génial géniale superbe "
    "mignon mignonne merveille "
    # German
    "schön schöne toll tolle geil süß hübsch wunderschön "
    # Portuguese
    "maravilha incrível perfeito perfeita fofo fofa lindeza "
    # Italian
    "bellissimo bellissima carino carina meraviglia brava bravo"
).split()
_EXCLAIMED_NEGATIVE = (
    "sad awful terrible horrible rude ugly disgusting embarrassing sick insane crazy boring "
    "horror asco pena vergüenza aburrido aburrida feo fea triste horreur honte dommage nul "
    "schade krass langweilig chato chata brutto brutta noioso noiosa"
).split()
# German "wie" also compares: "Wie immer der beste Content" is "as always", not "how".
# Hindi "kya baat hai" is "what a thing!", said in praise.
_COMPARED = "immer gesagt erwartet gewohnt versprochen baat".split()
_EXCLAIMED = r"(?:" + "|".join(_EXCLAIMED_POSITIVE + _EXCLAIMED_NEGATIVE + _COMPARED) + r")(?!\w)"
# A wh-word opens an exclamation, not a question, when it follows a Spanish "¡", when an
# evaluation (or a comparison's "immer") comes right after it, or when at most three words
# later the sentence ends in "!" ("How cute!!", "Quanto sei bella!"); a longer sentence ending
# in "!" is still asked ("How did you film this!"). Bounded repetitions over disjoint classes:
# linear in the text.
_NOT_EXCLAIMED = (
    r"(?!\s+" + _EXCLAIMED + ")"
    r"(?!(?:[^\w.!?？\n'’-]*[\w'’-]+){0,3}[^\w.!?？\n'’-]*!)"
)
_QUESTION_RULES = (
    _rule("question_mark", 0.9, r"[?？¿؟]"),
    _rule(
        "interrogative_start",
        0.7,
        r"^[^\w¡]*(?:" + "|".join(_WH_WORDS) + r")(?!\w)" + _NOT_EXCLAIMED,
    ),
    _rule(
        "auxiliary_start",
        0.6,
        r"^\W*(?:" + "|".join(_AUX_WORDS) + r")\s+(?:" + "|".join(_SUBJECTS) + r")(?!\w)",
    ),
)

# --- praise ---------------------------------------------------------------------------
_PRAISE_RULES: tuple[Rule | LexiconRule, ...] = (
    phrase_rule(
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
        "keep going",
        "underrated",
        "you never miss",
        "never misses",
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
        # "keep it up" and "congratulations" in the audience's other languages
        "sigue así",
        "felicidades",
        "weiter so",
        "der beste content",
        "continue comme ça",
        "félicitations",
        "continue assim",
        "você arrasa",
        "parabéns",
        "continua così",
        "complimenti",
        # Arabic and romanised Hindi
        "ما شاء الله",
        "تبارك الله",
        "جميل",
        "جميلة",
        "رائع",
        "رائعة",
        "مبدع",
        "مبدعة",
        "أحسنت",
        "kya baat hai",
        "bahut accha",
        "bahut acha",
        "bahut badhiya",
        "zabardast",
        "kamaal",
        "shandaar",
        "lajawab",
    ),
    _rule("praise_emoji", 0.45, "(?:😍|🥰|🔥|👏|❤️|❤|💯|🙌|😻|🤩|💖|💕|💗|✨|👌|🏆|🥇)"),
    _rule(
        "praise_superlative",
        0.45,
        # Not after a negation: "not the best video I've seen" is no compliment.
        r"(?<!not\sthe\s)(?<!n't\sthe\s)(?<!not\s)\bbest\s+(?:[\w'-]+\s+){1,2}"
        r"(?:ever\b|(?:i'?ve|i\s+have)\s+(?:ever\s+)?(?:seen|watched|heard|read|tried|had)\b)",
    ),
    _rule(
        "praise_exclamation",
        0.45,
        r"^[^\w]*(?:how|what|qu[eé]|quel|quelle|quels|quelles|wie|che|quanto|quanta)\s+(?:"
        + "|".join(_EXCLAIMED_POSITIVE)
        + r")(?!\w)",
    ),
)
# Thanks on its own is politeness ("thanks for the reply"); with a compliment it is praise.
_GRATITUDE_RULES = merge_lexicons(
    (
        phrase_rule(
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
        r"|\bo[uù]\s+est-ce\s+qu'on\s+peut\s+(?:l'|le\s+|la\s+|les\s+)?(?:acheter|commander)\b"
        r"|\bwo\s+(?:kann\s+(?:man|ich)\s+(?:das\s+|es\s+|die\s+|den\s+)?"
        r"|gibt\s+es\s+(?:das\s+|die\s+|den\s+)?)?(?:kaufen|bestellen|bekommen)\b"
        r"|\bonde\s+(?:eu\s+|posso\s+|se\s+)?(?:compr|encontr|vend)\w*"
        r"|\bdove\s+(?:si\s+(?:può\s+|puo\s+)?|posso\s+|lo\s+posso\s+)?(?:compr|trov)\w*",
    ),
    _rule(
        "price_question",
        0.85,
        r"\bhow\s+much\b|\bprice\b|\bpricing\b|\bprices\b|\bhow\s+many\s+dollars\b"
        r"|\bwhat(?:'s| is| does)\s+(?:the\s+)?(?:cost|price)\b|\bcost\s*\?"
        r"|\bprecio\b|\bcu[aá]nto\s+(?:cuesta|vale|sale)\b|\bprix\b|\bcombien\b|\bpreis\b"
        r"|\bwie\s*viel\s+kostet\b|\bwas\s+kostet\b|\bquanto\s+(?:custa|costa)\b|\bpre[cç]o\b"
        r"|\bprezzo\b|بكم|\bكم\s+(?:ال)?سعر|\bالسعر\b|\bkit(?:ne|na|ni)\s+(?:ka|ki|ke|me|mein)\b",
    ),
    _rule(
        "ordering",
        0.75,
        r"\bhow\s+(?:do|can|could)\s+i\s+(?:order|buy|purchase|get\s+(?:one|this|it))\b"
        r"|\bdo\s+you\s+(?:ship|deliver|sell)\b|\bship(?:ping)?\s+to\b|\bin\s+stock\b"
        r"|\bavailable\s+in\b|\bis\s+(?:it|this)\s+available\b|\brestock\w*\b|\bsold\s+out\b"
        r"|\bwant\s+to\s+(?:buy|order|purchase)\b|\bi'?d\s+like\s+to\s+order\b|\bpre-?order\b"
        # a purchase the post brought about ("just ordered mine")
        r"|\bjust\s+(?:ordered|bought|purchased)\b"
        # a discount code asked for ("use code X" in a comment is spam's, not this)
        r"|\bdiscount\s+codes?\b|\bc[oó]digos?\s+de\s+descuento\b|\bcup[oó]n\b|\bcupom\b"
        r"|\bcode\s+(?:promo|de\s+réduction)\b|\brabattcode\b|\bgutschein\w*"
        r"|\bcodice\s+sconto\b",
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
        r"|\bneed\s+(?:this|these)\s+in\s+my\s+life\b|\b(?:lo|la)\s+(?:quiero|necesito)\b"
        r"|\bnecesito\s+(?:uno|una)\b|\bje\s+(?:le|la|les)\s+veux\b|\bj'en\s+veux\b"
        r"|\bil\s+me\s+(?:le|la)\s+faut\b|\bquero\s+(?:muito|um|uma)\b|\bpreciso\s+de\s+(?:um|uma)\b"
        r"|\b(?:lo|la|ne)\s+voglio\b|\bwill\s+ich\s+haben\b|\bbrauch(?:e)?\s+ich\b",
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
        r"|\bmanagement\s*:|\bcooperation\b|\bkooperation\w*|\bparcerias?\b|\bpartenariats?\b"
        r"|\bzusammen\s*zu\s*arbeiten\b|\bzusammenarbeit\w*|\bpublis?\b",
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

# --- complaint cues (combined with the complaint model in analysis.py) ------------------
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
        r"|\bwrong\s+(?:order|item|size)\b|\bdamaged\b"
        # Spanish, Portuguese, French, German, Italian: not working, never arrived, broken,
        # disappointed, refund, scam
        r"|\bno\s+funciona\b|\bn[ãa]o\s+funciona\b|\bnon\s+funziona\b"
        r"|\b(?:ne\s+)?(?:marche|fonctionne)\s+pas\b|\bfunktioniert\s+(?:nicht|gar\s+nicht)\b"
        r"|\bgeht\s+nicht\b"
        r"|\b(?:todav[ií]a|a[uú]n)\s+no\s+(?:me\s+)?(?:llega|ha\s+llegado)\b|\bnunca\s+lleg[oó]\b"
        r"|\bno\s+(?:me\s+)?(?:ha\s+)?lleg[oó]\b|\b(?:ainda\s+)?n[ãa]o\s+chegou\b"
        r"|\baté\s+agora\s+nada\b|\btoujours\s+(?:rien|pas\s+(?:reçu|arrivé))\b"
        r"|\bjamais\s+(?:reçu|arrivé)\b|\b(?:nie|nicht|noch\s+nicht)\s+angekommen\b"
        r"|\bnon\s+(?:è|e)\s+(?:ancora\s+|mai\s+)?arrivat[oa]\b|\bmai\s+arrivat[oa]\b"
        r"|\bnon\s+ho\s+(?:ancora\s+)?ricevuto\b"
        r"|\bse\s+rompi[oó]\b|\bquebrou\b|\bveio\s+quebrad[oa]\b|\bcom\s+defeito\b"
        r"|\bs'est\s+cass[ée]e?\b|\bkaputt\b|\bdefekt\b|\bbeschädigt\b|\bsi\s+è\s+rott[oa]\b"
        r"|\bdefectuos[oa]\b|\bdéfectueu(?:x|se)\b|\bdifettos[oa]\b"
        r"|\bdecepcionad[oa]\b|\bdecepci[oó]n\b|\bdecep[çc][ãa]o\b|\bdéçue?\b|\bdécevant\b"
        r"|\bdéception\b|\benttäusch\w*|\bdelus[oa]\b|\bdeludente\b|\bdelusione\b"
        r"|\breembolso\b|\bremboursement\b|\brückerstattung\b|\bgeld\s+zurück\b|\brimborso\b"
        r"|\bestafa\b|\barnaque\b|\bbetrug\b|\babzocke\b|\btruffa\b"
        # Arabic: not arrived, not working, refund, fraud; romanised Hindi: not arrived / not
        # received, not working, money back, cheated
        r"|\bلم\s+(?:يصل|يصلني|يعمل)\b|\bما\s+(?:وصل|وصلني|يشتغل)\b|\bلا\s+يعمل\b|\bمش\s+شغال"
        r"|\bاسترجاع\b|\bاحتيال\b|\bنصب\b"
        r"|\b(?:nahi|nahin|nhi)\s+(?:aaya|aya|mila|pahuncha)\b"
        r"|\bkaam\s+(?:nahi|nahin|nhi)\s+kar\s+(?:raha|rha|rahi|rhi)\b|\bpais[ae]\s+wapas\b"
        r"|\bdhokha\b",
    ),
)

_PRAISE_RULES = merge_lexicons(_PRAISE_RULES)


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


def complaint_cues(text: str | TextView) -> RuleScore:
    return score_rules(text, _COMPLAINT_RULES)
