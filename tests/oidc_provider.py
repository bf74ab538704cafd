"""A small OpenID Connect provider for tests, on a local port in a thread.

It speaks the authorization-code flow as a real identity provider does, so that allauth's
`openid_connect` provider is exercised end to end over HTTP: discovery document, JWKS,
authorize (a consent page with a "Continue" button), token (client secret and PKCE S256
checked, an RS256-signed id_token) and userinfo. Who signs in is set by the test
(`provider.identity`), as if that person had typed their password at the provider.
"""

from __future__ import annotations

import base64
import hashlib
import html
import json
import secrets
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import jwt
from cryptography.hazmat.primitives.asymmetric import rsa

CLIENT_ID = "dashbird-test"
CLIENT_SECRET = "test-client-secret-0123456789"
KID = "test-key-1"


@dataclass
class Identity:
    sub: str
    email: str
    email_verified: bool = True
    name: str = ""


@dataclass
class Grant:
    client_id: str
    redirect_uri: str
    code_challenge: str
    nonce: str | None
    identity: Identity


@dataclass
class OidcProvider:
    """The running provider. `identity` is who "signs in" at the next authorize request."""

    identity: Identity = field(default_factory=lambda: Identity(sub="u-1", email="dana@acme.test"))
    server: ThreadingHTTPServer | None = None
    codes: dict[str, Grant] = field(default_factory=dict)
    tokens: dict[str, Identity] = field(default_factory=dict)
    token_requests: int = 0
    key: rsa.RSAPrivateKey = field(
        default_factory=lambda: rsa.generate_private_key(public_exponent=65537, key_size=2048)
    )

    @property
    def url(self) -> str:
        assert self.server is not None
        host, port = self.server.server_address[:2]
        return f"http://{host!s}:{port}"

    def discovery(self) -> dict[str, Any]:
        return {
            "issuer": self.url,
            "authorization_endpoint": f"{self.url}/authorize",
            "token_endpoint": f"{self.url}/token",
            "userinfo_endpoint": f"{self.url}/userinfo",
            "jwks_uri": f"{self.url}/jwks",
            "response_types_supported": ["code"],
            "subject_types_supported": ["public"],
            "id_token_signing_alg_values_supported": ["RS256"],
            "token_endpoint_auth_methods_supported": ["client_secret_post", "client_secret_basic"],
            "code_challenge_methods_supported": ["S256"],
            "scopes_supported": ["openid", "profile", "email"],
        }

    def jwks(self) -> dict[str, Any]:
        public = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(self.key.public_key()))
        return {"keys": [{**public, "kid": KID, "use": "sig", "alg": "RS256"}]}

    def claims(self, identity: Identity) -> dict[str, Any]:
        return {
            "sub": identity.sub,
            "email": identity.email,
            "email_verified": identity.email_verified,
            "name": identity.name or identity.email,
        }

    def id_token(self, grant: Grant) -> str:
        now = int(time.time())
        payload = {
            "iss": self.url,
            "aud": grant.client_id,
            "iat": now,
            "exp": now + 300,
            **self.claims(grant.identity),
            **({"nonce": grant.nonce} if grant.nonce else {}),
        }
        return jwt.encode(payload, self.key, algorithm="RS256", headers={"kid": KID})

    def settings(self, provider_id: str = "corp", name: str = "Corp ID") -> dict[str, Any]:
        """Django settings that point the dashboard at this provider (as the OIDC_*
        environment variables would)."""
        return {
            "OIDC_SERVER_URL": self.url,
            "OIDC_PROVIDER_ID": provider_id,
            "OIDC_NAME": name,
            "SOCIALACCOUNT_PROVIDERS": {
                "openid_connect": {
                    "OAUTH_PKCE_ENABLED": True,
                    "SCOPE": ["openid", "profile", "email"],
                    "APPS": [
                        {
                            "provider_id": provider_id,
                            "name": name,
                            "client_id": CLIENT_ID,
                            "secret": CLIENT_SECRET,
                            "settings": {"server_url": self.url},
                        }
                    ],
                }
            },
        }


def _b64url_sha256(value: str) -> str:
    return base64.urlsafe_b64encode(hashlib.sha256(value.encode()).digest()).rstrip(b"=").decode()


