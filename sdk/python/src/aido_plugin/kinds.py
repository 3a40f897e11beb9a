"""The six plugin kinds: one base class each, with the kind's methods.

Generated from aido's action catalog (``aido plugin actions --json``); the
test ``tests/test_catalog.py`` keeps it in step with the catalog as
``docs/plugin-protocol.md`` publishes it.

Each method takes the action's parameters as keyword arguments named as in
the catalog (a parameter named after a Python keyword gets a trailing
underscore: ``from`` is ``from_``). Optional parameters the host leaves out
take the defaults shown: ``None``, the catalog's default, ``()`` for lists
and an empty read-only mapping for objects. Each returns the action's
output as JSON-ready data (dictionaries, lists, strings, numbers;
``datetime`` values are accepted too).

A method a plugin does not override is not listed in its ``initialize``
answer and is answered ``unsupported``.
"""

from __future__ import annotations

from typing import Any, Mapping, Sequence

from .plugin import EMPTY, Plugin, unimplemented, unsupported

__all__ = [
    "TaskManagementPlugin",
    "VersionControlPlugin",
    "DocumentationPlugin",
    "CommunicationPlugin",
    "AIProviderPlugin",
    "MonitoringPlugin",
]


class TaskManagementPlugin(Plugin):
    """A task tracker (Linear, Jira, GitHub Issues, ...).

    Tasks are dictionaries in aido's standard task format.
    """

    KIND = "task_management"
    METHODS = (
        "get_task",
        "create_task",
        "update_task_status",
        "add_comment",
        "get_comments",
        "create_epic",
        "get_project_tasks",
        "assign_task",
        "get_task_history",
    )

    @unimplemented
    async def get_task(self, *, task_id: str) -> dict[str, Any]:
        """Fetches one task by its identifier.

        Parameters:
            task_id: The task's identifier.

        Returns: Task (read action).
        """
        raise unsupported(self, "task_management.get_task")

    @unimplemented
    async def create_task(
        self,
        *,
        title: str,
        description: str = "",
        project: str | None = None,
        status: str | None = None,
        priority: str | None = None,
        assignee: str | None = None,
        labels: Sequence[str] = (),
        due_date: str | None = None,
        epic_id: str | None = None,
        story_points: float | None = None,
        custom_fields: Mapping[str, Any] = EMPTY,
    ) -> dict[str, Any]:
        """Creates a task.

        Parameters:
            title: One-line summary.
            description: Full description, Markdown.
            project: The project (team, repository, Jira project key) to
                create it in; the plugin's configured default when absent.
            status: Initial status; `todo` when absent. One of ``"todo"``,
                ``"in_progress"``, ``"in_review"``, ``"done"``.
            priority: Priority; `medium` when absent. One of ``"low"``,
                ``"medium"``, ``"high"``, ``"critical"``.
            assignee: Assignee.
            labels: Labels.
            due_date: Due date.
            epic_id: The epic it belongs to.
            story_points: Estimate.
            custom_fields: Service-specific fields.

        Returns: Task (write action).
        """
        raise unsupported(self, "task_management.create_task")

    @unimplemented
    async def update_task_status(self, *, task_id: str, status: str) -> dict[str, Any]:
        """Moves a task to another status.

        Parameters:
            task_id: The task's identifier.
            status: The status to move it to. One of ``"todo"``,
                ``"in_progress"``, ``"in_review"``, ``"done"``.

        Returns: Task (write action).
        """
        raise unsupported(self, "task_management.update_task_status")

    @unimplemented
    async def add_comment(self, *, task_id: str, body: str) -> dict[str, Any]:
        """Adds a comment to a task.

        Parameters:
            task_id: The task to comment on.
            body: The comment, Markdown.

        Returns: Comment (write action).
        """
        raise unsupported(self, "task_management.add_comment")

    @unimplemented
    async def get_comments(self, *, task_id: str) -> list[dict[str, Any]]:
        """Lists a task's comments, oldest first.

        Parameters:
            task_id: The task's identifier.

        Returns: Array_of_Comment (read action).
        """
        raise unsupported(self, "task_management.get_comments")

    @unimplemented
    async def create_epic(
        self,
        *,
        title: str,
        description: str = "",
        project: str | None = None,
        labels: Sequence[str] = (),
    ) -> dict[str, Any]:
        """Creates an epic, a group of tasks.

        Parameters:
            title: The epic's name.
            description: What it covers, Markdown.
            project: The project to create it in; the plugin's default when
                absent.
            labels: Labels.

        Returns: Epic (write action).
        """
        raise unsupported(self, "task_management.create_epic")

    @unimplemented
    async def get_project_tasks(
        self,
        *,
        project: str | None = None,
        status: str | None = None,
        assignee: str | None = None,
        labels: Sequence[str] = (),
        epic_id: str | None = None,
        limit: int | None = None,
    ) -> list[dict[str, Any]]:
        """Lists a project's tasks, optionally filtered.

        Parameters:
            project: The project; the plugin's default when absent.
            status: Only tasks in this status. One of ``"todo"``,
                ``"in_progress"``, ``"in_review"``, ``"done"``.
            assignee: Only tasks assigned to this user.
            labels: Only tasks carrying all these labels.
            epic_id: Only tasks of this epic.
            limit: At most this many tasks.

        Returns: Array_of_Task (read action).
        """
        raise unsupported(self, "task_management.get_project_tasks")

    @unimplemented
    async def assign_task(
        self,
        *,
        task_id: str,
        assignee: str | None = None,
    ) -> dict[str, Any]:
        """Assigns a task to someone, or unassigns it.

        Parameters:
            task_id: The task's identifier.
            assignee: Who to assign it to; `null` unassigns it.

        Returns: Task (write action).
        """
        raise unsupported(self, "task_management.assign_task")

    @unimplemented
    async def get_task_history(self, *, task_id: str) -> list[dict[str, Any]]:
        """Lists what happened to a task, oldest first.

        Parameters:
            task_id: The task's identifier.

        Returns: Array_of_TaskHistoryEvent (read action).
        """
        raise unsupported(self, "task_management.get_task_history")


