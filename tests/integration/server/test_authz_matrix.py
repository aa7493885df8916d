"""Every API route x every kind of caller (issue 15): the documented status, and no other
organisation's identifiers in any answer.

The routes are read from the app's OpenAPI document, so a new route without an entry in
:data:`ROUTES` fails here. Each entry names who may use the route (docs/api.md,
"Authorisation by route"):

- ``any``: every token of the organisation, robots included;
- ``user``: every user role (owner, admin, member, viewer); robots 403;
- ``attest``: owner, admin and member users, and robots within their scope; viewers 403;
- ``admin``: owner and admin users; members, viewers and robots 403;
- ``id-token``: no API token is read: the body's OIDC ID token is the credential, so a
  junk one is 401 for every caller;
- ``public``: no credentials needed (the identity providers people sign in with);
- ``session``: a person's sign-in session only; every API token is 401.

People signed in with a session (``person-<role>``, naming the organisation in
``X-Chainproof-Org``) get what the API tokens of their role get (docs/identity.md, "Roles").

Project roles (docs/identity.md, "Project roles") add two callers, each as a token and as a
signed-in person: ``padmin``, a viewer of the organisation who is the admin of project ``p``
(the project every request names), gets what a viewer gets plus the routes of
:data:`PROJECT_ADMIN` (they administer or attest in ``p``); ``outsider``, a member of the
organisation who is a viewer of project ``q`` only, gets what a member gets except that every
route of :data:`NAMES_P` is denied (403 or 404), and no answer names ``p``'s project,
workflow, contract or run.

and what a robot scoped to *another* project and workflow gets: ``pass`` (its own data) or
``deny`` (403 or 404: it may neither act on nor learn about the first workflow). Callers
without a usable token (none, expired, revoked) get 401 everywhere; another organisation's
owner gets 404 for anything named in the path, never this organisation's data.

"Allowed" means authorisation passed: not 401 or 403 (the request may still be a 404 or 409
for the state the earlier requests left). Each route is tried with a minimal request built
from its OpenAPI schema. SQLite and PostgreSQL.
"""

from __future__ import annotations

import json
import secrets
import time
import uuid
from dataclasses import dataclass
from typing import Any

from tests.integration.conftest import Env
from tests.integration.server.helpers import init_run, setup_workflow

from chainproof.server.db.base import utcnow
from chainproof.server.services import orgs, people, project_members, signin, tokens

ANY, USER, ATTEST, ADMIN, ID_TOKEN = "any", "user", "attest", "admin", "id-token"
PUBLIC, SESSION = "public", "session"
PASS, DENY = "pass", "deny"

