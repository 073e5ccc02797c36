"""The system clock, as the domain's IClock."""

from datetime import UTC, datetime

from zope.interface import implementer

from kzlink.domain.ports import IClock


@implementer(IClock)
class SystemClock:
    def now(self) -> datetime:
        return datetime.now(UTC)
