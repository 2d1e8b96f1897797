"""The exchange account as hedgetop reads it (issue 12 §2): an adapter layer beside
``core.feeds``. ccxt's dicts come in, typed values go out.

Rooms: ``model`` (the typed values: positions, wallet balances, funding payments, fills, the
account state), ``normalise`` (pure functions from ccxt's venue-shaped dicts to those values,
each quirk ccxt leaves for inverse contracts fixed in one place), ``reader`` (one read of an
account through ``ccxt.async_support``: keys from the environment only, one line on failure)
and ``reconcile`` (what the exchange reports against what hedgetop expected).

The domain (events, math, instruments, the engine) imports nothing of this package
(import-linter contracts in pyproject.toml); the session and the commands compose it.
"""
