"""``eventsim scenario``: list the built-in scenarios, show or check one (with defaults filled)."""
from __future__ import annotations

import argparse


def register(sub) -> None:
    p = sub.add_parser(
        "scenario", help="list the built-in study scenarios; show or validate one",
        description="Scenarios are TOML files naming the data, models, training and measurement "
                    "of a study (docs/scenarios.md). Built-ins live in the package "
                    "(eventsim/scenarios/, linked as scenarios/ in the repository).",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="examples:\n"
               "  eventsim scenario list\n"
               "  eventsim scenario show digits --set train.epochs=3   # as run, every default filled\n"
               "  eventsim scenario check my.toml                      # exit 2 with one line if invalid")
    ssub = p.add_subparsers(dest="scenario_command", metavar="ACTION")
    pl = ssub.add_parser("list", help="list the built-in scenarios with their descriptions")
    pl.set_defaults(func=run_list)
    for name, helptext in (("show", "print a scenario as TOML after overrides, every default filled"),
                           ("check", "validate a scenario file; print 'ok' or the first error")):
        q = ssub.add_parser(name, help=helptext, description=helptext)
        q.add_argument("scenario", help="scenario TOML file or built-in name")
        q.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
                       help="override a value, e.g. train.epochs=3 or models.egru.units=[32,32]")
        q.set_defaults(func=run_show if name == "show" else run_check)
    p.set_defaults(func=lambda args: (p.print_help(), 2)[1])


def run_list(args) -> int:
    from ..scenario import SCENARIO_DIR, builtin_scenarios
    items = builtin_scenarios()
    width = max((len(n) for n in items), default=0)
    for name, desc in items.items():
        print(f"{name:<{width}}  {desc}")
    print(f"(files in {SCENARIO_DIR})")
    return 0


def run_show(args) -> int:
    from ..scenario import load_scenario
    print(load_scenario(args.scenario, args.overrides).to_toml(), end="")
    return 0


def run_check(args) -> int:
    from ..scenario import load_scenario
    s = load_scenario(args.scenario, args.overrides)
    print(f"ok: scenario {s.name!r} ({s.path}): data {s.data['name']}, "
          f"models {', '.join(m['name'] for m in s.models)}")
    return 0
