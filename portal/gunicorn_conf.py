"""gunicorn settings for the production image (``gunicorn -c portal/gunicorn_conf.py portal.wsgi``): the access
log goes through the same redaction as the application's logs, so callback URLs never show the secret."""

from gunicorn.glogging import Logger

from portal.logs import redact

bind = "0.0.0.0:8000"
workers = 3
accesslog = "-"


class RedactingLogger(Logger):
    def atoms(self, resp, req, environ, request_time):
        atoms = super().atoms(resp, req, environ, request_time)
        return {key: redact(value) if isinstance(value, str) else value for key, value in atoms.items()}


logger_class = RedactingLogger
