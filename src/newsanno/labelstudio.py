"""Label Studio: the connection, a thin client over the SDK, and the idempotent project push.

This is the only module that imports `label_studio_sdk`. Everything it raises for a user to fix is
a `LabelStudioError` whose message says which problem it is (server down, key refused, wrong URL)
and what to do next.

The push is idempotent and resumable: the projects it made are recorded in
`.newsanno/projects.json`; before sending, it reads the project's full JSON export and sends only
the tasks whose key (`segment_id`, plus `target` for stance) is not there yet. Writes go out with
the SDK's automatic retries off (a retried import would duplicate tasks).
"""

from __future__ import annotations

import html
import json
import os
import re
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import urlparse

import httpx
import orjson
from label_studio_sdk import LabelStudio
from label_studio_sdk.core.api_error import ApiError

from .errors import LabelStudioError, TasksError
from .layers import LAYERS, Layer
from .ontology import Ontology, default_ontology_path
from .server import read_server_file
from .tasks import read_tasks
from .workspace import Workspace, write_atomic

NO_RETRY: dict[str, Any] = {"max_retries": 0}
DEFAULT_BATCH = 500
DEFAULT_TITLE = "newsanno"
TITLE_SEPARATOR = " · "
MAX_TITLE = 50  # Label Studio refuses longer project titles
T = TypeVar("T")

# ---- connection --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Connection:
    """Where Label Studio is and the key to use. The key never appears in repr()."""

    url: str
    api_key: str = field(repr=False)


def _normalize_url(url: str) -> str:
    url = url.strip().rstrip("/")
    parsed = urlparse(url)
    if parsed.scheme not in ("http", "https") or not parsed.netloc:
        raise LabelStudioError(
            f"'{url}' is not a Label Studio URL. Give one like http://127.0.0.1:8080 "
            "(--url or LABEL_STUDIO_URL)."
        )
    return url


def resolve_connection(
    workspace: Workspace, url: str | None = None, api_key: str | None = None
) -> Connection:
    """The Label Studio to talk to: `--url`/`--api-key`, else LABEL_STUDIO_URL /
    LABEL_STUDIO_API_KEY, else the embedded server recorded in `.newsanno/server.json`."""
    url = url or os.environ.get("LABEL_STUDIO_URL") or None
    api_key = api_key or os.environ.get("LABEL_STUDIO_API_KEY") or None
    embedded = read_server_file(workspace)
    if url is None and embedded is not None:
        url = embedded.url
    if url is None:
        raise LabelStudioError(
            "No Label Studio to talk to. Run 'newsanno server start', or set LABEL_STUDIO_URL "
            "and LABEL_STUDIO_API_KEY (or --url and --api-key) for your own server."
        )
    url = _normalize_url(url)
    if api_key is None and embedded is not None and _normalize_url(embedded.url) == url:
        api_key = embedded.api_key
    if not api_key:
        raise LabelStudioError(
            f"No API key for Label Studio at {url}. Set LABEL_STUDIO_API_KEY or --api-key "
            "(Account & Settings → Access Token in Label Studio)."
        )
    return Connection(url=url, api_key=api_key.strip())


# ---- client ------------------------------------------------------------------------------------

# The task list beside the editor names each task by its first visible data column; by default
# that is `context_before`, so every row reads like the task before it. Projects get a view that
# shows the sentence (and, for stance, the target) there, and hides the bookkeeping columns.
TASK_LIST_HIDDEN = [
    *(
        f"tasks:data.{key}"
        for key in (
            "context_before",
            "context_after",
            "doc_start",
            "doc_end",
            "document_id",
            "section",
            "segment_id",
        )
    ),
    *(
        f"tasks:{key}"
        for key in (
            "id",
            "inner_id",
            "completed_at",
            "cancelled_annotations",
            "total_predictions",
            "annotators",
            "annotations_results",
            "annotations_ids",
            "predictions_score",
            "predictions_model_versions",
            "predictions_results",
            "file_upload",
            "storage_filename",
            "created_at",
            "updated_at",
            "updated_by",
            "avg_lead_time",
            "draft_exists",
        )
    ),
]


