"""The `bhm` command: each subcommand parses options, calls one library function and renders the result.

Polars and the engine are imported inside the commands, not here: `bhm compute` first starts hashing its input
files, which then runs on the other core while those imports take their ~0.7 s."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn, TypeVar

import click
from rich.console import Console, JustifyMethod
from rich.markup import escape
from rich.table import Table

import bhmeasures
from bhmeasures.bundled import sample_dir
from bhmeasures.digest import cancel_pending_hashes
from bhmeasures.errors import YEARS, BhmError, ExitCode, did_you_mean, shown_path
from bhmeasures.inputs.files import start_hashing_inputs
from bhmeasures.inputs.schema import TABLES

if TYPE_CHECKING:
    from bhmeasures.api import RunResult
    from bhmeasures.payment.run import PaymentRun

T = TypeVar("T")
err = Console(stderr=True)
YEAR = click.IntRange(*YEARS)


def _fail(message: str, code: ExitCode) -> NoReturn:
    cancel_pending_hashes()  # no manifest will name the input files: exit now, not after hashing them
    for line in message.splitlines() or [message]:
        err.print(f"[bold red]error:[/] {escape(line)}", highlight=False, soft_wrap=True)
    sys.exit(int(code))


def _run(fn: Callable[[], T], debug: bool) -> T:
    try:
        return fn()
    except BhmError as e:
        _fail(str(e), e.exit_code)
    except Exception as e:  # unexpected: one line unless --debug
        if debug:
            raise
        _fail(f"internal error: {type(e).__name__}: {e} (rerun with --debug for the traceback)", ExitCode.INTERNAL_ERROR)


class _Commands(click.Group):
    """The `bhm` group: Ctrl-C ends every command with status 130 (temporary files are removed on the way)."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except KeyboardInterrupt:
            cancel_pending_hashes()  # else the exit waits for input files still queued for hashing
            err.print("[yellow]interrupted[/] (Ctrl-C)", highlight=False)
            ctx.exit(int(ExitCode.INTERRUPTED))


def _tables(_ctx: click.Context, _param: click.Parameter, values: tuple[str, ...]) -> dict[str, Path]:
    tables: dict[str, Path] = {}
    for v in values:
        name, sep, path = v.partition("=")
        name = name.strip()
        if not sep or not name or not path:
            raise click.BadParameter(f"'{v}' is not NAME=PATH (e.g. eligibility=data/eligibility_seed.csv)")
        if name not in TABLES:
            hint = did_you_mean(name, list(TABLES))
            raise click.BadParameter(f"unknown table '{name}'. {hint + ' ' if hint else ''}Tables are {', '.join(TABLES)}.")
        if name in tables:
            raise click.BadParameter(f"table {name} is given twice.")
        if not Path(path).is_file():
            raise click.BadParameter(f"{path}: {'is a folder, not a file' if Path(path).is_dir() else 'no such file'}.")
        tables[name] = Path(path)
    return tables


def _measure_ids(_ctx: click.Context, _param: click.Parameter, value: str | None) -> list[str] | None:
    if value is None:
        return None
    ids = [m.strip().upper() for m in value.split(",") if m.strip()]
    if not ids:
        raise click.BadParameter("no measure ids given; e.g. --measures FUH,FUA, or leave the option out for every measure.")
    return ids


