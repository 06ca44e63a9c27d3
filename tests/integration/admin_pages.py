"""Helpers for the admin's tests: two accounts, their people, and a client that fills in CSRF tokens."""
from __future__ import annotations

import re
from dataclasses import dataclass

import pytest
from flask import Flask
from flask.testing import FlaskClient
from werkzeug.test import TestResponse

from qbwc_bridge.services.accounts import NewAccount, create_account
from qbwc_bridge.services.users import create_user
from qbwc_bridge.store.db import Store

PASSWORD = "correct horse battery"
_TOKEN = re.compile(r'name="csrf_token" value="([^"]+)"')


@dataclass
class People:
    """Two Desktop accounts, a bookkeeper of each, and one support person."""

    acme: NewAccount
    globex: NewAccount
    acme_bookkeeper: str = "books@acme.test"
    globex_bookkeeper: str = "books@globex.test"
    support: str = "help@bluetrace.test"


def make_people(store: Store) -> People:
    with store.begin() as db:
        acme = create_account(db, "Acme Supply", "desktop")
        globex = create_account(db, "Globex Traders", "desktop")
        people = People(acme, globex)
        create_user(db, people.acme_bookkeeper, PASSWORD, "bookkeeper", acme.account_id)
        create_user(db, people.globex_bookkeeper, PASSWORD, "bookkeeper", globex.account_id)
        create_user(db, people.support, PASSWORD, "support")
    return people


class AdminClient:
    """Flask's test client plus the CSRF token of the last page it read, as a browser would hold it."""

    def __init__(self, app: Flask):
        self.client: FlaskClient = app.test_client()
        self.token: str | None = None

    def get(self, path: str, **kwargs) -> TestResponse:
        response = self.client.get(path, **kwargs)
        found = _TOKEN.search(response.get_data(as_text=True)) if response.mimetype == "text/html" else None
        if found:
            self.token = found.group(1)
        return response

    def post(self, path: str, data: dict | None = None, *, with_token: bool = True, **kwargs) -> TestResponse:
        form = dict(data or {})
        if with_token:
            if self.token is None:
                self.get("/admin/login")
            form["csrf_token"] = self.token
        return self.client.post(path, data=form, **kwargs)

    def login(self, email: str, password: str = PASSWORD) -> TestResponse:
        self.get("/admin/login")
        response = self.post("/admin/login", {"email": email, "password": password})
        if response.status_code == 302:
            self.get("/admin/", follow_redirects=True)  # the new session's token
        return response


@pytest.fixture
def admin_app(settings, store) -> Flask:
    from qbwc_bridge.web.app import create_app

    return create_app(settings, store).flask


@pytest.fixture
def people(store) -> People:
    return make_people(store)


@pytest.fixture
def client(admin_app) -> AdminClient:
    return AdminClient(admin_app)
