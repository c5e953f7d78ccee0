"""The guest's rights over their data (LGPD): a copy of it, its erasure, and its retention."""
