"""A local stand-in for GitHub's OAuth and user API, for tests.

GitHub cannot be reached from here, so tests point allauth's GitHub provider at
this server through GITHUB_URL (the GitHub Enterprise setting): allauth then sends
the browser to {url}/login/oauth/authorize, exchanges the code at
{url}/login/oauth/access_token and reads {url}/api/v3/user and /api/v3/user/emails,
exactly as it would on github.com. Authorizing is automatic, as the person in
`user` (change it between logins to play another GitHub account).

It also plays GitHub's REST API for the GitHub App (at {url}/api/v3, GITHUB_API_URL):
installation access tokens (the App's RS256 JWT checked against `app_public_key`),
installation repositories, the user's installations and organization memberships,
repositories, branches, languages, pull requests (with reviewers), commits, contents
and git refs, with Link pagination, 404, 422 and a 403 rate limit with its reset
(`rate_limit_next`).
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
import secrets
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, unquote, urlencode, urlsplit

import jwt


@dataclass
class GitHubUser:
    id: int
    login: str
    name: str
    email: str
    verified: bool = True


@dataclass
class Commit:
    sha: str
    message: str
    parent: str | None
    files: dict[str, str]  # the whole tree at this commit: path -> content
    author: str = "octo"


@dataclass
class PullRequest:
    number: int
    title: str
    head: str
    base: str
    body: str
    draft: bool
    state: str = "open"  # open, closed
    merged: bool = False
    user: str = "orchestra-app[bot]"
    reviewers: list[str] = field(default_factory=list)
    team_reviewers: list[str] = field(default_factory=list)


@dataclass
class Repo:
    id: int
    owner: str
    name: str
    default_branch: str = "main"
    private: bool = True
    languages: dict[str, int] = field(default_factory=lambda: {"Python": 9000, "HTML": 1200})
    commits: dict[str, Commit] = field(default_factory=dict)
    branches: dict[str, str] = field(default_factory=dict)  # name -> head sha
    pulls: list[PullRequest] = field(default_factory=list)
    collaborators: set[str] = field(default_factory=lambda: {"octo", "hubot"})

    @property
    def full_name(self) -> str:
        return f"{self.owner}/{self.name}"

    def history(self, sha: str) -> list[Commit]:
        out = []
        current: str | None = sha
        while current is not None:
            commit = self.commits[current]
            out.append(commit)
            current = commit.parent
        return out


@dataclass
class Installation:
    id: int
    account: str
    account_type: str = "Organization"  # or "User"
    repositories: list[str] = field(default_factory=list)  # full names
    suspended: bool = False
    admins: set[str] = field(default_factory=lambda: {"octo"})  # org admins (account type Organization)
    members: set[str] = field(default_factory=set)  # who sees it in GET /user/installations


def _sha(*parts: str) -> str:
    return hashlib.sha1("\x00".join(parts).encode(), usedforsecurity=False).hexdigest()


@dataclass
class GitHubStandIn:
    client_id: str = "standin-client-id"
    client_secret: str = "standin-client-secret"
    user: GitHubUser = field(default_factory=lambda: GitHubUser(4242, "octo", "Octo Cat", "octo@example.com"))
    requests: list[str] = field(default_factory=list)  # "METHOD /path", in order
    # The GitHub App: its id and the public half of the key pair the test generated.
    app_id: int = 1001
    app_public_key: str = ""
    app_slug: str = "orchestra-test"
    installations: dict[int, Installation] = field(default_factory=dict)
    repos: dict[str, Repo] = field(default_factory=dict)
    # Personal access tokens: token -> (login, repository full names it may reach).
    pats: dict[str, tuple[str, list[str]]] = field(default_factory=dict)
    # The next N API calls answer 403 with X-RateLimit-Remaining: 0 (reset in reset_in s).
    rate_limit_next: int = 0
    rate_limit_reset_in: int = 3600
    rate_limit_only: str = ""  # when set, only API paths that start with it are limited
    access_tokens_issued: int = 0
    # Installing the App in the browser (/apps/{slug}/installations/new): GitHub sends the
    # person back to the App's setup URL with the new installation's id (forge_installation_id
    # plays someone editing that id), and the installation sees install_repositories.
    setup_url: str = ""
    install_repositories: list[str] = field(default_factory=list)
    forge_installation_id: int | None = None
    _codes: dict[str, GitHubUser] = field(default_factory=dict)
    _tokens: dict[str, GitHubUser] = field(default_factory=dict)
    _installation_tokens: dict[str, int] = field(default_factory=dict)
    _lock: threading.RLock = field(default_factory=threading.RLock)
    _next_id: int = 500
    _server: ThreadingHTTPServer | None = None

    # --- building the world GitHub holds ----------------------------------------------

    def add_repo(self, full_name: str, *, branches: tuple[str, ...] = ("main",), **kwargs: Any) -> Repo:
        with self._lock:
            owner, name = full_name.split("/")
            self._next_id += 1
            repo = Repo(id=self._next_id, owner=owner, name=name, **kwargs)
            root = Commit(sha=_sha("root"), message="Initial commit", parent=None, files={"README.md": "# hi\n"})
            repo.commits[root.sha] = root
            for branch in {repo.default_branch, *branches}:
                repo.branches[branch] = root.sha
            self.repos[full_name] = repo
            return repo

    def add_installation(self, account: str, repositories: list[str], **kwargs: Any) -> Installation:
        with self._lock:
            self._next_id += 1
            installation = Installation(id=self._next_id, account=account, repositories=list(repositories), **kwargs)
            self.installations[installation.id] = installation
            return installation

    def commit(self, full_name: str, branch: str, files: dict[str, str], message: str, author: str = "octo") -> str:
        """A commit on `branch`, as a person pushing to it would make."""
        with self._lock:
            repo = self.repos[full_name]
            parent = repo.branches[branch]
            tree = {**repo.commits[parent].files, **files}
            # Like git, a commit id depends on its content and parent only (forks share ids).
            sha = _sha(parent, message, json.dumps(tree, sort_keys=True))
            repo.commits[sha] = Commit(sha=sha, message=message, parent=parent, files=tree, author=author)
            repo.branches[branch] = sha
            return sha

    def issue_pat(self, login: str, repositories: list[str]) -> str:
        token = f"github_pat_{secrets.token_hex(20)}"
        self.pats[token] = (login, list(repositories))
        return token

    @property
    def url(self) -> str:
        assert self._server is not None, "not started"
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    def start(self) -> GitHubStandIn:
        standin = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:  # quiet
                pass

            def do_GET(self) -> None:
                standin._handle(self, "GET")

            def do_POST(self) -> None:
                standin._handle(self, "POST")

            def do_PUT(self) -> None:
                standin._handle(self, "PUT")

            def do_PATCH(self) -> None:
                standin._handle(self, "PATCH")

            def do_DELETE(self) -> None:
                standin._handle(self, "DELETE")

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()

    # --- the endpoints -------------------------------------------------------------

    def _handle(self, handler: BaseHTTPRequestHandler, method: str) -> None:
        parts = urlsplit(handler.path)
        self.requests.append(f"{method} {parts.path}")
        query = {k: v[0] for k, v in parse_qs(parts.query).items()}
        if parts.path.startswith("/api/v3/") and parts.path not in ("/api/v3/user", "/api/v3/user/emails"):
            length = int(handler.headers.get("Content-Length") or 0)
            raw = handler.rfile.read(length) if length else b""
            body = json.loads(raw) if raw else {}
            with self._lock:
                return self._api(handler, method, parts.path.removeprefix("/api/v3"), query, body)
        if method == "GET" and parts.path == f"/apps/{self.app_slug}/installations/new":
            return self._install(handler, query)
        if method == "GET" and parts.path == "/login/oauth/authorize":
            return self._authorize(handler, query)
        if method == "POST" and parts.path == "/login/oauth/access_token":
            length = int(handler.headers.get("Content-Length") or 0)
            form = {k: v[0] for k, v in parse_qs(handler.rfile.read(length).decode()).items()}
            return self._access_token(handler, {**query, **form})
        if method == "GET" and parts.path in ("/api/v3/user", "/api/v3/user/emails"):
            credential = handler.headers.get("Authorization", "").removeprefix("token ").removeprefix("Bearer ")
            user = self._tokens.get(credential.strip())
            if user is None and credential.strip() in self.pats and parts.path == "/api/v3/user":
                return _json(handler, 200, {"id": 7, "login": self.pats[credential.strip()][0], "type": "User"})
            if user is None:
                return _json(handler, 401, {"message": "Bad credentials"})
            if parts.path == "/api/v3/user":
                return _json(
                    handler,
                    200,
                    {
                        "id": user.id,
                        "login": user.login,
                        "name": user.name,
                        "email": user.email,
                        "avatar_url": "",
                        "html_url": f"{self.url}/{user.login}",
                    },
                )
            return _json(
                handler,
                200,
                [{"email": user.email, "primary": True, "verified": user.verified, "visibility": "private"}],
            )
        return _json(handler, 404, {"message": "Not Found"})

    def _install(self, handler: BaseHTTPRequestHandler, query: dict[str, str]) -> None:
        """The person installs the App on their own account and is sent to the setup URL."""
        with self._lock:
            installation = self.add_installation(
                self.user.login,
                list(self.install_repositories),
                account_type="User",
                members={self.user.login},
                admins=set(),
            )
        installation_id = self.forge_installation_id or installation.id
        target = f"{self.setup_url}?" + urlencode(
            {"installation_id": installation_id, "setup_action": "install", "state": query.get("state", "")}
        )
        handler.send_response(302)
        handler.send_header("Location", target)
        handler.send_header("Content-Length", "0")
        handler.end_headers()

    def _authorize(self, handler: BaseHTTPRequestHandler, query: dict[str, str]) -> None:
        if query.get("client_id") != self.client_id or not query.get("redirect_uri"):
            return _json(handler, 400, {"error": "bad authorize request"})
        code = secrets.token_hex(10)
        self._codes[code] = self.user
        target = f"{query['redirect_uri']}?{urlencode({'code': code, 'state': query.get('state', '')})}"
        handler.send_response(302)
        handler.send_header("Location", target)
        handler.send_header("Content-Length", "0")
        handler.end_headers()

    def _access_token(self, handler: BaseHTTPRequestHandler, form: dict[str, str]) -> None:
        if form.get("client_id") != self.client_id or form.get("client_secret") != self.client_secret:
            return _json(handler, 401, {"error": "incorrect_client_credentials"})
        user = self._codes.pop(form.get("code", ""), None)
        if user is None:
            return _json(handler, 400, {"error": "bad_verification_code"})
        # The App's OAuth gives user-to-server tokens (ghu_), like GitHub's.
        token = f"ghu_{secrets.token_hex(18)}"
        self._tokens[token] = user
        return _json(handler, 200, {"access_token": token, "token_type": "bearer", "scope": "read:user,user:email"})

    # --- the REST API of the GitHub App ---------------------------------------------------

    def _credential(self, handler: BaseHTTPRequestHandler) -> str:
        value = handler.headers.get("Authorization", "")
        scheme, _, credential = value.partition(" ")
        return credential.strip() if scheme.lower() in ("token", "bearer") else ""

    def _app_jwt_ok(self, credential: str) -> bool:
        try:
            claims = jwt.decode(
                credential, self.app_public_key, algorithms=["RS256"], options={"require": ["exp", "iat", "iss"]}
            )
        except jwt.PyJWTError:
            return False
        return str(claims["iss"]) == str(self.app_id) and claims["exp"] - claims["iat"] <= 660

    def _installation_json(self, installation: Installation) -> dict[str, Any]:
        return {
            "id": installation.id,
            "account": {
                "login": installation.account,
                "id": hash(installation.account) % 10**6,
                "type": installation.account_type,
            },
            "app_id": self.app_id,
            "app_slug": self.app_slug,
            "target_type": installation.account_type,
            "repository_selection": "selected",
            "suspended_at": "2026-12-01T00:00:00Z" if installation.suspended else None,
            "html_url": f"{self.url}/organizations/{installation.account}/settings/installations/{installation.id}",
        }

    def _repo_json(self, repo: Repo) -> dict[str, Any]:
        return {
            "id": repo.id,
            "name": repo.name,
            "full_name": repo.full_name,
            "owner": {"login": repo.owner},
            "private": repo.private,
            "default_branch": repo.default_branch,
            "html_url": f"{self.url}/{repo.full_name}",
            "description": f"{repo.name} at the stand-in",
        }

    def _pull_json(self, repo: Repo, pull: PullRequest) -> dict[str, Any]:
        return {
            "number": pull.number,
            "title": pull.title,
            "state": pull.state,
            "merged": pull.merged,
            "draft": pull.draft,
            "body": pull.body,
            "html_url": f"{self.url}/{repo.full_name}/pull/{pull.number}",
            "head": {"ref": pull.head, "sha": repo.branches.get(pull.head, ""), "label": f"{repo.owner}:{pull.head}"},
            "base": {"ref": pull.base},
            "user": {"login": pull.user},
            "requested_reviewers": [{"login": r} for r in pull.reviewers],
            "requested_teams": [{"slug": t} for t in pull.team_reviewers],
            "created_at": "2026-12-01T00:00:00Z",
            "updated_at": "2026-12-01T00:00:00Z",
        }

    def _commit_json(self, repo: Repo, commit: Commit) -> dict[str, Any]:
        return {
            "sha": commit.sha,
            "html_url": f"{self.url}/{repo.full_name}/commit/{commit.sha}",
            "commit": {
                "message": commit.message,
                "author": {"name": commit.author, "date": "2026-12-01T00:00:00Z"},
            },
            "author": {"login": commit.author},
        }

    def _page(
        self,
        handler: BaseHTTPRequestHandler,
        path: str,
        query: dict[str, str],
        items: list[Any],
        key: str | None = None,
    ) -> None:
        per_page = max(1, min(100, int(query.get("per_page", "30"))))
        page = max(1, int(query.get("page", "1")))
        chunk = items[(page - 1) * per_page : page * per_page]
        headers = {}
        if page * per_page < len(items):
            following = urlencode({**query, "page": page + 1})
            headers["Link"] = f'<{self.url}/api/v3{path}?{following}>; rel="next"'
        body: Any = {"total_count": len(items), key: chunk} if key else chunk
        return _json(handler, 200, body, headers)

    def _rate_limited(self, handler: BaseHTTPRequestHandler, path: str) -> bool:
        if self.rate_limit_next <= 0 or not path.startswith(self.rate_limit_only):
            return False
        self.rate_limit_next -= 1
        reset = int(time.time()) + self.rate_limit_reset_in
        _json(
            handler,
            403,
            {"message": "API rate limit exceeded for installation."},
            {"X-RateLimit-Limit": "5000", "X-RateLimit-Remaining": "0", "X-RateLimit-Reset": str(reset)},
        )
        return True

    def _repos_for(self, credential: str) -> tuple[str, list[str]] | None:
        """Who a credential is and which repositories it reaches (None: not a token)."""
        if credential in self._installation_tokens:
            installation = self.installations[self._installation_tokens[credential]]
            if installation.suspended:
                return None
            return f"{self.app_slug}[bot]", installation.repositories
        if credential in self.pats:
            return self.pats[credential]
        return None

    def _api(
        self, handler: BaseHTTPRequestHandler, method: str, path: str, query: dict[str, str], body: dict[str, Any]
    ) -> None:
        not_found = {"message": "Not Found", "documentation_url": "https://docs.github.com/rest"}
        if self._rate_limited(handler, path):
            return None
        credential = self._credential(handler)
        # --- as the App (JWT) ---
        match = re.fullmatch(r"/app/installations/(\d+)(/access_tokens)?", path)
        if match:
            if not self._app_jwt_ok(credential):
                return _json(handler, 401, {"message": "A JSON web token could not be decoded"})
            installation = self.installations.get(int(match.group(1)))
            if installation is None:
                return _json(handler, 404, not_found)
            if match.group(2) is None and method == "GET":
                return _json(handler, 200, self._installation_json(installation))
            if match.group(2) is None and method == "DELETE":  # the App uninstalled (by the App itself)
                del self.installations[installation.id]
                handler.send_response(204)
                handler.send_header("Content-Length", "0")
                handler.end_headers()
                return None
            if method == "POST" and match.group(2):
                if installation.suspended:
                    return _json(handler, 403, {"message": "This installation has been suspended"})
                token = f"ghs_{secrets.token_urlsafe(60).replace('-', 'A').replace('_', 'B')}"
                self._installation_tokens[token] = installation.id
                self.access_tokens_issued += 1
                expires = datetime.now(UTC) + timedelta(hours=1)
                return _json(
                    handler,
                    201,
                    {"token": token, "expires_at": expires.strftime("%Y-%m-%dT%H:%M:%SZ"), "permissions": {}},
                )
        # --- as a person (user token of the App's OAuth) ---
        if path == "/user/installations":
            user = self._tokens.get(credential)
            if user is None:
                return _json(handler, 401, {"message": "Bad credentials"})
            mine = [
                self._installation_json(i)
                for i in self.installations.values()
                if user.login in i.members or i.account == user.login
            ]
            return self._page(handler, path, query, mine, key="installations")
        match = re.fullmatch(r"/user/memberships/orgs/([^/]+)", path)
        if match:
            user = self._tokens.get(credential)
            if user is None:
                return _json(handler, 401, {"message": "Bad credentials"})
            for installation in self.installations.values():
                if installation.account == match.group(1) and (
                    user.login in installation.members or user.login in installation.admins
                ):
                    role = "admin" if user.login in installation.admins else "member"
                    return _json(
                        handler, 200, {"state": "active", "role": role, "organization": {"login": installation.account}}
                    )
            return _json(handler, 404, not_found)
        # --- as an installation or a personal access token ---
        reach = self._repos_for(credential)
        if reach is None:
            return _json(handler, 401, {"message": "Bad credentials"})
        login, reachable = reach
        if path == "/installation/repositories":
            repos = [self._repo_json(self.repos[n]) for n in reachable if n in self.repos]
            return self._page(handler, path, query, repos, key="repositories")
        match = re.fullmatch(r"/repos/([^/]+)/([^/]+)(/.*)?", path)
        if not match or f"{match.group(1)}/{match.group(2)}" not in reachable:
            return _json(handler, 404, not_found)
        repo = self.repos.get(f"{match.group(1)}/{match.group(2)}")
        if repo is None:
            return _json(handler, 404, not_found)
        rest = match.group(3) or ""
        return self._repo_api(handler, method, path, rest, query, body, repo, login)

    def _repo_api(
        self,
        handler: BaseHTTPRequestHandler,
        method: str,
        path: str,
        rest: str,
        query: dict[str, str],
        body: dict[str, Any],
        repo: Repo,
        login: str,
    ) -> None:
        not_found = {"message": "Not Found"}
        if rest == "" and method == "GET":
            return _json(handler, 200, self._repo_json(repo))
        if rest == "/languages":
            return _json(handler, 200, repo.languages)
        if rest == "/branches":
            items = [
                {"name": n, "commit": {"sha": sha}, "protected": False} for n, sha in sorted(repo.branches.items())
            ]
            return self._page(handler, path, query, items)
        if rest == "/commits":
            branch = query.get("sha", repo.default_branch)
            if branch not in repo.branches:
                return _json(handler, 404, {"message": f"No commit found for SHA: {branch}"})
            items = [self._commit_json(repo, c) for c in repo.history(repo.branches[branch])]
            return self._page(handler, path, query, items)
        match = re.fullmatch(r"/git/ref/heads/(.+)", rest)
        if match and method == "GET":
            sha = repo.branches.get(unquote(match.group(1)))
            if sha is None:
                return _json(handler, 404, not_found)
            return _json(
                handler, 200, {"ref": f"refs/heads/{match.group(1)}", "object": {"sha": sha, "type": "commit"}}
            )
        if rest == "/git/refs" and method == "POST":
            ref = str(body.get("ref", ""))
            if not ref.startswith("refs/heads/") or body.get("sha") not in repo.commits:
                return _json(handler, 422, {"message": "Invalid request."})
            name = ref.removeprefix("refs/heads/")
            if name in repo.branches:
                return _json(handler, 422, {"message": "Reference already exists"})
            repo.branches[name] = body["sha"]
            return _json(handler, 201, {"ref": ref, "object": {"sha": body["sha"], "type": "commit"}})
        match = re.fullmatch(r"/contents/(.+)", rest)
        if match:
            file_path = unquote(match.group(1))
            branch = body.get("branch") if method == "PUT" else query.get("ref", repo.default_branch)
            if branch not in repo.branches:
                return _json(handler, 404, {"message": f"No commit found for the ref {branch}"})
            head = repo.commits[repo.branches[branch]]
            current = head.files.get(file_path)
            blob_sha = _sha("blob", current) if current is not None else None
            if method == "GET":
                if current is None:
                    return _json(handler, 404, not_found)
                encoded = base64.b64encode(current.encode()).decode()
                return _json(
                    handler,
                    200,
                    {"type": "file", "path": file_path, "sha": blob_sha, "encoding": "base64", "content": encoded},
                )
            if method == "PUT":
                if current is not None and body.get("sha") != blob_sha:
                    return _json(handler, 409, {"message": f"{file_path} does not match {body.get('sha')}"})
                if current is None and body.get("sha"):
                    return _json(handler, 422, {"message": 'Invalid request. "sha" wasn\'t supplied.'})
                content = base64.b64decode(str(body.get("content", ""))).decode()
                sha = self.commit(
                    repo.full_name, branch, {file_path: content}, str(body.get("message", "")), author=login
                )
                return _json(
                    handler,
                    201 if current is None else 200,
                    {"content": {"path": file_path, "sha": _sha("blob", content)}, "commit": {"sha": sha}},
                )
        if rest == "/pulls" and method == "GET":
            state = query.get("state", "open")
            pulls = [p for p in repo.pulls if state == "all" or p.state == state]
            if "head" in query:
                pulls = [p for p in pulls if f"{repo.owner}:{p.head}" == query["head"]]
            return self._page(handler, path, query, [self._pull_json(repo, p) for p in reversed(pulls)])
        if rest == "/pulls" and method == "POST":
            head, base = str(body.get("head", "")), str(body.get("base", ""))
            problems = []
            if head not in repo.branches:
                problems.append({"resource": "PullRequest", "field": "head", "code": "invalid"})
            if base not in repo.branches:
                problems.append({"resource": "PullRequest", "field": "base", "code": "invalid"})
            if problems:
                return _json(handler, 422, {"message": "Validation Failed", "errors": problems})
            if any(p.head == head and p.base == base and p.state == "open" for p in repo.pulls):
                message = f"A pull request already exists for {repo.owner}:{head}."
                return _json(
                    handler,
                    422,
                    {
                        "message": "Validation Failed",
                        "errors": [{"resource": "PullRequest", "code": "custom", "message": message}],
                    },
                )
            if repo.branches[head] == repo.branches[base]:
                message = f"No commits between {base} and {head}"
                return _json(
                    handler,
                    422,
                    {
                        "message": "Validation Failed",
                        "errors": [{"resource": "PullRequest", "code": "custom", "message": message}],
                    },
                )
            pull = PullRequest(
                number=len(repo.pulls) + 1,
                title=str(body.get("title", "")),
                head=head,
                base=base,
                body=str(body.get("body") or ""),
                draft=bool(body.get("draft")),
                user=login,
            )
            repo.pulls.append(pull)
            return _json(handler, 201, self._pull_json(repo, pull))
        match = re.fullmatch(r"/pulls/(\d+)(/requested_reviewers)?", rest)
        if match:
            pull = next((p for p in repo.pulls if p.number == int(match.group(1))), None)
            if pull is None:
                return _json(handler, 404, not_found)
            if match.group(2) and method == "POST":
                unknown = [r for r in body.get("reviewers", []) if r not in repo.collaborators]
                if unknown:
                    return _json(
                        handler,
                        422,
                        {
                            "message": "Reviews may only be requested from collaborators. One or more of the "
                            f"users or teams you specified is not a collaborator of the {repo.full_name} repository."
                        },
                    )
                pull.reviewers += list(body.get("reviewers", []))
                pull.team_reviewers += list(body.get("team_reviewers", []))
                return _json(handler, 201, self._pull_json(repo, pull))
            if method == "GET":
                return _json(handler, 200, self._pull_json(repo, pull))
        return _json(handler, 404, not_found)


def _json(handler: BaseHTTPRequestHandler, status: int, body: Any, headers: dict[str, str] | None = None) -> None:
    data = json.dumps(body).encode()
    handler.send_response(status)
    for name, value in (headers or {}).items():
        handler.send_header(name, value)
    handler.send_header("Content-Type", "application/json")
    handler.send_header("Content-Length", str(len(data)))
    handler.end_headers()
    handler.wfile.write(data)