class VersionControlPlugin(Plugin):
    """A git host (GitHub, GitLab, plain git)."""

    KIND = "version_control"
    METHODS = (
        "clone_repository",
        "create_branch",
        "commit_changes",
        "push_branch",
        "create_pull_request",
        "list_pull_requests",
        "get_repository_info",
        "get_file_content",
        "update_file",
    )

    @unimplemented
    async def clone_repository(
        self,
        *,
        repository: str,
        destination: str,
        branch: str | None = None,
        depth: int | None = None,
    ) -> dict[str, Any]:
        """Clones a repository into a local working copy.

        Parameters:
            repository: What to clone: a URL, a local path, or `owner/name`
                on a forge.
            destination: Where to put the working copy; must not exist or be
                empty.
            branch: The branch to check out; the default branch when absent.
            depth: Shallow clone depth; full history when absent.

        Returns: LocalRepository (write action).
        """
        raise unsupported(self, "version_control.clone_repository")

    @unimplemented
    async def create_branch(
        self,
        *,
        workdir: str,
        branch: str,
        from_: str | None = None,
    ) -> dict[str, Any]:
        """Creates a branch in a working copy and checks it out; reuses it if it
        exists.

        Parameters:
            workdir: The working copy.
            branch: The branch's name.
            from_: What to branch from; the current `HEAD` when absent.

        Returns: Branch (write action).
        """
        raise unsupported(self, "version_control.create_branch")

    @unimplemented
    async def commit_changes(
        self,
        *,
        workdir: str,
        message: str,
        files: Sequence[str] = (),
        author: Mapping[str, Any] | None = None,
    ) -> dict[str, Any]:
        """Commits changes in a working copy.

        Parameters:
            workdir: The working copy.
            message: The commit message.
            files: The files to commit, relative to the working copy; every
                change when empty.
            author: The author; the working copy's configured identity when
                absent.

        Returns: Commit (write action).
        """
        raise unsupported(self, "version_control.commit_changes")

    @unimplemented
    async def push_branch(
        self,
        *,
        workdir: str,
        branch: str,
        remote: str | None = None,
        force: bool = False,
    ) -> dict[str, Any]:
        """Pushes a branch of a working copy to a remote.

        Parameters:
            workdir: The working copy.
            branch: The branch to push.
            remote: The remote; `origin` when absent.
            force: Whether to force the push (with lease).

        Returns: PushResult (write action).
        """
        raise unsupported(self, "version_control.push_branch")

    @unimplemented
    async def create_pull_request(
        self,
        *,
        repository: str,
        title: str,
        description: str = "",
        source_branch: str,
        target_branch: str | None = None,
        draft: bool = False,
        labels: Sequence[str] = (),
        reviewers: Sequence[str] = (),
    ) -> dict[str, Any]:
        """Opens a pull request.

        Parameters:
            repository: The repository.
            title: The title.
            description: The description, Markdown.
            source_branch: The branch with the changes.
            target_branch: The branch to merge into; the default branch when
                absent.
            draft: Open it as a draft.
            labels: Labels to put on it.
            reviewers: Reviewers to request.

        Returns: PullRequest (write action).
        """
        raise unsupported(self, "version_control.create_pull_request")

    @unimplemented
    async def list_pull_requests(
        self,
        *,
        repository: str,
        state: str | None = None,
        source_branch: str | None = None,
    ) -> list[dict[str, Any]]:
        """Lists a repository's pull requests, optionally filtered.

        Parameters:
            repository: The repository.
            state: Only pull requests in this state. One of ``"open"``,
                ``"closed"``, ``"merged"``.
            source_branch: Only pull requests from this branch.

        Returns: Array_of_PullRequest (read action).
        """
        raise unsupported(self, "version_control.list_pull_requests")

    @unimplemented
    async def get_repository_info(self, *, repository: str) -> dict[str, Any]:
        """Describes a repository.

        Parameters:
            repository: The repository.

        Returns: RepositoryInfo (read action).
        """
        raise unsupported(self, "version_control.get_repository_info")

    @unimplemented
    async def get_file_content(
        self,
        *,
        repository: str,
        path: str,
        ref: str | None = None,
    ) -> dict[str, Any]:
        """Reads a file at a revision.

        Parameters:
            repository: The repository.
            path: The file's path in the repository.
            ref: A branch, tag or commit; the default branch when absent.

        Returns: FileContent (read action).
        """
        raise unsupported(self, "version_control.get_file_content")

    @unimplemented
    async def update_file(
        self,
        *,
        repository: str,
        path: str,
        content: str,
        message: str,
        branch: str | None = None,
    ) -> dict[str, Any]:
        """Writes a file on a branch with a commit.

        Parameters:
            repository: The repository.
            path: The file's path in the repository.
            content: Its new content.
            message: The commit message.
            branch: The branch to commit to; the default branch when absent.

        Returns: Commit (write action).
        """
        raise unsupported(self, "version_control.update_file")


