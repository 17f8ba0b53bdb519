"""A real OAuth authorization server for driftwatch's real-server lane.

django-oauth-toolkit (DOT) is the authorization server; a few JSON endpoints
guarded by DOT's scope checks are the protected resource. One process, one
throw-away sqlite database, loopback only:

    python server.py            (configuration from the environment, below)

prints `listening on http://127.0.0.1:PORT` on stdout once it accepts
requests (port 0: the OS picks a free one), then serves until killed.

Environment (read once at start-up):

  DOT_DB                  sqlite file to create (required; a temp dir of the test)
  DOT_CLIENT_ID           the OAuth application's client id (required)
  DOT_CLIENT_SECRET       its client secret (required; stored hashed by DOT)
  DOT_USERS               `name:password,name:password` users to create (required)
  DOT_MODE                refresh-token behaviour, one of
                            non-rotating      ROTATE_REFRESH_TOKEN=False
                            one-time          rotation, no grace, no reuse protection (DOT's default)
                            grace             rotation with REFRESH_TOKEN_GRACE_PERIOD_SECONDS=DOT_GRACE_SECONDS
                            reuse-protection  rotation with REFRESH_TOKEN_REUSE_PROTECTION=True
  DOT_GRACE_SECONDS       grace period in `grace` mode (default 4)
  DOT_REFRESH_EXPIRE_SECONDS   REFRESH_TOKEN_EXPIRE_SECONDS (unset: refresh tokens never expire)
  DOT_ACCESS_EXPIRE_SECONDS    ACCESS_TOKEN_EXPIRE_SECONDS (default 3600)

Endpoints: /accounts/login/ (Django's login form), /o/authorize/, /o/token/,
/o/revoke_token/ (DOT), /api/me (scope `read`), /api/invoices (scope
`read`), /api/metrics (scope `metrics`), and /_control/expire-access-tokens
(POST; test-only: moves every access token's expiry into the past, as if the
night between two runs had passed).

Nothing here prints or logs a token, code, password or client secret.
"""

import os
import random
import sys
import uuid
from datetime import timedelta
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

HERE = os.path.dirname(os.path.abspath(__file__))

MODES = {
    "non-rotating": {"ROTATE_REFRESH_TOKEN": False},
    "one-time": {"ROTATE_REFRESH_TOKEN": True},
    "grace": {"ROTATE_REFRESH_TOKEN": True},
    "reuse-protection": {"ROTATE_REFRESH_TOKEN": True, "REFRESH_TOKEN_REUSE_PROTECTION": True},
}


def env(name, default=None):
    value = os.environ.get(name, default)
    if value is None:
        sys.exit(f"server.py: set {name}")
    return value


def oauth_settings():
    mode = env("DOT_MODE", "one-time")
    if mode not in MODES:
        sys.exit(f"server.py: DOT_MODE must be one of {', '.join(MODES)}, not {mode!r}")
    s = {
        "SCOPES": {
            "read": "Read your profile and invoices",
            "metrics": "Read your metrics",
        },
        "DEFAULT_SCOPES": ["read"],
        "ACCESS_TOKEN_EXPIRE_SECONDS": int(env("DOT_ACCESS_EXPIRE_SECONDS", "3600")),
        "PKCE_REQUIRED": True,
        "ALLOWED_REDIRECT_URI_SCHEMES": ["http", "https"],
    }
    s.update(MODES[mode])
    if mode == "grace":
        s["REFRESH_TOKEN_GRACE_PERIOD_SECONDS"] = int(env("DOT_GRACE_SECONDS", "4"))
    expire = os.environ.get("DOT_REFRESH_EXPIRE_SECONDS")
    if expire:
        s["REFRESH_TOKEN_EXPIRE_SECONDS"] = int(expire)
    return s


def configure():
    from django.conf import settings

    settings.configure(
        DEBUG=False,
        SECRET_KEY=uuid.uuid4().hex + uuid.uuid4().hex,
        ALLOWED_HOSTS=["127.0.0.1", "localhost"],
        ROOT_URLCONF=__name__,
        INSTALLED_APPS=[
            "django.contrib.auth",
            "django.contrib.contenttypes",
            "django.contrib.sessions",
            "oauth2_provider",
        ],
        MIDDLEWARE=[
            "django.contrib.sessions.middleware.SessionMiddleware",
            "django.middleware.csrf.CsrfViewMiddleware",
            "django.contrib.auth.middleware.AuthenticationMiddleware",
        ],
        DATABASES={
            "default": {
                "ENGINE": "django.db.backends.sqlite3",
                "NAME": env("DOT_DB"),
                "OPTIONS": {"timeout": 20},
            }
        },
        TEMPLATES=[
            {
                "BACKEND": "django.template.backends.django.DjangoTemplates",
                "DIRS": [os.path.join(HERE, "templates")],
                "APP_DIRS": True,
                "OPTIONS": {
                    "context_processors": [
                        "django.template.context_processors.request",
                        "django.contrib.auth.context_processors.auth",
                    ]
                },
            }
        ],
        LOGIN_URL="/accounts/login/",
        USE_TZ=True,
        # Fast hashing: passwords and client secrets of throw-away test data.
        PASSWORD_HASHERS=["django.contrib.auth.hashers.MD5PasswordHasher"],
        LOGGING={"version": 1, "disable_existing_loggers": True},
        OAUTH2_PROVIDER=oauth_settings(),
    )
    import django

    django.setup()


# --- the protected resource ------------------------------------------------------------------


