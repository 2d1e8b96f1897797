"""Notifications (core.notify), scheduled by an injected wall clock and delivered to a fake:
once per raise and once per clear, one digest per rate-limit window, the figures at send time,
quiet hours that urgent rules break, one notifier per database, and secrets kept out of text."""

from __future__ import annotations

import threading
from datetime import UTC
from pathlib import Path

import pytest

from core.config import ConfigError, NotifyConfig, parse_config
from core.events import AlertEvent, AlertState
from core.notify import Kind, Message, Notifier, expand_urls
from core.snapshot import PortfolioSnapshot

T0 = 1_764_100_000_000  # 2025-11-25 19:46:40 UTC
MIN = 60_000


class Clock:
    def __init__(self, ms: int = T0) -> None:
        self.ms = ms

    def __call__(self) -> int:
        return self.ms


class Outbox:
    """A delivery that records messages; ``wait(n)`` blocks until n arrived (thread-safe)."""

    def __init__(self, error: str | None = None) -> None:
        self.messages: list[Message] = []
        self.error = error
        self._cond = threading.Condition()

    def __call__(self, message: Message) -> str | None:
        with self._cond:
            self.messages.append(message)
            self._cond.notify_all()
        return self.error

    def wait(self, n: int, timeout: float = 10.0) -> list[Message]:
        with self._cond:
            assert self._cond.wait_for(lambda: len(self.messages) >= n, timeout), self.messages
            return list(self.messages)


def snap(total: float = 250_000.0, delta: float = 1_000.0, ts: int = T0) -> PortfolioSnapshot:
    return PortfolioSnapshot(
        ts_ms=ts,
        session_start_ms=T0,
        holdings=(),
        hedges=(),
        total_value_usd=total,
        unhedged_value_usd=None,
        net_delta_usd=delta,
        session_change_usd=None,
        unhedged_session_change_usd=None,
    )


def ev(rule: str, subject: str, raised: bool, message: str, ts: int = T0) -> AlertEvent:
    return AlertEvent(
        ts_ms=ts,
        key=f"{rule}:{subject}",
        rule=rule,
        subject=subject,
        state=AlertState.RAISED if raised else AlertState.CLEARED,
        message=message if raised else f"{subject}: {rule} cleared ({message})",
    )


def make(clock: Clock, outbox: Outbox, describe: object = None, **cfg: object) -> Notifier:
    config = NotifyConfig(urls=("json://127.0.0.1/x",), **cfg)  # type: ignore[arg-type]
    return Notifier(
        config,
        wall_clock=clock,
        describe=describe,  # type: ignore[arg-type]
        environ={},
        deliver=outbox,
        tz=UTC,
    )


LIQ = ("liq_distance", "bybit:BTCUSD")


def test_once_per_raise_and_once_per_clear() -> None:
    clock, out = Clock(), Outbox()
    n = make(clock, out)
    n.on_alert(ev(*LIQ, True, "btc: liquidation at 60,000 USD is 9.00 % from mark"))
    n.on_snapshot(snap())
    n.on_snapshot(snap())  # nothing new: nothing more
    clock.ms += 2 * MIN
    n.on_snapshot(snap())
    n.on_alert(ev(*LIQ, False, "recovered"))
    n.on_snapshot(snap())
    n.close()
    first, second = out.wait(2)
    assert len(out.messages) == 2
    assert first.title == "hedgetop ▲ liquidation near: bybit:BTCUSD"
    assert first.kind is Kind.RAISED
    assert "9.00 % from mark" in first.body
    assert "total 250,000 USD, net delta +1,000 USD at 19:46 UTC" in first.body
    assert second.title == "hedgetop ✓ cleared, liquidation near: bybit:BTCUSD"
    assert second.kind is Kind.CLEARED
    assert n.health.sent == 2


