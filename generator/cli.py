"""Command line: `python -m generator build|serve`. The only place that prints or exits."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Sequence

from generator.config import Config, ConfigError, load_config
from generator.write import OutputError


def main(argv: Sequence[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    if not getattr(args, "command", None):
        parser.print_help()
        return 2
    try:
        return int(args.run(args))
    except (ConfigError, OutputError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2


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
    build.set_defaults(run=_run_build)
    serve = sub.add_parser("serve", help="preview the built site on localhost")
    _common(serve)
    serve.add_argument("--port", type=int, default=8000)
    serve.add_argument("--host", default="127.0.0.1")
    serve.set_defaults(run=_run_serve)
    return parser


def _common(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--content", type=Path, default=Path("content/articles"),
                        help="folder searched recursively for article files")
    parser.add_argument("--output", type=Path, default=Path("public"))
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
    return Path(__file__).resolve().parent.parent


def _run_build(args: argparse.Namespace) -> int:
    from generator.pipeline import BuildOptions, build
    from generator.progress import console_progress, print_summary

    config = _config(args)
    if not args.content.is_dir():
        raise ConfigError(f"content folder {args.content} does not exist")
    options = BuildOptions(args.content, args.output, _project_root(), config,
                           workers=args.workers, clean=args.clean, use_cache=not args.no_cache)
    with console_progress(enabled=not args.quiet) as progress:
        report = build(options, progress)
    if args.report:
        report.write_json(args.report, config)
    print_summary(report, verbose=not args.quiet)
    if args.strict and report.errors:
        print(f"--strict: {len(report.errors)} file(s) with errors", file=sys.stderr)
        return 1
    return 0


def _run_serve(args: argparse.Namespace) -> int:
    from generator.serve import serve

    config = _config(args)
    return serve(args.output, config, args.host, args.port)
