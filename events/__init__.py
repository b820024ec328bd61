from events.models import DETAIL_TYPES, Envelope, new_run_id

__all__ = ["DETAIL_TYPES", "Envelope", "new_run_id"]
