"""Teams single sign-on for the web view's tab: the Entra ID token Teams gives the tab
(`getAuthToken`) is checked here — signature against the keys the tenant's OpenID metadata
publishes (the endpoint a setting: COULISSE_WEB_SSO_METADATA_URL), the issuer that metadata
names for the token's tenant, the audience (the tab's application ID URI), and its times.
Tested end to end with locally signed tokens through a fake metadata endpoint on loopback."""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass, field
from typing import Any

import aiohttp
import jwt
from jwt.algorithms import RSAAlgorithm

LEEWAY = 60  # seconds of clock difference between Entra ID and this server


class Invalid(Exception):
    """Not a token for this tab from the tenant it names."""


@dataclass(frozen=True)
class Claims:
    tenant: str  # tid: the Teams workspace
    object_id: str  # oid: the person in Entra ID (Teams' aadObjectId)


@dataclass
class TabSignIn:
    metadata_url: str
    audience: str
    _metadata: dict[str, Any] = field(default_factory=dict)
    _keys: dict[str, Any] = field(default_factory=dict)
    _lock: asyncio.Lock = field(default_factory=asyncio.Lock)

    async def _get(self, url: str) -> dict[str, Any]:
        timeout = aiohttp.ClientTimeout(total=10)
        async with aiohttp.ClientSession(timeout=timeout) as http, http.get(url) as resp:
            if resp.status != 200:
                raise Invalid(f"{url} answered {resp.status}")
            data: dict[str, Any] = await resp.json(content_type=None)
            return data

    async def _key(self, kid: str, refresh: bool) -> Any:
        async with self._lock:
            if refresh or not self._metadata:
                self._metadata = await self._get(self.metadata_url)
                jwks = await self._get(str(self._metadata["jwks_uri"]))
                self._keys = {
                    k["kid"]: RSAAlgorithm.from_jwk(json.dumps(k))
                    for k in jwks.get("keys", [])
                    if k.get("kty") == "RSA" and "kid" in k
                }
            return self._keys.get(kid)

    async def verify(self, token: str) -> Claims:
        if not self.audience:
            raise Invalid("no audience set (COULISSE_WEB_SSO_AUDIENCE)")
        try:
            header = jwt.get_unverified_header(token)
            unverified = jwt.decode(token, options={"verify_signature": False})
        except jwt.PyJWTError as exc:
            raise Invalid(type(exc).__name__) from None
        kid, tenant = str(header.get("kid", "")), str(unverified.get("tid", ""))
        # Keys roll over: a kid not seen yet fetches the published keys again, once.
        key = await self._key(kid, refresh=False) or await self._key(kid, refresh=True)
        if key is None or not tenant:
            raise Invalid("unknown signing key or no tenant")
        issuer = str(self._metadata.get("issuer", "")).replace("{tenantid}", tenant)
        try:
            claims = jwt.decode(
                token,
                key,
                algorithms=["RS256"],
                audience=self.audience,
                issuer=issuer,
                leeway=LEEWAY,
                options={"require": ["exp", "iat", "aud", "iss", "tid", "oid"]},
            )
        except jwt.PyJWTError as exc:
            raise Invalid(type(exc).__name__) from None
        return Claims(str(claims["tid"]), str(claims["oid"]))
