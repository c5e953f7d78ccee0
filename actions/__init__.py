"""The business: capabilities, each a folder with its router, domain service and storage."""
