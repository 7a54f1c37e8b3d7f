"""Topic category of a caption or bio: a transparent keyword and hashtag scorer.

No labelled topic data ships with socialpulse, so each category is a documented term list:

* ``words``: single words, matched against the text's words (a trailing plural "s" is
  ignored, so "recipes" matches "recipe"). Weight 1.
* ``phrases``: multi-word expressions, matched on word boundaries. Weight 1.5.
* ``tags``: hashtags (without '#'). An exact hashtag match weighs 2; a hashtag that merely
  contains a tag of five letters or more (#fitnessmotivation contains "fitness") weighs 1.5.
  Words and phrases also count when they appear inside a hashtag's text as a whole word.

A category's score is the sum of the weights of the distinct terms it matched. The winner
needs a score of at least 1 (otherwise the category is ``None``) and its confidence grows
with the score and with the margin over the runner-up:
``confidence = (1 - exp(-top / 2)) * (top - second / 2) / top``: the runner-up counts half,
so a clear winner over a weak runner-up is not over-penalised. The matched
terms are the evidence.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

from socialpulse.ai.lexicon import PhraseMatcher, words_of

CATEGORIES: tuple[str, ...] = (
    "Fashion",
    "Beauty",
    "Fitness",
    "Food",
    "Travel",
    "Tech",
    "Gaming",
    "Music",
    "Comedy",
    "Education",
    "Finance",
    "Parenting",
    "Pets",
    "Sports",
    "Art",
    "Photography",
    "Lifestyle",
    "Health",
    "Business",
    "Automotive",
    "Home & DIY",
    "News & Politics",
)


@dataclass(frozen=True)
class CategoryTerms:
    words: str
    phrases: tuple[str, ...] = ()
    tags: str = ""


TERMS: dict[str, CategoryTerms] = {
    "Fashion": CategoryTerms(
        "fashion outfit outfits ootd style stylist dress dresses jeans denim sneaker sneakers "
        "streetwear runway designer couture wardrobe handbag handbags jacket blazer skirt "
        "heels boots menswear womenswear apparel lookbook vintage thrift thrifted tailoring "
        "accessories jewelry jewellery necklace earrings gucci prada chanel zara moda",
        ("outfit of the day", "new collection", "fashion week", "what i wore", "street style"),
        "fashion ootd style outfitoftheday streetstyle fashionblogger fashionista lookbook "
        "menswear womenswear fashionweek instafashion outfit thrift vintagefashion wiwt",
    ),
    "Beauty": CategoryTerms(
        "makeup skincare lipstick mascara eyeliner eyeshadow foundation concealer blush "
        "highlighter serum moisturizer moisturiser cleanser sunscreen spf nails manicure "
        "pedicure haircare hairstyle haircut salon lashes brows contour glow cosmetics "
        "beauty perfume fragrance retinol toner",
        ("skin care", "makeup tutorial", "get ready with me", "nail art", "hair care"),
        "makeup beauty skincare mua makeupartist grwm nails nailart skincareroutine "
        "beautyblogger lipstick makeuptutorial glowup hairstyle",
    ),
    "Fitness": CategoryTerms(
        "fitness workout workouts gym training trainer cardio hiit squat squats deadlift "
        "deadlifts bench pushups pullups lifting weightlifting bodybuilding crossfit pilates "
        "yoga abs reps sets gains muscle muscles stretching treadmill kettlebell dumbbell "
        "dumbbells burpees plank calisthenics marathon running",
        ("leg day", "personal trainer", "work out", "personal best", "fat loss", "six pack"),
        "fitness fit gym workout fitfam fitnessmotivation gymlife training bodybuilding "
        "crossfit legday fitspo gains yoga pilates homeworkout hiit",
    ),
    "Food": CategoryTerms(
        "food recipe recipes cooking baking baked dinner lunch breakfast brunch dessert "
        "delicious tasty yummy pizza pasta burger sushi ramen tacos salad soup cake cookies "
        "bread chef restaurant kitchen foodie vegan vegetarian snack cuisine dish dishes "
        "chocolate coffee espresso latte bbq grill homemade",
        ("home cooked", "meal prep", "street food", "food truck", "ice cream"),
        "food foodie foodporn instafood yummy delicious recipe recipes cooking baking "
        "homemade vegan foodblogger foodstagram dinner brunch dessert eeeeeats",
    ),
    "Travel": CategoryTerms(
        "travel travels traveling travelling trip vacation holiday holidays beach island "
        "wanderlust passport flight flights airport hotel resort backpacking itinerary "
        "destination tourist tourism explore exploring adventure roadtrip cruise hostel "
        "sightseeing abroad paris tokyo bali",
        ("road trip", "bucket list", "travel guide", "weekend getaway", "solo travel"),
        "travel wanderlust travelgram instatravel traveling vacation holiday adventure "
        "explore travelphotography roadtrip beachlife travelblogger trip backpacking",
    ),
    "Tech": CategoryTerms(
        "tech technology software hardware app apps smartphone iphone android laptop "
        "computer gadget gadgets coding programming developer code startup ai algorithm "
        "cloud cybersecurity python javascript linux windows macbook chip processor gpu "
        "robot robotics blockchain api database",
        (
            "machine learning",
            "artificial intelligence",
            "open source",
            "tech review",
            "unboxing",
        ),
        "tech technology coding programming developer ai machinelearning gadgets iphone "
        "android startup software cybersecurity python javascript techreview",
    ),
    "Gaming": CategoryTerms(
        "gaming gamer gamers game games gameplay playstation ps5 xbox nintendo "
        "fortnite minecraft valorant esports twitch streamer speedrun rpg fps mmo "
        "console controller multiplayer loot roblox zelda pokemon",
        ("video game", "video games", "live stream", "let's play", "pc gaming"),
        "gaming gamer games videogames ps5 xbox nintendo fortnite minecraft twitch esports "
        "streamer gameplay pcgaming retrogaming",
    ),
    "Music": CategoryTerms(
        "music song songs album band concert concerts tour guitar piano drums singer singing "
        "rapper rap hiphop producer beats lyrics vocals dj playlist spotify festival gig "
        "musician orchestra remix acoustic",
        ("new music", "music video", "live music", "new single", "on tour"),
        "music newmusic musician singer song hiphop rap guitar piano dj producer livemusic "
        "concert spotify songwriter band",
    ),
    "Comedy": CategoryTerms(
        "comedy funny joke jokes meme memes lol lmao hilarious prank pranks sketch standup "
        "comedian parody skit humor humour laugh laughing satire roast",
        ("stand up", "stand-up comedy", "made me laugh", "dying laughing"),
        "comedy funny memes meme lol humor jokes standup comedian prank funnyvideos lmao skit",
    ),
    "Education": CategoryTerms(
        "education learn learning study studying student students teacher teachers school "
        "university college course courses lesson lessons tutorial exam exams homework "
        "class classroom lecture science math history knowledge degree scholarship",
        ("how to", "study tips", "online course", "did you know", "fun fact"),
        "education learning study studygram student teacher school university science "
        "edtech studytips knowledge learnontiktok",
    ),
    "Finance": CategoryTerms(
        "finance money invest investing investment investments stocks stock crypto bitcoin "
        "ethereum trading trader budget budgeting savings saving debt loan mortgage "
        "retirement dividend dividends portfolio etf wealth income taxes bank banking",
        ("personal finance", "passive income", "financial freedom", "stock market", "side hustle"),
        "finance money investing stocks crypto bitcoin trading personalfinance "
        "financialfreedom wealth budget passiveincome stockmarket",
    ),
    "Parenting": CategoryTerms(
        "parenting parent parents mom moms mum mom's dad dads baby babies toddler toddlers "
        "newborn pregnancy pregnant motherhood fatherhood kids kid children child nursery "
        "breastfeeding diaper diapers preschool",
        ("mom life", "family time", "first baby", "stay at home mom"),
        "parenting momlife motherhood dadlife mom baby toddler newborn pregnancy family "
        "kids momblogger fatherhood",
    ),
    "Pets": CategoryTerms(
        "pet pets dog dogs puppy puppies cat cats kitten kittens doggo pupper vet "
        "veterinary adopt adoption rescue leash paw paws fur groomer aquarium hamster "
        "parrot rabbit bunny",
        ("dog mom", "cat mom", "adopt don't shop", "good boy", "good girl"),
        "dog dogs dogsofinstagram puppy cat cats catsofinstagram pets petsofinstagram "
        "kitten rescue adoptdontshop doggo",
    ),
    "Sports": CategoryTerms(
        "sport sports football soccer basketball baseball tennis golf hockey rugby cricket "
        "nba nfl mlb nhl fifa olympics match goal goals score team league championship "
        "playoffs tournament coach athlete athletes stadium season",
        ("world cup", "game day", "super bowl", "premier league", "champions league"),
        "sports football soccer basketball nba nfl baseball tennis golf athlete gameday "
        "worldcup premierleague",
    ),
    "Art": CategoryTerms(
        "art artist artists painting paintings drawing drawings sketch illustration "
        "illustrator canvas watercolor watercolour acrylic sculpture gallery museum mural "
        "digitalart artwork portrait ceramics pottery calligraphy",
        ("work in progress", "digital art", "oil painting", "art gallery"),
        "art artist artwork drawing painting illustration digitalart sketch artistsoninstagram "
        "contemporaryart watercolor wip",
    ),
    "Photography": CategoryTerms(
        "photography photographer photo photos photoshoot camera lens portrait "
        "landscape sunset exposure aperture canon nikon sony lightroom editing film 35mm",
        ("golden hour", "behind the scenes", "shot on", "photo shoot"),
        "photography photographer photooftheday photo picoftheday canon nikon "
        "landscapephotography portraitphotography streetphotography naturephotography "
        "filmphotography",
    ),
    "Lifestyle": CategoryTerms(
        "lifestyle vlog vlogger routine aesthetic selfcare self-care motivation inspiration "
        "mindset minimalism productivity blessed vibes",
        ("day in my life", "morning routine", "self care", "life update", "slow living"),
        "lifestyle vlog dayinmylife selfcare motivation inspiration aesthetic lifestyleblogger "
        "goodvibes minimalism",
    ),
    "Health": CategoryTerms(
        "health healthy wellness nutrition diet mental therapy anxiety depression doctor "
        "nurse hospital medicine medical vitamins sleep meditation mindfulness covid vaccine "
        "symptoms disease cancer diabetes calories protein",
        ("mental health", "healthy eating", "weight loss", "self love", "gut health"),
        "health healthy wellness mentalhealth nutrition healthylifestyle selflove "
        "mindfulness meditation weightloss healthyfood",
    ),
    "Business": CategoryTerms(
        "business entrepreneur entrepreneurs startup startups marketing brand branding "
        "sales ceo founder founders company leadership management linkedin ecommerce "
        "customers revenue growth strategy hiring smallbusiness b2b agency",
        ("small business", "digital marketing", "social media marketing", "business owner"),
        "business entrepreneur smallbusiness marketing entrepreneurship startup branding "
        "digitalmarketing success leadership ceo shopsmall",
    ),
    "Automotive": CategoryTerms(
        "car cars auto automotive vehicle vehicles truck trucks engine motor motorcycle "
        "motorbike bmw audi mercedes porsche tesla ford toyota honda ferrari lamborghini "
        "horsepower turbo drift racing garage mechanic tires tyres ev",
        ("test drive", "car show", "electric vehicle", "new car"),
        "cars car carsofinstagram auto automotive jdm supercar motorcycle bmw porsche tesla "
        "carlifestyle carporn racing",
    ),
    "Home & DIY": CategoryTerms(
        "diy decor interior interiors renovation remodel furniture garden gardening "
        "plants houseplants woodworking crafts craft handmade organizing cleaning bedroom "
        "livingroom kitchen bathroom paint tiles shelves ikea",
        ("home decor", "interior design", "before and after", "do it yourself", "home makeover"),
        "diy homedecor interiordesign home decor renovation gardening houseplants crafts "
        "woodworking handmade homesweethome interior",
    ),
    "News & Politics": CategoryTerms(
        "news politics political election elections vote voting government president "
        "congress senate parliament minister policy law court protest democracy republican "
        "democrat campaign war journalist",
        ("breaking news", "prime minister", "white house", "supreme court", "press release"),
        "news politics breakingnews election vote government worldnews politicalnews democracy",
    ),
}

_HASHTAG = re.compile(r"(?<![\w&#])[#＃](\w+)")


@dataclass
class TopicResult:
    label: str | None
    confidence: float
    scores: dict[str, float]
    evidence: list[tuple[str, float]]


def _build() -> tuple[
    dict[str, list[tuple[str, str]]],
    PhraseMatcher[list[tuple[str, str]]],
    dict[str, list[tuple[str, str]]],
    list[tuple[str, str, str]],
]:
    words: dict[str, list[tuple[str, str]]] = {}
    phrases: dict[str, list[tuple[str, str]]] = {}
    tags: dict[str, list[tuple[str, str]]] = {}
    stems: list[tuple[str, str, str]] = []
    for category, terms in TERMS.items():
        for word in terms.words.split():
            words.setdefault(word, []).append((category, word))
        for phrase in terms.phrases:
            phrases.setdefault(phrase, []).append((category, phrase))
        for tag in terms.tags.split():
            tags.setdefault(tag, []).append((category, "#" + tag))
            if len(tag) >= 5:
                stems.append((tag, category, "#" + tag))
    phrase_matcher = PhraseMatcher(phrases.items())
    return words, phrase_matcher, tags, stems


_WORDS, _PHRASES, _TAGS, _STEMS = _build()
_WORD_WEIGHT = 1.0
_PHRASE_WEIGHT = 1.5
_TAG_WEIGHT = 2.0
_STEM_WEIGHT = 1.5
MIN_SCORE = 1.0


def classify(text: str, hashtags: list[str] | None = None) -> TopicResult:
    lowered = text.lower()
    found: dict[str, dict[str, float]] = {}

    def hit(entries: list[tuple[str, str]], weight: float) -> None:
        for category, term in entries:
            terms = found.setdefault(category, {})
            if terms.get(term, 0.0) < weight:
                terms[term] = weight

    if hashtags is None:
        hashtags = [t.lower() for t in _HASHTAG.findall(text)] if "#" in text else []
    tags = hashtags
    body = _HASHTAG.sub(" ", lowered) if tags else lowered
    words = words_of(body)
    for word in words:
        entries = _WORDS.get(word)
        if entries is None and len(word) > 3 and word.endswith("s"):
            entries = _WORDS.get(word[:-1])
        if entries:
            hit(entries, _WORD_WEIGHT)
    for _, entries in _PHRASES.find(words):
        hit(entries, _PHRASE_WEIGHT)
    for tag in tags:
        exact = _TAGS.get(tag)
        if exact:
            hit(exact, _TAG_WEIGHT)
            continue
        word_entries = _WORDS.get(tag)
        if word_entries:
            hit(word_entries, _WORD_WEIGHT)
            continue
        for stem, category, term in _STEMS:
            if stem in tag:
                hit([(category, term)], _STEM_WEIGHT)

    if not found:
        return TopicResult(None, 0.0, {}, [])
    scores = {category: sum(terms.values()) for category, terms in found.items()}
    ranked = sorted(scores.items(), key=lambda item: (-item[1], CATEGORIES.index(item[0])))
    top_label, top = ranked[0]
    if top < MIN_SCORE:
        return TopicResult(None, 0.0, dict(ranked[:3]), [])
    second = ranked[1][1] if len(ranked) > 1 else 0.0
    margin = (top - second / 2.0) / top
    confidence = (1.0 - math.exp(-top / 2.0)) * min(1.0, margin)
    evidence = sorted(found[top_label].items(), key=lambda item: -item[1])
    return TopicResult(top_label, round(confidence, 4), dict(ranked[:3]), evidence)
