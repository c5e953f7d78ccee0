"""The staff console: server-rendered pages under ``/console`` over the services the
composition root passes in (this room knows HTTP and browsers, not hotels)."""
