"""Text for the simulated platform: captions, comments and usernames from templates.

Everything here is a pure function of a ``random.Random`` the caller seeded, so the same seed
always writes the same text. Comments carry their ground truth (language, intent, sentiment):
the simulator is also the labelled test bed for the inbox classifiers.

English templates may use ``{thing}`` (a topic noun) and ``{product}``; the other languages use
whole sentences so that gender and case agreement stay correct. Every template may use
``{emoji}``, ``{mention}`` and ``{handle}``.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from enum import StrEnum

__all__ = [
    "LANGUAGES",
    "TOPICS",
    "CommentText",
    "Intent",
    "Sentiment",
    "Topic",
    "audience_username",
    "caption",
    "comment_text",
    "display_name_for",
    "spam_comment",
    "spam_username",
]


class Intent(StrEnum):
    PRAISE = "praise"
    QUESTION = "question"
    COMPLAINT = "complaint"
    PURCHASE_INTENT = "purchase_intent"
    COLLABORATION_REQUEST = "collaboration_request"
    SPAM = "spam"
    OTHER = "other"


class Sentiment(StrEnum):
    POSITIVE = "positive"
    NEUTRAL = "neutral"
    NEGATIVE = "negative"


LANGUAGES: tuple[str, ...] = ("en", "es", "pt", "fr", "de", "it")


@dataclass(frozen=True, slots=True)
class Topic:
    name: str
    things: tuple[str, ...]
    products: tuple[str, ...]
    hashtags: tuple[str, ...]
    emojis: tuple[str, ...]
    captions: tuple[str, ...]


TOPICS: dict[str, Topic] = {
    t.name: t
    for t in (
        Topic(
            "fitness",
            ("workout", "routine", "leg day", "form check", "plan", "set"),
            ("the resistance bands", "your protein", "the program", "those leggings"),
            ("fitness", "gym", "workout", "legday", "fitfam", "homeworkout", "strength"),
            ("💪", "🔥", "🏋️", "😅", "🙌"),
            (
                "{n}-minute {thing} you can do anywhere",
                "Week {n} of the challenge: {thing} edition",
                "Stop skipping this {thing}",
                "My go-to {thing} when I have no time",
                "Progress update after {n} weeks",
            ),
        ),
        Topic(
            "food",
            ("recipe", "sauce", "pasta", "dessert", "bowl", "bread"),
            ("the knife", "that pan", "the cookbook", "your spice mix"),
            ("food", "recipe", "homecooking", "foodie", "easyrecipes", "dinner", "baking"),
            ("😋", "🤤", "🍝", "🔥", "👩‍🍳"),
            (
                "{n}-ingredient {thing} that changed my weeknights",
                "The {thing} everyone keeps asking about",
                "Trying a viral {thing} so you don't have to",
                "Sunday {thing} prep",
                "Grandma's {thing}, finally written down",
            ),
        ),
        Topic(
            "travel",
            ("trip", "itinerary", "view", "hotel", "hidden beach", "road trip"),
            ("the backpack", "that camera", "your presets", "the travel guide"),
            ("travel", "wanderlust", "travelgram", "roadtrip", "explore", "vanlife"),
            ("✈️", "🌍", "🏝️", "😍", "📸"),
            (
                "{n} days, one {thing}",
                "The {thing} nobody tells you about",
                "How I planned this {thing} on a budget",
                "Day {n}: still not over this {thing}",
                "Save this {thing} for later",
            ),
        ),
        Topic(
            "tech",
            ("setup", "review", "tutorial", "laptop", "keyboard", "app"),
            ("the keyboard", "that monitor", "the course", "your preset pack"),
            ("tech", "setup", "coding", "gadgets", "productivity", "desksetup"),
            ("💻", "⌨️", "🤯", "🔥", "👀"),
            (
                "My {thing} after {n} months",
                "Honest {thing}: worth it?",
                "{n} tricks for your {thing}",
                "I rebuilt my {thing} from scratch",
                "The {thing} nobody talks about",
            ),
        ),
        Topic(
            "fashion",
            ("outfit", "fit", "look", "haul", "capsule wardrobe", "jacket"),
            ("the jacket", "those boots", "the dress", "that bag"),
            ("fashion", "ootd", "style", "outfitinspo", "streetstyle", "thrifted"),
            ("✨", "😍", "🔥", "👗", "💅"),
            (
                "{n} ways to style one {thing}",
                "Today's {thing}",
                "Thrifted {thing} for under {n} euros",
                "The {thing} I wear on repeat",
                "Rating my {thing} from last year",
            ),
        ),
        Topic(
            "beauty",
            ("skincare routine", "makeup look", "tutorial", "glow", "lip combo"),
            ("the serum", "that foundation", "the palette", "your lip oil"),
            ("beauty", "skincare", "makeup", "grwm", "glowup", "makeuptutorial"),
            ("💄", "✨", "😍", "💖", "🥹"),
            (
                "GRWM: {thing} in {n} minutes",
                "My {thing} for sensitive skin",
                "Testing a {thing} from the drugstore",
                "The {thing} you asked for",
                "{n} mistakes in your {thing}",
            ),
        ),
        Topic(
            "gaming",
            ("clip", "build", "speedrun", "stream", "setup", "boss fight"),
            ("the headset", "that controller", "the merch", "your overlay"),
            ("gaming", "gamer", "twitch", "speedrun", "pcgaming", "clips"),
            ("🎮", "😂", "🔥", "💀", "🏆"),
            (
                "This {thing} took {n} tries",
                "Best {thing} of the week",
                "Rating your {thing} suggestions",
                "{n} hours into the new {thing}",
                "I can't believe this {thing} worked",
            ),
        ),
        Topic(
            "music",
            ("cover", "song", "riff", "beat", "live session", "chorus"),
            ("the album", "that guitar", "the tickets", "your sample pack"),
            ("music", "cover", "singer", "guitar", "newmusic", "producer"),
            ("🎶", "🎸", "🔥", "🥹", "🎤"),
            (
                "New {thing} out now",
                "Day {n} of writing a {thing} every day",
                "This {thing} has been stuck in my head",
                "Acoustic {thing}, one take",
                "You picked this {thing}",
            ),
        ),
        Topic(
            "pets",
            ("pup", "cat", "walk", "trick", "zoomies", "nap"),
            ("the harness", "that toy", "the treats", "your calendar"),
            ("dogsofinstagram", "catsofinstagram", "pets", "puppy", "adoptdontshop"),
            ("🐶", "🐱", "😂", "🥰", "🐾"),
            (
                "{n} seconds of pure {thing}",
                "When the {thing} hits different",
                "Teaching a new {thing}, day {n}",
                "Morning {thing} report",
                "Rate this {thing} out of 10",
            ),
        ),
        Topic(
            "finance",
            ("budget", "portfolio", "savings plan", "side hustle", "tip"),
            ("the course", "that app", "the spreadsheet", "your book"),
            ("personalfinance", "investing", "money", "budgeting", "financialfreedom"),
            ("💸", "📈", "🤔", "💰", "✅"),
            (
                "How I built a {thing} in {n} months",
                "The {thing} mistake that cost me",
                "{n} rules for your {thing}",
                "Answering your {thing} questions",
                "My honest {thing} update",
            ),
        ),
    )
}

# (template, sentiment). English only: ``{thing}`` and ``{product}`` come from the topic.
_EN: dict[Intent, tuple[tuple[str, Sentiment], ...]] = {
    Intent.PRAISE: (
        ("this {thing} is amazing {emoji}", Sentiment.POSITIVE),
        ("Love this so much!! {emoji}", Sentiment.POSITIVE),
        ("you always make the best content {emoji}", Sentiment.POSITIVE),
        ("obsessed with this {thing}", Sentiment.POSITIVE),
        ("Best {thing} I've seen all week {emoji}", Sentiment.POSITIVE),
        ("{mention} look at this, we need to try it {emoji}", Sentiment.POSITIVE),
        ("ok this made my day", Sentiment.POSITIVE),
        ("Saved! Thank you for sharing {emoji}", Sentiment.POSITIVE),
        ("you never miss {emoji}", Sentiment.POSITIVE),
        ("Such an underrated account, keep going!", Sentiment.POSITIVE),
    ),
    Intent.QUESTION: (
        ("where did you get {product}?", Sentiment.NEUTRAL),
        ("How long did this {thing} take you?", Sentiment.NEUTRAL),
        ("what's the name of the song?", Sentiment.NEUTRAL),
        ("Can you do a full {thing} video please? {emoji}", Sentiment.POSITIVE),
        ("is this beginner friendly?", Sentiment.NEUTRAL),
        ("Do you ship to Canada?", Sentiment.NEUTRAL),
        ("wait how did you do that at the end??", Sentiment.NEUTRAL),
        ("Any tips for someone just starting out?", Sentiment.NEUTRAL),
        ("what camera do you use?", Sentiment.NEUTRAL),
    ),
    Intent.COMPLAINT: (
        ("I ordered {product} 3 weeks ago and it still hasn't arrived", Sentiment.NEGATIVE),
        ("the link in your bio is broken", Sentiment.NEGATIVE),
        ("Still waiting for a reply to my email about my refund", Sentiment.NEGATIVE),
        ("{product} broke after two days, really disappointed", Sentiment.NEGATIVE),
        ("why is the discount code not working?? {emoji}", Sentiment.NEGATIVE),
        ("this is the third time my order got cancelled", Sentiment.NEGATIVE),
        ("too many ads lately, unfollowing", Sentiment.NEGATIVE),
    ),
    Intent.PURCHASE_INTENT: (
        ("I need {product}, where can I buy it?", Sentiment.POSITIVE),
        ("how much is {product}?", Sentiment.NEUTRAL),
        ("Take my money {emoji}", Sentiment.POSITIVE),
        ("is there a discount code for {product}?", Sentiment.NEUTRAL),
        ("Just ordered {product} because of this video", Sentiment.POSITIVE),
        ("when is {product} back in stock? I want two", Sentiment.NEUTRAL),
        ("link please!! I want {product}", Sentiment.POSITIVE),
    ),
    Intent.COLLABORATION_REQUEST: (
        ("Hi! We'd love to collaborate with you, check your DMs {emoji}", Sentiment.POSITIVE),
        ("Love your work, are you open to brand partnerships? email us", Sentiment.POSITIVE),
        ("collab? I make similar content, would be fun {emoji}", Sentiment.POSITIVE),
        ("Hey {handle}, our team sent you a sponsorship proposal by email", Sentiment.NEUTRAL),
        ("Would you be interested in a paid partnership? DM us", Sentiment.NEUTRAL),
    ),
    Intent.OTHER: (
        ("first", Sentiment.NEUTRAL),
        ("{mention}", Sentiment.NEUTRAL),
        ("me every monday", Sentiment.NEUTRAL),
        ("watching this at 3am", Sentiment.NEUTRAL),
        ("lol {emoji}", Sentiment.NEUTRAL),
        ("who's here from the explore page?", Sentiment.NEUTRAL),
        ("this is so overrated", Sentiment.NEGATIVE),
        ("boring, you used to post better stuff", Sentiment.NEGATIVE),
        ("nah this ain't it", Sentiment.NEGATIVE),
        ("worst {thing} I've seen", Sentiment.NEGATIVE),
    ),
}

_OTHER_LANGS: dict[str, dict[Intent, tuple[tuple[str, Sentiment], ...]]] = {
    "es": {
        Intent.PRAISE: (
            ("me encanta {emoji}", Sentiment.POSITIVE),
            ("¡Qué maravilla! Sigue así {emoji}", Sentiment.POSITIVE),
            ("el mejor contenido de todo instagram", Sentiment.POSITIVE),
            ("{mention} mira esto, tenemos que probarlo", Sentiment.POSITIVE),
        ),
        Intent.QUESTION: (
            ("¿dónde lo compraste?", Sentiment.NEUTRAL),
            ("¿Cuánto tiempo te llevó hacerlo?", Sentiment.NEUTRAL),
            ("¿cómo se llama la canción?", Sentiment.NEUTRAL),
            ("¿Haces envíos a México?", Sentiment.NEUTRAL),
        ),
        Intent.COMPLAINT: (
            ("hice un pedido hace un mes y todavía no llega", Sentiment.NEGATIVE),
            ("El enlace de tu bio no funciona", Sentiment.NEGATIVE),
            ("muy decepcionada con la calidad, se rompió enseguida", Sentiment.NEGATIVE),
        ),
        Intent.PURCHASE_INTENT: (
            ("¿cuánto cuesta? lo quiero ya {emoji}", Sentiment.POSITIVE),
            ("¿Dónde puedo comprarlo? Necesito uno", Sentiment.POSITIVE),
            ("¿hay código de descuento?", Sentiment.NEUTRAL),
        ),
        Intent.COLLABORATION_REQUEST: (
            ("¡Hola! Nos encantaría colaborar contigo, revisa tus mensajes", Sentiment.POSITIVE),
            ("¿Aceptas colaboraciones con marcas? Escríbenos", Sentiment.NEUTRAL),
        ),
        Intent.OTHER: (
            ("jajaja yo todos los lunes", Sentiment.NEUTRAL),
            ("primero", Sentiment.NEUTRAL),
            ("qué aburrido, antes subías cosas mejores", Sentiment.NEGATIVE),
            ("no me gusta nada", Sentiment.NEGATIVE),
        ),
    },
    "pt": {
        Intent.PRAISE: (
            ("amei demais {emoji}", Sentiment.POSITIVE),
            ("Que perfeito! Você arrasa {emoji}", Sentiment.POSITIVE),
            ("melhor conteúdo que eu sigo", Sentiment.POSITIVE),
            ("{mention} olha isso, precisamos testar", Sentiment.POSITIVE),
        ),
        Intent.QUESTION: (
            ("onde você comprou?", Sentiment.NEUTRAL),
            ("Qual é o nome da música?", Sentiment.NEUTRAL),
            ("quanto tempo levou pra fazer isso?", Sentiment.NEUTRAL),
            ("Vocês entregam no Brasil?", Sentiment.NEUTRAL),
        ),
        Intent.COMPLAINT: (
            ("fiz o pedido faz três semanas e até agora nada", Sentiment.NEGATIVE),
            ("O link da bio não funciona", Sentiment.NEGATIVE),
            ("produto veio com defeito, que decepção", Sentiment.NEGATIVE),
        ),
        Intent.PURCHASE_INTENT: (
            ("quanto custa? quero muito {emoji}", Sentiment.POSITIVE),
            ("Onde eu compro? Preciso de um", Sentiment.POSITIVE),
            ("tem cupom de desconto?", Sentiment.NEUTRAL),
        ),
        Intent.COLLABORATION_REQUEST: (
            ("Oi! Adoraríamos fazer uma parceria, olha o direct", Sentiment.POSITIVE),
            ("Você aceita publis? Manda um email pra gente", Sentiment.NEUTRAL),
        ),
        Intent.OTHER: (
            ("kkkkkk eu toda segunda", Sentiment.NEUTRAL),
            ("primeira", Sentiment.NEUTRAL),
            ("que chato, já foi melhor", Sentiment.NEGATIVE),
        ),
    },
    "fr": {
        Intent.PRAISE: (
            ("j'adore {emoji}", Sentiment.POSITIVE),
            ("Trop beau, bravo ! {emoji}", Sentiment.POSITIVE),
            ("ton contenu est toujours au top", Sentiment.POSITIVE),
        ),
        Intent.QUESTION: (
            ("tu l'as acheté où ?", Sentiment.NEUTRAL),
            ("C'est quoi le nom de la musique ?", Sentiment.NEUTRAL),
            ("Vous livrez en Belgique ?", Sentiment.NEUTRAL),
        ),
        Intent.COMPLAINT: (
            ("commande passée il y a un mois et toujours rien", Sentiment.NEGATIVE),
            ("Le lien dans ta bio ne marche pas", Sentiment.NEGATIVE),
            ("très déçue, il s'est cassé au bout de deux jours", Sentiment.NEGATIVE),
        ),
        Intent.PURCHASE_INTENT: (
            ("c'est combien ? je le veux {emoji}", Sentiment.POSITIVE),
            ("Où est-ce qu'on peut l'acheter ?", Sentiment.NEUTRAL),
        ),
        Intent.COLLABORATION_REQUEST: (
            ("Bonjour ! On aimerait collaborer avec toi, regarde tes messages", Sentiment.POSITIVE),
            ("Ouvert aux partenariats ? Écris-nous par mail", Sentiment.NEUTRAL),
        ),
        Intent.OTHER: (
            ("mdr moi tous les lundis", Sentiment.NEUTRAL),
            ("premier", Sentiment.NEUTRAL),
            ("franchement c'est nul", Sentiment.NEGATIVE),
        ),
    },
    "de": {
        Intent.PRAISE: (
            ("mega schön {emoji}", Sentiment.POSITIVE),
            ("Wie immer der beste Content, weiter so! {emoji}", Sentiment.POSITIVE),
            ("ich liebe das", Sentiment.POSITIVE),
        ),
        Intent.QUESTION: (
            ("wo hast du das gekauft?", Sentiment.NEUTRAL),
            ("Wie heißt das Lied?", Sentiment.NEUTRAL),
            ("Liefert ihr auch nach Österreich?", Sentiment.NEUTRAL),
        ),
        Intent.COMPLAINT: (
            ("meine Bestellung ist seit drei Wochen nicht angekommen", Sentiment.NEGATIVE),
            ("Der Link in deiner Bio funktioniert nicht", Sentiment.NEGATIVE),
            ("nach zwei Tagen kaputt, echt enttäuschend", Sentiment.NEGATIVE),
        ),
        Intent.PURCHASE_INTENT: (
            ("was kostet das? will ich haben {emoji}", Sentiment.POSITIVE),
            ("Wo kann man das kaufen?", Sentiment.NEUTRAL),
        ),
        Intent.COLLABORATION_REQUEST: (
            (
                "Hallo! Wir würden gern mit dir zusammenarbeiten, schau in deine DMs",
                Sentiment.POSITIVE,
            ),
            ("Bist du offen für Kooperationen? Schreib uns eine Mail", Sentiment.NEUTRAL),
        ),
        Intent.OTHER: (
            ("ich jeden Montag", Sentiment.NEUTRAL),
            ("Erster", Sentiment.NEUTRAL),
            ("langweilig, früher war es besser", Sentiment.NEGATIVE),
        ),
    },
    "it": {
        Intent.PRAISE: (
            ("bellissimo {emoji}", Sentiment.POSITIVE),
            ("Che meraviglia, complimenti! {emoji}", Sentiment.POSITIVE),
        ),
        Intent.QUESTION: (
            ("dove l'hai comprato?", Sentiment.NEUTRAL),
            ("Come si chiama la canzone?", Sentiment.NEUTRAL),
        ),
        Intent.COMPLAINT: (
            ("ho ordinato da un mese e non è ancora arrivato niente", Sentiment.NEGATIVE),
            ("Il link in bio non funziona", Sentiment.NEGATIVE),
        ),
        Intent.PURCHASE_INTENT: (
            ("quanto costa? lo voglio {emoji}", Sentiment.POSITIVE),
            ("Dove si può comprare?", Sentiment.NEUTRAL),
        ),
        Intent.COLLABORATION_REQUEST: (
            ("Ciao! Ci piacerebbe collaborare con te, controlla i messaggi", Sentiment.POSITIVE),
        ),
        Intent.OTHER: (
            ("io ogni lunedì", Sentiment.NEUTRAL),
            ("che noia, prima era meglio", Sentiment.NEGATIVE),
        ),
    },
}

TEMPLATES: dict[str, dict[Intent, tuple[tuple[str, Sentiment], ...]]] = {"en": _EN, **_OTHER_LANGS}

_SPAM: tuple[str, ...] = (
    "Want more followers? Check my profile {emoji}{emoji}",
    "DM @{spam_account} to get featured 💰",
    "Earn $500/day from home, link in bio {emoji}",
    "promote it on @{spam_account} 🔥",
    "Free giveaway!! click bit.ly/{code} to claim",
    "Nice pic! Send it to @{spam_account} for a shoutout",
    "I made $3k this week trading crypto, ask me how 📈",
    "Gana dinero desde casa, mira mi perfil {emoji}",
    "Ganhe seguidores grátis, link na bio",
)

_FIRST_NAMES: dict[str, tuple[str, ...]] = {
    "en": ("emma", "liam", "olivia", "noah", "ava", "jack", "mia", "leo", "chloe", "sam"),
    "es": ("lucia", "mateo", "sofia", "diego", "valentina", "pablo", "camila", "javi"),
    "pt": ("ana", "joao", "beatriz", "pedro", "larissa", "gabriel", "julia", "rafa"),
    "fr": ("camille", "lucas", "chloe", "hugo", "lea", "louis", "manon", "theo"),
    "de": ("lena", "jonas", "hannah", "felix", "lea", "paul", "mia", "lukas"),
    "it": ("giulia", "marco", "chiara", "luca", "sara", "matteo", "elena", "andrea"),
}
_SUFFIXES: tuple[str, ...] = (
    "",
    "_",
    ".x",
    "_official",
    "_art",
    "loves",
    "_daily",
    "xo",
    ".life",
    "_23",
)
_SPAM_PREFIXES: tuple[str, ...] = ("promo", "growth", "crypto", "shoutout", "followers", "cash")
_MENTION_FRIENDS: tuple[str, ...] = ("bestie", "sis", "bro", "mum", "babe")


@dataclass(frozen=True, slots=True)
class CommentText:
    text: str
    language: str
    intent: Intent
    sentiment: Sentiment


def audience_username(rng: random.Random, language: str) -> str:
    """A plausible username for someone in the audience speaking ``language``."""
    first = rng.choice(_FIRST_NAMES.get(language, _FIRST_NAMES["en"]))
    shape = rng.random()
    if shape < 0.35:
        return f"{first}{rng.randint(1, 9999)}"
    if shape < 0.7:
        return f"{first}{rng.choice(_SUFFIXES)}{rng.choice(('', str(rng.randint(0, 99))))}"
    second = rng.choice(_FIRST_NAMES[rng.choice(LANGUAGES)])
    return f"{first}.{second}{rng.choice(('', '_', str(rng.randint(0, 9))))}"


def spam_username(rng: random.Random) -> str:
    kind = rng.choice(("boost", "king", "hub", "pro"))
    return f"{rng.choice(_SPAM_PREFIXES)}_{kind}{rng.randint(10, 9999)}"


def display_name_for(handle: str) -> str:
    """``maria.fit_92`` -> ``Maria Fit``: the name a person would put next to that handle."""
    parts = [p for p in handle.replace(".", " ").replace("_", " ").split() if p.isalpha()]
    return " ".join(p.capitalize() for p in parts) or handle


class _Slots(dict[str, str]):
    """Template slots drawn only when the template uses them (and in the order it uses them)."""

    def __init__(self, rng: random.Random, topic: Topic, handle: str) -> None:
        super().__init__()
        self._rng = rng
        self._topic = topic
        self._handle = handle

    def __missing__(self, key: str) -> str:
        rng, topic = self._rng, self._topic
        match key:
            case "thing":
                return rng.choice(topic.things)
            case "product":
                return rng.choice(topic.products)
            case "emoji":
                return rng.choice(topic.emojis)
            case "mention":
                return f"@{rng.choice(_FIRST_NAMES['en'])}{rng.choice(_MENTION_FRIENDS)}"
            case "handle":
                return f"@{self._handle}"
            case "n":
                return str(rng.randint(2, 30))
            case "spam_account":
                return spam_username(rng)
            case "code":
                return "".join(rng.choices("abcdefghjkmnpqrstuvwxyz23456789", k=6))
        raise KeyError(key)


def _fill(template: str, rng: random.Random, topic: Topic, handle: str) -> str:
    return template.format_map(_Slots(rng, topic, handle))


def _vary(text: str, rng: random.Random, topic: Topic, sentiment: Sentiment) -> str:
    """Small human variations: casing, elongated words, extra emojis, a hashtag now and then."""
    roll = rng.random()
    if roll < 0.25:
        text = text.lower()
    elif roll < 0.3:
        text = text.upper()
    if rng.random() < 0.1 and sentiment is Sentiment.POSITIVE:
        text = text.replace("so ", "sooo ", 1).replace("!!", "!!!", 1)
    if rng.random() < 0.3:
        pool = topic.emojis if sentiment is not Sentiment.NEGATIVE else ("🙄", "😒", "👎", "😤")
        text = f"{text} {''.join(rng.choices(pool, k=rng.randint(1, 3)))}"
    if rng.random() < 0.05:
        text = f"{text} #{rng.choice(topic.hashtags)}"
    return text


def comment_text(
    rng: random.Random, *, language: str, intent: Intent, topic: Topic, handle: str
) -> CommentText:
    """A non-spam comment in ``language`` with the given intent; sentiment follows the template."""
    if intent is Intent.SPAM:
        return spam_comment(rng, topic)
    by_intent = TEMPLATES.get(language, _EN)
    template, sentiment = rng.choice(by_intent[intent])
    text = _vary(_fill(template, rng, topic, handle), rng, topic, sentiment)
    return CommentText(text=text, language=language, intent=intent, sentiment=sentiment)


def spam_comment(rng: random.Random, topic: Topic) -> CommentText:
    index = rng.randrange(len(_SPAM))
    text = _fill(_SPAM[index], rng, topic, "")
    language = "es" if text.startswith("Gana") else "pt" if text.startswith("Ganhe") else "en"
    return CommentText(
        text=text, language=language, intent=Intent.SPAM, sentiment=Sentiment.NEUTRAL
    )


def caption(rng: random.Random, topic: Topic) -> tuple[str, tuple[str, ...], tuple[str, ...]]:
    """A post caption with its hashtags and mentions (both without their ``#``/``@``)."""
    title = _fill(rng.choice(topic.captions), rng, topic, "")
    title = title[0].upper() + title[1:]
    tags = tuple(rng.sample(topic.hashtags, k=rng.randint(0, min(5, len(topic.hashtags)))))
    mentions: tuple[str, ...] = ()
    if rng.random() < 0.15:
        mentions = (f"{rng.choice(_FIRST_NAMES['en'])}{rng.choice(_SUFFIXES)}".rstrip("._"),)
    parts = [title]
    if rng.random() < 0.6:
        parts.append("".join(rng.choices(topic.emojis, k=rng.randint(1, 2))))
    if mentions:
        parts.append(f"with @{mentions[0]}")
    if tags:
        parts.append(" ".join(f"#{t}" for t in tags))
    return " ".join(parts), tags, mentions