#: "METHOD path" → (who may, what a robot scoped elsewhere gets).
ROUTES: dict[str, tuple[str, str]] = {
    "GET /api/v1/whoami": (ANY, PASS),
    "GET /api/v1/org": (ANY, PASS),
    "GET /api/v1/auth/providers": (PUBLIC, PASS),
    "POST /api/v1/auth/sessions": (ID_TOKEN, DENY),
    "GET /api/v1/auth/session": (SESSION, DENY),
    "DELETE /api/v1/auth/session": (SESSION, DENY),
    "GET /api/v1/org/members": (USER, DENY),
    "PATCH /api/v1/org/members/{member}": (ADMIN, DENY),
    "DELETE /api/v1/org/members/{member}": (ADMIN, DENY),
    "POST /api/v1/org/invitations": (ADMIN, DENY),
    "GET /api/v1/org/invitations": (ADMIN, DENY),
    "DELETE /api/v1/org/invitations/{invitation_id}": (ADMIN, DENY),
    "PATCH /api/v1/org": (ADMIN, DENY),
    "GET /api/v1/overview": (USER, DENY),
    "GET /api/v1/audit": (ADMIN, DENY),
    "POST /api/v1/projects": (ADMIN, DENY),
    "GET /api/v1/projects": (USER, DENY),
    "GET /api/v1/projects/{name}": (USER, DENY),
    "POST /api/v1/projects/{name}/block": (ADMIN, DENY),
    "POST /api/v1/projects/{name}/unblock": (ADMIN, DENY),
    "POST /api/v1/projects/{name}/rename": (ADMIN, DENY),
    "GET /api/v1/projects/{name}/members": (USER, DENY),
    "PUT /api/v1/projects/{name}/members/{member}": (ADMIN, DENY),
    "DELETE /api/v1/projects/{name}/members/{member}": (ADMIN, DENY),
    "GET /api/v1/projects/{name}/versions": (USER, DENY),
    "POST /api/v1/projects/{name}/versions/{version}/release": (ADMIN, DENY),
    "POST /api/v1/contracts": (ADMIN, DENY),
    "PUT /api/v1/contracts/{name}": (ADMIN, DENY),
    "GET /api/v1/contracts": (USER, DENY),
    "GET /api/v1/contracts/{name}": (USER, DENY),
    "GET /api/v1/contracts/{name}/diff": (USER, DENY),
    "GET /api/v1/contracts/{name}/rollout": (USER, DENY),
    "POST /api/v1/policies": (ADMIN, DENY),
    "PUT /api/v1/policies/{name}": (ADMIN, DENY),
    "GET /api/v1/policies": (ANY, PASS),
    "GET /api/v1/policies/{name}": (ANY, PASS),
    "POST /api/v1/workflows": (ADMIN, DENY),
    "GET /api/v1/workflows": (USER, DENY),
    "GET /api/v1/workflows/{project}/{name}": (USER, DENY),
    "PATCH /api/v1/workflows/{project}/{name}": (ADMIN, DENY),
    "POST /api/v1/workflows/{project}/{name}/block": (ADMIN, DENY),
    "POST /api/v1/workflows/{project}/{name}/unblock": (ADMIN, DENY),
    "POST /api/v1/workflows/{project}/{name}/rename": (ADMIN, DENY),
    "POST /api/v1/workflows/{project}/{name}/archive": (ADMIN, DENY),
    "POST /api/v1/workflows/{project}/{name}/unarchive": (ADMIN, DENY),
    "DELETE /api/v1/workflows/{project}/{name}": (ADMIN, DENY),
    "PUT /api/v1/workflows/{project}/{name}/cadence": (ADMIN, DENY),
    "GET /api/v1/findings": (USER, DENY),
    "GET /api/v1/discover/{digest}": (USER, DENY),
    "GET /api/v1/components": (USER, DENY),
    "POST /api/v1/findings/{finding_id}/acknowledge": (ADMIN, DENY),
    "POST /api/v1/tokens": (ADMIN, DENY),
    "POST /api/v1/tokens/personal": (USER, DENY),
    "GET /api/v1/tokens/personal": (USER, DENY),
    "GET /api/v1/tokens": (ADMIN, DENY),
    "DELETE /api/v1/tokens/{token_id}": (ADMIN, DENY),
    "POST /api/v1/ci-identities": (ADMIN, DENY),
    "GET /api/v1/ci-identities": (ADMIN, DENY),
    "DELETE /api/v1/ci-identities/{name}": (ADMIN, DENY),
    "POST /api/v1/ci-identities/exchange": (ID_TOKEN, DENY),
    "GET /api/v1/integration-kinds": (USER, DENY),
    "POST /api/v1/integrations": (ADMIN, DENY),
    "GET /api/v1/integrations": (ADMIN, DENY),
    "GET /api/v1/integrations/{name}": (ADMIN, DENY),
    "DELETE /api/v1/integrations/{name}": (ADMIN, DENY),
    "POST /api/v1/integrations/{name}/attach": (ADMIN, DENY),
    "POST /api/v1/integrations/{name}/detach": (ADMIN, DENY),
    "GET /api/v1/integrations/{name}/deliveries": (ADMIN, DENY),
    "POST /api/v1/deliveries/{delivery_id}/redeliver": (ADMIN, DENY),
    "POST /api/v1/runs": (ATTEST, DENY),
    "GET /api/v1/runs": (ANY, PASS),
    "GET /api/v1/runs/{run_id}": (ANY, DENY),
    "POST /api/v1/runs/{run_id}/attestation": (ATTEST, DENY),
    "GET /api/v1/runs/{run_id}/policy-evaluations": (ANY, DENY),
    "POST /api/v1/runs/{run_id}/reset": (ATTEST, DENY),
    "GET /api/v1/runs/{run_id}/state": (ATTEST, DENY),
    "PUT /api/v1/runs/{run_id}/state": (ATTEST, DENY),
    "GET /api/v1/runs/{run_id}/bundle": (ANY, DENY),
    "GET /api/v1/runs/{run_id}/statement": (ANY, DENY),
    "GET /api/v1/runs/{run_id}/vsa": (ANY, DENY),
    "GET /api/v1/runs/{run_id}/provenance": (ANY, DENY),
    "POST /api/v1/cas/tokens": (ATTEST, DENY),
    "POST /api/v1/imports/chainloop": (ADMIN, DENY),
    "POST /api/v1/cas-backends": (ADMIN, DENY),
    "GET /api/v1/cas-backends": (ADMIN, DENY),
    "GET /api/v1/cas-backends/{name}": (ADMIN, DENY),
    "PATCH /api/v1/cas-backends/{name}": (ADMIN, DENY),
    "DELETE /api/v1/cas-backends/{name}": (ADMIN, DENY),
    "POST /api/v1/cas-backends/{name}/validate": (ADMIN, DENY),
    "POST /api/v1/signing/certificates": (ATTEST, DENY),
    "GET /api/v1/signing/ca": (USER, DENY),
    "POST /api/v1/signing/ca/rotate": (ADMIN, DENY),
    "POST /api/v1/signing/keys": (ADMIN, DENY),
    "GET /api/v1/signing/keys": (ANY, PASS),
    "GET /api/v1/trust/root": (ANY, PASS),
    "POST /api/v1/bundles/verify": (USER, DENY),
    "GET /api/v1/tlog/checkpoint": (USER, DENY),
    "GET /api/v1/tlog/entries/{index}": (USER, DENY),
    "GET /api/v1/tlog/proof/consistency": (USER, DENY),
}

