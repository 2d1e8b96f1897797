"""One package per simulated venue. Each owns everything of its venue's wire: public streams,
REST, private streams, margin and liquidation rules, fees, error codes. A venue is a class with
the ``SimVenue`` shape (``core.sim.venues.base``); the exchange composes them, so a new venue
(OKX, Deribit) is a new package and one line in ``core.sim.exchange``."""
