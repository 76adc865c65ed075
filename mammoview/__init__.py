"""MammoView: a mammogram review workstation with AI assistance.

Research use only, not for diagnosis.
"""

__version__ = "0.1.0"

RESEARCH_NOTICE = "Research use only, not for diagnosis."
