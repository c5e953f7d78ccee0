"""The WhatsApp channel (Cloud API, plain aiohttp calls): webhook, replies, templates, voice.

``registration`` (the ``wa.me`` deep link) imports nothing heavy, for the command line.
"""
