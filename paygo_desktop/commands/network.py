"""``paygo-desktop network list``, ``network fee-ceiling KEY [GWEI | --default]``.

``list`` prints the networks the app knows (key, chain id, name, fee ceiling; the one in use marked).
``fee-ceiling`` prints a network's fee ceiling, the most the app ever signs per unit of gas there whatever
its node quotes, or sets it (in gwei, e.g. ``5`` or ``0.5``; ``--default``: the network's own again),
saved in the settings file as the Settings page does.
"""

from __future__ import annotations

import argparse
from typing import Any

from paygo_desktop.errors import UserFacingError
from paygo_desktop.paths import DataDir


def add_parser(subparsers: Any) -> None:
    network = subparsers.add_parser("network", help="the networks the app knows and their fee ceilings")
    actions = network.add_subparsers(dest="action", metavar="ACTION", required=True)
    listing = actions.add_parser("list", help="the networks, their chain ids and fee ceilings")
    listing.set_defaults(handler=run_list)
    ceiling = actions.add_parser(
        "fee-ceiling", help="show or set the most the app signs per unit of gas on a network"
    )
    ceiling.add_argument("key", metavar="KEY", help="the network's key (network list)")
    ceiling.add_argument("gwei", nargs="?", metavar="GWEI", help="the new ceiling in gwei (e.g. 5 or 0.5)")
    ceiling.add_argument("--default", action="store_true", help="use the network's own ceiling again")
    ceiling.set_defaults(handler=run_fee_ceiling)


def run_list(args: argparse.Namespace, data_dir: DataDir) -> int:
    from paygo_desktop.context import AppContext
    from paygo_desktop.networks import format_gwei

    ctx = AppContext.open(data_dir)
    try:
        _say_refused(ctx)
        in_use = ctx.settings.network
        for network in ctx.networks.all():
            shown = ctx.configured(network)
            mark = "*" if network.key == in_use else " "
            own = "" if network.key not in ctx.settings.fee_ceilings else " (set by you)"
            print(
                f"{mark} {network.key}\tchain {network.chain_id}\t{network.name}\t"
                f"fee ceiling {format_gwei(shown.max_fee_per_gas_ceiling)} gwei{own}"
            )
    finally:
        ctx.close()
    return 0


def run_fee_ceiling(args: argparse.Namespace, data_dir: DataDir) -> int:
    from paygo_desktop.context import AppContext
    from paygo_desktop.networks import format_gwei, parse_gwei

    if args.default and args.gwei is not None:
        raise UserFacingError("Give either a ceiling in gwei or --default, not both.")
    ctx = AppContext.open(data_dir)
    try:
        _say_refused(ctx)
        network = ctx.networks.get(args.key)
        if network is None:
            names = ", ".join(n.key for n in ctx.networks.all())
            raise UserFacingError(f"No network called {args.key!r}. Known: {names}.")
        if args.gwei is None and not args.default:
            ceiling = ctx.configured(network).max_fee_per_gas_ceiling
            whose = "set by you" if network.key in ctx.settings.fee_ceilings else "its own"
            print(f"{network.name}: fee ceiling {format_gwei(ceiling)} gwei per unit of gas ({whose}).")
            return 0
        wei = None if args.default else parse_gwei(args.gwei)
        ctx.set_fee_ceiling(network.key, wei)
        ctx.settings.save()
        ceiling = ctx.configured(network).max_fee_per_gas_ceiling
        own = " (its own)" if wei is None else ""
        print(f"{network.name}: the app now signs at most {format_gwei(ceiling)} gwei per unit of gas{own}.")
    finally:
        ctx.close()
    return 0


def _say_refused(ctx: Any) -> None:
    import sys

    for line in ctx.settings.refused:
        print(f"warning: {line}", file=sys.stderr)
