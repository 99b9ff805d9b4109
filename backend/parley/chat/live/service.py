"""The chat service: a conversation's sockets and runs (send, regenerate, stop, the answer a
REST caller follows) and the models, for every transport; conversations themselves are
conversations/service.py's."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass

from parley.chat.conversations.events import to_public
from parley.chat.conversations.service import owned
from parley.chat.conversations.store import ChatStore
from parley.chat.conversations.titles import title_from_message
from parley.chat.conversations.tree import (
    branch_to,
    parent_for_send,
    question_for_regenerate,
)
from parley.chat.errors import ChatRefused, ModelsBusy, ToolNotAllowed
from parley.chat.live.channels import Channel, ChannelRegistry, Close, SocketMatch, Subscriber
from parley.chat.live.run import Run, RunConfig, RunPlan
from parley.chat.metering import GenerationObserver
from parley.chat.prepare.fairness import Admission, Ticket
from parley.chat.prepare.file_prompts import attached_texts, earlier_turn
from parley.chat.prepare.limits import MessageLimits
from parley.chat.prepare.prompts import history_turns
from parley.engine.selection.manager import EngineManager
from parley.files.attachments import FileStore
from parley.files.attachments import public as public_file
from parley.models import Conversation, Message, new_id
from parley.protocol import (
    AnswerEvent,
    AnswerTracker,
    MessageFrame,
    ModelStatus,
    ModelUnavailable,
    SendOptions,
    StartFrame,
    ToolsPublic,
    server_frame_adapter,
)
from parley.protocol.conversations import DEFAULT_TITLE
from parley.tools import ToolCaller, ToolRegistry

log = logging.getLogger(__name__)

# Close code for sockets whose credential stopped working: logout, a disabled user, a deleted
# API key, an expired token.
CLOSE_LOGGED_OUT = 4401


@dataclass(frozen=True, slots=True)
class Connection:
    subscriber: Subscriber
    conversation_id: str
    user_id: str


class ChatService:
    def __init__(
        self,
        store: ChatStore,
        engines: EngineManager,
        config: RunConfig,
        limits: MessageLimits,
        admission: Admission,
        files: FileStore,
        tools: ToolRegistry,
        channels: ChannelRegistry,
        observer: GenerationObserver | None = None,
    ) -> None:
        self._limits = limits
        self._tools = tools
        self._admission = admission
        self._store = store
        self._files = files
        self._engines = engines
        self._config = config
        self._observer = observer
        # This process's alone, or one that instances share (cluster/).
        self._channels = channels
        # Runs not yet ended, for shutdown and telemetry.
        self._runs: set[Run] = set()

    def models(self) -> list[ModelStatus]:
        return self._engines.statuses()

    def tools(self, caller: ToolCaller) -> ToolsPublic:
        """The MCP servers `caller` may use with their states, and the tools of the ready ones."""
        return self._tools.public(caller)

    def model_status(self, model_id: str | None = None) -> ModelStatus:
        """One model's status, the default's without an id; raises ModelUnavailable if unknown."""
        return self._engines.status(model_id)

    async def load_model(self, model_id: str) -> ModelStatus:
        """Start loading a model in the background; raises ModelUnavailable (`unknown_model`)
        if unknown, ModelsBusy when making room would unload a model that is answering."""
        try:
            await self._engines.load(model_id)
        except ModelUnavailable as exc:
            if exc.code == "model_unavailable":
                raise ModelsBusy(exc.message) from exc
            raise
        return self.model_status(model_id)

    async def unload_model(self, model_id: str) -> ModelStatus:
        """Free a model's memory; its running answers end as cancelled. Raises
        ModelUnavailable (`unknown_model`) if unknown."""
        await self._engines.unload(model_id)
        return self.model_status(model_id)

    # ---------- realtime ----------

    def _new_channel(self, conversation: Conversation) -> Channel:
        return self._channels.create(conversation, self._store.reserve_seqs)

    async def connect(
        self,
        user_id: str,
        conversation_id: str,
        after_seq: int | None,
        api_key_id: str | None = None,
    ) -> Connection:
        """Subscribe to a conversation: `ready`, then the missed events, then live ones."""
        conversation = await owned(self._store, user_id, conversation_id)
        async with (
            self._channels.hold(
                conversation_id, lambda: self._new_channel(conversation)
            ) as channel,
            channel.lock,
        ):
            subscriber = Subscriber(
                user_id=user_id, conversation_id=conversation_id, api_key_id=api_key_id
            )
            await channel.join(subscriber, after_seq, self._store)
        return Connection(subscriber, conversation_id, user_id)

    def disconnect(self, connection: Connection) -> None:
        self._channels.unsubscribe(connection.subscriber)

    async def disconnect_user(self, user_id: str) -> None:
        """Close every socket of a user (after logout, or once disabled)."""
        await self._channels.close_sockets(
            SocketMatch(user_id=user_id), Close(CLOSE_LOGGED_OUT, "credentials revoked")
        )

    async def disconnect_api_key(self, api_key_id: str) -> None:
        """Close every socket opened with an API key (once it is deleted)."""
        await self._channels.close_sockets(
            SocketMatch(api_key_id=api_key_id), Close(CLOSE_LOGGED_OUT, "API key revoked")
        )

    def _live_channel(self, connection: Connection) -> Channel:
        channel = self._channels.get(connection.conversation_id)
        if channel is None:
            raise ChatRefused("bad_request", "This conversation is no longer available.")
        return channel

    async def send(
        self,
        connection: Connection,
        content: str,
        client_id: str,
        options: SendOptions,
        *,
        parent_id: str | None = None,
        parent_given: bool = False,
        attachments: Sequence[str] = (),
    ) -> None:
        """Store a user message and start its answer. It follows `parent_id` when the client
        gave one (`parent_given`; None: a new first message), else the current leaf; it
        carries the sender's files `attachments`."""
        if (refusal := self._limits.overlong([content])) is not None:
            raise ChatRefused("too_long", refusal)
        channel = self._live_channel(connection)
        async with channel.lock:
            earlier = await self._store.message_by_client_id(channel.conversation_id, client_id)
            if earlier is not None:
                # A retried send: answer this client alone with what it already created.
                connection.subscriber.send(
                    MessageFrame(seq=earlier.seq, message=to_public(earlier))
                )
                return
            if channel.active_run is not None:
                raise ChatRefused("busy", "An answer is still being generated.")
            conversation = await owned(self._store, connection.user_id, channel.conversation_id)
            history = await self._store.messages(channel.conversation_id)
            parent = parent_for_send(history, conversation.current_leaf_id, parent_id, parent_given)
            files = await self._files.owned(connection.user_id, attachments)
            user = Message(
                conversation_id=channel.conversation_id,
                parent_id=parent,
                role="user",
                content=content,
                client_id=client_id,
                attachments=[public_file(f).model_dump() for f in files] or None,
            )
            await self._start_run(channel, conversation, history, user, user.id, options)

    async def regenerate(
        self, connection: Connection, options: SendOptions, message_id: str | None = None
    ) -> None:
        """A new answer beside `message_id` (an answer), by default beside the current
        branch's last answer."""
        channel = self._live_channel(connection)
        async with channel.lock:
            if channel.active_run is not None:
                raise ChatRefused("busy", "An answer is still being generated.")
            conversation = await owned(self._store, connection.user_id, channel.conversation_id)
            history = await self._store.messages(channel.conversation_id)
            question = question_for_regenerate(history, conversation.current_leaf_id, message_id)
            await self._start_run(channel, conversation, history, None, question.id, options)

    @staticmethod
    def _first_title(
        conversation: Conversation, history: list[Message], user: Message | None
    ) -> str | None:
        if user is None or history or conversation.title != DEFAULT_TITLE:
            return None
        return title_from_message(user.content)

    async def _start_run(
        self,
        channel: Channel,
        conversation: Conversation,
        history: list[Message],
        user: Message | None,
        parent_id: str,
        options: SendOptions,
    ) -> None:
        # Raise as they are, so every transport answers them alike: ModelUnavailable for a
        # model the server does not know, TooManyActive (with its Retry-After) past the cap.
        model = self._engines.resolve(conversation.model)
        await self._check_tools_allowed(conversation)
        ticket = await self._admission.admit(conversation.owner_id)
        answer_id = new_id()
        try:
            if not await channel.claim(answer_id):
                raise ChatRefused("busy", "An answer is still being generated.")
            try:
                await self._begin_run(
                    channel,
                    conversation,
                    model,
                    history,
                    user,
                    parent_id,
                    options,
                    ticket,
                    answer_id,
                )
            except BaseException:
                await channel.release_claim()
                raise
        except BaseException:
            ticket.release()
            raise

    async def _check_tools_allowed(self, conversation: Conversation) -> None:
        """ToolNotAllowed when the owner may no longer use a picked tool's server."""
        if not conversation.tools:
            return
        username = await self._store.username(conversation.owner_id) or ""
        refused = self._tools.not_allowed(conversation.tools, username)
        if refused:
            raise ToolNotAllowed(refused)

    async def _begin_run(
        self,
        channel: Channel,
        conversation: Conversation,
        model: str,
        history: list[Message],
        user: Message | None,
        parent_id: str,
        options: SendOptions,
        ticket: Ticket,
        answer_id: str,
    ) -> None:
        new_seqs = 2 if user is not None else 1
        await channel.reserve(new_seqs)
        if user is not None:
            user.seq = channel.next_seq()
        answer = Message(
            id=answer_id,
            conversation_id=channel.conversation_id,
            parent_id=parent_id,
            role="assistant",
            status="streaming",
            model=model,
            seq=channel.next_seq(),
            deltas=[],
        )
        try:
            accepted = await self._store.accept_turn(
                channel.conversation_id,
                user,
                answer,
                channel.last_seq,
                title=self._first_title(conversation, history, user),
            )
        except LookupError as exc:
            raise ChatRefused("bad_request", "This conversation was deleted.") from exc
        branch = branch_to([*history, *([user] if user else [])], parent_id)
        question = branch[-1]
        files = await self._files.found(
            conversation.owner_id, [a["id"] for m in branch for a in m.attachments or []]
        )

        def user_text(message: Message) -> str:
            # Earlier files within a generous share; the question's are fitted to the
            # model's context once the run has the engine.
            return message.content if message is question else earlier_turn(message, files)

        run = Run(
            channel=channel,
            message=accepted.answer,
            plan=RunPlan(
                model=model,
                system_prompt=conversation.system_prompt,
                history=history_turns(branch, user_text),
                options=options
                if options.thinking is not None or conversation.thinking is None
                else options.model_copy(update={"thinking": conversation.thinking}),
                attached=attached_texts(question, files),
                tools=tuple(conversation.tools or ()),
            ),
            store=self._store,
            engines=self._engines,
            tools=self._tools,
            admission=self._admission,
            ticket=ticket,
            config=self._config,
            on_done=self._run_done,
            observer=self._observer,
        )
        channel.run = run
        self._runs.add(run)
        if accepted.user is not None:
            channel.publish(MessageFrame(seq=accepted.user.seq, message=to_public(accepted.user)))
        channel.publish(
            StartFrame(
                seq=answer.seq, run_id=run.id, message_id=answer.id, parent_id=answer.parent_id
            )
        )
        run.start()

    def _run_done(self, run: Run) -> None:
        self._runs.discard(run)
        self._channels.run_ended(run)

    async def stop(self, connection: Connection) -> None:
        self._live_channel(connection)
        if not await self._channels.stop_run(connection.conversation_id):
            raise ChatRefused("no_active_run", "Nothing is being generated.")

    # ---------- one answer, for REST callers that name a conversation ----------

    async def ask(
        self,
        user_id: str,
        conversation_id: str,
        content: str,
        options: SendOptions,
        tracker: AnswerTracker,
    ) -> AsyncIterator[AnswerEvent]:
        """Send a message to a conversation as a socket would, and follow its answer (which
        `tracker` adds up): the message is stored, and every socket open on the conversation
        sees the run too. Raises what `send` raises before the run starts: ConversationNotFound,
        ChatRefused (e.g. `busy`), ModelUnavailable, TooManyActive."""
        # Checked before the conversation is looked up, as a socket checks it before sending.
        if (refusal := self._limits.overlong([content])) is not None:
            raise ChatRefused("too_long", refusal)
        connection = await self.connect(user_id, conversation_id, after_seq=None)
        try:
            await self.send(connection, content, tracker.client_id, options)
            while not tracker.done:
                item = await connection.subscriber.queue.get()
                if isinstance(item, Close):
                    raise ChatRefused("bad_request", "The conversation was closed.")
                event = tracker.feed(server_frame_adapter.validate_json(item))
                if event is not None:
                    yield event
        finally:
            self.disconnect(connection)

    # ---------- life cycle ----------

    async def start(self) -> int:
        """Begin serving: how many answers cut by a dead process were marked interrupted."""
        await self._channels.start()
        return await self._channels.recover(self._store)

    async def close(self) -> None:
        await self._channels.close()

    def active_runs(self) -> list[Run]:
        return [run for run in self._runs if not run.done]

    async def shutdown(self, grace_s: float) -> None:
        """Let runs finish for a moment, then save the rest as interrupted."""
        runs = self.active_runs()
        if runs:
            log.info("waiting up to %.0f s for %d run(s) to finish", grace_s, len(runs))
            await asyncio.wait([asyncio.ensure_future(r.wait()) for r in runs], timeout=grace_s)
        for run in self.active_runs():
            await run.interrupt()
        for run in runs:
            await run.wait(limit_s=10)
