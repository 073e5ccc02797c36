"""Kazaplan's v3 API, as far as a linked partner uses it.

Bodies follow the schemas of Kazaplan's published openapi-v3.json: ``User``,
``PlansLists`` and ``Plan``. Where the schema and the guide's example disagree
(the example shows ``null`` for ``gender``, ``address`` or ``nbPlans``, which the
schema types as integer or string), the schema wins: empty strings, ``0`` and
the plan count as a string.
"""

import math
import struct
import zlib
from datetime import UTC

from pyramid.response import Response

from kzlink.simulator.views.common import (
    authenticated,
    json_response,
    server_to_server,
    simulator,
)

MAX_LIMIT = 100


@server_to_server
@authenticated
def current_user(request, user, client):
    plans = simulator(request).plans_of(user.id)
    return json_response(user_body(request, user, len(plans)))


@server_to_server
@authenticated
def user_plans(request, user, client):
    try:
        page = _positive(request.GET.get("page", "1"))
        limit = min(_positive(request.GET.get("limit", "20")), MAX_LIMIT)
    except ValueError:
        body = {"status": "error", "code": 400, "message": "Bad page or limit."}
        return json_response(body, status=400)
    plans = simulator(request).plans_of(user.id)
    return json_response(plans_body(request, user, plans, page, limit))


@server_to_server
@authenticated
def plan_picture(request, user, client):
    plan = simulator(request).plan(int(request.matchdict["plan_id"]))
    if plan is None or plan.user_id != user.id:
        body = {"status": "error", "code": 404, "message": "Plan not found."}
        return json_response(body, status=404)
    return Response(tiny_png(plan.id), content_type="image/png")


def user_body(request, user, plan_count) -> dict:
    base = _base(request)
    return {
        "id": user.id,
        "status": "success",
        "username": user.username,
        "email": user.email,
        "gender": 0,
        "firstName": "",
        "lastName": "",
        "address": "",
        "city": "",
        "phone": "",
        "postalCode": "",
        "countryId": 75,
        "countryCode": "FR",
        "createdAt": timestamp(user.created_at),
        "updatedAt": timestamp(user.created_at),
        "nbPlans": str(plan_count),
        "_links": {
            "self": f"{base}/users/{user.id}",
            "plans": f"{base}/users/{user.id}/plans/{{page}}/{{limit}}",
        },
    }


def plans_body(request, user, plans, page, limit) -> dict:
    """One page of ``plans``; ``pages`` is at least 1, even with no plan."""
    pages = max(1, math.ceil(len(plans) / limit))
    shown = plans[(page - 1) * limit : page * limit]
    url = request.route_url("simulator.v3_plans")
    links = {"self": f"{url}?page={page}&limit={limit}"}
    links["first"] = f"{url}?page=1&limit={limit}"
    links["last"] = f"{url}?page={pages}&limit={limit}"
    if page < pages:
        links["next"] = f"{url}?page={page + 1}&limit={limit}"
    if page > 1:
        links["previous"] = f"{url}?page={page - 1}&limit={limit}"
    return {
        "status": "success",
        "page": page,
        "limit": limit,
        "count": len(plans),
        "pages": pages,
        "_links": links,
        "results": [plan_body(request, user, plan) for plan in shown],
    }


def plan_body(request, user, plan) -> dict:
    picture = request.route_url("simulator.v3_plan_png", plan_id=plan.id)
    return {
        "id": str(plan.id),
        "title": plan.title,
        "partnerId": plan.partner_key,
        "created_at": timestamp(plan.created_at),
        "updatedAt": timestamp(plan.updated_at),
        "deleted_at": None,
        "userId": user.id,
        "version": str(plan.version),
        "custom_id": None,
        "email": user.email,
        "last_name": None,
        "first_name": None,
        "postal_code": None,
        "phone": None,
        "isTemplate": False,
        "medias": {"thumbnail": picture},
    }


def timestamp(moment) -> str:
    """Kazaplan's format: UTC, milliseconds, ``Z``."""
    moment = moment.astimezone(UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def tiny_png(seed: int) -> bytes:
    """A 1x1 PNG whose colour depends on ``seed``."""
    pixel = b"\x00" + bytes(((seed * 37) % 256, (seed * 91) % 256, 200))
    header = struct.pack(">IIBBBBB", 1, 1, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + _chunk(b"IHDR", header)
        + _chunk(b"IDAT", zlib.compress(pixel))
        + _chunk(b"IEND", b"")
    )


def _chunk(kind: bytes, data: bytes) -> bytes:
    crc = zlib.crc32(kind + data) & 0xFFFFFFFF
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", crc)


def _positive(text: str) -> int:
    value = int(text)
    if value < 1:
        raise ValueError(text)
    return value


def _base(request) -> str:
    return request.route_url("simulator.v3_user").removesuffix("/v3/users")