def test_rate_limit_makes_one_digest_and_says_what_flapped() -> None:
    clock, out = Clock(), Outbox()
    n = make(clock, out, min_interval_s=60)
    n.on_alert(ev(*LIQ, True, "liq 9 %"))
    n.on_snapshot(snap())
    clock.ms += 10_000  # within the minute: these wait
    n.on_alert(ev("basis", "binance:ADAUSD_PERP", True, "basis +1.2 %"))
    n.on_alert(ev(*LIQ, False, "recovered"))
    n.on_alert(ev("hedge_ratio", "XRP", True, "XRP ratio 60 %"))
    n.on_alert(ev("hedge_ratio", "XRP", False, "recovered"))
    n.on_alert(ev("hedge_ratio", "XRP", True, "XRP ratio 59 %"))
    n.on_snapshot(snap())
    assert n.health.held == 3
    clock.ms += 50_000  # the minute is over
    n.on_snapshot(snap())
    digest = out.wait(2)[1]
    assert digest.title == "hedgetop: 3 alerts (2 raised, 1 cleared)"
    assert digest.kind is Kind.MIXED
    lines = digest.body.splitlines()
    assert lines[0] == "▲ basis +1.2 %"
    assert lines[1] == "✓ bybit:BTCUSD: liq_distance cleared (recovered)"
    assert lines[2] == "▲ XRP ratio 59 % (raised 2 times)"
    n.close()
    assert len(out.messages) == 2


def test_figures_are_those_at_send_time() -> None:
    clock, out = Clock(), Outbox()
    figures = {"now": "liq at 60,000 USD is 9.00 % from mark"}
    n = make(clock, out, describe=lambda key, s: figures["now"], min_interval_s=60)
    n.on_alert(ev("basis", "x", True, "basis"))
    n.on_snapshot(snap())  # sent: the window starts
    clock.ms += 5_000
    n.on_alert(ev(*LIQ, True, "liq at 60,000 USD is 9.00 % from mark"))
    figures["now"] = "liq at 60,000 USD is 4.10 % from mark"  # the market moved on
    clock.ms += 60_000
    n.on_snapshot(snap(total=240_000.0))
    late = out.wait(2)[1]
    assert "4.10 % from mark" in late.body
    assert "9.00 %" not in late.body
    assert "total 240,000 USD" in late.body
    n.close()


def test_a_raise_that_cleared_while_waiting_says_so() -> None:
    clock, out = Clock(), Outbox()
    n = make(clock, out, describe=lambda key, s: "should not be used", min_interval_s=60)
    n.on_alert(ev("basis", "x", True, "basis"))
    n.on_snapshot(snap())
    n.on_alert(ev(*LIQ, True, "liq 9 %"))
    n.on_alert(ev(*LIQ, False, "recovered"))
    clock.ms += MIN
    n.on_snapshot(snap())
    assert out.wait(2)[1].body.splitlines()[0] == "liq 9 %; cleared since"
    n.close()


def test_quiet_hours_hold_all_but_urgent_raises() -> None:
    # 19:46 UTC: inside 19:00-07:00 (spanning midnight)
    clock, out = Clock(), Outbox()
    n = make(clock, out, quiet_hours=(19 * 60, 7 * 60), min_interval_s=0)
    assert n.in_quiet_hours(clock.ms)
    n.on_alert(ev("basis", "binance:ADAUSD_PERP", True, "basis +1.2 %"))
    n.on_snapshot(snap())
    assert out.messages == []
    n.on_alert(ev(*LIQ, True, "liq 4 %"))  # urgent by default
    n.on_snapshot(snap())
    urgent = out.wait(1)[0]
    assert "liq 4 %" in urgent.body
    assert n.health.held == 1  # the basis alert still waits
    clock.ms = T0 + (11 * 60 + 14) * MIN  # 07:00 UTC next day: quiet hours are over
    assert not n.in_quiet_hours(clock.ms)
    n.on_snapshot(snap())
    assert "basis +1.2 %" in out.wait(2)[1].body
    n.close()


def test_quiet_hours_within_a_day_and_no_urgent_rules() -> None:
    clock, out = Clock(), Outbox()
    n = make(clock, out, quiet_hours=(19 * 60, 20 * 60), urgent=(), min_interval_s=0)
    n.on_alert(ev(*LIQ, True, "liq 4 %"))
    n.on_snapshot(snap())
    assert out.messages == []
    clock.ms += 14 * MIN  # 20:00
    n.on_snapshot(snap())
    assert len(out.wait(1)) == 1
    n.close()


