"""Command line: `python -m generator build|server|serve|ingest`. With buildserver.py
(the server's own actions), the only place that prints or exits."""

from __future__ import annotations

import argparse
import gc
import itertools
import sys
from pathlib import Path
from typing import Callable, Sequence

from generator import handoff
from generator.config import Config, ConfigError, load_config
from generator.write import OutputError


def main(argv: Sequence[str] | None = None, exiting: bool = False) -> int:
    """Run a command; `exiting`: the process ends when this returns (see __main__)."""
    parser = _parser()
    args = parser.parse_args(argv)
    if not getattr(args, "command", None):
        parser.print_help()
        return 2
    if exiting and args.command in ONE_SHOT:
        # A build runs with the cycle collector off and turns it back on at
        # the end, when its first pass walks every object the build made
        # (≈0.1 s at 10,000 articles, and it grows with them). A process
        # about to end has no use for that pass.
        gc.disable()
    return run_command(args)


def run_command(args: argparse.Namespace, warm: bool = False) -> int:
    """Run parsed arguments (here, or in a build server: buildserver.py);
    `warm`: a build that also fills the memos later builds in this process
    reuse (the server's first)."""
    try:
        return int(_run_build(args, warm=True) if warm else args.run(args))
    except (ConfigError, OutputError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2


ONE_SHOT = ("build", "ingest")  # commands that build once and end


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m generator",
                                     description="Build the Russia–Ukraine diplomacy timeline site.")
    sub = parser.add_subparsers(dest="command")
    build = sub.add_parser("build", help="build the site into the output folder")
    _common(build)
    build.add_argument("--report", type=Path, help="write a JSON build report to this file")
    build.add_argument("--strict", action="store_true",
                       help="exit non-zero when any file has an error (for CI)")
    build.add_argument("--no-scope", action="store_true",
                       help="publish every readable article, ignoring the scope in site.yaml")
    build.add_argument("--clean", action="store_true",
                       help="ignore the cache and re-render every page")
    build.add_argument("--no-cache", action="store_true",
                       help="neither read nor write the parse cache")
    build.add_argument("--workers", type=int, default=0,
                       help="worker processes for parsing (default: one per CPU)")
    build.add_argument("--quiet", action="store_true", help="print only the summary")
    build.add_argument("--no-search", action="store_true",
                       help="skip the search index (quicker local builds; search page says so)")
    build.add_argument("--no-server", action="store_true",
                       help="build in this process even when a build server is running")
    build.set_defaults(run=_run_build)
    server = sub.add_parser("server", help="keep a build process running between builds, so "
                                           "that builds after small changes are quick")
    server.add_argument("action", choices=("start", "stop", "status", "run"),
                        help="start: in the background, after a warm-up build of these "
                             "options; run: the same in the foreground")
    _common(server)
    server.add_argument("--no-search", action="store_true",
                        help="warm up without building the search index")
    server.add_argument("--no-scope", action="store_true", help=argparse.SUPPRESS)
    server.add_argument("--idle-minutes", type=float, default=60.0,
                        help="stop after this long without a build (default: 60)")
    server.set_defaults(run=_run_server_command)
    serve = sub.add_parser("serve", help="preview the site on localhost")
    _common(serve, output_default=None)
    serve.add_argument("--port", type=int, default=8000)
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--watch", action="store_true",
                       help="build into a preview folder, rebuild on changes, reload pages")
    serve.add_argument("--no-search", action="store_true",
                       help="with --watch: do not keep a search index for the preview")
    serve.add_argument("--no-scope", action="store_true", help=argparse.SUPPRESS)
    serve.set_defaults(run=_run_serve)
    ingest = sub.add_parser("ingest", help="file newly arrived articles, then build")
    ingest.add_argument("drop", type=Path, help="folder of newly arrived files")
    _common(ingest)
    ingest.add_argument("--report", type=Path, help="write the build's JSON report here")
    ingest.add_argument("--no-build", action="store_true", help="file the articles only")
    ingest.add_argument("--no-scope", action="store_true", help=argparse.SUPPRESS)
    ingest.set_defaults(run=_run_ingest)
    return parser


def _common(parser: argparse.ArgumentParser, output_default: Path | None = Path("public")
            ) -> None:
    parser.add_argument("--content", type=Path, default=Path("content/articles"),
                        help="folder searched recursively for article files")
    parser.add_argument("--output", type=Path, default=output_default,
                        help="site folder (serve --watch: a preview folder under the cache)")
    parser.add_argument("--config", type=Path, default=Path("site.yaml"))
    parser.add_argument("--base-url", help="override base_url from the settings file")


def _config(args: argparse.Namespace) -> Config:
    config = load_config(args.config)
    if args.base_url:
        config = config.with_base_url(args.base_url)
    if getattr(args, "no_scope", False):
        config = config.without_scope()
    return config


def _project_root() -> Path:
    """Where templates/ and static/ are: the checkout this package runs from,
    or the current folder when the package was installed elsewhere."""
    checkout = Path(__file__).resolve().parent.parent
    return checkout if (checkout / "templates").is_dir() else Path.cwd()


