from actions.handoff.handlers import create_router

__all__ = ["create_router"]
