"""A fake clock for the roles' injected ``clock``: time-outs are tested without sleeping."""


class FakeClock:
    """A clock that moves only when told (``advance``), or by ``per_call`` at each reading."""

    def __init__(self, t: float = 0.0, per_call: float = 0.0) -> None:
        self.t, self.per_call, self.calls = t, per_call, 0

    def __call__(self) -> float:
        now, self.calls = self.t, self.calls + 1
        self.t += self.per_call
        return now

    def advance(self, seconds: float) -> None:
        self.t += seconds
