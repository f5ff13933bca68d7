"""lts-bot: runs a project's Long-Term-Support process on GitHub."""

__version__ = "0.1.0"