#: What the admin of project ``p`` may do beyond a viewer of the organisation.
PROJECT_ADMIN = {
    "POST /api/v1/projects/{name}/block",
    "POST /api/v1/projects/{name}/unblock",
    "POST /api/v1/projects/{name}/versions/{version}/release",
    "POST /api/v1/workflows",
    "PATCH /api/v1/workflows/{project}/{name}",
    "POST /api/v1/workflows/{project}/{name}/block",
    "POST /api/v1/workflows/{project}/{name}/unblock",
    "POST /api/v1/workflows/{project}/{name}/rename",
    "POST /api/v1/workflows/{project}/{name}/archive",
    "POST /api/v1/workflows/{project}/{name}/unarchive",
    "DELETE /api/v1/workflows/{project}/{name}",
    "PUT /api/v1/workflows/{project}/{name}/cadence",
    "POST /api/v1/findings/{finding_id}/acknowledge",
    "POST /api/v1/runs",
    "POST /api/v1/runs/{run_id}/attestation",
    "POST /api/v1/runs/{run_id}/reset",
    "GET /api/v1/runs/{run_id}/state",
    "PUT /api/v1/runs/{run_id}/state",
    "POST /api/v1/signing/certificates",
}
#: Routes that name project ``p``, its workflow or its run (in the path or the body): hidden
#: from a person whose project roles are all elsewhere.
NAMES_P = {
    route
    for route in ROUTES
    if any(part in route for part in ("{run_id}", "/workflows/{project}", "/projects/{name}"))
} | {"GET /api/v1/contracts/{name}", "GET /api/v1/contracts/{name}/diff"}
NAMES_P |= {"GET /api/v1/contracts/{name}/rollout", "POST /api/v1/runs", "POST /api/v1/workflows"}
NAMES_P |= {"POST /api/v1/signing/certificates"}

ROLES = ("owner", "admin", "member", "viewer")
LOCKED_OUT = ("none", "expired", "revoked")
PROJECT_CALLERS = ("padmin", "outsider")
PERSONS = tuple(f"person-{role}" for role in (*ROLES, *PROJECT_CALLERS))


@dataclass
class World:
    env: Env
    callers: dict[str, str | None]
    params: dict[str, str]
    secrets_of_a: set[str]
    scoped_out: set[str]
    #: What a person whose project roles are all elsewhere must never be shown.
    outside: set[str]


#: caller → (organisation role, project, project role).
_PROJECT_ROLES = {"padmin": ("viewer", "p", "admin"), "outsider": ("member", "q", "viewer")}


def _grant(env: Env, session: Any, user_id: str, caller: str) -> str:
    """The organisation role of ``caller``, after granting its project role."""
    if caller not in _PROJECT_ROLES:
        return caller
    role, project, project_role = _PROJECT_ROLES[caller]
    owner = tokens.authenticate(session, env.token)
    project_members.set_member(session, owner, project, user_id, project_role)
    return role


def _user(env: Env, caller: str) -> str:
    with env.sessions.begin() as session:
        org = orgs.get_org(session, env.org["id"])
        role = _PROJECT_ROLES.get(caller, (caller,))[0]
        user = orgs.add_member(session, org, f"{caller}-{secrets.token_hex(3)}", role)
        _grant(env, session, user.id, caller)
        _, secret = tokens.create_user_token(session, org, user, role, f"{caller}-token")
        return secret


