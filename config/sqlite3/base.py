"""Django's SQLite backend, told how many query parameters this SQLite really accepts.

Django assumes SQLite's pre-3.32 limit of 999 variables per statement, so a bulk insert of a
16-column row goes out 62 rows at a time; SQLite 3.32+ allows 32,766. Reading the real limit
makes imports send a few large statements instead of hundreds of small ones.
"""

import sqlite3

from django.db.backends.sqlite3 import base, features
from django.utils.functional import cached_property

DJANGO_ASSUMED_LIMIT = 999


class DatabaseFeatures(features.DatabaseFeatures):
    @cached_property
    def max_query_params(self):
        self.connection.ensure_connection()
        limit = self.connection.connection.getlimit(sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER)
        return max(limit, DJANGO_ASSUMED_LIMIT)


class DatabaseWrapper(base.DatabaseWrapper):
    features_class = DatabaseFeatures
