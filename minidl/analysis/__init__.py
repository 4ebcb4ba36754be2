"""Analyses that explain training: gradient checks (and, later, gradient flow, lesions, landscapes)."""
from .gradcheck import GradcheckError, check_gradients, gradcheck

__all__ = ["gradcheck", "check_gradients", "GradcheckError"]
