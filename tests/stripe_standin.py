"""A local stand-in for Stripe's API, for tests (stripe-mock cannot be installed here).

A real HTTP server: the real `stripe` library (through dj-stripe and billing/) is
pointed at it with STRIPE_API_HOST (`stripe.api_base`). It speaks Stripe's
form-encoded requests (`a[b][0]=x`) and JSON answers for what Orchestra uses: the
account, customers, products, prices (with `lookup_keys`), Checkout Sessions (whose
`url` is a checkout page here with a "Pay" button), Customer Portal sessions,
subscriptions, invoices and webhook endpoints. Requests need `Authorization: Bearer`
with the configured secret key; an `Idempotency-Key` replays the first answer.

`event()` and `sign()` build webhook deliveries the way Stripe does
(`Stripe-Signature: t=…,v1=hex(HMAC-SHA256(secret, "t.payload"))`).
"""

from __future__ import annotations

import hashlib
import hmac
import html
import json
import re
import secrets
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlsplit

API_VERSION = "2026-08-26.dahlia"
ACCOUNT_ID = "acct_1StandIn0000000000"

# Collection path -> object type.
COLLECTIONS = {
    "customers": "customer",
    "products": "product",
    "prices": "price",
    "checkout/sessions": "checkout.session",
    "billing_portal/sessions": "billing_portal.session",
    "subscriptions": "subscription",
    "subscription_items": "subscription_item",
    "invoices": "invoice",
    "webhook_endpoints": "webhook_endpoint",
}
PREFIXES = {
    "customer": "cus",
    "product": "prod",
    "price": "price",
    "checkout.session": "cs_test",
    "billing_portal.session": "bps",
    "subscription": "sub",
    "subscription_item": "si",
    "invoice": "in",
    "webhook_endpoint": "we",
    "event": "evt",
}


def new_id(kind: str) -> str:
    return f"{PREFIXES[kind]}_{secrets.token_hex(12)}"


def decode_form(pairs: list[tuple[str, str]]) -> dict[str, Any]:
    """Stripe's form encoding (`line_items[0][price]=…`) back into nested data."""
    root: dict[str, Any] = {}
    for key, value in pairs:
        parts = re.findall(r"[^\[\]]+", key)
        node = root
        for part in parts[:-1]:
            node = node.setdefault(part, {})
        node[parts[-1]] = value

    def listify(value: Any) -> Any:
        if isinstance(value, dict):
            if value and all(k.isdigit() for k in value):
                return [listify(value[k]) for k in sorted(value, key=int)]
            return {k: listify(v) for k, v in value.items()}
        return value

    result: dict[str, Any] = listify(root)
    return result