class DocumentationPlugin(Plugin):
    """A documentation space (Confluence, Notion, Markdown pages)."""

    KIND = "documentation"
    METHODS = (
        "create_page",
        "update_page",
        "get_page",
        "find_page",
        "delete_page",
        "search_pages",
        "create_space",
        "list_spaces",
        "get_page_history",
        "publish_page",
    )

    @unimplemented
    async def create_page(
        self,
        *,
        space: str,
        title: str,
        content: str,
        parent_id: str | None = None,
    ) -> dict[str, Any]:
        """Creates a page.

        Parameters:
            space: The space to create it in.
            title: Its title.
            content: Its content, Markdown.
            parent_id: Its parent page.

        Returns: Page (write action).
        """
        raise unsupported(self, "documentation.create_page")

    @unimplemented
    async def update_page(
        self,
        *,
        page_id: str,
        content: str,
        title: str | None = None,
        message: str | None = None,
    ) -> dict[str, Any]:
        """Replaces a page's content, making a new version.

        Parameters:
            page_id: The page.
            content: The new content, Markdown.
            title: A new title; unchanged when absent.
            message: Why it changed.

        Returns: Page (write action).
        """
        raise unsupported(self, "documentation.update_page")

    @unimplemented
    async def get_page(self, *, page_id: str) -> dict[str, Any]:
        """Fetches a page.

        Parameters:
            page_id: The page's identifier.

        Returns: Page (read action).
        """
        raise unsupported(self, "documentation.get_page")

    @unimplemented
    async def find_page(self, *, space: str, title: str) -> dict[str, Any] | None:
        """Finds a page by its exact title within a space.

        Parameters:
            space: The space.
            title: The exact title.

        Returns: Nullable_Page (read action).
        """
        raise unsupported(self, "documentation.find_page")

    @unimplemented
    async def delete_page(self, *, page_id: str) -> None:
        """Deletes a page.

        Parameters:
            page_id: The page's identifier.

        Returns: null (write action).
        """
        raise unsupported(self, "documentation.delete_page")

    @unimplemented
    async def search_pages(
        self,
        *,
        query: str,
        space: str | None = None,
        limit: int | None = None,
    ) -> list[dict[str, Any]]:
        """Searches pages by text.

        Parameters:
            query: Words to look for.
            space: Only this space.
            limit: At most this many hits.

        Returns: Array_of_PageSummary (read action).
        """
        raise unsupported(self, "documentation.search_pages")

    @unimplemented
    async def create_space(
        self,
        *,
        key: str,
        name: str,
        description: str = "",
    ) -> dict[str, Any]:
        """Creates a space.

        Parameters:
            key: Its key.
            name: Its name.
            description: What it is for.

        Returns: Space (write action).
        """
        raise unsupported(self, "documentation.create_space")

    @unimplemented
    async def list_spaces(self) -> list[dict[str, Any]]:
        """Lists the spaces.

        Returns: Array_of_Space (read action).
        """
        raise unsupported(self, "documentation.list_spaces")

    @unimplemented
    async def get_page_history(self, *, page_id: str) -> list[dict[str, Any]]:
        """Lists a page's versions, oldest first.

        Parameters:
            page_id: The page's identifier.

        Returns: Array_of_PageVersion (read action).
        """
        raise unsupported(self, "documentation.get_page_history")

    @unimplemented
    async def publish_page(
        self,
        *,
        space: str,
        title: str,
        content: str,
        parent_id: str | None = None,
    ) -> dict[str, Any]:
        """Creates the page of this title in the space, or updates it if it exists; an
        unchanged page gets no new version. (Plugins without a single call
        for it can delegate to ``publish_page_by_title`` in aido's Rust
        API.)

        Parameters:
            space: The space to create it in.
            title: Its title.
            content: Its content, Markdown.
            parent_id: Its parent page.

        Returns: Page (write action).
        """
        raise unsupported(self, "documentation.publish_page")


