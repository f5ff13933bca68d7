"""Errors raised by the GitHub layer, worded so an operator knows what to check."""

from __future__ import annotations


class GitHubAuthError(Exception):
    """GitHub refused, or could not be asked, for App credentials.

    The message never contains the JWT, the private key or a token.
    """

    def __init__(
        self,
        message: str,
        *,
        installation_id: int | None = None,
        status_code: int | None = None,
    ) -> None:
        super().__init__(message)
        self.installation_id = installation_id
        self.status_code = status_code
