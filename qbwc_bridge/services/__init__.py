"""Use cases: functions that take an open unit of work (a SQLAlchemy Session).

The API, the admin and the CLI call these; none of them touches models directly for
anything that has a rule attached.
"""