@click.group(cls=_Commands, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(bhmeasures.__version__, prog_name="bhm")
def main() -> None:
    """bhm: behavioral-health quality measures (FUH, FUA, FUM, ...) from claims files.

    Exit status: 0 ok; 1 internal error; 2 bad command-line usage; 3 invalid measure spec or value set;
    4 invalid input data; 5 a measure could not be computed on these inputs (see the reason printed);
    130 interrupted (Ctrl-C).
    """


@main.command()
@click.option("--data", "data", type=click.Path(path_type=Path, exists=True, file_okay=False),
              help="Folder with eligibility, medical_claim, pharmacy_claim (.parquet/.csv/.csv.gz). Default: the bundled sample.")
@click.option("--table", "tables", multiple=True, metavar="NAME=PATH", callback=_tables,
              help="Path of one table named otherwise; repeatable; overrides --data.")
@click.option("--year", type=YEAR, default=2025, show_default=True, help="Measurement year (1900-2100).")
@click.option("--measures", callback=_measure_ids, help="Comma-separated measure ids, e.g. FUH,FUA. Default: every spec.")
@click.option("--specs", multiple=True, type=click.Path(path_type=Path, exists=True),
              help="Spec files or folders (default: bundled specs).")
@click.option("--valuesets", multiple=True, type=click.Path(path_type=Path, exists=True, file_okay=False),
              help="Folder of value set CSVs that replace bundled sets of the same name (e.g. licensed NCQA lists).")
@click.option("--out", type=click.Path(path_type=Path), default=Path("bhm_results"), show_default=True,
              help="Result folder: new, empty, or written by bhm compute before (only files its manifest.json lists are replaced).")
@click.option("--format", "fmt", type=click.Choice(["parquet", "csv"]), default="parquet", show_default=True,
              help="Format of the summary and detail files.")
@click.option("--quiet", is_flag=True, help="Print nothing but errors.")
@click.option("--json", "as_json", is_flag=True, help="Print the summary as JSON on stdout.")
@click.option("--debug", is_flag=True, help="Show tracebacks of unexpected errors.")
def compute(data: Path | None, tables: dict[str, Path], year: int, measures: list[str] | None, specs: tuple[Path, ...],
            valuesets: tuple[Path, ...], out: Path, fmt: str, quiet: bool, as_json: bool, debug: bool) -> None:
    """Compute measure rates and write summary, detail and manifest.json to --out."""
    if data is None and not tables:
        data = sample_dir()
    start_hashing_inputs(data, tables, out)  # before the imports below: the digests take the idle core meanwhile
    from bhmeasures import api

    show = not quiet and not as_json
    console = Console()

    def work() -> RunResult:
        if show and console.is_terminal:
            with console.status("reading inputs") as status:
                return api.run(data, tables, year, measures, list(specs), list(valuesets), out, fmt,
                               progress=lambda m: status.update(m))
        return api.run(data, tables, year, measures, list(specs), list(valuesets), out, fmt)

    run = _run(work, debug)
    result = run.result
    if as_json:
        click.echo(json.dumps({"year": year, "skipped": result.skipped, "notes": result.notes,
                               "summary": result.summary.to_dicts()}, default=str))
    elif show:
        _render_summary(console, run, year)
        for note in result.notes:
            console.print(f"[dim]note: {escape(note)}[/]", highlight=False)
    for measure, why in result.skipped.items():
        err.print(f"[yellow]skipped {measure}:[/] {escape(why)}", highlight=False)
    if result.skipped:
        sys.exit(int(ExitCode.MEASURE_SKIPPED))


def _render_summary(console: Console, run: RunResult, year: int) -> None:
    import polars as pl

    s = run.result.summary
    summary_file = next((p.name for p in run.files if p.name.startswith("summary.")), "the summary file")
    entity_rows = s.filter(pl.col("stratifier") == "entity").height
    legend = [
        "denominator: events that meet the measure's criteria; numerator: those with the follow-up in time;",
        "exclusions: events taken out of the denominator by an exclusion; rate % = numerator / denominator;",
        "- : no events in the denominator (0/0), so no rate; the notes below say what the files lacked.",
    ]
    if entity_rows:
        legend.append(f"Not shown: {entity_rows:,} rows of entity strata (rates per attributed entity), in {summary_file}.")
    table = Table(title=f"bhm rates, measurement year {year}", title_justify="left")
    for col in ("rate", "stratum", "denominator", "numerator", "exclusions", "rate %"):
        table.add_column(col, justify="left" if col in ("rate", "stratum") else "right")
    for row in s.iter_rows(named=True):
        if row["stratifier"] == "entity":
            continue
        pct = "-" if row["rate"] is None else f"{100 * row['rate']:.1f}"
        name = row["rate_id"] if row["stratifier"] == "total" else ""
        label = STRATIFIER_LABELS.get(row["stratifier"], row["stratifier"])
        stratum = "total" if row["stratifier"] == "total" else f"{label} {row['stratum']}"
        style = "bold" if row["stratifier"] == "total" else "dim"
        table.add_row(name, stratum, f"{row['denominator']:,}", f"{row['numerator']:,}", f"{row['exclusions']:,}", pct, style=style)
    console.print(table)
    for line in legend:
        console.print(f"[dim]{line}[/]", highlight=False, soft_wrap=True)
    console.print(f"wrote {', '.join(p.name for p in run.files)} to {shown_path(run.out)}  "
                  f"({run.result.timings.get('total', 0):.2f} s)", highlight=False)


# How each stratifier's strata read in the terminal table ("age 18-64", "payer medicaid").
STRATIFIER_LABELS = {"age_band": "age", "payer_type": "payer", "cohort": "cohort"}


@main.command()
@click.argument("paths", nargs=-1, metavar="[PATH]...", type=click.Path(path_type=Path, exists=True))
@click.option("--valuesets", multiple=True, type=click.Path(path_type=Path, exists=True, file_okay=False),
              help="Folder of value set CSVs that replace bundled sets of the same name.")
def validate(paths: tuple[Path, ...], valuesets: tuple[Path, ...]) -> None:
    """Check measure specs (default: the bundled ones); report every problem with file:line."""
    from bhmeasures import api

    loaded, issues = api.validate(list(paths) or None, list(valuesets))
    for issue in issues:
        err.print(f"[red]{escape(str(issue))}[/]", highlight=False, soft_wrap=True)
    if issues:
        err.print(f"{len(issues)} problem(s) found.")
        sys.exit(int(ExitCode.SPEC_INVALID))
    Console().print(f"{len(loaded)} spec(s) valid: {', '.join(s.spec.id + ' ' + s.spec.version for s in loaded)}")


@main.command()
@click.option("--members", type=click.IntRange(min=1), default=10_000, show_default=True, help="Number of members to generate.")
@click.option("--seed", type=int, default=1, show_default=True, help="Random seed: the same seed gives the same files.")
@click.option("--year", type=YEAR, default=2025, show_default=True, help="Year the claims fall in (1900-2100).")
@click.option("--out", type=click.Path(path_type=Path), required=True,
              help="Folder for the Parquet tables: new, empty, or written by bhm sample before (see sample.json there).")
@click.option("--layout", type=click.Choice(["compact", "full"]), default="compact", show_default=True,
              help="compact: the columns bhm uses, sorted by member. full: the same claims with every Tuva "
                   "input-layer claim column (25 diagnosis and procedure positions, mostly null), rows "
                   "shuffled, 1,000,000-row row groups, as real extracts come.")
def sample(members: int, seed: int, year: int, out: Path, layout: str) -> None:
    """Generate synthetic eligibility, medical and pharmacy claims (Parquet), deterministic for a seed."""
    from bhmeasures.outputs import publish
    from bhmeasures.sample import generate_sample

    counts: dict[str, int] = {}

    def fill(folder: Path) -> list[str]:
        counts.update(generate_sample(members, seed, folder, year, layout))
        return [f"{t}.parquet" for t in counts]

    about = {"written_by": "bhm sample", "version": bhmeasures.__version__, "members": members, "seed": seed, "year": year,
             "layout": layout}
    _run(lambda: publish(out, fill, "sample.json", about), False)
    Console().print(", ".join(f"{t}: {n:,} rows" for t, n in counts.items()) + f" -> {shown_path(out)}", highlight=False)


@main.command()
@click.argument("measure")
@click.option("--year", type=int, default=2025, show_default=True, help="Measurement year the window dates are resolved for.")
@click.option("--specs", multiple=True, type=click.Path(path_type=Path, exists=True),
              help="Spec files or folders (default: bundled specs).")
@click.option("--json", "as_json", is_flag=True, help="Print the plan as JSON.")
def explain(measure: str, year: int, specs: tuple[Path, ...], as_json: bool) -> None:
    """Show a measure's plan: populations, strata, and each step with its dates, value sets and reason."""
    from bhmeasures import api
    from bhmeasures.plan.explain import render_text

    doc = _run(lambda: api.explain(measure.upper(), year, list(specs) or None), False)
    if as_json:
        click.echo(json.dumps(doc, indent=2))
    else:
        click.echo(render_text(doc), nl=False)

@main.command()
@click.option("--program", "program", required=True, help="Program id (see `bhm programs`), or a program YAML file.")
@click.option("--results", type=click.Path(path_type=Path, file_okay=False), default=Path("bhm_results"), show_default=True,
              help="A `bhm compute` results folder (summary.parquet or summary.csv).")
@click.option("--inputs", "inputs", type=click.Path(path_type=Path, dir_okay=False),
              help="Program-inputs YAML (baselines, benchmarks, capitation, TCOC targets). "
                   "Default for results of the bundled demo: the bundled sample inputs.")
@click.option("--data", type=click.Path(path_type=Path, file_okay=False),
              help="Data folder to derive member months and actual TCOC from, where the inputs omit them.")
@click.option("--year", type=int, help="Performance year (default: the inputs file's).")
@click.option("--set", "sets", multiple=True, metavar="KEY=VALUE",
              help="Override a program parameter, e.g. kpi.pmpm_max=3.50 (KEY=null removes an optional one); repeatable.")
@click.option("--out", type=click.Path(path_type=Path),
              help="Folder for line_items, totals, what_if and payment.json. Default: bhm_payments/<program id>.")
@click.option("--format", "fmt", type=click.Choice(["parquet", "csv"]), default="parquet", show_default=True,
              help="Format of the line_items, totals and what_if files.")
@click.option("--json", "as_json", is_flag=True, help="Print payment.json on stdout.")
@click.option("--quiet", is_flag=True, help="Print nothing but errors.")
@click.option("--debug", is_flag=True, help="Show tracebacks of unexpected errors.")
def pay(program: str, results: Path, inputs: Path | None, data: Path | None, year: int | None, sets: tuple[str, ...],
        out: Path | None, fmt: str, as_json: bool, quiet: bool, debug: bool) -> None:
    """Turn measure rates into ACO payments: line items for each dollar, entity totals, what-ifs."""
    from bhmeasures.payment import run_payment

    run = _run(lambda: run_payment(program, results, inputs, out, fmt, year=year, overrides=sets, data=data), debug)
    if as_json:  # the very file written, with the list of files it wrote
        click.echo((run.out / "payment.json").read_text(encoding="utf-8"), nl=False)
    elif not quiet:
        _render_payment(Console(), run)
    for warning in [] if quiet else run.result.warnings:  # recorded in payment.json either way
        err.print(f"[yellow]warning:[/] {warning}", highlight=False, soft_wrap=True)


def _render_payment(console: Console, run: PaymentRun) -> None:
    from bhmeasures.payment.money import money, pct
    from bhmeasures.payment.result import ACCOUNT_LABEL, TOTAL_COLUMNS

    r, p = run.result, run.program.program
    for note in run.notes:
        console.print(f"[dim]using {note}[/]", highlight=False)
    items = Table(title=f"{p.title}, performance year {p.performance_year}: line items", title_justify="left")
    item_columns: list[tuple[str, JustifyMethod]] = [
        ("entity", "left"), ("component", "left"), ("item", "left"), ("rate", "right"), ("account", "left"), ("amount", "right"),
        ("why (the files say more)", "left")]
    for col, justify in item_columns:
        items.add_column(col, justify=justify, overflow="fold")
    for i in r.line_items:
        rate = "-" if i.rate is None else (pct(i.rate) if i.unit == "proportion" else f"{float(i.rate):,.2f}")
        style = {"owed": "red", "forfeited": "dim", "kept_by_payer": "dim", "moved": "dim", "memo": "dim",
                 "pass_through": "cyan"}.get(i.account, "")
        amount = "" if i.account == "memo" else money(i.amount_cents)
        items.add_row(i.entity_id, i.component, i.item, rate, ACCOUNT_LABEL[i.account], amount, i.brief, style=style)
    console.print(items)
    totals = Table(title="totals by account (sums of the line items)", title_justify="left")
    columns = [(k, ACCOUNT_LABEL.get(k, k)) for k in TOTAL_COLUMNS]
    for col in ("entity", "track", *(label for _, label in columns)):
        totals.add_column(col, justify="left" if col in ("entity", "track") else "right")
    for t in r.totals:
        cents = t.cents()
        totals.add_row(t.entity_id, t.track or "", *(money(cents[k]) for k, _ in columns), style="bold")
    console.print(totals)
    reachable = [w for w in r.what_if if w.next_tier is not None]
    if reachable:
        whatif = Table(title="what-if: the next tier per measure (events: + more, - fewer in the numerator)", title_justify="left")
        whatif_columns: list[tuple[str, JustifyMethod]] = [
            ("entity", "left"), ("measure", "left"), ("events", "right"), ("worth", "right"), ("", "left")]
        for col, justify in whatif_columns:
            whatif.add_column(col, justify=justify, overflow="fold")
        for w in reachable:
            events = "-" if w.events_needed is None else f"{w.events_needed:+,}"
            whatif.add_row(w.entity_id, w.measure_id, events, "-" if w.worth_cents is None else money(w.worth_cents), w.note)
        console.print(whatif)
    console.print(f"[dim]{r.rounding}[/]", highlight=False)
    console.print(f"wrote {', '.join(f.name for f in run.files)} to {run.out}")


@main.command()
@click.argument("name", required=False)
@click.option("--year", type=int, help="Performance year.")
@click.option("--set", "sets", multiple=True, metavar="KEY=VALUE", help="Show the program with these overrides applied.")
@click.option("--json", "as_json", is_flag=True, help="Print the programs and parameters as JSON.")
def programs(name: str | None, year: int | None, sets: tuple[str, ...], as_json: bool) -> None:
    """List the shipped payment programs and their parameters with provenance; NAME may be an id or a YAML file."""
    from bhmeasures.payment import describe_programs

    listings = _run(lambda: describe_programs(name, year, tuple(sets)), False)
    if as_json:
        click.echo(json.dumps([{"id": x.loaded.program.id, "performance_year": x.loaded.program.performance_year,
                                "title": x.loaded.program.title, "file": str(x.loaded.path),
                                "tracks": x.loaded.program.tracks, "parameters": [vars(p) for p in x.params]}
                               for x in listings], default=str))
        return
    console = Console()
    for x in listings:
        p = x.loaded.program
        table = Table(title=f"[bold]{p.id}[/] {p.performance_year}: {p.title}", title_justify="left",
                      caption=p.summary, caption_justify="left")
        for col in ("parameter (--set KEY)", "value", "provenance", "source"):
            table.add_column(col, overflow="fold")
        for row in x.params:
            style = {"V": "green", "V2": "green", "seed": "yellow", "R": "yellow", "I": "red", "set": "magenta"}[row.tag]
            table.add_row(row.path, row.value, f"[{style}]{row.provenance}[/]", row.source or "")
        console.print(table)
        for key, text in p.sources.items():
            console.print(f"  [bold]{key}[/]: {text}", highlight=False, soft_wrap=True)
        if p.tracks:
            console.print("tracks: " + ", ".join(f"{k} ({v})" for k, v in p.tracks.items()) + f"; default {p.default_track}",
                          highlight=False)
        console.print()
    if name is None:
        console.print("provenance: verified = read in the primary text; verified-secondary = in a secondary summary; seed = the "
                      "source study; recalled = unverified; illustrative = an engine default, not a program value.",
                      highlight=False)


@main.group()
def valuesets() -> None:
    """Value set files: convert NCQA's licensed workbooks into bhm's value-set CSV format."""


@valuesets.command("import")
@click.argument("workbooks", nargs=-1, required=True, type=click.Path(path_type=Path, exists=True, dir_okay=False))
@click.option("--out", type=click.Path(path_type=Path, file_okay=False), required=True,
              help="Folder to write the value-set CSV files into (then: bhm compute --valuesets DIR).")
@click.option("--drug-column", help="The medication-list column that says which codes are the same drug "
                                    "(default: Ingredient, Generic Product Name, Drug Name or Drug ID, the first present).")
@click.option("--debug", is_flag=True, help="Show tracebacks of unexpected errors.")
def import_(workbooks: tuple[Path, ...], out: Path, drug_column: str | None, debug: bool) -> None:
    """Convert NCQA Value Set Directory / Medication List Directory workbooks (.xlsx) into value-set files.

    Lists are written under the names the bundled specs use; rows bhm cannot use (SNOMED, ICD-9, RxNorm codes,
    malformed codes) are reported, per list, and in IMPORT_REPORT.txt. Needs openpyxl: pip install 'bhmeasures[ncqa]'.
    """
    from bhmeasures.valuesets.ncqa_import import import_workbooks

    report = _run(lambda: import_workbooks(list(workbooks), out, drug_column=drug_column), debug)
    for line in report.lines():
        click.echo(line)


if __name__ == "__main__":
    main()
