"""Server-rendered pages for people without the app: the claim landing page and the youth worker's display.

Plain Flask blueprints with Jinja templates, one stylesheet and small external scripts (no inline script:
the Content-Security-Policy forbids it). Mobile-first.
"""