def _person(env: Env, caller: str) -> str:
    """A session of a person who signed in and holds ``caller``'s roles."""
    with env.sessions.begin() as session:
        org = orgs.get_org(session, env.org["id"])
        role = _PROJECT_ROLES.get(caller, (caller,))[0]
        user = orgs.add_member(session, org, f"person-{caller}", role)
        _grant(env, session, user.id, caller)
        user.email = f"{caller}-{secrets.token_hex(3)}@example.com"
        _, secret = signin.open_session(session, user, "https://idp.test", 3600, utcnow())
        return secret


def _invitation(env: Env) -> str:
    with env.sessions.begin() as session:
        owner = tokens.authenticate(session, env.token)
        return people.invite(session, owner, f"i{secrets.token_hex(3)}@example.com", "viewer").id


def _target_member(env: Env) -> str:
    with env.sessions.begin() as session:
        return orgs.add_member(session, orgs.get_org(session, env.org["id"]), "target", "member").id


def _world(env: Env) -> World:
    setup_workflow(env)  # project p, contract p-c, workflow build
    setup_workflow(env, project="q", workflow="other")
    run = init_run(env).json()
    expired = env.post("/tokens", {"name": "short", "expires_in_seconds": 1}).json()["token"]
    revoked = env.post("/tokens", {"name": "gone"}).json()
    assert env.delete(f"/tokens/{revoked['id']}").status_code == 204
    target = env.post("/tokens", {"name": "target"}).json()
    users = (*ROLES[1:], *PROJECT_CALLERS)
    callers: dict[str, str | None] = {caller: _user(env, caller) for caller in users}
    callers.update({f"person-{c}": _person(env, c) for c in (*ROLES, *PROJECT_CALLERS)})
    callers.update(
        owner=env.token,
        none=None,
        expired=expired,
        revoked=revoked["token"],
        robot=env.robot("elsewhere", project="q", workflow="other"),
        foreign=env.new_org().token,
    )
    time.sleep(1.1)  # the short token expires
    ids = {env.org["id"], env.org["name"], run["run"]["id"], run["workflow"]["id"]}
    ids.add(target["id"])
    ids |= {p["id"] for p in env.get("/projects").json()["items"]}
    ids |= {t["id"] for t in env.get("/tokens").json()["items"]}
    params = {
        "run_id": run["run"]["id"],
        "token_id": target["id"],
        "finding_id": str(uuid.uuid4()),
        "delivery_id": str(uuid.uuid4()),
        "index": "0",
        "project": "p",
        "version": "1.0",
        "member": _target_member(env),
        "invitation_id": _invitation(env),
        "digest": "sha256:" + "ab" * 32,
    }
    scoped_out = {run["run"]["id"], run["workflow"]["id"]}
    project_p = env.get("/projects/p").json()["id"]
    contract_p = env.get("/contracts/p-c").json()["id"]
    outside = scoped_out | {project_p, contract_p}
    return World(env, callers, params, ids, scoped_out, outside)


_NAMES = {"projects": "p", "contracts": "p-c", "workflows": "build"}
#: Body fields every request fills with project ``p``'s names, so that project roles matter.
_BODY = {"project": "p", "workflow": "build"}


def _value(schema: dict[str, Any], spec: dict[str, Any]) -> Any:
    """A minimal value that satisfies ``schema`` (its required parts only)."""
    if "$ref" in schema:
        name = schema["$ref"].rsplit("/", 1)[-1]
        return _value(spec["components"]["schemas"][name], spec)
    for key in ("anyOf", "oneOf", "allOf"):
        if key in schema:
            return _value(schema[key][0], spec)
    if "enum" in schema:
        return schema["enum"][0]
    kind = schema.get("type", "object")
    if kind == "object":
        props = schema.get("properties", {})
        return {k: _value(props[k], spec) for k in schema.get("required", [])}
    if kind == "array":
        return []
    if kind in ("integer", "number"):
        return max(1, int(schema.get("minimum", 1)))
    if kind == "boolean":
        return False
    return "x" * max(1, int(schema.get("minLength", 1)))