class CommunicationPlugin(Plugin):
    """A team chat (Slack, Discord, the console)."""

    KIND = "communication"
    METHODS = (
        "send_message",
        "send_direct_message",
        "create_channel",
        "get_channel_info",
        "get_user_info",
        "upload_file",
    )

    @unimplemented
    async def send_message(
        self,
        *,
        channel: str | None = None,
        text: str,
        thread_id: str | None = None,
    ) -> dict[str, Any]:
        """Posts a message to a channel, or in a thread.

        Parameters:
            channel: The channel, by name or identifier; the plugin's
                default when absent.
            text: The text, Markdown.
            thread_id: Reply in this thread.

        Returns: Message (write action).
        """
        raise unsupported(self, "communication.send_message")

    @unimplemented
    async def send_direct_message(self, *, user: str, text: str) -> dict[str, Any]:
        """Sends a direct message to a user.

        Parameters:
            user: The user, by identifier or email.
            text: The text, Markdown.

        Returns: Message (write action).
        """
        raise unsupported(self, "communication.send_direct_message")

    @unimplemented
    async def create_channel(
        self,
        *,
        name: str,
        description: str | None = None,
        private: bool = False,
    ) -> dict[str, Any]:
        """Creates a channel.

        Parameters:
            name: Its name.
            description: What it is for.
            private: Whether it is private.

        Returns: Channel (write action).
        """
        raise unsupported(self, "communication.create_channel")

    @unimplemented
    async def get_channel_info(self, *, channel: str) -> dict[str, Any]:
        """Describes a channel.

        Parameters:
            channel: The channel, by name or identifier.

        Returns: Channel (read action).
        """
        raise unsupported(self, "communication.get_channel_info")

    @unimplemented
    async def get_user_info(self, *, user: str) -> dict[str, Any]:
        """Describes a user.

        Parameters:
            user: The user, by identifier or email.

        Returns: User (read action).
        """
        raise unsupported(self, "communication.get_user_info")

    @unimplemented
    async def upload_file(
        self,
        *,
        channel: str | None = None,
        filename: str,
        content: str,
        encoding: str = "text",
        title: str | None = None,
        comment: str | None = None,
    ) -> dict[str, Any]:
        """Shares a file in a channel.

        Parameters:
            channel: The channel to share it in; the plugin's default when
                absent.
            filename: Its file name.
            content: Its content.
            encoding: How `content` is encoded. One of ``"text"``,
                ``"base64"``.
            title: A title.
            comment: A message to go with it.

        Returns: UploadedFile (write action).
        """
        raise unsupported(self, "communication.upload_file")


