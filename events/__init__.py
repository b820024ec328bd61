from events.models import (
    DETAIL_TYPES,
    EVENT_CLASSES,
    Envelope,
    Event,
    new_run_id,
    parse_event,
    parse_event_json,
)

__all__ = ["DETAIL_TYPES", "EVENT_CLASSES", "Envelope", "Event", "new_run_id", "parse_event", "parse_event_json"]