def _request(
    path: str, method: str, world: World, spec: dict[str, Any], *, names_p: bool = False
) -> dict[str, Any]:
    """URL and JSON body of a minimal valid request to ``path``; with ``names_p``, its body
    names project ``p``, workflow ``build`` and the run (for the project-role callers)."""
    operation = spec["paths"][path][method.lower()]
    url = path
    query: dict[str, Any] = {}
    for param in operation.get("parameters", []):
        name = param["name"]
        if param["in"] == "path":
            if name == "name":
                section = path.split("/")[3]
                value = _NAMES.get(section, "none")
            else:
                value = world.params[name]
            url = url.replace("{" + name + "}", value)
        elif param["in"] == "query" and param.get("required"):
            query[name] = _value(param["schema"], spec)
    request: dict[str, Any] = {"method": method, "url": url, "params": query}
    body = operation.get("requestBody", {}).get("content", {}).get("application/json")
    if body is not None:
        value = _value(body["schema"], spec)
        if isinstance(value, dict) and names_p:
            value.update({k: v for k, v in _BODY.items() if k in value})
            if "run_id" in value:
                value["run_id"] = world.params["run_id"]
        request["json"] = value
    return request


def _expected(
    caller: str, route: str, who: str, robot: str, has_path_params: bool
) -> set[int] | str:
    """The statuses ``caller`` may get, or PASS (anything but 401/403)."""
    if who == PUBLIC:
        return PASS
    person = caller.startswith("person-")
    if who == SESSION:
        return PASS if person else {401}
    if caller in LOCKED_OUT or who == ID_TOKEN:
        return {401}
    caller = caller.removeprefix("person-")
    if caller == "padmin":
        return PASS if route in PROJECT_ADMIN else _expected("viewer", route, who, robot, False)
    if caller == "outsider":
        return {403, 404} if route in NAMES_P else _expected("member", route, who, robot, False)
    if caller == "foreign":
        # 400: a body that does not match the path is refused before any lookup.
        return {400, 404} if has_path_params else PASS
    if caller == "robot":
        if who in (USER, ADMIN):
            return {403}
        return PASS if robot == PASS else {403, 404}
    allowed = {
        ANY: ROLES,
        USER: ROLES,
        ATTEST: ("owner", "admin", "member"),
        ADMIN: ("owner", "admin"),
    }[who]
    return PASS if caller in allowed else {403}


def _routes(spec: dict[str, Any]) -> list[tuple[str, str]]:
    """Every operation of the app's OpenAPI document: reads, then writes, deletes last."""
    routes = [
        (path, method.upper())
        for path, operations in spec["paths"].items()
        if path.startswith("/api/")
        for method in operations
    ]
    order = {"GET": 0, "POST": 1, "PUT": 1, "PATCH": 1, "DELETE": 2}
    # Signing out ends the people's sessions: last.
    last = ("DELETE", "/api/v1/auth/session")
    return sorted(routes, key=lambda rm: (order[rm[1]], (rm[1], rm[0]) == last, rm[0]))


CALLERS = (
    *LOCKED_OUT,
    "foreign",
    "robot",
    "viewer",
    "member",
    *PROJECT_CALLERS,
    "admin",
    "owner",
    *PERSONS,
)


def test_every_route_answers_every_caller_as_documented(app_client: Env) -> None:
    world = _world(app_client)
    app = app_client.client.app
    spec = app.openapi()
    routes = _routes(spec)
    keys = {f"{method} {path}" for path, method in routes}
    assert keys - ROUTES.keys() == set(), "routes without an authorisation entry"
    assert ROUTES.keys() - keys == set(), "entries for routes that no longer exist"
    wrong: list[str] = []
    tried = 0
    for path, method in routes:
        who, robot = ROUTES[f"{method} {path}"]
        for caller in CALLERS:
            names_p = caller.removeprefix("person-") in PROJECT_CALLERS
            request = _request(path, method, world, spec, names_p=names_p)
            token = world.callers[caller]
            headers = {"Authorization": f"Bearer {token}"} if token else {}
            if caller in PERSONS:
                headers[signin.ORG_HEADER] = app_client.org["name"]
            reply = app_client.client.request(**request, headers=headers)
            tried += 1
            expected = _expected(caller, f"{method} {path}", who, robot, "{" in path)
            got = reply.status_code
            if got >= 500 or (got in (401, 403) if expected == PASS else got not in expected):
                wrong.append(f"{method} {path} as {caller}: {got}, want {expected}")
            hiders = {"foreign": world.secrets_of_a, "robot": world.scoped_out}
            hiders |= {"outsider": world.outside, "person-outsider": world.outside}
            if caller in hiders:
                asked = json.dumps(request)
                hidden = hiders[caller]
                leaked = {s for s in hidden if s in reply.text and s not in asked}
                if leaked:
                    wrong.append(f"{method} {path} as {caller} leaks {leaked}")
    print(f"authz matrix: {len(routes)} routes x {len(CALLERS)} callers = {tried} requests")
    assert wrong == [], "\n".join(wrong)
