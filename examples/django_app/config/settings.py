"""Settings for the example; the database comes from the environment (the tests set it)."""

import os

SECRET_KEY = "example-only"
USE_TZ = True
INSTALLED_APPS = ["accounts", "profiles"]
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

ENGINE = os.environ.get("DJANGO_DB_ENGINE", "django.db.backends.sqlite3")
if ENGINE.endswith("mysql"):
    import pymysql

    pymysql.version_info = (2, 2, 1, "final", 0)
    pymysql.install_as_MySQLdb()
DATABASES = {
    "default": {
        "ENGINE": ENGINE,
        "NAME": os.environ.get("DJANGO_DB_NAME", "app.db"),
        "USER": os.environ.get("DJANGO_DB_USER", ""),
        "PASSWORD": os.environ.get("DJANGO_DB_PASSWORD", ""),
        "HOST": os.environ.get("DJANGO_DB_HOST", ""),
        "PORT": os.environ.get("DJANGO_DB_PORT", ""),
    }
}
