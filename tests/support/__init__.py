"""Test infrastructure shared by every test folder: servers, databases, network guard."""
