from actions.smalltalk.handlers import router

__all__ = ["router"]
