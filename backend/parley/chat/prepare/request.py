"""One generation's request: the turns fitted to the model's context and the sampling choices.

WebSocket runs (chat/live/run.py) and the stateless completion routes (chat/completions.py) both
prepare their request here, so they share the prompt fitting and the sampling defaults; both
then read the engine's `AnswerProgress` as it comes.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass

from parley.chat.prepare.prompts import Prompt, build_prompt
from parley.chat.prepare.tool_limits import check_response_schema
from parley.engine.base import ChatTurn, Engine, GenerationRequest, SamplingParams
from parley.engine.structured import constrains
from parley.protocol import JsonOutput, SendOptions, ToolChoice, ToolSpec


@dataclass(frozen=True, slots=True)
class GenerationOptions:
    """What a caller may choose about one answer, whichever transport it came by; None means
    the server's default. `prepare_generation` turns it into the engine's `SamplingParams`."""

    max_tokens: int | None = None
    temperature: float | None = None
    top_p: float | None = None
    thinking: bool | None = None
    stop: tuple[str, ...] = ()
    seed: int | None = None
    # JSON the answer must be (`response_format`).
    output: JsonOutput | None = None
    # Log probabilities of the answer's tokens with this many alternatives each (/v1 only).
    logprobs: int | None = None

    @classmethod
    def from_send(cls, options: SendOptions) -> GenerationOptions:
        """The choices a `send` frame carries (the simple API's bodies read as one too)."""
        return cls(
            max_tokens=options.max_tokens,
            temperature=options.temperature,
            top_p=options.top_p,
            thinking=options.thinking,
            output=None if options.response_format is None else options.response_format.output(),
        )


@dataclass(frozen=True, slots=True)
class PreparedGeneration:
    """The fitted prompt and the request that will be submitted for it."""

    prompt: Prompt
    request: GenerationRequest


async def prepare_generation(
    engine: Engine,
    request_id: str,
    system_prompt: str,
    turns: Sequence[ChatTurn],
    options: GenerationOptions,
    *,
    default_max_tokens: int,
    ignore_eos: bool = False,
    tools: tuple[ToolSpec, ...] = (),
    tool_choice: ToolChoice = "auto",
    parallel_tool_calls: bool = True,
) -> PreparedGeneration:
    """Fit the prompt and choose the sampling parameters; raises PromptTooLong, and
    ParleyError (HTTP 400) for a response format the engine cannot hold the answer to."""
    if options.output is not None and options.output.schema is not None:
        check_response_schema(options.output.schema)
    shape = GenerationRequest(
        request_id, (), tools=tools, tool_choice=tool_choice, output=options.output
    )
    # A grammar holds every token of the answer, so a constrained one is made without thinking.
    thinking = False if constrains(shape) else options.thinking
    prompt = await build_prompt(
        engine,
        system_prompt,
        turns,
        max_new_tokens=options.max_tokens or default_max_tokens,
        enable_thinking=thinking,
        # "none": the prompt offers them not.
        tools=tools if tool_choice != "none" else (),
    )
    defaults = SamplingParams()
    params = SamplingParams(
        max_tokens=prompt.max_new_tokens,
        temperature=defaults.temperature if options.temperature is None else options.temperature,
        top_p=defaults.top_p if options.top_p is None else options.top_p,
        stop=options.stop,
        seed=options.seed,
        logprobs=options.logprobs,
        ignore_eos=ignore_eos,
    )
    request = dataclasses.replace(
        shape,
        turns=prompt.turns,
        enable_thinking=thinking,
        params=params,
        parallel_tool_calls=parallel_tool_calls,
    )
    engine.check_request(request)
    return PreparedGeneration(prompt=prompt, request=request)
