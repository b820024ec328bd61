"""Layout-driven parser for Periodic Transaction Reports (PTRs)."""
