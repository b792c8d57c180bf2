"""The client's address for login throttling (django-axes' AXES_CLIENT_IP_CALLABLE)."""

from django.conf import settings


def client_ip(request) -> str:
    """REMOTE_ADDR; behind a reverse proxy, the address that proxy saw.

    Each proxy appends the address it received the request from to X-Forwarded-For, so with
    DJANGO_PROXY_COUNT trusted proxies in front, the entry that many places from the right is
    the client as our first proxy saw it; anything to its left was written by the client and
    could be forged.
    """
    remote = request.META.get("REMOTE_ADDR", "")
    count = settings.PROXY_COUNT
    if not count:
        return remote
    forwarded = [part.strip() for part in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",")]
    forwarded = [part for part in forwarded if part]
    return forwarded[-count] if len(forwarded) >= count else remote