def sign(payload: str, secret: str, timestamp: int | None = None) -> str:
    """The Stripe-Signature header for `payload`."""
    timestamp = int(time.time()) if timestamp is None else timestamp
    digest = hmac.new(secret.encode(), f"{timestamp}.{payload}".encode(), hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={digest}"


def _list(data: list[dict[str, Any]], url: str) -> dict[str, Any]:
    return {"object": "list", "data": data, "has_more": False, "url": url}


@dataclass
class StripeStandIn:
    secret_key: str
    objects: dict[str, dict[str, Any]] = field(default_factory=dict)
    requests: list[str] = field(default_factory=list)
    idempotent: dict[str, tuple[int, dict[str, Any]]] = field(default_factory=dict)
    paid_sessions: list[str] = field(default_factory=list)
    failing: bool = False  # every API call answers 500 (Stripe having a bad day)
    _lock: threading.RLock = field(default_factory=threading.RLock)
    _server: ThreadingHTTPServer | None = None

    @property
    def url(self) -> str:
        assert self._server is not None
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    def start(self) -> StripeStandIn:
        standin = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:  # quiet
                pass

            def do_GET(self) -> None:
                standin._handle(self, "GET")

            def do_POST(self) -> None:
                standin._handle(self, "POST")

            def do_DELETE(self) -> None:
                standin._handle(self, "DELETE")

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()

    def reset(self) -> None:
        with self._lock:
            self.objects.clear()
            self.requests.clear()
            self.idempotent.clear()
            self.paid_sessions.clear()
            self.failing = False

    # --- what tests arrange and read -------------------------------------------------

    def of_type(self, kind: str) -> list[dict[str, Any]]:
        with self._lock:
            return [obj for obj in self.objects.values() if obj["object"] == kind]

    def add(self, obj: dict[str, Any]) -> dict[str, Any]:
        with self._lock:
            self.objects[obj["id"]] = obj
        return obj

    def subscribe(self, customer: str, price_id: str, status: str = "active", period_days: int = 30) -> dict[str, Any]:
        """A subscription of `customer` to a price, as Checkout would leave it."""
        now = int(time.time())
        sub_id = new_id("subscription")
        price = self.objects[price_id]
        item = {
            "id": new_id("subscription_item"),
            "object": "subscription_item",
            "price": price,
            "quantity": 1,
            "subscription": sub_id,
            "created": now,
            "current_period_start": now,
            "current_period_end": now + period_days * 86400,
            "metadata": {},
            "tax_rates": [],
            "discounts": [],
        }
        return self.add(
            {
                "id": sub_id,
                "object": "subscription",
                "customer": customer,
                "status": status,
                "items": _list([item], f"/v1/subscription_items?subscription={sub_id}"),
                "cancel_at_period_end": False,
                "cancel_at": None,
                "canceled_at": None,
                "ended_at": None,
                "start_date": now,
                "billing_cycle_anchor": now,
                "created": now,
                "livemode": False,
                "metadata": {},
                "collection_method": "charge_automatically",
                "currency": price.get("currency", "usd"),
                "latest_invoice": None,
                "default_payment_method": None,
                "default_source": None,
                "default_tax_rates": [],
                "discounts": [],
                "pending_setup_intent": None,
                "pending_update": None,
                "schedule": None,
                "trial_start": None,
                "trial_end": None,
            }
        )

    def set_status(self, subscription_id: str, status: str, period_end: int | None = None) -> dict[str, Any]:
        with self._lock:
            subscription = self.objects[subscription_id]
            subscription["status"] = status
            if status == "canceled":
                subscription["canceled_at"] = subscription["ended_at"] = int(time.time())
            if period_end is not None:
                for item in subscription["items"]["data"]:
                    item["current_period_end"] = period_end
            return subscription

    def invoice(self, customer: str, subscription: str, amount: int = 2900) -> dict[str, Any]:
        now = int(time.time())
        invoice_id = new_id("invoice")
        return self.add(
            {
                "id": invoice_id,
                "object": "invoice",
                "customer": customer,
                "status": "open",
                "amount_due": amount,
                "amount_paid": 0,
                "amount_remaining": amount,
                "subtotal": amount,
                "total": amount,
                "currency": "usd",
                "attempt_count": 1,
                "attempted": True,
                "auto_advance": True,
                "billing_reason": "subscription_cycle",
                "collection_method": "charge_automatically",
                "parent": {"type": "subscription_details", "subscription_details": {"subscription": subscription}},
                "lines": _list([], f"/v1/invoices/{invoice_id}/lines"),
                "hosted_invoice_url": f"{self.url}/invoice/{invoice_id}",
                "number": "STANDIN-0001",
                "period_start": now - 30 * 86400,
                "period_end": now,
                "created": now,
                "livemode": False,
                "metadata": {},
                "discounts": [],
                "default_payment_method": None,
                "default_source": None,
            }
        )

    def event(self, kind: str, obj: dict[str, Any], created: int | None = None) -> str:
        """A webhook event's JSON body, as Stripe sends it."""
        return json.dumps(
            {
                "id": new_id("event"),
                "object": "event",
                "api_version": API_VERSION,
                "created": int(time.time()) if created is None else created,
                "type": kind,
                "livemode": False,
                "pending_webhooks": 1,
                "request": {"id": None, "idempotency_key": None},
                "data": {"object": json.loads(json.dumps(obj))},
            }
        )

    def pay(self, session_id: str) -> dict[str, Any]:
        """What the checkout page's Pay button does: the subscription starts."""
        with self._lock:
            session = self.objects[session_id]
            price_id = session["line_items"][0]["price"]
            subscription = self.subscribe(session["customer"], price_id)
            session.update(status="complete", payment_status="paid", subscription=subscription["id"])
            self.paid_sessions.append(session_id)
            return session

    # --- HTTP ----------------------------------------------------------------------

    def _send(self, handler: BaseHTTPRequestHandler, status: int, body: Any, content_type: str = "") -> None:
        data = body.encode() if isinstance(body, str) else json.dumps(body).encode()
        handler.send_response(status)
        handler.send_header("Content-Type", content_type or "application/json")
        handler.send_header("Content-Length", str(len(data)))
        handler.send_header("Request-Id", f"req_{secrets.token_hex(6)}")
        handler.end_headers()
        handler.wfile.write(data)

    def _error(self, status: int, message: str, code: str = "", kind: str = "invalid_request_error") -> Any:
        return status, {"error": {"type": kind, "message": message, **({"code": code} if code else {})}}

    def _handle(self, handler: BaseHTTPRequestHandler, method: str) -> None:
        parts = urlsplit(handler.path)
        length = int(handler.headers.get("Content-Length") or 0)
        raw = handler.rfile.read(length).decode() if length else ""
        params = decode_form(parse_qsl(parts.query, keep_blank_values=True) + parse_qsl(raw, keep_blank_values=True))
        with self._lock:
            self.requests.append(f"{method} {parts.path}")
        # The browser's pages (no key): checkout and the portal.
        if parts.path.startswith(("/checkout/", "/portal/")):
            self._page(handler, method, parts.path)
            return
        if handler.headers.get("Authorization") != f"Bearer {self.secret_key}":
            status, body = self._error(401, "Invalid API Key provided", kind="invalid_request_error")
            self._send(handler, status, body)
            return
        if self.failing:
            self._send(handler, 500, {"error": {"type": "api_error", "message": "An unknown error occurred"}})
            return
        key = handler.headers.get("Idempotency-Key")
        with self._lock:
            if method == "POST" and key and key in self.idempotent:
                status, body = self.idempotent[key]
            else:
                status, body = self._api(method, parts.path, params)
                if method == "POST" and key and status == 200:
                    self.idempotent[key] = (status, body)
        self._send(handler, status, body)

    def _page(self, handler: BaseHTTPRequestHandler, method: str, path: str) -> None:
        match = re.fullmatch(r"/checkout/(cs_test_\w+)", path)
        if match and match.group(1) in self.objects:
            session = self.objects[match.group(1)]
            if method == "POST":
                self.pay(session["id"])
                handler.send_response(303)
                handler.send_header("Location", session["success_url"])
                handler.send_header("Content-Length", "0")
                handler.end_headers()
                return
            price = self.objects[session["line_items"][0]["price"]]
            product = self.objects.get(price["product"], {})
            page = (
                "<!doctype html><html><head><title>Stripe Checkout (stand-in)</title></head><body>"
                f"<h1 id='checkout-title'>Subscribe to {html.escape(product.get('name', ''))}</h1>"
                f"<p id='checkout-amount'>${price['unit_amount'] / 100:.2f} per {price['recurring']['interval']}</p>"
                f"<form method='post' action='{html.escape(path)}'><button id='pay' type='submit'>Pay</button></form>"
                f"<a id='back' href='{html.escape(session['cancel_url'])}'>Back</a></body></html>"
            )
            self._send(handler, 200, page, "text/html; charset=utf-8")
            return
        match = re.fullmatch(r"/portal/(bps_\w+)", path)
        if match and match.group(1) in self.objects:
            session = self.objects[match.group(1)]
            page = (
                "<!doctype html><html><head><title>Customer portal (stand-in)</title></head><body>"
                f"<h1 id='portal-title'>Billing of {html.escape(session['customer'])}</h1>"
                f"<a href='{html.escape(session['return_url'])}'>Return</a></body></html>"
            )
            self._send(handler, 200, page, "text/html; charset=utf-8")
            return
        self._send(handler, 404, "not found", "text/plain")

    def _api(self, method: str, path: str, params: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        now = int(time.time())
        if path == "/v1/account":
            return 200, {
                "id": ACCOUNT_ID,
                "object": "account",
                "type": "standard",
                "email": "billing@standin.test",
                "country": "US",
                "default_currency": "usd",
                "charges_enabled": True,
                "payouts_enabled": True,
                "details_submitted": True,
                "business_profile": {"name": "Orchestra (stand-in)", "url": None},
                "settings": {"dashboard": {"display_name": "Orchestra stand-in"}, "branding": {}},
                "created": now,
                "livemode": False,
                "metadata": {},
            }
        collection, object_id, rest = self._route(path)
        if collection is None:
            return self._error(404, f"Unrecognized request URL ({method}: {path})")
        kind = COLLECTIONS[collection]
        if object_id is None and method == "GET":
            return 200, _list(self._filter(kind, params), path)
        if object_id is None and method == "POST":
            return self._create(kind, params, now)
        assert object_id is not None
        obj = self.objects.get(object_id)
        if obj is not None and rest and method == "GET":
            # A sub-list (a product's features, an invoice's lines): none here.
            return 200, _list([], path)
        if obj is None or obj["object"] != kind or rest:
            return self._error(404, f"No such {kind}: '{object_id}'", code="resource_missing")
        if method == "POST":
            self._update(obj, params)
        if method == "DELETE":
            del self.objects[object_id]
            return 200, {"id": object_id, "object": kind, "deleted": True}
        if kind == "webhook_endpoint":
            return 200, {k: v for k, v in obj.items() if k != "secret"}
        return 200, obj

    def _route(self, path: str) -> tuple[str | None, str | None, str]:
        for collection in sorted(COLLECTIONS, key=len, reverse=True):
            prefix = f"/v1/{collection}"
            if path == prefix:
                return collection, None, ""
            if path.startswith(prefix + "/"):
                object_id, _, rest = path[len(prefix) + 1 :].partition("/")
                return collection, object_id, rest
        return None, None, ""

    def _filter(self, kind: str, params: dict[str, Any]) -> list[dict[str, Any]]:
        found = self.of_type(kind)
        if "lookup_keys" in params:
            found = [obj for obj in found if obj.get("lookup_key") in params["lookup_keys"]]
        if "active" in params:
            found = [obj for obj in found if obj.get("active") == (params["active"] == "true")]
        for name in ("customer", "product", "subscription"):
            if name in params:
                found = [obj for obj in found if obj.get(name) == params[name]]
        if kind == "webhook_endpoint":
            found = [{k: v for k, v in obj.items() if k != "secret"} for obj in found]
        return found

    def _update(self, obj: dict[str, Any], params: dict[str, Any]) -> None:
        for name, value in params.items():
            if name in ("expand",):
                continue
            if name == "metadata":
                obj["metadata"] = {**obj.get("metadata", {}), **value}
            else:
                obj[name] = value

    def _create(self, kind: str, params: dict[str, Any], now: int) -> tuple[int, dict[str, Any]]:
        obj: dict[str, Any] = {
            "id": new_id(kind),
            "object": kind,
            "created": now,
            "livemode": False,
            "metadata": params.get("metadata", {}),
        }
        if kind == "customer":
            obj.update(
                email=params.get("email"),
                name=params.get("name"),
                description=None,
                balance=0,
                currency=None,
                delinquent=False,
                default_source=None,
                invoice_settings={"default_payment_method": None, "custom_fields": None, "footer": None},
                address=None,
                discount=None,
                tax_exempt="none",
                preferred_locales=[],
            )
        elif kind == "product":
            obj.update(name=params["name"], active=True, type="service", description=params.get("description"))
        elif kind == "price":
            if params.get("lookup_key") and any(
                p.get("lookup_key") == params["lookup_key"] for p in self.of_type(kind)
            ):
                return self._error(400, "A price with this lookup_key already exists", code="lookup_key_exists")
            if params.get("product") not in self.objects:
                return self._error(400, f"No such product: '{params.get('product')}'", code="resource_missing")
            recurring = params.get("recurring", {})
            obj.update(
                product=params["product"],
                unit_amount=int(params["unit_amount"]),
                currency=params.get("currency", "usd"),
                lookup_key=params.get("lookup_key"),
                nickname=params.get("nickname"),
                active=True,
                type="recurring" if recurring else "one_time",
                billing_scheme="per_unit",
                tax_behavior="unspecified",
                tiers_mode=None,
                transform_quantity=None,
                recurring={
                    "interval": recurring.get("interval", "month"),
                    "interval_count": int(recurring.get("interval_count", 1)),
                    "usage_type": "licensed",
                    "aggregate_usage": None,
                    "meter": None,
                    "trial_period_days": None,
                }
                if recurring
                else None,
            )
        elif kind == "checkout.session":
            customer = params.get("customer")
            if customer not in self.objects:
                return self._error(400, f"No such customer: '{customer}'", code="resource_missing")
            items = params.get("line_items") or []
            if not items or items[0].get("price") not in self.objects:
                return self._error(400, "line_items[0][price] must name a price", code="resource_missing")
            obj.update(
                url=f"{self.url}/checkout/{obj['id']}",
                mode=params.get("mode"),
                customer=customer,
                line_items=items,
                success_url=params.get("success_url"),
                cancel_url=params.get("cancel_url"),
                client_reference_id=params.get("client_reference_id"),
                status="open",
                payment_status="unpaid",
                subscription=None,
                payment_intent=None,
                setup_intent=None,
                invoice=None,
                currency="usd",
                amount_total=self.objects[items[0]["price"]]["unit_amount"],
                expires_at=now + 86400,
            )
        elif kind == "billing_portal.session":
            customer = params.get("customer")
            if customer not in self.objects:
                return self._error(400, f"No such customer: '{customer}'", code="resource_missing")
            obj.update(url=f"{self.url}/portal/{obj['id']}", customer=customer, return_url=params.get("return_url"))
        elif kind == "webhook_endpoint":
            obj.update(
                url=params["url"],
                enabled_events=params.get("enabled_events", []),
                description=params.get("description"),
                api_version=params.get("api_version") or API_VERSION,
                status="enabled",
                application=None,
                secret=f"whsec_{secrets.token_hex(16)}",
            )
        else:
            return self._error(400, f"creating a {kind} is not supported by the stand-in")
        self.objects[obj["id"]] = obj
        return 200, obj
