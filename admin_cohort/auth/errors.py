class AuthError(Exception):
    """A credential or token is refused; the message is safe to show to the caller."""
