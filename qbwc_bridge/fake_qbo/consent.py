"""Intuit's consent page, as plain HTML: which app, which company, Connect or Cancel.

The real page asks the person to sign in and pick a company; here the companies of the
fake are listed and the consent realm is preselected, so a browser test only clicks
"Connect".
"""
from __future__ import annotations

from html import escape

PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Intuit - Connect to QuickBooks</title></head>
<body>
<h1>Connect your QuickBooks company</h1>
<p><strong>{app}</strong> wants to access your QuickBooks Online company data (accounting).</p>
<form method="post" action="/connect/oauth2">
{hidden}
<label for="realm">Company</label>
<select id="realm" name="realm">{options}</select>
<button type="submit" name="decision" value="approve">Connect</button>
<button type="submit" name="decision" value="cancel">Cancel</button>
</form>
</body></html>
"""

ERROR_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Intuit - Error</title></head>
<body><h1>We can't connect this app</h1><p>{message}</p></body></html>
"""


def consent_page(app: str, parameters: dict[str, str], companies: list[tuple[str, str]], selected: str | None) -> str:
    hidden = "\n".join(f'<input type="hidden" name="{escape(k)}" value="{escape(v)}">' for k, v in parameters.items())
    options = "".join(
        f'<option value="{escape(realm)}"{" selected" if realm == selected else ""}>{escape(name)} ({escape(realm)})'
        "</option>" for realm, name in companies)
    return PAGE.format(app=escape(app), hidden=hidden, options=options)


def error_page(message: str) -> str:
    return ERROR_PAGE.format(message=escape(message))
