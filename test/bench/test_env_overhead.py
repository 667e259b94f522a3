"""The env-overhead timing warms both loops up and flips their order every round."""

import env_overhead


def test_best_rates_warms_up_flips_order_and_keeps_the_best_round() -> None:
    calls: list[tuple[str, int]] = []
    now = [0.0]
    cost = {"raw": [5.0, 1.0], "env": [2.0, 4.0]}  # seconds per timed round

    def loop(name: str):
        def run(n: int) -> None:
            timed = [c for c in calls if c[0] == name and c[1] == 100]
            calls.append((name, n))
            if n == 100:
                now[0] += cost[name][len(timed)]

        return run

    rates = env_overhead.best_rates((loop("raw"), loop("env")), 100, 2, clock=lambda: now[0])
    assert calls == [("raw", 10), ("env", 10), ("raw", 100), ("env", 100), ("env", 100),
                     ("raw", 100)]  # fmt: skip
    assert rates == [100.0, 50.0]
