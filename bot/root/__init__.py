"""The composition root: settings in, running parts out; the command line."""
