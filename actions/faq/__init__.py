from actions.faq.handlers import Faq, create_router

__all__ = ["Faq", "create_router"]