def test_clears_off_sends_raises_only() -> None:
    clock, out = Clock(), Outbox()
    n = make(clock, out, clears=False, min_interval_s=0)
    n.on_alert(ev(*LIQ, True, "liq 9 %"))
    n.on_snapshot(snap())
    n.on_alert(ev(*LIQ, False, "recovered"))
    n.on_snapshot(snap())
    n.close()
    assert len(out.wait(1)) == 1
    assert n.health.sent == 1


def test_one_notifier_per_database_and_takeover(tmp_path: Path) -> None:
    lock = tmp_path / "h.db.notify.lock"
    clock = Clock()
    out_a, out_b = Outbox(), Outbox()
    config = NotifyConfig(urls=("json://127.0.0.1/x",), min_interval_s=0)
    a = Notifier(config, wall_clock=clock, environ={}, deliver=out_a, tz=UTC, lock_path=lock)
    b = Notifier(config, wall_clock=clock, environ={}, deliver=out_b, tz=UTC, lock_path=lock)
    for n in (a, b):
        n.on_alert(ev(*LIQ, True, "liq 9 %"))
        n.on_snapshot(snap())
    assert len(out_a.wait(1)) == 1
    assert b.health.dropped == 1  # a sent it: b stays quiet
    a.close()  # a exits: b takes over
    b.on_alert(ev(*LIQ, False, "recovered"))
    b.on_snapshot(snap())
    assert "cleared" in out_b.wait(1)[0].title
    b.close()
    assert len(out_a.messages) == 1


def test_delivery_failure_is_said_once_without_the_url() -> None:
    clock, problems = Clock(), []
    out = Outbox(error="apprise could not deliver to every URL (see the log)")
    config = NotifyConfig(urls=("tgram://123456:SECRETBOTTOKEN/999",), min_interval_s=0)
    n = Notifier(
        config, wall_clock=clock, environ={}, deliver=out, tz=UTC, on_problem=problems.append
    )
    for _ in range(3):
        n.on_alert(ev(*LIQ, True, "liq"))
        n.on_alert(ev(*LIQ, False, "ok"))
        n.on_snapshot(snap())
    n.close()
    assert n.health.failed == 3
    assert problems == [
        "notification not sent: apprise could not deliver to every URL (see the log)"
    ]


def test_urls_expand_from_the_environment_and_name_what_is_missing() -> None:
    config = NotifyConfig(urls=("tgram://${TG_TOKEN}/12345", "ntfy://${NTFY_TOPIC}"))
    env = {"TG_TOKEN": "123:SECRET", "HEDGETOP_NOTIFY_URLS": "json://127.0.0.1/a json://b/c"}
    urls, problems = expand_urls(config, env)
    assert urls == ["tgram://123:SECRET/12345", "json://127.0.0.1/a", "json://b/c"]
    assert problems == ["notify.urls[1] (ntfy://…): ${NTFY_TOPIC} is not set: left out"]


def test_config_notify_table_is_validated_without_echoing_urls() -> None:
    cfg = parse_config(
        '[notify]\nurls = ["ntfy://topic"]\nquiet_hours = "22:30-06:45"\n'
        'timezone = "Europe/Paris"\nurgent = ["liq_distance", "order"]\nmin_interval_s = 30\n'
    )
    assert cfg.notify.quiet_hours == (22 * 60 + 30, 6 * 60 + 45)
    assert cfg.notify.urgent == ("liq_distance", "order")
    assert cfg.notify.min_interval_s == 30
    bad = {
        'urls = ["not a url SECRETVALUE"]': "notify.urls[0]",
        'urls = ["tgram://${1BAD}/x"]': "not an environment variable name",
        'url = ["tgram://SECRETVALUE/1"]': "notify.url",
        'quiet_hours = "22h-7h"': "notify.quiet_hours",
        'quiet_hours = "25:00-07:00"': "hours 00-23",
        'timezone = "Mars/Olympus"': "unknown time zone",
        'urgent = ["liquidation"]': "unknown rule 'liquidation'",
        "min_interval_s = -1": "notify.min_interval_s",
    }
    for line, needle in bad.items():
        with pytest.raises(ConfigError) as exc:
            parse_config(f"[notify]\n{line}\n", source="c.toml")
        assert needle in str(exc.value), line
        assert "SECRETVALUE" not in str(exc.value)
        assert str(exc.value).startswith("c.toml:2:")
