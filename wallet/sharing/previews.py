"""Who is opening a share page: a person, or a program fetching a link preview.

When a learner pastes their link into a chat or a social network, the service fetches the page to build
a preview card — often several times, from several services. Those fetches are not an employer looking
at the badge, so the view count the learner sees must leave them out (and ``HEAD`` requests, which
show nothing to anyone). Recognising them by ``User-Agent`` is a heuristic: a program that pretends to
be a browser is counted, and so are scripts (curl, httpx) that say nothing of what they are.
"""

from __future__ import annotations

import re

# The link-preview and crawler agents seen in practice; "bot", "crawler", "spider" and "preview" catch most
# others (Googlebot, bingbot, Discordbot, TelegramBot, Twitterbot, LinkedInBot, SkypeUriPreview …).
_PREVIEW_AGENTS = re.compile(
    r"bot\b|bot/|crawler|spider|preview|facebookexternalhit|facebookcatalog|whatsapp|slack-imgproxy|"
    r"embedly|iframely|vkshare|pinterest|mastodon|pleroma|akkoma|misskey|snapchat|google-pagerenderer|"
    r"outbrain|bitlybot|redditbot|skypeuripreview|microsoftpreview",
    re.IGNORECASE,
)


def is_preview_fetch(*, method: str, user_agent: str | None) -> bool:
    """True when this request should not count as someone viewing the page."""
    if method.upper() != "GET":
        return True
    return bool(user_agent) and _PREVIEW_AGENTS.search(user_agent) is not None