def _run_build(args: argparse.Namespace, warm: bool = False) -> int:
    """Build; `warm`: this process will build again (a build server's first
    build, see BuildOptions.warm)."""
    from generator.pipeline import BuildOptions, build
    from generator.progress import console_progress, print_summary

    config = _config(args)
    if not args.content.is_dir():
        raise ConfigError(f"content folder {args.content} does not exist")
    options = BuildOptions(args.content, args.output, _project_root(), config,
                           workers=args.workers, clean=args.clean, use_cache=not args.no_cache,
                           search=not getattr(args, "no_search", False),
                           skip_if_unchanged=not warm, warm=warm)
    with console_progress(enabled=not args.quiet) as progress:
        report = build(options, progress)
    if args.report:
        report.write_json(args.report, config)
    print_summary(report, verbose=not args.quiet)
    if args.strict and report.errors:
        print(f"--strict: {len(report.errors)} file(s) with errors", file=sys.stderr)
        return 1
    return 0


def _run_server_command(args: argparse.Namespace) -> int:
    from generator import buildserver

    config = str(args.config)
    if args.action == "stop":
        return buildserver.stop(config)
    if args.action == "status":
        return buildserver.status(config)
    build_argv = _build_argv(args)
    if args.action == "start":
        log = (_config(args).cache_dir or Path(".cache")) / "build-server.log"
        run_argv = ["server", "run", *build_argv[1:], "--idle-minutes", str(args.idle_minutes)]
        return buildserver.start(config, run_argv, log)
    parser = _parser()
    warm_up = parser.parse_args([*build_argv, "--quiet"])
    return buildserver.serve_builds(
        config, args.idle_minutes, warm_up=lambda: run_command(warm_up, warm=True),
        parse=parser.parse_args, run=run_command)


def _build_argv(args: argparse.Namespace) -> list[str]:
    """The `build` command line that the options of `server` or `ingest`
    stand for."""
    argv = ["build", "--config", str(args.config), "--content", str(args.content),
            "--output", str(args.output)]
    if args.base_url:
        argv += ["--base-url", args.base_url]
    if getattr(args, "report", None):
        argv += ["--report", str(args.report)]
    argv += [flag for flag, on in (("--no-search", getattr(args, "no_search", False)),
                                   ("--no-scope", args.no_scope)) if on]
    return argv


def _run_serve(args: argparse.Namespace) -> int:
    from generator.serve import local_config, serve, serve_watch

    config = _config(args)
    if not args.watch:
        return serve(args.output or Path("public"), config, args.host, args.port)
    preview = local_config(config, args.host, args.port)
    cache = config.cache_dir or Path(".cache")
    output = args.output or cache / "preview"
    search_dir = None if args.no_search else cache / "preview-search"
    builds = itertools.count()  # the first one also warms the process (BuildOptions.warm)
    return serve_watch(lambda on_live, changed: _rebuild_summary(
                           args, preview, output, on_live, changed, warm=next(builds) == 0),
                       _watched(args, config), output, preview, args.host, args.port,
                       search_dir=search_dir)


def _watched(args: argparse.Namespace, config: Config) -> list[Path]:
    root = _project_root()
    paths = [args.content, root / "templates", root / "static", args.config]
    for extra in (config.taxonomy_path, config.pages_dir, config.events_path):
        if extra is not None:
            paths.append(extra)
    return paths


def _rebuild_summary(args: argparse.Namespace, config: Config, output: Path,
                     on_live: Callable[[], None], changed: frozenset[str] | None,
                     warm: bool = False) -> str:
    from generator.pipeline import BuildOptions, build

    # Settings are read again each time: site.yaml is one of the watched files.
    fresh = load_config(args.config).with_base_url(config.base_url)
    # Pages first; the search index is refreshed in the background (serve.py).
    report = build(BuildOptions(args.content, output, _project_root(), fresh, search=False,
                                search_pages=not args.no_search, skip_if_unchanged=False,
                                warm=warm, changed=changed),
                   on_live=lambda _: on_live())
    return (f"{len(report.articles)} articles, {report.rendered} pages rendered, "
            f"{len(report.written.written)} written, {len(report.errors)} errors")


def _run_ingest(args: argparse.Namespace) -> int:
    from generator.ingest import ingest
    from generator.pipeline import parse_settings, read_taxonomy

    config = _config(args)
    if not args.drop.is_dir():
        raise ConfigError(f"drop folder {args.drop} does not exist")
    args.content.mkdir(parents=True, exist_ok=True)
    text, _ = read_taxonomy(config)
    result = ingest(args.drop, args.content, parse_settings(config, text))
    for source, target in result.filed:
        print(f"filed: {source} → {args.content / target}")
    for source, existing in result.duplicates:
        print(f"skipped: {source} has the same bytes as {args.content / existing}")
    for source, reason in result.rejected:
        print(f"rejected: {source}: {reason} (left in {args.drop})", file=sys.stderr)
    print(f"{len(result.filed)} filed, {len(result.duplicates)} already present, "
          f"{len(result.rejected)} rejected")
    if args.no_build:
        return 0
    sys.stdout.flush()  # the build server's output comes after this
    served = handoff.request_build(str(args.config), [*_build_argv(args), "--quiet"])
    if served is not None:
        return served
    args.strict, args.clean, args.no_cache, args.workers, args.quiet = False, False, False, 0, True
    return _run_build(args)