def guarded(scope):
    """A view that answers only to a bearer token DOT accepts and whose scopes include `scope`:
    401 `invalid_token` for a missing, unknown, expired or revoked token, 403
    `insufficient_scope` for a valid one without the scope (RFC 6750 §3.1)."""

    def wrap(view):
        def handler(request):
            from django.http import JsonResponse
            from oauth2_provider.oauth2_backends import get_oauthlib_core

            valid, r = get_oauthlib_core().verify_request(request, scopes=[])
            if not valid:
                resp = JsonResponse({"error": "invalid_token"}, status=401)
                resp["WWW-Authenticate"] = 'Bearer error="invalid_token"'
                return resp
            if not r.access_token.allow_scopes([scope]):
                resp = JsonResponse({"error": "insufficient_scope", "scope": scope}, status=403)
                resp["WWW-Authenticate"] = f'Bearer error="insufficient_scope", scope="{scope}"'
                return resp
            return JsonResponse(view(request, r.access_token.user))

        return handler

    return wrap


_MONEY_SERVED = {}


def money(field):
    """An amount that is whole now and then (`1204` as well as `1204.35`): JSON numbers that
    a naive shape inference reads as `integer` one call and `number` the next.

    The first two amounts a server process serves for each `field` carry a fraction, so the baseline the tests
    accept describes the field as `number` (as any baseline does once it has seen one fractional
    night); a baseline that happened to see only whole values would rightly report the first
    fraction as `schema.type-widened` (info), which is not what the rerun tests are about."""
    cents = random.randint(10_000, 500_000)
    served = _MONEY_SERVED[field] = _MONEY_SERVED.get(field, 0) + 1
    if cents % 100 == 0:
        cents += 35
    if served > 2 and random.random() < 0.4:
        return cents // 100
    return round(cents / 100, 2)


def stamp():
    from django.utils import timezone

    return timezone.now().isoformat()


@guarded("read")
def me(request, user):
    return {
        "id": user.pk,
        "username": user.get_username(),
        "email": f"{user.get_username()}@example.test",
        "request_id": str(uuid.uuid4()),
        "served_at": stamp(),
    }


@guarded("read")
def invoices(request, user):
    return {
        "data": [
            {
                "id": f"inv_{uuid.uuid4().hex[:12]}",
                "total": money("invoices"),
                "currency": "EUR",
                "paid": random.random() < 0.5,
                "issued_at": stamp(),
            }
            for _ in range(random.randint(2, 4))
        ],
        "has_more": random.random() < 0.5,
    }


@guarded("metrics")
def metrics(request, user):
    visits = random.randint(1_000, 90_000)
    return {
        "metrics": {
            "total": money("metrics"),
            "visits": visits,
            "conversions": random.randint(1, max(1, visits // 50)),
            "conversion_rate": round(random.uniform(0.5, 4.5), 3),
        },
        "currency": "EUR",
        "generated_at": stamp(),
        "data_complete": True,
    }


def expire_access_tokens(request):
    from django.http import HttpResponseNotAllowed, JsonResponse
    from django.utils import timezone
    from oauth2_provider.models import AccessToken

    if request.method != "POST":
        return HttpResponseNotAllowed(["POST"])
    n = AccessToken.objects.update(expires=timezone.now() - timedelta(seconds=1))
    return JsonResponse({"expired": n})


def urls():
    from django.contrib.auth import views as auth_views
    from django.urls import include, path
    from django.views.decorators.csrf import csrf_exempt

    return [
        path("accounts/login/", auth_views.LoginView.as_view()),
        path("o/", include("oauth2_provider.urls", namespace="oauth2_provider")),
        path("api/me", me),
        path("api/invoices", invoices),
        path("api/metrics", metrics),
        path("_control/expire-access-tokens", csrf_exempt(expire_access_tokens)),
    ]


urlpatterns = []


# --- start-up ---------------------------------------------------------------------------------


def seed():
    from django.contrib.auth import get_user_model
    from django.core.management import call_command
    from oauth2_provider.models import get_application_model

    call_command("migrate", verbosity=0, interactive=False)
    User = get_user_model()
    for pair in env("DOT_USERS").split(","):
        name, _, password = pair.partition(":")
        User.objects.create_user(username=name, password=password)
    Application = get_application_model()
    Application.objects.create(
        name="driftwatch",
        client_id=env("DOT_CLIENT_ID"),
        client_secret=env("DOT_CLIENT_SECRET"),
        client_type=Application.CLIENT_CONFIDENTIAL,
        authorization_grant_type=Application.GRANT_AUTHORIZATION_CODE,
        # RFC 8252 §7.3: DOT ignores the port of a loopback redirect URI, so driftwatch's
        # callback listener may take any free port.
        redirect_uris="http://127.0.0.1/callback",
        skip_authorization=False,
    )


class QuietHandler(WSGIRequestHandler):
    """No access log: request lines would show which tokens are being probed, and the test
    reads only the `listening on` line."""

    def log_message(self, format, *args):
        pass


def main():
    configure()
    global urlpatterns
    urlpatterns = urls()
    seed()
    from django.core.wsgi import get_wsgi_application

    # One request at a time: sqlite has one writer, and a real server's concurrency is not
    # what this lane measures.
    httpd = make_server("127.0.0.1", 0, get_wsgi_application(), WSGIServer, QuietHandler)
    print(f"listening on http://127.0.0.1:{httpd.server_port}", flush=True)
    httpd.serve_forever()


if __name__ == "__main__":
    main()