class AIProviderPlugin(Plugin):
    """An AI model (Anthropic, OpenAI, ...)."""

    KIND = "ai_provider"
    METHODS = (
        "generate_text",
        "analyze_code",
        "generate_code",
        "estimate_cost",
        "get_usage_stats",
    )

    @unimplemented
    async def generate_text(
        self,
        *,
        system: str | None = None,
        messages: Sequence[Mapping[str, Any]],
        model: str | None = None,
        max_tokens: int | None = None,
        temperature: float | None = None,
        stop: Sequence[str] = (),
        json_schema: Any = None,
        workdir: str | None = None,
    ) -> dict[str, Any]:
        """Answers a conversation.

        Parameters:
            system: The system prompt.
            messages: The conversation so far, ending with the user's turn.
            model: The model; the plugin's configured model when absent.
            max_tokens: The most tokens to generate.
            temperature: Sampling temperature.
            stop: Stop sequences.
            json_schema: A JSON Schema the answer must follow, for providers
                that can enforce one; the engine validates the answer
                against it either way.
            workdir: The working copy a coding-agent provider (`agent_cli`)
                works in; providers that only answer text ignore it.

        Returns: Completion (write action).
        """
        raise unsupported(self, "ai_provider.generate_text")

    @unimplemented
    async def analyze_code(
        self,
        *,
        code: str,
        language: str | None = None,
        instructions: str | None = None,
        model: str | None = None,
    ) -> dict[str, Any]:
        """Reviews code and reports findings.

        Parameters:
            code: The code to look at.
            language: Its language.
            instructions: What to look for; a general review when absent.
            model: The model; the plugin's configured model when absent.

        Returns: CodeAnalysis (write action).
        """
        raise unsupported(self, "ai_provider.analyze_code")

    @unimplemented
    async def generate_code(
        self,
        *,
        instructions: str,
        language: str | None = None,
        context: Sequence[Mapping[str, Any]] = (),
        model: str | None = None,
        max_tokens: int | None = None,
    ) -> dict[str, Any]:
        """Writes code from instructions.

        Parameters:
            instructions: What to write.
            language: The language to write it in.
            context: Files to read first.
            model: The model; the plugin's configured model when absent.
            max_tokens: The most tokens to generate.

        Returns: GeneratedCode (write action).
        """
        raise unsupported(self, "ai_provider.generate_code")

    @unimplemented
    async def estimate_cost(
        self,
        *,
        system: str | None = None,
        messages: Sequence[Mapping[str, Any]],
        model: str | None = None,
        max_tokens: int | None = None,
        temperature: float | None = None,
        stop: Sequence[str] = (),
        json_schema: Any = None,
        workdir: str | None = None,
    ) -> dict[str, Any]:
        """The most a request can cost, without making it.

        Parameters:
            system: The system prompt.
            messages: The conversation so far, ending with the user's turn.
            model: The model; the plugin's configured model when absent.
            max_tokens: The most tokens to generate.
            temperature: Sampling temperature.
            stop: Stop sequences.
            json_schema: A JSON Schema the answer must follow, for providers
                that can enforce one; the engine validates the answer
                against it either way.
            workdir: The working copy a coding-agent provider (`agent_cli`)
                works in; providers that only answer text ignore it.

        Returns: CostEstimate (read action).
        """
        raise unsupported(self, "ai_provider.estimate_cost")

    @unimplemented
    async def get_usage_stats(self, *, since: str | None = None) -> dict[str, Any]:
        """Tokens and cost spent so far.

        Parameters:
            since: Only calls made since then; everything since connect when
                absent.

        Returns: UsageStats (read action).
        """
        raise unsupported(self, "ai_provider.get_usage_stats")


