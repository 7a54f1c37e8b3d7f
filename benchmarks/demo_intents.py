"""How often the analyser's top intent and sentiment are the ones the demo meant, per language.

    python benchmarks/demo_intents.py [-n 60] [--backend default] [--seed 7]

The simulated platform writes its comments from templates that carry the intent and sentiment
they were written with (`providers.simulated.text`), in English, Spanish, Portuguese, French,
German and Italian. For each language and intent, -n comments are drawn as the demo draws them
(slots filled, casing, emojis and hashtags varied) and analysed; the table shows the share whose
top intent (and sentiment) matches. It is a check of what a demo user sees, not an accuracy
figure: the templates are ours, a few dozen sentences. The held-out measure of sentiment is
`socialpulse ai eval`; `tests/ai/test_ai_multilingual_intents.py` holds intent sentences that
are not the demo's.
"""

from __future__ import annotations

import argparse
import random
from collections import Counter

from socialpulse.ai.backends import get_analyzer
from socialpulse.providers.simulated import text as simulated

# The simulated platform's intent names where the analyser's differ.
ANALYSER_INTENT = {"collaboration_request": "collaboration"}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("-n", type=int, default=60, help="comments per language and intent")
    parser.add_argument("--backend", default="default")
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()

    rng = random.Random(args.seed)
    topics = list(simulated.TOPICS.values())
    drawn: list[tuple[str, str, str, str]] = []
    for language, by_intent in simulated.TEMPLATES.items():
        for intent in by_intent:
            for _ in range(args.n):
                comment = simulated.comment_text(
                    rng, language=language, intent=intent, topic=rng.choice(topics), handle="me"
                )
                meant = ANALYSER_INTENT.get(intent.value, intent.value)
                drawn.append((language, meant, comment.sentiment.value, comment.text))

    results = get_analyzer(args.backend).analyze([text for *_, text in drawn])
    total: Counter[str] = Counter()
    intent_ok: Counter[str] = Counter()
    sentiment_ok: Counter[str] = Counter()
    for (language, meant, sentiment, _text), result in zip(drawn, results, strict=True):
        total[language] += 1
        intent_ok[language] += result.intent == meant
        sentiment_ok[language] += result.sentiment.label == sentiment

    print(f"backend {args.backend}, {args.n} comments per language and intent, seed {args.seed}")
    print(f"{'language':<10} {'comments':>8} {'intent':>8} {'sentiment':>10}")
    for language in total:
        n = total[language]
        print(
            f"{language:<10} {n:>8} {intent_ok[language] / n:>8.1%} "
            f"{sentiment_ok[language] / n:>10.1%}"
        )
    n = sum(total.values())
    print(
        f"{'all':<10} {n:>8} {sum(intent_ok.values()) / n:>8.1%} "
        f"{sum(sentiment_ok.values()) / n:>10.1%}"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