def _handler(provider: OidcProvider) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: Any) -> None:
            pass

        def _json(self, status: int, body: dict[str, Any]) -> None:
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.send_header("Cache-Control", "no-store")
            self.end_headers()
            self.wfile.write(data)

        def _form(self) -> dict[str, str]:
            length = int(self.headers.get("Content-Length") or 0)
            return {k: v[0] for k, v in parse_qs(self.rfile.read(length).decode()).items()}

        def do_GET(self) -> None:
            parts = urlsplit(self.path)
            query = {k: v[0] for k, v in parse_qs(parts.query).items()}
            if parts.path == "/.well-known/openid-configuration":
                self._json(200, provider.discovery())
            elif parts.path == "/jwks":
                self._json(200, provider.jwks())
            elif parts.path == "/authorize":
                self._consent_page(query)
            elif parts.path == "/userinfo":
                token = self.headers.get("Authorization", "").removeprefix("Bearer ")
                identity = provider.tokens.get(token)
                if identity is None:
                    self._json(401, {"error": "invalid_token"})
                else:
                    self._json(200, provider.claims(identity))
            else:
                self._json(404, {"error": "not_found"})

        def _consent_page(self, query: dict[str, str]) -> None:
            """The provider's own sign-in page, reduced to one button."""
            if query.get("client_id") != CLIENT_ID or query.get("response_type") != "code":
                self._json(400, {"error": "invalid_request"})
                return
            if query.get("code_challenge_method") != "S256" or not query.get("code_challenge"):
                self._json(400, {"error": "invalid_request", "error_description": "PKCE S256 required"})
                return
            hidden = "".join(
                f'<input type="hidden" name="{html.escape(k)}" value="{html.escape(v)}">' for k, v in query.items()
            )
            body = (
                "<!DOCTYPE html><html lang='en'><head><title>Test identity provider</title></head><body>"
                f"<h1>Test identity provider</h1><p>Signed in as {html.escape(provider.identity.email)}</p>"
                f"<form method='post' action='/authorize'>{hidden}<button type='submit'>Continue</button></form>"
                "</body></html>"
            ).encode()
            self.send_response(200)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def do_POST(self) -> None:
            path = urlsplit(self.path).path
            form = self._form()
            if path == "/authorize":
                code = secrets.token_urlsafe(16)
                provider.codes[code] = Grant(
                    client_id=form["client_id"],
                    redirect_uri=form["redirect_uri"],
                    code_challenge=form["code_challenge"],
                    nonce=form.get("nonce"),
                    identity=provider.identity,
                )
                target = form["redirect_uri"] + "?" + urlencode({"code": code, "state": form.get("state", "")})
                self.send_response(302)
                self.send_header("Location", target)
                self.end_headers()
            elif path == "/token":
                self._token(form)
            else:
                self._json(404, {"error": "not_found"})

        def _token(self, form: dict[str, str]) -> None:
            provider.token_requests += 1
            client_id, secret = form.get("client_id"), form.get("client_secret")
            basic = self.headers.get("Authorization", "")
            if basic.startswith("Basic "):
                client_id, _, secret = base64.b64decode(basic[6:]).decode().partition(":")
            if client_id != CLIENT_ID or secret != CLIENT_SECRET:
                self._json(401, {"error": "invalid_client"})
                return
            grant = provider.codes.pop(form.get("code", ""), None)  # a code works once
            if (
                grant is None
                or form.get("grant_type") != "authorization_code"
                or grant.redirect_uri != form.get("redirect_uri")
                or _b64url_sha256(form.get("code_verifier", "")) != grant.code_challenge
            ):
                self._json(400, {"error": "invalid_grant"})
                return
            access_token = secrets.token_urlsafe(24)
            provider.tokens[access_token] = grant.identity
            self._json(
                200,
                {
                    "access_token": access_token,
                    "token_type": "Bearer",
                    "expires_in": 300,
                    "id_token": provider.id_token(grant),
                },
            )

    return Handler


def start() -> OidcProvider:
    provider = OidcProvider()
    provider.server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(provider))
    threading.Thread(target=provider.server.serve_forever, name="oidc-provider", daemon=True).start()
    return provider


def stop(provider: OidcProvider) -> None:
    if provider.server is not None:
        provider.server.shutdown()
        provider.server.server_close()
