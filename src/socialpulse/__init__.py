"""socialpulse: self-hostable social media analytics, inbox, creator intelligence, publishing."""

__version__ = "0.1.0"
