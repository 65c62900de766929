"""The WSGI entry point gunicorn serves: ``flight_app.wsgi:app``."""

from flight_app.app import create_app

app = create_app()
