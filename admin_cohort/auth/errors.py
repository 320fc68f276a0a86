class AuthError(Exception):
    """A credential or token is refused; the message is safe to show to the caller."""


class IdentityProviderError(AuthError):
    """The identity provider failed or refused a call: the caller's input was well-formed."""