def _detail(body: Any) -> str:
    if isinstance(body, dict) and len(body) == 1:
        (value,) = body.values()
        if isinstance(value, list) and all(isinstance(v, str) for v in value):
            return "; ".join(value)
    if isinstance(body, dict):
        for key in ("validation_errors", "detail", "message", "error"):
            if body.get(key):
                value = body[key]
                return value if isinstance(value, str) else json.dumps(value, sort_keys=True)
        return json.dumps(body, sort_keys=True)[:300]
    text = re.sub(r"<[^>]+>|\s+", " ", str(body)).strip()
    return text[:300]


class Client:
    """The calls newsanno makes to Label Studio, with errors turned into LabelStudioError."""

    def __init__(self, conn: Connection, timeout: float = 120.0) -> None:
        self.conn = conn
        self.url = conn.url
        try:
            self._ls = LabelStudio(base_url=conn.url, api_key=conn.api_key, timeout=timeout)
        except ApiError as exc:  # an expired or malformed personal access token
            raise self._refused(exc) from None

    # -- error mapping

    def _refused(self, exc: ApiError) -> LabelStudioError:
        return LabelStudioError(
            f"Label Studio at {self.url} refused the API key ({exc.status_code}: "
            f"{_detail(exc.body)}). Set LABEL_STUDIO_API_KEY or --api-key to a valid legacy token "
            "or personal access token, or run 'newsanno server start' for the embedded server."
        )

    def call(self, what: str, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """Run one SDK call; any failure becomes a LabelStudioError that says what to do."""
        try:
            return fn(*args, **kwargs)
        except ApiError as exc:
            if exc.status_code in (401, 403):
                raise self._refused(exc) from None
            if exc.status_code == 404:
                raise LabelStudioError(
                    f"{self.url} answered 404 Not Found to {what}. If that is not the address "
                    "of a Label Studio server, fix LABEL_STUDIO_URL (or --url)."
                ) from None
            raise LabelStudioError(
                f"Label Studio at {self.url} answered {exc.status_code} to {what}: "
                f"{_detail(exc.body)}"
            ) from None
        except (httpx.ConnectError, httpx.ConnectTimeout) as exc:
            raise LabelStudioError(
                f"Label Studio at {self.url} does not answer ({_reason(exc)}). Start it with "
                "'newsanno server start', or check LABEL_STUDIO_URL / --url."
            ) from None
        except (httpx.TransportError, httpx.DecodingError) as exc:
            raise LabelStudioError(
                f"Label Studio at {self.url} stopped answering during {what} ({_reason(exc)}). "
                "Check that it runs ('newsanno server status'), then run the command again: "
                "it resumes where it stopped."
            ) from None
        except (json.JSONDecodeError, ValueError) as exc:
            raise LabelStudioError(
                f"{self.url} did not answer {what} like Label Studio does ({exc}). Check "
                "LABEL_STUDIO_URL (or --url)."
            ) from None

    def _raw(self, method: str, path: str, json_body: Any = None) -> httpx.Response:
        """A request the SDK has no method for, with the SDK's auth and no retries."""
        wrapper = self._ls._client_wrapper
        return self.call(
            f"{method} /{path}",
            wrapper.httpx_client.request,
            path,
            method=method,
            json=json_body,
            request_options=NO_RETRY,
        )

    # -- identity

    def whoami(self) -> int:
        """The id of the user the key belongs to (also checks the URL and the key)."""
        user = self.call("GET /api/current-user/whoami", self._ls.users.whoami)
        if getattr(user, "id", None) is None:
            raise LabelStudioError(
                f"{self.url} did not answer like Label Studio does. Check LABEL_STUDIO_URL."
            )
        return int(user.id)

    def ensure_user(self, email: str, password: str) -> int:
        """The id of the account `email` in the caller's organization, created if missing.

        For attributing annotations (`create_annotation(completed_by=…)`). Label Studio 1.23's
        API stores no password for users it creates this way; the password is sent anyway for
        servers that do.
        """
        for user in self.call("listing users", self._ls.users.list):
            if (user.email or "").lower() == email.lower():
                return _id(user, "user")
        me = self.call("GET /api/current-user/whoami", self._ls.users.whoami)
        username = re.sub(r"[^A-Za-z0-9_.-]", "_", email.split("@")[0])
        user = self.call(
            f"creating user {email}",
            self._ls.users.create,
            username=username,
            email=email,
            password=password,
            active_organization=getattr(me, "active_organization", None),
            request_options=NO_RETRY,
        )
        return _id(user, "user")

    # -- projects

    def project_url(self, project_id: int) -> str:
        return f"{self.url}/projects/{project_id}"

    def validate_config(self, label_config: str, source: str = "labeling config") -> None:
        """Ask the server whether a labeling config is valid, without a project
        (`POST /api/projects/validate/`: its reasons are clearer than an offline check's)."""
        resp = self._raw("POST", "api/projects/validate/", {"label_config": label_config})
        if resp.status_code == 400:
            raise TasksError(
                f"{source}: Label Studio refuses this labeling config: {_detail(_json(resp))}. "
                "Fix the ontology, then run 'newsanno tasks build'."
            )
        if resp.status_code in (401, 403):
            raise self._refused(ApiError(status_code=resp.status_code, body=_json(resp)))
        if resp.status_code >= 300:
            raise LabelStudioError(
                f"Label Studio at {self.url} answered {resp.status_code} to a config check: "
                f"{_detail(_json(resp))}"
            )

    def create_project(
        self, title: str, label_config: str, description: str = "", expert_instruction: str = ""
    ) -> int:
        project = self.call(
            f"creating project '{title}'",
            self._ls.projects.create,
            title=title,
            label_config=label_config,
            description=description,
            expert_instruction=expert_instruction,
            show_instruction=bool(expert_instruction),
            request_options=NO_RETRY,
        )
        return _id(project, "project")

    def create_task_list_view(self, project_id: int) -> None:
        """The data manager view annotators see the task list through (see TASK_LIST_HIDDEN)."""
        body = {
            "project": project_id,
            "data": {
                "title": "Tasks",
                "hiddenColumns": {"explore": [], "labeling": TASK_LIST_HIDDEN},
            },
        }
        resp = self._raw("POST", "api/dm/views/", body)
        if resp.status_code >= 300:
            raise LabelStudioError(
                f"Label Studio at {self.url} answered {resp.status_code} to creating the task "
                f"list view of project {project_id}: {_detail(_json(resp))}"
            )

    def get_project(self, project_id: int) -> dict[str, Any] | None:
        """The project's settings, or None if it does not exist (any more)."""
        try:
            project = self._ls.projects.get(project_id)
        except ApiError as exc:
            if exc.status_code == 404:
                return None
            return self.call(f"reading project {project_id}", _raise, exc)
        except Exception as exc:  # noqa: BLE001 — mapped by call()
            return self.call(f"reading project {project_id}", _raise, exc)
        return dict(project.model_dump())

    def find_projects(self, title: str) -> list[int]:
        """Ids of the projects titled exactly `title`."""
        pager: Any = self.call(
            "listing projects", self._ls.projects.list, title=title, page_size=100
        )
        found: list[Any] = self.call("listing projects", list, pager)
        return sorted(_id(p, "project") for p in found if getattr(p, "title", None) == title)

    def update_project(self, project_id: int, **fields: Any) -> None:
        self.call(
            f"updating project {project_id}",
            self._ls.projects.update,
            project_id,
            **fields,
            request_options=NO_RETRY,
        )

    def check_config_change(self, project_id: int, label_config: str) -> str | None:
        """None if the project can take `label_config`, else the server's reason (for instance
        labels still used by annotations would be dropped)."""
        try:
            self._ls.projects.validate_label_config(project_id, label_config=label_config)
        except ApiError as exc:
            if exc.status_code == 400:
                return _detail(exc.body)
            self.call(f"checking the config of project {project_id}", _raise, exc)
        except Exception as exc:  # noqa: BLE001 — mapped by call()
            self.call(f"checking the config of project {project_id}", _raise, exc)
        return None

    def delete_project(self, project_id: int) -> None:
        self.call(f"deleting project {project_id}", self._ls.projects.delete, project_id)

    def task_count(self, project_id: int) -> int:
        project = self.call(f"reading project {project_id}", self._ls.projects.get, project_id)
        return int(project.task_number or 0)

    # -- tasks and annotations

    def import_tasks(self, project_id: int, tasks: Sequence[dict[str, Any]]) -> list[int]:
        """Create `tasks` (with their predictions) in one request, no retry; their new ids."""
        resp = self.call(
            f"importing {len(tasks)} tasks into project {project_id}",
            self._ls.projects.import_tasks,
            project_id,
            request=list(tasks),
            return_task_ids=True,
            request_options=NO_RETRY,
        )
        return [int(i) for i in (getattr(resp, "task_ids", None) or [])]

    def iter_export(self, project_id: int) -> Iterator[bytes]:
        """The project's full JSON export (every task, annotated or not), streamed in chunks."""
        chunks = self.call(
            f"exporting project {project_id}",
            self._ls.projects.exports.download_sync,
            project_id,
            export_type="JSON",
            download_all_tasks=True,
        )
        it = iter(chunks)
        while True:
            chunk = self.call(f"exporting project {project_id}", next, it, None)
            if chunk is None:
                return
            yield chunk

    def export_tasks(self, project_id: int) -> bytes:
        """The project's full JSON export as bytes (a JSON list of tasks)."""
        return b"".join(self.iter_export(project_id))

    def export_json(self, project_id: int) -> list[dict[str, Any]]:
        raw = self.export_tasks(project_id)
        try:
            tasks = orjson.loads(raw)
        except orjson.JSONDecodeError:
            raise LabelStudioError(
                f"The export of project {project_id} from {self.url} is not JSON."
            ) from None
        if not isinstance(tasks, list):
            raise LabelStudioError(f"The export of project {project_id} is not a list of tasks.")
        return tasks

    def delete_task(self, task_id: int) -> None:
        self.call(f"deleting task {task_id}", self._ls.tasks.delete, str(task_id))

    def create_annotation(
        self,
        task_id: int,
        result: list[dict[str, Any]],
        completed_by: int | None = None,
        ground_truth: bool = False,
        lead_time: float | None = None,
    ) -> int:
        """Create one annotation on a task (no retry); its id."""
        fields: dict[str, Any] = {"result": result, "was_cancelled": False}
        if completed_by is not None:
            fields["completed_by"] = completed_by
        if ground_truth:
            fields["ground_truth"] = True
        if lead_time is not None:
            fields["lead_time"] = lead_time
        annotation = self.call(
            f"annotating task {task_id}",
            self._ls.annotations.create,
            task_id,
            **fields,
            request_options=NO_RETRY,
        )
        return int(annotation.id)


def _id(obj: Any, what: str) -> int:
    value = getattr(obj, "id", None)
    if value is None:
        raise LabelStudioError(f"Label Studio answered a {what} without an id.")
    return int(value)


def _raise(exc: BaseException) -> Any:
    raise exc


def _reason(exc: BaseException) -> str:
    text = str(exc).strip() or exc.__class__.__name__
    return text.splitlines()[0][:200]


def _json(resp: httpx.Response) -> Any:
    try:
        return resp.json()
    except ValueError:
        return resp.text


# ---- the idempotent push -----------------------------------------------------------------------

TaskKey = tuple[str, ...]


def task_key(task: dict[str, Any]) -> TaskKey:
    """What identifies a newsanno task: its segment, and for stance its target."""
    data = task.get("data") or {}
    return (str(data.get("segment_id", "")), str(data.get("target", "")))


@dataclass(frozen=True)
class PushResult:
    """One project's push: how many tasks were there, how many were sent."""

    project_id: int
    wanted: int
    already_there: int
    sent: int
    duplicates_on_server: int  # keys found more than once in the project (never made by us)


def push_tasks_to_project(
    client: Client,
    project_id: int,
    tasks: Iterable[dict[str, Any]],
    key: Callable[[dict[str, Any]], TaskKey] = task_key,
    batch_size: int = DEFAULT_BATCH,
    progress: Callable[[int, int], None] | None = None,
    *,
    new_project: bool = False,
) -> PushResult:
    """Send the tasks whose key is not in the project yet, in batches, without retries.

    Safe to run again at any time: after a failure halfway, the next run sends exactly what is
    missing. `progress(sent, to_send)` is called before the first batch and after each one.
    `new_project=True` says the caller has just created the project: it has no task yet, so its
    export is not read back.
    """
    wanted: dict[TaskKey, dict[str, Any]] = {}
    for task in tasks:
        wanted.setdefault(key(task), task)  # the same key twice in the input is one task
    seen: dict[TaskKey, int] = {}
    for existing in () if new_project else client.export_json(project_id):
        k = key(existing)
        seen[k] = seen.get(k, 0) + 1
    missing = [task for k, task in wanted.items() if k not in seen]
    if progress:
        progress(0, len(missing))
    sent = 0
    for start in range(0, len(missing), batch_size):
        batch = missing[start : start + batch_size]
        client.import_tasks(project_id, batch)
        sent += len(batch)
        if progress:
            progress(sent, len(missing))
    return PushResult(
        project_id=project_id,
        wanted=len(wanted),
        already_there=sum(1 for k in wanted if k in seen),
        sent=sent,
        duplicates_on_server=sum(n - 1 for n in seen.values() if n > 1),
    )


# ---- projects.json -----------------------------------------------------------------------------


@dataclass(frozen=True)
class ProjectRef:
    id: int
    title: str
    url: str
    server: str = ""


def load_projects(workspace: Workspace) -> dict[Layer, ProjectRef]:
    """The projects `newsanno project create` made, by layer (empty if none yet)."""
    path = workspace.projects_file
    if not path.is_file():
        return {}
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
        return {
            Layer(layer): ProjectRef(
                id=int(p["id"]), title=p["title"], url=p["url"], server=p.get("server", "")
            )
            for layer, p in raw.get("projects", {}).items()
        }
    except (ValueError, KeyError, TypeError, AttributeError) as exc:
        raise LabelStudioError(
            f"{path} is damaged ({exc.__class__.__name__}: {exc}). Delete it and run "
            "'newsanno project create' again: it finds its projects by title."
        ) from None


def save_projects(workspace: Workspace, projects: dict[Layer, ProjectRef]) -> None:
    """Record the layer projects; other entries of projects.json (the review projects) stay."""
    raw: dict[str, Any] = {}
    if workspace.projects_file.is_file():
        try:
            loaded = json.loads(workspace.projects_file.read_text(encoding="utf-8"))
            raw = loaded if isinstance(loaded, dict) else {}
        except ValueError:
            raw = {}
    raw["projects"] = {
        str(layer): {"id": p.id, "title": p.title, "url": p.url, "server": p.server}
        for layer, p in sorted(projects.items(), key=lambda kv: LAYERS.index(kv[0]))
    }
    workspace.state.mkdir(parents=True, exist_ok=True, mode=0o700)
    text = json.dumps(raw, indent=2, sort_keys=True, ensure_ascii=False) + "\n"
    write_atomic(workspace.projects_file, text)


# ---- instructions ------------------------------------------------------------------------------


def _inline(text: str) -> str:
    text = html.escape(text, quote=False)
    text = re.sub(r"`([^`]+)`", r"<code>\1</code>", text)
    text = re.sub(r"\*\*([^*]+)\*\*", r"<b>\1</b>", text)
    return re.sub(r"(?<![*\w])\*([^*]+)\*(?!\w)", r"<i>\1</i>", text)


def markdown_to_html(markdown: str) -> str:
    """Simple Markdown (headings, lists, paragraphs, bold, italics, code) as simple HTML."""
    out: list[str] = []
    para: list[str] = []
    in_list = False

    def flush() -> None:
        nonlocal in_list
        if para:
            out.append(f"<p>{_inline(' '.join(para))}</p>")
            para.clear()
        if in_list:
            out.append("</ul>")
            in_list = False

    for line in markdown.splitlines():
        stripped = line.strip()
        heading = re.match(r"(#{1,6})\s+(.*)", stripped)
        item = re.match(r"[-*+]\s+(.*)", stripped)
        if not stripped:
            flush()
        elif heading:
            flush()
            level = min(len(heading.group(1)) + 1, 6)
            out.append(f"<h{level}>{_inline(heading.group(2))}</h{level}>")
        elif item:
            if para:
                out.append(f"<p>{_inline(' '.join(para))}</p>")
                para.clear()
            if not in_list:
                out.append("<ul>")
                in_list = True
            out.append(f"<li>{_inline(item.group(1))}</li>")
        elif in_list and line[:1].isspace():
            out[-1] = out[-1][: -len("</li>")] + " " + _inline(stripped) + "</li>"
        else:
            if in_list:
                out.append("</ul>")
                in_list = False
            para.append(stripped)
    flush()
    return "\n".join(out)


def instructions(layer: Layer, ontology: Ontology, guidelines: Path | None = None) -> str:
    """The annotator instructions of a layer (HTML): the ontology's descriptions of its labels,
    then the guidelines file if there is one."""
    e = html.escape
    parts: list[str] = []
    if layer is Layer.ENTITIES:
        parts.append("<h2>Entity types</h2><ul>")
        parts += [f"<li><b>{e(t.name)}</b>: {e(t.description)}</li>" for t in ontology.entity_types]
        parts.append("</ul>")
    elif layer is Layer.EVENTS:
        parts.append("<h2>Event types and their roles</h2><ul>")
        parts += [
            f"<li><b>{e(t.name)}</b>: {e(t.description)} Roles: {e(', '.join(t.roles))}.</li>"
            for t in ontology.event_types
        ]
        parts.append("</ul><h2>Argument entity types</h2><ul>")
        parts += [f"<li><b>{e(t.name)}</b>: {e(t.description)}</li>" for t in ontology.entity_types]
        parts.append("</ul>")
    else:
        parts.append("<h2>Stance</h2>")
        if ontology.stance_description:
            parts.append(f"<p>{e(ontology.stance_description)}</p>")
        parts.append("<ul>")
        parts += [
            f"<li><b>{e(s.name)}</b>: {e(s.description)}</li>" for s in ontology.stance_labels
        ]
        parts.append("</ul>")
    if guidelines is not None and guidelines.is_file():
        parts.append("<hr/>")
        parts.append(markdown_to_html(guidelines.read_text(encoding="utf-8")))
    return "\n".join(parts)


# ---- project create ----------------------------------------------------------------------------


@dataclass(frozen=True)
class ProjectPush:
    layer: Layer
    project: ProjectRef
    created: bool
    config_updated: bool
    result: PushResult
    task_count: int


@dataclass
class PushSummary:
    projects: list[ProjectPush] = field(default_factory=list)

    @property
    def sent(self) -> int:
        return sum(p.result.sent for p in self.projects)

    def rows(self) -> list[tuple[str, int, str, int, int, str]]:
        return [
            (
                str(p.layer),
                p.project.id,
                p.project.url,
                p.task_count,
                p.result.sent,
                "created" if p.created else ("config updated" if p.config_updated else "found"),
            )
            for p in self.projects
        ]


ProgressCallback = Callable[[Layer, int, int], None]


def project_title(prefix: str, layer: Layer) -> str:
    return f"{prefix}{TITLE_SEPARATOR}{layer}"


def _load_ontology(workspace: Workspace) -> Ontology:
    path = workspace.schema / "ontology.json"
    return Ontology.load(path if path.is_file() else default_ontology_path())


def push_projects(
    workspace: Workspace,
    conn: Connection,
    tasks_dir: Path,
    title_prefix: str | None = None,
    layers: Sequence[Layer] = LAYERS,
    progress: ProgressCallback | None = None,
    batch_size: int = DEFAULT_BATCH,
) -> PushSummary:
    """Create (or find) one project per layer and push the tasks it is missing.

    Everything that can be checked is checked before the first write: the key, every tasks file
    and every labeling config (by the server). Projects are recorded in `.newsanno/projects.json`
    as soon as they exist, so an interrupted run resumes with the same projects.
    """
    tasks_dir = Path(tasks_dir)
    layers = list(dict.fromkeys(Layer(layer) for layer in layers)) or list(LAYERS)
    ontology = _load_ontology(workspace)
    guidelines = workspace.schema / "GUIDELINES.md"
    prepared: dict[Layer, tuple[str, list[dict[str, Any]]]] = {}
    for layer in layers:
        xml_path = tasks_dir / f"{layer}.xml"
        if not xml_path.is_file():
            raise TasksError(f"{xml_path}: no such file. Run 'newsanno tasks build' first.")
        prepared[layer] = (
            xml_path.read_text(encoding="utf-8"),
            read_tasks(tasks_dir / f"{layer}.jsonl"),
        )

    records = {k: v for k, v in load_projects(workspace).items() if v.server == conn.url}
    for layer in layers:
        prefix = title_prefix or _recorded_prefix(records.get(layer)) or DEFAULT_TITLE
        if len(project_title(prefix, layer)) > MAX_TITLE:
            longest = max(len(project_title("", layer)) for layer in layers)
            raise LabelStudioError(
                f"The title prefix '{prefix}' is too long: Label Studio project titles hold "
                f"{MAX_TITLE} characters, so use --title with at most {MAX_TITLE - longest}."
            )
    client = Client(conn)
    client.whoami()
    for layer in layers:
        client.validate_config(prepared[layer][0], source=str(tasks_dir / f"{layer}.xml"))

    summary = PushSummary()
    # Resolve (and check) every project before sending any task: a refused config change
    # must leave everything as it was.
    plans: list[tuple[Layer, ProjectRef | None, str, bool, bool]] = []
    for layer in layers:
        xml, _ = prepared[layer]
        instruction = instructions(layer, ontology, guidelines)
        prefix = title_prefix or _recorded_prefix(records.get(layer)) or DEFAULT_TITLE
        title = project_title(prefix, layer)
        ref = find_project(client, records.get(layer), title)
        config_changed = instruction_changed = False
        if ref is not None:
            project = client.get_project(ref.id) or {}
            instruction_changed = (project.get("expert_instruction") or "") != instruction
            if (project.get("label_config") or "").strip() != xml.strip():
                reason = client.check_config_change(ref.id, xml)
                if reason is not None:
                    raise LabelStudioError(
                        f"{tasks_dir / f'{layer}.xml'} changed, and Label Studio refuses it for "
                        f"project {ref.id} '{ref.title}': {reason}. Nothing was changed. Keep the "
                        "labels that annotations use, or create new projects with another --title."
                    )
                config_changed = True
        plans.append((layer, ref, title, config_changed, instruction_changed))

    for layer, ref, title, config_changed, instruction_changed in plans:
        xml, tasks = prepared[layer]
        instruction = instructions(layer, ontology, guidelines)
        created = ref is None
        if ref is None:
            project_id = client.create_project(
                title,
                xml,
                description=f"newsanno {layer} annotation ({ontology.name} {ontology.version})",
                expert_instruction=instruction,
            )
            client.create_task_list_view(project_id)
            ref = ProjectRef(project_id, title, client.project_url(project_id), conn.url)
        elif config_changed:
            client.update_project(ref.id, label_config=xml, expert_instruction=instruction)
        elif instruction_changed:  # new descriptions or guidelines: no annotation depends on them
            client.update_project(ref.id, expert_instruction=instruction, show_instruction=True)
        records[layer] = ref
        save_projects(workspace, {**load_projects(workspace), layer: ref})

        def report(sent: int, total: int, layer: Layer = layer) -> None:
            if progress:
                progress(layer, sent, total)

        result = push_tasks_to_project(
            client,
            ref.id,
            tasks,
            key=task_key,
            batch_size=batch_size,
            progress=report,
            new_project=created,
        )
        # A project created in this run held nothing before: its count is what was sent.
        count = result.sent if created else client.task_count(ref.id)
        summary.projects.append(ProjectPush(layer, ref, created, config_changed, result, count))
    return summary


def _recorded_prefix(ref: ProjectRef | None) -> str | None:
    if ref is None or TITLE_SEPARATOR not in ref.title:
        return None
    return ref.title.rsplit(TITLE_SEPARATOR, 1)[0]


def find_project(client: Client, recorded: ProjectRef | None, title: str) -> ProjectRef | None:
    """The recorded project if it still exists under this title, else the one project with this
    title on the server (a run that died before recording it), else None."""
    if recorded is not None and recorded.title == title and client.get_project(recorded.id):
        return recorded
    ids = client.find_projects(title)
    if len(ids) > 1:
        raise LabelStudioError(
            f"Label Studio at {client.url} has {len(ids)} projects titled '{title}' "
            f"(ids {', '.join(map(str, ids))}). Delete the extra ones or choose another --title."
        )
    if ids:
        return ProjectRef(ids[0], title, client.project_url(ids[0]), client.url)
    return None


__all__ = [
    "Client",
    "find_project",
    "Connection",
    "ProjectPush",
    "ProjectRef",
    "PushResult",
    "PushSummary",
    "instructions",
    "load_projects",
    "push_projects",
    "push_tasks_to_project",
    "resolve_connection",
    "task_key",
]
