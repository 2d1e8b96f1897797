"""The session, hedgetop's composition root: (optionally) the built-in simulator, one feed
runner per venue socket, the engine, alerts and a fixed-rate tick, composed for the dashboard
and for ``hedgetop record``.

Flow: feed runners hand each quote to ``Engine.on_quote`` (which only stores it); every
``config.snapshot_interval_ms`` the tick settles funding, computes a snapshot, evaluates the
alerts and calls the listeners. Listeners are plain callables in lists (``on_snapshot``,
``on_fill``, ``on_funding``, ``on_alert``), called on the event loop: keep them quick. A
listener that raises is logged and counted; the tick goes on. Notifications (``core.notify``,
apprise) are two such listeners when ``[notify]`` names URLs; they only queue, a thread sends.

Clocks: the *market* clock (funding times, countdowns, snapshot ``ts_ms``) is the simulator's
when the session runs on it (so an accelerated market settles funding on its own schedule),
else the wall clock; receive times and staleness always use the wall clock.

Contract specs: off the simulator, ``start()`` also refreshes the hedges' specs (margin tiers,
tick, lot, funding interval) from ccxt markets in the background (``core.markets``: fresh disk
cache, else ccxt, else stale cache, else the built-in table) and hands them to
``Engine.update_specs`` on the loop. Until then, and whenever that fails, the built-in table
serves; failures land in ``feed_errors`` and ``spec_notes``, never in a crash. On the
simulator the demo keeps the built-in table; the simulator's accounts are seeded from the
config (``core.session.sim_accounts``), ready for account reading through ccxt.

Real orders: with ``[broker] kind = "ccxt"`` and ``trading_enabled = true`` (and not on the
simulator) the session holds a ``CcxtLiveBroker`` (``live_trading`` is True); ``execute``
(the paper path) then refuses, and ``execute_live(plan, confirmed=True)`` sends the order and
records what the venue says filled through ``Engine.apply_fill``. When the config asks for
ccxt but a gate is closed, ``trading_refusal`` says which and nothing executes at all.

Its rooms: ``live`` (the ``LiveSession`` façade: lifecycle, tick, listeners, acting),
``simulator`` (the built-in exchange from the config, accounts seeded by ``sim_accounts``),
``feeds`` (feed URLs and runners), ``broker`` (paper or real orders, and why not),
``specs`` (the background contract-spec refresh), ``threads`` (blocking calls off the loop).
The domain below imports nothing of this package (import-linter contracts in pyproject.toml).
"""

from core.session.live import LiveOrder, LiveSession

__all__ = ["LiveOrder", "LiveSession"]