class MonitoringPlugin(Plugin):
    """Metrics, events and errors (logs, Prometheus, ...)."""

    KIND = "monitoring"
    METHODS = (
        "record_metric",
        "record_event",
        "report_error",
        "flush",
        "export_metrics",
    )

    @unimplemented
    async def record_metric(
        self,
        *,
        name: str,
        kind: str,
        value: float,
        labels: Mapping[str, Any] = EMPTY,
        help: str | None = None,
    ) -> None:
        """Records one measurement.

        Parameters:
            name: Its name, in Prometheus style (`aido_steps_total`).
            kind: How values combine. One of ``"counter"``, ``"gauge"``,
                ``"histogram"``.
            value: The value (a count, a level, or one observation).
            labels: Dimensions, such as `plugin` and `action`.
            help: What it measures, for the exposition's `# HELP`.

        Returns: null (write action).
        """
        raise unsupported(self, "monitoring.record_metric")

    @unimplemented
    async def record_event(
        self,
        *,
        name: str,
        level: str = "info",
        message: str = "",
        fields: Mapping[str, Any] = EMPTY,
        at: str | None = None,
    ) -> None:
        """Records something that happened.

        Parameters:
            name: A stable name, such as `run.finished`.
            level: How important it is. One of ``"debug"``, ``"info"``,
                ``"warn"``, ``"error"``.
            message: A human sentence.
            fields: Structured details.
            at: When it happened; now when absent.

        Returns: null (write action).
        """
        raise unsupported(self, "monitoring.record_event")

    @unimplemented
    async def report_error(
        self,
        *,
        message: str,
        error_kind: str | None = None,
        plugin: str | None = None,
        operation: str | None = None,
        run_id: str | None = None,
        step: str | None = None,
        context: Mapping[str, Any] = EMPTY,
    ) -> None:
        """Records a failure.

        Parameters:
            message: The error's message (never holding a secret).
            error_kind: Its kind in aido's taxonomy, such as `rate_limited`.
            plugin: The plugin that failed.
            operation: The operation that failed.
            run_id: The run it happened in.
            step: The step it happened in.
            context: Anything else worth knowing.

        Returns: null (write action).
        """
        raise unsupported(self, "monitoring.report_error")

    @unimplemented
    async def flush(self) -> None:
        """Sends whatever is buffered.

        Returns: null (write action).
        """
        raise unsupported(self, "monitoring.flush")

    @unimplemented
    async def export_metrics(self) -> dict[str, Any]:
        """The metrics recorded so far, in the plugin's exposition format.

        Returns: MetricsExport (read action).
        """
        raise unsupported(self, "monitoring.export_metrics")
